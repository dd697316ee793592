"""Relative-entropy pruning of a backoff model (Stolcke 1998, as SRILM's ``-prune``).

For each explicit n-gram (h, w) of order >= 2, the model that would result from dropping it (w
then backs off: p'(w|h) = a'(h) p(w|h'), with the backoff weight a'(h) renormalized) differs
from the original by the relative entropy

    D = -P(h) [ p(w|h) (ln p(w|h') + ln a'(h) - ln p(w|h)) + (ln a'(h) - ln a(h)) (1 - sum_S(h) p(v|h)) ]

where S(h) are the words with an explicit n-gram after h. Every n-gram whose removal would raise
perplexity by less than ``threshold`` (exp(D) - 1 < threshold) is dropped, each judged against the
original model, orders from the highest down; n-grams that other kept n-grams need as their
context or backoff suffix stay. Then every backoff weight is recomputed so that each context's
distribution sums to one again.
"""

from __future__ import annotations

import numpy as np

from textseq.ngram.model import BackoffModel, OrderTable


def _suffix_rows(model: BackoffModel, order: int) -> np.ndarray:
    """Row in order-1 of each order-``order`` n-gram's suffix w2..wn (-1 if absent)."""
    words = model.ngram_words(order)
    row = words[:, 1].astype(np.int64)
    for k in range(2, order):
        row = model.lookup(k, row, words[:, k])
    return row


def _history_probability(model: BackoffModel) -> list[np.ndarray]:
    """P(h) of every n-gram as a history: the chain of its explicit probabilities."""
    from textseq.ngram.corpus import BOS

    result = []
    for n, table in enumerate(model.orders, start=1):
        prob = 10.0 ** table.logprob.astype(np.float64)
        if n == 1:
            prob = prob.copy()
            prob[BOS] = 1.0
            result.append(prob)
        else:
            result.append(result[-1][table.context] * prob)
    return result


def _backoff_weights(model: BackoffModel, order: int, suffix: np.ndarray) -> np.ndarray:
    """log10 backoff of every order-1 context, from the explicit n-grams of ``order``: what makes
    each context's distribution sum to one."""
    table = model.orders[order - 1]
    size = len(model.orders[order - 2])
    explicit = np.bincount(table.context, weights=10.0**table.logprob, minlength=size)
    lower = 10.0 ** model.orders[order - 2].logprob[np.maximum(suffix, 0)]
    backed = np.bincount(table.context, weights=lower, minlength=size)
    has = np.bincount(table.context, minlength=size) > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        weight = np.where(has, (1.0 - explicit) / np.maximum(1.0 - backed, 1e-300), 1.0)
    return np.where(weight > 0, np.log10(np.maximum(weight, 1e-300)), -99.0)


def prune_entropy(model: BackoffModel, threshold: float) -> BackoffModel:
    """A copy of ``model`` without the n-grams whose removal costs less than ``threshold`` in
    relative perplexity."""
    if not model.scores_are_probabilities:
        raise ValueError("entropy pruning needs probabilities; this model has scores")
    tables = [OrderTable(t.context.copy(), t.word.copy(), t.logprob.astype(np.float64), t.backoff.astype(np.float64)) for t in model.orders]
    work = BackoffModel(words=model.words, orders=tables, smoothing=model.smoothing)
    history = _history_probability(work)
    top = work.order
    keep_above: np.ndarray | None = None
    for n in range(top, 1, -1):
        table = work.orders[n - 1]
        suffix = _suffix_rows(work, n)
        size = len(work.orders[n - 2])
        p = 10.0**table.logprob
        p_low = np.where(suffix >= 0, 10.0 ** work.orders[n - 2].logprob[np.maximum(suffix, 0)], np.nan)
        sum_p = np.bincount(table.context, weights=p, minlength=size)
        sum_low = np.bincount(table.context, weights=np.nan_to_num(p_low), minlength=size)
        alpha = 10.0 ** work.orders[n - 2].backoff
        h = table.context
        with np.errstate(divide="ignore", invalid="ignore"):
            alpha_new = (1.0 - sum_p[h] + p) / (1.0 - sum_low[h] + p_low)
            change = -history[n - 2][h] * (
                p * (np.log(p_low) + np.log(alpha_new) - np.log(p)) + (np.log(alpha_new) - np.log(alpha[h])) * (1.0 - sum_p[h])
            )
        prunable = np.isfinite(change) & (np.expm1(np.maximum(change, 0.0)) < threshold)
        if keep_above is not None:
            prunable &= ~keep_above
        keep = ~prunable
        # lower n-grams that kept ones use as context or as backoff suffix must stay
        needed = np.zeros(size, dtype=bool)
        needed[table.context[keep]] = True
        needed[suffix[keep & (suffix >= 0)]] = True
        keep_above = needed
        new_row = np.cumsum(keep) - 1
        if n < top:
            upper = work.orders[n]
            upper.context = new_row[upper.context]
        work.orders[n - 1] = OrderTable(table.context[keep], table.word[keep], table.logprob[keep], table.backoff[keep])
    for n in range(2, top + 1):
        work.orders[n - 2].backoff = _backoff_weights(work, n, _suffix_rows(work, n))
    return work
