"""ARPA files: writing what KenLM's strict reader accepts, reading KenLM's and SRILM's.

Reading accepts ``-99`` (and ``-inf``) for log 0, n-grams in any order within a section, a
missing backoff (0), and names the line of anything malformed.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import TextIO

import numpy as np

from textseq.errors import InputError
from textseq.ngram.corpus import SPECIALS
from textseq.ngram.model import BackoffModel, OrderTable

_COUNT_LINE = re.compile(r"ngram\s+(\d+)\s*=\s*(\d+)\s*$")
_SECTION = re.compile(r"\\(\d+)-grams:\s*$")
_ROWS_PER_CHUNK = 200_000
_SCORES_NOTE = "scores, not probabilities: they do not sum to 1"
_SMOOTHING = re.compile(r"^#\s*smoothing:\s*(\S+)", re.MULTILINE)


def write_arpa(model: BackoffModel, out: TextIO, *, comment: str | None = None) -> None:
    """Write ``model`` in ARPA format (numbers with 7 significant digits, as KenLM writes them).

    Rows are formatted a chunk at a time with one ``%`` over a tuple, and n-gram strings are
    joined with ``map``: the per-row Python work stays small."""
    lines = comment.splitlines() if comment else []
    if model.smoothing:
        lines.append(f"smoothing: {model.smoothing}")
    if not model.scores_are_probabilities:
        lines.append(_SCORES_NOTE)
    if lines:
        out.write("".join(f"# {line}\n" for line in lines) + "\n")
    out.write("\\data\\\n")
    for n, table in enumerate(model.orders, start=1):
        out.write(f"ngram {n}={len(table)}\n")
    out.write("\n")
    words = np.array(model.words, dtype=object)
    top = model.order
    matrix = np.empty((0, 0), dtype=np.int32)
    for n, table in enumerate(model.orders, start=1):
        out.write(f"\\{n}-grams:\n")
        matrix = table.word[:, None].astype(np.int32) if n == 1 else np.column_stack([matrix[table.context], table.word]).astype(np.int32)
        row_format = "%.7g\t%s\t%.7g\n" if n < top else "%.7g\t%s\n"
        width = 3 if n < top else 2
        for start in range(0, len(table), _ROWS_PER_CHUNK):
            stop = min(start + _ROWS_PER_CHUNK, len(table))
            columns = [words[matrix[start:stop, column]].tolist() for column in range(n)]
            grams = columns[0] if n == 1 else list(map(" ".join, zip(*columns)))
            values: list[object] = [None] * (width * (stop - start))
            values[0::width] = table.logprob[start:stop].tolist()
            values[1::width] = grams
            if n < top:
                values[2::width] = table.backoff[start:stop].tolist()
            out.write((row_format * (stop - start)) % tuple(values))
        out.write("\n")
    out.write("\\end\\\n")


Section = tuple[list[list[str]], np.ndarray, np.ndarray]
"""Per order: the words as columns, log10 probabilities, log10 backoffs."""


class _Irregular(Exception):
    """The fast reader met something it does not handle; the line-by-line reader will, and
    will name the line if it is wrong."""


def read_arpa(handle: TextIO, source: str = "<arpa>") -> BackoffModel:
    """Parse an ARPA file into a :class:`BackoffModel`."""
    text = handle.read()
    try:
        sections = _read_sections_fast(text)
    except _Irregular:
        sections = _read_sections_by_line(text, source)
    model = _model_from_sections(sections, source)
    preamble = text[: text.find("\\data\\")]
    smoothing = _SMOOTHING.search(preamble)
    model.smoothing = smoothing.group(1) if smoothing else ""
    model.scores_are_probabilities = _SCORES_NOTE not in preamble
    return model


def _read_sections_fast(text: str) -> list[Section]:
    """Whole sections at a time: one ``split`` per section, columns by slicing."""
    start = text.find("\\data\\\n")
    if start < 0 or text[:start].strip() and not all(line.startswith("#") or not line.strip() for line in text[:start].splitlines()):
        raise _Irregular
    header_end = text.find("\n\n", start)
    if header_end < 0:
        raise _Irregular
    declared = []
    for line in text[start:header_end].splitlines()[1:]:
        match = _COUNT_LINE.match(line.strip())
        if not match or int(match.group(1)) != len(declared) + 1:
            raise _Irregular
        declared.append(int(match.group(2)))
    sections: list[Section] = []
    position = header_end
    for n, count in enumerate(declared, start=1):
        marker = f"\n\\{n}-grams:\n"
        begin = text.find(marker, position)
        if begin < 0:
            raise _Irregular
        begin += len(marker)
        end = text.find("\n\\", begin)
        if end < 0:
            raise _Irregular
        body = text[begin:end]
        lines = body.count("\n") + (0 if body.endswith("\n") else 1) - body.count("\n\n")
        if lines != count or "\r" in body:
            raise _Irregular
        fields = body.split()
        width = len(fields) // count if count else n + 1
        if width not in (n + 1, n + 2) or width * count != len(fields) or (n == len(declared) and width != n + 1):
            raise _Irregular
        try:
            probs = np.array(fields[0::width], dtype=np.float64)
            backoffs = np.array(fields[width - 1 :: width], dtype=np.float64) if width == n + 2 else np.zeros(count)
        except ValueError:
            raise _Irregular from None
        sections.append(([fields[1 + k :: width] for k in range(n)], np.maximum(probs, -99.0), backoffs))
        position = end
    if not text.rstrip().endswith("\\end\\"):
        raise _Irregular
    return sections


def _lines(text: str) -> Iterator[tuple[int, str]]:
    for number, line in enumerate(text.split("\n"), start=1):
        yield number, line.rstrip("\r")


def _read_sections_by_line(text: str, source: str) -> list[Section]:
    """The careful reader: any layout ARPA allows, and the line of anything malformed."""
    lines = _lines(text)
    declared: dict[int, int] = {}
    number = 0
    for number, line in lines:
        if line.strip() == "\\data\\":
            break
    else:
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
        declared[int(match.group(1))] = int(match.group(2))
    order = max(declared) if declared else 0
    if order < 1 or sorted(declared) != list(range(1, order + 1)):
        raise InputError("the \\data\\ section must declare orders 1..N", source=source, line=number)

    sections: list[Section] = []
    current = 0
    columns: list[list[str]] = []
    probs: list[float] = []
    backoffs: list[float] = []

    def finish() -> None:
        if current:
            if len(probs) != declared[current]:
                raise InputError(f"\\{current}-grams: has {len(probs)} entries, the header says {declared[current]}", source=source, line=number)
            sections.append((columns, np.array(probs), np.array(backoffs)))

    for number, line in lines:
        stripped = line.strip()
        if not stripped:
            continue
        if stripped == "\\end\\":
            finish()
            current = -1
            break
        section = _SECTION.match(stripped)
        if section:
            finish()
            current = int(section.group(1))
            if current != len(sections) + 1 or current > order:
                raise InputError(f"unexpected section \\{current}-grams:", source=source, line=number)
            columns, probs, backoffs = [[] for _ in range(current)], [], []
            continue
        if current <= 0:
            raise InputError(f"n-gram line outside a section: {stripped[:60]!r}", source=source, line=number)
        fields = stripped.split()
        if len(fields) not in (current + 1, current + 2):
            raise InputError(f"expected a log probability, {current} words and maybe a backoff, got {len(fields)} fields", source=source, line=number)
        try:
            probs.append(max(float(fields[0]), -99.0))
            backoffs.append(float(fields[current + 1]) if len(fields) == current + 2 else 0.0)
        except ValueError:
            raise InputError(f"not a number in {stripped[:60]!r}", source=source, line=number) from None
        for k in range(current):
            columns[k].append(fields[1 + k])
    if current != -1:
        raise InputError("the file ends before \\end\\", source=source, line=number)
    if len(sections) != order:
        raise InputError(f"the header declares {order} orders, the file has {len(sections)}", source=source, line=number)
    return sections


def _model_from_sections(sections: list[Section], source: str) -> BackoffModel:
    index: dict[str, int] = {}
    for special in SPECIALS:
        index.setdefault(special, len(index))
    for word in sections[0][0][0]:
        index.setdefault(word, len(index))
    words = [""] * len(index)
    for word, i in index.items():
        words[i] = word
    vocab = len(words)
    order = len(sections)
    unigram_prob = np.full(vocab, -99.0)
    unigram_backoff = np.zeros(vocab)
    rows = np.fromiter(map(index.__getitem__, sections[0][0][0]), dtype=np.int64, count=len(sections[0][1]))
    unigram_prob[rows] = sections[0][1]
    unigram_backoff[rows] = sections[0][2]
    model = BackoffModel(words=words, orders=[OrderTable(np.full(vocab, -1), np.arange(vocab), unigram_prob, unigram_backoff)])
    for n in range(2, order + 1):
        columns, probs, backoffs = sections[n - 1]
        try:
            ids = [np.fromiter(map(index.__getitem__, column), dtype=np.int64, count=len(probs)) for column in columns]
        except KeyError as exc:
            raise InputError(f"the {n}-gram section uses a word that is not a unigram: {exc.args[0]!r}", source=source) from None
        context = ids[0]
        for k in range(2, n):
            context = model.lookup(k, context, ids[k - 1])
        if (context < 0).any():
            at = int(np.flatnonzero(context < 0)[0])
            bad = " ".join(column[at] for column in columns)
            raise InputError(f"the {n}-gram {bad!r} has no entry for its context", source=source)
        model.orders.append(OrderTable(context, ids[-1], probs, backoffs if n < order else np.zeros(len(probs))))
    return model
