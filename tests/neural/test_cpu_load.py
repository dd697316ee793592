"""The idle cores, measured from the kernel's CPU times, and followed during a long run."""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
import time

import pytest

from textseq.neural import cpu_load
from textseq.neural.cpu_load import CpuTimes, IdleCoreFollower, cpu_times, idle_between, idle_cores


def test_others_time_is_the_busy_time_less_this_process():
    """Two cores for a second (200 ticks): others' 100 busy ticks leave one; this process's own
    ticks do not count against it; the result stays within 1 and the cores."""
    start = CpuTimes(1000, 500, 100)
    assert idle_between(start, CpuTimes(1200, 600, 100), 2) == 1
    assert idle_between(start, CpuTimes(1200, 700, 300), 2) == 2  # all of it this process's own
    assert idle_between(start, CpuTimes(1200, 700, 100), 2) == 1  # at least one
    assert idle_between(start, CpuTimes(1200, 530, 100), 2) == 2  # 0.3 of a core busy: rounds to 2
    assert idle_between(start, CpuTimes(1200, 570, 100), 2) == 1  # 0.7 rounds to 1
    assert idle_between(start, start, 4) == 4  # no time passed: nothing known to be busy


@pytest.mark.skipif(not os.path.exists("/proc/stat"), reason="no /proc")
def test_cpu_times_count_this_process_and_the_machine():
    before = cpu_times()
    assert before is not None and before.total >= before.busy >= 0
    deadline = time.process_time() + 0.3
    while time.process_time() < deadline:
        pass
    after = cpu_times()
    assert after is not None
    assert after.own - before.own >= 15  # ticks of 10 ms: 0.3 s spun here
    assert after.busy - before.busy >= after.own - before.own - 5
    assert cpu_times(set()) is None  # no cores: nothing to measure


@pytest.mark.skipif(not os.path.exists("/proc/stat"), reason="no /proc")
@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2 if hasattr(os, "sched_getaffinity") else True, reason="one core")
def test_a_spinning_process_takes_a_core():
    """Measured, not averaged: another process spinning now is seen within the window."""
    spinner = subprocess.Popen([sys.executable, "-c", "import time\nend = time.time() + 3\nwhile time.time() < end: pass"])
    try:
        time.sleep(0.3)
        cores = len(os.sched_getaffinity(0))
        seen = min(idle_cores(0.5) for _ in range(3))
        assert seen <= cores - 1
    finally:
        spinner.kill()
        spinner.wait()


def test_without_proc_the_load_average_is_the_estimate(monkeypatch):
    monkeypatch.setattr(cpu_load, "cpu_times", lambda cores=None: None)
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(4)), raising=False)
    for load, idle in ((0.2, 4), (2.6, 1), (7.0, 1)):
        monkeypatch.setattr(os, "getloadavg", lambda load=load: (load, load, load))
        assert idle_cores() == idle


def test_the_follower_looks_again_only_when_due(monkeypatch):
    clock = itertools.count(0.0, 10.0)
    monkeypatch.setattr(cpu_load.time, "monotonic", lambda: next(clock))
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1}, raising=False)
    samples = iter([CpuTimes(0, 0, 0), CpuTimes(200, 180, 80), CpuTimes(400, 380, 280)])
    monkeypatch.setattr(cpu_load, "cpu_times", lambda cores=None: next(samples))
    follower = IdleCoreFollower(every=25.0)  # created at t=0, due at 25
    assert follower.poll() is None  # t=10
    assert follower.poll() is None  # t=20
    assert follower.poll() == 1  # t=30: others kept one core busy
    assert follower.poll() is None  # t=40, due at 55
    assert follower.poll() is None  # t=50
    assert follower.poll() == 2  # t=60: all of the busy time was this process's own
