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


SUBPROCESS_ENV = {**os.environ, "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1")}
"""The tests' models are tiny: one torch thread each is as fast, and a command's threads never
spin against another process's (which can make a run tens of times slower on a busy machine)."""


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


def require_shared(*parts: str) -> Path:
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{path} is not available")
    return path


@pytest.fixture
def shakespeare() -> Path:
    return require_shared("corpora", "tinyshakespeare", "input.txt")


COUNTRIES = ["france", "germany", "japan", "brazil", "egypt"]
LANGUAGES = ["french", "german", "japanese", "portuguese", "arabic"]
"""Words of corpora/generate.py that word vectors should group: countries, and their languages."""


@pytest.fixture(scope="session")
def generated_tokens() -> str:
    """The project's own corpus (seed 3, 120k words), tokenized and lowercased: embedding tests train on it."""
    text = subprocess.run([sys.executable, str(ROOT / "corpora" / "generate.py"), "--seed", "3", "--tokens", "120000"],
                          capture_output=True, check=True).stdout
    return subprocess.run([*textseq_command(), "tokenize", "--lower"], input=text, capture_output=True, check=True).stdout.decode("utf-8")


def mean_similarity(unit, index, group_a, group_b) -> float:
    """Mean cosine between the words of two groups (unit vectors; a group with itself leaves out the diagonal)."""
    import numpy as np

    a = unit[[index[w] for w in group_a]]
    b = unit[[index[w] for w in group_b]]
    sims = a @ b.T
    if group_a is group_b:
        sims = sims[~np.eye(len(group_a), dtype=bool)]
    return float(sims.mean())


def margins(unit, index) -> tuple[float, float]:
    """Within-group minus across-group mean cosine, for countries and for languages."""
    across = mean_similarity(unit, index, COUNTRIES, LANGUAGES)
    return (mean_similarity(unit, index, COUNTRIES, COUNTRIES) - across,
            mean_similarity(unit, index, LANGUAGES, LANGUAGES) - across)


class Recorder:
    """A trainer monitor that keeps what it is told (textseq.embed.monitor.Monitor's interface)."""

    def __init__(self):
        self.reports, self.updates, self.stages = [], [], []

    def begin(self, description, total, unit):
        self.stages.append((description, total, unit))

    def update(self, done):
        self.updates.append(done)

    def epoch_done(self, report):
        self.reports.append(report)

    def end(self):
        pass
