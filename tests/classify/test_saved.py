"""The saved classifier (textseq/classify/saved.py): round trips of a linear model and a network,
mutation fuzzing of a saved linear model (it loads as a classifier that answers with finite
log-probabilities, or fails with one InputError naming the file; nothing else), the message for a
classifier whose plugin is missing, and a sentencepiece tokenizer travelling in the file."""

from __future__ import annotations

import copy
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given

from fuzzing import bounded, fuzz_settings, mutations
from textseq.classify.classifier import FitSettings
from textseq.classify.model_file import read_model_file, write_model_file
from textseq.classify.saved import TOKENIZER_MODEL, SavedClassifier, TokenizerSpec, load_classifier
from textseq.classify.training import train_classifier
from textseq.errors import InputError

WORDS = {"pos": ["good", "great", "fine", "lovely"], "neg": ["bad", "awful", "dull", "poor"], "mid": ["okay", "fair", "so-so", "average"]}
TEXTS = [["good", "film"], [], ["awful", "dull", "plot"], ["never", "seen", "words"], ["okay"] * 30, ["東京", "naïve"]]


def _lines(count: int, seed: int, *, multi: bool = False) -> list[str]:
    rng = random.Random(seed)
    lines = []
    for _ in range(count):
        labels = rng.sample(sorted(WORDS), 2 if multi and rng.random() < 0.3 else 1)
        words = [word for label in labels for word in rng.choices(WORDS[label], k=2)] + rng.choices(["the", "a", "film", "plot"], k=2)
        rng.shuffle(words)
        lines.append(" ".join([f"__label__{label}" for label in labels] + words))
    return lines


def _train(path: Path, config: dict[str, Any], *, multi: bool = False, arch: str = "linear", **options: Any) -> SavedClassifier:
    result = train_classifier(
        _lines(60, 1, multi=multi),
        arch=arch,
        output=str(path),
        config=config,
        valid_lines=_lines(15, 2, multi=multi),
        settings=options.pop("settings", None) or FitSettings(epochs=3, threads=1),
        **options,
    )
    return result.saved


LINEAR = {
    "softmax": {"dim": 6, "word_ngrams": 2, "buckets": 1009, "minn": 2, "maxn": 3},
    "hs": {"dim": 5, "loss": "hs", "word_ngrams": 3, "buckets": 521},
    "ova": {"dim": 4, "loss": "ova", "minn": 1, "maxn": 2, "buckets": 257},
}


# ---- round trips


@pytest.mark.parametrize("kind", LINEAR)
def test_a_linear_model_round_trips(kind, tmp_path):
    path = tmp_path / "m.tsc"
    saved = _train(path, LINEAR[kind], multi=kind == "ova")
    loaded = load_classifier(str(path))
    assert loaded.name == "linear" and loaded.labels.names == saved.labels.names
    assert loaded.classifier.config == saved.classifier.config
    assert loaded.calibration == saved.calibration and loaded.calibration is not None
    assert loaded.tokenizer == saved.tokenizer and loaded.multi_label == (kind == "ova")
    assert loaded.classifier.independent == (kind == "ova")
    assert loaded.metrics == saved.metrics and loaded.settings == saved.settings
    assert np.array_equal(loaded.log_probabilities(TEXTS), saved.log_probabilities(TEXTS))
    assert np.array_equal(loaded.classifier.log_probabilities(TEXTS), saved.classifier.log_probabilities(TEXTS))
    again = tmp_path / "again.tsc"
    loaded.save(str(again))
    assert again.read_bytes() == path.read_bytes()  # what is read is all that was written


def test_a_network_round_trips(tmp_path):
    path = tmp_path / "n.tsc"
    saved = _train(path, {"embedding_size": 8, "hidden_size": 8}, arch="lstm", settings=FitSettings(epochs=1, batch_size=8))
    loaded = load_classifier(str(path))
    assert loaded.name == "lstm" and loaded.classifier.config == saved.classifier.config
    texts = [text for text in TEXTS if text]
    assert np.array_equal(loaded.log_probabilities(texts), saved.log_probabilities(texts))


# ---- fuzzing a saved linear model


@pytest.fixture(scope="module")
def valid_models(tmp_path_factory) -> dict[str, bytes]:
    folder = tmp_path_factory.mktemp("valid")
    models = {}
    for kind in ("hs", "ova"):
        path = folder / f"{kind}.tsc"
        _train(path, LINEAR["hs" if kind == "hs" else "ova"] | ({"word_ngrams": 2} if kind == "ova" else {}), multi=kind == "ova")
        models[kind] = path.read_bytes()
    return models


ODD_VALUES: list[Any] = [None, True, False, 0, 1, 2, 3, -1, 2**40, 2.5, -0.0, 1e300, "", "x", "softmax", "hs", "ova", [], [1], {}, {"a": 1}]


def _odd(rng: random.Random) -> Any:
    return copy.deepcopy(rng.choice(ODD_VALUES))


def _edit_labels(meta: dict[str, Any], rng: random.Random) -> None:
    labels = list(meta["labels"])
    choice = rng.randrange(7)
    if choice == 0:
        labels.pop()
    elif choice == 1:
        labels.append("extra")
    elif choice == 2:
        labels.append(labels[0])
    elif choice == 3:
        labels[rng.randrange(len(labels))] = _odd(rng)
    elif choice == 4:
        labels[0] = "two words"
    elif choice == 5:
        labels.reverse()
    else:
        meta["labels"] = _odd(rng)
        return
    meta["labels"] = labels


def _edit_config(meta: dict[str, Any], rng: random.Random) -> None:
    config = meta["config"]
    key = rng.choice([*sorted(config), "unknown_option"])
    if rng.random() < 0.15 and key in config:
        del config[key]
    else:
        config[key] = _odd(rng)


def _edit_tokenizer(meta: dict[str, Any], rng: random.Random) -> None:
    meta["tokenizer"] = rng.choice(
        [None, "word", {"name": "word"}, {"name": 3, "options": {}}, {"name": "whitespace", "options": {}}, {"name": "char", "options": []}]
    )


def _edit_calibration(meta: dict[str, Any], rng: random.Random) -> None:
    calibration = meta["calibration"]
    if rng.random() < 0.2:
        meta["calibration"] = _odd(rng)
        return
    key = rng.choice(["temperature", "thresholds", "ece_before", "ece_after"])
    calibration[key] = rng.choice([_odd(rng), [0.5], [0.5] * len(meta["labels"]), [2.0] * len(meta["labels"]), 0.05, 20.0, 1e-300])


def _edit_state(meta: dict[str, Any], rng: random.Random) -> None:
    """The classifier's state as :func:`textseq.classify.model_file.flatten` wrote it: a tagged tree."""
    entries = meta["state"]["dict"]
    at = rng.randrange(len(entries))
    name, value = entries[at]
    choice = rng.randrange(5)
    if choice == 0:
        del entries[at]
    elif choice == 1:
        entries[at] = [name, _odd(rng)]
    elif choice == 2 and name == "words":
        words = value["list"]
        if words:
            words[rng.randrange(len(words))] = rng.choice([words[0], 7, None, ""])
            if rng.random() < 0.5:
                words.pop()
    elif choice == 3:
        meta["state"] = rng.choice([None, [], {"dict": 3}, {"list": []}, {"array": "classifier/inputs"}, {"array": "nowhere"}])
    else:
        entries.append([name, value])


def _edit_other(meta: dict[str, Any], rng: random.Random) -> None:
    key = rng.choice(
        ["format", "classifier", "plugin", "label_prefix", "format_of_lines", "multi_label", "independent", "settings", "metrics"]
    )
    if key == "independent" and rng.random() < 0.5:
        meta[key] = not meta[key]
    elif key == "plugin" and rng.random() < 0.5:
        meta[key] = {"plugin": "x", "distribution": rng.choice([None, "textseq-x"]), "version": None}
    elif rng.random() < 0.1:
        del meta[key]
    else:
        meta[key] = _odd(rng)


def _edit_arrays(arrays: dict[str, np.ndarray], rng: random.Random) -> None:
    name = rng.choice(sorted(arrays))
    array = np.array(arrays[name])
    choice = rng.randrange(6)
    if choice == 0:
        del arrays[name]
    elif choice == 1 and array.size:
        arrays[name] = array.reshape(-1)[:-1].copy()
    elif choice == 2:
        arrays[name] = array.astype(rng.choice([np.float64, np.int64, np.float32, np.int32, np.uint8]))
    elif choice == 3 and array.size:
        flat = array.reshape(-1)
        if array.dtype.kind in "iu":
            info = np.iinfo(array.dtype)
            value: float = min(max(rng.choice([-1, -2, 0, 1, 2**31 - 1, 255]), info.min), info.max)
        else:
            value = rng.choice([0.0, -1e30, 3.0])
        flat[rng.randrange(flat.size)] = value
        arrays[name] = array
    elif choice == 4:
        arrays[name] = np.zeros((0, *array.shape[1:]), array.dtype)
    else:
        arrays[f"classifier/extra_{rng.randrange(3)}"] = np.arange(3, dtype=np.int32)


HEADER_EDITS: dict[str, Callable[[dict[str, Any], random.Random], None]] = {
    "labels": _edit_labels,
    "config": _edit_config,
    "tokenizer": _edit_tokenizer,
    "calibration": _edit_calibration,
    "state": _edit_state,
    "other": _edit_other,
}


def _edited(valid: bytes, folder: Path, rng: random.Random) -> tuple[bytes, str]:
    """``valid`` with one to three edits of its header's meta or of its arrays, written again by the writer."""
    source = folder / "valid.tsc"
    source.write_bytes(valid)
    stored = read_model_file(str(source))
    meta = copy.deepcopy(stored.meta)
    arrays = {name: np.array(array) for name, array in stored.arrays.items()}
    done = []
    for _ in range(rng.randint(1, 3)):
        kind = rng.choice([*HEADER_EDITS, "arrays"])
        try:
            if kind == "arrays":
                _edit_arrays(arrays, rng)
            else:
                HEADER_EDITS[kind](meta, rng)
        except (KeyError, TypeError, IndexError, ValueError, AttributeError):  # an earlier edit took away what this one edits
            pass
        done.append(kind)
    target = folder / "edited.tsc"
    write_model_file(target, meta, arrays)
    return target.read_bytes(), "+".join(done)


def _bytes_mutated(valid: bytes, rng: random.Random) -> tuple[bytes, str]:
    data = bytearray(valid)
    if rng.random() < 0.3:
        return bytes(data[: rng.randrange(len(data))]), "truncated"
    header_end = valid.index(b"}  ") + 1 if b"}  " in valid else 4096
    for _ in range(rng.randint(1, 4)):
        at = rng.randrange(header_end) if rng.random() < 0.6 else rng.randrange(len(data))
        data[at] ^= 1 << rng.randrange(8)
    return bytes(data), "flipped"


def _float_arrays_finite(path: Path) -> bool:
    """Whether the weights the file holds are all finite: a flipped exponent bit makes a weight
    inf or NaN, which load does not look for (it would read every weight of a mapped matrix)."""
    try:
        stored = read_model_file(str(path))
    except InputError:
        return True
    return all(np.isfinite(array).all() for array in stored.arrays.values() if array.dtype.kind == "f")


def _load_and_answer(path: Path) -> str:
    """'error' for an InputError naming the file in one line, 'loaded' for a classifier that answers well."""
    error: InputError | None = None
    try:
        with bounded():
            saved = load_classifier(str(path))
            log_probs = saved.log_probabilities(TEXTS)
    except InputError as exc:
        error = exc
    if error is not None:
        message = str(error)
        assert error.source == str(path) and "\n" not in message and message.strip(), message
        return "error"
    assert log_probs.shape == (len(TEXTS), len(saved.labels))
    assert np.isfinite(log_probs).all() or not _float_arrays_finite(path), log_probs
    return "loaded"


FUZZ_CASES = 100


@pytest.mark.parametrize("kind", ["hs", "ova"])
def test_a_mutated_header_loads_or_is_one_input_error(kind, valid_models, tmp_path):
    outcomes = []
    for seed in range(FUZZ_CASES):
        rng = random.Random(f"{kind}-{seed}")
        data, what = _edited(valid_models[kind], tmp_path, rng)
        path = tmp_path / "fuzzed.tsc"
        path.write_bytes(data)
        try:
            outcomes.append(_load_and_answer(path))
        except Exception as exc:
            raise AssertionError(f"seed {seed} ({what}): {type(exc).__name__}: {exc}") from exc
    assert outcomes.count("error") > FUZZ_CASES // 4 and outcomes.count("loaded") > 5  # the edits reach both ways


@pytest.mark.parametrize("kind", ["hs", "ova"])
def test_mutated_bytes_load_or_are_one_input_error(kind, valid_models, tmp_path):
    outcomes = []
    for seed in range(FUZZ_CASES // 2):
        rng = random.Random(f"{kind}-bytes-{seed}")
        data, what = _bytes_mutated(valid_models[kind], rng)
        path = tmp_path / "fuzzed.tsc"
        path.write_bytes(data)
        try:
            outcomes.append(_load_and_answer(path))
        except Exception as exc:
            raise AssertionError(f"seed {seed} ({what}): {type(exc).__name__}: {exc}") from exc
    assert "error" in outcomes


@pytest.mark.parametrize("kind", ["hs", "ova"])
def test_hypothesis_mutations_load_or_are_one_input_error(kind, valid_models, tmp_path_factory):
    """The mutations every reader of the project is fuzzed with (tests/fuzzing.py), on a whole classifier."""

    @fuzz_settings
    @given(data=mutations(valid_models[kind]))
    def run(data):
        path = tmp_path_factory.mktemp("fuzzed") / "fuzzed.tsc"
        path.write_bytes(data)
        _load_and_answer(path)

    run()


def test_the_unmutated_models_load(valid_models, tmp_path):
    for kind, data in valid_models.items():
        path = tmp_path / f"{kind}.tsc"
        path.write_bytes(data)
        assert _load_and_answer(path) == "loaded"


# ---- what a model file names


def _rewritten(source: Path, target: Path, **changes: Any) -> Path:
    stored = read_model_file(str(source))
    write_model_file(target, {**stored.meta, **changes}, {name: np.array(array) for name, array in stored.arrays.items()})
    return target


@pytest.fixture(scope="module")
def linear_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("linear") / "m.tsc"
    _train(path, {"dim": 4})
    return path


def test_a_missing_plugin_classifier_names_the_package_to_install(linear_file, tmp_path):
    origin = {"plugin": "fancy", "distribution": "textseq-fancy", "version": "1.2"}
    path = _rewritten(linear_file, tmp_path / "fancy.tsc", classifier="fancy", plugin=origin)
    with pytest.raises(InputError, match="pip install textseq-fancy") as caught:
        load_classifier(str(path))
    assert caught.value.source == str(path)
    assert "textseq-fancy 1.2" in str(caught.value) and "classifier 'fancy'" in str(caught.value)


def test_an_unknown_classifier_without_a_plugin_says_to_install_one(linear_file, tmp_path):
    path = _rewritten(linear_file, tmp_path / "fancy.tsc", classifier="fancy")
    with pytest.raises(InputError, match="install the plugin that registers 'fancy'") as caught:
        load_classifier(str(path))
    assert caught.value.source == str(path)


def test_another_format_is_not_a_classifier(linear_file, tmp_path):
    path = _rewritten(linear_file, tmp_path / "other.tsc", format="textseq-vectors")
    with pytest.raises(InputError, match="not a textseq classifier"):
        load_classifier(str(path))


@pytest.mark.parametrize("tokenizer", [{"name": "nope", "options": {}}, {"name": "word", "options": {"bogus": 1}}])
def test_a_tokenizer_the_model_file_cannot_make_is_an_input_error(linear_file, tmp_path, tokenizer):
    path = _rewritten(linear_file, tmp_path / "tok.tsc", tokenizer=tokenizer)
    with pytest.raises(InputError) as caught:
        load_classifier(str(path)).text_tokenizer  # noqa: B018 - made on first use
    assert caught.value.source == str(path)


def test_an_spm_tokenizer_travels_in_the_model_file(tmp_path):
    from textseq.tokenize.spm import train_spm

    rng = random.Random(3)
    corpus = [" ".join(rng.choices([w for words in WORDS.values() for w in words] + ["the", "film"], k=6)) for _ in range(200)]
    spm_path = tmp_path / "sp.model"
    train_spm(corpus, spm_path, vocab_size=40, model_type="bpe", byte_fallback=False)
    model = spm_path.read_bytes()
    path = tmp_path / "spm.tsc"
    saved = _train(path, {"dim": 4}, tokenizer=TokenizerSpec("spm", {}, model))
    spm_path.unlink()  # the model file needs nothing beside it
    stored = read_model_file(str(path))
    assert bytes(stored.arrays[TOKENIZER_MODEL]) == model
    assert stored.meta["tokenizer"] == {"name": "spm", "options": {}, "plugin": None}
    loaded = load_classifier(str(path))
    assert loaded.tokenizer.name == "spm" and loaded.tokenizer.model == model
    line = "good film , awful plot"
    tokens = loaded.text_tokenizer.tokenize(line)
    assert tokens == saved.text_tokenizer.tokenize(line) and len(tokens) > 4
    assert np.array_equal(loaded.log_probabilities([tokens]), saved.log_probabilities([tokens]))
