"""How many of this process's cores other work leaves idle, measured rather than averaged.

The 1-minute load average is what ``uptime`` shows, but it remembers the last minute: a training
started straight after another job (``make demo`` builds a 5-gram, then trains) saw a load of
about 1 on two idle cores, took one thread, and kept it for its whole run, at two thirds of the
speed. So the idle cores are measured from the kernel's CPU times over a short window
(``/proc/stat`` for the cores this process may run on, less this process's own time from
``/proc/self/stat``): what other processes used, now. Without /proc (macOS, Windows) the load
average is the estimate.

A long run follows the machine with :class:`IdleCoreFollower`, which measures over the time since
its last look, so a training that began beside another job takes the second core when it ends,
and gives it back when something else starts.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass

SAMPLE_SECONDS = 0.1
"""The window of :func:`idle_cores`: ten ticks of a 100 Hz kernel clock per core."""


@dataclass(frozen=True)
class CpuTimes:
    """Clock ticks so far: of the cores this process may use, their busy ones, and this process's own."""

    total: int
    busy: int
    own: int


def _cores() -> set[int]:
    try:
        return set(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return set(range(os.cpu_count() or 1))


def cpu_times(cores: set[int] | None = None) -> CpuTimes | None:
    """The ticks now (see :class:`CpuTimes`); None where /proc cannot be read."""
    cores = _cores() if cores is None else cores
    total = busy = 0
    try:
        with open("/proc/stat") as handle:
            for line in handle:
                name, _, rest = line.partition(" ")
                if not name.startswith("cpu") or name == "cpu" or int(name[3:]) not in cores:
                    continue
                ticks = [int(field) for field in rest.split()[:8]]
                total += sum(ticks)
                busy += sum(ticks) - ticks[3] - ticks[4]  # idle, iowait
        with open("/proc/self/stat") as handle:
            fields = handle.read().rpartition(")")[2].split()
        own = int(fields[11]) + int(fields[12])  # utime, stime
    except (OSError, ValueError, IndexError):
        return None
    return CpuTimes(total, busy, own) if total > 0 else None


def idle_between(before: CpuTimes, after: CpuTimes, cores: int) -> int:
    """The cores (of ``cores``, at least 1) that other processes left idle between two samples."""
    elapsed = after.total - before.total
    if elapsed <= 0:
        return cores
    others = max(0, (after.busy - before.busy) - (after.own - before.own))
    return max(1, min(cores, int(cores - cores * others / elapsed + 0.5)))


def _load_average_estimate(cores: int) -> int:
    try:
        load = os.getloadavg()[0]
    except (AttributeError, OSError):
        load = 0.0
    return max(1, min(cores, int(cores - load + 0.5)))


def idle_cores(window: float = SAMPLE_SECONDS) -> int:
    """The cores this process may use that other processes leave idle (at least 1), measured over
    ``window`` seconds; from the load average where /proc is missing."""
    cores = _cores()
    before = cpu_times(cores)
    if before is None:
        return _load_average_estimate(len(cores))
    time.sleep(window)
    after = cpu_times(cores)
    return _load_average_estimate(len(cores)) if after is None else idle_between(before, after, len(cores))


class IdleCoreFollower:
    """The idle cores again every ``every`` seconds of a long run, over the time since the last
    look (the run's own work discounted): :meth:`poll` gives a new count when it is time to look,
    None otherwise."""

    def __init__(self, every: float = 30.0) -> None:
        self.every = every
        self._cores = _cores()
        self._last = cpu_times(self._cores)
        self._due = time.monotonic() + every

    def poll(self) -> int | None:
        now = time.monotonic()
        if now < self._due or self._last is None:
            return None
        self._due = now + self.every
        sample = cpu_times(self._cores)
        if sample is None:
            return None
        count = idle_between(self._last, sample, len(self._cores))
        self._last = sample
        return count
