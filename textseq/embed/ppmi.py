"""PPMI-SVD word vectors, the way Levy, Goldberg & Dagan (2015) found them competitive.

1. Co-occurrences of (word, context) within a symmetric window of ``window`` words in a sentence
   (:mod:`textseq.embed.cooccurrence`).
2. PPMI with context-distribution smoothing: PMI(w, c) = log( #(w,c) * sum_c' #c'^a / (#w * #c^a) )
   with a = 0.75, shifted by log(``shift``), negative values set to 0.
3. Truncated SVD of the sparse PPMI matrix (randomized range finder with power iterations, sparse
   products through ``np.bincount``), vectors W = U_d * S_d^p with eigenvalue weighting p = 0.5.

Deterministic for a seed.
"""

from __future__ import annotations

import math

import numpy as np

from textseq.embed.cooccurrence import Sparse, cooccurrences
from textseq.embed.corpus import TrainingCorpus, check_training_arguments, check_training_memory
from textseq.embed.limits import bounded
from textseq.embed.vectors import Vectors

OVERSAMPLE = 10
"""Extra columns of the randomized range finder (Halko et al.'s p)."""
MAX_POWER_ITERATIONS = 100


def ppmi(counts: Sparse, smoothing: float = 0.75, shift: float = 1.0) -> Sparse:
    """Positive (shifted) PMI with context-distribution smoothing."""
    word_total = np.bincount(counts.rows, weights=counts.values, minlength=counts.size)
    context_total = np.bincount(counts.cols, weights=counts.values, minlength=counts.size)
    smoothed = context_total**smoothing
    with np.errstate(divide="ignore"):
        pmi = np.log(counts.values) + np.log(smoothed.sum()) - np.log(word_total[counts.rows]) - np.log(smoothed[counts.cols])
    pmi -= np.log(shift)
    keep = pmi > 0
    return Sparse(counts.rows[keep], counts.cols[keep], pmi[keep], counts.size)


def truncated_svd(
    matrix: Sparse, rank: int, seed: int, power_iterations: int = 4, oversample: int = OVERSAMPLE
) -> tuple[np.ndarray, np.ndarray]:
    """(U, S) of the ``rank`` largest singular values, by a randomized range finder
    (Halko, Martinsson & Tropp 2011)."""
    rng = np.random.default_rng(seed)
    width = min(rank + oversample, matrix.size)
    basis, _ = np.linalg.qr(matrix.dot(rng.standard_normal((matrix.size, width))))
    for _ in range(power_iterations):
        basis, _ = np.linalg.qr(matrix.transpose_dot(basis))
        basis, _ = np.linalg.qr(matrix.dot(basis))
    small = matrix.transpose_dot(basis).T  # basis.T @ matrix
    u_small, singular, _ = np.linalg.svd(small, full_matrices=False)
    u = basis @ u_small
    # fix each vector's sign so the result does not depend on LAPACK's choice
    signs = np.sign(u[np.abs(u).argmax(axis=0), np.arange(u.shape[1])])
    signs[signs == 0] = 1
    return (u * signs)[:, :rank], singular[:rank]


class PpmiSvd:
    """Sparse PPMI (context smoothing 0.75) factorized by truncated SVD (eigenvalue weight 0.5)."""

    def __init__(self, smoothing: float = 0.75, shift: float = 1.0, eig: float = 0.5, power_iterations: int = 4) -> None:
        smoothing, shift, eig = _finite("smoothing", smoothing), _finite("shift", shift), _finite("eig", eig)
        if not 0 < smoothing <= 1:
            raise ValueError("smoothing must be in (0, 1]")
        if shift < 1:
            raise ValueError("shift must be >= 1 (1: no shift)")
        power_iterations = bounded("power_iterations", power_iterations, 0, MAX_POWER_ITERATIONS)
        self.smoothing, self.shift, self.eig, self.power_iterations = smoothing, shift, eig, power_iterations

    def train(self, corpus: TrainingCorpus, *, dim: int = 100, window: int = 5, seed: int = 1, **_: object) -> Vectors:
        check_training_arguments(corpus, dim, window)
        rank = min(dim, len(corpus.words) - 1)
        width = min(rank + OVERSAMPLE, len(corpus.words))
        # the range finder's float64 blocks of words x width (about four at once), then the float32 result
        check_training_memory(corpus, dim, 1, "PPMI-SVD", more=4 * len(corpus.words) * width * 8)
        matrix = ppmi(cooccurrences(corpus, window), self.smoothing, self.shift)
        u, singular = truncated_svd(matrix, rank, seed, self.power_iterations)
        vectors = (u * singular**self.eig).astype(np.float32)
        if rank < dim:
            vectors = np.pad(vectors, ((0, 0), (0, dim - rank)))
        return Vectors(corpus.words, vectors)


def _finite(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) or not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, not {value!r}")
    return float(value)
