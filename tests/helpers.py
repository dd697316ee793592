"""What several test modules share: running the command line in this process, reading its errors."""

from __future__ import annotations

import io

from textseq.cli import run
from textseq.cli.common import App
from textseq.console import Console


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
