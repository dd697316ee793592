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

import contextlib
import functools
import os
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterable, Sequence
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
        self._made = 0
        if not spill:
            return
        where = directory or tempfile.gettempdir()
        _check_room(where, expected_bytes)
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
        parts = iter([chunks] if isinstance(chunks, np.ndarray) else chunks)
        first = next(parts, None)
        writer = self.writer(name, np.dtype(np.int64) if first is None else first.dtype)
        if first is not None:
            writer.append(first)
        for part in parts:
            writer.append(part)
        return writer.close()

    def check_room(self, expected_bytes: int) -> None:
        """Fail with one line if the store's directory has less than ``expected_bytes`` free."""
        if self.root is not None:
            _check_room(self.root, expected_bytes)

    def remove(self, *columns: Column) -> None:
        """Delete the files of ``columns`` (spilled ones; others are left to the collector)."""
        for column in columns:
            if isinstance(column, DiskColumn) and column in self._columns:
                column.close()
                self._columns.remove(column)
                with contextlib.suppress(OSError):
                    os.unlink(column.path)

    def writer(self, name: str, dtype: np.dtype) -> ColumnWriter:
        """A column of ``dtype`` to be written a slice at a time."""
        return ColumnWriter(self, name, dtype)

    def _file(self, name: str) -> tuple[str, BinaryIO]:
        if self.root is None:
            raise AssertionError("a store in memory has no files")
        path = os.path.join(self.root, f"{name}.{self._made}")
        self._made += 1
        try:
            return path, open(path, "wb")
        except OSError as exc:
            raise _write_error(exc, self.root) from None

    def _add(self, column: DiskColumn) -> None:
        self._columns.append(column)

    def close(self) -> None:
        for column in self._columns:
            column.close()
        self._columns = []
        if self.root is not None:
            shutil.rmtree(self.root, ignore_errors=True)
            self.root = None


class ColumnWriter:
    """A column of a :class:`Store` being written: :meth:`append` its slices in order, then
    :meth:`close` gives the column."""

    def __init__(self, store: Store, name: str, dtype: np.dtype) -> None:
        self.dtype = np.dtype(dtype)
        self._store = store
        self._parts: list[np.ndarray] = []
        self._length = 0
        self._path = ""
        self._out: BinaryIO | None = None
        if store.root is not None:
            self._path, self._out = store._file(name)

    def append(self, values: np.ndarray) -> None:
        if values.dtype != self.dtype:
            raise AssertionError(f"a slice of {values.dtype} for a column of {self.dtype}")
        self._length += len(values)
        if self._out is None:
            self._parts.append(values)
            return
        try:
            self._out.write(np.ascontiguousarray(values).data)
        except OSError as exc:
            self._out.close()
            raise _write_error(exc, self._store.root) from None

    def close(self) -> Column:
        if self._out is None:
            parts, self._parts = self._parts, []
            if len(parts) == 1:
                return parts[0]
            return np.concatenate(parts) if parts else np.empty(0, dtype=self.dtype)
        try:
            self._out.close()
        except OSError as exc:
            raise _write_error(exc, self._store.root) from None
        column = DiskColumn(self._path, self.dtype, self._length)
        self._store._add(column)
        return column


def _check_room(where: str, expected_bytes: int) -> None:
    try:
        free = shutil.disk_usage(where).free
    except OSError:
        return  # a directory that cannot be measured fails where it is written
    if free < expected_bytes:
        raise OutputError(
            f"the build needs about {expected_bytes / 2**20:,.0f} MB more of temporary space and the directory has "
            f"{free / 2**20:,.0f} MB free: give -T a directory with room",
            source=where,
        )


def _write_error(exc: OSError, root: str | None) -> OutputError:
    return OutputError(f"cannot write the build's temporary data (give -T a directory with more room): {exc.strerror or exc}", source=root)


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


def resident_bytes() -> int | None:
    """The memory this process holds now (its resident set), where the system says (Linux)."""
    try:
        with open("/proc/self/statm", "rb") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return None


def release_freed_memory() -> None:
    """Give the memory freed so far back to the system where the C library keeps it (glibc's
    ``malloc_trim``): arrays of a few megabytes come from the heap, and a streamed build that
    frees one order's arrays and allocates the next's would otherwise grow by the heap's gaps."""
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        import ctypes

        return ctypes.CDLL(None).malloc_trim
    except (OSError, AttributeError):  # not glibc (musl has none)
        return None
