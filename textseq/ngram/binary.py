"""textseq's binary n-gram format: the model's arrays as they lie in memory, memory-mapped.

Layout (version 3, little-endian)::

    magic  b"TEXTSEQ-NGRAM\\0\\0\\0"  (16 bytes)
    u64    length of the JSON header
    JSON   {"version", "order", "vocab_size", "smoothing", "scores_are_probabilities",
            "arrays": [[name, dtype, length, offset], ...], "checksum"}
    u32    CRC-32 of everything before it (magic, length and JSON)
    ...    zeros up to a 64-byte boundary, then every array at a 64-byte aligned offset from
           there, zero-padded: the vocabulary as '\\n'-joined UTF-8; the unigrams' logprob and
           backoff (row i is word i); then per higher order its n-grams sorted by their packed
           key ``context row * vocab_size + last word`` (contexts are rows of the order below in
           its own sorted order): the keys, logprob and backoff. The file ends with the last
           array's padding. ``checksum`` is the CRC-32 of all of it.

The keys are the n-grams and the lookup index at once: 16 bytes an n-gram, nothing to build or
cross-check when the file opens.

Opening a model maps the file and wraps each array without copying or parsing, after checking
everything that could make a lookup read out of bounds or give wrong numbers: the header's
CRC, every name, dtype, length and offset against the layout the writer uses and the file's
size, the arrays' CRC (a flipped bit in a memory-mapped array would otherwise give wrong
numbers silently; zlib's CRC-32 runs at about 2 GB/s), and their content (keys strictly
increasing and within the order below and the vocabulary, log values in range). Versions 1 and
2 (the same arrays as version 3 with contexts, words and a separate index: 28 bytes an n-gram)
are refused with a message that says how to make a new file.
"""

from __future__ import annotations

import json
import mmap
import os
import re
import struct
import threading
import zlib
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, BinaryIO

import numpy as np

from textseq.errors import InputError
from textseq.ngram.corpus import SPECIALS
from textseq.ngram.kneser_ney import LOG_ZERO
from textseq.ngram.model import BackoffModel, OrderTable
from textseq.ngram.smoothers import MAX_ORDER
from textseq.streams import atomic_write

if TYPE_CHECKING:
    from textseq.ngram.columns import Store
    from textseq.ngram.kneser_ney import Estimate

MAGIC = b"TEXTSEQ-NGRAM\0\0\0"
VERSION = 3
_ALIGN = 64
_LENGTH = struct.Struct("<Q")
_CRC = struct.Struct("<I")
_MAX_HEADER = 1 << 16
"""The JSON header of an order-10 model takes about 3 KB."""
_KEYS = {"version", "order", "vocab_size", "smoothing", "scores_are_probabilities", "arrays", "checksum"}


def is_binary_model(head: bytes) -> bool:
    return head.startswith(MAGIC)


def _aligned(size: int) -> int:
    return -(-size // _ALIGN) * _ALIGN


def _names(order: int) -> Iterator[str]:
    """The arrays of a model of ``order``, in the order they lie in the file."""
    yield from ("vocab", "1.logprob", "1.backoff")
    for n in range(2, order + 1):
        yield from (f"{n}.keys", f"{n}.logprob", f"{n}.backoff")


_DTYPES = {"vocab": "|u1", "keys": "<i8", "logprob": "<f4", "backoff": "<f4"}
"""The dtype the writer uses for each kind of array."""


# --- writing -------------------------------------------------------------------------------------


_PIECE = 1 << 22
"""Values an array is converted and written a slice of at a time."""

Pieces = Callable[[], Iterator[tuple[str, np.ndarray]]]
"""Makes the arrays' values in file order, a slice at a time, named as :func:`_names` names them
(each call the same values: a file that cannot seek is written in two passes)."""


def write_binary(model: BackoffModel, path: str | os.PathLike[str]) -> None:
    """Write ``model`` to ``path`` atomically, an array slice at a time (no copy of the whole)."""
    vocab = _vocab_bytes(model.words)
    lengths = _lengths(vocab, [len(table) for table in model.orders])

    def pieces() -> Iterator[tuple[str, np.ndarray]]:
        yield "vocab", vocab
        for name, array in _model_arrays(model):
            for start in range(0, len(array), _PIECE):
                yield name, _stored(name, array[start : start + _PIECE])

    write_layout(path, model.order, model.vocab_size, model.smoothing, model.scores_are_probabilities, lengths, pieces)


def write_binary_estimate(estimate: Estimate, words: list[str], smoothing: str, path: str | os.PathLike[str], store: Store) -> None:
    """Write the model ``estimate`` makes (see :class:`~textseq.ngram.kneser_ney.Estimate`) to
    ``path`` as it is computed, never whole in memory: each order's keys go straight to the file,
    its log values to ``store`` until the keys are written."""
    vocab = _vocab_bytes(words)
    lengths = _lengths(vocab, estimate.sizes)
    vocab_size = len(words)

    def pieces() -> Iterator[tuple[str, np.ndarray]]:
        yield "vocab", vocab
        new_row: np.ndarray | None = None  # the order below's rows once pruned ones are gone (None: as they are)
        for n, parts in estimate.chunks():
            table = estimate.counts.orders[n - 1]
            logprob = store.writer(f"binary.{n}.logprob", np.dtype("<f4"))
            backoff = store.writer(f"binary.{n}.backoff", np.dtype("<f4"))
            renumbered = np.empty(len(table), dtype=np.int64) if estimate.thresholds else None
            kept_so_far = 0
            for part in parts:
                kept = part.kept if n > 1 else None
                if renumbered is not None:
                    mask = np.ones(part.stop - part.start, dtype=bool) if kept is None else kept
                    rows = np.cumsum(mask) - 1 + kept_so_far
                    rows[~mask] = -1
                    renumbered[part.start : part.stop] = rows
                    kept_so_far += int(mask.sum())
                if n > 1:
                    context = table.context[part.start : part.stop].astype(np.int64)
                    if new_row is not None:
                        context = new_row[context]
                    keys = context * vocab_size + table.word[part.start : part.stop]
                    yield f"{n}.keys", keys if kept is None else keys[kept]
                logprob.append(_stored("logprob", part.logprob if kept is None else part.logprob[kept]))
                backoff.append(_stored("backoff", part.backoff if kept is None else part.backoff[kept]))
            new_row = renumbered
            for name, column in ((f"{n}.logprob", logprob.close()), (f"{n}.backoff", backoff.close())):
                for start in range(0, len(column), _PIECE):
                    yield name, column[start : start + _PIECE]
                store.remove(column)

    write_layout(path, estimate.order, vocab_size, smoothing, True, lengths, pieces)


def _lengths(vocab: np.ndarray, sizes: list[int]) -> list[int]:
    """The arrays' lengths in :func:`_names`' order, for a model of ``sizes`` n-grams an order."""
    return [len(vocab)] + [size for n, size in enumerate(sizes, start=1) for _ in range(2 if n == 1 else 3)]


def _vocab_bytes(words: list[str]) -> np.ndarray:
    return np.frombuffer("\n".join(words).encode("utf-8"), dtype=np.uint8)


def _stored(name: str, values: np.ndarray) -> np.ndarray:
    """``values`` in the dtype the file holds for an array named ``name``."""
    kind = name.rpartition(".")[2]
    stored: np.ndarray = values
    if kind == "keys":
        stored = values.astype("<i8")
    elif kind in ("logprob", "backoff"):
        stored = np.maximum(values, LOG_ZERO).astype("<f4")
    return stored


def _model_arrays(model: BackoffModel) -> Iterator[tuple[str, np.ndarray]]:
    """The model's arrays in file order, an order at a time (log values as the model has them)."""
    sorted_row: np.ndarray | None = None  # the order below's rows renumbered in key order (None: as they are)
    for n, table in enumerate(model.orders, start=1):
        logprob, backoff = table.logprob, table.backoff
        if n == 1 and not np.array_equal(table.word, np.arange(model.vocab_size)):
            raise AssertionError("the unigrams' rows must be the word ids")
        if n > 1:
            if sorted_row is None:
                keys, rows = table.index(model.vocab_size)
            else:
                keys, rows = OrderTable(sorted_row[table.context], table.word, logprob, backoff).index(model.vocab_size)
            if rows is not None:
                logprob, backoff = logprob[rows], backoff[rows]
                sorted_row = np.empty(len(rows), dtype=np.int64)
                sorted_row[rows] = np.arange(len(rows))
            else:
                sorted_row = None
            yield f"{n}.keys", keys
        yield f"{n}.logprob", logprob
        yield f"{n}.backoff", backoff


def write_layout(
    path: str | os.PathLike[str],
    order: int,
    vocab_size: int,
    smoothing: str,
    probabilities: bool,
    lengths: list[int],
    pieces: Pieces,
) -> None:
    """Write a model's file atomically: the header for arrays of ``lengths`` (in :func:`_names`'
    order), then the arrays from ``pieces``, with the checksum of all of them. A file that can
    seek gets its header, checksum included, once the arrays are written; anything else (a FIFO)
    gets the checksum from a first pass over ``pieces``."""
    entries = []
    offset = 0
    for name, length in zip(_names(order), lengths, strict=True):
        dtype = np.dtype(_DTYPES[name.rpartition(".")[2]])
        entries.append([name, dtype.str, length, offset])
        offset += _aligned(length * dtype.itemsize)
    header = {
        "version": VERSION,
        "order": order,
        "vocab_size": vocab_size,
        "smoothing": smoothing,
        "scores_are_probabilities": probabilities,
        "arrays": entries,
        "checksum": 0,
    }
    room = len(json.dumps({**header, "checksum": 2**32 - 1}).encode("utf-8"))
    with atomic_write(path) as out:
        if out.seekable():
            out.write(b"\0" * len(_header_bytes(header, room)))
            header["checksum"] = _write_arrays(out, entries, pieces())
            out.seek(0)
            out.write(_header_bytes(header, room))
            return
        header["checksum"] = _write_arrays(None, entries, pieces())
        out.write(_header_bytes(header, room))
        _write_arrays(out, entries, pieces())


def _write_arrays(out: BinaryIO | None, entries: list[list[Any]], pieces: Iterator[tuple[str, np.ndarray]]) -> int:
    """The CRC-32 of the arrays, each zero-padded to the alignment, written to ``out`` (None:
    only their CRC) as ``pieces`` gives them; each one checked against its entry."""
    checksum = 0
    pending = next(pieces, None)
    for name, dtype, length, _ in entries:
        written = 0
        while pending is not None and pending[0] == name:
            values = pending[1]
            if values.dtype.str != dtype:
                raise AssertionError(f"array {name}: {values.dtype.str} where the header says {dtype}")
            data = np.ascontiguousarray(values).data
            checksum = zlib.crc32(data, checksum)
            if out is not None:
                out.write(data)
            written += len(values)
            pending = next(pieces, None)
        if written != length:
            raise AssertionError(f"array {name}: {written} values where the header says {length}")
        padding = b"\0" * (-(length * np.dtype(dtype).itemsize) % _ALIGN)
        checksum = zlib.crc32(padding, checksum)
        if out is not None:
            out.write(padding)
    if pending is not None:
        raise AssertionError(f"array {pending[0]} is not where the layout has it")
    return checksum


def _header_bytes(header: dict[str, Any], json_length: int | None = None) -> bytes:
    """Magic, length, JSON and its CRC, zero-padded to where the arrays begin; the JSON padded with
    spaces to ``json_length`` bytes where given (the room a checksum of any value takes)."""
    encoded = json.dumps(header).encode("utf-8")
    if json_length is not None:
        encoded = encoded[:-1] + b" " * (json_length - len(encoded)) + b"}"
    prefix = MAGIC + _LENGTH.pack(len(encoded)) + encoded
    prefix += _CRC.pack(zlib.crc32(prefix))
    return prefix + b"\0" * (_aligned(len(prefix)) - len(prefix))


# --- reading -------------------------------------------------------------------------------------


class _Corrupt(Exception):
    """What is wrong with the file (the reader adds its name)."""


def read_binary(path: str | os.PathLike[str], *, check_later: bool = False) -> BackoffModel:
    """Open a binary model (memory-mapped), checked as the module notes say.

    The layout, the vocabulary and the arrays' lengths are checked before it returns: nothing
    can then read out of bounds. The arrays' checksum and their values are checked on a thread
    of its own (zlib and numpy let go of the GIL), which the model's
    :meth:`~BackoffModel.settle` waits for and which raises what it found. Without
    ``check_later`` this function waits; with it, the model can be put to use while it is checked,
    and whoever opens it so must call ``settle`` before anything computed from it is shown."""
    name = os.fspath(path)
    mapped = _map(name)
    check: _Check | None = None
    try:
        header, start = _read_header(mapped)
        arrays = _wrap_arrays(mapped, header, start)
        check = _Check(mapped, start, header["checksum"], arrays, header["order"], name)
        check.start()
        words, index = _vocabulary(arrays["vocab"], header["vocab_size"])
        orders = _tables(arrays, header["order"], len(words))
    except _Corrupt as exc:
        if check is not None:
            check.settle(damage_only=True)  # a damaged file is said to be damaged, whatever it broke
        raise InputError(f"not a valid textseq binary model: {exc}", source=name) from None
    except _Unsupported as exc:
        raise InputError(str(exc), source=name) from None
    model = BackoffModel(
        words=words, orders=orders, smoothing=header["smoothing"], scores_are_probabilities=header["scores_are_probabilities"]
    )
    model._index, model._pending = index, check.settle
    if not check_later:
        model.settle()
    return model


class _Check(threading.Thread):
    """The arrays' CRC-32, then their values (:func:`_check_values`), on a thread of its own."""

    def __init__(self, mapped: mmap.mmap, start: int, checksum: int, arrays: dict[str, np.ndarray], order: int, name: str) -> None:
        super().__init__(name="textseq-model-check", daemon=True)
        self._view = memoryview(mapped)[start:]
        self._checksum = checksum
        self._arrays = arrays
        self._order = order
        self._name = name
        self._problem: str | None = None
        self._damaged = False

    def run(self) -> None:
        try:
            if zlib.crc32(self._view) != self._checksum:
                self._damaged = True
                self._problem = "the arrays' checksum does not match (the file is damaged)"
            else:
                _check_values(self._arrays, self._order)
        except _Corrupt as exc:
            self._problem = str(exc)
        except Exception as exc:  # noqa: BLE001 - told in settle, on the thread that asked
            self._problem = f"checking it failed: {exc}"

    def settle(self, *, damage_only: bool = False) -> None:
        """Wait for the check; raise what it found (``damage_only``: only a checksum that does
        not match)."""
        self.join()
        self._view.release()
        if self._problem is not None and (self._damaged or not damage_only):
            raise InputError(f"not a valid textseq binary model: {self._problem}", source=self._name)


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
        if version in (1, 2):
            raise _Unsupported(
                f"binary format version {version} is no longer read; rebuild the binary model, "
                "or convert it again from its ARPA file (version 3 is smaller and opens faster)"
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
        wanted = _DTYPES[name.rpartition(".")[2]]
        if dtype != wanted:
            raise _Corrupt(f"array {name} has dtype {_shown(dtype)}, not {wanted}")
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


_SPACE_IN_A_WORD = re.compile(r"[^\S\n]")
"""Whitespace that ``str.split`` splits at (Unicode's), other than the words' separator."""


def _vocabulary(data: np.ndarray, size: int) -> tuple[list[str], dict[str, int]]:
    """The words, and each one's id."""
    try:
        text = data.tobytes().decode("utf-8")
    except UnicodeDecodeError:
        raise _Corrupt("the vocabulary is not UTF-8") from None
    words = text.split("\n")
    if len(words) != size:
        raise _Corrupt(f"the vocabulary has {len(words):,} words, the header says {size:,}")
    if tuple(words[: len(SPECIALS)]) != SPECIALS:
        raise _Corrupt(f"the vocabulary does not start with {', '.join(SPECIALS)}")
    index = dict(zip(words, range(size)))
    if len(index) != size or "" in index or _SPACE_IN_A_WORD.search(text):
        raise _Corrupt("the vocabulary has an empty word, a word with a space in it, or a word twice")
    return words, index


def _tables(arrays: dict[str, np.ndarray], order: int, vocab: int) -> list[OrderTable]:
    """The orders' tables, their lengths checked (their values are :func:`_check_values`' job)."""
    tables: list[OrderTable] = []
    for n in range(1, order + 1):
        logprob, backoff = arrays[f"{n}.logprob"], arrays[f"{n}.backoff"]
        if len(backoff) != len(logprob) or (n > 1 and len(arrays[f"{n}.keys"]) != len(logprob)):
            raise _Corrupt(f"the arrays of order {n} differ in length")
        if n == 1:
            if len(logprob) != vocab:
                raise _Corrupt("the unigrams are not one per vocabulary word")
            tables.append(OrderTable(np.full(vocab, -1), np.arange(vocab), logprob, backoff))
        else:
            tables.append(OrderTable.from_sorted_keys(arrays[f"{n}.keys"], vocab, logprob, backoff))
    return tables


def _check_values(arrays: dict[str, np.ndarray], order: int) -> None:
    """Log values in range, and per order above 1 keys strictly increasing (each n-gram once)
    from 0 to below the number of (context, word) pairs there are: every context is then a row of
    the order below and every word a word of the vocabulary."""
    vocab = len(arrays["1.logprob"])
    for n in range(1, order + 1):
        logprob, backoff = arrays[f"{n}.logprob"], arrays[f"{n}.backoff"]
        if len(logprob) and not (logprob.min() >= LOG_ZERO and logprob.max() <= 0.0):  # false for NaN too
            raise _Corrupt(f"order {n} has a log10 probability that is not a number from {LOG_ZERO:g} to 0")
        if len(backoff) and not (backoff.min() >= LOG_ZERO and np.isfinite(backoff.max())):
            raise _Corrupt(f"order {n} has a backoff that is not a finite number of at least {LOG_ZERO:g}")
        if n == 1 or not len(keys := arrays[f"{n}.keys"]):
            continue
        if int(keys[0]) < 0 or int(keys[-1]) >= len(arrays[f"{n - 1}.logprob"]) * vocab:
            raise _Corrupt(f"order {n} has an n-gram whose context is not in order {n - 1} or whose word is not in the vocabulary")
        if not (keys[1:] > keys[:-1]).all():
            raise _Corrupt(f"the n-grams of order {n} are not in strictly increasing order (an n-gram twice?)")
