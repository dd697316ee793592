"""Word-context co-occurrence counts within a symmetric window, accumulated chunk by chunk.

Counted with numpy over packed integer pairs (one pass per distance, no Python loop per pair);
memory is bounded by the distinct pairs, not by the corpus.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from textseq.embed.corpus import TrainingCorpus

CHUNK_TOKENS = 1 << 20


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


def _sum_by_key(keys: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    distinct, inverse = np.unique(keys, return_inverse=True)
    return distinct, np.bincount(inverse.ravel(), weights=values, minlength=len(distinct))


def cooccurrences(corpus: TrainingCorpus, window: int, harmonic: bool = False, chunk_tokens: int = CHUNK_TOKENS) -> Sparse:
    """#(w, c): how often c is within ``window`` words of w in a sentence, both directions; with
    ``harmonic``, each co-occurrence weighs 1/distance (GloVe's counts)."""
    vocab = len(corpus.words)
    keys = np.empty(0, np.int64)
    totals = np.empty(0, np.float64)
    for chunk in corpus.chunks(chunk_tokens):
        ids = chunk.ids.astype(np.int64)
        sentence = chunk.sentence_of_token()
        pairs, weights = [keys], [totals]
        for distance in range(1, window + 1):
            same = sentence[distance:] == sentence[:-distance]
            left, right = ids[:-distance][same], ids[distance:][same]
            pairs += [left * vocab + right, right * vocab + left]
            weights.append(np.full(2 * len(left), 1.0 / distance if harmonic else 1.0))
        keys, totals = _sum_by_key(np.concatenate(pairs), np.concatenate(weights))
    return Sparse(keys // vocab, keys % vocab, totals, vocab)
