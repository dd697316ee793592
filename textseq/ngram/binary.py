"""textseq's binary n-gram format: the model's arrays as they lie in memory, memory-mapped.

Layout (version 2, little-endian)::

    magic  b"TEXTSEQ-NGRAM\\0\\0\\0"  (16 bytes)
    u64    length of the JSON header
    JSON   {"version", "order", "vocab_size", "smoothing", "scores_are_probabilities",
            "arrays": [[name, dtype, length, offset], ...], "checksum"}
    u32    CRC-32 of everything before it (magic, length and JSON)
    ...    zeros up to a 64-byte boundary, then every array at a 64-byte aligned offset from
           there, zero-padded: the vocabulary as '\\n'-joined UTF-8, then per order context, word,
           logprob, backoff and (above the unigrams) the sorted lookup keys and rows; the file
           ends with the last array's padding. ``checksum`` is the CRC-32 of all of it.

Opening a model maps the file and wraps each array without copying or parsing, after checking
everything that could make a lookup read out of bounds or give wrong numbers: the header's
CRC, every name, dtype, length and offset against the layout the writer uses and the file's
size, the arrays' CRC (a flipped bit in a memory-mapped array would otherwise give wrong
numbers silently; zlib's CRC-32 runs at several GB/s), and their content (ids within range,
keys sorted and matching their rows, finite log values). Version 1 had no checksums: such files
are refused with a message that says how to make a new one.
"""

from __future__ import annotations

import json
import mmap
import os
import struct
import zlib
from collections.abc import Iterator
from typing import Any

import numpy as np

from textseq.errors import InputError
from textseq.ngram.corpus import SPECIALS
from textseq.ngram.kneser_ney import LOG_ZERO
from textseq.ngram.model import BackoffModel, OrderTable
from textseq.ngram.smoothers import MAX_ORDER
from textseq.streams import atomic_write

MAGIC = b"TEXTSEQ-NGRAM\0\0\0"
VERSION = 2
_ALIGN = 64
_LENGTH = struct.Struct("<Q")
_CRC = struct.Struct("<I")
_MAX_HEADER = 1 << 16
"""The JSON header of an order-10 model takes about 3 KB."""
_INDEX_DTYPES = ("<i4", "<i8")
_KEYS = {"version", "order", "vocab_size", "smoothing", "scores_are_probabilities", "arrays", "checksum"}


def is_binary_model(head: bytes) -> bool:
    return head.startswith(MAGIC)


def _aligned(size: int) -> int:
    return -(-size // _ALIGN) * _ALIGN


def _names(order: int) -> Iterator[str]:
    """The arrays of a model of ``order``, in the order they lie in the file."""
    yield "vocab"
    for n in range(1, order + 1):
        yield from (f"{n}.context", f"{n}.word", f"{n}.logprob", f"{n}.backoff")
        if n > 1:
            yield from (f"{n}.keys", f"{n}.rows")


def _dtypes(name: str) -> tuple[str, ...]:
    """The dtypes the writer uses for the array ``name``."""
    kind = name.rpartition(".")[2]
    return {
        "vocab": ("|u1",),
        "context": _INDEX_DTYPES,
        "rows": _INDEX_DTYPES,
        "word": ("<i4",),
        "logprob": ("<f4",),
        "backoff": ("<f4",),
        "keys": ("<i8",),
    }[kind]


# --- writing -------------------------------------------------------------------------------------


def _arrays(model: BackoffModel) -> list[tuple[str, np.ndarray]]:
    vocab = np.frombuffer("\n".join(model.words).encode("utf-8"), dtype=np.uint8)
    arrays: list[tuple[str, np.ndarray]] = [("vocab", vocab)]
    index_dtype = np.int32 if max(len(t) for t in model.orders) < 2**31 else np.int64
    for n, table in enumerate(model.orders, start=1):
        arrays += [
            (f"{n}.context", table.context.astype(index_dtype)),
            (f"{n}.word", table.word.astype(np.int32)),
            (f"{n}.logprob", np.maximum(table.logprob, LOG_ZERO).astype(np.float32)),
            (f"{n}.backoff", np.maximum(table.backoff, LOG_ZERO).astype(np.float32)),
        ]
        if n > 1:
            keys, rows = table.index(model.vocab_size)
            arrays += [(f"{n}.keys", keys.astype(np.int64)), (f"{n}.rows", rows.astype(index_dtype))]
    return arrays


def _header_bytes(header: dict[str, Any]) -> bytes:
    """Magic, length, JSON and its CRC, zero-padded to where the arrays begin."""
    encoded = json.dumps(header).encode("utf-8")
    prefix = MAGIC + _LENGTH.pack(len(encoded)) + encoded
    prefix += _CRC.pack(zlib.crc32(prefix))
    return prefix + b"\0" * (_aligned(len(prefix)) - len(prefix))


def write_binary(model: BackoffModel, path: str | os.PathLike[str]) -> None:
    """Write ``model`` to ``path`` atomically."""
    arrays = _arrays(model)
    entries = []
    offset = 0
    checksum = 0
    for name, array in arrays:
        entries.append([name, array.dtype.str, int(array.size), offset])
        offset += _aligned(array.nbytes)
    chunks = []
    for _, array in arrays:
        data = np.ascontiguousarray(array).tobytes()
        padding = b"\0" * (-len(data) % _ALIGN)
        checksum = zlib.crc32(padding, zlib.crc32(data, checksum))
        chunks.append((data, padding))
    header = {
        "version": VERSION,
        "order": model.order,
        "vocab_size": model.vocab_size,
        "smoothing": model.smoothing,
        "scores_are_probabilities": model.scores_are_probabilities,
        "arrays": entries,
        "checksum": checksum,
    }
    with atomic_write(path) as out:
        out.write(_header_bytes(header))
        for data, padding in chunks:
            out.write(data)
            out.write(padding)


# --- reading -------------------------------------------------------------------------------------


class _Corrupt(Exception):
    """What is wrong with the file (the reader adds its name)."""


def read_binary(path: str | os.PathLike[str]) -> BackoffModel:
    """Open a binary model (memory-mapped), checked as the module notes say."""
    name = os.fspath(path)
    mapped = _map(name)
    try:
        header, start = _read_header(mapped)
        arrays = _wrap_arrays(mapped, header, start)
        _check_sum(mapped, start, header["checksum"])
        words = _vocabulary(arrays["vocab"], header["vocab_size"])
        orders = _tables(arrays, header["order"], len(words))
    except _Corrupt as exc:
        raise InputError(f"not a valid textseq binary model: {exc}", source=name) from None
    except _Unsupported as exc:
        raise InputError(str(exc), source=name) from None
    return BackoffModel(
        words=words, orders=orders, smoothing=header["smoothing"], scores_are_probabilities=header["scores_are_probabilities"]
    )


class _Unsupported(Exception):
    """A binary model of another version of the format."""


def _map(name: str) -> mmap.mmap:
    try:
        with open(name, "rb") as handle:
            return mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
    except ValueError:
        raise InputError("empty file, not a textseq binary model", source=name) from None
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror or exc}", source=name) from None


def _read_header(mapped: mmap.mmap) -> tuple[dict[str, Any], int]:
    """The checked JSON header, and where the arrays begin."""
    if mapped[: len(MAGIC)] != MAGIC:
        raise _Corrupt("it does not start with textseq's magic bytes")
    at = len(MAGIC) + _LENGTH.size
    if len(mapped) < at:
        raise _Corrupt("the file is truncated")
    (length,) = _LENGTH.unpack(mapped[len(MAGIC) : at])
    if length > min(_MAX_HEADER, len(mapped) - at - _CRC.size):
        raise _Corrupt(f"a header of {length:,} bytes" + (": the file is truncated" if length <= _MAX_HEADER else ""))
    try:
        header = json.loads(mapped[at : at + length])
    except (ValueError, RecursionError):
        raise _Corrupt("the header is not JSON") from None
    if not isinstance(header, dict):
        raise _Corrupt("the header is not a JSON object")
    version = header.get("version")
    if version != VERSION:
        if version == 1:
            raise _Unsupported(
                "binary format version 1 is no longer read (it has no checksums); rebuild the binary model, "
                "or convert it again from its ARPA file"
            )
        raise _Unsupported(
            f"binary format version {_shown(version)} is not supported (this textseq reads {VERSION}); "
            "rebuild the model or convert it from ARPA"
        )
    (stored,) = _CRC.unpack(mapped[at + length : at + length + _CRC.size])
    if zlib.crc32(mapped[: at + length]) != stored:
        raise _Corrupt("the header's checksum does not match (the file is damaged)")
    _check_header(header)
    return header, _aligned(at + length + _CRC.size)


def _shown(value: object, width: int = 30) -> str:
    """``value`` for a message: on one line, and short whatever a damaged header holds."""
    text = repr(value)
    return text if len(text) <= width else text[: width - 3] + "..."


def _is_int(value: object, low: int, high: int) -> bool:
    return type(value) is int and low <= value <= high


def _check_header(header: dict[str, Any]) -> None:
    missing, unknown = sorted(_KEYS - set(header)), sorted(set(header) - _KEYS)
    if missing or unknown:
        raise _Corrupt(f"the header's fields differ from the format's (missing: {_shown(missing, 60)}; unknown: {_shown(unknown, 60)})")
    if not _is_int(header["order"], 1, MAX_ORDER):
        raise _Corrupt(f"order {_shown(header['order'])} is not a whole number from 1 to {MAX_ORDER}")
    if not _is_int(header["vocab_size"], len(SPECIALS), 2**31 - 1):
        raise _Corrupt(f"vocabulary size {_shown(header['vocab_size'])} is not a whole number from {len(SPECIALS)} to 2^31-1")
    if not isinstance(header["smoothing"], str) or not isinstance(header["scores_are_probabilities"], bool):
        raise _Corrupt("the header's smoothing or scores_are_probabilities has the wrong type")
    if not _is_int(header["checksum"], 0, 2**32 - 1):
        raise _Corrupt("the header's checksum is not a 32-bit number")
    if not isinstance(header["arrays"], list):
        raise _Corrupt("the header's arrays are not a list")


def _wrap_arrays(mapped: mmap.mmap, header: dict[str, Any], start: int) -> dict[str, np.ndarray]:
    """Every array as a view of the mapping, after checking the list against the layout the
    writer uses and the file's size."""
    names = list(_names(header["order"]))
    entries = header["arrays"]
    if len(entries) != len(names):
        raise _Corrupt(f"{len(entries)} arrays listed, a model of order {header['order']} has {len(names)}")
    offset = 0
    layout = []
    for expected, entry in zip(names, entries):
        if not (isinstance(entry, list) and len(entry) == 4):
            raise _Corrupt(f"the entry of array {expected} is not [name, dtype, length, offset]")
        name, dtype, length, at = entry
        if name != expected:
            raise _Corrupt(f"array {_shown(name)} where {expected} should be")
        if dtype not in _dtypes(name):
            raise _Corrupt(f"array {name} has dtype {_shown(dtype)}, not {' or '.join(_dtypes(name))}")
        if not _is_int(length, 0, len(mapped)) or at != offset:
            raise _Corrupt(f"array {name}'s length or offset does not fit the layout")
        layout.append((name, np.dtype(dtype), length))
        offset += _aligned(length * np.dtype(dtype).itemsize)
    if start + offset != len(mapped):
        raise _Corrupt(
            "the file is truncated" if start + offset > len(mapped) else f"{len(mapped) - start - offset:,} bytes after the last array"
        )
    arrays = {}
    at = start
    for name, kind, length in layout:
        arrays[name] = np.frombuffer(mapped, dtype=kind, count=length, offset=at)
        at += _aligned(length * kind.itemsize)
    return arrays


def _check_sum(mapped: mmap.mmap, start: int, expected: int) -> None:
    view = memoryview(mapped)[start:]
    try:
        found = zlib.crc32(view)
    finally:
        view.release()
    if found != expected:
        raise _Corrupt("the arrays' checksum does not match (the file is damaged)")


def _vocabulary(data: np.ndarray, size: int) -> list[str]:
    try:
        text = data.tobytes().decode("utf-8")
    except UnicodeDecodeError:
        raise _Corrupt("the vocabulary is not UTF-8") from None
    words = text.split("\n")
    if len(words) != size:
        raise _Corrupt(f"the vocabulary has {len(words):,} words, the header says {size:,}")
    if tuple(words[: len(SPECIALS)]) != SPECIALS:
        raise _Corrupt(f"the vocabulary does not start with {', '.join(SPECIALS)}")
    if text.split() != words or len(set(words)) != size:
        raise _Corrupt("the vocabulary has an empty word, a word with a space in it, or a word twice")
    return words


def _tables(arrays: dict[str, np.ndarray], order: int, vocab: int) -> list[OrderTable]:
    """The orders' tables, each checked against the vocabulary and the order below."""
    tables: list[OrderTable] = []
    for n in range(1, order + 1):
        context, word = arrays[f"{n}.context"], arrays[f"{n}.word"]
        logprob, backoff = arrays[f"{n}.logprob"], arrays[f"{n}.backoff"]
        rows = len(word)
        if not len(context) == len(logprob) == len(backoff) == rows:
            raise _Corrupt(f"the arrays of order {n} differ in length")
        if rows and not (logprob.min() >= LOG_ZERO and logprob.max() <= 0.0):  # false for NaN too
            raise _Corrupt(f"order {n} has a log10 probability that is not a number from {LOG_ZERO:g} to 0")
        if rows and not (backoff.min() >= LOG_ZERO and np.isfinite(backoff.max())):
            raise _Corrupt(f"order {n} has a backoff that is not a finite number of at least {LOG_ZERO:g}")
        table = OrderTable(context, word, logprob, backoff)
        if n == 1:
            if rows != vocab or (context != -1).any() or not np.array_equal(word, np.arange(vocab)):
                raise _Corrupt("the unigrams are not one per vocabulary word, in order")
        else:
            _check_links(table, arrays[f"{n}.keys"], arrays[f"{n}.rows"], n, len(tables[-1]), vocab)
            table._keys, table._rows = arrays[f"{n}.keys"], arrays[f"{n}.rows"]
        tables.append(table)
    return tables


def _check_links(table: OrderTable, keys: np.ndarray, rows: np.ndarray, n: int, lower: int, vocab: int) -> None:
    """Contexts within the order below, words within the vocabulary, and the lookup index: keys
    strictly increasing (each n-gram once), each the (context, word) of its row."""
    size = len(table)
    if len(keys) != size or len(rows) != size:
        raise _Corrupt(f"the lookup index of order {n} has the wrong length")
    if size == 0:
        return
    if int(table.context.min()) < 0 or int(table.context.max()) >= lower:
        raise _Corrupt(f"order {n} has a context outside order {n - 1}")
    if int(table.word.min()) < 0 or int(table.word.max()) >= vocab:
        raise _Corrupt(f"order {n} has a word outside the vocabulary")
    if int(rows.min()) < 0 or int(rows.max()) >= size:
        raise _Corrupt(f"the lookup index of order {n} names a row that does not exist")
    if (keys[1:] <= keys[:-1]).any():
        raise _Corrupt(f"the lookup keys of order {n} are not strictly increasing (an n-gram twice?)")
    packed = table.context.astype(np.int64) * vocab + table.word
    in_order = np.array_equal(rows, np.arange(size))  # as counting writes them: a comparison without a gather
    if not np.array_equal(keys, packed if in_order else packed[rows]):
        raise _Corrupt(f"the lookup keys of order {n} do not match their n-grams")
