"""GloVe: global vectors from a weighted least-squares fit to log co-occurrence counts
(Pennington, Socher & Manning 2014), numba-compiled.

The semantics are those of the paper and of Stanford's ``glove.c``:

* X_ij, the co-occurrences of word i and context j within ``window`` words on either side in a
  sentence, each weighing 1/distance (:func:`textseq.embed.cooccurrence.cooccurrences` with
  ``harmonic=True``; the matrix is symmetric);
* the weighting f(x) = (x / x_max) ** power below ``x_max``, 1 from there on (:func:`weighting`);
* the cost J = sum over the nonzero X_ij of f(X_ij) (w_i . w~_j + b_i + b~_j - log X_ij) ** 2,
  with word vectors w, context vectors w~ and their biases b, b~; each epoch's mean of
  0.5 f diff**2 per nonzero entry (float64 sums) is reported, as ``glove.c`` prints its "cost";
* AdaGrad, as ``glove.c`` writes it: the gradient of each parameter is scaled by the learning rate
  ``alpha`` (``glove.c``'s ``-eta``), the parameter moves by that scaled gradient over the square
  root of its accumulated squares, which start at 1.0 (so the first step is exactly ``alpha``
  times the gradient), and the scaled square is then added; vector gradient components are
  clipped to +-100 before scaling (``glove.c``'s ``-grad-clip``); an entry whose residual is not
  finite is skipped. The biases are scaled by ``alpha`` too (``bias_alpha`` sets their rate
  apart; ``-p bias_alpha=1`` updates them as today's ``glove.c`` does), as in GloVe 1.2 (the paper's
  release); since the commit that added clipping (5b4e03c, 2019) ``glove.c`` leaves its bias
  gradients unscaled, in effect a bias rate of 1;
* vectors and biases start uniform in [-0.5/dim, 0.5/dim) from ``numpy.random.default_rng(seed)``;
* each epoch visits the nonzero entries in a fresh random order (a permutation drawn from the same
  generator), in blocks of about a million entries;
* the vectors written are W + W~ (``glove.c``'s ``-model 2``), float32, one row per vocabulary
  word in the corpus's order.

Parameters and squared-gradient sums are float32 (``glove.c`` keeps doubles); the per-entry
log X_ij and f(X_ij) are computed once, in float64, before training. One thread gives
bit-identical vectors for a seed. With ``threads > 1``, Python threads run the blocks of an epoch
through the compiled loop without the GIL, updating the shared arrays without locks (Hogwild, as
``glove.c`` does with pthreads over slices of its shuffled file), which is fast but not
reproducible bit for bit.

numba is imported here only, when an embedder is made, never when textseq itself is imported.
"""

from __future__ import annotations

import math
import time
from concurrent.futures import ThreadPoolExecutor
from itertools import pairwise

import numba
import numpy as np

from textseq.embed.cooccurrence import Sparse, cooccurrences
from textseq.embed.corpus import TrainingCorpus, check_training_arguments, check_training_memory
from textseq.embed.limits import MAX_THREADS, whole_number
from textseq.embed.vectors import Vectors
from textseq.progress import EpochReport, Monitor

GRAD_CLIP = 100.0
"""Each component of a vector gradient is clipped to [-GRAD_CLIP, GRAD_CLIP] (``glove.c``'s default)."""
BLOCK_ENTRIES = 1 << 20
"""Co-occurrences per block: the unit of work of a thread and of a progress update."""

_MATRICES = 4
"""float32 matrices of vocabulary x dim that training holds: vectors, contexts and their AdaGrad sums."""
_BYTES_PER_PAIR = 4 + 4 + 4 + 4 + 8 + 4
"""Per co-occurrence while training: row, column, log count, weight, and the epoch's permutation (int64, then int32)."""

# fast-math without 'nnan' and 'ninf', so that the finiteness test of a residual is kept
_FASTMATH = {"reassoc", "contract", "arcp", "nsz", "afn"}


@numba.njit(cache=True, nogil=True, fastmath=_FASTMATH)
def adagrad_step(params, squares, gradient, alpha):
    """``params -= alpha g / sqrt(squares)``, then ``squares += (alpha g)**2``, component by
    component (``glove.c``'s AdaGrad, whose sums hold the squares of the scaled gradients)."""
    for d in range(params.shape[0]):
        g = gradient[d] * alpha
        params[d] -= g * squares[d] ** np.float32(-0.5)  # x ** -0.5, unlike 1 / sqrt(x), vectorizes
        squares[d] += g * g


@numba.njit(cache=True, nogil=True, fastmath=_FASTMATH)
def train_block(
    words,
    contexts,
    word_bias,
    context_bias,
    word_squares,
    context_squares,
    word_bias_squares,
    context_bias_squares,
    rows,
    cols,
    log_values,
    weights,
    order,
    begin,
    end,
    alpha,
    bias_alpha,
    clip,
):
    """AdaGrad steps on the co-occurrences ``order[begin:end]`` (indices into ``rows``, ``cols``,
    ``log_values`` and ``weights``), in that order. Returns the summed cost 0.5 f diff**2 (float64)
    and the number of entries used (those whose residual is finite)."""
    dim = words.shape[1]
    word_gradient = np.empty(dim, np.float32)
    context_gradient = np.empty(dim, np.float32)
    cost = 0.0
    used = 0
    for k in range(begin, end):
        entry = order[k]
        i = rows[entry]
        j = cols[entry]
        w = words[i]
        c = contexts[j]
        dot = np.float32(0.0)
        for d in range(dim):
            dot += w[d] * c[d]
        diff = dot + word_bias[i] + context_bias[j] - log_values[entry]
        fdiff = weights[entry] * diff
        if not (math.isfinite(diff) and math.isfinite(fdiff)):
            continue
        cost += 0.5 * np.float64(fdiff) * np.float64(diff)
        used += 1
        for d in range(dim):
            word_gradient[d] = min(max(fdiff * c[d], -clip), clip)
            context_gradient[d] = min(max(fdiff * w[d], -clip), clip)
        adagrad_step(w, word_squares[i], word_gradient, alpha)
        adagrad_step(c, context_squares[j], context_gradient, alpha)
        g = fdiff * bias_alpha
        word_bias[i] -= g * word_bias_squares[i] ** np.float32(-0.5)
        context_bias[j] -= g * context_bias_squares[j] ** np.float32(-0.5)
        word_bias_squares[i] += g * g
        context_bias_squares[j] += g * g
    return cost, used


def weighting(values: np.ndarray, x_max: float = 100.0, power: float = 0.75) -> np.ndarray:
    """GloVe's f(x): (x / x_max) ** power below ``x_max``, 1 from ``x_max`` on (float64)."""
    values = np.asarray(values, dtype=np.float64)
    return np.where(values < x_max, (np.minimum(values, x_max) / x_max) ** power, 1.0)


def glove_cost(
    counts: Sparse,
    words: np.ndarray,
    contexts: np.ndarray,
    word_bias: np.ndarray,
    context_bias: np.ndarray,
    x_max: float = 100.0,
    power: float = 0.75,
) -> float:
    """J / 2 over all nonzero entries, in float64 (for tests and diagnostics)."""
    dots = np.einsum("ij,ij->i", words[counts.rows].astype(np.float64), contexts[counts.cols].astype(np.float64))
    diff = dots + word_bias[counts.rows] + context_bias[counts.cols] - np.log(counts.values)
    return float(0.5 * np.sum(weighting(counts.values, x_max, power) * diff * diff))


class GloVe:
    """GloVe trained by AdaGrad on the co-occurrence matrix (see the module's description)."""

    def __init__(
        self,
        epochs: int = 25,
        alpha: float | None = None,
        x_max: float = 100.0,
        power: float = 0.75,
        threads: int = 1,
        eta: float | None = None,
        iter: int | None = None,
        bias_alpha: float | None = None,
    ) -> None:
        if alpha is not None and eta is not None:
            raise ValueError("give the learning rate as alpha or as eta, not both")
        rate = alpha if alpha is not None else eta if eta is not None else 0.05
        epochs = whole_number("epochs", epochs if iter is None else iter)
        threads = whole_number("threads", threads)
        rate, x_max, power = _number("alpha", rate), _number("x_max", x_max), _number("power", power)
        if epochs < 1:
            raise ValueError("epochs must be >= 1")
        if not 1 <= threads <= MAX_THREADS:
            raise ValueError(f"threads must be between 1 and {MAX_THREADS}")
        if not rate > 0:
            raise ValueError("alpha (the AdaGrad learning rate) must be > 0")
        if not x_max > 0:
            raise ValueError("x_max must be > 0")
        if not power >= 0:
            raise ValueError("power must be >= 0 (0: every co-occurrence weighs 1)")
        bias_rate = rate if bias_alpha is None else _number("bias_alpha", bias_alpha)
        if not bias_rate > 0:
            raise ValueError("bias_alpha (the biases' learning rate) must be > 0")
        self.epochs, self.alpha, self.x_max, self.power, self.threads = epochs, rate, x_max, power, threads
        self.bias_alpha = bias_rate
        self.history: list[EpochReport] = []
        """One report per epoch of the last :meth:`train`: mean cost per co-occurrence."""
        self.pairs = 0
        """Nonzero co-occurrence entries of the last :meth:`train`."""

    def train(
        self, corpus: TrainingCorpus, *, dim: int = 100, window: int = 5, seed: int = 1, monitor: Monitor | None = None, **_: object
    ) -> Vectors:
        check_training_arguments(corpus, dim, window)
        check_training_memory(corpus, dim, _MATRICES, "GloVe")
        monitor = monitor or Monitor()
        vocab = len(corpus.words)

        monitor.begin("co-occurrences", corpus.tokens, "words")
        try:
            counts = cooccurrences(corpus, window, harmonic=True)
            monitor.update(corpus.tokens)
        finally:
            monitor.end()
        nnz = counts.nnz
        check_training_memory(corpus, dim, _MATRICES, "GloVe", more=nnz * _BYTES_PER_PAIR)
        rows = counts.rows.astype(np.int32)
        cols = counts.cols.astype(np.int32)
        log_values = np.log(counts.values).astype(np.float32)
        weights = weighting(counts.values, self.x_max, self.power).astype(np.float32)
        del counts
        self.pairs = nnz

        rng = np.random.default_rng(seed)
        scale = np.float32(dim)

        def uniform(*shape: int) -> np.ndarray:
            return ((rng.random(shape, dtype=np.float32) - np.float32(0.5)) / scale).astype(np.float32)

        words, contexts = uniform(vocab, dim), uniform(vocab, dim)
        word_bias, context_bias = uniform(vocab), uniform(vocab)
        word_squares, context_squares = np.ones((vocab, dim), np.float32), np.ones((vocab, dim), np.float32)
        word_bias_squares, context_bias_squares = np.ones(vocab, np.float32), np.ones(vocab, np.float32)
        alpha, bias_alpha, clip = np.float32(self.alpha), np.float32(self.bias_alpha), np.float32(GRAD_CLIP)
        index_type = np.int32 if nnz < 2**31 else np.int64
        block = max(1, min(BLOCK_ENTRIES, -(-nnz // self.threads)))  # at least one block per thread

        def run(order: np.ndarray, begin: int, end: int) -> tuple[float, int]:
            return train_block(
                words,
                contexts,
                word_bias,
                context_bias,
                word_squares,
                context_squares,
                word_bias_squares,
                context_bias_squares,
                rows,
                cols,
                log_values,
                weights,
                order,
                begin,
                end,
                alpha,
                bias_alpha,
                clip,
            )

        self.history = []
        pool = ThreadPoolExecutor(self.threads) if self.threads > 1 else None
        monitor.begin("training", float(self.epochs) * nnz, "pairs")
        try:
            for epoch in range(self.epochs):
                started = time.perf_counter()
                order = rng.permutation(nnz).astype(index_type)
                blocks = list(pairwise([*range(0, nnz, block), nnz]))
                cost, used, done = 0.0, 0, float(epoch) * nnz
                if pool is None:
                    results = ((*run(order, begin, end), end - begin) for begin, end in blocks)
                else:
                    futures = [(pool.submit(run, order, begin, end), end - begin) for begin, end in blocks]
                    results = ((*future.result(), size) for future, size in futures)
                for block_cost, block_used, size in results:
                    cost += block_cost
                    used += block_used
                    done += size
                    monitor.update(done)
                report = EpochReport(epoch + 1, self.epochs, cost / max(1, used), nnz, "pairs", time.perf_counter() - started)
                self.history.append(report)
                monitor.epoch_done(report)
        finally:
            if pool is not None:
                pool.shutdown()
            monitor.end()
        words += contexts
        return Vectors(corpus.words, words)


def _number(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer, float, np.floating)) or not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, not {value!r}")
    return float(value)


__all__ = ["GloVe", "weighting", "glove_cost", "train_block", "adagrad_step"]
