"""The fixtures every test module may ask for; what tests import lives in helpers.py."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from helpers import ROOT, SUBPROCESS_ENV, Result, require_shared, run_in_process, textseq_command


def pytest_configure(config: pytest.Config) -> None:
    """One torch (and OpenBLAS) thread in this process as well, unless OMP_NUM_THREADS says
    otherwise: set before the test modules import torch and numpy, as SUBPROCESS_ENV sets it for
    the commands' processes. On two busy cores, two spinning threads made the in-process neural
    tests ten times slower.

    And Ctrl-C's usual handling where this process was started with SIGINT ignored (a shell's
    background job is), which the processes it starts would inherit: the tests that send SIGINT
    to a textseq process would see it ignored, and exit 0."""
    os.environ.setdefault("OMP_NUM_THREADS", SUBPROCESS_ENV["OMP_NUM_THREADS"])
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


Runner = Callable[..., Result]
"""``textseq(*args, input=b"...", env={...}, timeout=120) -> Result``: how the fixtures below run a
command (the timeout bounds a subprocess only)."""


@pytest.fixture
def textseq() -> Runner:
    """Run ``textseq ARGS`` in this process (:func:`helpers.run_in_process`), as a subprocess would
    run it: ``textseq(*args, input=b"...", env={...})``. Tests about the process itself (signals,
    ttys, pipes between processes, start-up imports, variables read at interpreter start) ask for
    ``textseq_process``."""

    def run(*args: str, input: bytes | str = b"", env: dict[str, str] | None = None, timeout: float = 120) -> Result:
        data = input.encode("utf-8") if isinstance(input, str) else input
        return run_in_process(args, data, env)

    return run


@pytest.fixture
def textseq_process() -> Runner:
    """Run ``textseq ARGS`` in a real subprocess: ``textseq_process(*args, input=b"...", env={...})``."""

    def run(*args: str, input: bytes | str = b"", env: dict[str, str] | None = None, timeout: float = 120) -> Result:
        data = input.encode("utf-8") if isinstance(input, str) else input
        full_env = {**SUBPROCESS_ENV, **(env or {})}
        done = subprocess.run([*textseq_command(), *args], input=data, capture_output=True, env=full_env, timeout=timeout)
        return Result(done.returncode, done.stdout, done.stderr.decode("utf-8", "replace"))

    return run


@pytest.fixture
def shell_env() -> dict[str, str]:
    """An environment whose PATH finds ``textseq`` (for shell pipelines)."""
    script = shutil.which("textseq")
    folder = os.path.dirname(script) if script else os.path.dirname(sys.executable)
    return {**os.environ, "PATH": folder + os.pathsep + os.environ.get("PATH", "")}


@pytest.fixture
def shakespeare() -> Path:
    return require_shared("corpora", "tinyshakespeare", "input.txt")


@pytest.fixture(scope="session")
def generated_tokens() -> str:
    """The project's own corpus (seed 3, 120k words), tokenized and lowercased: embedding tests train on it."""
    text = subprocess.run(
        [sys.executable, str(ROOT / "corpora" / "generate.py"), "--seed", "3", "--tokens", "120000"], capture_output=True, check=True
    ).stdout
    tokens = run_in_process(["tokenize", "--lower"], text)
    assert tokens.returncode == 0, tokens.stderr
    return tokens.text
