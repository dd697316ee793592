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


def _format_numbers(values: np.ndarray) -> list[str]:
    """log10 values as ARPA numbers (7 significant digits, as KenLM writes them)."""
    return [f"{v:.7g}" for v in values.tolist()]


def write_arpa(model: BackoffModel, out: TextIO, *, comment: str | None = None) -> None:
    """Write ``model`` in ARPA format."""
    if comment:
        for line in comment.splitlines():
            out.write(f"# {line}\n")
        out.write("\n")
    out.write("\\data\\\n")
    for n, table in enumerate(model.orders, start=1):
        out.write(f"ngram {n}={len(table)}\n")
    out.write("\n")
    words = np.array(model.words, dtype=object)
    top = model.order
    for n, table in enumerate(model.orders, start=1):
        out.write(f"\\{n}-grams:\n")
        matrix = model.ngram_words(n)
        for start in range(0, len(table), _ROWS_PER_CHUNK):
            stop = min(start + _ROWS_PER_CHUNK, len(table))
            grams = words[matrix[start:stop, 0]]
            for column in range(1, n):
                grams = grams + " " + words[matrix[start:stop, column]]
            probs = _format_numbers(table.logprob[start:stop])
            if n < top:
                backoffs = _format_numbers(table.backoff[start:stop])
                lines = [f"{p}\t{g}\t{b}\n" for p, g, b in zip(probs, grams.tolist(), backoffs)]
            else:
                lines = [f"{p}\t{g}\n" for p, g in zip(probs, grams.tolist())]
            out.write("".join(lines))
        out.write("\n")
    out.write("\\end\\\n")


def _lines(handle: TextIO) -> Iterator[tuple[int, str]]:
    for number, line in enumerate(handle, start=1):
        yield number, line.rstrip("\r\n")


def read_arpa(handle: TextIO, source: str = "<arpa>") -> BackoffModel:
    """Parse an ARPA file into a :class:`BackoffModel`."""
    lines = _lines(handle)
    declared: dict[int, int] = {}
    number = 0
    for number, line in lines:
        if line.strip() == "\\data\\":
            break
    else:
        raise InputError("not an ARPA file: no \\data\\ line", source=source, line=number or None)
    for number, line in lines:
        text = line.strip()
        if not text:
            if declared:
                break
            continue
        match = _COUNT_LINE.match(text)
        if not match:
            raise InputError(f"expected 'ngram N=COUNT', got {text[:60]!r}", source=source, line=number)
        declared[int(match.group(1))] = int(match.group(2))
    order = max(declared) if declared else 0
    if order < 1 or sorted(declared) != list(range(1, order + 1)):
        raise InputError("the \\data\\ section must declare orders 1..N", source=source, line=number)

    index: dict[str, int] = {}
    words: list[str] = []
    raw: list[tuple[list[str], list[float], list[float]]] = []
    current = 0
    grams: list[str] = []
    probs: list[float] = []
    backoffs: list[float] = []

    def finish() -> None:
        if current:
            if len(grams) != declared[current]:
                raise InputError(f"\\{current}-grams: has {len(grams)} entries, the header says {declared[current]}", source=source, line=number)
            raw.append((list(grams), list(probs), list(backoffs)))

    for number, line in lines:
        text = line.strip()
        if not text:
            continue
        if text == "\\end\\":
            finish()
            current = -1
            break
        section = _SECTION.match(text)
        if section:
            finish()
            current = int(section.group(1))
            if current != len(raw) + 1 or current > order:
                raise InputError(f"unexpected section \\{current}-grams:", source=source, line=number)
            grams, probs, backoffs = [], [], []
            continue
        if current <= 0:
            raise InputError(f"n-gram line outside a section: {text[:60]!r}", source=source, line=number)
        fields = text.split()
        if len(fields) not in (current + 1, current + 2):
            raise InputError(f"expected a log probability, {current} words and maybe a backoff, got {len(fields)} fields", source=source, line=number)
        try:
            probs.append(max(float(fields[0]), -99.0))
            backoffs.append(float(fields[current + 1]) if len(fields) == current + 2 else 0.0)
        except ValueError:
            raise InputError(f"not a number in {text[:60]!r}", source=source, line=number) from None
        grams.append(" ".join(fields[1 : current + 1]))
    if current != -1:
        raise InputError("the file ends before \\end\\", source=source, line=number)

    for special in SPECIALS:
        index.setdefault(special, len(index))
    for gram in raw[0][0]:
        index.setdefault(gram, len(index))
    words = [""] * len(index)
    for word, i in index.items():
        words[i] = word
    vocab = len(words)
    model = BackoffModel(words=words, orders=[])
    unigram_prob = np.full(vocab, -99.0)
    unigram_backoff = np.zeros(vocab)
    uni_rows = np.array([index[g] for g in raw[0][0]], dtype=np.int64)
    unigram_prob[uni_rows] = raw[0][1]
    unigram_backoff[uni_rows] = raw[0][2]
    model.orders.append(OrderTable(np.full(vocab, -1), np.arange(vocab), unigram_prob, unigram_backoff))
    for n in range(2, order + 1):
        gram_list, prob_list, backoff_list = raw[n - 1]
        split = [g.split(" ") for g in gram_list]
        try:
            matrix = np.array([[index[w] for w in parts] for parts in split], dtype=np.int64).reshape(len(split), n)
        except KeyError as exc:
            raise InputError(f"the {n}-gram section uses a word that is not a unigram: {exc.args[0]!r}", source=source) from None
        context = model.orders[0].word[matrix[:, 0]]
        for k in range(2, n):
            context = model.lookup(k, context, matrix[:, k - 1])
        if (context < 0).any():
            bad = gram_list[int(np.flatnonzero(context < 0)[0])]
            raise InputError(f"the {n}-gram {bad!r} has no entry for its context", source=source)
        model.orders.append(OrderTable(context, matrix[:, -1], np.array(prob_list), np.array(backoff_list) if n < order else np.zeros(len(prob_list))))
    return model
