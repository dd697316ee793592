"""Vector files: word2vec text and binary (the C tool's format, which gensim, fastText and most
tools read and write), GloVe text (no header line) and fastText ``.vec`` (word2vec text).

Text is parsed a block of lines at a time with numpy (one conversion per block, not one
``float()`` per value); binary vectors are taken with ``np.frombuffer``. Writes are atomic.
"""

from __future__ import annotations

import gzip
import os
from itertools import chain

import numpy as np

from textseq.embed.vectors import Vectors
from textseq.errors import InputError
from textseq.streams import atomic_write, iter_blocks, open_input

FORMATS = ("auto", "word2vec", "word2vec-binary", "glove")


def _is_header(line: str) -> bool:
    parts = line.split()
    return len(parts) == 2 and parts[0].isdigit() and parts[1].isdigit()


def load_vectors(path: str, format: str = "auto", errors: str = "strict", limit: int | None = None) -> Vectors:
    """Read a vector file; ``format`` 'auto' tells binary from text by the bytes after the
    header, and GloVe (no header) from word2vec text by the first line. ``limit``: only the
    first rows."""
    if format not in FORMATS:
        raise ValueError(f"format must be one of {FORMATS}")
    source = open_input(path)
    try:
        if format == "glove":
            return _read_text(source, errors, limit, header=False)
        if format == "word2vec":
            return _read_text(source, errors, limit, header=True)
        head = source.stream.peek(1 << 16)[: 1 << 16] if hasattr(source.stream, "peek") else b""  # type: ignore[attr-defined]
        if format == "word2vec-binary" or (format == "auto" and _looks_binary(head)):
            return _read_binary(source, errors, limit)
        return _read_text(source, errors, limit, header=None)
    finally:
        source.close()


def _looks_binary(head: bytes) -> bool:
    newline = head.find(b"\n")
    if newline < 0 or not _is_header(head[:newline].decode("latin-1")):
        return False
    dim = int(head[:newline].split()[1])
    body = head[newline + 1 :]
    end = body.find(b"\n")
    if end < 0:
        return len(body) >= 4 * dim or b"\0" in body
    return len(body[:end].split()) != dim + 1


def _read_text(source, errors: str, limit: int | None, header: bool | None) -> Vectors:
    """word2vec text (``count dim`` then ``word v1 ... vdim``) or, with no header, GloVe."""
    name = source.name
    words: list[str] = []
    blocks: list[np.ndarray] = []
    count = dim = None
    line_no = 0
    done = False
    for block in iter_blocks(source, errors):
        lines = block.split("\n")
        if lines and lines[-1] == "":
            lines.pop()
        start = 0
        if line_no == 0 and lines:
            first = lines[0]
            if header is None:
                header = _is_header(first)
            if header:
                if not _is_header(first):
                    raise InputError(f"bad header {first[:60]!r}: expected '<count> <dim>'", source=name, line=1)
                count, dim = map(int, first.split())
                if dim <= 0:
                    raise InputError(f"bad header {first[:60]!r}: the dimension must be positive", source=name, line=1)
                start = 1
            else:
                dim = len(first.split()) - 1
                if dim <= 0:
                    raise InputError("no vector on the first line (expected 'word v1 v2 ...')", source=name, line=1)
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
        pairs = [line.rstrip().split(" ", 1) for line in body]
        values = [pair[1].split() if len(pair) == 2 else [] for pair in pairs]
        lengths = np.fromiter(map(len, values), dtype=np.int64, count=len(values))
        bad = np.flatnonzero(lengths != dim)
        if len(bad):
            i = int(bad[0])
            raise InputError(f"{lengths[i]} values on this line, expected {dim}", source=name, line=base + start + i + 1)
        try:
            matrix = np.array(list(chain.from_iterable(values)), dtype=np.float32).reshape(len(body), dim)
        except ValueError:
            for i, row in enumerate(values):
                try:
                    np.array(row, dtype=np.float32)
                except ValueError:
                    raise InputError(f"not a number in {' '.join(row)[:60]!r}", source=name, line=base + start + i + 1) from None
            raise
        words.extend(pair[0] for pair in pairs)
        blocks.append(matrix)
        if limit is not None and len(words) >= limit:
            done = True
            break
    if dim is None:
        raise InputError("no vectors (the file is empty)", source=name)
    if count is not None and not done and len(words) < count:
        raise InputError(f"only {len(words)} vectors, the header says {count}", source=name, line=line_no)
    matrix = np.concatenate(blocks) if blocks else np.zeros((0, dim), dtype=np.float32)
    return Vectors(words, matrix, source=name)


def _read_binary(source, errors: str, limit: int | None) -> Vectors:
    """The C tool's binary format: a text header, then per word its bytes, a space and ``dim``
    little-endian float32 (a newline after each vector is optional, as gensim writes none)."""
    name = source.name
    data = source.stream.read()
    newline = data.find(b"\n")
    head = data[:newline].decode("latin-1") if newline >= 0 else data[:60].decode("latin-1")
    if newline < 0 or not _is_header(head):
        raise InputError(f"bad header {head[:60]!r}: expected '<count> <dim>'", source=name, line=1)
    count, dim = map(int, head.split())
    if limit is not None:
        count = min(count, limit)
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
            raise InputError(f"invalid UTF-8 in word {i + 1} at byte offset {pos}; use --errors replace", source=name) from None
        matrix[i] = np.frombuffer(data, dtype="<f4", count=dim, offset=space + 1)
        pos = space + 1 + size
    return Vectors(words, matrix, source=name)


def save_vectors(vectors: Vectors, path: str, binary: bool = False, precision: int = 9) -> None:
    """Write word2vec text (``.gz`` compressed by name) or binary, atomically. Text keeps
    ``precision`` significant digits (9: float32 values read back exactly)."""
    with atomic_write(path) as raw:
        out = gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) if str(path).endswith(".gz") else raw
        try:
            write_vectors(vectors, out, binary, precision)  # type: ignore[arg-type]
        finally:
            if out is not raw:
                out.close()


def write_vectors(vectors: Vectors, out, binary: bool = False, precision: int = 9) -> None:
    """Write to a byte stream (stdout for '-')."""
    n, dim = vectors.matrix.shape
    for word in vectors.words:
        if not word or any(c.isspace() for c in word):
            raise InputError(f"cannot write the word {word!r}: words in a vector file contain no whitespace")
    out.write(f"{n} {dim}\n".encode("utf-8"))
    matrix = np.ascontiguousarray(vectors.matrix, dtype="<f4")
    step = max(1, (1 << 16) // max(dim, 1))  # values per write: the text path holds each as a Python float
    for start in range(0, n, step):
        rows = range(start, min(n, start + step))
        if binary:
            out.write(b"".join(vectors.words[i].encode("utf-8") + b" " + matrix[i].tobytes() + b"\n" for i in rows))
        else:
            chunk = matrix[start : start + step]
            fmt = "%s" + f" %.{precision}g" * dim + "\n"
            values: list[object] = np.empty((len(chunk), dim + 1), dtype=object)  # type: ignore[assignment]
            values[:, 0] = vectors.words[start : start + step]  # type: ignore[index]
            values[:, 1:] = chunk.astype(np.float64)  # type: ignore[index]
            out.write(((fmt * len(chunk)) % tuple(values.ravel().tolist())).encode("utf-8"))  # type: ignore[attr-defined]


def output_is_binary(path: str) -> bool:
    """By name: ``.bin`` is binary, anything else text."""
    return os.path.splitext(str(path))[1].lower() == ".bin"
