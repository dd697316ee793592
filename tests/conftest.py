from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
CORPORA = SHARED / "corpora"


def textseq_command() -> list[str]:
    """How to start the installed command line in a subprocess."""
    script = shutil.which("textseq")
    return [script] if script else [sys.executable, "-m", "textseq"]


@dataclass
class Result:
    returncode: int
    stdout: bytes
    stderr: str

    @property
    def text(self) -> str:
        return self.stdout.decode("utf-8")


@pytest.fixture
def textseq():
    """Run ``textseq ARGS`` in a real subprocess: ``textseq(*args, input=b"...", env={...})``."""

    def run(*args: str, input: bytes | str = b"", env: dict[str, str] | None = None, timeout: float = 120) -> Result:
        data = input.encode("utf-8") if isinstance(input, str) else input
        full_env = {**os.environ, **(env or {})}
        done = subprocess.run([*textseq_command(), *args], input=data, capture_output=True, env=full_env, timeout=timeout)
        return Result(done.returncode, done.stdout, done.stderr.decode("utf-8", "replace"))

    return run


@pytest.fixture
def shell_env() -> dict[str, str]:
    """An environment whose PATH finds ``textseq`` (for shell pipelines)."""
    script = shutil.which("textseq")
    folder = os.path.dirname(script) if script else os.path.dirname(sys.executable)
    return {**os.environ, "PATH": folder + os.pathsep + os.environ.get("PATH", "")}


def require_shared(*parts: str) -> Path:
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{path} is not available")
    return path


@pytest.fixture
def shakespeare() -> Path:
    return require_shared("corpora", "tinyshakespeare", "input.txt")
