"""Mutation fuzzing of file readers: a valid file, mutated, must either open or fail with
textseq's own error, within a bounded time and memory; anything else fails the test.

Each reader's test takes a valid file it made itself and lets hypothesis mutate it::

    @fuzz_settings
    @given(data=mutations(VALID_BYTES))
    def test_reader(data, tmp_path_factory):
        check_reader(lambda path: load_model(path), data, tmp_path_factory, suffix=".arpa")

``TEXTSEQ_FUZZ_EXAMPLES`` sets the cases per reader (60 by default, so CI stays fast; ``make
fuzz`` runs thousands). Hypothesis derandomizes in CI, so a run is reproducible.
"""

from __future__ import annotations

import contextlib
import os
import re
import resource
import signal
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from textseq.errors import TextseqError

FUZZ_EXAMPLES = int(os.environ.get("TEXTSEQ_FUZZ_EXAMPLES", "60"))
TIME_LIMIT_S = 20
MEMORY_LIMIT = 1 << 30
"""What one open may add to the process: a reader that believes a declared size allocates far more."""

fuzz_settings = settings(
    max_examples=FUZZ_EXAMPLES,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)

_NUMBER = re.compile(rb"\d+")
_HUGE = [b"0", b"1", b"2", b"-1", b"999999999", b"4294967296", b"18446744073709551615", b"99999999999999999999999"]


@st.composite
def mutations(draw: st.DrawFn, valid: bytes) -> bytes:
    """``valid`` changed one to three times: truncated, bytes flipped, inserted or deleted, a span
    repeated, or a number in it (a declared size, a count, a dimension) replaced by an extreme one."""
    data = bytearray(valid)
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(st.sampled_from(["truncate", "flip", "insert", "delete", "repeat", "number", "number"]))
        size = len(data)
        if kind == "truncate":
            data = data[: draw(st.integers(0, max(size - 1, 0)))]
        elif kind == "flip" and size:
            at = draw(st.integers(0, size - 1))
            data[at] ^= 1 << draw(st.integers(0, 7))
        elif kind == "insert":
            at = draw(st.integers(0, size))
            data[at:at] = draw(st.binary(min_size=1, max_size=16))
        elif kind == "delete" and size:
            at = draw(st.integers(0, size - 1))
            data[at : at + draw(st.integers(1, 64))] = b""
        elif kind == "repeat" and size:
            at = draw(st.integers(0, size - 1))
            span = data[at : at + draw(st.integers(1, 256))]
            data[at:at] = span
        elif kind == "number":
            numbers = list(_NUMBER.finditer(bytes(data[:4096])))
            if numbers:
                match = draw(st.sampled_from(numbers))
                data[match.start() : match.end()] = draw(st.sampled_from(_HUGE))
    return bytes(data)


class _TimedOut(Exception):
    pass


@contextlib.contextmanager
def bounded(seconds: int = TIME_LIMIT_S, memory: int = MEMORY_LIMIT) -> Iterator[None]:
    """Fail what runs inside after ``seconds``, and make an allocation of more than ``memory``
    beyond what the process has mapped now raise MemoryError (the address-space limit)."""

    def alarm(signum: int, frame: Any) -> None:
        raise _TimedOut(f"still running after {seconds} s")

    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    mapped = _mapped_bytes()
    previous = signal.signal(signal.SIGALRM, alarm)
    signal.alarm(seconds)
    resource.setrlimit(resource.RLIMIT_AS, (mapped + memory, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def _mapped_bytes() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmSize in /proc/self/status")


def check_reader(open_file: Callable[[str], object], data: bytes, folder: Path, suffix: str = "") -> object | None:
    """Write ``data`` to a file in ``folder`` and open it with ``open_file``: returns what it opened,
    or None when it raised textseq's error (whose message must be one line); any other outcome
    (another exception, a timeout, memory beyond the bound) fails the test."""
    path = folder / f"fuzzed{suffix}"
    path.write_bytes(data)
    try:
        with bounded():
            return open_file(str(path))
    except TextseqError as exc:
        error = exc
    assert "\n" not in str(error), f"a multi-line error: {error!r}"
    assert str(error).strip(), "an empty error message"
    return None
