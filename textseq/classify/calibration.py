"""Probabilities that mean what they say: temperature scaling and per-label thresholds, fitted on
the validation set.

Temperature scaling (Guo et al. 2017) divides the logits by one number ``T`` fitted to minimize the
validation NLL. It works on what every classifier gives, its log-probabilities, so it needs nothing
of the model:

- one distribution over the labels: ``log p' = log_softmax(log p / T)``, exactly the logits scaled,
  since ``log p = z - logsumexp(z)`` differs from the logits ``z`` by a constant a row;
- independent labels (sigmoid outputs): ``p' = sigmoid(logit(p) / T)`` a label, the logit
  recovered from ``log p`` as ``log p - log(1 - p)``.

Dividing by a positive number keeps every row's order, so predictions at k and accuracy do not
change; only the confidences do (and, for independent labels, which side of a threshold they fall).

Independent labels are predicted when their probability is at least the label's threshold
(fastText's rule); :func:`tune_thresholds` picks, a label, the threshold that maximizes its F1.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from textseq.classify.metrics import PROBABILITY_SLACK, expected_calibration_error
from textseq.errors import InputError, ParameterError

Floats = npt.NDArray[np.float64]

MIN_TEMPERATURE = 0.05
MAX_TEMPERATURE = 20.0
TOLERANCE = 1e-4
"""The fit ends when the bracket around ``log T`` is narrower than this."""

LOGIT_LIMIT = 100.0
"""The largest logit magnitude kept (and, in the fit, the lowest log-probability of a distribution).

A probability of exactly 0 or 1 has an infinite logit and would make the NLL infinite whatever
``T``; float32's log-probabilities end near -103 (its smallest subnormal), so a 0 or -inf from a
float32 model says no more than this, and past it rounding decides, not the model."""

THRESHOLD_BLOCK = 1 << 22
"""Elements (examples x labels) that :func:`tune_thresholds` sorts at once: memory stays a few
times this, whatever the label count."""

_INV_PHI = (math.sqrt(5.0) - 1.0) / 2.0
_LN2 = math.log(2.0)


def fit_temperature(log_probs: npt.ArrayLike, gold: Sequence[Sequence[int]], *, independent: bool) -> float:
    """The ``T`` in [0.05, 20] that minimizes the mean NLL of :func:`apply_temperature`'s output.

    One distribution: ``-log p'(label)`` averaged over an example's gold labels, then over the
    examples that have one. Independent: the binary cross-entropy of every (example, label) against
    the multi-hot gold. Either is convex in ``1/T``, so unimodal in ``log T``, which a golden-section
    search brackets to :data:`TOLERANCE`. T = 1 is kept when it does as well (a flat NLL, an empty
    set). Log-probabilities below ``-LOGIT_LIMIT`` count as that limit here, so that a gold label
    given probability 0 costs much (and pushes T up) rather than an infinite NLL at every T.
    """
    x = _checked(log_probs)
    rows, cols = _gold_pairs(gold, x.shape[0], x.shape[1])
    if independent:
        if not x.size:
            return 1.0
        sign = np.full(x.shape, -1.0)
        sign[rows, cols] = 1.0
        margins = sign * _logits(x)

        def nll(u: float) -> float:
            return float(np.logaddexp(0.0, -margins * math.exp(-u)).mean())

    else:
        if not len(rows):
            return 1.0
        shifted = np.maximum(x - _row_max(x)[:, None], -LOGIT_LIMIT)
        counts = np.bincount(rows, minlength=x.shape[0])
        used = np.flatnonzero(counts)
        weights = 1.0 / counts[rows]
        gold_values = shifted[rows, cols]
        shifted = shifted[used]
        peaks = shifted.max(axis=1, keepdims=True)
        spread = shifted - peaks

        def nll(u: float) -> float:
            s = math.exp(-u)
            lse = s * peaks.sum() + np.log(np.exp(spread * s).sum(axis=1)).sum()
            return float((lse - s * float(weights @ gold_values)) / len(used))

    best = _golden_section(nll, math.log(MIN_TEMPERATURE), math.log(MAX_TEMPERATURE))
    if nll(0.0) <= nll(best):
        return 1.0
    return float(min(max(math.exp(best), MIN_TEMPERATURE), MAX_TEMPERATURE))


def apply_temperature(log_probs: npt.ArrayLike, temperature: float, *, independent: bool) -> Floats:
    """The calibrated log-probabilities (float64, the shape given).

    One distribution: ``log_softmax(log p / T)``, exact (a probability of 0 stays 0). Independent:
    ``log sigmoid(logit(p) / T)`` with the logit clipped to :data:`LOGIT_LIMIT`, so every result is
    finite, a probability of 0 or 1 included.
    """
    if not (isinstance(temperature, (int, float)) and math.isfinite(temperature) and temperature > 0):
        raise ParameterError(f"the temperature must be a positive number, not {temperature!r}", parameter="temperature")
    x = _checked(log_probs)
    if independent:
        result: Floats = -np.logaddexp(0.0, -_logits(x) / temperature)
        return result
    peak = _row_max(x)
    scaled = (x - peak[:, None]) / temperature
    with np.errstate(divide="ignore"):
        lse = np.log(np.exp(scaled).sum(axis=1))
    # a row of -inf alone (no distribution at all) is given back as it came
    return scaled - np.where(np.isfinite(lse), lse, 0.0)[:, None]


def tune_thresholds(probabilities: npt.ArrayLike, gold: Sequence[Sequence[int]], *, default: float = 0.5) -> Floats:
    """A threshold a label (``[labels]``), the one that maximizes the label's F1 on this set.

    The candidates are the midpoints between the label's distinct probabilities, and ``default``;
    of those with the best F1 the one closest to ``default`` wins (``default`` itself when it ties;
    the higher of two equally close). A label with no positive example keeps ``default``. A label
    is predicted when its probability is at least its threshold.
    """
    if not (isinstance(default, (int, float)) and 0.0 <= default <= 1.0):
        raise ParameterError(f"the default threshold must be in [0, 1], not {default!r}", parameter="default")
    probs = np.asarray(probabilities, dtype=np.float64)
    if probs.ndim != 2:
        raise ParameterError(f"probabilities must be examples x labels, not of shape {probs.shape}", parameter="probabilities")
    if not np.all((probs >= -PROBABILITY_SLACK) & (probs <= 1.0 + PROBABILITY_SLACK)):
        raise ParameterError("probabilities must lie in [0, 1]", parameter="probabilities")
    n, width = probs.shape
    rows, cols = _gold_pairs(gold, n, width)
    thresholds = np.full(width, float(default))
    if not n:
        return thresholds
    step = max(1, THRESHOLD_BLOCK // n)
    for start in range(0, width, step):
        stop = min(start + step, width)
        chosen = (cols >= start) & (cols < stop)
        positive = np.zeros((n, stop - start), dtype=np.bool_)
        positive[rows[chosen], cols[chosen] - start] = True
        thresholds[start:stop] = _best_thresholds(probs[:, start:stop], positive, float(default))
    return thresholds


def _best_thresholds(probs: Floats, positive: npt.NDArray[np.bool_], default: float) -> Floats:
    """:func:`tune_thresholds` for a block of labels (the columns), sorted once each."""
    n = probs.shape[0]
    order = np.argsort(-probs, axis=0, kind="stable")
    ranked = np.take_along_axis(probs, order, axis=0)
    # above[k]: positives among the k + 1 highest; a cut after k predicts those k + 1
    above = np.cumsum(np.take_along_axis(positive, order, axis=0), axis=0)
    total = above[-1]
    made = np.arange(1, n + 1, dtype=np.float64)[:, None]
    cut = np.zeros(probs.shape, dtype=np.bool_)
    cut[:-1] = ranked[:-1] != ranked[1:]
    f1 = np.where(cut, 2.0 * above / (made + total), -1.0)
    midpoints = np.zeros(probs.shape)
    midpoints[:-1] = (ranked[:-1] + ranked[1:]) / 2.0
    at_default = probs >= default
    default_f1 = 2.0 * (at_default & positive).sum(axis=0) / np.maximum(at_default.sum(axis=0) + total, 1)
    best = np.maximum(f1.max(axis=0), default_f1)
    distance = np.where(f1 == best, np.abs(midpoints - default), np.inf)
    nearest = np.take_along_axis(midpoints, distance.argmin(axis=0)[None, :], axis=0)[0]
    keep_default = (total == 0) | (default_f1 >= best)
    return np.where(keep_default, default, nearest)


@dataclass
class Calibration:
    """What calibration keeps in a model file: the temperature, the per-label thresholds (independent
    labels only) and the validation ECE before and after (None: not measured)."""

    temperature: float = 1.0
    thresholds: list[float] | None = None
    ece_before: float | None = None
    ece_after: float | None = None

    def to_dict(self) -> dict[str, object]:
        return {
            "temperature": self.temperature,
            "thresholds": None if self.thresholds is None else list(self.thresholds),
            "ece_before": self.ece_before,
            "ece_after": self.ece_after,
        }

    @classmethod
    def from_dict(cls, d: object, source: str, *, labels: int | None = None) -> Calibration:
        """The calibration :meth:`to_dict` wrote, checked: an :class:`InputError` naming ``source``
        for anything else (``labels``, when given, is the count the thresholds must have)."""
        if not isinstance(d, Mapping):
            raise InputError(f"the calibration must be an object, not {type(d).__name__}", source=source)
        temperature = d.get("temperature", 1.0)
        if not _is_number(temperature) or not temperature > 0:
            raise InputError(f"the calibration's temperature must be a finite number > 0, not {temperature!r}", source=source)
        thresholds = d.get("thresholds")
        if thresholds is not None:
            if not isinstance(thresholds, list) or not all(_is_number(t) and 0.0 <= t <= 1.0 for t in thresholds):
                raise InputError("the calibration's thresholds must be a list of numbers in [0, 1]", source=source)
            if labels is not None and len(thresholds) != labels:
                raise InputError(f"the calibration has {len(thresholds)} thresholds for {labels} labels", source=source)
            thresholds = [float(t) for t in thresholds]
        eces = {}
        for name in ("ece_before", "ece_after"):
            value = d.get(name)
            if value is not None and not (_is_number(value) and 0.0 <= value <= 1.0):
                raise InputError(f"the calibration's {name} must be a number in [0, 1] or null, not {value!r}", source=source)
            eces[name] = None if value is None else float(value)
        return cls(float(temperature), thresholds, eces["ece_before"], eces["ece_after"])


def calibrate(log_probs: npt.ArrayLike, gold: Sequence[Sequence[int]], *, independent: bool, labels: int, fit: bool = True) -> Calibration:
    """Temperature fitted on (``log_probs``, ``gold``) (1 without ``fit``), the top label's ECE
    before and after, and thresholds tuned on the calibrated probabilities when the labels are
    ``independent``."""
    x = _checked(log_probs)
    if x.shape[1] != labels:
        raise ParameterError(f"log_probs has {x.shape[1]} columns for {labels} labels", parameter="log_probs")
    temperature = fit_temperature(x, gold, independent=independent) if fit else 1.0
    calibrated = np.exp(apply_temperature(x, temperature, independent=independent))
    thresholds = tune_thresholds(calibrated, gold).tolist() if independent else None
    if not len(x):
        return Calibration(temperature, thresholds)
    return Calibration(temperature, thresholds, _top_ece(np.exp(x), gold), _top_ece(calibrated, gold))


def _top_ece(probs: Floats, gold: Sequence[Sequence[int]]) -> float:
    n, width = probs.shape
    rows, cols = _gold_pairs(gold, n, width)
    best = probs.argmax(axis=1)
    correct = np.isin(np.arange(n, dtype=np.int64) * width + best, rows * width + cols)
    return expected_calibration_error(np.clip(probs[np.arange(n), best], 0.0, 1.0), correct)


def _golden_section(f: Callable[[float], float], a: float, b: float) -> float:
    """The minimizer of a unimodal ``f`` on [a, b], to within :data:`TOLERANCE`."""
    c, d = b - _INV_PHI * (b - a), a + _INV_PHI * (b - a)
    fc, fd = f(c), f(d)
    while b - a > TOLERANCE:
        if fc <= fd:
            b, d, fd = d, c, fc
            c = b - _INV_PHI * (b - a)
            fc = f(c)
        else:
            a, c, fc = c, d, fd
            d = a + _INV_PHI * (b - a)
            fd = f(d)
    return (a + b) / 2.0


def _checked(log_probs: npt.ArrayLike) -> Floats:
    x = np.asarray(log_probs, dtype=np.float64)
    if x.ndim != 2:
        raise ParameterError(f"log_probs must be examples x labels, not of shape {x.shape}", parameter="log_probs")
    if np.isnan(x).any() or np.isposinf(x).any():
        raise ParameterError("log_probs holds NaN or +inf", parameter="log_probs")
    return x


def _row_max(x: Floats) -> Floats:
    """Each row's maximum, 0 for an empty or all -inf row (so that subtracting it makes no NaN)."""
    if not x.shape[1]:
        return np.zeros(x.shape[0])
    peak = x.max(axis=1)
    return np.where(np.isfinite(peak), peak, 0.0)


def _logits(log_p: Floats) -> Floats:
    """``log p - log(1 - p)`` from ``log p``, accurate at both ends, clipped to :data:`LOGIT_LIMIT`."""
    a = np.minimum(log_p, 0.0)
    with np.errstate(divide="ignore"):
        # log(1 - e^a): -expm1 keeps the digits near p = 1, log1p near p = 0 (Mächler 2012)
        log_rest = np.where(a > -_LN2, np.log(-np.expm1(a)), np.log1p(-np.exp(a)))
    logits: Floats = np.clip(a - log_rest, -LOGIT_LIMIT, LOGIT_LIMIT)
    return logits


def _gold_pairs(gold: Sequence[Sequence[int]], n: int, width: int) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """The (example, label) pairs of ``gold``, each once, in example order."""
    if len(gold) != n:
        raise ParameterError(f"{n} examples of log-probabilities but {len(gold)} of gold labels", parameter="gold")
    lengths = np.fromiter(map(len, gold), dtype=np.int64, count=n)
    ids = np.fromiter((label for labels in gold for label in labels), dtype=np.int64, count=int(lengths.sum()))
    if len(ids) and (ids.min() < 0 or ids.max() >= width):
        bad = int(ids.min()) if ids.min() < 0 else int(ids.max())
        raise ParameterError(f"label id {bad} is not one of the {width} labels", parameter="gold")
    codes = np.unique(np.repeat(np.arange(n, dtype=np.int64), lengths) * max(width, 1) + ids)
    return codes // max(width, 1), codes % max(width, 1)


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
