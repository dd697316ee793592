"""A function over a stream of items on a few threads, for work that numpy does without the GIL."""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")

MAX_DEFAULT_THREADS = 4


def default_threads() -> int:
    """The cores this process may run on, at most :data:`MAX_DEFAULT_THREADS`. Threads that wait
    for the GIL or a core do not spin, so on a busy machine the extra ones cost little."""
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cores = os.cpu_count() or 1
    return max(1, min(MAX_DEFAULT_THREADS, cores))


def threaded_map(function: Callable[[T], R], items: Iterable[T], threads: int) -> Iterator[R]:
    """``function`` over ``items``, results in order, on ``threads`` threads (in this one for 1).

    The items are taken from ``items`` in the caller's thread, as results are taken, with at
    most two per thread in flight: a lazy stream is read while the threads work, never drained
    ahead of them. An exception in ``function`` is raised here, and the items not yet started are
    dropped."""
    if threads <= 1:
        yield from map(function, items)
        return
    pending: deque[Future[R]] = deque()
    with ThreadPoolExecutor(threads, thread_name_prefix="textseq") as pool:
        try:
            for item in items:
                pending.append(pool.submit(function, item))
                if len(pending) >= 2 * threads:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()
        finally:
            for future in pending:
                future.cancel()
