"""A backoff n-gram model held as numpy arrays, and its queries.

Order n is a table of n-grams, each named by (row of its context in order n-1, last word), with
its log10 probability and, below the highest order, its log10 backoff. Unigram rows are word ids.
Lookups are binary searches over packed (context, word) keys, done for many positions at once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from textseq.ngram.corpus import BOS, Corpus
from textseq.ngram.counts import find_sorted


class OrderTable:
    """The n-grams of one order: the row of each one's context in the order below (-1 for
    unigrams, whose rows are word ids), its last word, log10 probability and log10 backoff.

    A table read from the binary format holds its rows sorted by their packed key
    ``context * vocab_size + word`` and only those keys: its contexts and words are computed from
    them when first asked for, and its lookup index is the keys themselves."""

    def __init__(self, context: np.ndarray, word: np.ndarray, logprob: np.ndarray, backoff: np.ndarray) -> None:
        self._context: np.ndarray | None = context
        self._word: np.ndarray | None = word
        self.logprob = logprob
        self.backoff = backoff
        self._keys: np.ndarray | None = None
        self._rows: np.ndarray | None = None
        self._key_vocab = 0

    @classmethod
    def from_sorted_keys(cls, keys: np.ndarray, vocab_size: int, logprob: np.ndarray, backoff: np.ndarray) -> OrderTable:
        """The table whose row i is the n-gram of ``keys[i]`` (strictly increasing)."""
        table = cls(None, None, logprob, backoff)  # type: ignore[arg-type]
        table._keys, table._key_vocab = keys, vocab_size
        return table

    @property
    def context(self) -> np.ndarray:
        if self._context is None:
            self._context = self._stored_keys() // self._key_vocab
        return self._context

    @context.setter
    def context(self, value: np.ndarray) -> None:
        self.word  # noqa: B018 - computed from the keys before they go
        self._context, self._keys, self._rows = value, None, None

    @property
    def word(self) -> np.ndarray:
        if self._word is None:
            self._word = (self._stored_keys() % self._key_vocab).astype(np.int32)
        return self._word

    def _stored_keys(self) -> np.ndarray:
        if self._keys is None:
            raise AssertionError("a table has its contexts and words or its keys")
        return self._keys

    def __len__(self) -> int:
        return len(self.logprob)

    def index(self, vocab_size: int) -> tuple[np.ndarray, np.ndarray | None]:
        """The packed keys in increasing order, and the row each stands for (None where row i
        is key i)."""
        if self._keys is None:
            keys = self.context.astype(np.int64) * vocab_size + self.word
            if len(keys) < 2 or bool((keys[1:] > keys[:-1]).all()):  # as counting writes them
                self._keys, self._rows = keys, None
            else:
                rows = np.argsort(keys)  # a valid table's keys are distinct: any sort is the stable one, and twice as fast
                ordered = keys[rows]
                if (ordered[1:] == ordered[:-1]).any():  # an n-gram twice: its rows in file order, for the message
                    rows = np.argsort(keys, kind="stable")
                    ordered = keys[rows]
                self._keys, self._rows = ordered, rows
            self._key_vocab = vocab_size
        return self._keys, self._rows


@dataclass
class BackoffModel:
    """An ARPA-style backoff language model."""

    words: list[str]
    orders: list[OrderTable]
    smoothing: str = "modified-kneser-ney"
    scores_are_probabilities: bool = True
    _index: dict[str, int] | None = field(default=None, repr=False)
    _pending: Callable[[], None] | None = field(default=None, repr=False)
    """A check still running on the file the model was read from (see :meth:`settle`)."""

    def settle(self) -> None:
        """Wait for the checks that opening the model left running (a binary model's checksum,
        see :func:`textseq.ngram.binary.read_binary`): raises InputError if the file is damaged."""
        if self._pending is not None:
            pending, self._pending = self._pending, None
            pending()

    @property
    def order(self) -> int:
        return len(self.orders)

    @property
    def vocab_size(self) -> int:
        return len(self.words)

    @property
    def word_index(self) -> dict[str, int]:
        if self._index is None:
            self._index = dict(zip(self.words, range(len(self.words))))
        return self._index

    def lookup(self, order: int, context_rows: np.ndarray, words: np.ndarray) -> np.ndarray:
        """Rows of the n-grams (context row, word) of ``order``; -1 where there is none."""
        if order == 1:
            return words.astype(np.int64)
        found = np.full(len(words), -1, dtype=np.int64)
        asked = np.flatnonzero(context_rows >= 0)
        at, rows = self._find(order, context_rows[asked].astype(np.int64) * self.vocab_size + words[asked])
        found[asked[at]] = rows
        return found

    def _find(self, order: int, wanted: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(the indices of the packed keys in ``wanted`` that order ``order`` has, in no
        particular order; their rows)."""
        keys, rows = self.orders[order - 1].index(self.vocab_size)
        which, at = find_sorted(keys, wanted)
        return which, at if rows is None else rows[at]

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
            explicit = np.arange(lo, hi) if rows is None else rows[lo:hi]
            logprob[self.orders[k].word[explicit]] = self.orders[k].logprob[explicit]
        logprob[BOS] = -np.inf
        return logprob

    def score_corpus(self, corpus: Corpus) -> np.ndarray:
        """log10 p(w | history) of every word and ``</s>`` of ``corpus`` (ids in this model's
        numbering), with ``-inf``-free backoff: at ``<s>`` positions the value is 0.

        Order by order, the n-grams ending at each position that the model has are found from
        those of the order below: a k-gram ending at p is the context of a (k+1)-gram ending at
        p+1 when p+1 continues its sentence. Only found n-grams are carried up, never an array
        the length of the text per order. A position's score is the log10 probability of its
        longest n-gram plus the backoffs of its longer histories, summed as KenLM sums them."""
        words = corpus.ids.astype(np.int64)
        size = len(words)
        continues = np.zeros(size, dtype=bool)  # position p+1 is a word or </s> of p's sentence
        np.not_equal(words[1:], BOS, out=continues[:-1])
        longest = np.ones(size, dtype=np.int8)
        found: list[tuple[np.ndarray, np.ndarray]] = []  # per order above 1: (positions, rows)
        positions, rows = np.flatnonzero(continues), words[continues]
        for k in range(2, self.order + 1):
            positions += 1
            which, rows = self._find(k, rows * self.vocab_size + words[positions])
            positions = positions[which]
            found.append((positions, rows))
            longest[positions] = k
            keep = continues[positions]
            positions, rows = positions[keep], rows[keep]
        score = np.zeros(size)
        for k in range(self.order - 1, 1, -1):  # the backoff of each history of length k
            after, history = found[k - 2]
            keep = continues[after]
            after, history = after[keep] + 1, history[keep]
            backs = longest[after] <= k
            score[after[backs]] += self.orders[k - 1].backoff[history[backs]]
        if self.order > 1:
            backs = continues[:-1] & (longest[1:] == 1)
            score[1:][backs] += self.orders[0].backoff[words[:-1][backs]]
        unigram = longest == 1
        score[unigram] += self.orders[0].logprob[words[unigram]]
        for k, (positions, rows) in enumerate(found, start=2):
            top = longest[positions] == k
            score[positions[top]] += self.orders[k - 1].logprob[rows[top]]
        score[words == BOS] = 0.0
        return score
