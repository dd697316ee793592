"""How well a classifier's answers match the gold labels: fastText's P@k and R@k, accuracy, F1,
a per-label table, the most confused pairs and the expected calibration error.

Labels are ids into ``labels``. An example's gold labels and predictions are sets: a label given
twice counts once (fastText counts a repeated gold label twice in R@k's denominator; the figures
differ only on such lines). Every figure is computed on flat arrays of ``example * len(labels) + label``
codes, never on an examples x labels matrix, so that a test set of millions of lines and
thousands of labels costs memory in proportion to the labels it gives, not to their product.

A figure that divides by zero (no examples, a label never predicted or never gold)
is 0, scikit-learn's convention with ``zero_division=0``; fastText prints NaN there.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from textseq.errors import ParameterError

Codes = npt.NDArray[np.int64]

ECE_BINS = 15

PROBABILITY_SLACK = 1e-6
"""How far past [0, 1] a confidence may stray by rounding (a float32 softmax) before it is an error."""


@dataclass(frozen=True)
class LabelScores:
    """One row of the per-label table; ``support`` is the number of examples that have the label."""

    name: str
    precision: float
    recall: float
    f1: float
    support: int

    def as_dict(self) -> dict[str, float | int]:
        return {"precision": self.precision, "recall": self.recall, "f1": self.f1, "support": self.support}


@dataclass(frozen=True)
class Confusion:
    """``count`` examples have the label ``gold``, missed, and were given ``predicted`` instead."""

    gold: str
    predicted: str
    count: int

    def as_dict(self) -> dict[str, str | int]:
        return {"gold": self.gold, "predicted": self.predicted, "count": self.count}


@dataclass(frozen=True)
class ClassificationReport:
    """The figures of :func:`evaluate`.

    ``labels`` lists, in id order, the labels that occur among the gold labels or the scored
    predictions (scikit-learn's ``f1_score`` default); ``macro_f1`` is the mean of their F1.
    ``true_positives`` counts each of those labels' right predictions. ``confusions`` runs from
    the most frequent pair down (ties in label id order). ``ece`` is None when no probabilities
    were given.
    """

    examples: int
    k: int
    precision_at_k: float
    recall_at_k: float
    accuracy: float
    micro_f1: float
    macro_f1: float
    multi_label: bool
    labels: tuple[LabelScores, ...]
    true_positives: tuple[int, ...]
    confusions: tuple[Confusion, ...]
    ece: float | None = None

    def as_dict(self) -> dict[str, object]:
        """The JSON object of ``textseq classify test --json``."""
        return {
            "examples": self.examples,
            f"precision_at_{self.k}": self.precision_at_k,
            f"recall_at_{self.k}": self.recall_at_k,
            "accuracy": self.accuracy,
            "macro_f1": self.macro_f1,
            "micro_f1": self.micro_f1,
            "ece": self.ece,
            "labels": {row.name: row.as_dict() for row in self.labels},
            "confusions": [pair.as_dict() for pair in self.confusions],
        }

    def confusion_matrix(self) -> npt.NDArray[np.int64]:
        """Counts over ``labels`` x ``labels``, gold rows and predicted columns: the diagonal holds
        the true positives, the rest the confusions (single-label: the usual confusion matrix,
        less the examples that got no prediction)."""
        index = {row.name: i for i, row in enumerate(self.labels)}
        matrix = np.zeros((len(self.labels), len(self.labels)), dtype=np.int64)
        matrix[np.arange(len(self.labels)), np.arange(len(self.labels))] = self.true_positives
        for pair in self.confusions:
            matrix[index[pair.gold], index[pair.predicted]] = pair.count
        return matrix


def evaluate(
    gold: Sequence[Sequence[int]],
    predicted: Sequence[Sequence[int]],
    probabilities: npt.ArrayLike | None,
    labels: Sequence[str],
    k: int = 1,
    multi_label: bool | None = None,
    chosen: Sequence[Sequence[int]] | None = None,
) -> ClassificationReport:
    """The report of ``predicted`` (each example's label ids, best first) against ``gold``.

    - ``precision_at_k`` and ``recall_at_k`` are fastText ``test``'s P@k and R@k: of all the
      predictions made (at most ``k`` an example, fewer where fewer are given), the share that are
      gold labels; of all the gold labels, the share predicted.
    - ``accuracy``: the share of examples whose first prediction is a gold label.
    - F1 scores the top-1 prediction when single-label, and when multi-label the predicted set:
      the labels ``predicted`` gives for the example, at most ``k`` (a caller with thresholds
      passes those above them), or ``chosen`` where given: the label sets a multi-label model's
      thresholds pick, however many, while P@k and R@k keep to the first ``k`` of ``predicted``.
      ``multi_label`` None decides from the data: multi-label when
      any example has other than one gold label. Micro F1 counts every (example, label) decision
      together; single-label, and with a prediction for every example, it equals the accuracy.
    - A confusion is a missed gold label with a wrongly predicted one of the same example, so a
      multi-label example with two of each makes four.
    - ``ece``: :func:`expected_calibration_error` of the highest of each row of
      ``probabilities`` (examples x labels), correct when its label is a gold one.
    """
    if k < 1:
        raise ParameterError(f"k must be at least 1, not {k}", parameter="k")
    if len(gold) != len(predicted):
        raise ParameterError(f"{len(gold)} examples of gold labels but {len(predicted)} of predictions", parameter="predicted")
    n, width = len(gold), len(labels)
    gold_codes = _distinct(_flat(gold, width, "gold")[0])
    given, rank = _flat(predicted, width, "predicted")
    predicted_codes = _distinct(given[rank < k])
    top1 = given[rank == 0]
    if multi_label is None:
        multi_label = bool(np.any(np.bincount(gold_codes // max(width, 1), minlength=n) != 1))
    if chosen is not None:
        if len(chosen) != n:
            raise ParameterError(f"{n} examples of gold labels but {len(chosen)} of chosen labels", parameter="chosen")
        scored = _distinct(_flat(chosen, width, "chosen")[0]) if multi_label else top1
    else:
        scored = predicted_codes if multi_label else top1
    scored_hits = np.isin(scored, gold_codes, assume_unique=True)
    at_k_hits = int(np.isin(predicted_codes, gold_codes, assume_unique=True).sum())
    table, true_positives = _label_table(gold_codes, scored, scored_hits, labels)
    tp = int(scored_hits.sum())
    return ClassificationReport(
        examples=n,
        k=k,
        precision_at_k=_ratio(at_k_hits, len(predicted_codes)),
        recall_at_k=_ratio(at_k_hits, len(gold_codes)),
        accuracy=_ratio(int(np.isin(top1, gold_codes, assume_unique=True).sum()), n),
        micro_f1=_ratio(2 * tp, len(scored) + len(gold_codes)),
        macro_f1=float(np.mean([row.f1 for row in table])) if table else 0.0,
        multi_label=multi_label,
        labels=table,
        true_positives=true_positives,
        confusions=_confusions(gold_codes, scored, scored_hits, labels),
        ece=None if probabilities is None else _top1_calibration(probabilities, gold_codes, n, width),
    )


def expected_calibration_error(
    confidences: npt.ArrayLike,
    correct: npt.ArrayLike,
    bins: int = ECE_BINS,
) -> float:
    """Guo et al. 2017's ECE: the confidences fall into ``bins`` equal-width bins of [0, 1]
    (``((m-1)/M, m/M]``, 0 in the first), and each bin's gap between its accuracy and its mean
    confidence counts by the share of examples in it. 0 for no examples."""
    if bins < 1:
        raise ParameterError(f"bins must be at least 1, not {bins}", parameter="bins")
    confidence = np.asarray(confidences, dtype=np.float64)
    hit = np.asarray(correct, dtype=np.float64)
    if confidence.ndim != 1 or confidence.shape != hit.shape:
        raise ParameterError(
            f"confidences and correct must be two sequences of one length, not of shapes {confidence.shape} and {hit.shape}",
            parameter="correct",
        )
    if not len(confidence):
        return 0.0
    if not np.all((confidence >= -PROBABILITY_SLACK) & (confidence <= 1.0 + PROBABILITY_SLACK)):
        raise ParameterError("confidences must lie in [0, 1]", parameter="confidences")
    confidence = np.clip(confidence, 0.0, 1.0)
    which = np.clip(np.ceil(confidence * bins).astype(np.int64) - 1, 0, bins - 1)
    gap = np.bincount(which, weights=hit, minlength=bins) - np.bincount(which, weights=confidence, minlength=bins)
    return float(np.abs(gap).sum() / len(confidence))


def _flat(examples: Sequence[Sequence[int]], width: int, parameter: str) -> tuple[Codes, Codes]:
    """Each label's ``example * width + label`` code, in the order given, and its place in its
    example's list (0 for the first)."""
    lengths = np.fromiter(map(len, examples), dtype=np.int64, count=len(examples))
    ids = np.fromiter(itertools.chain.from_iterable(examples), dtype=np.int64, count=int(lengths.sum()))
    if len(ids) and (ids.min() < 0 or ids.max() >= width):
        bad = int(ids.min()) if ids.min() < 0 else int(ids.max())
        raise ParameterError(f"label id {bad} is not one of the {width} labels", parameter=parameter)
    starts = np.cumsum(lengths) - lengths
    rank = np.arange(len(ids), dtype=np.int64) - np.repeat(starts, lengths)
    return np.repeat(np.arange(len(examples), dtype=np.int64), lengths) * width + ids, rank


def _distinct(codes: Codes) -> Codes:
    """Sorted, each once (``np.unique``, without the hashing that makes it slow on millions)."""
    ordered = np.sort(codes)
    return ordered[np.r_[True, ordered[1:] != ordered[:-1]]] if len(ordered) else ordered


def _ratio(numerator: int, denominator: int) -> float:
    return numerator / denominator if denominator else 0.0


def _label_table(
    gold_codes: Codes, scored: Codes, scored_hits: npt.NDArray[np.bool_], labels: Sequence[str]
) -> tuple[tuple[LabelScores, ...], tuple[int, ...]]:
    """The rows of the labels that occur in gold or scored, and their true positive counts."""
    width = len(labels)
    support = np.bincount(gold_codes % width, minlength=width)
    made = np.bincount(scored % width, minlength=width)
    tp = np.bincount(scored[scored_hits] % width, minlength=width)
    present = np.flatnonzero((support > 0) | (made > 0)).tolist()
    rows = tuple(
        LabelScores(
            name=labels[i],
            precision=_ratio(int(tp[i]), int(made[i])),
            recall=_ratio(int(tp[i]), int(support[i])),
            f1=_ratio(2 * int(tp[i]), int(made[i]) + int(support[i])),
            support=int(support[i]),
        )
        for i in present
    )
    return rows, tuple(int(tp[i]) for i in present)


def _confusions(gold_codes: Codes, scored: Codes, scored_hits: npt.NDArray[np.bool_], labels: Sequence[str]) -> tuple[Confusion, ...]:
    """Every (missed gold label, wrong prediction) pair of one example, counted over examples."""
    width = len(labels)
    wrong = scored[~scored_hits]
    missed = gold_codes[~np.isin(gold_codes, scored, assume_unique=True)]
    if not len(wrong) or not len(missed):
        return ()
    # for each wrong prediction, the run of its example's missed labels (both arrays are sorted)
    first = np.searchsorted(missed // width, wrong // width, side="left")
    runs = np.searchsorted(missed // width, wrong // width, side="right") - first
    starts = np.repeat(first - np.cumsum(runs) + runs, runs)
    missed_index = starts + np.arange(int(runs.sum()))
    pairs = (missed[missed_index] % width) * width + np.repeat(wrong % width, runs)
    codes, counts = np.unique(pairs, return_counts=True)
    order = np.lexsort((codes, -counts))
    names = list(labels)
    rows = zip((codes[order] // width).tolist(), (codes[order] % width).tolist(), counts[order].tolist())
    return tuple(Confusion(names[g], names[p], count) for g, p, count in rows)


def _top1_calibration(probabilities: npt.ArrayLike, gold_codes: Codes, n: int, width: int) -> float:
    probs = np.asarray(probabilities, dtype=np.float64)
    if probs.shape != (n, width):
        raise ParameterError(f"probabilities must be {n} x {width} (examples x labels), not {probs.shape}", parameter="probabilities")
    if not n or not width:
        return 0.0
    if not np.all((probs >= -PROBABILITY_SLACK) & (probs <= 1.0 + PROBABILITY_SLACK)):
        raise ParameterError("probabilities must lie in [0, 1]", parameter="probabilities")
    best = probs.argmax(axis=1)
    correct = np.isin(np.arange(n, dtype=np.int64) * width + best, gold_codes, assume_unique=True)
    return expected_calibration_error(probs[np.arange(n), best], correct)
