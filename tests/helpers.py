"""What several test modules share: running the command line in this process, reading its errors."""

from __future__ import annotations

import io
import json
import os
import textwrap
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from textseq.cli import run
from textseq.cli.common import App
from textseq.console import Console
from textseq.progress import Monitor

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


def require_shared(*parts: str) -> Path:
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{path} is not available")
    return path


COUNTRIES = ["france", "germany", "japan", "brazil", "egypt"]
LANGUAGES = ["french", "german", "japanese", "portuguese", "arabic"]
"""Words of corpora/generate.py that word vectors should group: countries, and their languages."""


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


class Recorder(Monitor):
    """A trainer monitor that keeps what it is told."""

    def __init__(self):
        self.reports, self.updates, self.stages, self.notes = [], [], [], []

    def begin(self, description, total, unit):
        self.stages.append((description, total, unit))

    def update(self, done):
        self.updates.append(done)

    def epoch_done(self, report):
        self.reports.append(report)

    def note(self, message):
        self.notes.append(message)


def cli(*args: str, stdin: bytes = b"", stdout: io.BytesIO | None = None) -> tuple[int, bytes, str]:
    """Run ``textseq ARGS`` in this process, as :func:`textseq.cli.run` runs it: (exit code, stdout, stderr)."""
    out, err = stdout if stdout is not None else io.BytesIO(), io.StringIO()
    code = run(list(args), app=App(stdin=io.BytesIO(stdin), stdout=out, console=Console(err)))
    return code, out.getvalue(), err.getvalue()


def one_error(err: str) -> str:
    """The one line an error prints (a data error, exit 1, or a usage error, exit 2), checked to be
    all that stderr holds."""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("textseq: error: "), err
    return lines[0]


_F_SETPIPE_SZ = 1031
"""Linux's fcntl command that sets a pipe's capacity (a page at the least)."""


def read_through_nonblocking_pipe(command: list[str], env: dict[str, str], pause: float = 0.3) -> tuple[int, bytes, bytes]:
    """Run ``command`` under PYTHONUNBUFFERED=1 (a raw stdout, whose writes can come up short) with
    stdout a non-blocking pipe of one page, read only after ``pause``, so that the writer meets a
    full pipe: (exit code, all that came through, stderr)."""
    import fcntl
    import os
    import subprocess
    import time

    read_end, write_end = os.pipe()
    try:
        fcntl.fcntl(write_end, _F_SETPIPE_SZ, 4096)
    except OSError:
        pass  # not Linux: the pipe keeps its 64 KiB, which large outputs still fill
    os.set_blocking(write_end, False)
    process = subprocess.Popen(command, stdout=write_end, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
                               env={**env, "PYTHONUNBUFFERED": "1"})
    os.close(write_end)
    time.sleep(pause)
    chunks = []
    while chunk := os.read(read_end, 1 << 16):
        chunks.append(chunk)
    os.close(read_end)
    code = process.wait(120)
    return code, b"".join(chunks), process.stderr.read()  # type: ignore[union-attr]


SMALL = ["-c", "embedding_size=16", "-c", "hidden_size=32", "-c", "layers=1", "-c", "dropout=0.2"]
TEXT = "the cat sat on the mat\nthe dog sat on the log\na cat and a dog\n" * 40
"""A tiny network, and a text it learns in seconds: the neural tests' defaults."""


def read_log(path):
    """The JSON lines of a --log file, without their wall-clock times."""
    entries = [json.loads(line) for line in path.read_text().splitlines()]
    assert all(isinstance(e.pop("time"), float) for e in entries)
    return entries


GOOD = '''
from textseq import hookimpl
from textseq.tokenize.base import Tokenizer

class Shout(Tokenizer):
    def __init__(self, suffix="!"):
        self.suffix = suffix
    def tokenize(self, line):
        return [w.upper() + self.suffix for w in line.split()]

@hookimpl
def register_tokenizers(register):
    register("shout", Shout, help="upper-cased words")

@hookimpl
def register_commands(cli):
    import click

    @cli.command()
    @click.argument("name")
    def hello(name):
        """Say hello. Example: textseq hello you"""
        click.echo(f"hello {name}")
'''

BROKEN_IMPORT = "import no_such_module_anywhere\n"

BROKEN_REGISTER = '''
from textseq import hookimpl

@hookimpl
def register_tokenizers(register):
    register("half", object)
    raise RuntimeError("oops in the middle")
'''

CLASH = '''
from textseq import hookimpl

@hookimpl
def register_tokenizers(register):
    register("word", object)
'''

CLASH_COMMAND = '''
from textseq import hookimpl

@hookimpl
def register_commands(cli):
    @cli.command("vocab")
    def vocab():
        pass
'''


def install(site: Path, dist: str, version: str, entry_name: str, module: str, source: str) -> None:
    """A distribution as pip would leave it: a module and a .dist-info with the entry point."""
    (site / f"{module}.py").write_text(textwrap.dedent(source), encoding="utf-8")
    info = site / f"{module}-{version}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n", encoding="utf-8")
    (info / "entry_points.txt").write_text(f"[textseq]\n{entry_name} = {module}\n", encoding="utf-8")
