"""Interpolated modified Kneser-Ney smoothing, numerically the same as KenLM's lmplz.

What lmplz does, and so what this does (Chen & Goodman 1998; Heafield et al. 2013):

- Adjusted counts: the highest order and n-grams starting with ``<s>`` keep their counts; every
  other n-gram counts the distinct words seen before it (``<s>`` included).
- Discounts per order from the count-of-counts t1..t4 of adjusted counts:
  Y = t1/(t1+2 t2), D1 = 1-2Y t2/t1, D2 = 2-3Y t3/t2, D3+ = 3-4Y t4/t3. lmplz counts the very last
  n-gram of each lower order (in its sort order) with its raw count instead of its adjusted one;
  that is kept here so that the discounts agree to the last digit. Where the estimate fails
  (a t_k is 0, or a discount falls outside [0, k]) the fallback discounts 0.5, 1, 1.5 are used,
  with a warning, like ``lmplz --discount_fallback``.
- p(w|h) = (a(hw) - D(a(hw))) / sum_x a(hx) + gamma(h) p(w|h'), with
  gamma(h) = (D1 N1(h.) + D2 N2(h.) + D3+ N3+(h.)) / sum_x a(hx); unigrams interpolate with the
  uniform distribution over the vocabulary without ``<s>``; ``<unk>`` gets only that share when
  it is not in the text; p(<s>) = 1.
- Pruning by count (``--prune``, lmplz's meaning): an n-gram whose count is at most its order's
  threshold is dropped, and its discounted mass goes to its context's backoff.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from textseq.ngram.columns import Column, Store, chain_words, release_freed_memory, whole
from textseq.ngram.corpus import BOS, UNK
from textseq.ngram.counts import NgramCounts
from textseq.ngram.model import BackoffModel, OrderTable

FALLBACK_DISCOUNTS = (0.5, 1.0, 1.5)
LOG_ZERO = -99.0
"""log10 of a probability of 0, as ARPA files write it."""


@dataclass(frozen=True)
class Discounts:
    """D1, D2 and D3+: what is taken from an adjusted count of 1, 2, and 3 or more.

    A discount may not exceed the count it is taken from (0 <= D1 <= 1, 0 <= D2 <= 2,
    0 <= D3+ <= 3): then no probability is negative and no context gives away more than its
    mass (gamma <= 1), so every distribution still sums to one."""

    d1: float
    d2: float
    d3: float
    fallback: bool = False

    def __post_init__(self) -> None:
        values = []
        for name, value in (("D1", self.d1), ("D2", self.d2), ("D3+", self.d3)):
            if isinstance(value, bool):
                raise ValueError(f"discount {name} must be a number, not {value!r}")
            try:
                values.append(float(value))
            except (TypeError, ValueError):
                raise ValueError(f"discount {name} must be a number, not {value!r}") from None
        for limit, (name, value) in enumerate(zip(("D1", "D2", "D3+"), values), start=1):
            if not (0.0 <= value <= limit):  # also false for NaN
                raise ValueError(
                    f"discount {name}={value:g} is outside 0..{limit}: a discount may not exceed the count it is "
                    "taken from (0 <= D1 <= 1, 0 <= D2 <= 2, 0 <= D3+ <= 3)"
                )
        for field_name, value in zip(("d1", "d2", "d3"), values):
            object.__setattr__(self, field_name, value)

    def of(self, counts: np.ndarray) -> np.ndarray:
        """The discount for each adjusted count (0 for a count of 0)."""
        table = np.array([0.0, self.d1, self.d2, self.d3])
        return table[np.minimum(counts, 3)]


def kenlm_discounts(count_of_counts: Sequence[int] | np.ndarray) -> Discounts | None:
    """Chen & Goodman's estimate, in the float32 arithmetic lmplz uses; None where it fails."""
    t = [0, *[int(c) for c in count_of_counts[1:5]]]
    if t[1] == 0 or t[2] == 0 or t[3] == 0:
        return None
    f = np.float32
    y = f(t[1]) / f(float(t[1]) + 2.0 * t[2])
    amounts = []
    for j in (1, 2, 3):
        amount = f(j) - f(j + 1) * y * f(t[j + 1]) / f(t[j])
        if amount < 0.0 or amount > j:
            return None
        amounts.append(float(amount))
    d1, d2, d3 = amounts
    return Discounts(d1, d2, d3)


CHUNK_ROWS = 1 << 20
"""N-grams an order's arrays are read and computed a slice of at a time."""


class OrderColumns(Protocol):
    """One order's counts as the estimate reads them, a slice at a time: an
    :class:`~textseq.ngram.counts.OrderCounts` in memory, or spilled to a
    :class:`~textseq.ngram.columns.Store`."""

    @property
    def context(self) -> Column: ...
    @property
    def suffix(self) -> Column: ...
    @property
    def word(self) -> Column: ...
    @property
    def count(self) -> Column: ...
    @property
    def starts_with_bos(self) -> Column: ...
    def __len__(self) -> int: ...


class CountColumns(Protocol):
    """N-gram counts, in memory (:class:`~textseq.ngram.counts.NgramCounts`) or spilled."""

    @property
    def vocab_size(self) -> int: ...
    @property
    def orders(self) -> Sequence[OrderColumns]: ...
    @property
    def last_window(self) -> list[int]: ...


def _spans(length: int) -> Iterator[tuple[int, int]]:
    step = CHUNK_ROWS
    for start in range(0, length, step):
        yield start, min(start + step, length)


def adjusted_columns(counts: CountColumns, store: Store) -> list[Column]:
    """Per order, each n-gram's adjusted count."""
    top = len(counts.orders)
    adjusted: list[Column] = []
    for n, table in enumerate(counts.orders, start=1):
        if n == top:
            adjusted.append(table.count)
            continue
        above = counts.orders[n]
        continuation = np.zeros(len(table), dtype=np.int64)
        for start, stop in _spans(len(above)):
            continuation += np.bincount(above.suffix[start:stop], minlength=len(table))
        adjusted.append(
            store.put(
                f"adjusted{n}",
                (np.where(table.starts_with_bos[a:b], table.count[a:b], continuation[a:b]) for a, b in _spans(len(table))),
            )
        )
    return adjusted


def adjusted_counts(counts: NgramCounts) -> list[np.ndarray]:
    """Per order, each n-gram's adjusted count."""
    return [whole(column) for column in adjusted_columns(counts, Store())]


def count_of_counts(counts: CountColumns, adjusted: Sequence[Column]) -> list[np.ndarray]:
    """t_k (k = 0..4) per order, as lmplz counts them (see the module notes)."""
    result = []
    top = len(counts.orders)
    for n, values in enumerate(adjusted, start=1):
        t = np.zeros(5, dtype=np.int64)
        for start, stop in _spans(len(values)):
            t += np.bincount(np.minimum(values[start:stop], 5), minlength=6)[:5]
        last = counts.last_window[n - 1]
        if n < top and last >= 0:
            raw = int(counts.orders[n - 1].count[last : last + 1][0])
            used = int(values[last : last + 1][0])
            if used < 5:
                t[used] -= 1
            if raw < 5:
                t[raw] += 1
        result.append(t)
    return result


def _threshold(thresholds: Sequence[int], n: int) -> int:
    return thresholds[n - 1] if n - 1 < len(thresholds) else (thresholds[-1] if thresholds else 0)


def _kept(count: np.ndarray, n: int, threshold: int, start: int) -> np.ndarray:
    """Which of the n-grams from row ``start`` survive count pruning (unigrams <unk>, <s>, </s>
    always do)."""
    mask = count > threshold
    if n == 1 and start < 3:
        mask[: 3 - start] = True
    return mask


def prune_masks(counts: NgramCounts, thresholds: Sequence[int]) -> list[np.ndarray]:
    """Per order, which n-grams survive count pruning (unigrams <unk>, <s>, </s> always do)."""
    return [_kept(table.count, n, _threshold(thresholds, n), 0) for n, table in enumerate(counts.orders, start=1)]


@dataclass
class OrderChunk:
    """Rows ``start`` to ``stop`` of an order of the model being estimated."""

    start: int
    stop: int
    logprob: np.ndarray
    backoff: np.ndarray
    kept: np.ndarray | None
    """Which rows survive count pruning (None: all)."""


class Estimate:
    """A modified Kneser-Ney model being estimated from counts, computed an order and a slice
    of rows at a time (:meth:`chunks`), so that what is held in memory at once is about two
    orders' probabilities, not the model: the rest is read from and written to ``store``.

    Each order's rows are those of its counts. Sums over a context are taken over slices cut
    where a context ends, so every number is the one a single pass over whole arrays gives."""

    def __init__(
        self,
        counts: CountColumns,
        store: Store,
        *,
        prune: Sequence[int] = (),
        discounts: Sequence[Discounts | None] = (),
        warn: Callable[[str], None] | None = None,
    ) -> None:
        self.counts = counts
        self.store = store
        self.thresholds = [_threshold(prune, n) for n in range(1, len(counts.orders) + 1)] if prune else []
        self.adjusted = adjusted_columns(counts, store)
        stats = count_of_counts(counts, self.adjusted)
        self.discounts: list[Discounts] = []
        for n in range(1, len(counts.orders) + 1):
            given = discounts[n - 1] if n - 1 < len(discounts) else None
            found = given or kenlm_discounts(stats[n - 1])
            if found is None:
                found = Discounts(*FALLBACK_DISCOUNTS, fallback=True)
                if warn is not None:
                    warn(
                        f"too little data for Kneser-Ney discounts of order {n} "
                        f"(count-of-counts {', '.join(map(str, stats[n - 1][1:5]))}); "
                        f"using D1={FALLBACK_DISCOUNTS[0]} D2={FALLBACK_DISCOUNTS[1]} D3+={FALLBACK_DISCOUNTS[2]}"
                    )
            self.discounts.append(found)
        self.sizes = [self._kept_size(n) for n in range(1, len(counts.orders) + 1)]
        """Per order, the n-grams that survive count pruning."""

    @property
    def order(self) -> int:
        return len(self.counts.orders)

    def _kept_in(self, n: int, start: int, stop: int) -> np.ndarray | None:
        if not self.thresholds:
            return None
        return _kept(self.counts.orders[n - 1].count[start:stop], n, self.thresholds[n - 1], start)

    def _kept_size(self, n: int) -> int:
        table = self.counts.orders[n - 1]
        if not self.thresholds or n == 1:
            return len(table)
        threshold = self.thresholds[n - 1]
        return sum(int(np.count_nonzero(_kept(table.count[a:b], n, threshold, a))) for a, b in _spans(len(table)))

    def _context_sums(self, n: int) -> tuple[Column, Column]:
        """(sum of the adjusted counts of the (n+1)-grams that extend each n-gram; gamma, the share
        of it they give back, a pruned one's whole count included: 1 where nothing extends it), for
        every n-gram, put in the store a slice at a time."""
        above = self.counts.orders[n]
        size = len(self.counts.orders[n - 1])
        denominators = self.store.writer(f"denominator{n}", np.dtype(np.float64))
        gammas = self.store.writer(f"gamma{n}", np.dtype(np.float64))
        done = 0  # n-grams whose sums are written

        def until(row: int) -> None:  # n-grams that nothing extends, up to ``row``
            nonlocal done
            if row > done:
                denominators.append(np.zeros(row - done))
                gammas.append(np.ones(row - done))
                done = row

        start = 0
        while start < len(above):
            step = CHUNK_ROWS
            while True:  # a slice ends where a context ends, unless it is the last
                stop = min(start + step, len(above))
                context = above.context[start:stop]
                if stop < len(above):
                    stop = start + int(np.searchsorted(context, context[-1]))
                if stop > start:
                    break
                step *= 2
            context = context[: stop - start]
            low = int(context[0])
            span = int(context[-1]) + 1 - low
            a = self.adjusted[n][start:stop]
            kept = self._kept_in(n + 1, start, stop)
            discount = self.discounts[n].of(a)
            weights = a.astype(np.float64)
            denominator = np.bincount(context - low, weights=weights, minlength=span)
            mass = np.bincount(context - low, weights=discount if kept is None else np.where(kept, discount, weights), minlength=span)
            until(low)
            with np.errstate(divide="ignore", invalid="ignore"):
                gammas.append(np.where(denominator > 0, mass / denominator, 1.0))
            denominators.append(denominator)
            done = low + span
            start = stop
        until(size)
        return denominators.close(), gammas.close()

    def chunks(self) -> Iterator[tuple[int, Iterator[OrderChunk]]]:
        """Per order from 1 up, its rows a slice at a time; each order's slices are to be taken
        before the next order's."""
        top = self.order
        vocab = self.counts.vocab_size
        unigram_a = whole(self.adjusted[0]).astype(np.float64)
        unigram_discount = self.discounts[0].of(whole(self.adjusted[0]))
        kept = self._kept_in(1, 0, len(unigram_a))
        total = float(np.bincount(np.zeros(len(unigram_a), dtype=np.int64), weights=unigram_a, minlength=1)[0])
        given_back = float(
            np.bincount(
                np.zeros(len(unigram_a), dtype=np.int64),
                weights=unigram_discount if kept is None else np.where(kept, unigram_discount, unigram_a),
                minlength=1,
            )[0]
        )
        empty_gamma = given_back / total if total > 0 else 1.0
        with np.errstate(divide="ignore", invalid="ignore"):
            unigram = (unigram_a - unigram_discount) / total + empty_gamma / (vocab - 1)
        unigram[BOS] = 1.0
        lower = unigram
        context_denominator: Column = np.empty(0)
        context_gamma: Column = np.empty(0)
        for n in range(1, top + 1):
            gamma: Column = np.empty(0)
            denominator: Column = np.empty(0)
            if n < top:
                denominator, gamma = self._context_sums(n)
            if n == 1:
                yield 1, self._unigram_chunks(unigram, gamma)
            else:
                interpolated = np.empty(len(self.counts.orders[n - 1]) if n < top else 0)  # the next order's lower
                yield n, self._order_chunks(n, lower, context_denominator, context_gamma, gamma, interpolated)
                lower = interpolated
            self.store.remove(context_denominator, context_gamma)
            context_denominator, context_gamma = denominator, gamma
            release_freed_memory()

    def _unigram_chunks(self, unigram: np.ndarray, gamma: Column) -> Iterator[OrderChunk]:
        for start, stop in _spans(len(unigram)):
            backoff = _log10_or_zero(gamma[start:stop]) if self.order > 1 else np.zeros(stop - start)
            yield OrderChunk(start, stop, _log10_or_zero(unigram[start:stop], at_most=0.0), backoff, self._kept_in(1, start, stop))

    def _order_chunks(
        self, n: int, lower: np.ndarray, context_denominator: Column, context_gamma: Column, gamma: Column, interpolated: np.ndarray
    ) -> Iterator[OrderChunk]:
        """Order ``n``'s slices; fills ``interpolated`` with its probabilities as it goes."""
        table = self.counts.orders[n - 1]
        for start, stop in _spans(len(table)):
            context = table.context[start:stop]
            low, high = int(context[0]), int(context[-1]) + 1
            local = context - low
            a = self.adjusted[n - 1][start:stop]
            discount = self.discounts[n - 1].of(a)
            with np.errstate(divide="ignore", invalid="ignore"):
                probability = (a.astype(np.float64) - discount) / context_denominator[low:high][local]
            probability += context_gamma[low:high][local] * lower[table.suffix[start:stop]]
            if len(interpolated):
                interpolated[start:stop] = probability
            backoff = _log10_or_zero(gamma[start:stop]) if n < self.order else np.zeros(stop - start)
            yield OrderChunk(start, stop, _log10_or_zero(probability, at_most=0.0), backoff, self._kept_in(n, start, stop))

    def rows(self) -> Iterator[tuple[int, Iterator[tuple[np.ndarray, np.ndarray, np.ndarray | None]]]]:
        """Per order, the rows that survive pruning a slice at a time, as ARPA writes them: (their
        words, a row of word ids each; log10 probabilities; log10 backoffs, None at the highest
        order)."""
        for n, parts in self.chunks():
            yield n, self._rows_of(n, parts)

    def _rows_of(self, n: int, parts: Iterator[OrderChunk]) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray | None]]:
        for part in parts:
            grams = chain_words(self.counts.orders, n, part.start, part.stop)
            logprob, backoff = part.logprob, part.backoff if n < self.order else None
            if part.kept is not None:
                grams, logprob = grams[part.kept], logprob[part.kept]
                backoff = None if backoff is None else backoff[part.kept]
            yield grams, logprob, backoff

    def model(self) -> BackoffModel:
        """The whole model in memory (its words are ids until the caller sets them)."""
        tables: list[OrderTable] = []
        keep: list[np.ndarray] = []
        for n, parts in self.chunks():
            logprob, backoff, kept = [], [], []
            for part in parts:
                logprob.append(part.logprob)
                backoff.append(part.backoff)
                kept.append(part.kept if part.kept is not None else np.ones(part.stop - part.start, dtype=bool))
            table = self.counts.orders[n - 1]
            tables.append(
                OrderTable(context=whole(table.context), word=whole(table.word), logprob=_joined(logprob), backoff=_joined(backoff))
            )
            keep.append(_joined(kept, bool))
        return drop_pruned(tables, keep)


def _joined(parts: list[np.ndarray], dtype: type = np.float64) -> np.ndarray:
    return np.concatenate(parts) if parts else np.empty(0, dtype=dtype)


def estimate(
    counts: NgramCounts,
    *,
    prune: Sequence[int] = (),
    discounts: Sequence[Discounts | None] = (),
    warn: Callable[[str], None] | None = None,
) -> BackoffModel:
    """The modified Kneser-Ney model of ``counts`` (words are ``counts``' vocabulary ids)."""
    with Store() as store:
        return Estimate(counts, store, prune=prune, discounts=discounts, warn=warn).model()


def _log10_or_zero(values: np.ndarray, at_most: float = np.inf) -> np.ndarray:
    """log10, with ARPA's -99 for 0 (all discounts 0 leaves unseen words nothing)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        result = np.minimum(np.log10(values), at_most)
    return np.where(values > 0, result, LOG_ZERO)


def drop_pruned(tables: list[OrderTable], keep: list[np.ndarray]) -> BackoffModel:
    """Remove pruned n-grams and renumber the context links of the orders above."""
    if all(mask.all() for mask in keep):
        return BackoffModel(words=[], orders=tables)
    result: list[OrderTable] = []
    new_row: np.ndarray | None = None
    for n, (table, mask) in enumerate(zip(tables, keep), start=1):
        context = table.context
        if new_row is not None:
            context = new_row[context]
            if (context[mask] < 0).any():
                raise AssertionError("a kept n-gram lost its context: thresholds must not decrease with the order")
        if n == 1:
            mask = np.ones(len(mask), dtype=bool)  # unigram rows are word ids
        new_row = np.cumsum(mask) - 1
        new_row[~mask] = -1
        result.append(OrderTable(context=context[mask], word=table.word[mask], logprob=table.logprob[mask], backoff=table.backoff[mask]))
    return BackoffModel(words=[], orders=result)


__all__ = ["Discounts", "Estimate", "FALLBACK_DISCOUNTS", "adjusted_counts", "count_of_counts", "estimate", "kenlm_discounts", "UNK"]
