"""The classifier model file: a JSON header and raw arrays, read without running code and without torch.

Layout (all integers little-endian)::

    b"TEXTSEQ-CLASSIFIER\\n\\0"   20 bytes, the format mark
    header length                  8 bytes, unsigned
    header                         UTF-8 JSON: {"version": 1, "meta": {...}, "arrays": {name: {"dtype", "shape", "offset"}}}
    arrays                         each at its offset (a multiple of 64, counted from the file's start), C order

Why not ``torch.save`` as ``textseq train`` does: the linear model must load without torch (its
import alone takes longer than fastText takes to answer a test file) and its hashed n-gram table is
hundreds of megabytes, which this layout maps into memory instead of reading; and a file of JSON and
plain numbers holds no pickle, so opening one can run no code whatever it holds. A network's weights
and its optimizer's state go in as arrays all the same (see :func:`flatten`).

Every size the header declares is checked against the file's size before anything is mapped, so a
damaged or hostile file is one :class:`~textseq.errors.InputError`, never a huge allocation.
"""

from __future__ import annotations

import itertools
import json
import math
import mmap
import os
import stat
import struct
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeGuard

import numpy as np

from textseq.errors import InputError
from textseq.streams import atomic_write

MAGIC = b"TEXTSEQ-CLASSIFIER\n\0"
VERSION = 1
ALIGNMENT = 64
DTYPES = ("<f4", "<f8", "<f2", "|i1", "<i2", "<i4", "<i8", "|u1", "<u2", "<u4", "<u8", "|b1")
"""The element types an array may have: numbers only (no objects, no strings, no records)."""
MAX_DIMENSIONS = 8
_PREFIX = struct.Struct("<Q")
_MAX_SPAN = 1 << 62
"""The most bytes an array's dimensions may span with its zero dimensions taken as one: numpy
refuses to make even an empty array whose other dimensions multiply past ``2**63``."""


@dataclass(frozen=True)
class ModelFile:
    """What one file holds: ``meta`` (plain JSON values) and named arrays (read-only, mapped from
    the file where they are large)."""

    meta: dict[str, Any]
    arrays: dict[str, np.ndarray]


def _little_endian(array: np.ndarray) -> np.ndarray:
    if not array.flags.c_contiguous:  # np.ascontiguousarray would make a 0-d array 1-d
        array = np.ascontiguousarray(array)
    if array.dtype.byteorder == ">" or (array.dtype.byteorder == "=" and not np.little_endian):
        array = array.astype(array.dtype.newbyteorder("<"))
    return array


def write_model_file(path: str | os.PathLike[str], meta: Mapping[str, Any], arrays: Mapping[str, np.ndarray]) -> None:
    """Write ``meta`` and ``arrays`` to ``path`` atomically (see :func:`textseq.streams.atomic_write`).
    ``ValueError`` for meta that is not plain JSON (NaN included), a name that is not a string or
    an array of another kind than :data:`DTYPES`, all raised before ``path`` is touched."""
    prepared: dict[str, np.ndarray] = {}
    table: dict[str, dict[str, Any]] = {}
    for name, value in arrays.items():
        if not isinstance(name, str):
            raise ValueError(f"array names must be strings, not {name!r}")
        array = prepared[name] = _little_endian(np.asarray(value))
        if array.dtype.str not in DTYPES:
            raise ValueError(f"array {name!r} is of type {array.dtype}, which a model file cannot hold")
        if array.ndim > MAX_DIMENSIONS:
            raise ValueError(f"array {name!r} has {array.ndim} dimensions, more than {MAX_DIMENSIONS}")
        table[name] = {"dtype": array.dtype.str, "shape": list(array.shape), "offset": 0}
    # Offsets depend on the header's length, which depends on the offsets' digits: place the
    # arrays after a header sized with room to spare, then pad the header to that size.
    header = _encode_header(meta, table)
    start = _aligned(len(MAGIC) + _PREFIX.size + len(header) + 32 * (len(table) + 1))
    position = start
    for name, array in prepared.items():
        table[name]["offset"] = position
        position = _aligned(position + array.nbytes)
    header = _encode_header(meta, table)
    room = start - len(MAGIC) - _PREFIX.size
    if len(header) > room:  # cannot happen: the offsets' digits fit in the room left
        raise AssertionError("model file header outgrew its room")
    header += b" " * (room - len(header))
    with atomic_write(path) as handle:
        handle.write(MAGIC + _PREFIX.pack(len(header)) + header)
        written = start
        for name, array in prepared.items():
            offset = table[name]["offset"]
            handle.write(b"\0" * (offset - written))
            handle.write(array.data.cast("B") if array.nbytes else b"")
            written = offset + array.nbytes


def _encode_header(meta: Mapping[str, Any], table: Mapping[str, Any]) -> bytes:
    try:
        text = json.dumps({"version": VERSION, "meta": dict(meta), "arrays": table}, allow_nan=False, ensure_ascii=False)
    except (TypeError, ValueError) as exc:  # an object json cannot write (a set, a numpy number), NaN, a cycle
        raise ValueError(f"the model's meta is not plain JSON: {exc}") from None
    return text.encode()


def _aligned(position: int) -> int:
    return -(-position // ALIGNMENT) * ALIGNMENT


def is_model_file(path: str) -> bool:
    """Whether ``path`` starts with this format's mark."""
    try:
        with open(path, "rb") as handle:
            return handle.read(len(MAGIC)) == MAGIC
    except OSError:
        return False


def read_model_file(path: str | os.PathLike[str], *, writable: bool = False) -> ModelFile:
    """The file at ``path``; its arrays are views of a read-only memory map (copies with
    ``writable``, for training on from them). One :class:`InputError` naming ``path`` for anything
    that is not a whole, well-formed model file."""
    path = os.fspath(path)
    try:
        # O_NONBLOCK: opening a FIFO that no one writes to would wait forever; a regular file ignores it
        with open(os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0)), "rb") as handle:
            info = os.fstat(handle.fileno())
            size = info.st_size
            if stat.S_ISDIR(info.st_mode):
                raise InputError("is a directory, not a model file", source=path)
            if not stat.S_ISREG(info.st_mode):
                raise InputError("is not a regular file (a pipe or a device): a model file is mapped into memory", source=path)
            head = handle.read(len(MAGIC) + _PREFIX.size)
            if head[: len(MAGIC)] != MAGIC:
                raise InputError("not a textseq classifier (no format mark at its start)", source=path)
            if len(head) < len(MAGIC) + _PREFIX.size:
                raise InputError("the model file ends inside its header", source=path)
            (length,) = _PREFIX.unpack(head[len(MAGIC) :])
            if length > size - len(head):
                raise InputError(
                    f"the model file declares a header of {length:,} bytes but has {size - len(head):,} after the mark", source=path
                )
            header = _decode_header(handle.read(length), path)
            table = _check_table(header.get("arrays"), len(head) + length, size, path)
            mapped = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) if table and size else None
    except OSError as exc:
        if isinstance(exc, FileNotFoundError):
            raise InputError("no such file", source=path) from None
        raise InputError(f"cannot read the model file: {exc.strerror or exc}", source=path) from None
    arrays: dict[str, np.ndarray] = {}
    for name, (dtype, shape, offset) in table.items():
        count = math.prod(shape)
        if count and mapped is not None:
            array = np.frombuffer(mapped, dtype=dtype, count=count, offset=offset).reshape(shape)
        else:
            array = np.zeros(shape, dtype)
        if writable:
            array = np.array(array)
        else:
            array.flags.writeable = False
        arrays[name] = array
    return ModelFile(header["meta"], arrays)


def _decode_header(raw: bytes, path: str) -> dict[str, Any]:
    try:
        header = json.loads(raw.decode("utf-8"), parse_constant=_no_constant, parse_float=_finite)
    except (UnicodeDecodeError, json.JSONDecodeError, ValueError, RecursionError) as exc:
        raise InputError(
            f"the model file's header is damaged ({str(exc).splitlines()[0] if str(exc) else type(exc).__name__})", source=path
        ) from None
    if not isinstance(header, dict):
        raise InputError("the model file's header is not a JSON object", source=path)
    version = header.get("version")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise InputError(f"the model file's format version is {version!r}, not a whole number >= 1", source=path)
    if version > VERSION:
        raise InputError(f"model file format version {version} is newer than this textseq reads ({VERSION}): upgrade textseq", source=path)
    if not isinstance(header.get("meta"), dict):
        raise InputError("the model file's header has no 'meta' object", source=path)
    return header


def _no_constant(name: str) -> float:
    raise ValueError(f"{name} is not a JSON number")


def _finite(text: str) -> float:
    """A JSON number such as ``1e999`` is infinite to Python; the writer never makes one."""
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text[:40]} is too large a number")
    return value


def _check_table(table: object, start: int, size: int, path: str) -> dict[str, tuple[np.dtype[Any], tuple[int, ...], int]]:
    """The arrays the header describes, each checked to lie whole in the file between the header's
    end (``start``) and ``size``, none overlapping another."""
    if not isinstance(table, dict):
        raise InputError("the model file's header has no 'arrays' table", source=path)
    checked: dict[str, tuple[np.dtype[Any], tuple[int, ...], int]] = {}
    spans: list[tuple[int, int, str]] = []
    for name, entry in table.items():
        if not isinstance(entry, dict):
            raise InputError(f"array {name!r} in the model file has no description", source=path)
        dtype, shape, offset = entry.get("dtype"), entry.get("shape"), entry.get("offset")
        if not isinstance(dtype, str) or dtype not in DTYPES:
            raise InputError(f"array {name!r} in the model file has the unknown type {dtype!r}", source=path)
        kind = np.dtype(dtype)
        if not (
            isinstance(shape, list)
            and len(shape) <= MAX_DIMENSIONS
            and all(_whole(n) for n in shape)
            and math.prod(max(n, 1) for n in shape) * kind.itemsize <= _MAX_SPAN
        ):
            raise InputError(f"array {name!r} in the model file has a damaged shape {shape!r}", source=path)
        if not _whole(offset) or offset % ALIGNMENT or offset < start:
            raise InputError(f"array {name!r} in the model file has a damaged offset {offset!r}", source=path)
        nbytes = math.prod(shape) * kind.itemsize
        if offset + nbytes > size:
            raise InputError(f"array {name!r} lies past the end of the model file (the file is cut short or damaged)", source=path)
        checked[name] = (kind, tuple(shape), offset)
        if nbytes:
            spans.append((offset, offset + nbytes, name))
    spans.sort()
    for (_, end, first), (begin, _, second) in itertools.pairwise(spans):
        if begin < end:
            raise InputError(f"arrays {first!r} and {second!r} in the model file overlap", source=path)
    return checked


def _whole(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 1 << 62


def flatten(tree: object, prefix: str, arrays: dict[str, np.ndarray]) -> object:
    """``tree`` (dicts with string or integer keys, lists, numbers, strings, None and arrays) as
    plain JSON, each array moved into ``arrays`` under ``prefix/path`` and replaced by
    ``{"array": name}``. torch tensors are arrays here too (made numpy on the CPU, bfloat16 as
    float32), so a network's state dict and its optimizer's state go into a model file as they
    are; :func:`unflatten` undoes it. ``ValueError`` for anything else, and for two arrays that
    would get one name (keys ``"a/b"`` and ``"a"`` then ``"b"``)."""
    if isinstance(tree, np.ndarray) or _is_tensor(tree):
        if prefix in arrays:
            raise ValueError(f"{prefix}: two arrays would be stored under this name")
        arrays[prefix] = _as_numpy(tree, prefix)
        return {"array": prefix}
    if isinstance(tree, Mapping):
        if not all(isinstance(key, (str, int)) for key in tree):
            raise ValueError(f"{prefix}: only string and integer keys can be stored")
        return {"dict": [[key, flatten(value, f"{prefix}/{key}", arrays)] for key, value in tree.items()]}
    if isinstance(tree, (list, tuple)):
        if all(type(value) is str for value in tree):  # a vocabulary: no need to visit each word
            return {"list": list(tree)}
        return {"list": [flatten(value, f"{prefix}/{i}", arrays) for i, value in enumerate(tree)]}
    if tree is None or isinstance(tree, (bool, int, str)):
        return tree
    if isinstance(tree, float):
        return {"float": repr(tree)} if not math.isfinite(tree) else tree
    raise ValueError(f"{prefix}: a {type(tree).__name__} cannot be stored in a model file")


def unflatten(tree: object, arrays: Mapping[str, np.ndarray], source: str) -> object:
    """The tree :func:`flatten` stored (numpy arrays in place of tensors); :class:`InputError`
    naming ``source`` where the stored tree is damaged."""
    try:
        return _unflatten(tree, arrays, source)
    except RecursionError:  # json reads deeper nesting than Python's recursion limit allows here
        raise InputError("the model file holds a tree nested too deep", source=source) from None


def _unflatten(tree: object, arrays: Mapping[str, np.ndarray], source: str) -> object:
    if isinstance(tree, dict):
        if set(tree) == {"array"}:
            name = tree["array"]
            if not isinstance(name, str) or name not in arrays:
                raise InputError(f"the model file refers to an array it does not hold ({name!r})", source=source)
            return arrays[name]
        if set(tree) == {"dict"} and isinstance(tree["dict"], list):
            items = tree["dict"]
            if not all(isinstance(item, list) and len(item) == 2 and isinstance(item[0], (str, int)) for item in items):
                raise InputError("the model file holds a damaged table", source=source)
            return {key: _unflatten(value, arrays, source) for key, value in items}
        if set(tree) == {"list"} and isinstance(tree["list"], list):
            if all(type(value) is str for value in tree["list"]):
                return list(tree["list"])
            return [_unflatten(value, arrays, source) for value in tree["list"]]
        if set(tree) == {"float"} and tree["float"] in ("inf", "-inf", "nan"):
            return float(tree["float"])
        raise InputError("the model file holds a damaged entry", source=source)
    if tree is None or isinstance(tree, (bool, int, float, str)):
        return tree
    raise InputError("the model file holds a damaged entry", source=source)


def _is_tensor(value: object) -> bool:
    return type(value).__module__.startswith("torch") and hasattr(value, "detach")


def _as_numpy(value: Any, name: str) -> np.ndarray:
    if isinstance(value, np.ndarray):
        return value
    tensor = value.detach().cpu()
    if str(tensor.dtype) == "torch.bfloat16":
        tensor = tensor.float()
    try:
        return np.asarray(tensor.numpy())
    except TypeError as exc:  # a type numpy lacks (float8, quantized)
        raise ValueError(f"{name}: a tensor of type {tensor.dtype} cannot be stored in a model file ({exc})") from None
