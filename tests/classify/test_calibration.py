"""Temperature scaling and per-label thresholds on synthetic models whose miscalibration is known."""

import math

import numpy as np
import pytest

from textseq.classify.calibration import (
    MAX_TEMPERATURE,
    MIN_TEMPERATURE,
    Calibration,
    apply_temperature,
    calibrate,
    fit_temperature,
    tune_thresholds,
)
from textseq.classify.metrics import expected_calibration_error
from textseq.errors import InputError, ParameterError

LABELS = 5


def log_softmax(z):
    shifted = z - z.max(axis=1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


def single_label(seed, n, scale):
    """Gold labels drawn from softmax(z) (so softmax(z) is calibrated), and the log-probabilities of
    a model that reports softmax(scale * z)."""
    rng = np.random.default_rng(seed)
    z = rng.normal(0.0, 2.0, (n, LABELS))
    p = np.exp(log_softmax(z))
    gold = (p.cumsum(axis=1) > rng.random((n, 1))).argmax(axis=1)
    return log_softmax(scale * z), [[int(g)] for g in gold]


def multi_label(seed, n, scale, labels=LABELS, bias=-1.0):
    """Each label drawn from sigmoid(z); the model reports sigmoid(scale * z)."""
    rng = np.random.default_rng(seed)
    z = rng.normal(bias, 2.0, (n, labels))
    hot = rng.random((n, labels)) < 1.0 / (1.0 + np.exp(-z))
    return -np.logaddexp(0.0, -scale * z), [np.flatnonzero(row).tolist() for row in hot]


def top_ece(log_probs, gold):
    probs = np.exp(log_probs)
    best = probs.argmax(axis=1)
    correct = [int(b) in g for b, g in zip(best, gold)]
    return expected_calibration_error(probs[np.arange(len(probs)), best], correct)


def f1(scores, positive, threshold):
    predicted = scores >= threshold
    tp = int((predicted & positive).sum())
    denominator = int(predicted.sum() + positive.sum())
    return 2 * tp / denominator if denominator else 0.0


def hot(gold, labels):
    matrix = np.zeros((len(gold), labels), dtype=bool)
    for row, ids in enumerate(gold):
        matrix[row, ids] = True
    return matrix


@pytest.mark.parametrize("independent", [False, True])
@pytest.mark.parametrize("scale, expected", [(3.0, "above"), (1 / 3, "below"), (1.0, "near")])
def test_temperature_undoes_a_known_miscalibration(independent, scale, expected):
    make = multi_label if independent else single_label
    valid_lp, valid_gold = make(1, 4000, scale)
    test_lp, test_gold = make(2, 4000, scale)
    temperature = fit_temperature(valid_lp, valid_gold, independent=independent)
    if expected == "near":
        assert temperature == pytest.approx(1.0, rel=0.15)
        return
    assert (temperature > 1.5) if expected == "above" else (temperature < 0.67)
    assert temperature == pytest.approx(scale, rel=0.15)
    calibrated = apply_temperature(test_lp, temperature, independent=independent)
    before, after = top_ece(test_lp, test_gold), top_ece(calibrated, test_gold)
    assert after < before / 2


@pytest.mark.parametrize("independent", [False, True])
@pytest.mark.parametrize("temperature", [0.07, 0.4, 2.5, 15.0])
def test_order_never_changes(independent, temperature):
    log_probs = (multi_label if independent else single_label)(3, 300, 1.0)[0]
    calibrated = apply_temperature(log_probs, temperature, independent=independent)
    assert calibrated.dtype == np.float64 and calibrated.shape == log_probs.shape
    assert np.array_equal(np.argsort(calibrated, axis=1), np.argsort(log_probs, axis=1))
    if not independent:
        assert np.allclose(np.exp(calibrated).sum(axis=1), 1.0)


@pytest.mark.parametrize("independent", [False, True])
def test_temperature_one_is_the_identity(independent):
    log_probs = (multi_label if independent else single_label)(4, 200, 1.7)[0].astype(np.float32)
    assert np.allclose(apply_temperature(log_probs, 1.0, independent=independent), log_probs, rtol=1e-6, atol=1e-6)


def test_independent_certainties_stay_finite():
    log_probs = np.array([[0.0, -np.inf, -1e-300, -800.0], [-np.inf, 0.0, -0.5, -1e-20]])
    gold = [[0, 1], [2]]  # some certainties right, some wrong
    temperature = fit_temperature(log_probs, gold, independent=True)
    assert MIN_TEMPERATURE <= temperature <= MAX_TEMPERATURE
    for t in (temperature, 0.05, 1.0, 20.0):
        calibrated = apply_temperature(log_probs, t, independent=True)
        assert np.isfinite(calibrated).all() and (calibrated <= 0).all()
    result = calibrate(log_probs, gold, independent=True, labels=4)
    assert all(math.isfinite(value) for value in (result.temperature, result.ece_before, result.ece_after, *result.thresholds))


def test_a_confidently_wrong_model_is_cooled():
    """A certainty that is wrong makes the NLL fall as T grows: the fit goes to the upper bound."""
    log_probs = np.array([[0.0, -np.inf], [-np.inf, 0.0]])
    assert fit_temperature(log_probs, [[1], [0]], independent=False) == pytest.approx(MAX_TEMPERATURE, rel=1e-3)
    assert fit_temperature(log_probs, [[1], [0]], independent=True) == pytest.approx(MAX_TEMPERATURE, rel=1e-3)


def test_single_distribution_zeros_stay_zero_and_degenerate_rows_make_no_nan():
    log_probs = np.array([[0.0, -np.inf, -np.inf], [-np.inf, -np.inf, -np.inf], [-0.1, -2.4, -np.inf]])
    calibrated = apply_temperature(log_probs, 2.0, independent=False)
    assert not np.isnan(calibrated).any()
    assert np.isneginf(calibrated[0, 1:]).all() and calibrated[0, 0] == 0.0
    assert np.isneginf(calibrated[2, 2]) and np.exp(calibrated[2]).sum() == pytest.approx(1.0)


def test_empty_sets_and_flat_objectives_give_one():
    assert fit_temperature(np.zeros((0, 3)), [], independent=False) == 1.0
    assert fit_temperature(np.zeros((0, 3)), [], independent=True) == 1.0
    assert fit_temperature(np.log(np.full((2, 3), 1 / 3)), [[], []], independent=False) == 1.0
    # uniform predictions: every T gives the same NLL
    assert fit_temperature(np.log(np.full((4, 3), 1 / 3)), [[0], [1], [2], [0]], independent=False) == 1.0
    result = calibrate(np.zeros((0, 3)), [], independent=True, labels=3)
    assert result == Calibration(1.0, [0.5, 0.5, 0.5], None, None)


def test_several_gold_labels_share_an_example():
    """Single distribution: an example's NLL is the mean over its gold labels, repeats counted once."""
    log_probs, gold = single_label(5, 500, 2.0)
    doubled = [labels + labels for labels in gold]
    assert fit_temperature(log_probs, doubled, independent=False) == fit_temperature(log_probs, gold, independent=False)
    rng = np.random.default_rng(5)
    extra = [[*labels, int(rng.integers(LABELS))] for labels in gold]
    assert fit_temperature(log_probs, extra, independent=False) > fit_temperature(log_probs, gold, independent=False)


def mixed_gold(gold, seed):
    """Half the examples given two more (random) gold labels."""
    rng = np.random.default_rng(seed)
    return [[*labels, *rng.integers(LABELS, size=2).tolist()] if i % 2 else labels for i, labels in enumerate(gold)]


@pytest.mark.parametrize("kind", ["single", "mixed", "independent"])
def test_fit_is_deterministic_and_precise(kind):
    independent = kind == "independent"
    log_probs, gold = (multi_label if independent else single_label)(6, 2000, 2.0)
    if kind == "mixed":
        gold = mixed_gold(gold, 6)
    first = fit_temperature(log_probs, gold, independent=independent)
    assert fit_temperature(log_probs.copy(), [list(g) for g in gold], independent=independent) == first
    # a minimum of the NLL as the docstring defines it: it rises either side (log T moved by 1e-2,
    # well past the tolerance)
    nll = _nll(log_probs, gold, independent)
    assert nll(first) < nll(first * math.exp(0.01)) and nll(first) < nll(first * math.exp(-0.01))


def _nll(log_probs, gold, independent):
    positive = hot(gold, log_probs.shape[1])

    def value(temperature):
        calibrated = apply_temperature(log_probs, temperature, independent=independent)
        if independent:
            rest = np.log(-np.expm1(calibrated))
            return -np.where(positive, calibrated, rest).mean()
        per_example = [calibrated[i, positive[i]].mean() for i in range(len(gold)) if positive[i].any()]
        return -np.mean(per_example)

    return value


def test_bad_arguments_are_parameter_errors():
    with pytest.raises(ParameterError):
        fit_temperature(np.zeros((2, 3)), [[0]], independent=False)
    with pytest.raises(ParameterError):
        fit_temperature(np.zeros((2, 3)), [[0], [3]], independent=False)
    with pytest.raises(ParameterError):
        fit_temperature(np.array([[np.nan, 0.0]]), [[0]], independent=True)
    with pytest.raises(ParameterError):
        apply_temperature(np.zeros((1, 2)), 0.0, independent=False)
    with pytest.raises(ParameterError):
        tune_thresholds(np.full((1, 2), 1.5), [[0]])
    with pytest.raises(ParameterError):
        calibrate(np.zeros((1, 2)), [[0]], independent=False, labels=3)


def brute_force_threshold(scores, positive, default):
    distinct = np.unique(scores)
    candidates = [default, *((distinct[:-1] + distinct[1:]) / 2)]
    best = max(f1(scores, positive, t) for t in candidates)
    return min((abs(t - default), -t) for t in candidates if f1(scores, positive, t) == best)


@pytest.mark.parametrize("seed", range(4))
def test_thresholds_match_a_brute_force_search(seed):
    rng = np.random.default_rng(seed)
    # few distinct values, so that ties of probability and of F1 are common
    probs = rng.integers(0, 12, (60, 7)) / 11
    positive = rng.random((60, 7)) < np.linspace(0.05, 0.6, 7)
    positive[:, 0] = False  # a label with no positive example
    gold = [np.flatnonzero(row).tolist() for row in positive]
    default = [0.5, 0.3, 0.5, 0.9][seed]
    thresholds = tune_thresholds(probs, gold, default=default)
    assert thresholds.shape == (7,) and thresholds[0] == default
    for label in range(1, 7):
        _, negative_threshold = brute_force_threshold(probs[:, label], positive[:, label], default)
        assert thresholds[label] == pytest.approx(-negative_threshold)


def test_thresholds_beat_one_half_on_a_skewed_set():
    labels = 8
    tune_lp, tune_gold = multi_label(7, 3000, 0.4, labels=labels, bias=-3.5)
    test_lp, test_gold = multi_label(8, 3000, 0.4, labels=labels, bias=-3.5)
    tune_probs, test_probs = np.exp(tune_lp), np.exp(test_lp)
    thresholds = tune_thresholds(tune_probs, tune_gold)
    tune_hot, test_hot = hot(tune_gold, labels), hot(test_gold, labels)
    for label in range(labels):
        tuned = f1(tune_probs[:, label], tune_hot[:, label], thresholds[label])
        assert tuned >= f1(tune_probs[:, label], tune_hot[:, label], 0.5)

    def micro(probs, positive, cut):
        predicted = probs >= cut
        return 2 * (predicted & positive).sum() / (predicted.sum() + positive.sum())

    assert micro(test_probs, test_hot, thresholds) > micro(test_probs, test_hot, 0.5) + 0.1


def test_thresholds_tie_to_the_nearer_then_the_higher():
    # one label: {0.875} and {0.875, 0.625, 0.375} both give F1 2/3, at 0.75 and 0.25, each 0.25 from 0.5
    probs = np.array([0.875, 0.875, 0.625, 0.625, 0.625, 0.625, 0.375, 0.375, 0.125])[:, None]
    gold = [[0], [0], [], [], [], [], [0], [0], []]
    assert tune_thresholds(probs, gold)[0] == 0.75
    # otherwise the nearer: 0.25 from 0.4, 0.75 from 0.625 (each of which scores 0.4 itself)
    assert tune_thresholds(probs, gold, default=0.4)[0] == 0.25
    assert tune_thresholds(probs, gold, default=0.625)[0] == 0.75
    # and a default that ties the best is kept: 0.3 makes the partition of 0.25
    assert tune_thresholds(probs, gold, default=0.3)[0] == 0.3


def test_thresholds_strictly_better_in_a_constructed_case():
    probs = np.array([[0.30, 0.9], [0.35, 0.8], [0.20, 0.1], [0.10, 0.6]])
    gold = [[0, 1], [0, 1], [], [1]]
    thresholds = tune_thresholds(probs, gold)
    # label 0: nothing reaches 0.5 (F1 0); the midpoint between 0.30 and 0.20 takes both positives
    assert thresholds[0] == pytest.approx(0.25)
    assert f1(probs[:, 0], np.array([True, True, False, False]), thresholds[0]) == 1.0
    # label 1: 0.5 already separates it perfectly, and is the default: kept
    assert thresholds[1] == 0.5


def test_calibrate_reports_and_tunes():
    log_probs, gold = single_label(9, 3000, 3.0)
    result = calibrate(log_probs, gold, independent=False, labels=LABELS)
    assert result.temperature > 2 and result.thresholds is None
    assert result.ece_after < result.ece_before / 2
    assert result.ece_before == pytest.approx(top_ece(log_probs, gold))
    log_probs, gold = multi_label(10, 3000, 3.0)
    result = calibrate(log_probs, gold, independent=True, labels=LABELS)
    calibrated = np.exp(apply_temperature(log_probs, result.temperature, independent=True))
    assert result.thresholds == tune_thresholds(calibrated, gold).tolist()
    assert result.ece_after < result.ece_before


def test_round_trip():
    original = Calibration(1.7, [0.25, 0.5, 1.0], 0.12, 0.03)
    assert Calibration.from_dict(original.to_dict(), "m.model", labels=3) == original
    assert Calibration.from_dict(Calibration().to_dict(), "m.model") == Calibration()
    assert Calibration.from_dict({"temperature": 2, "thresholds": [0, 1]}, "m.model").thresholds == [0.0, 1.0]


@pytest.mark.parametrize(
    "damaged",
    [
        [1.0],
        {"temperature": "1.0"},
        {"temperature": True},
        {"temperature": 0.0},
        {"temperature": -2.0},
        {"temperature": float("nan")},
        {"temperature": float("inf")},
        {"temperature": 1.0, "thresholds": 0.5},
        {"temperature": 1.0, "thresholds": [0.5, 1.5, 0.5]},
        {"temperature": 1.0, "thresholds": [0.5, -0.1, 0.5]},
        {"temperature": 1.0, "thresholds": [0.5, "0.5", 0.5]},
        {"temperature": 1.0, "thresholds": [0.5, None, 0.5]},
        {"temperature": 1.0, "thresholds": [0.5, 0.5]},
        {"temperature": 1.0, "ece_before": -0.1},
        {"temperature": 1.0, "ece_after": "low"},
        {"temperature": 1.0, "ece_after": float("nan")},
    ],
)
def test_from_dict_rejects_damage(damaged):
    with pytest.raises(InputError) as caught:
        Calibration.from_dict(damaged, "m.model", labels=3)
    assert caught.value.source == "m.model"
