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
