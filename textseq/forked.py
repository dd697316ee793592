"""Forked worker processes for the parts of reading big files that hold the GIL (splitting text
and mapping words to ids through a dict), which threads cannot share out.

The workers are forked after the parent has built what they need (the file's bytes, a word
index), so nothing large is sent to them: a task names a slice of that state, and only its result
comes back. Forking is used only where it is safe and pays: on Linux, with no other thread running
in the parent (a fork copies one thread, and a lock another one holds stays held in the child)
and without torch loaded (its thread pools do not survive a fork), and where other work leaves
at least two cores idle. Anywhere else the same function runs in this process, one task after
another, with the same results.
"""

from __future__ import annotations

import multiprocessing
import signal
import sys
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from multiprocessing.pool import AsyncResult, Pool
from typing import Any, TypeVar

T = TypeVar("T")
R = TypeVar("R")


_ENDING = {signal.SIGINT, signal.SIGTERM}


def _worker_signals() -> None:
    """Ctrl-C is the parent's to handle (it ends the pool); SIGTERM ends a worker at once, without
    the handler it inherited that raises in the parent's main thread. The worker was forked with
    both blocked (see :func:`task_map`), so none arrives before this is in place."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, _ENDING)


def forking_is_safe() -> bool:
    return sys.platform.startswith("linux") and threading.active_count() == 1 and "torch" not in sys.modules


_state: Any = None
"""What the workers of the open :func:`task_map` read besides their tasks."""


def shared() -> Any:
    """The ``state`` given to the open :func:`task_map`: for its task function, in a worker or here."""
    return _state


@contextmanager
def task_map(workers: int, state: object) -> Iterator[Callable[[Callable[[T], R], Iterable[T]], Iterator[R]]]:
    """A lazy ``map(function, tasks)`` whose tasks run in ``workers`` forked processes where that
    is safe (see the module's notes), in this process otherwise; results come in the order of the
    tasks, and the workers go on with later tasks while the caller works on the first results.
    ``function`` must be a module-level function (the workers find it by name); what it reads
    besides its task is ``state``, which it gets from :func:`shared` (the workers inherit it)."""
    global _state  # noqa: PLW0603 - a forked worker inherits it, nothing is sent
    _state = state
    try:
        if workers < 2 or not forking_is_safe():
            yield map
            return
        # blocked while the pool forks, in this thread and in the pool's threads it starts (which
        # fork the workers that replace any that end): a worker gets them only once it handles them
        # as a worker must, and this thread gets any that came in the meantime when they unblock
        mask = signal.pthread_sigmask(signal.SIG_BLOCK, _ENDING)
        try:
            pool: Pool = multiprocessing.get_context("fork").Pool(workers, initializer=_worker_signals)
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, mask)
        try:
            yield lambda function, tasks: _ahead(pool, function, tasks, 4 * workers)
            pool.close()
        finally:
            pool.terminate()
            pool.join()
    finally:
        _state = None


def _ahead(pool: Pool, function: Callable[[T], R], tasks: Iterable[T], window: int) -> Iterator[R]:
    """``function`` over ``tasks`` in ``pool``, results in order, at most ``window`` tasks in
    flight: the tasks are taken from ``tasks`` in this thread, as results are taken (a pool's own
    ``imap`` drains them all at once, on a thread of its own)."""
    pending: deque[AsyncResult[R]] = deque()
    for task in tasks:
        pending.append(pool.apply_async(function, (task,)))
        if len(pending) >= window:
            yield pending.popleft().get()
    while pending:
        yield pending.popleft().get()


def idle_workers() -> int:
    """The cores that other work leaves idle, measured over a tenth of a second."""
    from textseq.neural.cpu_load import idle_cores

    return idle_cores()
