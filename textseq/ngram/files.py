"""Opening and saving n-gram models by file name."""

from __future__ import annotations

import io
import lzma
import mmap
import os
import stat
import zlib
from collections.abc import Callable
from typing import TypeVar

from textseq.errors import InputError
from textseq.ngram.arpa import parse_arpa, write_arpa
from textseq.ngram.binary import is_binary_model, read_binary, write_binary
from textseq.ngram.model import BackoffModel
from textseq.streams import STDIN_NAME, InputSource, open_input, open_output

_ZIP_MAGIC = b"PK\x03\x04"
_PICKLE_MAGIC = b"\x80"
_UTF8_BOM = b"\xef\xbb\xbf"
_READ_ERRORS = (EOFError, OSError, lzma.LZMAError, zlib.error)
"""What reading a damaged compressed file raises."""
T = TypeVar("T")


def load_model(path: str, *, check_later: bool = False) -> BackoffModel:
    """An n-gram model from textseq's binary format or an ARPA file (optionally compressed);
    ``check_later``: a binary model's checksum is still being computed when it returns (see
    :func:`textseq.ngram.binary.read_binary`)."""
    source = open_input(path)
    try:
        head = _reading(source, lambda: source.stream.peek(16)[:16] if hasattr(source.stream, "peek") else b"")
        if is_binary_model(head):
            _refuse_unmappable(path)
            return read_binary(path, check_later=check_later)
        _refuse_other_formats(head, path)
        data = _mapped(source) or _reading(source, source.stream.read)
    finally:
        source.close()
    skipped = len(_UTF8_BOM) if data[: len(_UTF8_BOM)] == _UTF8_BOM else 0
    if skipped:
        data = data[skipped:]
    return parse_arpa(data, path, lambda: _arpa_text(data[:], source.name, skipped))


def _mapped(source: InputSource) -> mmap.mmap | None:
    """A plain regular file, mapped: its pages are the page cache's, not a copy (a gigabyte's
    worth for a big model); None for anything else (stdin, a pipe, a compressed file)."""
    stream = source.stream
    if source.name == STDIN_NAME or type(stream) is not io.BufferedReader:
        return None
    try:
        if not stat.S_ISREG(os.fstat(stream.fileno()).st_mode) or stream.tell() != 0:
            return None
        return mmap.mmap(stream.fileno(), 0, access=mmap.ACCESS_READ)
    except (OSError, ValueError):
        return None


def _reading(source: InputSource, read: Callable[[], T]) -> T:
    """``read()``, with a damaged compressed file reported as textseq's error."""
    try:
        return read()
    except _READ_ERRORS as exc:
        raise InputError(f"cannot read: {exc}", source=source.name) from None


def _refuse_unmappable(path: str) -> None:
    """A binary model is memory-mapped: it must be a file of its own, not compressed."""
    if path == "-":
        raise InputError("a binary model cannot be read from standard input (it is memory-mapped): give its file name", source=path)
    try:
        with open(path, "rb") as handle:
            head = handle.read(16)
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror or exc}", source=path) from None
    if not is_binary_model(head):
        raise InputError("a binary model cannot be read compressed (it is memory-mapped): decompress it first", source=path)


def _refuse_other_formats(head: bytes, path: str) -> None:
    """Say what a file that is not an n-gram model is, where its first bytes tell."""
    if head.startswith(_ZIP_MAGIC):
        raise InputError(
            "is a neural checkpoint (a zip archive), not an n-gram model: this command takes an ARPA or binary n-gram model", source=path
        )
    if head.startswith(_PICKLE_MAGIC):
        raise InputError(
            "is not an n-gram model (a pickle file? an old torch checkpoint?): this command takes an ARPA or binary n-gram model",
            source=path,
        )


def _arpa_text(data: bytes, name: str, skipped: int) -> str:
    """``data`` (the file ``name`` after its first ``skipped`` bytes, a byte-order mark) as UTF-8,
    which an ARPA file must be."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        at = exc.start
        line = data.count(b"\n", 0, at) + 1
        if b"\0" in data[: min(len(data), 4096)]:
            raise InputError("is not an n-gram model: neither ARPA text nor textseq's binary format", source=name) from None
        raise InputError(
            f"an ARPA file must be UTF-8 (invalid byte {data[at]:02x} at offset {skipped + at}); if it is Latin-1, "
            f"convert it: iconv -f latin1 -t utf-8 {name} > model.arpa",
            source=name,
            line=line,
        ) from None


def save_model(model: BackoffModel, path: str | None, *, binary: bool = False, comment: str | None = None) -> None:
    """Write ``model`` to ``path`` (atomically; '-' or None: stdout, ARPA only), as ARPA or in
    textseq's binary format."""
    if binary:
        if path is None or path == "-":
            raise InputError("a binary model needs a file name, not stdout")
        write_binary(model, path)
        return
    with open_output(path) as out:
        write_arpa(model, out, comment=comment)  # a chunk of rows a write: the text is never whole in memory
