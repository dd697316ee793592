"""N-gram counting over a whole corpus with numpy: no Python loop per n-gram.

Every n-gram is named by an integer id per order: the id of ``w1..wn`` is the rank of the pair
(id of ``w1..wn-1``, ``wn``) packed into one int64, so each order is one sort of one integer array.
A window of length n ending at a position is an n-gram when it lies within its sentence, where
the sentence starts with a single ``<s>``: exactly the n-grams KenLM keeps after padding with
``<s>`` and collapsing (``<s> <s> a`` is not an n-gram; ``<s> a`` is).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from textseq.ngram.corpus import BOS, Corpus


@dataclass
class OrderCounts:
    """The distinct n-grams of one order, sorted by (context id, last word)."""

    order: int
    context: np.ndarray
    """Id (in the previous order) of w1..wn-1; -1 for unigrams."""
    suffix: np.ndarray
    """Id (in the previous order) of w2..wn; -1 for unigrams."""
    word: np.ndarray
    """Last word id."""
    count: np.ndarray
    """Occurrences in the corpus (int64)."""
    starts_with_bos: np.ndarray
    """Whether w1 is ``<s>`` (such n-grams cannot be extended to the left)."""

    def __len__(self) -> int:
        return len(self.word)


@dataclass
class NgramCounts:
    vocab_size: int
    orders: list[OrderCounts]
    last_window: list[int]
    """Per order, the id of the suffix of the corpus's greatest full-order window in KenLM's
    suffix order (-1 where that suffix is not an n-gram); see kneser_ney.quirk_counts."""

    def words_of(self, order: int) -> np.ndarray:
        """The n-grams of ``order`` as a (count, order) matrix of word ids."""
        table = self.orders[order - 1]
        if order == 1:
            return table.word[:, None].astype(np.int32)
        return np.column_stack([self.words_of(order - 1)[table.context], table.word]).astype(np.int32)


def sort_with_order(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(sorted keys, the permutation that sorts them) for non-negative int64 keys.

    Where key and position fit in 63 bits together, one ``np.sort`` of ``key << b | position``
    stands in for ``argsort``: the same order, about 2.5 times faster."""
    size = len(keys)
    position_bits = max(1, (size - 1).bit_length())
    if size and int(keys.min()) >= 0 and int(keys.max()).bit_length() + position_bits <= 63:
        packed = keys.astype(np.int64) << position_bits
        packed |= np.arange(size, dtype=np.int64)
        packed.sort()
        perm = packed & ((1 << position_bits) - 1)
        packed >>= position_bits
        return packed, perm
    perm = np.argsort(keys, kind="quicksort")
    return keys[perm], perm


def find_sorted(keys: np.ndarray, wanted: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(the indices of the ``wanted`` keys that the strictly increasing ``keys`` hold, in no
    particular order; where each is in ``keys``), for non-negative int64 keys.

    The wanted keys are searched for in sorted order (about twice as fast), sorted a slice at a
    time small enough that a key and its position pack into one int64 (:func:`sort_with_order`):
    an ``np.sort`` of a slice is several times faster than an ``argsort`` of the whole."""
    if len(keys) == 0 or len(wanted) == 0:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
    key_bits = max(1, int(wanted.max()).bit_length())
    step = max(4096, 1 << max(0, 63 - key_bits))
    found, where = [], []
    for start in range(0, len(wanted), step):
        part = wanted[start : start + step]
        if len(part) > 4096:
            ordered, order_of = sort_with_order(part)
        else:
            ordered, order_of = part, np.arange(len(part))
        at = np.searchsorted(keys, ordered)
        np.minimum(at, len(keys) - 1, out=at)
        hit = keys[at] == ordered
        found.append(order_of[hit] + start)
        where.append(at[hit])
    return np.concatenate(found), np.concatenate(where)


def unique_inverse(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(sorted distinct keys, one position of each, id of each key, count of each)."""
    size = len(keys)
    ordered, perm = sort_with_order(keys)
    starts = np.empty(size, dtype=bool)
    if size:
        starts[0] = True
        np.not_equal(ordered[1:], ordered[:-1], out=starts[1:])
    distinct = ordered[starts]
    small = np.int32 if size < 2**31 else np.int64
    group = np.cumsum(starts, dtype=small)
    group -= 1
    inverse = np.empty(size, dtype=small)
    inverse[perm] = group
    first = perm[starts]
    counts = np.diff(np.append(np.flatnonzero(starts), size))
    return distinct, first, inverse, counts


def greatest_window(corpus: Corpus, position: np.ndarray, order: int) -> int:
    """Position where the greatest full window ends, comparing the last word first (KenLM's
    suffix order over windows padded with ``<s>``)."""
    real = position >= 0
    candidates = np.flatnonzero(real & (corpus.ids == corpus.ids[real].max()))
    for back in range(1, order):
        at = position[candidates] - back
        values = np.where(at >= 0, corpus.ids[np.maximum(candidates - back, 0)], BOS)
        candidates = candidates[values == values.max()]
    return int(candidates[0])


def count_ngrams(corpus: Corpus, order: int) -> NgramCounts:
    """The distinct n-grams of orders 1..``order`` with their counts and links."""
    if order < 1:
        raise ValueError("order must be at least 1")
    ids = corpus.ids
    vocab = len(corpus.words)
    position = corpus.position_in_sentence()
    real = position >= 0
    unigram_counts = np.bincount(ids[real], minlength=vocab).astype(np.int64)
    words = np.arange(vocab, dtype=np.int64)
    tables = [OrderCounts(1, np.full(vocab, -1), np.full(vocab, -1), words, unigram_counts, words == BOS)]
    end = greatest_window(corpus, position, order) if real.any() else -1
    last = [int(ids[end]) if end >= 0 else -1]
    ids_here = ids  # id of the (n-1)-gram ending at each position (int32 while ids fit)
    for n in range(2, order + 1):
        at = np.flatnonzero(position >= n - 2)
        keys = ids_here[at - 1].astype(np.int64)
        keys *= vocab
        keys += ids[at]
        distinct, first, inverse, counts = unique_inverse(keys)
        ids_next = np.full(len(ids), -1, dtype=inverse.dtype)
        ids_next[at] = inverse
        where = at[first]
        tables.append(
            OrderCounts(
                order=n,
                context=distinct // vocab,
                suffix=ids_here[where].astype(np.int64),
                word=distinct % vocab,
                count=counts.astype(np.int64),
                starts_with_bos=position[where] == n - 2,
            )
        )
        last.append(int(ids_next[end]) if end >= 0 else -1)
        ids_here = ids_next
    return NgramCounts(vocab_size=vocab, orders=tables, last_window=last)
