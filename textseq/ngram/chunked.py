"""Counting in bounded memory: count the corpus a chunk of sentences at a time, fold each chunk's
distinct n-grams into running totals, and link the totals into :class:`NgramCounts` at the end.

Memory is then bounded by the chunk size plus the number of distinct n-grams (the size of the
model), not by the length of the corpus. The result is the same as :func:`count_ngrams` over the
whole corpus, KenLM's bookkeeping (:attr:`NgramCounts.last_window`) included.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import numpy as np

from textseq.ngram.corpus import BOS, Corpus, CorpusBuilder
from textseq.ngram.counts import NgramCounts, OrderCounts, count_ngrams, greatest_window

BYTES_PER_TOKEN = 96
"""What counting costs per token of a chunk, roughly, at order 5 (ids, positions, keys, sorts)."""

_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)i?b?\s*$", re.IGNORECASE)


def parse_size(text: str) -> int:
    """Bytes in '800M', '2G', '1.5g', '64k' or a plain number of bytes."""
    match = _SIZE.match(text)
    if not match:
        raise ValueError(f"not a size: {text!r} (e.g. 500M, 2G)")
    scale = {"": 1, "k": 2**10, "m": 2**20, "g": 2**30, "t": 2**40}[match.group(2).lower()]
    return int(float(match.group(1)) * scale)


def _suffix_key(words: tuple[int, ...]) -> tuple[int, ...]:
    return tuple(reversed(words))


class _Totals:
    """Distinct n-grams of one order as a sorted word matrix with summed counts."""

    def __init__(self, order: int) -> None:
        self.order = order
        self.words = np.empty((0, order), dtype=np.int32)
        self.count = np.empty(0, dtype=np.int64)

    def add(self, words: np.ndarray, count: np.ndarray) -> None:
        merged = np.concatenate([self.words, words])
        counts = np.concatenate([self.count, count])
        order = np.lexsort(merged.T[::-1])
        merged, counts = merged[order], counts[order]
        new = np.ones(len(merged), dtype=bool)
        if len(merged) > 1:
            new[1:] = (merged[1:] != merged[:-1]).any(axis=1)
        starts = np.flatnonzero(new)
        self.words = merged[starts]
        self.count = np.add.reduceat(counts, starts) if len(starts) else counts[:0]


def _link(totals: list[_Totals], vocab: int, last_words: tuple[int, ...] | None) -> NgramCounts:
    """NgramCounts (context and suffix ids, sorted by (context, word)) from word matrices."""
    unigram_counts = np.zeros(vocab, dtype=np.int64)
    unigram_counts[totals[0].words[:, 0]] = totals[0].count
    words_1 = np.arange(vocab, dtype=np.int64)
    tables = [OrderCounts(1, np.full(vocab, -1), np.full(vocab, -1), words_1, unigram_counts, words_1 == BOS)]
    keys_by_order: list[np.ndarray] = [words_1]

    def ids_of(matrix: np.ndarray) -> np.ndarray:
        """Row id of each n-gram (row of ``matrix``) in the tables built so far; -1 if absent."""
        row = matrix[:, 0].astype(np.int64)
        for k in range(2, matrix.shape[1] + 1):
            keys = keys_by_order[k - 1]
            wanted = row * vocab + matrix[:, k - 1]
            at = np.minimum(np.searchsorted(keys, wanted), max(len(keys) - 1, 0))
            row = np.where((row >= 0) & (keys[at] == wanted) if len(keys) else False, at, -1)
        return row

    for n in range(2, len(totals) + 1):
        matrix, count = totals[n - 1].words, totals[n - 1].count
        context = ids_of(matrix[:, :-1])
        suffix = ids_of(matrix[:, 1:])
        keys = context * vocab + matrix[:, -1]
        order = np.argsort(keys, kind="stable")
        keys_by_order.append(keys[order])
        tables.append(
            OrderCounts(n, context[order], suffix[order], matrix[order, -1].astype(np.int64), count[order], matrix[order, 0] == BOS)
        )
    last = []
    for k in range(1, len(totals) + 1):
        if last_words is None:
            last.append(-1)
            continue
        tail = np.array([last_words[-k:]], dtype=np.int32)
        last.append(int(ids_of(tail)[0]) if (k == 1 or BOS not in last_words[-k + 1 :]) else -1)
    return NgramCounts(vocab_size=vocab, orders=tables, last_window=last)


def count_in_chunks(
    blocks: Iterable[str], order: int, memory: int, vocabulary: Iterable[str] | None = None
) -> tuple[NgramCounts, list[str], int, int]:
    """(counts, words, sentences, tokens) of the text in ``blocks``, counted a chunk at a time so
    that counting takes about ``memory`` bytes plus the distinct n-grams."""
    chunk_tokens = max(10_000, memory // BYTES_PER_TOKEN)
    builder = CorpusBuilder(vocabulary)
    totals = [_Totals(n) for n in range(1, order + 1)]
    greatest: tuple[int, ...] | None = None
    sentences = tokens = 0

    def flush() -> None:
        nonlocal greatest, sentences, tokens
        chunk = builder.build()
        builder.reset_chunks()
        if not len(chunk.ids):
            return
        sentences += chunk.sentences
        tokens += chunk.tokens
        counts = count_ngrams(chunk, order)
        for n in range(1, order + 1):
            table = counts.orders[n - 1]
            present = np.flatnonzero(table.count > 0)
            totals[n - 1].add(counts.words_of(n)[present], table.count[present])
        window = _greatest_window_words(chunk, order)
        if greatest is None or _suffix_key(window) > _suffix_key(greatest):
            greatest = window

    for block in blocks:
        builder.add_block(block)
        if builder.pending_tokens() >= chunk_tokens:
            flush()
    flush()
    words = builder.build().words
    return _link(totals, len(words), greatest), words, sentences, tokens


def _greatest_window_words(corpus: Corpus, order: int) -> tuple[int, ...]:
    """The words of the corpus's greatest full-order window in KenLM's suffix order, ``<s>``
    padded."""
    position = corpus.position_in_sentence()
    end = greatest_window(corpus, position, order)
    j = int(position[end])
    return tuple(int(corpus.ids[end - back]) if j - back >= -1 else BOS for back in range(order - 1, -1, -1))
