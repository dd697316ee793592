"""Counting in bounded memory with sorted runs on disk, merged a range of first words at a time.

Each chunk of the text is counted in memory (:func:`~textseq.ngram.chunked.chunk_tallies`) and
its tally goes to the build's store as a run: per order, each n-gram's context row, last word,
count and first word, in the order counting sorts them (by their words, first word first). Then
the runs are merged a range of first words at a time. N-grams whose first word lies in a range
are a block of consecutive rows in every run and in the merged tally, at every order, and their
contexts are rows of the same block one order down, so:

- a range is merged from its slice of each run alone (:func:`~textseq.ngram.chunked.merge_tallies`),
  its rows numbered from the range's first row;
- the merged tally of the whole text is the ranges' merged tallies one after another, each
  range's context rows moved by the rows of the ranges before it.

The ranges are cut so that each one's n-grams as the runs hold them (an n-gram in several runs
counted once in each: no fewer than the range will have) fit the memory budget; memory then
follows the chunk and the range, not the model.
The result is the tally of the whole text that merging in memory gives, row for row.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from textseq.ngram.chunked import BYTES_PER_WORD, Tally, TallyOrder, chunk_tallies, merge_tallies
from textseq.ngram.columns import Column, Store, release_freed_memory, resident_bytes

MERGE_BYTES_PER_NGRAM = 96
"""What merging a range costs per n-gram of its runs, roughly (both sides' keys, the merged keys,
counts and row maps)."""


@dataclass
class _Run:
    """One chunk's tally in the store: per order from 2 up, (context row, word, count, first word)."""

    orders: list[tuple[Column, Column, Column, Column]]


@dataclass
class SpilledTally:
    """The tally of a text as columns of a store (see the module notes)."""

    unigrams: np.ndarray
    orders: list[TallyOrder]
    greatest: tuple[int, ...] | None
    words: list[str]
    sentences: int
    tokens: int


def tally_in_runs(blocks: Iterable[str], order: int, memory: int, vocabulary: Iterable[str] | None, store: Store) -> SpilledTally:
    """The tally of the text in ``blocks``, counted a chunk of about ``memory`` bytes' worth of
    text at a time, spilled to ``store`` as runs and merged as the module notes say."""
    runs: list[_Run] = []
    unigrams = np.zeros(0, dtype=np.int64)

    def spill(tally: Tally) -> None:
        nonlocal unigrams
        if len(tally.unigrams) > len(unigrams):
            unigrams = np.concatenate([unigrams, np.zeros(len(tally.unigrams) - len(unigrams), dtype=np.int64)])
        unigrams[: len(tally.unigrams)] += tally.unigrams
        runs.append(_spill_run(tally, store, len(runs)))

    def resident() -> int | None:
        release_freed_memory()  # what the last chunk's counting freed is not held
        return resident_bytes()

    greatest, words, sentences, tokens = chunk_tallies(blocks, order, memory, vocabulary, spill, resident=resident)
    unigrams = np.concatenate([unigrams, np.zeros(len(words) - len(unigrams), dtype=np.int64)])
    edges = _ranges(runs, len(words), max(1, (memory - len(words) * BYTES_PER_WORD) // MERGE_BYTES_PER_NGRAM))
    bounds = [[np.searchsorted(first[:], edges) for _, _, _, first in run.orders] for run in runs]
    merged = _merge_ranges(runs, bounds, edges, len(words), order, store)
    for run in runs:
        store.remove(*(column for columns in run.orders for column in columns))
    return SpilledTally(unigrams, merged, greatest, words, sentences, tokens)


def _spill_run(tally: Tally, store: Store, number: int) -> _Run:
    first = np.arange(len(tally.unigrams), dtype=np.int64)
    orders = []
    for n, (context, word, count) in enumerate(zip(tally.context, tally.word, tally.count), start=2):
        first = first[context]
        orders.append(
            (
                store.put(f"run{number}.context{n}", context.astype(np.int32)),
                store.put(f"run{number}.word{n}", word.astype(np.int32)),
                store.put(f"run{number}.count{n}", count.astype(np.int64)),
                store.put(f"run{number}.first{n}", first.astype(np.int32)),
            )
        )
    return _Run(orders)


def _ranges(runs: list[_Run], vocab: int, capacity: int) -> np.ndarray:
    """The first words where each range begins, then ``vocab``: ranges of about ``capacity``
    n-grams of the runs each (a single word may hold more)."""
    rows = np.zeros(vocab, dtype=np.int64)
    for run in runs:
        for _, _, _, first in run.orders:
            rows += np.bincount(first[:], minlength=vocab)
    total = np.cumsum(rows)
    edges = [0]
    while edges[-1] < vocab:
        before = int(total[edges[-1] - 1]) if edges[-1] > 0 else 0
        edges.append(max(edges[-1] + 1, int(np.searchsorted(total, before + capacity, side="right"))))
    edges[-1] = min(edges[-1], vocab)
    return np.array(edges, dtype=np.int64)


def _merge_ranges(
    runs: list[_Run], bounds: list[list[np.ndarray]], edges: np.ndarray, vocab: int, order: int, store: Store
) -> list[TallyOrder]:
    ids = np.dtype(np.int32) if vocab < 2**31 else np.dtype(np.int64)
    writers = [
        (store.writer(f"context{n}", np.dtype(np.int64)), store.writer(f"word{n}", ids), store.writer(f"count{n}", np.dtype(np.int64)))
        for n in range(2, order + 1)
    ]
    offsets = [0] * (order + 1)  # per order, rows the ranges before have written
    nothing = np.zeros(vocab, dtype=np.int64)
    for p in range(len(edges) - 1):
        merged: Tally | None = None
        for run, run_bounds in zip(runs, bounds):
            part = Tally(nothing, [], [], [])
            for n, (context, word, count, _) in enumerate(run.orders, start=2):
                start, stop = int(run_bounds[n - 2][p]), int(run_bounds[n - 2][p + 1])
                rows = context[start:stop].astype(np.int64)
                if n > 2:
                    rows -= int(run_bounds[n - 3][p])
                part.context.append(rows)
                part.word.append(word[start:stop].astype(np.int64))
                part.count.append(count[start:stop])
            merged = part if merged is None else merge_tallies(merged, part)
        if merged is None:
            break
        for n, (context, word, count) in enumerate(zip(merged.context, merged.word, merged.count), start=2):
            contexts, words, counts = writers[n - 2]
            contexts.append(context + offsets[n - 1] if n > 2 else context)
            words.append(word.astype(ids))
            counts.append(count)
        for n, word in enumerate(merged.word, start=2):
            offsets[n] += len(word)
    return [(contexts.close(), words.close(), counts.close()) for contexts, words, counts in writers]
