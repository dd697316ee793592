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
import select
import stat
import sys
import tempfile
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import BinaryIO, Protocol, cast

from textseq.errors import SOURCE_ALIASES, InputError, OutputError

BLOCK_SIZE = 1 << 20
MAX_LINE_BYTES = 1 << 27
"""The longest line textseq reads (128 MiB): past it the input is not line-oriented text (``/dev/zero``,
a binary file), and holding it whole would take memory without bound."""
ERROR_POLICIES = ("strict", "replace", "ignore")
STDIN_NAME = "<stdin>"
STDOUT_NAME = "<stdout>"
READ_ERRORS = (EOFError, OSError, lzma.LZMAError, zlib.error)
"""What reading a (compressed) stream raises for damaged data or a failing device; a reader of its
own turns them into :func:`read_error`."""

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
    raw: BinaryIO
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
    buffered: BinaryIO = io.BufferedReader(cast("io.RawIOBase", raw)) if wrapped else raw
    try:
        head = _peek(buffered)
    except OSError as exc:
        if name != STDIN_NAME:
            raw.close()
        raise InputError(f"cannot read: {exc.strerror or exc}", source=name) from None
    if not head:  # at end already; on a terminal, reading on would wait for a second Ctrl-D
        return InputSource(name=name, stream=io.BytesIO(b""), size=size, _raw=buffered, _detach=wrapped)
    kind = _compression_of(head)
    stream = _decompressing(buffered, kind)
    return InputSource(name=name, stream=stream, size=size, _raw=buffered if kind else None, _detach=wrapped)


def _peek(stream: BinaryIO) -> bytes:
    """The first bytes of ``stream`` (up to 16), left to be read; nothing for a stream that cannot peek."""
    return bytes(stream.peek(16)[:16]) if hasattr(stream, "peek") else b""


def _decode(data: bytes, errors: str, source: str, offset: int, line: int) -> str:
    try:
        return data.decode("utf-8", errors)
    except UnicodeDecodeError as exc:
        bad_line = line + data.count(b"\n", 0, exc.start)
        bad = data[exc.start : exc.end].hex(" ")
        raise InputError(
            f"invalid UTF-8 at byte offset {offset + exc.start} (byte {bad}); set errors to 'replace' or 'ignore' to read it anyway",
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
                if sum(map(len, pieces)) > MAX_LINE_BYTES:
                    raise InputError(
                        f"a line longer than {MAX_LINE_BYTES >> 20} MiB: this is not line-oriented text", source=source.name, line=line
                    )
                continue
            pieces.append(chunk[:cut] if cut < len(chunk) else chunk)
            whole = b"".join(pieces) if len(pieces) > 1 else pieces[0]
            pieces = [chunk[cut:]] if cut < len(chunk) else []
            yield _decode(whole, errors, source.name, offset, line)
            offset += len(whole)
            line += whole.count(b"\n")
    except READ_ERRORS as exc:
        if isinstance(exc, BrokenPipeError):
            raise
        raise read_error(exc, source.name) from None


def read_error(exc: BaseException, source: str) -> InputError:
    """The one-line error for a failed read of ``source`` (one of :data:`READ_ERRORS`)."""
    if isinstance(exc, zlib.error):
        reason = f"corrupt compressed data ({exc})"
    elif isinstance(exc, OSError) and exc.strerror:
        reason = exc.strerror
    else:
        reason = str(exc) or type(exc).__name__
    return InputError(f"cannot read: {reason}", source=source)


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


_MODEL_MAGICS = (_GZIP_MAGIC, _XZ_MAGIC, b"BZh", b"PK\x03\x04", b"TEXTSEQ")


@contextlib.contextmanager
def as_regular_file(path: str) -> Iterator[str]:
    """``path`` itself when it is a regular file; else (a FIFO, ``<(...)``, a device) a temporary
    copy of all it holds, removed afterwards. Readers of model files look at the first bytes and
    then open the file again or map it, which a stream allows only once. A stream whose first
    bytes are neither text nor a known file format is refused before anything is copied, so
    ``/dev/zero`` does not fill the disk."""
    if _file_kind(path) != "special":
        yield path
        return
    source = open_input(path)
    try:
        raw = source._raw if source._raw is not None else source.stream
        head = _peek(raw)
        if head and not head.startswith(_MODEL_MAGICS) and not _looks_like_text(head):
            raise InputError("not a model file (neither text nor a format textseq knows)", source=path)
        fd, copy = tempfile.mkstemp(prefix=".textseq-model.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as out:
                while chunk := raw.read(BLOCK_SIZE):
                    out.write(chunk)
        except BaseException:
            os.unlink(copy)
            raise
    finally:
        source.close()
    SOURCE_ALIASES[copy] = path  # kept: the error that ends a command is printed after its clean-up
    try:
        yield copy
    finally:
        with contextlib.suppress(OSError):
            os.unlink(copy)


def display_name(path: str) -> str:
    """The name the user gave for ``path``, which may be a temporary copy of a stream."""
    return SOURCE_ALIASES.get(path, path)


def _looks_like_text(head: bytes) -> bool:
    return all(byte >= 0x20 or byte in b"\t\n\r" for byte in head)


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


def isatty(stream: object) -> bool:
    """Whether ``stream`` is a terminal; False for what has no ``isatty`` or is closed."""
    try:
        return bool(stream.isatty())  # type: ignore[attr-defined]
    except (AttributeError, ValueError, OSError):
        return False


class FullWriter:
    """A binary stream that writes all it is given or fails: it goes on after a short write, waits
    when a non-blocking pipe is full (a raw ``stdout`` under ``PYTHONUNBUFFERED=1`` returns None or
    a short count, and a buffered one raises BlockingIOError), and turns a failing write (disk
    full, EIO) into one :class:`OutputError` naming ``name``. A closed pipe stays
    BrokenPipeError, which ends a command quietly."""

    def __init__(self, stream: ByteSink, name: str = STDOUT_NAME) -> None:
        self._stream = stream
        self.name = name

    def seekable(self) -> bool:
        """False: what is written straight into (a pipe, a device) is written once, in order."""
        return False

    def write(self, data: bytes | bytearray | memoryview) -> int:
        view = memoryview(data).cast("B")
        while view:
            try:
                written = self._stream.write(view)
            except BlockingIOError as exc:
                written = exc.characters_written
                self._wait_writable()
            except BrokenPipeError:
                raise
            except OSError as exc:
                raise self._failed(exc) from None
            if written is None:
                self._wait_writable()
                continue
            view = view[written:]
        return len(data)

    def flush(self) -> None:
        while True:
            try:
                self._stream.flush()
                return
            except BlockingIOError:
                self._wait_writable()
            except BrokenPipeError:
                raise
            except OSError as exc:
                raise self._failed(exc) from None

    def _wait_writable(self) -> None:
        try:
            fd = self._stream.fileno()
        except (AttributeError, OSError, ValueError):
            return
        select.select([], [fd], [])

    def _failed(self, exc: OSError) -> OutputError:
        return OutputError(f"cannot write: {exc.strerror or exc}", source=self.name)

    def isatty(self) -> bool:
        return isatty(self._stream)

    def fileno(self) -> int:
        return self._stream.fileno()


def standard_output() -> FullWriter:
    """The process's standard output as a :class:`FullWriter`."""
    return FullWriter(sys.stdout.buffer)


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike[str]) -> Iterator[BinaryIO]:
    """Write ``path`` through a temporary file in the same folder, renamed into place only when
    the block completes: a crash or an error never leaves half a file, and an existing file stays
    as it was.

    What is not a regular file is written straight into, as a shell's ``>`` would: a FIFO, a
    terminal, ``/dev/null`` (replacing a device by a file would lose it). A symbolic link keeps
    pointing where it did: its target is written. A folder is refused. A write that fails (disk
    full, read-only folder, no permission) is one :class:`OutputError` naming the path."""
    target = os.fspath(path)
    kind = _file_kind(target)
    if kind == "directory":
        raise OutputError("is a directory", source=target)
    if kind == "special":
        with _direct_write(target) as handle:
            yield handle
        return
    fd, tmp, real = _temporary_beside(target)
    try:
        with os.fdopen(fd, "wb") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        _set_mode(tmp, real)
        os.replace(tmp, real)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(exc, OSError) and not isinstance(exc, BrokenPipeError) and exc.filename in (None, tmp, real):
            raise OutputError(f"cannot write: {exc.strerror or exc}", source=target) from None
        raise


def check_writable(path: str) -> None:
    """That :func:`atomic_write` will be able to write ``path``, checked before the long work that
    makes what goes there (training, counting): not a folder; a file in a folder that exists and
    takes a new file (tried); a FIFO or device that is writable. '-' (stdout) always is."""
    if path == "-":
        return
    kind = _file_kind(path)
    if kind == "directory":
        raise OutputError("is a directory", source=path)
    if kind == "special":
        if not os.access(path, os.W_OK):
            raise OutputError("cannot write: permission denied", source=path)
        return
    fd, probe, _ = _temporary_beside(path)
    os.close(fd)
    os.unlink(probe)


def _temporary_beside(target: str) -> tuple[int, str, str]:
    """A new temporary file in the folder of ``target``'s real path (a link's target's folder):
    its descriptor, its path and that real path."""
    real = os.path.realpath(target)
    folder = os.path.dirname(real)
    if not os.path.isdir(folder):
        raise OutputError("folder does not exist", source=os.path.dirname(os.path.abspath(target)) or target)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(real)}.", suffix=".tmp", dir=folder)
    except OSError as exc:
        raise OutputError(f"cannot write: {exc.strerror or exc}", source=target) from None
    return fd, tmp, real


def _file_kind(path: str) -> str:
    """'missing', 'regular', 'directory' or 'special' (FIFO, device, socket), links followed."""
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return "missing"
    except OSError as exc:
        raise OutputError(f"cannot write: {exc.strerror or exc}", source=path) from None
    if stat.S_ISDIR(mode):
        return "directory"
    return "regular" if stat.S_ISREG(mode) else "special"


def _set_mode(tmp: str, target: str) -> None:
    """The new file gets the old one's permissions, or those a new file gets from the umask."""
    if os.path.exists(target):
        os.chmod(tmp, os.stat(target).st_mode & 0o777)
    else:
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)


@contextlib.contextmanager
def _direct_write(target: str) -> Iterator[BinaryIO]:
    try:
        handle = open(target, "wb")  # noqa: SIM115 - closed below
    except OSError as exc:
        raise OutputError(f"cannot write: {exc.strerror or exc}", source=target) from None
    writer = FullWriter(handle, target)
    try:
        yield writer  # type: ignore[misc]
        writer.flush()
    finally:
        with contextlib.suppress(OSError):
            handle.close()


class ByteSink(Protocol):
    """Where output bytes go: a binary file, a compressor over one, a :class:`FullWriter`, a
    BytesIO. ``write`` may take less than it is given (a raw non-blocking stream: a short count,
    or None when the pipe is full); :class:`FullWriter` is the one that takes everything."""

    def write(self, data: bytes | bytearray | memoryview, /) -> int | None: ...

    def flush(self) -> None: ...

    def fileno(self) -> int: ...


class TextOutput:
    """UTF-8 text to standard output (or a file, written atomically), in blocks; flushed after
    every block when it goes to a terminal, so that an interactive user sees each answer."""

    def __init__(self, stream: ByteSink) -> None:
        self._stream = stream
        self._interactive = isatty(stream)

    def write(self, text: str) -> None:
        self._stream.write(text.encode("utf-8"))
        if self._interactive:
            self._stream.flush()

    def flush(self) -> None:
        self._stream.flush()


def _compressing(raw: BinaryIO, name: str) -> gzip.GzipFile | bz2.BZ2File | lzma.LZMAFile | None:
    """A compressor writing into ``raw``, by the extension of ``name``; None for none."""
    if name.endswith(".gz"):
        return gzip.GzipFile(fileobj=raw, mode="wb", mtime=0)
    if name.endswith(".bz2"):
        return bz2.BZ2File(raw, mode="wb")
    if name.endswith(".xz"):
        return lzma.LZMAFile(raw, mode="wb")
    return None


@contextlib.contextmanager
def open_output(path: str | os.PathLike[str] | None, stdout: ByteSink | None = None) -> Iterator[TextOutput]:
    """A text sink: standard output for None or '-', else ``path`` written atomically
    (gzip/bz2/xz compressed when the name ends in .gz/.bz2/.xz)."""
    if path is None or str(path) == "-":
        stream = stdout if stdout is not None else standard_output()
        out = TextOutput(stream)
        yield out
        out.flush()
        return
    name = os.fspath(path)
    with atomic_write(name) as raw:
        compressed = _compressing(raw, name)
        out = TextOutput(compressed if compressed is not None else raw)
        yield out
        if compressed is not None:
            compressed.close()
