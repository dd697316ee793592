"""Inputs and outputs: paths or '-', transparent compression, UTF-8 with a chosen error policy,
line-aligned blocks for fast processing, and atomic writes.

Text is read as bytes and decoded a block at a time (about 1 MiB, cut at a newline), which is both
faster than a per-line loop and lets a decoding error be reported with its absolute byte offset and
line number. Lines end at ``\\n`` only: a ``\\r`` stays part of the line, so nothing is lost.
"""

from __future__ import annotations

import bz2
import contextlib
import gzip
import io
import lzma
import os
import sys
import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import BinaryIO, TextIO

from textseq.errors import InputError

BLOCK_SIZE = 1 << 20
ERROR_POLICIES = ("strict", "replace", "ignore")
STDIN_NAME = "<stdin>"

_GZIP_MAGIC = b"\x1f\x8b"
_XZ_MAGIC = b"\xfd7zXZ\x00"
_BZ2_BLOCK_MAGIC = b"\x31\x41\x59\x26\x53\x59"
_UTF8_BOM = b"\xef\xbb\xbf"


def _compression_of(head: bytes) -> str | None:
    """The compression a stream starting with ``head`` uses, by its magic bytes."""
    if head.startswith(_GZIP_MAGIC):
        return "gz"
    if head.startswith(_XZ_MAGIC):
        return "xz"
    if head[:3] == b"BZh" and head[3:4].isdigit() and head[4:10] == _BZ2_BLOCK_MAGIC:
        return "bz2"
    return None


def _decompressing(raw: BinaryIO, kind: str | None) -> BinaryIO:
    if kind == "gz":
        return gzip.GzipFile(fileobj=raw, mode="rb")  # type: ignore[return-value]
    if kind == "bz2":
        return bz2.BZ2File(raw, mode="rb")  # type: ignore[return-value]
    if kind == "xz":
        return lzma.LZMAFile(raw, mode="rb")  # type: ignore[return-value]
    return raw


@dataclass
class InputSource:
    """One input: a path or standard input, opened as a (decompressed) byte stream."""

    name: str
    stream: BinaryIO
    size: int | None = None
    """Size in bytes of the underlying file (compressed size for compressed files), if known."""
    _raw: BinaryIO | None = field(default=None, repr=False)
    _detach: bool = field(default=False, repr=False)
    """Whether ``_raw``/``stream`` is a buffer of ours around a caller's stream, to be detached
    (not closed) at the end."""

    def raw_position(self) -> int | None:
        """How far into the underlying file reading has got, for progress bars."""
        raw = self._raw if self._raw is not None else self.stream
        try:
            return raw.tell()
        except (OSError, ValueError):
            return None

    def close(self) -> None:
        if self.name == STDIN_NAME:
            for stream in (self.stream, self._raw):
                if self._detach and isinstance(stream, io.BufferedReader):
                    stream.detach()
            return
        self.stream.close()
        if self._raw is not None:
            self._raw.close()


def open_input(path: str | os.PathLike[str] | None, stdin: BinaryIO | None = None) -> InputSource:
    """Open ``path`` (``'-'`` or None: standard input) for reading bytes, decompressing
    gzip, bzip2 and xz transparently by their magic bytes."""
    if path is None or str(path) == "-":
        raw = stdin if stdin is not None else sys.stdin.buffer
        name = STDIN_NAME
        size = None
    else:
        name = str(path)
        try:
            raw = open(path, "rb")  # noqa: SIM115 - closed by InputSource.close
        except FileNotFoundError:
            raise InputError("no such file", source=name) from None
        except IsADirectoryError:
            raise InputError("is a directory, not a file", source=name) from None
        except PermissionError:
            raise InputError("permission denied", source=name) from None
        try:
            size = os.fstat(raw.fileno()).st_size
        except OSError:
            size = None
    wrapped = not hasattr(raw, "peek")
    buffered = io.BufferedReader(raw) if wrapped else raw  # type: ignore[arg-type]
    head = buffered.peek(16)[:16]  # type: ignore[attr-defined]
    if not head:  # at end already; on a terminal, reading on would wait for a second Ctrl-D
        return InputSource(name=name, stream=io.BytesIO(b""), size=size, _raw=buffered, _detach=wrapped)  # type: ignore[arg-type]
    kind = _compression_of(head)
    stream = _decompressing(buffered, kind)  # type: ignore[arg-type]
    return InputSource(name=name, stream=stream, size=size, _raw=buffered if kind else None, _detach=wrapped)  # type: ignore[arg-type]


def _decode(data: bytes, errors: str, source: str, offset: int, line: int) -> str:
    try:
        return data.decode("utf-8", errors)
    except UnicodeDecodeError as exc:
        bad_line = line + data.count(b"\n", 0, exc.start)
        bad = data[exc.start : exc.end].hex(" ")
        raise InputError(
            f"invalid UTF-8 at byte offset {offset + exc.start} (byte {bad}); "
            "use --errors replace or --errors ignore to read it anyway",
            source=source,
            line=bad_line,
        ) from None


def iter_blocks(source: InputSource, errors: str = "strict", block_size: int = BLOCK_SIZE) -> Iterator[str]:
    """Decoded text of ``source`` in blocks of whole lines.

    Every block but the last ends with ``\\n``; the last ends where the input ends. A UTF-8
    byte-order mark at the very start is dropped.
    """
    if errors not in ERROR_POLICIES:
        raise ValueError(f"errors must be one of {ERROR_POLICIES}, not {errors!r}")
    read = getattr(source.stream, "read1", source.stream.read)  # read1: what is there, so a terminal is answered line by line
    pieces: list[bytes] = []  # bytes after the last newline, not yet decoded
    offset = 0  # byte offset of the first pending byte
    line = 1  # line number of the first pending line
    first = True
    try:
        while True:
            chunk = read(block_size)
            if first:
                first = False
                if chunk.startswith(_UTF8_BOM):
                    chunk = chunk[len(_UTF8_BOM) :]
                    offset = len(_UTF8_BOM)
            if not chunk:
                if pieces:
                    yield _decode(b"".join(pieces), errors, source.name, offset, line)
                return
            cut = chunk.rfind(b"\n") + 1
            if cut == 0:
                pieces.append(chunk)
                continue
            pieces.append(chunk[:cut] if cut < len(chunk) else chunk)
            whole = b"".join(pieces) if len(pieces) > 1 else pieces[0]
            pieces = [chunk[cut:]] if cut < len(chunk) else []
            yield _decode(whole, errors, source.name, offset, line)
            offset += len(whole)
            line += whole.count(b"\n")
    except (EOFError, OSError, lzma.LZMAError) as exc:
        if isinstance(exc, BrokenPipeError):
            raise
        raise InputError(f"cannot read: {exc}", source=source.name) from None


def iter_lines(source: InputSource, errors: str = "strict") -> Iterator[str]:
    """The lines of ``source`` without their ``\\n``."""
    for block in iter_blocks(source, errors):
        lines = block.split("\n")
        if lines[-1] == "":
            lines.pop()
        yield from lines


def read_text_blocks(
    paths: Iterable[str | None],
    errors: str = "strict",
    stdin: BinaryIO | None = None,
    progress: Callable[[int], None] | None = None,
    complete_last_line: bool = True,
) -> Iterator[str]:
    """Blocks of whole lines from each path in turn, joined as ``cat`` would join them (a last
    line without its newline gets one, unless ``complete_last_line`` is false). Every input is
    opened before the first block, so a missing file is reported before any output.
    ``progress(bytes_done)`` follows the underlying files."""
    sources = [open_input(path, stdin) for path in paths]
    done = 0
    try:
        for source in sources:
            last = ""
            for block in iter_blocks(source, errors):
                last = block
                yield block
                if progress is not None:
                    position = source.raw_position()
                    if position is not None:
                        progress(done + position)
            if complete_last_line and last and not last.endswith("\n"):
                yield "\n"
            done += source.size or 0
    finally:
        for source in sources:
            source.close()


def total_size(paths: Iterable[str | None]) -> int | None:
    """The bytes that ``paths`` hold together, or None when one of them is a stream."""
    total = 0
    for path in paths:
        if path is None or str(path) == "-":
            return None
        try:
            total += os.stat(path).st_size
        except OSError:
            return None
    return total


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike[str], mode: str = "wb", encoding: str | None = None) -> Iterator[BinaryIO | TextIO]:
    """Write ``path`` through a temporary file in the same folder, renamed into place only when
    the block completes: a crash or an error never leaves half a file, and an existing file stays
    as it was."""
    target = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(target))
    if not os.path.isdir(folder):
        raise InputError("folder does not exist", source=folder)
    fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(target)}.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, mode, encoding=encoding if "b" not in mode else None) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        if os.path.exists(target):
            os.chmod(tmp, os.stat(target).st_mode & 0o777)
        else:
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


class TextOutput:
    """UTF-8 text to standard output (or a file, written atomically), in blocks; flushed after
    every block when it goes to a terminal, so that an interactive user sees each answer."""

    def __init__(self, stream: BinaryIO) -> None:
        self._stream = stream
        try:
            self._interactive = stream.isatty()
        except (AttributeError, ValueError):
            self._interactive = False

    def write(self, text: str) -> None:
        self._stream.write(text.encode("utf-8"))
        if self._interactive:
            self._stream.flush()

    def flush(self) -> None:
        self._stream.flush()


@contextlib.contextmanager
def open_output(path: str | os.PathLike[str] | None, stdout: BinaryIO | None = None) -> Iterator[TextOutput]:
    """A text sink: standard output for None or '-', else ``path`` written atomically
    (gzip/bz2/xz compressed when the name ends in .gz/.bz2/.xz)."""
    if path is None or str(path) == "-":
        stream = stdout if stdout is not None else sys.stdout.buffer
        out = TextOutput(stream)
        yield out
        out.flush()
        return
    name = os.fspath(path)
    with atomic_write(name, "wb") as raw:
        compressed: BinaryIO
        if name.endswith(".gz"):
            compressed = gzip.GzipFile(fileobj=raw, mode="wb", mtime=0)  # type: ignore[assignment]
        elif name.endswith(".bz2"):
            compressed = bz2.BZ2File(raw, mode="wb")  # type: ignore[assignment]
        elif name.endswith(".xz"):
            compressed = lzma.LZMAFile(raw, mode="wb")  # type: ignore[assignment]
        else:
            compressed = raw  # type: ignore[assignment]
        out = TextOutput(compressed)
        yield out
        if compressed is not raw:
            compressed.close()
