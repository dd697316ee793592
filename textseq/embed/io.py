"""Vector files: word2vec text and binary (the C tool's format, which gensim, fastText and most
tools read and write), GloVe text (no header line) and fastText ``.vec`` (word2vec text).

Text is parsed a block of lines at a time with numpy (one conversion per block, not one
``float()`` per value); binary vectors are taken with ``np.frombuffer``. Writes are atomic.

Every size a file declares is checked against what the file holds before anything of that size
is allocated: a text file's rows are allocated as its lines are read, a binary file's matrix only
once its bytes are known to be there. Values must be finite float32 numbers.
"""

from __future__ import annotations

import gzip
import io
import os
import re
import sys
from collections.abc import Iterator
from itertools import chain
from typing import BinaryIO

import numpy as np

from textseq.embed.limits import MAX_DIMENSIONS
from textseq.embed.vectors import Vectors
from textseq.errors import InputError, OutputError
from textseq.streams import (
    READ_ERRORS,
    STDOUT_NAME,
    ByteSink,
    FullWriter,
    InputSource,
    atomic_write,
    check_writable,
    isatty,
    iter_blocks,
    open_input,
    open_output,
    read_error,
    standard_output,
)

FORMATS = ("auto", "word2vec", "word2vec-binary", "glove")
HEAD_BYTES = 1 << 16
"""How much of a file's start is looked at to tell word2vec binary from text."""

_HEADER = re.compile(r"[ \t]*([0-9]+)[ \t]+([0-9]+)[ \t\r]*")
_MAX_HEADER_DIGITS = 20
_CONTROL_BYTES = bytes(set(range(32)) - {9, 10, 13})


def _is_header(line: str) -> bool:
    return _HEADER.fullmatch(line) is not None


def parse_header(line: str, source: str) -> tuple[int, int]:
    """(count, dimensions) of a word2vec header line ``'<count> <dim>'``, the dimensions within
    1 .. MAX_DIMENSIONS; an InputError naming line 1 otherwise."""
    match = _HEADER.fullmatch(line)
    if match is None:
        raise InputError(f"bad header {line[:60]!r}: expected '<count> <dim>'", source=source, line=1)
    if any(len(group) > _MAX_HEADER_DIGITS for group in match.groups()):
        raise InputError(f"bad header {line[:60]!r}: the numbers are too large", source=source, line=1)
    count, dim = int(match[1]), int(match[2])
    if dim <= 0:
        raise InputError(f"bad header {line[:60]!r}: the dimension must be positive", source=source, line=1)
    if dim > MAX_DIMENSIONS:
        raise InputError(
            f"bad header {line[:60]!r}: {dim:,} dimensions, more than the {MAX_DIMENSIONS:,} textseq reads", source=source, line=1
        )
    return count, dim


def load_vectors(path: str, format: str = "auto", errors: str = "strict", limit: int | None = None) -> Vectors:
    """Read a vector file; ``format`` 'auto' tells binary from text by the bytes after the
    header, and GloVe (no header) from word2vec text by the first line. ``limit``: only the
    first rows."""
    if format not in FORMATS:
        raise ValueError(f"format must be one of {FORMATS}")
    source = open_input(path)
    try:
        head = _read(source.stream, HEAD_BYTES, source.name)
        if format == "auto":
            format = detect_format(head)
        if format == "word2vec-binary":
            return _read_binary(_read_rest(head, source.stream, source.name), source.name, errors, limit)
        replayed = InputSource(name=source.name, stream=io.BufferedReader(_Replay(head, source.stream)))
        return _read_text(replayed, errors, limit, header=True if format == "word2vec" else None)
    except READ_ERRORS as exc:
        raise read_error(exc, source.name) from None
    finally:
        source.close()


def detect_format(head: bytes) -> str:
    """'word2vec-binary', 'word2vec' (text with a header) or 'glove' (text without one) for a
    file that starts with ``head`` (its first HEAD_BYTES bytes, or all of it).

    Text is what follows a header when the first line after it is a word and numbers (however
    many: a wrong count is then reported for that line), or when the bytes are clean text (UTF-8
    without control characters); binary vectors are neither."""
    newline = head.find(b"\n")
    first = head[: newline if newline >= 0 else len(head)]
    if not _is_header(first.decode("latin-1")):
        return "glove"
    body = head[newline + 1 :] if newline >= 0 else b""
    whole = len(head) < HEAD_BYTES
    if not body or _starts_with_numbers(body, whole) or _is_clean_text(body, whole):
        return "word2vec"
    return "word2vec-binary"


def _starts_with_numbers(body: bytes, whole: bool) -> bool:
    """Whether the first line of ``body`` is a word and at least one number."""
    end = body.find(b"\n")
    fields = (body[:end] if end >= 0 else body).split()
    if end < 0 and not whole:
        fields = fields[:-1]  # the head may end inside the last number
    if len(fields) < 2:
        return False
    try:
        for field in fields[1:]:
            float(field)
    except ValueError:
        return False
    return True


def _is_clean_text(body: bytes, whole: bool) -> bool:
    if len(body.translate(None, _CONTROL_BYTES)) != len(body):
        return False
    try:
        body.decode("utf-8")
    except UnicodeDecodeError as exc:
        return not whole and exc.start >= len(body) - 3  # a character cut by the head's end
    return True


class _Replay(io.RawIOBase):
    """The bytes ``head`` again, then the rest of ``stream``: what was read to tell the format is
    read once more by the format's reader."""

    def __init__(self, head: bytes, stream: BinaryIO) -> None:
        self._head = memoryview(head)
        self._stream = stream

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        if len(self._head):
            n = min(len(buffer), len(self._head))
            buffer[:n] = self._head[:n]
            self._head = self._head[n:]
            return n
        return self._stream.readinto(buffer)  # type: ignore[attr-defined]


def _read(stream: BinaryIO, size: int, name: str) -> bytes:
    """Up to ``size`` bytes (fewer only at the end: buffered and decompressing streams read until they have them)."""
    try:
        return stream.read(size)
    except READ_ERRORS as exc:
        raise read_error(exc, name) from None


def _read_rest(head: bytes, stream: BinaryIO, name: str, piece: int = 1 << 24) -> bytearray:
    """``head`` and the rest of ``stream``, grown in place (no second copy of a large file)."""
    data = bytearray(head)
    while chunk := _read(stream, piece, name):
        data += chunk
    return data


def _read_text(source: InputSource, errors: str, limit: int | None, header: bool | None) -> Vectors:
    """word2vec text (``count dim`` then ``word v1 ... vdim``) or, with no header, GloVe."""
    name = source.name
    words: list[str] = []
    blocks: list[np.ndarray] = []
    count: int | None = None
    dim: int | None = None
    line_no = 0
    done = False
    for block in iter_blocks(source, errors):
        lines = block.split("\n")
        if lines and lines[-1] == "":
            lines.pop()
        start = 0
        if line_no == 0 and lines:
            count, dim, start = _read_first_line(lines[0], header, name)
        base = line_no  # lines[i] is line base + i + 1
        line_no += len(lines)
        body = lines[start:]
        if limit is not None:
            body = body[: max(limit - len(words), 0)]
        if count is not None and len(words) + len(body) > count:
            extra = count - len(words) + start
            raise InputError(f"more vectors than the header's {count}", source=name, line=base + extra + 1)
        if not body:
            if limit is not None and len(words) >= limit:
                done = True
                break
            continue
        assert dim is not None
        row_words, matrix = _read_rows(body, dim, name, base + start + 1)
        blocks.append(matrix)
        words.extend(row_words)
        if limit is not None and len(words) >= limit:
            done = True
            break
    if dim is None:
        raise InputError("no vectors (the file is empty)", source=name)
    if count is not None and not done and len(words) < count:
        raise InputError(f"only {len(words)} vectors, the header says {count}", source=name, line=line_no)
    matrix = np.concatenate(blocks) if blocks else np.zeros((0, dim), dtype=np.float32)
    return Vectors(words, matrix, source=name)


def _read_first_line(first: str, header: bool | None, name: str) -> tuple[int | None, int, int]:
    """(the header's count, or None without a header; the dimension; the lines the header takes)
    from the file's first line. ``header`` None: tell a header from a GloVe row."""
    if header is None:
        header = _is_header(first)
    if header:
        count, dim = parse_header(first, name)
        return count, dim, 1
    return None, _glove_dimensions(first, name), 0


def _read_rows(lines: list[str], dim: int, name: str, first_line: int) -> tuple[list[str], np.ndarray]:
    """The words and the vectors (a float32 matrix) of ``lines``, each ``word v1 ... vdim``;
    ``lines[0]`` is on line ``first_line``."""
    pairs = [line.rstrip().split(" ", 1) for line in lines]
    values = [pair[1].split() if len(pair) == 2 else [] for pair in pairs]
    _check_lengths(values, dim, name, first_line)
    return [pair[0] for pair in pairs], _parse_numbers(values, dim, name, first_line)


def _glove_dimensions(first: str, name: str) -> int:
    dim = len(first.split()) - 1
    if dim <= 0:
        raise InputError("no vector on the first line (expected 'word v1 v2 ...')", source=name, line=1)
    if dim > MAX_DIMENSIONS:
        raise InputError(
            f"{dim:,} values on the first line, more than the {MAX_DIMENSIONS:,} dimensions textseq reads", source=name, line=1
        )
    return dim


def _check_lengths(values: list[list[str]], dim: int, name: str, first_line: int) -> None:
    """Every row has ``dim`` values; ``values[i]`` is on line ``first_line + i``."""
    lengths = np.fromiter(map(len, values), dtype=np.int64, count=len(values))
    bad = np.flatnonzero(lengths != dim)
    if len(bad):
        i = int(bad[0])
        raise InputError(f"{lengths[i]} values on this line, expected {dim}", source=name, line=first_line + i)


def _parse_numbers(values: list[list[str]], dim: int, name: str, first_line: int) -> np.ndarray:
    """The rows of ``values`` as a float32 matrix; each value a finite number within float32's range."""
    try:
        with np.errstate(over="ignore", invalid="ignore"):  # a value beyond float32 becomes inf, refused below
            matrix = np.array(list(chain.from_iterable(values)), dtype=np.float32).reshape(len(values), dim)
    except ValueError:
        for i, row in enumerate(values):
            try:
                np.array(row, dtype=np.float64)
            except ValueError:
                raise InputError(f"not a number in {' '.join(row)[:60]!r}", source=name, line=first_line + i) from None
        raise
    bad = ~np.isfinite(matrix)
    if bad.any():
        i, j = (int(k) for k in np.argwhere(bad)[0])
        raise InputError(f"{values[i][j][:30]!r} is not a finite float32 number (within ±3.4e38)", source=name, line=first_line + i)
    return matrix


def _read_binary(data: bytes | bytearray, name: str, errors: str, limit: int | None) -> Vectors:
    """The C tool's binary format: a text header, then per word its bytes, a space and ``dim``
    little-endian float32 (a newline after each vector is optional, as gensim writes none)."""
    newline = data.find(b"\n")
    head = data[:newline].decode("latin-1") if newline >= 0 else data[:60].decode("latin-1")
    if newline < 0:
        raise InputError(f"bad header {head[:60]!r}: expected '<count> <dim>'", source=name, line=1)
    count, dim = parse_header(head, name)
    if limit is not None:
        count = min(count, limit)
    _check_binary_size(count, dim, len(data) - newline - 1, name)
    size = 4 * dim
    matrix = np.empty((count, dim), dtype=np.float32)
    words: list[str] = []
    pos = newline + 1
    end = len(data)
    find = data.find
    for i in range(count):
        while pos < end and data[pos] in (10, 13):  # the newline the C tool writes after a vector
            pos += 1
        space = find(b" ", pos)
        if space < 0 or space + 1 + size > end:
            raise InputError(f"truncated: the header says {count} vectors, the file ends in vector {i + 1}", source=name)
        try:
            words.append(data[pos:space].decode("utf-8", errors))
        except UnicodeDecodeError:
            raise InputError(
                f"invalid UTF-8 in word {i + 1} at byte offset {pos}; set errors to 'replace' to read it anyway", source=name
            ) from None
        matrix[i] = np.frombuffer(data, dtype="<f4", count=dim, offset=space + 1)
        pos = space + 1 + size
    _check_finite_rows(matrix, words, name)
    return Vectors(words, matrix, source=name)


def _check_binary_size(count: int, dim: int, available: int, name: str) -> None:
    """A binary vector takes at least a byte of word, a space and ``dim`` float32: the header's
    count must fit in the bytes after it."""
    needed = count * (4 * dim + 2)
    if needed > available:
        raise InputError(
            f"the header says {count:,} vectors of {dim:,} dimensions, which take at least {needed:,} bytes, "
            f"but {available:,} bytes follow it",
            source=name,
            line=1,
        )


def _check_finite_rows(matrix: np.ndarray, words: list[str], name: str) -> None:
    finite = np.isfinite(matrix).all(axis=1)
    if not finite.all():
        i = int(np.flatnonzero(~finite)[0])
        raise InputError(f"vector {i + 1} ({words[i][:30]!r}) has a value that is not a finite number", source=name)


def check_output(path: str, binary: bool = False, stdout: ByteSink | None = None) -> None:
    """That vectors can be written to ``path`` ('-': standard output), checked before the work
    that makes them (:func:`textseq.streams.check_writable`); binary vectors not to a terminal."""
    if path == "-":
        if binary and isatty(stdout if stdout is not None else sys.stdout.buffer):
            raise OutputError("binary vectors are not written to a terminal: redirect stdout, or write a file", source=STDOUT_NAME)
        return
    check_writable(path)


def save_vectors(vectors: Vectors, path: str, binary: bool = False, precision: int = 9, stdout: ByteSink | None = None) -> None:
    """Write word2vec text or binary to ``path`` atomically, or to standard output for '-'.
    Text goes through :func:`textseq.streams.open_output` (.gz/.bz2/.xz compressed by name);
    binary is gzip-compressed for a .gz name. Text keeps ``precision`` significant digits
    (9: float32 values read back exactly)."""
    _check_words(vectors)
    if not binary:
        with open_output(path, stdout) as out:
            for text in text_blocks(vectors, precision):
                out.write(text)
        return
    if path == "-":
        check_output(path, binary, stdout)
        stream = FullWriter(stdout) if stdout is not None else standard_output()
        for data in binary_blocks(vectors):
            stream.write(data)
        stream.flush()
        return
    with atomic_write(path) as raw:
        sink = gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) if str(path).endswith(".gz") else raw
        try:
            for data in binary_blocks(vectors):
                sink.write(data)
        finally:
            if sink is not raw:
                sink.close()


def write_vectors(vectors: Vectors, out: BinaryIO, binary: bool = False, precision: int = 9) -> None:
    """Write to a byte stream."""
    _check_words(vectors)
    if binary:
        out.writelines(binary_blocks(vectors))
    else:
        out.writelines(text.encode("utf-8") for text in text_blocks(vectors, precision))


def _check_words(vectors: Vectors) -> None:
    for word in vectors.words:
        if not word or any(c.isspace() for c in word):
            raise InputError(f"cannot write the word {word!r}: words in a vector file contain no whitespace")


def _rows_per_block(dim: int) -> int:
    return max(1, (1 << 16) // max(dim, 1))  # values per block: the text path holds each as a Python float


def binary_blocks(vectors: Vectors) -> Iterator[bytes]:
    """word2vec binary: the header, then ``word``, a space, the float32 vector and a newline per row."""
    n, dim = vectors.matrix.shape
    yield f"{n} {dim}\n".encode()
    matrix = np.ascontiguousarray(vectors.matrix, dtype="<f4")
    step = _rows_per_block(dim)
    for start in range(0, n, step):
        yield b"".join(vectors.words[i].encode("utf-8") + b" " + matrix[i].tobytes() + b"\n" for i in range(start, min(n, start + step)))


def text_blocks(vectors: Vectors, precision: int = 9) -> Iterator[str]:
    """word2vec text: the header ``count dim``, then ``word v1 ... vdim`` per row."""
    n, dim = vectors.matrix.shape
    yield f"{n} {dim}\n"
    step = _rows_per_block(dim)
    fmt = "%s" + f" %.{precision}g" * dim + "\n"
    for start in range(0, n, step):
        chunk = vectors.matrix[start : start + step]
        values: np.ndarray = np.empty((len(chunk), dim + 1), dtype=object)
        values[:, 0] = vectors.words[start : start + step]
        values[:, 1:] = chunk.astype(np.float64)
        yield (fmt * len(chunk)) % tuple(values.ravel().tolist())


def output_is_binary(path: str) -> bool:
    """By name: ``.bin`` is binary, anything else text."""
    return os.path.splitext(str(path))[1].lower() == ".bin"
