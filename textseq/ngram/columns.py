"""Where a bounded-memory build keeps its per-order arrays: in memory, or spilled to files in a
temporary directory and read back a slice at a time.

A :class:`Store` hands out columns: a numpy array where everything is in memory, a
:class:`DiskColumn` where the build spills. Both are read by slicing (``column[start:stop]``
gives an array), so the code that streams over n-grams a chunk at a time is the same for both.
Reading a slice of a spilled column is a ``read`` of its bytes, not a mapping: what has been read
and dropped leaves the process's memory, and only the page cache (which the system reclaims)
keeps it.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterable, Sequence
from types import TracebackType
from typing import BinaryIO, Protocol

import numpy as np

from textseq.errors import OutputError


class DiskColumn:
    """A one-dimensional array in a file of its own, read back a slice at a time."""

    def __init__(self, path: str, dtype: np.dtype, length: int) -> None:
        self.path = path
        self.dtype = dtype
        self.length = length
        self._file: BinaryIO | None = None

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, rows: slice) -> np.ndarray:
        start, stop, step = rows.indices(self.length)
        if step != 1:
            raise IndexError("a spilled column is read in slices of consecutive rows")
        count = max(0, stop - start)
        if self._file is None:
            self._file = open(self.path, "rb")  # noqa: SIM115 - held for the column's reads, closed by close()
        self._file.seek(start * self.dtype.itemsize)
        values = np.fromfile(self._file, dtype=self.dtype, count=count)
        if len(values) != count:
            raise OutputError(f"{self.path} was cut short while in use (read {len(values):,} of {count:,} values)")
        return values

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


Column = np.ndarray | DiskColumn
"""What a :class:`Store` hands out: read by slicing, whole with ``column[:]``."""


class Store:
    """Columns of the build in progress: held in memory, or with ``spill`` each written to a
    file in a fresh temporary directory under ``directory`` (the system's if None) that
    :meth:`close` removes. ``expected_bytes``, what the build will write there, is checked
    against the room the directory has before anything is written."""

    def __init__(self, directory: str | None = None, *, spill: bool = False, expected_bytes: int = 0) -> None:
        self.root: str | None = None
        self._columns: list[DiskColumn] = []
        if not spill:
            return
        where = directory or tempfile.gettempdir()
        try:
            free = shutil.disk_usage(where).free
        except OSError:
            free = None  # a directory that cannot be measured fails below, where it is made
        if free is not None and free < expected_bytes:
            raise OutputError(
                f"the build needs about {expected_bytes / 2**20:,.0f} MB of temporary space and the directory has "
                f"{free / 2**20:,.0f} MB free: give -T a directory with room",
                source=where,
            )
        try:
            self.root = tempfile.mkdtemp(prefix="textseq-build-", dir=directory)
        except OSError as exc:
            raise OutputError(f"cannot make a temporary directory for the build: {exc.strerror or exc}", source=where) from None

    def __enter__(self) -> Store:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None) -> None:
        self.close()

    def put(self, name: str, chunks: Iterable[np.ndarray] | np.ndarray) -> Column:
        """The column of ``chunks`` (arrays of one dtype, in order; or one array)."""
        parts = [chunks] if isinstance(chunks, np.ndarray) else chunks
        if self.root is None:
            arrays = list(parts)
            return arrays[0] if len(arrays) == 1 else np.concatenate(arrays)
        path = os.path.join(self.root, f"{name}.{len(self._columns)}")
        dtype: np.dtype | None = None
        length = 0
        try:
            with open(path, "wb") as out:
                for part in parts:
                    if dtype is None:
                        dtype = part.dtype
                    elif part.dtype != dtype:
                        raise AssertionError(f"column {name}: chunks of {dtype} and {part.dtype}")
                    out.write(np.ascontiguousarray(part).data)
                    length += len(part)
        except OSError as exc:
            raise OutputError(
                f"cannot write the build's temporary data (give -T a directory with more room): {exc.strerror or exc}", source=self.root
            ) from None
        column = DiskColumn(path, dtype if dtype is not None else np.dtype(np.int64), length)
        self._columns.append(column)
        return column

    def close(self) -> None:
        for column in self._columns:
            column.close()
        self._columns = []
        if self.root is not None:
            shutil.rmtree(self.root, ignore_errors=True)
            self.root = None


def whole(column: Column) -> np.ndarray:
    """All of ``column`` as an array (a spilled one read into memory)."""
    return column if isinstance(column, np.ndarray) else column[:]


class Linked(Protocol):
    """An order's n-grams as rows linked to the order below: each one's context row there and
    its last word (unigram rows are word ids)."""

    @property
    def context(self) -> Column: ...
    @property
    def word(self) -> Column: ...


def chain_words(orders: Sequence[Linked], n: int, start: int, stop: int) -> np.ndarray:
    """The word ids of rows ``start`` to ``stop`` of order ``n``, a row each, first word first,
    followed down the context links. Rows sorted by context (as counting and every reader lay them
    out) have contexts in a short run of rows of the order below, and only that run is read."""
    words = np.empty((stop - start, n), dtype=np.int32)
    words[:, n - 1] = orders[n - 1].word[start:stop]
    if n == 1 or stop == start:
        return words
    rows = orders[n - 1].context[start:stop]
    for k in range(n - 1, 1, -1):
        low, high = int(rows.min()), int(rows.max()) + 1
        local = rows - low
        words[:, k - 1] = orders[k - 1].word[low:high][local]
        rows = orders[k - 1].context[low:high][local]
    words[:, 0] = rows
    return words
