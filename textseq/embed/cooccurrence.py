"""Word-context co-occurrence counts within a symmetric window, accumulated chunk by chunk.

Each chunk's pairs are counted in one direction (the word before, the word after), summed over
sorted packed keys, and merged into the running total (two sorted runs: a linear merge); the
mirror image is added once at the end. Memory is bounded by the distinct pairs and a chunk, not
by the corpus; no Python loop runs per pair.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from textseq.embed.corpus import Chunk, TrainingCorpus
from textseq.embed.limits import check_memory

CHUNK_TOKENS = 1 << 18
BYTES_PER_PAIR = 112
"""What counting a chunk holds at once per pair of it (keys, weights, their sorted copies and the
merge's), an upper bound."""


@dataclass
class Sparse:
    """A square sparse matrix in coordinate form, entries sorted by (row, column)."""

    rows: np.ndarray
    cols: np.ndarray
    values: np.ndarray
    size: int

    @property
    def nnz(self) -> int:
        return len(self.values)

    def dot(self, dense: np.ndarray) -> np.ndarray:
        """self @ dense, one ``bincount`` per column of ``dense``."""
        out = np.empty((self.size, dense.shape[1]))
        for j in range(dense.shape[1]):
            out[:, j] = np.bincount(self.rows, weights=self.values * dense[self.cols, j], minlength=self.size)
        return out

    def transpose_dot(self, dense: np.ndarray) -> np.ndarray:
        """self.T @ dense."""
        return Sparse(self.cols, self.rows, self.values, self.size).dot(dense)


def _merge(keys: np.ndarray, values: np.ndarray, more_keys: np.ndarray, more_values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The sum of two key-sorted sparse vectors (each key once), key-sorted. A stable sort of two
    sorted runs is a linear merge (timsort)."""
    all_keys = np.concatenate((keys, more_keys))
    if not len(all_keys):
        return all_keys, np.empty(0, np.float64)
    order = np.argsort(all_keys, kind="stable")
    all_keys = all_keys[order]
    all_values = np.concatenate((values, more_values))[order]
    starts = np.flatnonzero(np.concatenate(([True], all_keys[1:] != all_keys[:-1])))
    return all_keys[starts], np.add.reduceat(all_values, starts)


def cooccurrences(corpus: TrainingCorpus, window: int, harmonic: bool = False, chunk_tokens: int = CHUNK_TOKENS) -> Sparse:
    """#(w, c): how often c is within ``window`` words of w in a sentence, both directions; with
    ``harmonic``, each co-occurrence weighs 1/distance (GloVe's counts)."""
    vocab = len(corpus.words)
    keys = np.empty(0, np.int64)
    totals = np.empty(0, np.float64)
    for chunk in corpus.chunks(chunk_tokens):
        check_memory(pairs_within(chunk, window) * BYTES_PER_PAIR, f"counting co-occurrences within {window:,} words", "lower the window")
        ids = chunk.ids.astype(np.int64)
        sentence = chunk.sentence_of_token()
        pairs, weights = [], []
        for distance in range(1, window + 1):
            same = sentence[distance:] == sentence[:-distance]
            pairs.append(ids[:-distance][same] * vocab + ids[distance:][same])
            weights.append(np.full(len(pairs[-1]), 1.0 / distance if harmonic else 1.0))
        chunk_keys = np.concatenate(pairs)
        order = np.argsort(chunk_keys)
        chunk_keys, chunk_weights = _merge(np.empty(0, np.int64), np.empty(0), chunk_keys[order], np.concatenate(weights)[order])
        keys, totals = _merge(keys, totals, chunk_keys, chunk_weights)
    rows, cols = keys // vocab, keys % vocab
    keys, totals = _merge(keys, totals, *_sorted(cols * vocab + rows, totals))
    return Sparse(keys // vocab, keys % vocab, totals, vocab)


def pairs_within(chunk: Chunk, window: int) -> int:
    """The (word, later word) pairs at most ``window`` apart in the sentences of ``chunk``: a
    sentence of n words has sum over d = 1 .. window of max(0, n - d) of them."""
    lengths = np.diff(chunk.sentence_starts)
    reach = np.clip(lengths - 1, 0, window)
    return int(np.sum(reach * lengths - reach * (reach + 1) // 2))


def _sorted(keys: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    order = np.argsort(keys)
    return keys[order], values[order]
