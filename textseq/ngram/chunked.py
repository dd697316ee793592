"""Counting in bounded memory: count the corpus a chunk of sentences at a time, fold each chunk's
distinct n-grams into running totals, and link the totals into :class:`NgramCounts` at the end.

Memory is then bounded by the chunk size plus the number of distinct n-grams (the size of the
model), not by the length of the corpus. The result is the same as :func:`count_ngrams` over the
whole corpus, KenLM's bookkeeping (:attr:`NgramCounts.last_window`) included.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

import numpy as np

from textseq.ngram.columns import Column, Store, whole
from textseq.ngram.corpus import BOS, Corpus, CorpusBuilder
from textseq.ngram.counts import NgramCounts, OrderCounts, count_ngrams, find_sorted, greatest_window

BYTES_PER_WORD = 120
"""What a word of the vocabulary costs while counting (its string, its entry in the word index);
the budget left for a chunk's tokens shrinks as the vocabulary grows."""
BYTES_PER_TOKEN = 150
"""What counting a chunk costs per token at order 5 (ids, positions, keys, sorts): about 150 bytes
measured, the chunk's peak over what the process held before it, on 15M tokens of natural English."""

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


LINK_ROWS = 1 << 20
"""Rows of an order linked at a time."""

TallyOrder = tuple[Column, Column, Column]
"""An order of a tally above the unigrams: (context row, word, count) per n-gram, as columns."""


def link(tally: Tally, last_words: tuple[int, ...] | None) -> NgramCounts:
    """The :class:`NgramCounts` of ``tally``: each n-gram's suffix row and whether it begins with
    ``<s>``, and KenLM's greatest window (``last_words``, its words; None for an empty text)."""
    orders, last = link_columns(tally.unigrams, list(zip(tally.context, tally.word, tally.count)), last_words, Store())
    return NgramCounts(
        vocab_size=len(tally.unigrams),
        orders=[OrderCounts(t.order, *(whole(c) for c in (t.context, t.suffix, t.word, t.count, t.starts_with_bos))) for t in orders],
        last_window=last,
    )


def link_into(tally: Tally, last_words: tuple[int, ...] | None, store: Store) -> SpilledCounts:
    """:func:`link`, each order put in ``store`` (spilled, ids as int32 where they fit) as it is
    linked; ``tally`` gives up its arrays as they are used."""

    def orders() -> Iterator[TallyOrder]:
        while tally.context:
            yield tally.context.pop(0), tally.word.pop(0), tally.count.pop(0)

    linked, last = link_columns(tally.unigrams, orders(), last_words, store, compact=True)
    return SpilledCounts(vocab_size=len(tally.unigrams), orders=linked, last_window=last)


def link_columns(
    unigrams: np.ndarray,
    orders: Iterable[TallyOrder],
    last_words: tuple[int, ...] | None,
    store: Store,
    *,
    compact: bool = False,
) -> tuple[list[SpilledOrder], list[int]]:
    """Each order of a tally (the unigram counts, then ``orders`` from 2 up) linked a slice of
    rows at a time into ``store``: each n-gram's suffix row and whether it begins with ``<s>``,
    holding only the order below's keys and links whole; and the rows of KenLM's greatest window
    per order (see :func:`link`). ``compact``: row and word ids as int32 where they fit."""
    vocab = len(unigrams)
    words_1 = np.arange(vocab, dtype=np.int64)
    below_bos = words_1 == BOS
    linked = [SpilledOrder(1, np.full(vocab, -1), np.full(vocab, -1), words_1, unigrams, below_bos)]
    below_keys, below_suffix = words_1, np.full(vocab, -1)
    walks: dict[int, int] = {}  # window length k -> the row reached so far of the window's last k words
    if last_words is not None:
        walks = {k: last_words[-k] for k in range(2, len(last_words) + 1) if BOS not in last_words[-k + 1 :]}
    for n, (context_column, word_column, count_column) in enumerate(orders, start=2):
        size = len(word_column)
        ids = np.dtype(np.int32) if compact and max(len(below_keys), vocab) < 2**31 else np.dtype(np.int64)
        writers = [store.writer(f"{name}{n}", ids) for name in ("context", "suffix", "word")]
        counts, flags = store.writer(f"count{n}", np.dtype(np.int64)), store.writer(f"bos{n}", np.dtype(bool))
        keys = np.empty(size, dtype=np.int64)
        suffixes = np.empty(size, dtype=np.int64)
        starts_with_bos = np.empty(size, dtype=bool)
        for start in range(0, size, LINK_ROWS):
            stop = min(start + LINK_ROWS, size)
            context = context_column[start:stop].astype(np.int64)
            word = word_column[start:stop].astype(np.int64)
            suffix = suffixes[start:stop]
            if n == 2:
                suffix[:] = word
            else:
                suffix.fill(-1)
                which, at = find_sorted(below_keys, below_suffix[context] * vocab + word)
                suffix[which] = at
            np.multiply(context, vocab, out=keys[start:stop])
            keys[start:stop] += word
            starts_with_bos[start:stop] = below_bos[context]
            for writer, values in zip(writers, (context, suffix, word)):
                writer.append(values.astype(ids))
            counts.append(count_column[start:stop].astype(np.int64))
            flags.append(starts_with_bos[start:stop])
        context_out, suffix_out, word_out = (writer.close() for writer in writers)
        linked.append(SpilledOrder(n, context_out, suffix_out, word_out, counts.close(), flags.close()))
        for k, row in walks.items():
            if k >= n and row >= 0 and last_words is not None:
                which, at = find_sorted(keys, np.array([row * vocab + last_words[len(last_words) - k + n - 1]], dtype=np.int64))
                walks[k] = int(at[0]) if len(which) else -1
        below_keys, below_suffix, below_bos = keys, suffixes, starts_with_bos
    last = [-1 if last_words is None else last_words[-1]] + [walks.get(k, -1) for k in range(2, len(linked) + 1)]
    return linked, last


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
    merged: list[Tally] = []

    def fold(tally: Tally) -> None:
        merged[:] = [tally if not merged else merge_tallies(merged[0], tally)]

    greatest, words, sentences, tokens = chunk_tallies(blocks, order, memory, vocabulary, fold)
    tally = merged[0] if merged else tally_of(count_ngrams(Corpus(np.empty(0, dtype=np.int32), words, 0, 0, 0), order))
    tally.unigrams = np.concatenate([tally.unigrams, np.zeros(len(words) - len(tally.unigrams), dtype=np.int64)])
    return Tallied(tally, greatest, words, sentences, tokens)


def chunk_tallies(
    blocks: Iterable[str],
    order: int,
    memory: int,
    vocabulary: Iterable[str] | None,
    take: Callable[[Tally], None],
    *,
    resident: Callable[[], int | None] = lambda: None,
) -> tuple[tuple[int, ...] | None, list[str], int, int]:
    """Count the text in ``blocks`` a chunk of about ``memory`` bytes' worth at a time, giving
    each chunk's tally to ``take`` (word ids numbered across chunks, so a chunk's unigram counts
    cover the words seen so far); (the words of its greatest window, its words, sentences,
    tokens). A chunk gets what is left of ``memory`` after what the process holds: ``resident``'s
    measure of it where it gives one (the caller's tallies must then leave the process as they are
    taken), else the vocabulary reckoned at ``BYTES_PER_WORD`` a word."""
    builder = CorpusBuilder(vocabulary)
    greatest: tuple[int, ...] | None = None
    sentences = tokens = 0

    def flush() -> None:
        nonlocal greatest, sentences, tokens
        chunk = builder.build()
        builder.reset_chunks()
        if not len(chunk.ids):
            return
        sentences += chunk.sentences
        tokens += chunk.tokens
        window = _greatest_window_words(chunk, order)
        if greatest is None or _suffix_key(window) > _suffix_key(greatest):
            greatest = window
        take(tally_of(count_ngrams(chunk, order)))

    def room() -> int:
        held = resident()
        return memory - (len(builder.index) * BYTES_PER_WORD if held is None else held)

    chunk_tokens = max(10_000, room() // BYTES_PER_TOKEN)
    for block in blocks:
        builder.add_block(block)
        if builder.pending_tokens() >= chunk_tokens:
            flush()
            chunk_tokens = max(10_000, room() // BYTES_PER_TOKEN)
    flush()
    return greatest, builder.build().words, sentences, tokens


def _greatest_window_words(corpus: Corpus, order: int) -> tuple[int, ...]:
    """The words of the corpus's greatest full-order window in KenLM's suffix order, ``<s>``
    padded."""
    position = corpus.position_in_sentence()
    end = greatest_window(corpus, position, order)
    j = int(position[end])
    return tuple(int(corpus.ids[end - back]) if j - back >= -1 else BOS for back in range(order - 1, -1, -1))
