"""The classic n-gram smoothers, each turning counts into an ARPA-style backoff model.

Notation: ``c(hw)`` is the count of the n-gram ``h w``; ``c(h.) = sum_x c(hx)`` sums the n-grams
that extend the context ``h`` (the n-grams of the order above with ``h`` as their context);
``N1+(h.)`` is how many distinct words follow ``h``; ``h'`` is ``h`` without its first word; ``V``
is the vocabulary without ``<s>`` (``<unk>`` and ``</s>`` included, ``|V| = vocab_size - 1``);
``n_r`` is the number of n-grams of one order seen exactly ``r`` times (count-of-counts).

Every smoother here is written as a numerator ``nu(hw)`` per n-gram and a normalizer ``Z(h)``
per context, so that the explicit part of ``p(w|h)`` is ``nu(hw) / Z(h)`` and the mass left for the
lower order is ``gamma(h) = (Z(h) - sum_x nu(hx)) / Z(h)``. Then there are two shapes:

Interpolated (``witten-bell``, ``absolute-discounting``, ``kneser-ney``)::

    p(w|h) = nu(hw)/Z(h) + gamma(h) p(w|h'),   backoff(h) = gamma(h)
    p(w)   = nu(w)/Z     + gamma / |V|          (the uniform distribution below the unigrams)

Backed off (``mle``, ``add-k``, ``katz``), the normalized form SRILM writes::

    p(w|h) = nu(hw)/Z(h)                      for the n-grams in the model
    p(w|h) = backoff(h) p(w|h')               for every other word, with
    backoff(h) = gamma(h) / (1 - sum_{x: hx in the model} p(x|h'))

so the leftover mass ``gamma(h)`` is shared among the words unseen after ``h`` in proportion to
the lower order's distribution. Unigrams: ``p(w) = nu(w)/Z``; the unigram leftover is spread
uniformly over the vocabulary words with ``nu(w) = 0`` (``<unk>`` when the text has none), or,
when there are none, the seen unigrams are scaled to sum to 1. Where the words unseen after
``h`` have no lower-order mass at all (``1 - sum ... = 0``, e.g. a context followed by every word
of an MLE unigram model) the leftover cannot be given to them: the explicit probabilities of
``h`` are scaled up to sum to 1 and ``backoff(h) = 0`` (SRILM does the same).

The smoothers:

- ``mle``: ``nu = c(hw)``, ``Z = c(h.)``; unigrams ``c(w)/N`` with ``N`` the number of tokens
  (``</s>`` included). Nothing is left for unseen events: a context's backoff is 0 (log10 -99)
  and an unseen unigram (``<unk>``) has probability 0 (log10 -99), so a test text with an unseen
  event has infinite perplexity (in practice, 10^99 per event). Only count pruning leaves mass
  for the backoff, which is then given as above.
- ``add-k`` (``k``, 1 = Laplace): ``nu = c(hw) + k``, ``Z = c(h.) + k|V|`` at every order;
  unigrams are exactly ``(c(w) + k) / (N + k|V|)``. Above the unigrams the explicit n-grams get
  their add-k probability and the leftover ``k (|V| - N1+(h.)) / Z(h)`` goes to the unseen words in
  proportion to the lower (add-k) order: exact add-k for them would need a uniform lower order,
  which a backoff model cannot express.
- ``katz`` (``k`` = 5): Good-Turing discounts per order, ``r* = (r+1) n_{r+1} / n_r`` and Katz's
  ``d_r = (r*/r - (k+1) n_{k+1}/n_1) / (1 - (k+1) n_{k+1}/n_1)`` for ``1 <= r <= k``, ``d_r = 1``
  above ``k`` and wherever the formula is undefined or falls outside ``(0, 1]`` (for every r
  of an order whose ``(k+1) n_{k+1}/n_1 >= 1``: Katz's renormalization then has no meaning);
  ``nu = d_r r``, ``Z = c(h.)``; backoff weights as above (Katz's alpha); unigrams are discounted
  the same way and their leftover goes uniformly to the unseen vocabulary words.
- ``witten-bell`` (interpolated): ``nu = c(hw)``, ``Z = c(h.) + N1+(h.)``, i.e.
  ``lambda(h) = c(h.) / (c(h.) + N1+(h.))``,
  ``p(w|h) = lambda c(hw)/c(h.) + (1 - lambda) p(w|h')``.
- ``absolute-discounting`` (interpolated): ``nu = max(c(hw) - D, 0)``, ``Z = c(h.)``, so
  ``gamma(h) = D N1+(h.) / c(h.)`` (for ``D <= 1``); one ``D = n1 / (n1 + 2 n2)`` per order from
  the raw counts (or the ``discount`` option).
- ``kneser-ney`` (interpolated): absolute discounting of KenLM's adjusted counts ``a``
  (:func:`textseq.ngram.kneser_ney.adjusted_counts`: raw counts at the highest order and for
  n-grams starting with ``<s>``, continuation counts ``N1+(.w)`` elsewhere), one
  ``D = t1 / (t1 + 2 t2)`` per order from the count-of-counts of ``a``.
  (``modified-kneser-ney``, three discounts per order, is :mod:`textseq.ngram.kneser_ney`.)
- ``stupid-backoff`` (Brants et al. 2007), scores and not probabilities:
  ``S(w|h) = c(hw)/c(h.)`` when seen, else ``alpha S(w|h')`` (``alpha`` = 0.4); unigrams
  ``c(w)/N`` (an unseen unigram scores log10 -99). In the ARPA file each n-gram's log10 "prob" is
  the log10 relative frequency and every n-gram that is a context has backoff ``log10 alpha``
  (an n-gram that is no context has backoff 0, as in every ARPA file, so alpha is paid once per
  order the model actually backs off from). The model says ``scores_are_probabilities = False``.

Conventions shared with :mod:`textseq.ngram.kneser_ney`: the tables keep the n-grams and row order
of the :class:`~textseq.ngram.counts.NgramCounts`; ``<s>`` has log10 probability 0 (a context
only); ``<unk>`` is a unigram even when unseen; log10 values, a probability of 0 is written -99;
n-grams that are never a context and the highest order have backoff 0. Count pruning
(``prune``, lmplz's meaning: drop n-grams of order n seen at most ``prune[n-1]`` times, never
unigrams) gives the pruned n-grams' mass to their context's backoff, so the pruned models of
every normalized smoother still sum to 1 (stupid backoff just drops them).
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import SupportsFloat

import numpy as np

from textseq.ngram.corpus import BOS
from textseq.ngram.counts import NgramCounts
from textseq.ngram.kneser_ney import LOG_ZERO, adjusted_counts, drop_pruned, prune_masks
from textseq.ngram.model import BackoffModel, OrderTable

Warn = Callable[[str], None] | None
_TINY = 1e-10
"""Masses below this are taken as 0 (sums of float probabilities are off by ~1e-16 per term)."""
FALLBACK_DISCOUNT = 0.5


# --- shared pieces -------------------------------------------------------------------------


@dataclass
class _Parts:
    """Per order n (index n-1): ``nu`` of each n-gram and ``z`` of each context (a row of order
    n-1; one value for the unigrams), so that the explicit part of p(w|h) is nu(hw)/z(h)."""

    nu: list[np.ndarray]
    z: list[np.ndarray]


def _groups(counts: NgramCounts, n: int) -> tuple[np.ndarray, int]:
    """The context of each n-gram of order n (0 for unigrams) and how many contexts there are."""
    table = counts.orders[n - 1]
    if n == 1:
        return np.zeros(len(table), dtype=np.int64), 1
    return table.context, len(counts.orders[n - 2])


def _per_context(counts: NgramCounts, n: int, values: np.ndarray) -> np.ndarray:
    """sum of ``values`` over the n-grams of order n that share a context."""
    group, size = _groups(counts, n)
    return np.bincount(group, weights=np.asarray(values, dtype=np.float64), minlength=size)


def _is_context(counts: NgramCounts, n: int) -> np.ndarray:
    """Which n-grams of order n are the context of some n-gram of order n+1."""
    if n >= len(counts.orders):
        return np.zeros(len(counts.orders[n - 1]), dtype=bool)
    return np.bincount(counts.orders[n].context, minlength=len(counts.orders[n - 1])) > 0


def _log10(prob: np.ndarray) -> np.ndarray:
    """log10, at most 0, with -99 for a probability of 0."""
    prob = np.asarray(prob, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        result = np.log10(prob)
    return np.where(prob > 0, np.minimum(result, 0.0), LOG_ZERO)


def _log10_weight(weight: np.ndarray) -> np.ndarray:
    """log10 of backoff weights (which may exceed 1), -99 for 0."""
    weight = np.asarray(weight, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        result = np.log10(weight)
    return np.where(weight > 0, result, LOG_ZERO)


def _gamma(counts: NgramCounts, n: int, parts: _Parts, kept: np.ndarray) -> np.ndarray:
    """The mass each context of order n leaves to the order below: pruned n-grams give theirs up
    entirely. 1 for rows that are no context."""
    z = parts.z[n - 1]
    explicit = _per_context(counts, n, np.where(kept, parts.nu[n - 1], 0.0))
    with np.errstate(divide="ignore", invalid="ignore"):
        gamma = np.where(z > 0, (z - explicit) / z, 1.0)
    return np.clip(gamma, 0.0, 1.0)


def _vocabulary(counts: NgramCounts) -> np.ndarray:
    words = np.ones(counts.vocab_size, dtype=bool)
    words[BOS] = False
    return words


def _tables(counts: NgramCounts, probs: list[np.ndarray], backoffs: list[np.ndarray]) -> list[OrderTable]:
    """The model's tables in the rows of ``counts``; ``<s>`` gets log10 probability 0."""
    tables = [
        OrderTable(context=table.context.copy(), word=table.word.copy(), logprob=_log10(prob), backoff=backoff)
        for table, prob, backoff in zip(counts.orders, probs, backoffs)
    ]
    tables[0].logprob[BOS] = 0.0
    return tables


def _finish(counts: NgramCounts, tables: list[OrderTable], keep: list[np.ndarray], name: str, probabilities: bool = True) -> BackoffModel:
    model = drop_pruned(tables, keep)
    model.smoothing = name
    model.scores_are_probabilities = probabilities
    return model


def _positive(name: str, value: float) -> float:
    value = float(value)
    if not np.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a positive number")
    return value


def _check(counts: NgramCounts) -> None:
    if not counts.orders or counts.orders[0].count.sum() <= 0:
        raise ValueError("no n-grams to estimate a model from (the text is empty)")


def _interpolated(counts: NgramCounts, parts: _Parts, keep: list[np.ndarray], name: str) -> BackoffModel:
    """p(w|h) = nu/z + gamma(h) p(w|h'), backoff(h) = gamma(h); unigrams interpolate with the
    uniform distribution over the vocabulary without <s>."""
    top = len(counts.orders)
    gammas = [_gamma(counts, n, parts, keep[n - 1]) for n in range(1, top + 1)]
    probs: list[np.ndarray] = []
    for n in range(1, top + 1):
        group, _ = _groups(counts, n)
        z = parts.z[n - 1]
        with np.errstate(divide="ignore", invalid="ignore"):
            explicit = np.where(z[group] > 0, parts.nu[n - 1] / z[group], 0.0)
        if n == 1:
            prob = explicit + gammas[0][0] / (counts.vocab_size - 1)
            prob[BOS] = 1.0
        else:
            prob = explicit + gammas[n - 1][group] * probs[-1][counts.orders[n - 1].suffix]
        probs.append(prob)
    backoffs = [
        np.where(_is_context(counts, n), _log10_weight(gammas[n]), 0.0) if n < top else np.zeros(len(counts.orders[n - 1]))
        for n in range(1, top + 1)
    ]
    return _finish(counts, _tables(counts, probs, backoffs), keep, name)


def _backed_off(counts: NgramCounts, parts: _Parts, keep: list[np.ndarray], name: str) -> BackoffModel:
    """Explicit n-grams get nu/z; backoff(h) = gamma(h) / (1 - sum of p(x|h') over the x seen
    after h), so that the words unseen after h share gamma(h) in proportion to p(.|h')."""
    top = len(counts.orders)
    words = _vocabulary(counts)
    nu = np.where(words, parts.nu[0], 0.0).astype(np.float64)
    z = float(parts.z[0][0])
    prob = nu / z
    leftover = max(0.0, (z - float(nu.sum())) / z)
    unseen = words & (nu <= 0)
    if leftover > _TINY:
        if unseen.any():
            prob[unseen] += leftover / int(unseen.sum())
        else:
            prob /= prob.sum()
    prob[BOS] = 1.0
    probs = [prob]
    backoffs: list[np.ndarray] = []
    for n in range(2, top + 1):
        table = counts.orders[n - 1]
        kept = keep[n - 1]
        context_z = parts.z[n - 1]
        with np.errstate(divide="ignore", invalid="ignore"):
            explicit = np.where(context_z[table.context] > 0, parts.nu[n - 1] / context_z[table.context], 0.0)
        gamma = _gamma(counts, n, parts, kept)
        room = 1.0 - _per_context(counts, n, np.where(kept, probs[-1][table.suffix], 0.0))
        kept_mass = 1.0 - gamma
        # no lower-order mass left for the unseen words: scale the explicit ones up instead
        starved = (room <= _TINY) & (gamma > _TINY) & (kept_mass > _TINY)
        with np.errstate(divide="ignore", invalid="ignore"):
            weight = np.where(room > _TINY, gamma / room, 0.0)
            scale = np.where(starved, 1.0 / kept_mass, 1.0)
        explicit = explicit * scale[table.context]
        probs.append(explicit)
        backoffs.append(np.where(_is_context(counts, n - 1), _log10_weight(weight), 0.0))
    backoffs.append(np.zeros(len(counts.orders[top - 1])))
    return _finish(counts, _tables(counts, probs, backoffs), keep, name)


def _discount_option(value: float | Sequence[float] | None, name: str) -> tuple[float, ...] | None:
    """A discount per order (the last one repeats), or None to estimate them.

    Each is taken from every count, 1 included, so 0 <= D <= 1 keeps every probability
    non-negative and every context's leftover mass at most 1."""
    if value is None:
        return None
    given: Sequence[SupportsFloat | str] = [value] if isinstance(value, (float, numbers.Real, str)) else value
    try:
        values = tuple(float(v) for v in given if not isinstance(v, bool))
    except (TypeError, ValueError):
        raise ValueError(f"{name} takes discounts that are numbers (one, or one per order), not {value!r}") from None
    if not values or len(values) != len(given) or any(not 0.0 <= v <= 1.0 for v in values):
        raise ValueError(
            f"{name} takes discounts between 0 and 1 (one, or one per order), not {value!r}: "
            "a discount may not exceed the count of 1 it is taken from"
        )
    return values


def absolute_discount(count_of_counts: np.ndarray) -> float | None:
    """``n1 / (n1 + 2 n2)`` from count-of-counts indexed by count; None where n1 is 0."""
    n1 = int(count_of_counts[1]) if len(count_of_counts) > 1 else 0
    n2 = int(count_of_counts[2]) if len(count_of_counts) > 2 else 0
    if n1 == 0:
        return None
    return n1 / (n1 + 2 * n2)


def good_turing_discounts(count_of_counts: np.ndarray, k: int = 5) -> np.ndarray:
    """Katz's discount ratio d_r for r = 0..k (d_0 unused), from count-of-counts ``n_r``.

    ``d_r = (r*/r - (k+1) n_{k+1}/n_1) / (1 - (k+1) n_{k+1}/n_1)`` with ``r* = (r+1) n_{r+1}/n_r``;
    1 (no discount) where that is undefined or outside (0, 1], and for every r when
    ``(k+1) n_{k+1}/n_1 >= 1``."""
    n = np.zeros(k + 2, dtype=np.float64)
    given = np.asarray(count_of_counts, dtype=np.float64)[: k + 2]
    n[: len(given)] = given
    d = np.ones(k + 1, dtype=np.float64)
    if n[1] <= 0:
        return d
    common = (k + 1) * n[k + 1] / n[1]
    if common >= 1.0:
        return d
    r = np.arange(1, k + 1, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        r_star = (r + 1) * n[2 : k + 2] / n[1 : k + 1]
        ratio = (r_star / r - common) / (1.0 - common)
    valid = np.isfinite(ratio) & (ratio > 0) & (ratio <= 1)
    d[1:] = np.where(valid, ratio, 1.0)
    return d


def _count_of_counts(values: np.ndarray, up_to: int) -> np.ndarray:
    """n_r for r = 0..up_to (n_0 is 0: only counts seen at least once are counted)."""
    values = np.asarray(values, dtype=np.int64)
    values = values[(values > 0) & (values <= up_to)]
    return np.bincount(values, minlength=up_to + 1)[: up_to + 1]


# --- the smoothers ---------------------------------------------------------------------------


class MaximumLikelihood:
    """Relative frequencies, p(w|h) = c(hw)/c(h.); unseen events get probability 0."""

    name = "mle"

    def estimate(self, counts: NgramCounts, *, prune: Sequence[int] = (), warn: Warn = None) -> BackoffModel:
        _check(counts)
        nu = [t.count.astype(np.float64) for t in counts.orders]
        z = [_per_context(counts, n, nu[n - 1]) for n in range(1, len(counts.orders) + 1)]
        return _backed_off(counts, _Parts(nu, z), prune_masks(counts, prune), self.name)


class AddK:
    """Add-k (Laplace for k = 1): p(w|h) = (c(hw) + k) / (c(h.) + k|V|), backed off."""

    name = "add-k"

    def __init__(self, k: float = 1.0) -> None:
        self.k = _positive("k", k)

    def estimate(self, counts: NgramCounts, *, prune: Sequence[int] = (), warn: Warn = None) -> BackoffModel:
        _check(counts)
        vocabulary = counts.vocab_size - 1
        nu = [t.count.astype(np.float64) + self.k for t in counts.orders]
        z = [_per_context(counts, n, counts.orders[n - 1].count) + self.k * vocabulary for n in range(1, len(counts.orders) + 1)]
        return _backed_off(counts, _Parts(nu, z), prune_masks(counts, prune), self.name)


class Katz:
    """Katz backoff with Good-Turing discounts of the counts up to ``k``."""

    name = "katz"

    def __init__(self, k: int = 5) -> None:
        if int(k) != k or k < 1:
            raise ValueError("k (the largest count that is discounted) must be a positive whole number")
        self.k = int(k)

    def discounts(self, counts: NgramCounts) -> list[np.ndarray]:
        """Per order, d_r for r = 0..k."""
        return [good_turing_discounts(_count_of_counts(t.count, self.k + 1), self.k) for t in counts.orders]

    def estimate(self, counts: NgramCounts, *, prune: Sequence[int] = (), warn: Warn = None) -> BackoffModel:
        _check(counts)
        nu, z = [], []
        for n, (table, d) in enumerate(zip(counts.orders, self.discounts(counts)), start=1):
            if warn is not None and len(table) and (d[1:] == 1.0).all():
                warn(f"Good-Turing estimates fail for order {n} (too little data); its counts are not discounted")
            c = table.count
            nu.append(c * np.where(c <= self.k, d[np.minimum(c, self.k)], 1.0))
            z.append(_per_context(counts, n, c))
        return _backed_off(counts, _Parts(nu, z), prune_masks(counts, prune), self.name)


class WittenBell:
    """Interpolated Witten-Bell: lambda(h) = c(h.) / (c(h.) + N1+(h.))."""

    name = "witten-bell"

    def estimate(self, counts: NgramCounts, *, prune: Sequence[int] = (), warn: Warn = None) -> BackoffModel:
        _check(counts)
        nu = [t.count.astype(np.float64) for t in counts.orders]
        z = [_per_context(counts, n, nu[n - 1]) + _per_context(counts, n, nu[n - 1] > 0) for n in range(1, len(counts.orders) + 1)]
        return _interpolated(counts, _Parts(nu, z), prune_masks(counts, prune), self.name)


class AbsoluteDiscounting:
    """Interpolated absolute discounting, one discount per order (n1/(n1+2 n2) unless given)."""

    name = "absolute-discounting"

    def __init__(self, discount: float | Sequence[float] | None = None, discounts: Sequence[float] | None = None) -> None:
        if discount is not None and discounts is not None:
            raise ValueError("give discount or discounts, not both")
        self.discount = _discount_option(discount if discount is not None else discounts, self.name)

    def _counts(self, counts: NgramCounts) -> list[np.ndarray]:
        """The counts that are discounted."""
        return [t.count for t in counts.orders]

    def discounts(self, counts: NgramCounts, warn: Warn = None) -> list[float]:
        """The discount of each order."""
        chosen = []
        for n, values in enumerate(self._counts(counts), start=1):
            if self.discount is not None:
                chosen.append(self.discount[min(n, len(self.discount)) - 1])
                continue
            stats = _count_of_counts(values, 2)
            found = absolute_discount(stats)
            if found is None:
                found = FALLBACK_DISCOUNT
                if warn is not None and len(values):
                    warn(
                        f"too little data for the {self.name} discount of order {n} "
                        f"(count-of-counts n1={stats[1]}, n2={stats[2]}); using D={FALLBACK_DISCOUNT}"
                    )
            chosen.append(found)
        return chosen

    def estimate(self, counts: NgramCounts, *, prune: Sequence[int] = (), warn: Warn = None) -> BackoffModel:
        _check(counts)
        values = self._counts(counts)
        nu = [np.maximum(v - d, 0.0) for v, d in zip(values, self.discounts(counts, warn))]
        z = [_per_context(counts, n, values[n - 1]) for n in range(1, len(counts.orders) + 1)]
        return _interpolated(counts, _Parts(nu, z), prune_masks(counts, prune), self.name)


class KneserNey(AbsoluteDiscounting):
    """Interpolated Kneser-Ney with one discount per order, on KenLM's adjusted counts."""

    name = "kneser-ney"

    def _counts(self, counts: NgramCounts) -> list[np.ndarray]:
        return adjusted_counts(counts)


class StupidBackoff:
    """Brants et al.'s stupid backoff: relative frequencies, alpha per order backed off."""

    name = "stupid-backoff"

    def __init__(self, alpha: float = 0.4) -> None:
        self.alpha = _positive("alpha", alpha)

    def estimate(self, counts: NgramCounts, *, prune: Sequence[int] = (), warn: Warn = None) -> BackoffModel:
        _check(counts)
        top = len(counts.orders)
        probs, backoffs = [], []
        for n, table in enumerate(counts.orders, start=1):
            group, _ = _groups(counts, n)
            total = _per_context(counts, n, table.count)
            probs.append(table.count / total[group])
            backoffs.append(np.where(_is_context(counts, n), np.log10(self.alpha), 0.0) if n < top else np.zeros(len(table)))
        return _finish(counts, _tables(counts, probs, backoffs), prune_masks(counts, prune), self.name, probabilities=False)


SMOOTHERS: dict[str, type] = {
    cls.name: cls for cls in (MaximumLikelihood, AddK, Katz, WittenBell, AbsoluteDiscounting, KneserNey, StupidBackoff)
}
"""The smoothers of this module by their registered names."""

__all__ = [
    "AbsoluteDiscounting",
    "AddK",
    "Katz",
    "KneserNey",
    "LOG_ZERO",
    "MaximumLikelihood",
    "SMOOTHERS",
    "StupidBackoff",
    "WittenBell",
    "absolute_discount",
    "good_turing_discounts",
]
