"""ARPA files: writing what KenLM's strict reader accepts, reading KenLM's and SRILM's.

Reading accepts ``-99`` (and ``-inf``, and anything lower) for log 0, n-grams in any order
within a section, a missing backoff (0), and text before ``\\data\\``. It refuses, naming the
line, what would give wrong numbers: a log10 probability that is NaN or positive (a probability
above 1; up to ``ROUNDING`` above 0 is taken as rounding of a probability of 1 and read as 0,
where KenLM refuses every positive value), a backoff that is NaN or +inf, an n-gram given twice,
a word that is no unigram, an n-gram without its context, a model without ``<s>`` or ``</s>``
(KenLM refuses those too), counts the file cannot hold, orders above ``MAX_ORDER``, and text after
``\\end\\``.

Two readers share the work: a fast one that splits the file's bytes a large chunk of a section at
a time, for files laid out as KenLM and SRILM write them, and a careful one, line by line over the
decoded text, for any other layout and to name the line of whatever the fast one finds wrong.
Both accept exactly the same files.
"""

from __future__ import annotations

import math
import mmap
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from itertools import repeat
from typing import Protocol, TextIO

import numpy as np

from textseq.errors import InputError
from textseq.forked import idle_workers, shared, task_map
from textseq.ngram.columns import chain_words
from textseq.ngram.corpus import SPECIALS
from textseq.ngram.kneser_ney import LOG_ZERO
from textseq.ngram.model import BackoffModel, OrderTable
from textseq.ngram.smoothers import MAX_ORDER

_COUNT_LINE = re.compile(r"ngram\s+(\d+)\s*=\s*(\d+)\s*$")
_SECTION = re.compile(r"\\(\d+)-grams:\s*$")
_ROWS_PER_CHUNK = 200_000
_BYTES_PER_CHUNK = 1 << 24
"""The fast reader splits a section about this many bytes (a few hundred thousand lines) at a time."""
_FORK_AT_BYTES = 1 << 26
"""Sections beyond this many bytes in all are read by forked workers where cores are idle."""
_FORK_AT_ROWS = 1 << 21
"""A model of more n-grams than this is formatted by forked workers where cores are idle."""
_SCORES_NOTE = "scores, not probabilities: they do not sum to 1"
_SMOOTHING = re.compile(r"^#\s*smoothing:\s*(\S+)", re.MULTILINE)
_REQUIRED = ("<s>", "</s>")
ROUNDING = 1e-6
"""The largest positive log10 probability read as rounding of 0 (about 4 units in float32's last
place); above it a probability exceeds 1 and the file is refused."""


FileBytes = bytes | mmap.mmap
"""An ARPA file's bytes: read, or a plain file mapped (sliced, each slice a bytes object)."""


class TextSink(Protocol):
    """Where ARPA text goes: a text stream, or textseq's output streams."""

    def write(self, text: str, /) -> object: ...


RowChunk = tuple[np.ndarray, np.ndarray, np.ndarray | None]
"""Rows of an order to write: their words (a row of word ids each), log10 probabilities, and log10
backoffs (None at the highest order)."""


def write_arpa(model: BackoffModel, out: TextSink, *, comment: str | None = None) -> None:
    """Write ``model`` in ARPA format (numbers with 7 significant digits, as KenLM writes them)."""
    write_arpa_rows(
        out,
        model.words,
        [len(table) for table in model.orders],
        _model_rows(model),
        smoothing=model.smoothing,
        probabilities=model.scores_are_probabilities,
        comment=comment,
    )


def _model_rows(model: BackoffModel) -> Iterator[tuple[int, Iterator[RowChunk]]]:
    for n, table in enumerate(model.orders, start=1):
        yield (
            n,
            (
                (
                    chain_words(model.orders, n, start, stop),
                    table.logprob[start:stop],
                    table.backoff[start:stop] if n < model.order else None,
                )
                for start in range(0, len(table), _ROWS_PER_CHUNK)
                for stop in (min(start + _ROWS_PER_CHUNK, len(table)),)
            ),
        )


def write_arpa_rows(
    out: TextSink,
    words: Sequence[str],
    sizes: Sequence[int],
    orders: Iterable[tuple[int, Iterable[RowChunk]]],
    *,
    smoothing: str | None,
    probabilities: bool = True,
    comment: str | None = None,
) -> None:
    """Write a model given an order at a time, each order's rows a chunk at a time (``sizes``:
    how many rows each order has), in ARPA format: what :func:`write_arpa` and a build that never
    holds its model whole (:mod:`textseq.ngram.streamed`) both write.

    Rows are formatted a chunk at a time with one ``%`` over a tuple, and n-gram strings are
    joined with ``map``: the per-row Python work stays small. In a big model the chunks are
    formatted by forked workers on the idle cores (:mod:`textseq.forked`) while this process
    makes the next ones and writes them out in order."""
    lines = comment.splitlines() if comment else []
    if smoothing:
        lines.append(f"smoothing: {smoothing}")
    if not probabilities:
        lines.append(_SCORES_NOTE)
    if lines:
        out.write("".join(f"# {line}\n" for line in lines) + "\n")
    out.write("\\data\\\n")
    out.write("".join(f"ngram {n}={size}\n" for n, size in enumerate(sizes, start=1)))
    out.write("\n")
    workers = idle_workers() if sum(sizes) > _FORK_AT_ROWS else 1
    with task_map(workers, np.array(words, dtype=object)) as run:
        for n, chunks in orders:
            out.write(f"\\{n}-grams:\n")
            written = [0]
            for text in run(_format_rows, _pieces(chunks, written)):
                out.write(text)
            out.write("\n")
            if written[0] != sizes[n - 1]:
                raise AssertionError(f"{written[0]} {n}-grams written where the header says {sizes[n - 1]}")
    out.write("\\end\\\n")


def _pieces(chunks: Iterable[RowChunk], rows: list[int]) -> Iterator[RowChunk]:
    """``chunks`` cut to at most ``_ROWS_PER_CHUNK`` rows each (``rows[0]`` counts them)."""
    for grams, logprob, backoff in chunks:
        rows[0] += len(logprob)
        for start in range(0, len(logprob), _ROWS_PER_CHUNK):
            stop = start + _ROWS_PER_CHUNK
            yield grams[start:stop], logprob[start:stop], None if backoff is None else backoff[start:stop]


def _format_rows(rows: RowChunk) -> str:
    """The ARPA lines of ``rows`` (the vocabulary is :func:`~textseq.forked.shared`)."""
    grams, logprob, backoff = rows
    words = shared()
    columns = [words[grams[:, column]].tolist() for column in range(grams.shape[1])]
    joined = columns[0] if len(columns) == 1 else list(map(" ".join, zip(*columns)))
    width = 2 if backoff is None else 3
    values: list[object] = [None] * (width * len(logprob))
    values[0::width] = logprob.tolist()
    values[1::width] = joined
    if backoff is not None:
        values[2::width] = backoff.tolist()
    return (("%.7g\t%s\n" if backoff is None else "%.7g\t%s\t%.7g\n") * len(logprob)) % tuple(values)


@dataclass
class Section:
    """One order of an ARPA file as read: the words as columns, log10 probabilities and backoffs
    (validated, log 0 as -99), and where each row was."""

    order: int
    columns: list[list[str]]
    logprob: np.ndarray
    backoff: np.ndarray
    line: int = 0
    """Line of its ``\\N-grams:`` marker (0 from the fast reader)."""
    lines: np.ndarray | None = None
    """Line of each row, from the careful reader; None from the fast one."""


class _Irregular(Exception):
    """The fast reader met something it does not handle, or something wrong; the careful reader
    will read it, or name the line of what is wrong."""


def read_arpa(handle: TextIO, source: str = "<arpa>") -> BackoffModel:
    """Parse an ARPA file into a :class:`BackoffModel`."""
    text = handle.read()
    return parse_arpa(text.encode("utf-8", "surrogatepass"), source, lambda: text)


def parse_arpa(data: FileBytes, source: str, text: Callable[[], str]) -> BackoffModel:
    """Parse the bytes of an ARPA file (or its mapping) into a :class:`BackoffModel`: the fast
    reader works on the bytes themselves; where it meets anything irregular, the careful reader
    reads ``text()``, the file decoded (which raises what is wrong with its encoding)."""
    try:
        model = _read_model_fast(data, source)
    except _Irregular:
        model = _model_from_sections(_read_sections_by_line(text(), source), source)
    preamble = data[: data.find(b"\\data\\")].decode("utf-8", "replace")
    smoothing = _SMOOTHING.search(preamble)
    model.smoothing = smoothing.group(1) if smoothing else ""
    model.scores_are_probabilities = _SCORES_NOTE not in preamble
    return model


# --- the fast reader ---------------------------------------------------------------------------


def _read_model_fast(data: FileBytes, source: str) -> BackoffModel:
    """A chunk of a section at a time, for the layout KenLM and SRILM write: comments before
    ``\\data\\``, one blank line or none between the parts, no blank line inside a section.

    It reads bytes, not text: a file of a gigabyte with one character beyond the BMP is 4 GB as a
    str, and decoding it takes longer than reading it. Only the header and the unigrams are
    decoded; a word of a higher order is read as the bytes of a unigram or not at all (then the
    careful reader takes over), so the file accepted is valid UTF-8 wherever it has words. Each
    section is split :data:`_BYTES_PER_CHUNK` bytes at a time, each chunk's words turned into
    ids and its numbers into arrays: by forked workers in a big file where cores are idle
    (:mod:`textseq.forked`), while this process links each order's n-grams to their contexts."""
    declared, position = _fast_header(data)
    begin = _after_marker(data, position, b"\\1-grams:\n")
    end = _section_end(data, begin)
    if end < 0:
        raise _Irregular
    body = data[begin:end] if end > begin else b""
    if body and not body.endswith(b"\n"):
        body += b"\n"
    if body.count(b"\n") != declared[0] or b"\n\n" in body:
        raise _Irregular
    unigrams = _unigram_section(body, declared[0], len(declared) == 1)
    model, words = _unigram_model(unigrams, source)
    sections = []
    position = end
    for n, count in enumerate(declared[1:], start=2):
        begin = _after_marker(data, position, b"\\%d-grams:\n" % n)
        position = _section_end(data, begin)
        if position < 0:
            raise _Irregular
        sections.append((n, count, _section_tasks(data, begin, position, n, n == len(declared))))
    workers = idle_workers() if len(data) - end > _FORK_AT_BYTES else 1
    with task_map(workers, (data, {word.encode("utf-8"): i for word, i in words.items()})) as run:
        parts = run(_parse_chunk, [task for _, _, tasks in sections for task in tasks])
        for n, count, tasks in sections:
            ids, logprob, backoff = _joined([next(parts) for _ in tasks], n, count)
            model.orders.append(_order_from_ids(model, n, ids, logprob, backoff, n == len(declared), None, source))
    if data[position:].strip() != b"\\end\\":
        raise _Irregular
    _check_specials(unigrams, source)
    return model


def _section_end(data: FileBytes, begin: int) -> int:
    """Where the line that begins with a backslash (the next marker) after ``begin - 1`` starts,
    less one (at its newline); -1 where there is none. A one-byte search runs at memory speed, a
    two-byte one at a tenth of it; a backslash inside a word costs one more search."""
    at = begin
    while True:
        at = data.find(b"\\", at)
        if at < 0:
            return -1
        if data[at - 1 : at] == b"\n":
            return at - 1
        at += 1


def _fast_header(data: FileBytes) -> tuple[list[int], int]:
    """(the counts ``\\data\\`` declares, where it ends) for the fast reader's layout."""
    start = data.find(b"\\data\\\n")
    if start < 0 or (start > 0 and data[start - 1 : start] != b"\n"):
        raise _Irregular
    header_end = data.find(b"\n\n", start)
    if header_end < 0:
        raise _Irregular
    try:
        preamble, header = data[:start].decode("utf-8"), data[start:header_end].decode("ascii")
    except UnicodeDecodeError:
        raise _Irregular from None
    if not all(line.startswith("#") or not line.strip() for line in preamble.split("\n")):
        raise _Irregular
    declared: list[int] = []
    for line in header.split("\n")[1:]:
        match = _COUNT_LINE.match(line.strip())
        if not match or _number(match.group(1)) != len(declared) + 1 or len(declared) == MAX_ORDER:
            raise _Irregular
        declared.append(_number(match.group(2)))
    if not declared:
        raise _Irregular
    return declared, header_end  # at a newline


def _unigram_section(body: bytes, count: int, top: bool) -> Section:
    """The unigrams of ``body``, their words decoded: each must be one word as str.split sees it
    (bytes split at ASCII whitespace only), as the careful reader reads it."""
    columns, logprob, backoff = _parse_body(body, 1, count, top)
    try:
        words = [word.decode("utf-8") for word in columns[0]]
    except UnicodeDecodeError:
        raise _Irregular from None
    if len(" ".join(words).split()) != len(words):
        raise _Irregular
    return Section(1, [words], logprob, backoff)


def _section_tasks(data: FileBytes, begin: int, end: int, n: int, top: bool) -> list[tuple[int, bool, int, int, bool]]:
    """The tasks of :func:`_parse_chunk` that read the order ``n`` section lying in
    ``data[begin:end]`` (``end`` at its last newline or where it ends), a chunk of lines each."""
    tasks = []
    at = begin
    while at < end:
        cut = data.find(b"\n", min(end, at + _BYTES_PER_CHUNK))
        cut = end if cut < 0 or cut >= end else cut
        tasks.append((n, top, at, cut, cut == end))
        at = cut + 1
    return tasks


def _joined(
    parts: list[tuple[list[np.ndarray], np.ndarray, np.ndarray] | None], n: int, count: int
) -> tuple[list[np.ndarray], np.ndarray, np.ndarray]:
    """(word ids by column, log10 probabilities, backoffs) of a section from its chunks' parts."""
    if any(part is None for part in parts) or sum(len(part[1]) for part in parts if part is not None) != count:
        raise _Irregular
    done = [part for part in parts if part is not None]
    if not done:
        return [np.zeros(0, dtype=np.int32) for _ in range(n)], np.zeros(0), np.zeros(0)
    return (
        [np.concatenate([part[0][k] for part in done]) for k in range(n)],
        np.concatenate([p[1] for p in done]),
        np.concatenate([p[2] for p in done]),
    )


def _parse_chunk(task: tuple[int, bool, int, int, bool]) -> tuple[list[np.ndarray], np.ndarray, np.ndarray] | None:
    """One task of :func:`_section_tasks`: the lines of ``data[at:cut]`` (the file's bytes and
    the unigrams' ids are :func:`~textseq.forked.shared`); None where they are not in the fast
    reader's layout."""
    n, top, at, cut, last = task
    data, index = shared()
    chunk = data[at:cut]
    if not last or not chunk.endswith(b"\n"):  # the last may end with the blank line before the next marker
        chunk += b"\n"
    lines = chunk.count(b"\n")
    if b"\n\n" in chunk:
        return None
    try:
        columns, logprob, backoff = _parse_body(chunk, n, lines, top)
        ids = [np.fromiter(map(index.__getitem__, column), dtype=np.int32, count=lines) for column in columns]
    except (_Irregular, KeyError):  # KeyError: a word that is no unigram's
        return None
    return ids, logprob, backoff


def _number(digits: str) -> int:
    """The whole number ``digits`` spell, or one larger than any file can hold: ``int`` refuses
    numbers of more than 4,300 digits."""
    return int(digits) if len(digits) <= 18 else 10**18


def _after_marker(data: FileBytes, position: int, marker: bytes) -> int:
    """Where the section ``marker`` that follows the newline(s) at ``position`` ends."""
    at = position
    while data[at : at + 1] == b"\n":
        at += 1
    if data[at : at + len(marker)] != marker:
        raise _Irregular
    return at + len(marker)


def _parse_body(body: bytes, n: int, count: int, top: bool) -> tuple[list[list[bytes]], np.ndarray, np.ndarray]:
    """(the words by column, log10 probabilities, backoffs) of the ``count`` lines of ``body``,
    every one with the same number of fields: a marker field put at each line end must land
    after every line's last field."""
    if count == 0:
        return [[] for _ in range(n)], np.zeros(0), np.zeros(0)
    if b"\r" in body or b"\0" in body:
        raise _Irregular
    width = len(body[: body.find(b"\n")].split())
    if width not in (n + 1, n + 2) or (top and width != n + 1):
        raise _Irregular
    fields = body.replace(b"\n", b"\t\0\n").split()
    stride = width + 1
    if len(fields) != stride * count or fields[width::stride].count(b"\0") != count:
        raise _Irregular
    try:
        logprob = np.array(fields[0::stride], dtype=np.float64)
        backoff = np.array(fields[width - 1 :: stride], dtype=np.float64) if width == n + 2 else np.zeros(count)
    except ValueError:
        raise _Irregular from None
    if np.isnan(logprob).any() or (logprob > ROUNDING).any() or np.isnan(backoff).any() or np.isposinf(backoff).any():
        raise _Irregular
    return [fields[1 + k :: stride] for k in range(n)], np.clip(logprob, LOG_ZERO, 0.0), np.maximum(backoff, LOG_ZERO)


# --- the careful reader ------------------------------------------------------------------------


class _BadLine(Exception):
    """What is wrong with one line (the reader adds where)."""


def _lines(text: str) -> Iterator[tuple[int, str]]:
    for number, line in enumerate(text.split("\n"), start=1):
        yield number, line.rstrip("\r")


def _read_counts(lines: Iterator[tuple[int, str]], source: str, total_lines: int) -> tuple[list[int], int]:
    """The counts the ``\\data\\`` section declares for orders 1..N, checked against what a file
    of ``total_lines`` lines can hold before anything is allocated; and the line it ends on."""
    declared: dict[int, int] = {}
    number = next((n for n, line in lines if line.strip() == "\\data\\"), None)
    if number is None:
        raise InputError("not an ARPA file: no \\data\\ line", source=source)
    for number, line in lines:
        stripped = line.strip()
        if not stripped:
            if declared:
                break
            continue
        match = _COUNT_LINE.match(stripped)
        if not match:
            raise InputError(f"expected 'ngram N=COUNT', got {stripped[:60]!r}", source=source, line=number)
        order, count = _number(match.group(1)), _number(match.group(2))
        if not 1 <= order <= MAX_ORDER:
            raise InputError(f"order {match.group(1)[:20]}: textseq reads orders 1 to {MAX_ORDER}", source=source, line=number)
        if order in declared:
            raise InputError(f"the count of {order}-grams is given twice", source=source, line=number)
        if count > total_lines:
            shown = f"{count:,}" if len(match.group(2)) <= 18 else f"{match.group(2)[:20]}..."
            raise InputError(
                f"{shown} {order}-grams declared, more than the file's {total_lines:,} lines can hold", source=source, line=number
            )
        declared[order] = count
    order = max(declared) if declared else 0
    if order < 1 or sorted(declared) != list(range(1, order + 1)):
        raise InputError("the \\data\\ section must declare orders 1..N", source=source, line=number)
    if sum(declared.values()) > total_lines:
        raise InputError(
            f"{sum(declared.values()):,} n-grams declared, more than the file's {total_lines:,} lines can hold", source=source, line=number
        )
    return [declared[n] for n in range(1, order + 1)], number


def _read_sections_by_line(text: str, source: str) -> list[Section]:
    """The careful reader: any layout ARPA allows, and the line of anything malformed."""
    lines = _lines(text)
    declared, number = _read_counts(lines, source, text.count("\n") + 1)
    order = len(declared)
    sections: list[Section] = []
    current: _OpenSection | None = None
    ended = False
    for number, line in lines:
        stripped = line.strip()
        if not stripped:
            continue
        marker = _SECTION.match(stripped)
        if marker or stripped == "\\end\\":
            if current is not None:
                sections.append(current.close(declared[current.order - 1], source, number))
            if not marker:
                ended = True
                break
            current = _OpenSection.start(marker.group(1), len(sections), order, source, number)
            continue
        if current is None:
            raise InputError(f"n-gram line outside a section: {stripped[:60]!r}", source=source, line=number)
        current.add(stripped, declared[current.order - 1], order, source, number)
    _check_end(lines, ended, len(sections), order, source, number)
    return sections


class _OpenSection:
    """The section the careful reader is in: its order, the line of its marker and its rows so far."""

    def __init__(self, order: int, marker_line: int) -> None:
        self.order = order
        self.marker_line = marker_line
        self.columns: list[list[str]] = [[] for _ in range(order)]
        self.probs: list[float] = []
        self.backoffs: list[float] = []
        self.rows_at: list[int] = []

    @classmethod
    def start(cls, digits: str, finished: int, top: int, source: str, number: int) -> _OpenSection:
        """The section a ``\\N-grams:`` marker on line ``number`` opens, after ``finished``
        sections of a file of orders 1..``top``: the next order or an error."""
        order = _number(digits)
        if order != finished + 1 or order > top:
            raise InputError(f"unexpected section \\{digits[:20]}-grams:", source=source, line=number)
        return cls(order, number)

    def add(self, stripped: str, declared: int, top: int, source: str, number: int) -> None:
        """Line ``number`` (``stripped``), one row of a section the header says has ``declared``."""
        if len(self.probs) == declared:
            raise InputError(f"\\{self.order}-grams: has more entries than the header's {declared}", source=source, line=number)
        try:
            prob, words, backoff = _parse_line(stripped.split(), self.order, top=self.order == top)
        except _BadLine as exc:
            raise InputError(str(exc), source=source, line=number) from None
        self.probs.append(prob)
        self.backoffs.append(backoff)
        self.rows_at.append(number)
        for k in range(self.order):
            self.columns[k].append(words[k])

    def close(self, declared: int, source: str, number: int) -> Section:
        """The section read, ended by what is on line ``number``; it must have ``declared`` rows."""
        if len(self.probs) != declared:
            raise InputError(f"\\{self.order}-grams: has {len(self.probs)} entries, the header says {declared}", source=source, line=number)
        return Section(
            self.order,
            self.columns,
            np.array(self.probs, dtype=np.float64),
            np.array(self.backoffs, dtype=np.float64),
            self.marker_line,
            np.array(self.rows_at, dtype=np.int64),
        )


def _check_end(lines: Iterator[tuple[int, str]], ended: bool, sections: int, order: int, source: str, number: int) -> None:
    """That the file reached ``\\end\\`` (``ended``) after its ``order`` sections, and has only blank
    lines after it; ``number`` is the line the sections ended on."""
    if not ended:
        raise InputError("the file ends before \\end\\", source=source, line=number)
    if sections != order:
        raise InputError(f"the header declares {order} orders, the file has {sections}", source=source, line=number)
    for number, line in lines:
        if line.strip():
            raise InputError(f"text after \\end\\: {line.strip()[:60]!r}", source=source, line=number)


def _parse_line(fields: list[str], n: int, top: bool) -> tuple[float, list[str], float]:
    """(log10 probability, words, log10 backoff) of one line of the ``n``-grams; the backoff of
    the highest order is 0 whatever the line says."""
    if not fields:
        raise _BadLine(f"expected a log probability, {_words(n)} and maybe a backoff, got an empty line")
    prob = _logprob(fields[0])
    backoff = _backoff_or_none(fields[-1]) if len(fields) == n + 2 else None
    words = len(fields) - 1 if backoff is None else n
    if words != n:
        raise _BadLine(f"expected a log probability, {_words(n)} and maybe a backoff, got {_words(words)}: {' '.join(fields)[:60]!r}")
    return prob, fields[1 : 1 + n], 0.0 if top or backoff is None else backoff


def _words(count: int) -> str:
    return f"{count} word" if count == 1 else f"{count} words"


def _logprob(field: str) -> float:
    try:
        value = float(field)
    except ValueError:
        raise _BadLine(f"not a number: {field[:30]!r}, where the line's log10 probability should be") from None
    if math.isnan(value):
        raise _BadLine("the log probability is NaN")
    if value > ROUNDING:
        raise _BadLine(f"the log10 probability {field[:30]} is positive: a probability above 1")
    return min(max(value, LOG_ZERO), 0.0)


def _backoff_or_none(field: str) -> float | None:
    """The backoff ``field`` holds, or None when it is no number (then it is a word too many)."""
    try:
        value = float(field)
    except ValueError:
        return None
    if math.isnan(value) or value == math.inf:
        raise _BadLine(f"the backoff {field[:30]} is not a finite number")
    return max(value, LOG_ZERO)


# --- the model -----------------------------------------------------------------------------------


def _fail(section: Section, row: int | None, message: str, source: str) -> None:
    """Report what is wrong at ``row`` of ``section`` (None: the section) with its line; from the
    fast reader, which knows no lines, leave it to the careful reader."""
    if section.lines is None:
        raise _Irregular
    line = section.line if row is None else int(section.lines[row])
    raise InputError(message, source=source, line=line)


def _vocabulary(unigrams: Section, source: str) -> dict[str, int]:
    """Word ids: the specials first (KenLM's numbering), then the unigrams in file order."""
    words = unigrams.columns[0]
    present = set(words)
    if len(present) != len(words):
        first: dict[str, int] = {}
        for row, word in enumerate(words):
            if word in first:
                where = f" (also on line {int(unigrams.lines[first[word]])})" if unigrams.lines is not None else ""
                _fail(unigrams, row, f"the unigram {word[:60]!r} is given twice{where}", source)
            first[word] = row
    index: dict[str, int] = {}
    for special in SPECIALS:
        index.setdefault(special, len(index))
    for word in words:
        index.setdefault(word, len(index))
    return index


def _gram(section: Section, row: int) -> str:
    return " ".join(column[row] for column in section.columns)


def _model_from_sections(sections: list[Section], source: str) -> BackoffModel:
    model, index = _unigram_model(sections[0], source)
    for section in sections[1:]:
        model.orders.append(_order_table(model, section, index, top=section.order == len(sections), source=source))
    _check_specials(sections[0], source)
    return model


def _check_specials(unigrams: Section, source: str) -> None:
    """That the model has ``<s>`` and ``</s>``, as every ARPA model needs (KenLM refuses it too)."""
    present = set(unigrams.columns[0])
    for special in _REQUIRED:
        if special not in present:
            _fail(unigrams, None, f"the model has no {special} unigram (every ARPA model needs <s> and </s>)", source)


def _unigram_model(unigrams: Section, source: str) -> tuple[BackoffModel, dict[str, int]]:
    """The model of the unigrams, and the word ids."""
    index = _vocabulary(unigrams, source)
    words = [""] * len(index)
    for word, i in index.items():
        words[i] = word
    vocab = len(words)
    unigram_prob = np.full(vocab, LOG_ZERO)
    unigram_backoff = np.zeros(vocab)
    rows = np.fromiter(map(index.__getitem__, unigrams.columns[0]), dtype=np.int64, count=len(unigrams.logprob))
    unigram_prob[rows] = unigrams.logprob
    unigram_backoff[rows] = unigrams.backoff
    return BackoffModel(words=words, orders=[OrderTable(np.full(vocab, -1), np.arange(vocab), unigram_prob, unigram_backoff)]), index


def _order_table(model: BackoffModel, section: Section, index: dict[str, int], top: bool, source: str) -> OrderTable:
    """The table of one order above the unigrams, its contexts found in the order below."""
    n = section.order
    size = len(section.logprob)
    ids = [np.fromiter(map(index.get, column, repeat(-1)), dtype=np.int64, count=size) for column in section.columns]
    for column in ids:
        if (column < 0).any():
            row = int(np.flatnonzero(column < 0)[0])
            word = next(w for w in _gram(section, row).split() if w not in index)
            _fail(section, row, f"the {n}-gram {_gram(section, row)[:60]!r} uses {word[:60]!r}, which is not a unigram", source)
    return _order_from_ids(model, n, ids, section.logprob, section.backoff, top, section, source)


def _order_from_ids(
    model: BackoffModel,
    n: int,
    ids: list[np.ndarray],
    logprob: np.ndarray,
    backoff: np.ndarray,
    top: bool,
    section: Section | None,
    source: str,
) -> OrderTable:
    """The table of the ``n``-grams whose words are ``ids`` (by column), checked: every context
    is in the order below, no n-gram twice. ``section`` names the lines of what is wrong (the
    careful reader's); None hands the file to the careful reader. The table holds its n-grams in
    the order of their keys, as the binary format does, whatever their order in the file."""
    context = ids[0]
    for k in range(2, n):
        context = model.lookup(k, context, ids[k - 1])
    if (context < 0).any():
        if section is None:
            raise _Irregular
        row = int(np.flatnonzero(context < 0)[0])
        _fail(section, row, f"the {n}-gram {_gram(section, row)[:60]!r} has no entry for its context", source)
    table = OrderTable(context, ids[-1], logprob, np.zeros(len(logprob)) if top else backoff)
    keys, rows = table.index(model.vocab_size)
    twice = np.flatnonzero(keys[1:] == keys[:-1])
    if len(twice):
        if section is None:
            raise _Irregular
        if rows is None:
            raise AssertionError("keys with a duplicate are never in strictly increasing order")
        first, again = int(rows[twice[0]]), int(rows[twice[0] + 1])
        where = f" (also on line {int(section.lines[first])})" if section.lines is not None else ""
        _fail(section, again, f"the {n}-gram {_gram(section, again)[:60]!r} is given twice{where}", source)
    if rows is None:
        return table
    return OrderTable.from_sorted_keys(keys, model.vocab_size, table.logprob[rows], table.backoff[rows])
