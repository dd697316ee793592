"""threaded_map: results in order, a lazy stream read as it goes, errors raised to the caller."""

from __future__ import annotations

import threading
import time

import pytest

from textseq.threads import default_threads, threaded_map


@pytest.mark.parametrize("threads", [1, 2, 5])
def test_results_come_in_order(threads):
    def slow_square(n: int) -> int:
        time.sleep(0.001 * (n % 3))
        return n * n

    assert list(threaded_map(slow_square, range(50), threads)) == [n * n for n in range(50)]


def test_the_stream_is_read_no_further_ahead_than_the_threads_need():
    taken = []

    def items():
        for n in range(100):
            taken.append(n)
            yield n

    results = threaded_map(lambda n: n, items(), 2)
    assert next(results) == 0
    assert len(taken) <= 4 + 1


def test_work_runs_on_several_threads():
    seen = set()
    barrier = threading.Barrier(2, timeout=10)

    def meet(n: int) -> int:
        seen.add(threading.get_ident())
        barrier.wait()  # would time out if the two items ran one after the other
        return n

    assert list(threaded_map(meet, range(2), 2)) == [0, 1]
    assert len(seen) == 2


@pytest.mark.parametrize("threads", [1, 3])
def test_an_error_reaches_the_caller(threads):
    def fails_at_five(n: int) -> int:
        if n == 5:
            raise ValueError("five")
        return n

    with pytest.raises(ValueError, match="five"):
        list(threaded_map(fails_at_five, range(20), threads))


def test_default_threads_is_a_small_positive_count():
    assert 1 <= default_threads() <= 4
