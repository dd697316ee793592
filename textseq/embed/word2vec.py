"""word2vec: skip-gram and CBOW with negative sampling (Mikolov et al. 2013), numba-compiled.

The semantics are those of Mikolov's word2vec.c, as gensim 4 follows them:

* noise words drawn from the unigram distribution raised to 0.75, through a cumulative table of
  integers over [0, 2**31 - 1) and a binary search (gensim's ``cum_table``);
* frequent-word subsampling: a word seen ``f`` times among ``total`` is kept with probability
  (sqrt(f / (sample * total)) + 1) * (sample * total) / f (capped at 1), before the window is laid;
* dynamic window: for each centre word a reduction ``b`` drawn uniformly in [0, window), so the
  context is the ``window - b`` kept words on each side, within the sentence;
* skip-gram: each context word's input vector predicts the centre word (and ``negative`` noise
  words); CBOW: the mean (or sum) of the context's input vectors predicts the centre word, and the
  error goes back whole to each context vector;
* the learning rate decays linearly from ``alpha`` to ``min_alpha`` over all words of all epochs
  (counted before subsampling, as word2vec.c counts them), set afresh at each sentence;
* input vectors start uniform in [-0.5/dim, 0.5/dim), output vectors at zero; the sigmoid is
  computed with exp and clipped at +-6 (word2vec.c's table bounds: 0 or 1 beyond).

Random numbers come from word2vec.c's generator (``next = next * 25214903917 + 11``, kept on 48
bits and read from its 32 high bits as gensim does),
one stream per job of about 10,000 words, seeded from ``seed``, the epoch and the job's number, so
one thread gives bit-identical vectors for a seed. With ``threads > 1``, Python threads run the
jobs through the compiled loop without the GIL, updating the shared matrices without locks
(Hogwild, as word2vec.c and gensim do), which is fast but not reproducible bit for bit.

numba is imported here only, when a trainer is made, never when textseq itself is imported.
"""

from __future__ import annotations

import threading

import numba
import numpy as np

from textseq.embed.corpus import TrainingCorpus
from textseq.embed.vectors import Vectors

MAX_EXP = 6.0
NOISE_POWER = 0.75
NOISE_DOMAIN = 2**31 - 1
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
    return rate if rate > min_alpha else min_alpha


@numba.njit(cache=True, nogil=True)
def draw_noise(cum_table, state):
    """A noise word for the random ``state``: the first index whose cumulative weight exceeds
    ``(state >> 16) % cum_table[-1]``."""
    x = np.int64((state >> np.uint64(16)) % np.uint64(cum_table[-1]))
    lo, hi = 0, len(cum_table) - 1
    while lo < hi:
        mid = (lo + hi) >> 1
        if cum_table[mid] > x:
            hi = mid
        else:
            lo = mid + 1
    return lo


@numba.njit(cache=True, nogil=True)
def noise_sample(cum_table, seed, n):
    """``n`` noise words from the generator the training loop uses (for tests)."""
    out = np.empty(n, np.int64)
    state = stream_seed(seed, 0)
    for k in range(n):
        state = next_random(state)
        out[k] = draw_noise(cum_table, state)
    return out


@numba.njit(cache=True, nogil=True, fastmath=True)
def _negative_step(syn0, syn1neg, cum_table, l1, word, negative, alpha, neu1e, state):
    """One positive and ``negative`` noise updates of the output vectors for input vector ``l1``
    (a row of ``syn0``, or the CBOW context vector), the input's gradient added to ``neu1e``."""
    dim = l1.shape[0]
    for d in range(negative + 1):
        if d == 0:
            target = word
            label = np.float32(1.0)
        else:
            state = next_random(state)
            target = draw_noise(cum_table, state)
            if target == word:
                continue
            label = np.float32(0.0)
        out = syn1neg[target]
        f = np.float32(0.0)
        for c in range(dim):
            f += l1[c] * out[c]
        if f > MAX_EXP:
            g = (label - np.float32(1.0)) * alpha
        elif f < -MAX_EXP:
            g = label * alpha
        else:
            g = (label - np.float32(1.0) / (np.float32(1.0) + np.exp(-f))) * alpha
        for c in range(dim):
            neu1e[c] += g * out[c]
        for c in range(dim):
            out[c] += g * l1[c]
    return state


@numba.njit(cache=True, nogil=True, fastmath=True)
def train_jobs(syn0, syn1neg, ids, sentence_starts, job_starts, jobs, keep_probability, cum_table,
               window, negative, cbow, cbow_mean, alpha, min_alpha, epoch, total_words, seed):
    """Train on the jobs ``jobs`` (indices into ``job_starts``, each a run of whole sentences) of
    one epoch; returns the number of words trained on after subsampling."""
    dim = syn0.shape[1]
    neu1 = np.zeros(dim, np.float32)
    neu1e = np.zeros(dim, np.float32)
    longest = 0
    for k in range(len(sentence_starts) - 1):
        longest = max(longest, sentence_starts[k + 1] - sentence_starts[k])
    kept = np.empty(longest, np.int32)
    effective = 0
    words_per_epoch = sentence_starts[-1]
    n_jobs = len(job_starts) - 1
    for job in jobs:
        state = stream_seed(seed, np.int64(epoch) * n_jobs + job)
        for s in range(job_starts[job], job_starts[job + 1]):
            begin = sentence_starts[s]
            end = sentence_starts[s + 1]
            # the learning rate of the sentence's first word, by words seen before subsampling
            rate = np.float32(learning_rate(alpha, min_alpha, np.float64(epoch) * words_per_epoch + begin, total_words))
            n = 0
            for t in range(begin, end):
                w = ids[t]
                if keep_probability[w] < 1.0:
                    state = next_random(state)
                    if keep_probability[w] * 4294967296.0 < np.float64(random_int32(state)):
                        continue
                kept[n] = w
                n += 1
            effective += n
            for i in range(n):
                word = kept[i]
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
                    state = _negative_step(syn0, syn1neg, cum_table, neu1, word, negative, rate, neu1e, state)
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
                        state = _negative_step(syn0, syn1neg, cum_table, row, word, negative, rate, neu1e, state)
                        for c in range(dim):
                            row[c] += neu1e[c]
    return effective


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
    """The shared trainer; :class:`SkipGram` and :class:`Cbow` choose the architecture."""

    cbow = False
    default_alpha = 0.025

    def __init__(self, negative: int = 5, sample: float = 1e-3, epochs: int = 1, iter: int | None = None,
                 alpha: float | None = None, min_alpha: float = 0.0001, cbow_mean: bool = True, threads: int = 1) -> None:
        if iter is not None:
            epochs = iter
        if int(negative) < 1:
            raise ValueError("negative must be >= 1 (hierarchical softmax is not available)")
        if float(sample) < 0:
            raise ValueError("sample must be >= 0 (0: no subsampling)")
        if int(epochs) < 1:
            raise ValueError("epochs must be >= 1")
        if int(threads) < 1:
            raise ValueError("threads must be >= 1")
        alpha = self.default_alpha if alpha is None else float(alpha)
        if not alpha > 0 or not 0 <= float(min_alpha) <= alpha:
            raise ValueError("need alpha > 0 and 0 <= min_alpha <= alpha")
        self.negative, self.sample, self.epochs = int(negative), float(sample), int(epochs)
        self.alpha, self.min_alpha, self.cbow_mean, self.threads = alpha, float(min_alpha), bool(cbow_mean), int(threads)
        self.trained_words = 0
        """Words trained on after subsampling, all epochs (set by :meth:`train`)."""

    def train(self, corpus: TrainingCorpus, *, dim: int = 100, window: int = 5, seed: int = 1, **_: object) -> Vectors:
        if len(corpus.words) < 2:
            raise ValueError("too few words for vectors: lower --min-count or give more text")
        if window < 1:
            raise ValueError("window must be >= 1")
        rng = np.random.default_rng(seed)
        syn0 = ((rng.random((len(corpus.words), dim), dtype=np.float32) - np.float32(0.5)) / np.float32(dim)).astype(np.float32)
        syn1neg = np.zeros_like(syn0)
        ids = np.ascontiguousarray(corpus.ids, dtype=np.int32)
        if len(ids):
            breaks = np.flatnonzero(np.diff(corpus.sentence)) + 1
            sentence_starts = np.concatenate(([0], breaks, [len(ids)])).astype(np.int64)
        else:
            sentence_starts = np.zeros(1, np.int64)
        job_starts = split_jobs(sentence_starts)
        n_jobs = len(job_starts) - 1
        keep = keep_probabilities(corpus.counts, self.sample)
        cum_table = noise_table(corpus.counts)
        total_words = float(max(1, len(ids) * self.epochs))
        seed64 = int(seed) % 2**64
        threads = max(1, min(self.threads, n_jobs))

        def run(epoch: int, jobs: np.ndarray, out: list[int], slot: int) -> None:
            out[slot] = train_jobs(syn0, syn1neg, ids, sentence_starts, job_starts, jobs, keep, cum_table, int(window),
                                   self.negative, self.cbow, self.cbow_mean, self.alpha, self.min_alpha, epoch,
                                   total_words, np.uint64(seed64))

        self.trained_words = 0
        for epoch in range(self.epochs):
            done = [0] * threads
            if threads == 1:
                run(epoch, np.arange(n_jobs, dtype=np.int64), done, 0)
            else:
                workers = [threading.Thread(target=run, args=(epoch, np.arange(t, n_jobs, threads, dtype=np.int64), done, t))
                           for t in range(threads)]
                for worker in workers:
                    worker.start()
                for worker in workers:
                    worker.join()
            self.trained_words += sum(done)
        return Vectors(corpus.words, syn0)


class SkipGram(Word2Vec):
    """Skip-gram with negative sampling (word2vec -cbow 0)."""

    cbow = False
    default_alpha = 0.025


class Cbow(Word2Vec):
    """Continuous bag of words with negative sampling (word2vec -cbow 1), context mean by default."""

    cbow = True
    default_alpha = 0.05


__all__ = ["SkipGram", "Cbow", "learning_rate", "noise_table", "noise_sample", "keep_probabilities"]
