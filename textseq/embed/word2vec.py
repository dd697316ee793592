"""word2vec: skip-gram and CBOW with negative sampling and/or hierarchical softmax (Mikolov et al.
2013), numba-compiled.

The semantics are those of Mikolov's word2vec.c, as gensim 4 follows them:

* noise words drawn from the unigram distribution raised to 0.75, through a cumulative table of
  integers over [0, 2**31 - 1) and a binary search (gensim's ``cum_table``), started from an
  index of 2**18 buckets so that most draws need no search;
* frequent-word subsampling: a word seen ``f`` times among ``total`` is kept with probability
  (sqrt(f / (sample * total)) + 1) * (sample * total) / f (capped at 1), before the window is laid;
* dynamic window: for each centre word a reduction ``b`` drawn uniformly in [0, window), so the
  context is the ``window - b`` kept words on each side, within the sentence;
* skip-gram: each context word's input vector predicts the centre word (and ``negative`` noise
  words); CBOW: the mean (or sum) of the context's input vectors predicts the centre word, and the
  error goes back whole to each context vector;
* hierarchical softmax (``hs``): word2vec.c's Huffman tree over the counts; the input predicts
  each branch on the path from the root to the word with its inner node's vector (an inner node
  whose score is beyond +-6 is not updated, as in word2vec.c); with ``negative`` too, both run;
* the learning rate decays linearly from ``alpha`` to ``min_alpha`` over all words of all epochs
  (counted before subsampling, as word2vec.c counts them), computed for every word (word2vec.c
  steps it every 10,000 words, gensim every job);
* the loss of each epoch is summed in float64 over every logistic prediction (positive, noise or
  Huffman node), reset at each epoch, and reported as a mean per prediction (:attr:`history`);
* input vectors start uniform in [-0.5/dim, 0.5/dim), output vectors at zero; the sigmoid is
  computed with exp and clipped at +-6 (word2vec.c's table bounds: 0 or 1 beyond).

Random numbers come from word2vec.c's generator (``next = next * 25214903917 + 11``, kept on 48
bits and read from its 32 high bits as gensim does),
one stream per job of about 10,000 words, seeded from ``seed`` and the job's number, so
one thread gives bit-identical vectors for a seed. With ``threads > 1``, Python threads run the
jobs through the compiled loop without the GIL, updating the shared matrices without locks
(Hogwild, as word2vec.c and gensim do), which is fast but not reproducible bit for bit.

numba is imported here only, when an embedder is made, never when textseq itself is imported.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor, as_completed
from typing import Any

import numba
import numpy as np

from textseq.embed.corpus import MAX_SENTENCE, Chunk, TrainingCorpus, check_training_arguments, check_training_memory
from textseq.embed.limits import MAX_NEGATIVE, MAX_THREADS, bounded
from textseq.embed.vectors import Vectors
from textseq.progress import EpochReport, Monitor

MAX_EXP = 6.0
NOISE_POWER = 0.75
NOISE_DOMAIN = 2**31 - 1
BUCKET_SHIFT = 13
"""Noise draws (31 bits) fall in 2**18 buckets of 2**13 values (a 1 MiB index, see :func:`noise_buckets`)."""
JOB_WORDS = 10_000
"""Words per job (gensim's batch size): the unit of work of a thread and of a random stream."""

_MULTIPLIER = np.uint64(25214903917)
_INCREMENT = np.uint64(11)
_MASK48 = np.uint64(2**48 - 1)


@numba.njit(cache=True, nogil=True)
def next_random(state):
    """word2vec.c's linear congruential generator (java.util.Random's), on 48 bits as gensim keeps it."""
    return (state * _MULTIPLIER + _INCREMENT) & _MASK48


@numba.njit(cache=True, nogil=True)
def random_int32(state):
    """The 32 high bits of the 48-bit state (the low bits of an LCG repeat with short periods)."""
    return state >> np.uint64(16)


@numba.njit(cache=True, nogil=True)
def stream_seed(seed, serial):
    """The starting state of random stream number ``serial`` for ``seed`` (splitmix64 mixing)."""
    z = np.uint64(seed) * np.uint64(0x9E3779B97F4A7C15) + np.uint64(serial) * np.uint64(0xD1B54A32D192ED03) + np.uint64(0x632BE59BD9B4E019)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return (z ^ (z >> np.uint64(31))) & _MASK48


@numba.njit(cache=True, nogil=True)
def learning_rate(alpha, min_alpha, done, total):
    """The rate after ``done`` of ``total`` words: linear from ``alpha`` down to ``min_alpha``."""
    rate = alpha - (alpha - min_alpha) * (done / total)
    return rate if rate > min_alpha else min_alpha  # noqa: FURB136 - numba's max() is slower in this hot loop


@numba.njit(cache=True, nogil=True)
def draw_noise(cum_table, buckets, state):
    """A noise word for the random ``state``: the first index whose cumulative weight exceeds
    ``x = (state >> 16) % cum_table[-1]``, found by a binary search within the bucket of ``x``
    (see :func:`noise_buckets`; the answer is that of a search over the whole table)."""
    x = np.int64((state >> np.uint64(16)) % np.uint64(cum_table[-1]))
    b = x >> BUCKET_SHIFT
    lo = buckets[b]
    hi = min(buckets[b + 1], len(cum_table) - 1)
    while lo < hi:
        mid = (lo + hi) >> 1
        if cum_table[mid] > x:
            hi = mid
        else:
            lo = mid + 1
    return lo


def noise_buckets(cum_table: np.ndarray) -> np.ndarray:
    """For each bucket b of 2**BUCKET_SHIFT draws, the first word whose cumulative weight exceeds
    ``b << BUCKET_SHIFT``: the answer for a draw in bucket b lies between its start and the next
    bucket's, so most draws need no search at all (frequent words fill whole buckets)."""
    edges = np.arange((int(cum_table[-1]) >> BUCKET_SHIFT) + 2, dtype=np.int64) << BUCKET_SHIFT
    return np.searchsorted(cum_table, edges, side="right").astype(np.int32)


@numba.njit(cache=True, nogil=True)
def noise_sample(cum_table, buckets, seed, n):
    """``n`` noise words from the generator the training loop uses (for tests)."""
    out = np.empty(n, np.int64)
    state = stream_seed(seed, 0)
    for k in range(n):
        state = next_random(state)
        out[k] = draw_noise(cum_table, buckets, state)
    return out


@numba.njit(cache=True, nogil=True, fastmath=True, inline="always")
def _logistic_update(l1, out, label, alpha, neu1e):
    """One logistic-regression step of output vector ``out`` towards ``label`` for input ``l1``:
    the input's gradient added to ``neu1e``, ``out`` updated in place. Beyond +-MAX_EXP the
    gradient is word2vec.c's saturated one.

    Returns the example's loss -log P(label) = log(1 + exp(-f)) + f (1 - label) in two parts,
    the factor 1 + exp(-f) and the term f (1 - label), so that callers can multiply factors and
    take one logarithm for many examples."""
    dim = l1.shape[0]
    f = np.float32(0.0)
    for c in range(dim):
        f += l1[c] * out[c]
    if f > MAX_EXP:
        g = (label - np.float32(1.0)) * alpha
        e = np.exp(-np.float64(f))
    elif f < -MAX_EXP:
        g = label * alpha
        e = np.exp(-np.float64(f))
    else:
        e32 = np.exp(-f)
        g = (label - np.float32(1.0) / (np.float32(1.0) + e32)) * alpha
        e = np.float64(e32)
    for c in range(dim):
        o = out[c]
        neu1e[c] += g * o
        out[c] = o + g * l1[c]
    return 1.0 + e, np.float64(f) * (1.0 - label)


@numba.njit(cache=True, nogil=True, fastmath=True, inline="always")
def _hs_logistic_update(l1, out, label, alpha, neu1e):
    """word2vec.c's hierarchical-softmax step: like :func:`_logistic_update`, but an inner node
    whose score is beyond +-MAX_EXP is left alone (its loss still counted)."""
    dim = l1.shape[0]
    f = np.float32(0.0)
    for c in range(dim):
        f += l1[c] * out[c]
    if f >= MAX_EXP or f <= -MAX_EXP:
        return 1.0 + np.exp(-np.float64(f)), np.float64(f) * (1.0 - label)
    e = np.exp(-f)
    g = (label - np.float32(1.0) / (np.float32(1.0) + e)) * alpha
    for c in range(dim):
        o = out[c]
        neu1e[c] += g * o
        out[c] = o + g * l1[c]
    return 1.0 + np.float64(e), np.float64(f) * (1.0 - label)


@numba.njit(cache=True, nogil=True, fastmath=True, inline="always")
def _predict(syn1neg, syn1, cum_table, buckets, codes, points, code_lengths, l1, word, negative, hs, alpha, neu1e, state):
    """Every update that input ``l1`` (a row of syn0, or CBOW's context vector) makes to predict
    ``word``: its Huffman path's inner nodes (hs) and one positive plus ``negative`` noise words.
    Returns (random state, summed loss, examples); one logarithm for all the examples."""
    product = 1.0
    linear = 0.0
    examples = 0
    if hs:
        for d in range(code_lengths[word]):
            factor, term = _hs_logistic_update(l1, syn1[points[word, d]], np.float32(1.0) - np.float32(codes[word, d]), alpha, neu1e)
            if product > 1e250:
                linear += np.log(product)
                product = 1.0
            product *= factor
            linear += term
        examples += code_lengths[word]
    if negative > 0:
        factor, term = _logistic_update(l1, syn1neg[word], np.float32(1.0), alpha, neu1e)
        product *= factor
        linear += term
        examples += 1
        for _ in range(negative):
            state = next_random(state)
            target = draw_noise(cum_table, buckets, state)
            if target == word:
                continue
            factor, term = _logistic_update(l1, syn1neg[target], np.float32(0.0), alpha, neu1e)
            if product > 1e250:
                linear += np.log(product)
                product = 1.0
            product *= factor
            linear += term
            examples += 1
    return state, np.log(product) + linear, examples


# One kernel, as word2vec.c's TrainModelThread is: split into inline helpers, each step needs the
# same twenty arrays and scalars passed in and its random state and sums passed back.
@numba.njit(cache=True, nogil=True, fastmath=True)
def train_job(  # noqa: C901 - one kernel on purpose (see above)
    syn0,
    syn1neg,
    syn1,
    ids,
    sentence_starts,
    first_sentence,
    end_sentence,
    keep_probability,
    cum_table,
    buckets,
    codes,
    points,
    code_lengths,
    window,
    negative,
    hs,
    cbow,
    cbow_mean,
    alpha,
    min_alpha,
    words_before,
    total_words,
    state,
):
    """Train on sentences [first_sentence, end_sentence) of a chunk. ``words_before`` is the
    corpus position of the chunk's first token (counting all epochs), from which each word's
    learning rate follows. Returns (summed loss, examples, words kept after subsampling)."""
    dim = syn0.shape[1]
    neu1 = np.zeros(dim, np.float32)
    neu1e = np.zeros(dim, np.float32)
    kept = np.empty(MAX_SENTENCE, np.int32)
    position = np.empty(MAX_SENTENCE, np.int64)
    loss = 0.0
    examples = 0
    effective = 0
    for s in range(first_sentence, end_sentence):
        begin = sentence_starts[s]
        n = 0
        for t in range(begin, sentence_starts[s + 1]):
            w = ids[t]
            if keep_probability[w] < 1.0:
                state = next_random(state)
                if keep_probability[w] * 4294967296.0 < np.float64(random_int32(state)):
                    continue
            kept[n] = w
            position[n] = t
            n += 1
        effective += n
        for i in range(n):
            word = kept[i]
            rate = np.float32(learning_rate(alpha, min_alpha, words_before + np.float64(position[i]), total_words))
            state = next_random(state)
            b = np.int64(random_int32(state) % np.uint64(window))
            lo = max(0, i - window + b)
            hi = min(n, i + window - b + 1)
            if cbow:
                for c in range(dim):
                    neu1[c] = 0.0
                    neu1e[c] = 0.0
                count = 0
                for j in range(lo, hi):
                    if j != i:
                        row = syn0[kept[j]]
                        for c in range(dim):
                            neu1[c] += row[c]
                        count += 1
                if count == 0:
                    continue
                if cbow_mean:
                    inv = np.float32(1.0) / np.float32(count)
                    for c in range(dim):
                        neu1[c] *= inv
                state, step_loss, step_examples = _predict(
                    syn1neg, syn1, cum_table, buckets, codes, points, code_lengths, neu1, word, negative, hs, rate, neu1e, state
                )
                loss += step_loss
                examples += step_examples
                for j in range(lo, hi):
                    if j != i:
                        row = syn0[kept[j]]
                        for c in range(dim):
                            row[c] += neu1e[c]
            else:
                for j in range(lo, hi):
                    if j == i:
                        continue
                    row = syn0[kept[j]]
                    for c in range(dim):
                        neu1e[c] = 0.0
                    state, step_loss, step_examples = _predict(
                        syn1neg, syn1, cum_table, buckets, codes, points, code_lengths, row, word, negative, hs, rate, neu1e, state
                    )
                    loss += step_loss
                    examples += step_examples
                    for c in range(dim):
                        row[c] += neu1e[c]
    return loss, examples, effective


@numba.njit(cache=True)
def huffman_tree(counts):
    """word2vec.c's Huffman coding of the vocabulary (``counts`` sorted most frequent first):
    for each word its code (the branches from the root, 0 or 1) and the inner nodes on its path
    (0 .. V-2, the root V-2), as (codes uint8 [V, L], points int32 [V, L], lengths int32 [V])."""
    size = len(counts)
    count = np.empty(2 * size - 1, np.int64)
    count[:size] = counts
    count[size:] = np.iinfo(np.int64).max // 4
    binary = np.zeros(2 * size - 1, np.uint8)
    parent = np.zeros(2 * size - 1, np.int64)
    pos1 = size - 1
    pos2 = size
    for a in range(size - 1):
        smallest = np.empty(2, np.int64)
        for k in range(2):
            if pos1 >= 0 and count[pos1] < count[pos2]:
                smallest[k] = pos1
                pos1 -= 1
            else:
                smallest[k] = pos2
                pos2 += 1
        count[size + a] = count[smallest[0]] + count[smallest[1]]
        parent[smallest[0]] = size + a
        parent[smallest[1]] = size + a
        binary[smallest[1]] = 1
    root = 2 * size - 2
    lengths = np.zeros(size, np.int32)
    for a in range(size):
        b = a
        while b != root:
            lengths[a] += 1
            b = parent[b]
    longest = max(1, lengths.max())
    codes = np.zeros((size, longest), np.uint8)
    points = np.zeros((size, longest), np.int32)
    for a in range(size):
        length = lengths[a]
        b = a
        i = length - 1
        while b != root:
            codes[a, i] = binary[b]
            b = parent[b]
            points[a, i] = b - size
            i -= 1
    return codes, points, lengths


def noise_table(counts: np.ndarray, power: float = NOISE_POWER, domain: int = NOISE_DOMAIN) -> np.ndarray:
    """gensim's ``cum_table``: cumulative count**power scaled to ``domain`` (int64)."""
    weights = np.asarray(counts, dtype=np.float64) ** power
    table = np.round(np.cumsum(weights) / weights.sum() * domain).astype(np.int64)
    table[-1] = domain
    return table


def keep_probabilities(counts: np.ndarray, sample: float) -> np.ndarray:
    """word2vec.c's subsampling: the probability of keeping each word (1 when ``sample`` is 0)."""
    counts = np.asarray(counts, dtype=np.float64)
    if sample <= 0:
        return np.ones(len(counts))
    threshold = sample * counts.sum()
    return np.minimum(1.0, (np.sqrt(counts / threshold) + 1.0) * threshold / counts)


def split_jobs(sentence_starts: np.ndarray, job_words: int = JOB_WORDS) -> np.ndarray:
    """Sentence indices where jobs of about ``job_words`` words begin (and the end)."""
    n_sentences = len(sentence_starts) - 1
    starts = [0]
    for s in range(1, n_sentences):
        if sentence_starts[s] - sentence_starts[starts[-1]] >= job_words:
            starts.append(s)
    starts.append(n_sentences)
    return np.asarray(starts, dtype=np.int64)


class Word2Vec:
    """The shared embedder; :class:`SkipGram` and :class:`Cbow` choose the architecture."""

    cbow = False
    default_alpha = 0.025

    def __init__(
        self,
        negative: int | None = None,
        hs: bool = False,
        sample: float = 1e-3,
        epochs: int = 1,
        iter: int | None = None,
        alpha: float | None = None,
        min_alpha: float = 0.0001,
        cbow_mean: bool = True,
        threads: int = 1,
    ) -> None:
        if iter is not None:
            epochs = iter
        hs = _as_bool(hs)
        negative = (0 if hs else 5) if negative is None else _whole("negative", negative, 0, MAX_NEGATIVE)
        if negative == 0 and not hs:
            raise ValueError("need negative >= 1, or hierarchical softmax (hs) with negative >= 0")
        if _finite("sample", sample) < 0:
            raise ValueError("sample must be >= 0 (0: no subsampling)")
        if int(epochs) < 1:
            raise ValueError("epochs must be >= 1")
        threads = _whole("threads", threads, 1, MAX_THREADS)
        alpha = self.default_alpha if alpha is None else _finite("alpha", alpha)
        if not alpha > 0 or not 0 <= _finite("min_alpha", min_alpha) <= alpha:
            raise ValueError("need alpha > 0 and 0 <= min_alpha <= alpha")
        self.negative, self.hs, self.sample, self.epochs = negative, hs, float(sample), int(epochs)
        self.alpha, self.min_alpha, self.cbow_mean, self.threads = alpha, float(min_alpha), _as_bool(cbow_mean), int(threads)
        self.trained_words = 0
        """Words trained on after subsampling, all epochs (set by :meth:`train`)."""
        self.history: list[EpochReport] = []
        """One report per epoch of the last :meth:`train`: mean loss per example (each positive,
        noise or Huffman-node prediction is an example), words, seconds."""

    def prepare(self) -> None:
        """Load the compiled training loop (numba's cache) now: the command line calls this in a
        thread while it reads the text, so the loading overlaps the reading."""
        counts = np.array([3, 2, 1], np.int64)
        codes, points, lengths = huffman_tree(counts)
        ids = np.array([0, 1, 2, 0], np.int32)
        train_job(
            np.zeros((3, 4), np.float32),
            np.zeros((3, 4), np.float32),
            np.zeros((2, 4), np.float32),
            ids,
            np.array([0, 4], np.int64),
            0,
            1,
            np.ones(3),
            noise_table(counts),
            noise_buckets(noise_table(counts)),
            codes,
            points,
            lengths,
            2,
            self.negative,
            self.hs,
            self.cbow,
            self.cbow_mean,
            self.alpha,
            self.min_alpha,
            0.0,
            4.0,
            stream_seed(np.uint64(1), 0),
        )

    def train(
        self, corpus: TrainingCorpus, *, dim: int = 100, window: int = 5, seed: int = 1, monitor: Monitor | None = None, **_: object
    ) -> Vectors:
        check_training_arguments(corpus, dim, window)
        check_training_memory(corpus, dim, 1 + (self.negative > 0) + self.hs, "word2vec")
        monitor = monitor or Monitor()
        vocab = len(corpus.words)
        rng = np.random.default_rng(seed)
        syn0 = rng.random((vocab, dim), dtype=np.float32)  # uniform in [-0.5/dim, 0.5/dim), computed in place
        syn0 -= np.float32(0.5)
        syn0 /= np.float32(dim)
        syn1neg = np.zeros((vocab if self.negative else 1, dim), np.float32)
        if self.hs:
            codes, points, lengths = huffman_tree(np.ascontiguousarray(corpus.counts, dtype=np.int64))
            syn1 = np.zeros((vocab - 1, dim), np.float32)
        else:
            codes, points, lengths = np.zeros((1, 1), np.uint8), np.zeros((1, 1), np.int32), np.zeros(1, np.int32)
            syn1 = np.zeros((1, dim), np.float32)
        keep = keep_probabilities(corpus.counts, self.sample)
        cum_table = noise_table(corpus.counts)
        buckets = noise_buckets(cum_table)
        total_words = float(max(1, corpus.tokens * self.epochs))
        seed64 = np.uint64(int(seed) % 2**64)
        serial = 0

        def run(chunk: Chunk, first: int, end: int, words_before: float, job_serial: int) -> tuple[float, int, int]:
            return train_job(
                syn0,
                syn1neg,
                syn1,
                chunk.ids,
                chunk.sentence_starts,
                first,
                end,
                keep,
                cum_table,
                buckets,
                codes,
                points,
                lengths,
                int(window),
                self.negative,
                self.hs,
                self.cbow,
                self.cbow_mean,
                self.alpha,
                self.min_alpha,
                words_before,
                total_words,
                stream_seed(seed64, job_serial),
            )

        self.trained_words = 0
        self.history = []
        pool = ThreadPoolExecutor(self.threads) if self.threads > 1 else None
        monitor.begin("training", total_words, "words")
        try:
            for epoch in range(self.epochs):
                started = time.perf_counter()
                loss, examples = 0.0, 0
                for chunk in corpus.chunks():
                    job_starts = split_jobs(chunk.sentence_starts)
                    words_before = float(epoch) * corpus.tokens + chunk.offset
                    jobs = [
                        (chunk, int(job_starts[k]), int(job_starts[k + 1]), words_before, serial + k) for k in range(len(job_starts) - 1)
                    ]
                    serial += len(jobs)
                    done = words_before
                    for job_loss, job_examples, job_words, job_tokens in self._run_jobs(run, jobs, pool):
                        loss += job_loss
                        examples += job_examples
                        self.trained_words += job_words
                        done += job_tokens
                        monitor.update(done)
                report = EpochReport(epoch + 1, self.epochs, loss / max(1, examples), corpus.tokens, "words", time.perf_counter() - started)
                self.history.append(report)
                monitor.epoch_done(report)
        finally:
            if pool is not None:
                pool.shutdown()
            monitor.end()
        return Vectors(corpus.words, syn0)

    @staticmethod
    def _run_jobs(
        run: Callable[..., tuple[float, int, int]], jobs: list[tuple[Any, ...]], pool: ThreadPoolExecutor | None
    ) -> Iterator[tuple[float, int, int, int]]:
        """(loss, examples, words kept, tokens) of each job as it ends: in order on one thread,
        as they finish on several."""

        def tokens(job: tuple[Any, ...]) -> int:
            chunk, first, end = job[:3]
            return int(chunk.sentence_starts[end] - chunk.sentence_starts[first])

        if pool is None:
            for job in jobs:
                yield (*run(*job), tokens(job))
            return
        futures = {pool.submit(run, *job): tokens(job) for job in jobs}
        for future in as_completed(futures):
            yield (*future.result(), futures[future])


def _whole(name: str, value: object, low: int, high: int) -> int:
    """A whole number in [low, high] (a string of digits too, as a plugin's options may come)."""
    return bounded(name, int(value) if isinstance(value, str) else value, low, high)


def _finite(name: str, value: object) -> float:
    number = float(value)  # type: ignore[arg-type]
    if not math.isfinite(number):
        raise ValueError(f"{name} must be a finite number, not {value!r}")
    return number


def _as_bool(value: object) -> bool:
    if isinstance(value, str):
        lowered = value.strip().lower()
        if lowered in ("1", "true", "yes", "on"):
            return True
        if lowered in ("0", "false", "no", "off"):
            return False
        raise ValueError(f"expected true or false, not {value!r}")
    return bool(value)


class SkipGram(Word2Vec):
    """Skip-gram (word2vec -cbow 0): each context word predicts the centre word."""

    cbow = False
    default_alpha = 0.025


class Cbow(Word2Vec):
    """Continuous bag of words (word2vec -cbow 1): the context's mean (or sum) predicts the centre word."""

    cbow = True
    default_alpha = 0.05


__all__ = [
    "SkipGram",
    "Cbow",
    "learning_rate",
    "noise_table",
    "noise_sample",
    "keep_probabilities",
    "huffman_tree",
    "split_jobs",
    "noise_buckets",
    "draw_noise",
]
