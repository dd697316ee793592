"""textseq's binary n-gram format: the model's arrays as they lie in memory, memory-mapped.

Layout (little-endian)::

    magic  b"TEXTSEQ-NGRAM\\0\\0\\0"  (16 bytes)
    u64    length of the JSON header
    JSON   {"version", "order", "vocab_size", "smoothing", "scores_are_probabilities",
            "arrays": [[name, dtype, length, offset], ...]}
    ...    every array at a 64-byte aligned offset: the vocabulary as '\\n'-joined UTF-8, then per
           order context, word, logprob, backoff and the sorted lookup keys and rows

Opening a model maps the file and wraps each array without copying or parsing, so loading costs
little more than reading the vocabulary.
"""

from __future__ import annotations

import json
import mmap
import os
import struct
from typing import BinaryIO

import numpy as np

from textseq.errors import InputError
from textseq.ngram.model import BackoffModel, OrderTable
from textseq.streams import atomic_write

MAGIC = b"TEXTSEQ-NGRAM\0\0\0"
VERSION = 1
_ALIGN = 64


def is_binary_model(head: bytes) -> bool:
    return head.startswith(MAGIC)


def _arrays(model: BackoffModel) -> list[tuple[str, np.ndarray]]:
    vocab = np.frombuffer("\n".join(model.words).encode("utf-8"), dtype=np.uint8)
    arrays: list[tuple[str, np.ndarray]] = [("vocab", vocab)]
    index_dtype = np.int32 if max(len(t) for t in model.orders) < 2**31 else np.int64
    for n, table in enumerate(model.orders, start=1):
        arrays += [
            (f"{n}.context", table.context.astype(index_dtype)),
            (f"{n}.word", table.word.astype(np.int32)),
            (f"{n}.logprob", table.logprob.astype(np.float32)),
            (f"{n}.backoff", table.backoff.astype(np.float32)),
        ]
        if n > 1:
            keys, rows = table.index(model.vocab_size)
            arrays += [(f"{n}.keys", keys.astype(np.int64)), (f"{n}.rows", rows.astype(index_dtype))]
    return arrays


def write_binary(model: BackoffModel, path: str | os.PathLike[str]) -> None:
    """Write ``model`` to ``path`` atomically."""
    arrays = _arrays(model)
    entries = []
    offset = 0
    for name, array in arrays:
        entries.append([name, array.dtype.str, int(array.size), offset])
        offset += -(-array.nbytes // _ALIGN) * _ALIGN
    header = {
        "version": VERSION,
        "order": model.order,
        "vocab_size": model.vocab_size,
        "smoothing": model.smoothing,
        "scores_are_probabilities": model.scores_are_probabilities,
        "arrays": entries,
    }
    encoded = json.dumps(header).encode("utf-8")
    start = -(-(len(MAGIC) + 8 + len(encoded)) // _ALIGN) * _ALIGN
    with atomic_write(path) as handle:
        out: BinaryIO = handle  # type: ignore[assignment]
        out.write(MAGIC + struct.pack("<Q", len(encoded)) + encoded)
        out.write(b"\0" * (start - len(MAGIC) - 8 - len(encoded)))
        for (_, array), (_, _, _, position) in zip(arrays, entries):
            out.write(np.ascontiguousarray(array).tobytes())
            out.write(b"\0" * (-array.nbytes % _ALIGN))


def read_binary(path: str | os.PathLike[str]) -> BackoffModel:
    """Open a binary model (memory-mapped)."""
    name = os.fspath(path)
    with open(name, "rb") as handle:
        try:
            mapped = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
        except ValueError:
            raise InputError("empty file, not a textseq binary model", source=name) from None
    if mapped[: len(MAGIC)] != MAGIC:
        raise InputError("not a textseq binary model", source=name)
    (length,) = struct.unpack("<Q", mapped[len(MAGIC) : len(MAGIC) + 8])
    try:
        header = json.loads(mapped[len(MAGIC) + 8 : len(MAGIC) + 8 + length])
    except ValueError:
        raise InputError("corrupt header", source=name) from None
    if header.get("version") != VERSION:
        raise InputError(f"binary format version {header.get('version')} is not supported (this textseq reads {VERSION}); rebuild the model or convert it from ARPA", source=name)
    start = -(-(len(MAGIC) + 8 + length) // _ALIGN) * _ALIGN
    arrays = {}
    for array_name, dtype, size, offset in header["arrays"]:
        kind = np.dtype(dtype)
        if start + offset + size * kind.itemsize > len(mapped):
            raise InputError("the file is truncated", source=name)
        arrays[array_name] = np.frombuffer(mapped, dtype=kind, count=size, offset=start + offset)
    words = arrays["vocab"].tobytes().decode("utf-8").split("\n")
    orders = []
    for n in range(1, header["order"] + 1):
        table = OrderTable(arrays[f"{n}.context"], arrays[f"{n}.word"], arrays[f"{n}.logprob"], arrays[f"{n}.backoff"])
        if n > 1:
            table._keys, table._rows = arrays[f"{n}.keys"], arrays[f"{n}.rows"]
        orders.append(table)
    return BackoffModel(words=words, orders=orders, smoothing=header.get("smoothing", ""),
                        scores_are_probabilities=header.get("scores_are_probabilities", True))
