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

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

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


def adjusted_counts(counts: NgramCounts) -> list[np.ndarray]:
    """Per order, each n-gram's adjusted count."""
    top = len(counts.orders)
    adjusted = []
    for n, table in enumerate(counts.orders, start=1):
        if n == top:
            adjusted.append(table.count.copy())
            continue
        continuation = np.bincount(counts.orders[n].suffix, minlength=len(table)).astype(np.int64)
        adjusted.append(np.where(table.starts_with_bos, table.count, continuation))
    return adjusted


def count_of_counts(counts: NgramCounts, adjusted: list[np.ndarray]) -> list[np.ndarray]:
    """t_k (k = 0..4) per order, as lmplz counts them (see the module notes)."""
    result = []
    top = len(counts.orders)
    for n, values in enumerate(adjusted, start=1):
        t = np.bincount(np.minimum(values, 5), minlength=6)[:5].astype(np.int64)
        last = counts.last_window[n - 1]
        if n < top and last >= 0:
            raw = int(counts.orders[n - 1].count[last])
            used = int(values[last])
            if used < 5:
                t[used] -= 1
            if raw < 5:
                t[raw] += 1
        result.append(t)
    return result


def prune_masks(counts: NgramCounts, thresholds: Sequence[int]) -> list[np.ndarray]:
    """Per order, which n-grams survive count pruning (unigrams <unk>, <s>, </s> always do)."""
    keep = []
    for n, table in enumerate(counts.orders, start=1):
        threshold = thresholds[n - 1] if n - 1 < len(thresholds) else (thresholds[-1] if thresholds else 0)
        mask = table.count > threshold
        if n == 1:
            mask[: min(3, len(mask))] = True
        keep.append(mask)
    return keep


def estimate(
    counts: NgramCounts,
    *,
    prune: Sequence[int] = (),
    discounts: Sequence[Discounts | None] = (),
    warn: Callable[[str], None] | None = None,
) -> BackoffModel:
    """The modified Kneser-Ney model of ``counts`` (words are ``counts``' vocabulary ids)."""
    top = len(counts.orders)
    adjusted = adjusted_counts(counts)
    stats = count_of_counts(counts, adjusted)
    chosen: list[Discounts] = []
    for n in range(1, top + 1):
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
        chosen.append(found)
    keep = prune_masks(counts, prune)

    # gamma of every context, from the n-grams that extend it (pruned ones included)
    vocab = counts.vocab_size
    gammas: list[np.ndarray] = []  # gammas[n-1]: gamma of each (n)-gram as a context of order n+1
    uninterpolated: list[np.ndarray] = []
    for n in range(1, top + 1):
        table = counts.orders[n - 1]
        a = adjusted[n - 1].astype(np.float64)
        kept = keep[n - 1]
        discount = chosen[n - 1].of(adjusted[n - 1])
        group = np.zeros(len(table), dtype=np.int64) if n == 1 else table.context
        size = 1 if n == 1 else len(counts.orders[n - 2])
        denominator = np.bincount(group, weights=a, minlength=size)
        mass = np.bincount(group, weights=np.where(kept, discount, a), minlength=size)
        with np.errstate(divide="ignore", invalid="ignore"):
            gamma = np.where(denominator > 0, mass / denominator, 1.0)
            prob = (a - discount) / denominator[group]
        uninterpolated.append(prob)
        gammas.append(gamma)
    del adjusted  # each order's arrays go once they have served: the peak is then about one order's

    tables: list[OrderTable] = []
    lower = np.empty(0)
    for n in range(1, top + 1):
        table = counts.orders[n - 1]
        if n == 1:
            interpolated = uninterpolated[0] + gammas[0][0] / (vocab - 1)
            interpolated[BOS] = 1.0
        else:
            interpolated = uninterpolated[n - 1] + gammas[n - 1][table.context] * lower[table.suffix]
        uninterpolated[n - 1] = np.empty(0)
        lower = interpolated
        logprob = _log10_or_zero(interpolated, at_most=0.0)
        backoff = _log10_or_zero(gammas[n]) if n < top else np.zeros(len(table))
        gammas[n - 1] = np.empty(0)
        tables.append(
            OrderTable(context=table.context, word=table.word, logprob=logprob, backoff=backoff)
        )  # the counts' arrays, not copies
    return drop_pruned(tables, keep, counts)


def _log10_or_zero(values: np.ndarray, at_most: float = np.inf) -> np.ndarray:
    """log10, with ARPA's -99 for 0 (all discounts 0 leaves unseen words nothing)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        result = np.minimum(np.log10(values), at_most)
    return np.where(values > 0, result, LOG_ZERO)


def drop_pruned(tables: list[OrderTable], keep: list[np.ndarray], counts: NgramCounts) -> BackoffModel:
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


__all__ = ["Discounts", "FALLBACK_DISCOUNTS", "adjusted_counts", "count_of_counts", "estimate", "kenlm_discounts", "UNK"]
