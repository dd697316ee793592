"""train_classifier (textseq/classify/training.py), the one library call of ``classify train``: the
hold-out split, label and data errors, class weights, settings defaults, which files a run leaves,
calibration, and a network's suggested tokenizer."""

from __future__ import annotations

import os
import random
from pathlib import Path

import numpy as np
import pytest

import textseq.classify.training as training
from textseq.classify.classifier import FitSettings
from textseq.classify.data import LabelSet, read_labelled
from textseq.classify.examples import TokenTypes, encode_examples
from textseq.classify.linear import LinearClassifier
from textseq.classify.saved import TokenizerSpec, load_classifier
from textseq.classify.training import class_weights, last_path, train_classifier, with_defaults
from textseq.errors import InputError, ParameterError
from textseq.progress import Monitor
from textseq.tokenize.whitespace import WhitespaceTokenizer

WORDS = {"a": ["apple", "pear", "plum"], "b": ["bolt", "nut", "screw"], "c": ["cat", "dog", "cow"]}


def _lines(counts: dict[str, int], seed: int = 1) -> list[str]:
    rng = random.Random(seed)
    lines = [f"__label__{label} {' '.join(rng.choices(WORDS[label], k=3))} the" for label, count in counts.items() for _ in range(count)]
    rng.shuffle(lines)
    return lines


class _Notes(Monitor):
    def __init__(self) -> None:
        self.notes: list[str] = []

    def note(self, message: str) -> None:
        self.notes.append(message)


def _train(tmp_path: Path, lines: list[str], *, name: str = "m.model", epochs: int = 3, **options):
    settings = options.pop("settings", None) or FitSettings(epochs=epochs, lr=0.5, threads=1)
    return train_classifier(lines, arch="linear", output=str(tmp_path / name), config={"dim": 8}, settings=settings, **options)


@pytest.fixture
def jobs(monkeypatch):
    """The TrainingJob of each linear fit that runs in the test."""
    seen = []
    fit = LinearClassifier.fit

    def spy(self, job):
        seen.append(job)
        fit(self, job)

    monkeypatch.setattr(LinearClassifier, "fit", spy)
    return seen


# ---- the hold-out split


def test_without_valid_lines_a_stratified_tenth_is_held_out_and_said(tmp_path, jobs):
    monitor = _Notes()
    result = _train(tmp_path, _lines({"a": 60, "b": 30, "c": 10}), monitor=monitor)
    assert result.held_out and result.valid_examples == 10
    assert any("holding out 10 of 100 examples" in note and "stratified" in note for note in monitor.notes)
    assert result.notes == [note for note in monitor.notes if "holding out" in note]
    (job,) = jobs
    labels = job.labels
    assert job.valid.label_counts(len(labels)).tolist() == [6, 3, 1]
    assert job.train.label_counts(len(labels)).tolist() == [54, 27, 9]
    assert labels.names == ("a", "b", "c")


def test_valid_lines_are_used_as_they_are(tmp_path, jobs):
    monitor = _Notes()
    result = _train(tmp_path, _lines({"a": 20, "b": 10}), valid_lines=_lines({"a": 3, "b": 4}, seed=2), monitor=monitor)
    assert not result.held_out and result.valid_examples == 7
    assert not any("holding out" in note for note in monitor.notes)
    assert len(jobs[0].train) == 30


def test_the_held_out_split_depends_on_the_seed_only(tmp_path, jobs):
    lines = _lines({"a": 30, "b": 30})
    for seed in (1, 1, 2):
        _train(tmp_path, lines, settings=FitSettings(epochs=1, seed=seed))
    held = [sorted(job.valid.lines.tolist()) for job in jobs]
    assert held[0] == held[1] != held[2]


def test_a_label_of_a_held_out_multi_label_line_is_not_unknown(tmp_path):
    lines = [f"__label__a x{i}" for i in range(20)] + ["__label__a __label__rare y"]
    _train(tmp_path, lines, settings=FitSettings(epochs=1, seed=26))  # seed 26 holds out line 21


# ---- bad data


def test_an_unknown_label_in_the_valid_lines_is_an_error_at_its_line(tmp_path):
    valid = ["__label__a apple", "", "__label__nope apple"]
    with pytest.raises(InputError, match="unknown label 'nope'") as caught:
        _train(tmp_path, _lines({"a": 5, "b": 5}), valid_lines=valid, valid_source="valid.txt")
    assert (caught.value.source, caught.value.line) == ("valid.txt", 3)
    assert str(caught.value).startswith("valid.txt:3: ")
    assert not (tmp_path / "m.model").exists()


@pytest.mark.parametrize("lines", [[], [""], ["", "   ", "\t\n"]])
def test_an_empty_training_set_is_an_input_error(tmp_path, lines):
    with pytest.raises(InputError, match="no examples") as caught:
        _train(tmp_path, lines, train_source="train.txt")
    assert caught.value.source == "train.txt"


def test_an_unlabelled_training_line_is_an_error_at_its_line(tmp_path):
    with pytest.raises(InputError, match="no label") as caught:
        _train(tmp_path, ["__label__a apple", "pear"], train_source="train.txt")
    assert caught.value.line == 2


def test_an_unknown_classifier_is_a_parameter_error(tmp_path):
    with pytest.raises(ParameterError, match="unknown classifier 'nope'"):
        train_classifier(_lines({"a": 3}), arch="nope", output=str(tmp_path / "m.model"))


# ---- class weights


@pytest.fixture
def encoded():
    examples = list(read_labelled(_lines({"a": 6, "b": 3, "c": 1})))
    labels = LabelSet.from_examples(examples)
    return encode_examples(examples, WhitespaceTokenizer(), labels, TokenTypes(), count=True), labels


def test_no_class_weights(encoded):
    assert class_weights("none", *encoded) is None


def test_balanced_class_weights_are_inverse_to_the_counts(encoded):
    train, labels = encoded
    weights = class_weights("balanced", train, labels)
    assert weights is not None and weights.dtype == np.float32
    assert np.allclose(weights, [10 / (3 * 6), 10 / (3 * 3), 10 / (3 * 1)])
    assert np.isclose((weights * train.label_counts(len(labels))).sum() / len(train), 1.0)  # mean 1 over the examples


def test_class_weights_from_a_file(encoded, tmp_path):
    train, labels = encoded
    path = tmp_path / "weights.txt"
    path.write_text("# label weight\n\n__label__c 4\nb   0.5\n", encoding="utf-8")
    weights = class_weights(str(path), train, labels)
    assert weights is not None and weights.dtype == np.float32
    named = dict(zip(labels.names, weights.tolist()))
    assert named["c"] / named["a"] == pytest.approx(4.0) and named["b"] / named["a"] == pytest.approx(0.5)


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("a 1\nb\n", 2, "'label weight'"),
        ("a 1 2\n", 1, "'label weight'"),
        ("a 1\n\nzzz 2\n", 3, "unknown label 'zzz'"),
        ("c 0\n", 1, "> 0"),
        ("c -1\n", 1, "> 0"),
        ("c heavy\n", 1, "> 0, not 'heavy'"),
        ("c nan\n", 1, "> 0"),
        ("c inf\n", 1, "> 0"),
    ],
)
def test_a_bad_class_weights_file_is_an_error_at_its_line(encoded, tmp_path, text, line, message):
    path = tmp_path / "weights.txt"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InputError, match=message) as caught:
        class_weights(str(path), *encoded)
    assert (caught.value.source, caught.value.line) == (str(path), line)


def test_a_class_weight_that_is_no_file_nor_a_choice_is_a_parameter_error(encoded, tmp_path):
    with pytest.raises(ParameterError, match="none, balanced or a file") as caught:
        class_weights(str(tmp_path / "missing.txt"), *encoded)
    assert caught.value.parameter == "class_weight"


def test_a_class_weights_file_that_is_not_text_is_an_input_error(encoded, tmp_path):
    path = tmp_path / "weights.bin"
    path.write_bytes(b"a \xff\xfe\n")
    with pytest.raises(InputError, match="cannot read the class weights"):
        class_weights(str(path), *encoded)


def test_class_weights_reach_the_classifier(tmp_path, jobs):
    _train(tmp_path, _lines({"a": 20, "b": 5}), class_weight="balanced")
    weights = jobs[0].class_weights
    assert weights is not None and weights[jobs[0].labels.id_of("b")] > weights[jobs[0].labels.id_of("a")]


# ---- settings


def test_with_defaults_fills_only_what_is_none():
    given = FitSettings(epochs=3, batch_size=None, seed=5)
    filled = with_defaults(given, {"tokenizer": "char", "epochs": 10, "lr": 0.25, "batch_size": 64, "seed": 9})
    assert (filled.epochs, filled.lr, filled.batch_size, filled.seed) == (3, 0.25, 64, 5)
    assert given.lr is None  # not changed in place
    assert with_defaults(given, {}) == given


def test_with_defaults_refuses_an_unknown_setting():
    with pytest.raises(ParameterError, match="unknown training settings: warmup"):
        with_defaults(FitSettings(), {"warmup": 3})


def test_with_defaults_checks_what_it_fills():
    with pytest.raises(ValueError, match="epochs"):
        with_defaults(FitSettings(), {"epochs": 0})


def test_the_classifiers_defaults_are_what_a_run_records(tmp_path):
    result = train_classifier(_lines({"a": 10, "b": 10}), arch="linear", output=str(tmp_path / "m.model"))
    assert result.saved.settings["epochs"] == 5 and result.saved.settings["lr"] == 0.1
    assert "threads" not in result.saved.settings  # None is not recorded


# ---- the files a run leaves


def test_last_path():
    assert last_path("reviews.model") == "reviews.last.model"
    assert last_path("dir.v2/model") == "dir.v2/model.last"
    assert last_path("model") == "model.last"


def test_a_finished_linear_run_leaves_the_output_only(tmp_path):
    result = _train(tmp_path, _lines({"a": 10, "b": 10}), name="run.tsc")
    assert result.finished and result.resumable is None
    assert sorted(os.listdir(tmp_path)) == ["run.tsc"]
    assert result.output == str(tmp_path / "run.tsc")
    loaded = load_classifier(result.output)
    assert loaded.classifier.progress["epoch"] == 3


def test_a_run_stopped_by_its_time_budget_leaves_a_resumable_file(tmp_path):
    result = _train(tmp_path, _lines({"a": 10, "b": 10}), name="run.tsc", settings=FitSettings(epochs=5, time_budget=1e-9))
    assert not result.finished
    assert result.resumable == str(tmp_path / "run.last.tsc")
    assert sorted(os.listdir(tmp_path)) == ["run.last.tsc", "run.tsc"]
    assert load_classifier(result.resumable).classifier.progress["epoch"] < 5


class _StopAfter:
    """A stand-in for training's StopRequest: Ctrl-C on the ``calls``-th check."""

    calls = 2

    def __init__(self) -> None:
        self.made = 0

    def check(self) -> None:
        self.made += 1
        if self.made >= self.calls:
            raise KeyboardInterrupt

    def restore(self) -> None:
        pass


def test_an_interrupted_run_leaves_a_resumable_file_that_resumes_exactly(tmp_path, monkeypatch):
    monkeypatch.setattr("textseq.classify.linear.JOB_EXAMPLES", 8)
    lines = _lines({"a": 30, "b": 20, "c": 10})
    valid = _lines({"a": 3, "b": 3, "c": 3}, seed=3)
    whole = _train(tmp_path, lines, name="whole.tsc", valid_lines=valid)

    monkeypatch.setattr(training, "StopRequest", _StopAfter)
    with pytest.raises(KeyboardInterrupt):
        _train(tmp_path, lines, name="run.tsc", valid_lines=valid)
    resumable = tmp_path / "run.last.tsc"
    assert resumable.exists() and not (tmp_path / "run.tsc").exists()
    progress = load_classifier(str(resumable)).classifier.progress
    assert (progress["epoch"], len(progress["jobs_done"])) == (0, 2)

    monkeypatch.setattr(training, "StopRequest", type("NoStop", (_StopAfter,), {"calls": 10**9}))
    resumed = _train(tmp_path, lines, name="run.tsc", valid_lines=valid, resume=str(resumable))
    assert resumed.finished
    a, b = whole.saved.classifier, resumed.saved.classifier
    assert isinstance(a, LinearClassifier) and isinstance(b, LinearClassifier)
    assert np.array_equal(a.inputs, b.inputs) and np.array_equal(a.outputs, b.outputs)
    texts = [["apple", "nut"], ["cow"]]
    assert np.array_equal(
        load_classifier(str(tmp_path / "run.tsc")).log_probabilities(texts), load_classifier(whole.output).log_probabilities(texts)
    )


def test_a_resumed_run_that_finishes_leaves_no_stale_resumable_file(tmp_path):
    lines = _lines({"a": 10, "b": 10})
    stopped = _train(tmp_path, lines, name="run.tsc", settings=FitSettings(epochs=3, time_budget=1e-9))
    assert stopped.resumable is not None
    _train(tmp_path, lines, name="run.tsc", resume=stopped.resumable)
    last = tmp_path / "run.last.tsc"
    assert not last.exists() or load_classifier(str(last)).classifier.progress["epoch"] == 3


def test_resuming_another_classifier_is_a_parameter_error(tmp_path):
    stopped = _train(tmp_path, _lines({"a": 10, "b": 10}), settings=FitSettings(epochs=3, time_budget=1e-9))
    assert stopped.resumable is not None
    with pytest.raises(ParameterError, match="holds a 'linear' classifier, not 'lstm'"):
        train_classifier(_lines({"a": 10, "b": 10}), arch="lstm", output=str(tmp_path / "n.model"), resume=stopped.resumable)


# ---- calibration


def test_calibration_is_stored_with_the_ece_before_and_after(tmp_path):
    monitor = _Notes()
    result = _train(tmp_path, _lines({"a": 40, "b": 40}, seed=4), valid_lines=_lines({"a": 10, "b": 10}, seed=5), monitor=monitor)
    calibration = result.saved.calibration
    assert calibration is not None
    assert calibration.temperature > 0 and calibration.thresholds is None
    assert calibration.ece_before is not None and 0 <= calibration.ece_before <= 1
    assert calibration.ece_after is not None and 0 <= calibration.ece_after <= 1
    assert load_classifier(result.output).calibration == calibration
    assert calibration.temperature == 1.0  # 20 examples are too few to fit a temperature on
    assert any(note.startswith("too few validation examples to fit a temperature on (20 < 50)") for note in monitor.notes)


def test_enough_validation_examples_fit_a_temperature(tmp_path):
    monitor = _Notes()
    result = _train(tmp_path, _lines({"a": 80, "b": 80}, seed=4), valid_lines=_lines({"a": 30, "b": 30}, seed=5), monitor=monitor)
    calibration = result.saved.calibration
    assert calibration is not None and calibration.temperature != 1.0
    assert any(note.startswith("calibrated on 60 validation examples: temperature") for note in monitor.notes)


def test_ova_calibration_stores_thresholds(tmp_path):
    lines = _lines({"a": 20, "b": 20}) + ["__label__a __label__b apple bolt"] * 10
    result = train_classifier(
        lines, arch="linear", output=str(tmp_path / "m.model"), config={"dim": 8, "loss": "ova"}, settings=FitSettings(epochs=3)
    )
    calibration = result.saved.calibration
    assert result.saved.multi_label and calibration is not None
    assert calibration.thresholds is not None and len(calibration.thresholds) == 2
    assert load_classifier(result.output).thresholds is not None


def test_no_calibrate_stores_none(tmp_path):
    result = _train(tmp_path, _lines({"a": 20, "b": 20}), calibrate=False)
    assert result.saved.calibration is None
    assert load_classifier(result.output).calibration is None


# ---- a network's suggestions


def test_char_cnn_picks_the_char_tokenizer_and_its_settings(tmp_path):
    lines = [f"__label__{'ab'[i % 2]} {'good' if i % 2 else 'bad'} film {i}" for i in range(16)]
    config = {"features": 8, "hidden_size": 8, "max_length": 130}
    result = train_classifier(lines, arch="char-cnn", output=str(tmp_path / "c.model"), config=config, settings=FitSettings(epochs=1))
    assert result.saved.tokenizer == TokenizerSpec("char")
    assert result.saved.settings["batch_size"] == 64 and result.saved.settings["lr"] == 1e-3 and result.saved.settings["epochs"] == 1
    assert load_classifier(result.output).tokenizer.name == "char"


def test_a_given_tokenizer_wins_over_the_suggested_one(tmp_path):
    lines = [f"__label__{'ab'[i % 2]} {'good' if i % 2 else 'bad'} film" for i in range(8)]
    config = {"features": 8, "hidden_size": 8, "max_length": 130}
    result = train_classifier(
        lines,
        arch="char-cnn",
        output=str(tmp_path / "c.model"),
        config=config,
        tokenizer=TokenizerSpec("whitespace"),
        settings=FitSettings(epochs=1),
    )
    assert result.saved.tokenizer.name == "whitespace"
