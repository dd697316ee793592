"""The fixtures every test module may ask for; what tests import lives in helpers.py."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import ROOT, SUBPROCESS_ENV, Result, require_shared, textseq_command


@pytest.fixture
def textseq():
    """Run ``textseq ARGS`` in a real subprocess: ``textseq(*args, input=b"...", env={...})``."""

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
    text = subprocess.run([sys.executable, str(ROOT / "corpora" / "generate.py"), "--seed", "3", "--tokens", "120000"],
                          capture_output=True, check=True).stdout
    return subprocess.run([*textseq_command(), "tokenize", "--lower"], input=text, capture_output=True, check=True).stdout.decode("utf-8")
