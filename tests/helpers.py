"""What several test modules share: running the command line in this process, reading its errors."""

from __future__ import annotations

import contextlib
import importlib
import io
import json
import os
import shutil
import signal
import sys
import textwrap
import warnings
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, TextIO

import click
import pytest

from textseq.cli import build_cli, run
from textseq.cli.common import App, DefaultGroup
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
    return (mean_similarity(unit, index, COUNTRIES, COUNTRIES) - across, mean_similarity(unit, index, LANGUAGES, LANGUAGES) - across)


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


@contextmanager
def process_state_kept(env: Mapping[str, str] | None = None) -> Iterator[None]:
    """Run a command in this process as if in a process of its own, started with SUBPROCESS_ENV's
    thread count and ``env`` (PYTHONPATH's folders go first on sys.path) and a plugin manager of
    its own (loaded afresh: some 5 ms), and put back afterwards what a command may change in the
    process: os.environ, the working folder, the SIGINT and SIGTERM handlers,
    errors.SOURCE_ALIASES, the plugin manager, torch's and numpy's BLAS thread counts and torch's
    random states (those of a torch imported before the run; one that the run imports keeps what
    the run set: one thread, as SUBPROCESS_ENV asks)."""
    from textseq import errors, plugins

    env = {"OMP_NUM_THREADS": SUBPROCESS_ENV["OMP_NUM_THREADS"], **(env or {})}
    environ, cwd = dict(os.environ), os.getcwd()
    handlers = {number: signal.getsignal(number) for number in (signal.SIGINT, signal.SIGTERM)}
    aliases = dict(errors.SOURCE_ALIASES)
    manager = plugins._plugins
    torch = sys.modules.get("torch")
    torch_state = (torch.get_num_threads(), torch.get_rng_state()) if torch is not None else None
    cuda_rng = torch.cuda.get_rng_state_all() if torch is not None and torch.cuda.is_initialized() else None
    blas = _blas_threads() if "numpy" in sys.modules else None
    folders = [folder for folder in env.get("PYTHONPATH", "").split(os.pathsep) if folder]
    os.environ.update(env)
    sys.path[:0] = folders
    if folders:
        importlib.invalidate_caches()
    plugins.set_plugins(None)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(environ)
        os.chdir(cwd)
        for number, handler in handlers.items():
            signal.signal(number, handler if handler is not None else signal.SIG_DFL)
        errors.SOURCE_ALIASES.clear()
        errors.SOURCE_ALIASES.update(aliases)
        plugins.set_plugins(manager)
        if folders:
            _forget_imports_from(folders)
        if torch_state is not None:
            torch.set_num_threads(torch_state[0])
            torch.set_rng_state(torch_state[1])
        if cuda_rng is not None:
            torch.cuda.set_rng_state_all(cuda_rng)
        if blas is not None:
            from textseq.neural.blas import set_blas_threads

            set_blas_threads(blas)


def _blas_threads() -> int | None:
    from textseq.neural.blas import blas_threads

    return blas_threads()


def _forget_imports_from(folders: list[str]) -> None:
    """Take ``folders`` off sys.path and forget the modules imported from them, as a new process would."""
    for folder in folders:
        if folder in sys.path:
            sys.path.remove(folder)
    roots = tuple(os.path.join(os.path.abspath(folder), "") for folder in folders)
    for name, module in list(sys.modules.items()):
        if os.path.abspath(getattr(module, "__file__", None) or "").startswith(roots):
            del sys.modules[name]
    importlib.invalidate_caches()


@contextmanager
def _warnings_shown_on(stream: TextIO) -> Iterator[None]:
    """Python's warnings written to ``stream`` under a new interpreter's filters, as a process would
    print them on stderr (pytest would record them instead, and a test of a clean stderr would not see them)."""
    with warnings.catch_warnings():
        warnings.resetwarnings()
        for category in (DeprecationWarning, PendingDeprecationWarning, ImportWarning, ResourceWarning):
            warnings.simplefilter("ignore", category)
        warnings.showwarning = lambda message, category, filename, lineno, file=None, line=None: stream.write(
            warnings.formatwarning(message, category, filename, lineno, line)
        )
        yield


def run_in_process(args: Sequence[str], stdin: bytes = b"", env: Mapping[str, str] | None = None, stdout: BinaryIO | None = None) -> Result:
    """``textseq ARGS`` through :func:`textseq.cli.run` in this process, with injected streams and
    the process's state kept (:func:`process_state_kept`): what a subprocess would give. What click
    itself prints (--help, --version, a plugin's click.echo) goes to sys.stdout, which is pointed at
    the same bytes; sys.stderr at the console's buffer."""
    out = stdout if stdout is not None else io.BytesIO()
    err = io.StringIO()
    echoed = io.TextIOWrapper(out, encoding="utf-8", write_through=True) if isinstance(out, io.BytesIO) else None
    app = App(stdin=io.BytesIO(stdin), stdout=out, console=Console(err))
    try:
        with process_state_kept(env), contextlib.redirect_stderr(err), _warnings_shown_on(err):
            if echoed is None:
                code = run(list(args), app=app)
            else:
                with contextlib.redirect_stdout(echoed):
                    code = run(list(args), app=app)
    finally:
        if echoed is not None:
            echoed.detach()  # the bytes stay readable
    return Result(code, out.getvalue() if isinstance(out, io.BytesIO) else b"", err.getvalue())


def cli(*args: str, stdin: bytes = b"", stdout: BinaryIO | None = None) -> tuple[int, bytes, str]:
    """Run ``textseq ARGS`` in this process (:func:`run_in_process`): (exit code, stdout, stderr)."""
    result = run_in_process(args, stdin, stdout=stdout)
    return result.returncode, result.stdout, result.stderr


def command_tree(command: click.Command | None = None, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], click.Command]]:
    """Every command of the click tree by its path, groups included (the root's path is ()); the
    tree is built with the installed plugins' commands, leaving the process's plugin manager as it was."""
    if command is None:
        from textseq import plugins

        kept = plugins._plugins
        try:
            command = build_cli(Console(io.StringIO()))
        finally:
            plugins.set_plugins(kept)
    yield path, command
    if isinstance(command, click.Group):
        for name, sub in command.commands.items():
            yield from command_tree(sub, (*path, name))


def leaf_commands(command: click.Command | None = None) -> Iterator[tuple[str, click.Command]]:
    """The commands that run something, by their path as one string: every command that is not a
    group, and the default command of a :class:`DefaultGroup` under the group's own path."""
    for path, node in command_tree(command):
        if not isinstance(node, click.Group):
            yield " ".join(path), node
        elif isinstance(node, DefaultGroup) and node.default not in node.commands.values():
            yield " ".join(path), node.default


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
    with contextlib.suppress(OSError):  # not Linux: the pipe keeps its 64 KiB, which large outputs still fill
        fcntl.fcntl(write_end, _F_SETPIPE_SZ, 4096)
    os.set_blocking(write_end, False)
    process = subprocess.Popen(
        command, stdout=write_end, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, env={**env, "PYTHONUNBUFFERED": "1"}
    )
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

BROKEN_REGISTER = """
from textseq import hookimpl

@hookimpl
def register_tokenizers(register):
    register("half", object)
    raise RuntimeError("oops in the middle")
"""

CLASH = """
from textseq import hookimpl

@hookimpl
def register_tokenizers(register):
    register("word", object)
"""

CLASH_COMMAND = """
from textseq import hookimpl

@hookimpl
def register_commands(cli):
    @cli.command("vocab")
    def vocab():
        pass
"""


def install(site: Path, dist: str, version: str, entry_name: str, module: str, source: str) -> None:
    """A distribution as pip would leave it: a module and a .dist-info with the entry point."""
    (site / f"{module}.py").write_text(textwrap.dedent(source), encoding="utf-8")
    info = site / f"{module}-{version}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n", encoding="utf-8")
    (info / "entry_points.txt").write_text(f"[textseq]\n{entry_name} = {module}\n", encoding="utf-8")


def zipf_text(seed: int, lines: int, words: int, longest: int) -> str:
    """``lines`` lines of 1 to ``longest`` - 1 words drawn from ``words`` words (w0, w1, ...) with
    Zipf's weights: text whose n-grams repeat as natural text's do, a little."""
    import numpy as np

    rng = np.random.default_rng(seed)
    vocabulary = [f"w{i}" for i in range(words)]
    weights = 1.0 / np.arange(1, words + 1)
    weights /= weights.sum()
    return "".join(" ".join(rng.choice(vocabulary, size=rng.integers(1, longest), p=weights)) + "\n" for _ in range(lines))
