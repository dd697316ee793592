"""Counting in bounded memory: count the corpus a chunk of sentences at a time, fold each chunk's
distinct n-grams into running totals, and link the totals into :class:`NgramCounts` at the end.

Memory is then bounded by the chunk size plus the number of distinct n-grams (the size of the
model), not by the length of the corpus. The result is the same as :func:`count_ngrams` over the
whole corpus, KenLM's bookkeeping (:attr:`NgramCounts.last_window`) included.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TypeVar

import numpy as np

from textseq.ngram.columns import Column, Store
from textseq.ngram.corpus import BOS, Corpus, CorpusBuilder
from textseq.ngram.counts import NgramCounts, OrderCounts, count_ngrams, find_sorted, greatest_window

BYTES_PER_TOKEN = 96
"""What counting costs per token of a chunk, roughly, at order 5 (ids, positions, keys, sorts)."""

T = TypeVar("T")

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


@dataclass
class Tally:
    """The distinct n-grams of a text and their counts, as :func:`count_ngrams` lays them out:
    each order above the unigrams sorted by (row of its context in the order below, last word),
    which is the order of their words, first word first. Tallies of parts of a text
    (:func:`merge_tallies`) are the tally of the whole."""

    unigrams: np.ndarray
    """The count of each word id."""
    context: list[np.ndarray]
    """Per order from 2 up, each n-gram's context row in the order below."""
    word: list[np.ndarray]
    count: list[np.ndarray]


def tally_of(counts: NgramCounts) -> Tally:
    orders = counts.orders[1:]
    return Tally(counts.orders[0].count.copy(), [t.context for t in orders], [t.word for t in orders], [t.count for t in orders])


def merge_tallies(first: Tally, second: Tally) -> Tally:
    """The tally of the two texts together (of the same order; word ids numbered alike).

    Order by order, each side's n-grams are packed into keys of their context's row in the
    merged order below and their word; both key arrays are sorted, so the second's are placed in
    the first's with one search of sorted keys, and no sort of the whole is needed."""
    vocab = max(len(first.unigrams), len(second.unigrams))
    unigrams = np.zeros(vocab, dtype=np.int64)
    unigrams[: len(first.unigrams)] += first.unigrams
    unigrams[: len(second.unigrams)] += second.unigrams
    merged = Tally(unigrams, [], [], [])
    row_first: np.ndarray | None = None  # rows of the order below, in the merged order below (None: the same)
    row_second: np.ndarray | None = None
    for context_a, word_a, count_a, context_b, word_b, count_b in zip(
        first.context, first.word, first.count, second.context, second.word, second.count
    ):
        keys_a = (context_a if row_first is None else row_first[context_a]).astype(np.int64) * vocab + word_a
        keys_b = (context_b if row_second is None else row_second[context_b]).astype(np.int64) * vocab + word_b
        at = np.searchsorted(keys_a, keys_b)
        seen = np.zeros(len(keys_b), dtype=bool)
        if len(keys_a):
            seen = keys_a[np.minimum(at, len(keys_a) - 1)] == keys_b
        new = ~seen
        before = np.cumsum(np.bincount(at[new], minlength=len(keys_a) + 1))  # new keys placed before each old one
        row_first = np.arange(len(keys_a)) + before[: len(keys_a)]
        row_second = np.empty(len(keys_b), dtype=np.int64)
        row_second[seen] = row_first[at[seen]]
        row_second[new] = at[new] + np.arange(int(new.sum()))
        keys = np.empty(len(keys_a) + int(new.sum()), dtype=np.int64)
        keys[row_first] = keys_a
        keys[row_second[new]] = keys_b[new]
        count = np.zeros(len(keys), dtype=np.int64)
        count[row_first] = count_a
        count[row_second] += count_b
        merged.context.append(keys // vocab)
        merged.word.append(keys % vocab)
        merged.count.append(count)
    return merged


@dataclass
class SpilledOrder:
    """One order's counts as :class:`~textseq.ngram.counts.OrderCounts` has them, each array a
    column of a :class:`~textseq.ngram.columns.Store`."""

    order: int
    context: Column
    suffix: Column
    word: Column
    count: Column
    starts_with_bos: Column

    def __len__(self) -> int:
        return len(self.count)


@dataclass
class SpilledCounts:
    """:class:`~textseq.ngram.counts.NgramCounts` with its orders in a store."""

    vocab_size: int
    orders: list[SpilledOrder]
    last_window: list[int]


def link(tally: Tally, last_words: tuple[int, ...] | None) -> NgramCounts:
    """The :class:`NgramCounts` of ``tally``: each n-gram's suffix row and whether it begins with
    ``<s>``, and KenLM's greatest window (``last_words``, its words; None for an empty text)."""
    orders, last = _linked(tally, last_words, OrderCounts)
    return NgramCounts(vocab_size=len(tally.unigrams), orders=orders, last_window=last)


def link_into(tally: Tally, last_words: tuple[int, ...] | None, store: Store) -> SpilledCounts:
    """:func:`link`, each order put in ``store`` as it is linked; ``tally`` gives up its arrays
    as they are used."""

    def spill(n: int, context: np.ndarray, suffix: np.ndarray, word: np.ndarray, count: np.ndarray, bos: np.ndarray) -> SpilledOrder:
        return SpilledOrder(
            n,
            store.put(f"context{n}", _compact(context)),
            store.put(f"suffix{n}", _compact(suffix)),
            store.put(f"word{n}", _compact(word)),
            store.put(f"count{n}", count),
            store.put(f"bos{n}", bos),
        )

    orders, last = _linked(tally, last_words, spill, release=True)
    return SpilledCounts(vocab_size=len(tally.unigrams), orders=orders, last_window=last)


def _compact(values: np.ndarray) -> np.ndarray:
    """``values`` as int32 where they fit (row and word ids)."""
    if len(values) and int(values.min()) >= -(2**31) and int(values.max()) < 2**31:
        return values.astype(np.int32)
    return values


def _linked(
    tally: Tally,
    last_words: tuple[int, ...] | None,
    make: Callable[[int, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray], T],
    *,
    release: bool = False,
) -> tuple[list[T], list[int]]:
    """Each order of ``tally`` linked (``make(order, context, suffix, word, count,
    starts_with_bos)``), an order at a time, holding only the order below's links; and the rows of
    KenLM's greatest window per order. With ``release``, the tally's arrays go as they are used."""
    vocab = len(tally.unigrams)
    words_1 = np.arange(vocab, dtype=np.int64)
    below_bos = words_1 == BOS
    orders = [make(1, np.full(vocab, -1), np.full(vocab, -1), words_1, tally.unigrams, below_bos)]
    below_keys, below_suffix = words_1, np.full(vocab, -1)
    top = len(tally.context) + 1
    walks = [-1] * (top + 1)  # walks[k]: the row reached so far of the window's last k words
    for k in range(1, top + 1):
        if last_words is not None and not (k > 1 and BOS in last_words[-k + 1 :]):
            walks[k] = last_words[-k]
    for n in range(2, top + 1):
        context, word, count = tally.context[n - 2], tally.word[n - 2], tally.count[n - 2]
        if release:
            tally.context[n - 2] = tally.word[n - 2] = tally.count[n - 2] = np.empty(0, dtype=np.int64)
        if n == 2:
            suffix = word.astype(np.int64)
        else:
            suffix = np.full(len(word), -1, dtype=np.int64)
            which, at = find_sorted(below_keys, below_suffix[context] * vocab + word)
            suffix[which] = at
        keys = context * vocab + word
        for k in range(n, top + 1):
            if walks[k] >= 0 and last_words is not None:
                next_word = last_words[len(last_words) - k + n - 1]
                which, at = find_sorted(keys, np.array([walks[k] * vocab + next_word], dtype=np.int64))
                walks[k] = int(at[0]) if len(which) else -1
        bos = below_bos[context]
        orders.append(make(n, context, suffix, word.astype(np.int64), count, bos))
        below_keys, below_suffix, below_bos = keys, suffix, bos
    return orders, walks[1:]


@dataclass
class Tallied:
    """A text's :class:`Tally`, the words of its greatest window (see :func:`link`), its words
    (id -> word), sentences and tokens."""

    tally: Tally
    greatest: tuple[int, ...] | None
    words: list[str]
    sentences: int
    tokens: int


def count_in_chunks(
    blocks: Iterable[str], order: int, memory: int, vocabulary: Iterable[str] | None = None
) -> tuple[NgramCounts, list[str], int, int]:
    """(counts, words, sentences, tokens) of the text in ``blocks``, counted a chunk at a time so
    that counting takes about ``memory`` bytes plus the distinct n-grams."""
    tallied = tally_in_chunks(blocks, order, memory, vocabulary)
    return link(tallied.tally, tallied.greatest), tallied.words, tallied.sentences, tallied.tokens


def tally_in_chunks(blocks: Iterable[str], order: int, memory: int, vocabulary: Iterable[str] | None = None) -> Tallied:
    """The tally of the text in ``blocks``, counted a chunk of about ``memory`` bytes' worth of
    text at a time and merged."""
    chunk_tokens = max(10_000, memory // BYTES_PER_TOKEN)
    builder = CorpusBuilder(vocabulary)
    tally: Tally | None = None
    greatest: tuple[int, ...] | None = None
    sentences = tokens = 0

    def flush() -> None:
        nonlocal greatest, sentences, tokens, tally
        chunk = builder.build()
        builder.reset_chunks()
        if not len(chunk.ids):
            return
        sentences += chunk.sentences
        tokens += chunk.tokens
        counted = tally_of(count_ngrams(chunk, order))
        tally = counted if tally is None else merge_tallies(tally, counted)
        window = _greatest_window_words(chunk, order)
        if greatest is None or _suffix_key(window) > _suffix_key(greatest):
            greatest = window

    for block in blocks:
        builder.add_block(block)
        if builder.pending_tokens() >= chunk_tokens:
            flush()
    flush()
    words = builder.build().words
    if tally is None:
        tally = tally_of(count_ngrams(builder.build(), order))
    tally.unigrams = np.concatenate([tally.unigrams, np.zeros(len(words) - len(tally.unigrams), dtype=np.int64)])
    return Tallied(tally, greatest, words, sentences, tokens)


def _greatest_window_words(corpus: Corpus, order: int) -> tuple[int, ...]:
    """The words of the corpus's greatest full-order window in KenLM's suffix order, ``<s>``
    padded."""
    position = corpus.position_in_sentence()
    end = greatest_window(corpus, position, order)
    j = int(position[end])
    return tuple(int(corpus.ids[end - back]) if j - back >= -1 else BOS for back in range(order - 1, -1, -1))
