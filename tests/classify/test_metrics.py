"""Classification metrics: hand-computed cases for every figure, fastText's P@k and R@k, ECE."""

import json

import numpy as np
import pytest

from textseq.classify.metrics import Confusion, LabelScores, evaluate, expected_calibration_error
from textseq.errors import ParameterError

ABC = ["a", "b", "c"]
# single-label: top-1 is right on examples 0 and 2; c is mistaken for b twice
GOLD = [[0], [0], [1], [2], [1], [2]]
PREDICTED = [[0, 1], [1, 0], [1, 2], [1, 2], [2, 0], [1, 0]]

ABCD = ["a", "b", "c", "d"]
# multi-label, thresholded sets (best first); example 3 got no prediction, example 4 only wrong ones
ML_GOLD = [[0, 1], [2], [0, 3], [1], [0, 1]]
ML_PREDICTED = [[0, 2], [2], [3, 0, 1], [], [2, 3]]


def fasttext_meter(gold, predicted, k):
    """(N, P@k, R@k) as fastText's Meter::log counts them, a prediction at a time."""
    gold_count = predicted_count = predicted_gold = 0
    for labels, predictions in zip(gold, predicted):
        gold_count += len(labels)
        predicted_count += len(predictions[:k])
        predicted_gold += sum(label in labels for label in predictions[:k])
    return len(gold), predicted_gold / predicted_count, predicted_gold / gold_count


def test_single_label_figures():
    report = evaluate(GOLD, PREDICTED, None, ABC)
    assert not report.multi_label
    assert report.examples == 6
    assert report.precision_at_k == pytest.approx(2 / 6)
    assert report.recall_at_k == pytest.approx(2 / 6)
    assert report.accuracy == pytest.approx(1 / 3)
    assert report.micro_f1 == pytest.approx(report.accuracy)
    assert report.labels == (
        LabelScores("a", precision=1.0, recall=0.5, f1=pytest.approx(2 / 3), support=2),
        LabelScores("b", precision=0.25, recall=0.5, f1=pytest.approx(1 / 3), support=2),
        LabelScores("c", precision=0.0, recall=0.0, f1=0.0, support=2),
    )
    assert report.macro_f1 == pytest.approx(1 / 3)
    assert report.confusions == (Confusion("c", "b", 2), Confusion("a", "b", 1), Confusion("b", "c", 1))
    assert report.confusion_matrix().tolist() == [[1, 1, 0], [0, 1, 1], [0, 2, 0]]
    assert report.ece is None


def test_k_above_one_is_fasttexts_precision_and_recall():
    report = evaluate(GOLD, PREDICTED, None, ABC, k=2)
    assert report.precision_at_k == pytest.approx(4 / 12)
    assert report.recall_at_k == pytest.approx(4 / 6)
    assert (report.examples, report.precision_at_k, report.recall_at_k) == pytest.approx(fasttext_meter(GOLD, PREDICTED, 2))
    # the rest scores the top-1, whatever k
    one = evaluate(GOLD, PREDICTED, None, ABC, k=1)
    assert (report.accuracy, report.micro_f1, report.macro_f1, report.labels) == (one.accuracy, one.micro_f1, one.macro_f1, one.labels)


@pytest.mark.parametrize("k", [1, 2, 3, 5])
def test_precision_and_recall_at_k_match_fasttext_on_random_data(k):
    rng = np.random.default_rng(k)
    gold = [list(rng.choice(8, size=rng.integers(1, 4), replace=False)) for _ in range(300)]
    # fewer than k predictions on some lines, as a threshold or a small label set gives
    predicted = [list(rng.permutation(8)[: rng.integers(1, 6)]) for _ in range(300)]
    report = evaluate(gold, predicted, None, [str(i) for i in range(8)], k=k)
    assert (report.examples, report.precision_at_k, report.recall_at_k) == pytest.approx(fasttext_meter(gold, predicted, k))


def test_multi_label_figures():
    report = evaluate(ML_GOLD, ML_PREDICTED, None, ABCD, k=3)
    assert report.multi_label
    assert report.precision_at_k == pytest.approx(4 / 8)
    assert report.recall_at_k == pytest.approx(4 / 8)
    assert report.accuracy == pytest.approx(3 / 5)
    assert report.labels == (
        LabelScores("a", precision=1.0, recall=pytest.approx(2 / 3), f1=pytest.approx(0.8), support=3),
        LabelScores("b", precision=0.0, recall=0.0, f1=0.0, support=3),
        LabelScores("c", precision=pytest.approx(1 / 3), recall=1.0, f1=0.5, support=1),
        LabelScores("d", precision=0.5, recall=1.0, f1=pytest.approx(2 / 3), support=1),
    )
    assert report.micro_f1 == pytest.approx(0.5)
    assert report.macro_f1 == pytest.approx((0.8 + 0.0 + 0.5 + 2 / 3) / 4)
    # example 0 misses b for c; example 4 misses a and b for c and d: four pairs
    assert report.confusions == (Confusion("b", "c", 2), Confusion("a", "c", 1), Confusion("a", "d", 1), Confusion("b", "d", 1))


def test_multi_label_scores_at_most_k_predictions():
    report = evaluate(ML_GOLD, ML_PREDICTED, None, ABCD, k=1)
    # top-1: a, c, d, none, c -> three right of four made, of eight gold labels
    assert report.precision_at_k == pytest.approx(3 / 4)
    assert report.recall_at_k == pytest.approx(3 / 8)
    assert report.micro_f1 == pytest.approx(2 * 3 / (4 + 8))


def test_multi_label_can_be_asked_for():
    report = evaluate(GOLD, PREDICTED, None, ABC, k=2, multi_label=True)
    assert report.multi_label
    # the top-2 sets: 4 right of 12 made, of 6 gold labels
    assert report.micro_f1 == pytest.approx(2 * 4 / (12 + 6))
    assert evaluate([[0, 1]], [[0]], None, ABC, multi_label=False).labels[1] == LabelScores("b", 0.0, 0.0, 0.0, 1)


def test_repeated_labels_count_once():
    assert evaluate([[0, 0]], [[0, 0]], None, ABC, k=2).as_dict() == evaluate([[0]], [[0]], None, ABC, k=2).as_dict()


def test_labels_neither_gold_nor_predicted_stay_out_of_the_table_and_macro_f1():
    report = evaluate([[0], [0]], [[0], [1]], None, ["a", "b", "unseen"])
    assert [row.name for row in report.labels] == ["a", "b"]
    assert report.macro_f1 == pytest.approx((2 / 3 + 0.0) / 2)


def test_undefined_figures_are_zero():
    empty = evaluate([], [], None, ABC)
    assert (empty.examples, empty.precision_at_k, empty.recall_at_k, empty.accuracy, empty.micro_f1, empty.macro_f1) == (0, 0, 0, 0, 0, 0)
    assert (empty.labels, empty.confusions) == ((), ())
    assert evaluate([], [], np.zeros((0, 3)), ABC).ece == 0.0
    # nothing predicted at all: precision 0 where fastText prints nan
    silent = evaluate([[0], [1]], [[], []], None, ABC)
    assert (silent.precision_at_k, silent.recall_at_k, silent.accuracy) == (0.0, 0.0, 0.0)
    assert all(row.precision == 0.0 for row in silent.labels)


def test_as_dict_has_the_issues_keys_and_is_json():
    probabilities = np.full((6, 3), 1 / 3)
    report = evaluate(GOLD, PREDICTED, probabilities, ABC)
    data = json.loads(json.dumps(report.as_dict()))
    assert list(data) == ["examples", "precision_at_1", "recall_at_1", "accuracy", "macro_f1", "micro_f1", "ece", "labels", "confusions"]
    assert data["labels"]["b"] == {"precision": 0.25, "recall": 0.5, "f1": pytest.approx(1 / 3), "support": 2}
    assert data["confusions"][0] == {"gold": "c", "predicted": "b", "count": 2}
    at_5 = evaluate(GOLD, PREDICTED, None, ABC, k=5).as_dict()
    assert "precision_at_5" in at_5 and "recall_at_5" in at_5 and at_5["ece"] is None


def test_ece_of_a_report_uses_each_rows_best_label():
    # rows' best: a (0.9, right), b (0.6, wrong), c (0.7, right)
    probabilities = np.array([[0.9, 0.05, 0.05], [0.3, 0.6, 0.1], [0.1, 0.2, 0.7]])
    report = evaluate([[0], [0], [2]], [[0], [1], [2]], probabilities, ABC)
    assert report.ece == pytest.approx(expected_calibration_error([0.9, 0.6, 0.7], [1, 0, 1]))
    assert report.ece == pytest.approx((0.1 + 0.6 + 0.3) / 3)


def test_ece_of_perfectly_calibrated_confidences_is_zero():
    confidences = [0.8] * 10 + [0.3] * 10
    correct = [1] * 8 + [0] * 2 + [1] * 3 + [0] * 7
    assert expected_calibration_error(confidences, correct) == pytest.approx(0.0, abs=1e-12)


def test_ece_of_over_confident_predictions_is_the_gap():
    assert expected_calibration_error([0.95] * 10, [1, 0] * 5) == pytest.approx(0.45)


def test_ece_weighs_each_bin_by_its_size():
    # bins: two at 0.1 (half right), two at 0.9 (both right), one at 0.5 (wrong)
    ece = expected_calibration_error([0.1, 0.1, 0.9, 0.9, 0.5], [0, 1, 1, 1, 0])
    assert ece == pytest.approx(2 / 5 * 0.4 + 2 / 5 * 0.1 + 1 / 5 * 0.5)
    # one bin: the gap between overall accuracy and mean confidence
    assert expected_calibration_error([0.1, 0.9], [1, 1], bins=1) == pytest.approx(0.5)


def test_ece_bins_are_closed_on_the_right():
    # 1/15 belongs to the first bin with 0, 1 to the last
    assert expected_calibration_error([0.0, 1 / 15], [0, 1]) == pytest.approx(abs(0.5 - 1 / 30))
    assert expected_calibration_error([1.0, 1 - 1 / 30], [1, 1]) == pytest.approx(1 / 60)
    assert expected_calibration_error([], []) == 0.0
    # a float32 softmax's rounding past 1 is not an error
    assert expected_calibration_error([1.0000001], [1]) == pytest.approx(0.0)


@pytest.mark.parametrize(
    ("call", "parameter"),
    [
        (lambda: expected_calibration_error([0.5], [1], bins=0), "bins"),
        (lambda: expected_calibration_error([0.5, 0.5], [1]), "correct"),
        (lambda: expected_calibration_error([1.5], [1]), "confidences"),
        (lambda: expected_calibration_error([float("nan")], [1]), "confidences"),
        (lambda: evaluate(GOLD, PREDICTED, None, ABC, k=0), "k"),
        (lambda: evaluate(GOLD, PREDICTED[:-1], None, ABC), "predicted"),
        (lambda: evaluate([[3]], [[0]], None, ABC), "gold"),
        (lambda: evaluate([[0]], [[-1]], None, ABC), "predicted"),
        (lambda: evaluate([[0]], [[0]], np.ones((1, 2)), ABC), "probabilities"),
        (lambda: evaluate([[0]], [[0]], np.array([[np.nan, 0.5, 0.5]]), ABC), "probabilities"),
    ],
)
def test_bad_values_name_their_parameter(call, parameter):
    with pytest.raises(ParameterError) as raised:
        call()
    assert raised.value.parameter == parameter


def test_against_scikit_learn_single_label():
    metrics = pytest.importorskip("sklearn.metrics")
    rng = np.random.default_rng(1)
    y_true = rng.integers(0, 6, size=500)
    y_pred = np.where(rng.random(500) < 0.5, y_true, rng.integers(0, 7, size=500))
    report = evaluate([[int(y)] for y in y_true], [[int(y)] for y in y_pred], None, [str(i) for i in range(8)])
    present = sorted(set(y_true) | set(y_pred))
    precision, recall, f1, support = metrics.precision_recall_fscore_support(y_true, y_pred, labels=present, zero_division=0)
    assert [row.precision for row in report.labels] == pytest.approx(list(precision))
    assert [row.recall for row in report.labels] == pytest.approx(list(recall))
    assert [row.f1 for row in report.labels] == pytest.approx(list(f1))
    assert [row.support for row in report.labels] == list(support)
    assert report.macro_f1 == pytest.approx(metrics.f1_score(y_true, y_pred, average="macro", zero_division=0))
    assert report.micro_f1 == pytest.approx(metrics.f1_score(y_true, y_pred, average="micro", zero_division=0))
    assert report.accuracy == pytest.approx(metrics.accuracy_score(y_true, y_pred))


def test_against_scikit_learn_multi_label():
    metrics = pytest.importorskip("sklearn.metrics")
    rng = np.random.default_rng(2)
    width = 7
    gold_matrix = rng.random((400, width)) < 0.25
    predicted_matrix = rng.random((400, width)) < 0.3
    gold = [list(np.flatnonzero(row)) for row in gold_matrix]
    predicted = [list(np.flatnonzero(row)) for row in predicted_matrix]
    report = evaluate(gold, predicted, None, [str(i) for i in range(width)], k=width)
    assert report.multi_label
    present = list(np.flatnonzero(gold_matrix.any(axis=0) | predicted_matrix.any(axis=0)))
    f1 = metrics.f1_score(gold_matrix, predicted_matrix, labels=present, average=None, zero_division=0)
    assert [row.f1 for row in report.labels] == pytest.approx(list(f1))
    assert report.macro_f1 == pytest.approx(
        metrics.f1_score(gold_matrix, predicted_matrix, labels=present, average="macro", zero_division=0)
    )
    assert report.micro_f1 == pytest.approx(metrics.f1_score(gold_matrix, predicted_matrix, average="micro", zero_division=0))
