"""A backoff n-gram model held as numpy arrays, and its queries.

Order n is a table of n-grams, each named by (row of its context in order n-1, last word), with
its log10 probability and, below the highest order, its log10 backoff. Unigram rows are word ids.
Lookups are binary searches over packed (context, word) keys, done for many positions at once.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from textseq.ngram.corpus import BOS, UNK, Corpus
from textseq.ngram.counts import sort_with_order


@dataclass
class OrderTable:
    context: np.ndarray
    """Row of w1..wn-1 in the previous order (-1 for unigrams)."""
    word: np.ndarray
    logprob: np.ndarray
    backoff: np.ndarray
    _keys: np.ndarray | None = field(default=None, repr=False)
    _rows: np.ndarray | None = field(default=None, repr=False)

    def __len__(self) -> int:
        return len(self.word)

    def index(self, vocab_size: int) -> tuple[np.ndarray, np.ndarray]:
        """Sorted packed keys and the row each stands for."""
        if self._keys is None:
            keys = self.context.astype(np.int64) * vocab_size + self.word
            rows = np.argsort(keys, kind="stable")
            self._keys, self._rows = keys[rows], rows
        return self._keys, self._rows  # type: ignore[return-value]


@dataclass
class BackoffModel:
    """An ARPA-style backoff language model."""

    words: list[str]
    orders: list[OrderTable]
    smoothing: str = "modified-kneser-ney"
    scores_are_probabilities: bool = True
    _index: dict[str, int] | None = field(default=None, repr=False)

    @property
    def order(self) -> int:
        return len(self.orders)

    @property
    def vocab_size(self) -> int:
        return len(self.words)

    @property
    def word_index(self) -> dict[str, int]:
        if self._index is None:
            self._index = {w: i for i, w in enumerate(self.words)}
        return self._index

    def lookup(self, order: int, context_rows: np.ndarray, words: np.ndarray) -> np.ndarray:
        """Rows of the n-grams (context row, word) of ``order``; -1 where there is none."""
        if order == 1:
            return words.astype(np.int64)
        keys, rows = self.orders[order - 1].index(self.vocab_size)
        if len(keys) == 0:  # an empty order (count pruning can empty the highest): nothing is found
            return np.full(len(words), -1, dtype=np.int64)
        wanted = context_rows.astype(np.int64) * self.vocab_size + words
        if len(wanted) > 4096:  # searching in sorted order is about twice as fast
            ordered, order_of = sort_with_order(np.maximum(wanted, 0))
            at = np.empty(len(wanted), dtype=np.int64)
            at[order_of] = np.searchsorted(keys, ordered)
        else:
            at = np.searchsorted(keys, wanted)
        at_clipped = np.minimum(at, len(keys) - 1)
        found = (context_rows >= 0) & (keys[at_clipped] == wanted)
        return np.where(found, rows[at_clipped], -1)

    def ngram_words(self, order: int) -> np.ndarray:
        """The n-grams of ``order`` as a (rows, order) matrix of word ids."""
        table = self.orders[order - 1]
        if order == 1:
            return table.word[:, None].astype(np.int32)
        return np.column_stack([self.ngram_words(order - 1)[table.context], table.word]).astype(np.int32)

    def ngram_row(self, words: list[int]) -> int:
        """Row of the n-gram ``words`` in its order's table, or -1 if the model lacks it."""
        row = int(words[0])
        for n, word in enumerate(words[1:], start=2):
            row = int(self.lookup(n, np.array([row]), np.array([word]))[0])
            if row < 0:
                break
        return row

    def next_logprobs(self, history: list[int]) -> np.ndarray:
        """log10 p(w | history) for every word id w (``<s>`` gets -inf): the next-word
        distribution, backing off from the longest context the model has. A history that begins
        a sentence starts with ``<s>``."""
        logprob = self.orders[0].logprob.astype(np.float64).copy()
        for k in range(1, min(len(history), self.order - 1) + 1):
            row = self.ngram_row(history[-k:])
            if row < 0:
                break
            logprob += self.orders[k - 1].backoff[row]
            keys, rows = self.orders[k].index(self.vocab_size)
            lo, hi = np.searchsorted(keys, [row * self.vocab_size, (row + 1) * self.vocab_size])
            explicit = rows[lo:hi]
            logprob[self.orders[k].word[explicit]] = self.orders[k].logprob[explicit]
        logprob[BOS] = -np.inf
        return logprob

    def score_corpus(self, corpus: Corpus) -> np.ndarray:
        """log10 p(w | history) of every word and ``</s>`` of ``corpus`` (ids in this model's
        numbering), with ``-inf``-free backoff: at ``<s>`` positions the value is 0."""
        ids = corpus.ids.astype(np.int64)
        position = corpus.position_in_sentence()
        n_positions = len(ids)
        score = np.zeros(n_positions)
        matched = np.zeros(n_positions, dtype=bool)
        # rows[k][p]: row of the k-gram ending at p (history windows), built order by order
        rows = [np.where(ids >= 0, ids, UNK)]
        for k in range(2, self.order + 1):
            previous = np.full(n_positions, -1, dtype=np.int64)
            previous[1:] = rows[-1][:-1]
            previous[position < k - 2] = -1
            rows.append(self.lookup(k, previous, ids))
        for k in range(self.order, 0, -1):
            row = rows[k - 1]
            hit = (row >= 0) & ~matched & (position >= 0)
            score[hit] += self.orders[k - 1].logprob[row[hit]]
            matched |= hit
            if k > 1:
                # positions still unmatched back off through their history of length k-1
                history = np.full(n_positions, -1, dtype=np.int64)
                history[1:] = rows[k - 2][:-1]
                history[position < k - 2] = -1
                backing = ~matched & (position >= 0) & (history >= 0)
                score[backing] += self.orders[k - 2].backoff[history[backing]]
        score[position < 0] = 0.0
        return score
