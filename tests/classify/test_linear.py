"""The linear classifier (textseq/classify/linear*.py): its features against a pure-Python reference
of the hashing its docstring describes, training with each loss, threads and determinism, class
weights, word and character n-grams, exact resumption, the time budget, probabilities, and the
checks of a restored state."""

from __future__ import annotations

import json
import math
import random
import zlib
from collections import Counter
from collections.abc import Callable, Sequence

import numpy as np
import pytest

import textseq.classify.linear as linear_module
from textseq.classify.classifier import FitSettings, TrainingJob
from textseq.classify.data import LabelSet, read_labelled
from textseq.classify.examples import EncodedExamples, TokenTypes, encode_examples
from textseq.classify.linear import LinearClassifier
from textseq.classify.linear_features import char_ngrams, example_features, type_features
from textseq.errors import InputError
from textseq.progress import Monitor
from textseq.tokenize.whitespace import WhitespaceTokenizer

MASK = 2**64 - 1
VOCABULARY = ["the", "film", "a", "good", "bad", "not", "é", "東京", "naïve", "x", "plot", "—"]


# ---- a reference of the features, from linear_features' docstring


def _hash(token: str) -> int:
    return zlib.crc32(token.encode("utf-8"))


def _reference_word_ngrams(tokens: Sequence[str], word_ngrams: int, buckets: int) -> list[int]:
    """Buckets of the word n-grams of 2 to ``word_ngrams`` words: all bigrams, then all trigrams, ..."""
    hashes = [_hash(token) for token in tokens]
    found = []
    for n in range(2, word_ngrams + 1):
        for start in range(len(tokens) - n + 1):
            h = hashes[start]
            for k in range(1, n):
                h = (h * 116049371 + hashes[start + k]) & MASK
            found.append(h % buckets)
    return found


def _reference_char_ngrams(word: str, minn: int, maxn: int) -> list[str]:
    """The substrings of ``<word>`` of ``minn`` to ``maxn`` characters but the lone framing ``<`` and ``>``."""
    framed = f"<{word}>"
    last = len(framed) - 1
    return [framed[i : i + n] for n in range(minn, maxn + 1) for i in range(len(framed) - n + 1) if not (n == 1 and i in (0, last))]


def _reference_keys(tokens: Sequence[str], words: dict[str, int], *, minn: int, maxn: int, word_ngrams: int, buckets: int) -> list[int]:
    """An example's feature keys: its known words, its tokens' character n-grams, its word n-grams."""
    keys = [words[token] for token in tokens if token in words]
    if maxn:
        for token in tokens:
            keys.extend(len(words) + _hash(gram) % buckets for gram in _reference_char_ngrams(token, minn, maxn))
    keys.extend(len(words) + bucket for bucket in _reference_word_ngrams(tokens, word_ngrams, buckets))
    return keys


def _random_lines(rng: random.Random, count: int) -> list[list[str]]:
    lines: list[list[str]] = [[], ["good"], ["東京"]]
    lines.extend(rng.choices(VOCABULARY, k=rng.choice([0, 1, 1, 2, 3, 4, 7])) for _ in range(count))
    rng.shuffle(lines)
    return lines


def _features(lines: list[list[str]], words: dict[str, int], *, minn: int, maxn: int, word_ngrams: int, buckets: int):
    names = list(dict.fromkeys(token for line in lines for token in line))
    index = {name: i for i, name in enumerate(names)}
    word_keys = np.array([words.get(name, -1) for name in names], dtype=np.int64)
    types = type_features(names, word_keys, buckets=buckets, minn=minn, maxn=maxn)
    offsets = np.zeros(len(lines) + 1, dtype=np.int64)
    np.cumsum([len(line) for line in lines], out=offsets[1:])
    token_types = np.array([index[token] for line in lines for token in line], dtype=np.int64)
    return example_features(offsets, token_types, types, words=len(words), word_ngrams=word_ngrams, buckets=buckets)


@pytest.mark.parametrize("word_ngrams", [2, 3])
@pytest.mark.parametrize("buckets", [1, 97, 2_000_000])
def test_word_ngram_buckets_match_the_reference(word_ngrams, buckets):
    rng = random.Random(word_ngrams * 1000 + buckets)
    lines = _random_lines(rng, 60)
    words = {"the": 0, "good": 1, "東京": 2, "not": 3}  # the rest are unknown words: their hashes still count
    offsets, keys = _features(lines, words, minn=0, maxn=0, word_ngrams=word_ngrams, buckets=buckets)
    assert offsets.dtype == np.int64 and keys.dtype == np.int64
    assert len(offsets) == len(lines) + 1
    for i, line in enumerate(lines):
        expected = _reference_keys(line, words, minn=0, maxn=0, word_ngrams=word_ngrams, buckets=buckets)
        assert keys[offsets[i] : offsets[i + 1]].tolist() == expected, line


def test_one_hash_overflows_64_bits_as_the_reference_does():
    tokens = ["zzzzzz", "yyyyyy", "xxxxxx"]
    h = _hash(tokens[0])
    for token in tokens[1:]:
        h = h * 116049371 + _hash(token)
    assert h > MASK  # the check is of the wrap-around, not of small numbers
    _, keys = _features([tokens], {}, minn=0, maxn=0, word_ngrams=3, buckets=1_000_003)
    assert keys[-1] == (h & MASK) % 1_000_003


@pytest.mark.parametrize(("minn", "maxn"), [(1, 1), (1, 3), (2, 4), (3, 6), (5, 5)])
def test_char_ngrams_are_those_of_the_framed_word(minn, maxn):
    for word in ["a", "ab", "good", "naïve", "東京", "<>", "abcdefgh"]:
        assert Counter(char_ngrams(word, minn, maxn)) == Counter(_reference_char_ngrams(word, minn, maxn)), word
    assert sorted(char_ngrams("ab", 1, 2)) == sorted(["a", "b", "<a", "ab", "b>"])
    assert "<" not in char_ngrams("ab", 1, 3) and ">" not in char_ngrams("ab", 1, 3)


@pytest.mark.parametrize(("minn", "maxn", "word_ngrams"), [(2, 4, 1), (1, 3, 2), (3, 3, 3)])
def test_example_features_in_order_words_char_ngrams_word_ngrams(minn, maxn, word_ngrams):
    rng = random.Random(minn * 100 + maxn * 10 + word_ngrams)
    lines = _random_lines(rng, 40)
    words = {"film": 0, "é": 1, "bad": 2}
    buckets = 5003
    offsets, keys = _features(lines, words, minn=minn, maxn=maxn, word_ngrams=word_ngrams, buckets=buckets)
    for i, line in enumerate(lines):
        got = keys[offsets[i] : offsets[i + 1]].tolist()
        known = [words[token] for token in line if token in words]
        grams = len(words) + np.array(
            [_hash(g) % buckets for token in line for g in _reference_char_ngrams(token, minn, maxn)], dtype=np.int64
        )
        ngrams = [len(words) + b for b in _reference_word_ngrams(line, word_ngrams, buckets)]
        assert got[: len(known)] == known
        # each token's n-grams together, tokens in order (the order within a word is the module's own)
        at = len(known)
        for token in line:
            mine = [len(words) + _hash(g) % buckets for g in _reference_char_ngrams(token, minn, maxn)]
            assert Counter(got[at : at + len(mine)]) == Counter(mine), (line, token)
            at += len(mine)
        assert at == len(known) + len(grams)
        assert got[at:] == ngrams


def test_an_unknown_word_keeps_its_hash_and_its_bigrams_count():
    words = {"good": 0, "film": 1}
    line = ["good", "zorblax", "film"]
    _, keys = _features([line], words, minn=0, maxn=0, word_ngrams=2, buckets=1009)
    bigrams = _reference_word_ngrams(line, 2, 1009)
    assert keys.tolist() == [0, 1] + [2 + b for b in bigrams]


def test_a_trained_model_uses_the_bigram_of_a_word_it_does_not_keep():
    """With min_count 2 a word seen once is not in the vocabulary, but the bigrams it made in
    training have rows, and prediction finds them through the word's hash."""
    lines = ["__label__a good zorblax", "__label__a good film", "__label__b bad film", "__label__b bad good"]
    model, _, _ = _trained(lines, epochs=1, config={"word_ngrams": 2, "buckets": 1009, "min_count": 2, "dim": 4})
    assert "zorblax" not in model.word_index and "good" in model.word_index
    offsets, rows = model._text_features([["good", "zorblax"]])
    bucket = _reference_word_ngrams(["good", "zorblax"], 2, 1009)[0]
    assert model.bucket_rows[bucket] >= 0
    assert rows[offsets[0] : offsets[1]].tolist() == [model.word_index["good"], model.bucket_rows[bucket]]
    offsets, rows = model._text_features([["zorblax"]])
    assert offsets.tolist() == [0, 0]  # alone it has nothing the model knows


# ---- training


class _Monitor(Monitor):
    def __init__(self) -> None:
        self.notes: list[str] = []

    def note(self, message: str) -> None:
        self.notes.append(message)


def _encoded(lines: Sequence[str], valid_lines: Sequence[str] = ()) -> tuple[EncodedExamples, EncodedExamples, LabelSet]:
    train = list(read_labelled(lines))
    labels = LabelSet.from_examples(train)
    types = TokenTypes()
    tokenizer = WhitespaceTokenizer()
    return (
        encode_examples(train, tokenizer, labels, types, count=True),
        encode_examples(list(read_labelled(valid_lines)), tokenizer, labels, types, count=False),
        labels,
    )


def _job(data, *, weights=None, stop: Callable[[], None] | None = None, **settings) -> TrainingJob:
    train, valid, labels = data
    options = {"epochs": 5, "lr": 0.5, "threads": 1, "seed": 1, **settings}
    return TrainingJob(train, valid, labels, FitSettings(**options), _Monitor(), weights, train.multi_label, stop=stop or (lambda: None))


def _trained(lines, valid_lines=(), *, config=None, weights=None, **settings) -> tuple[LinearClassifier, EncodedExamples, TrainingJob]:
    data = _encoded(lines, valid_lines)
    model = LinearClassifier(**{"dim": 16, **(config or {})})
    job = _job(data, weights=weights, **settings)
    model.fit(job)
    return model, data[0], job


def _accuracy(model: LinearClassifier, examples: EncodedExamples) -> float:
    predicted = model.log_probabilities(list(examples.texts())).argmax(axis=1)
    return float(np.mean([predicted[i] in examples.labels_of(i) for i in range(len(examples))]))


TOPICS = {
    "sport": ["goal", "match", "team", "score", "league"],
    "music": ["song", "album", "guitar", "band", "tune"],
    "food": ["bread", "soup", "spice", "cook", "meal"],
    "tech": ["code", "chip", "linux", "kernel", "disk"],
    "art": ["paint", "canvas", "museum", "sculpt", "brush"],
}
FILLER = ["the", "a", "of", "and", "is", "it"]


def _topic_lines(count: int, seed: int, topics: Sequence[str] = tuple(TOPICS)) -> list[str]:
    rng = random.Random(seed)
    lines = []
    for _ in range(count):
        topic = rng.choice(topics)
        words = rng.choices(TOPICS[topic], k=rng.randint(1, 3)) + rng.choices(FILLER, k=rng.randint(0, 4))
        rng.shuffle(words)
        lines.append(f"__label__{topic} {' '.join(words)}")
    return lines


@pytest.mark.parametrize("loss", ["softmax", "hs", "ova"])
def test_each_loss_overfits_a_separable_set(loss):
    model, train, _ = _trained(_topic_lines(60, 1), config={"loss": loss}, epochs=30)
    assert _accuracy(model, train) == 1.0
    assert model.independent == (loss == "ova")


def test_ova_on_multi_label_data_gives_each_label_its_probability():
    lines = _topic_lines(50, 2) + ["__label__sport __label__music goal song", "__label__food __label__tech bread code"] * 10
    model, _, job = _trained(lines, config={"loss": "ova"}, epochs=40)
    assert job.multi_label and model.independent
    probabilities = np.exp(model.log_probabilities([["goal", "song"], ["bread", "code"], ["goal"]]))
    assert probabilities.shape == (3, len(job.labels))
    assert np.all((probabilities > 0) & (probabilities < 1))
    names = job.labels
    both = probabilities[0]
    assert both[names.id_of("sport")] > 0.5 and both[names.id_of("music")] > 0.5
    assert both[names.id_of("food")] < 0.5 and both[names.id_of("art")] < 0.5
    assert probabilities[1][names.id_of("food")] > 0.5 and probabilities[1][names.id_of("tech")] > 0.5
    assert not np.allclose(probabilities.sum(axis=1), 1.0)  # not one distribution


def _arrays(model: LinearClassifier) -> tuple[np.ndarray, np.ndarray]:
    return model.inputs.copy(), model.outputs.copy()


@pytest.mark.parametrize("loss", ["softmax", "hs", "ova"])
def test_one_thread_and_one_seed_are_bit_identical(loss, monkeypatch):
    monkeypatch.setattr(linear_module, "JOB_EXAMPLES", 16)
    config = {"loss": loss, "word_ngrams": 2, "buckets": 4096, "minn": 2, "maxn": 3}
    lines = _topic_lines(100, 3)
    first = _arrays(_trained(lines, config=config, epochs=3, seed=7)[0])
    second = _arrays(_trained(lines, config=config, epochs=3, seed=7)[0])
    other = _arrays(_trained(lines, config=config, epochs=3, seed=8)[0])
    assert np.array_equal(first[0], second[0]) and np.array_equal(first[1], second[1])
    assert not np.array_equal(first[0], other[0])


def test_two_threads_train(monkeypatch):
    monkeypatch.setattr(linear_module, "JOB_EXAMPLES", 8)
    model, train, job = _trained(_topic_lines(120, 4), epochs=20, threads=2)
    assert job.finished and model.progress["epoch"] == 20
    assert model.progress["tokens_done"] == int(np.maximum(np.diff(train.offsets), 1).sum()) * 20
    assert _accuracy(model, train) >= 0.95


def test_class_weights_shift_the_decision_on_an_imbalanced_set():
    """Nine in ten lines of the same text are 'common': without weights the text is 'common', with
    'rare' weighed 5 and 'common' 0.2 the best answer is 'rare' (5 x 1 against 0.2 x 9)."""
    lines = ["__label__common same words here"] * 9 + ["__label__rare same words here"] + ["__label__rare other text"] * 2
    plain, _, job = _trained(lines, epochs=50, lr=0.2)
    labels = job.labels
    weights = np.ones(len(labels), np.float32)
    weights[labels.id_of("common")], weights[labels.id_of("rare")] = 0.2, 5.0
    weighted, _, _ = _trained(lines, epochs=50, lr=0.2, weights=weights)
    text = [["same", "words", "here"]]
    assert plain.log_probabilities(text).argmax() == labels.id_of("common")
    assert weighted.log_probabilities(text).argmax() == labels.id_of("rare")


def test_word_bigrams_learn_what_word_order_decides():
    """Each pair of lines has the same words in another order and another label: a bag of words
    gets exactly one of each pair right, bigrams all."""
    pairs = [("good", "not"), ("bad", "not"), ("fine", "hardly"), ("nice", "never"), ("great", "barely")]
    lines = []
    for first, second in pairs:
        lines += [f"__label__one {first} {second}", f"__label__two {second} {first}"]
    lines *= 3
    unigrams, train, _ = _trained(lines, epochs=50)
    bigrams, _, _ = _trained(lines, config={"word_ngrams": 2, "buckets": 10007}, epochs=50)
    assert _accuracy(unigrams, train) <= 0.5
    assert _accuracy(bigrams, train) == 1.0


def test_character_ngrams_let_an_unseen_misspelling_vote():
    lines = ["__label__pos excellent", "__label__pos wonderful", "__label__neg terrible", "__label__neg horrible"] * 5
    with_subwords, _, job = _trained(lines, config={"minn": 3, "maxn": 5, "buckets": 20011}, epochs=30)
    without, _, _ = _trained(lines, epochs=30)
    labels = job.labels
    for word, label in [("excelent", "pos"), ("wonderfull", "pos"), ("terible", "neg"), ("horible", "neg")]:
        assert word not in with_subwords.word_index
        log_probs = with_subwords.log_probabilities([[word]])[0]
        assert log_probs.argmax() == labels.id_of(label), word
        assert np.exp(log_probs.max()) > 0.6
        assert np.allclose(np.exp(without.log_probabilities([[word]])[0]), 0.5)  # nothing known: uniform


# ---- stopping and resuming


class _StopAfter:
    """A ``job.stop`` that raises KeyboardInterrupt on its ``calls``-th call."""

    def __init__(self, calls: int) -> None:
        self.calls, self.made = calls, 0

    def __call__(self) -> None:
        self.made += 1
        if self.made >= self.calls:
            raise KeyboardInterrupt


def _through_json(model: LinearClassifier, labels: LabelSet) -> LinearClassifier:
    """The model's state as a model file would give it back: meta through JSON, arrays copied, into a fresh classifier."""
    meta, arrays = model.state()
    fresh = LinearClassifier(**model.config)
    fresh.restore(json.loads(json.dumps(meta)), {name: np.array(array) for name, array in arrays.items()}, labels, "<state>")
    return fresh


@pytest.mark.parametrize("loss", ["softmax", "hs"])
@pytest.mark.parametrize("stop_at", [1, 3, 4, 7])
def test_a_stopped_run_resumes_exactly(stop_at, loss, monkeypatch):
    monkeypatch.setattr(linear_module, "JOB_EXAMPLES", 8)  # 30 examples: 4 jobs an epoch
    config = {"dim": 8, "loss": loss, "word_ngrams": 2, "buckets": 2048}
    data = _encoded(_topic_lines(30, 5), _topic_lines(6, 6))
    whole = LinearClassifier(**config)
    whole.fit(_job(data, epochs=3))

    stopped = LinearClassifier(**config)
    stop = _StopAfter(stop_at)
    with pytest.raises(KeyboardInterrupt):
        stopped.fit(_job(data, epochs=3, stop=stop))
    assert stop.made == stop_at
    done = stopped.progress["epoch"] * 4 + len(stopped.progress["jobs_done"])
    assert done == stop_at
    resumed = _through_json(stopped, data[2])
    job = _job(data, epochs=3)
    resumed.fit(job)
    assert job.finished and resumed.progress["epoch"] == 3
    assert np.array_equal(resumed.inputs, whole.inputs)
    assert np.array_equal(resumed.outputs, whole.outputs)
    assert resumed.progress["tokens_done"] == whole.progress["tokens_done"]
    assert [entry["epoch"] for entry in resumed.progress["history"]] == [1, 2, 3]


@pytest.mark.parametrize("stop_at", [3, 4])
def test_a_resumed_epoch_reports_the_loss_of_the_whole_epoch(stop_at, monkeypatch):
    monkeypatch.setattr(linear_module, "JOB_EXAMPLES", 8)
    data = _encoded(_topic_lines(30, 5))
    whole = LinearClassifier(dim=8)
    whole.fit(_job(data, epochs=2))
    stopped = LinearClassifier(dim=8)
    with pytest.raises(KeyboardInterrupt):
        stopped.fit(_job(data, epochs=2, stop=_StopAfter(stop_at)))
    resumed = _through_json(stopped, data[2])
    resumed.fit(_job(data, epochs=2))
    assert [entry["loss"] for entry in resumed.progress["history"]] == [entry["loss"] for entry in whole.progress["history"]]


def test_the_time_budget_stops_the_run_resumably():
    model, _, job = _trained(_topic_lines(40, 7), epochs=5, time_budget=1e-9)
    assert job.finished is False
    assert model.progress["epoch"] < 5
    assert any("time budget" in note for note in job.monitor.notes)  # type: ignore[attr-defined]


# ---- probabilities


@pytest.mark.parametrize("loss", ["softmax", "hs"])
def test_log_probabilities_are_distributions(loss):
    model, _, job = _trained(_topic_lines(60, 8), config={"loss": loss, "word_ngrams": 2, "buckets": 997}, epochs=5)
    texts = [["goal", "song"], [], ["never", "seen"], ["the", "code", "of", "the", "chip"]]
    log_probs = model.log_probabilities(texts)
    assert log_probs.shape == (4, len(job.labels))
    assert np.all(np.isfinite(log_probs)) and np.all(log_probs <= 0)
    assert np.allclose(np.exp(log_probs).sum(axis=1), 1.0)
    if loss == "softmax":
        assert np.allclose(np.exp(log_probs[1]), 1 / len(job.labels))  # no features: no preference
    assert model.log_probabilities([]).shape == (0, len(job.labels))


def test_hs_probabilities_are_products_along_each_labels_path():
    model, _, job = _trained(_topic_lines(80, 9), config={"loss": "hs", "dim": 6}, epochs=5)
    assert model.codes.shape[1] >= 2  # five labels: some paths have several nodes
    texts = [["goal", "song"], ["linux"], ["paint", "the", "soup"]]
    log_probs = model.log_probabilities(texts)
    for text, row in zip(texts, log_probs):
        hidden = np.mean([model.inputs[model.word_index[word]].astype(np.float64) for word in text], axis=0)
        for label in range(len(job.labels)):
            p = 1.0
            for j in range(model.code_lengths[label]):
                f = 1.0 / (1.0 + math.exp(-float(model.outputs[model.points[label, j]].astype(np.float64) @ hidden)))
                p *= f if model.codes[label, j] == 0 else 1.0 - f
            assert math.isclose(math.exp(row[label]), p, rel_tol=1e-6), (text, label)  # the model sums in float32


# ---- restoring damaged state


@pytest.fixture(scope="module")
def hs_state():
    model, _, job = _trained(_topic_lines(40, 10), config={"loss": "hs", "word_ngrams": 2, "buckets": 512, "dim": 4}, epochs=2)
    meta, arrays = model.state()
    return model, json.loads(json.dumps(meta)), {name: np.array(array) for name, array in arrays.items()}, job.labels


def _damaged(arrays: dict[str, np.ndarray], name: str, value: np.ndarray | None) -> dict[str, np.ndarray]:
    changed = dict(arrays)
    if value is None:
        del changed[name]
    else:
        changed[name] = value
    return changed


def test_an_intact_state_restores(hs_state):
    model, meta, arrays, labels = hs_state
    fresh = LinearClassifier(**model.config)
    fresh.restore(meta, arrays, labels, "m.model")
    texts = [["goal"], ["song", "the", "band"], []]
    assert np.array_equal(fresh.log_probabilities(texts), model.log_probabilities(texts))


DAMAGE: dict[str, Callable[[dict[str, np.ndarray]], dict[str, np.ndarray]]] = {
    "inputs float64": lambda a: _damaged(a, "inputs", a["inputs"].astype(np.float64)),
    "inputs missing": lambda a: _damaged(a, "inputs", None),
    "inputs too narrow": lambda a: _damaged(a, "inputs", a["inputs"][:, :-1].copy()),
    "inputs short of the words": lambda a: _damaged(a, "inputs", a["inputs"][:3].copy()),
    "outputs float16": lambda a: _damaged(a, "outputs", a["outputs"].astype(np.float16)),
    "outputs one row more": lambda a: _damaged(a, "outputs", np.vstack([a["outputs"], a["outputs"][:1]])),
    "outputs 1-d": lambda a: _damaged(a, "outputs", a["outputs"].ravel().copy()),
    "word hashes int64": lambda a: _damaged(a, "word_hashes", a["word_hashes"].astype(np.int64)),
    "word hashes short": lambda a: _damaged(a, "word_hashes", a["word_hashes"][:-1].copy()),
    "bucket table short": lambda a: _damaged(a, "bucket_rows", a["bucket_rows"][:-1].copy()),
    "bucket table int64": lambda a: _damaged(a, "bucket_rows", a["bucket_rows"].astype(np.int64)),
    "bucket past the matrix": lambda a: _damaged(a, "bucket_rows", _set(a["bucket_rows"], 5, len(a["inputs"]))),
    "bucket below -1": lambda a: _damaged(a, "bucket_rows", _set(a["bucket_rows"], 5, -2)),
    "tree past the outputs": lambda a: _damaged(a, "points", _set(a["points"], (0, 0), len(a["outputs"]))),
    "tree negative node": lambda a: _damaged(a, "points", _set(a["points"], (1, 0), -1)),
    "code longer than the table": lambda a: _damaged(a, "code_lengths", _set(a["code_lengths"], 0, a["codes"].shape[1] + 1)),
    "codes of another shape": lambda a: _damaged(a, "codes", a["codes"][:, :1].copy()),
    "one label short": lambda a: {**a, **{k: a[k][:-1].copy() for k in ("codes", "points", "code_lengths")}},
    "codes missing": lambda a: _damaged(a, "codes", None),
}


def _set(array: np.ndarray, at: int | tuple[int, int], value: int) -> np.ndarray:
    changed = array.copy()
    changed[at] = value
    return changed


@pytest.mark.parametrize("damage", DAMAGE)
def test_damaged_arrays_are_an_input_error(damage, hs_state):
    model, meta, arrays, labels = hs_state
    fresh = LinearClassifier(**model.config)
    with pytest.raises(InputError, match="linear model") as caught:
        fresh.restore(meta, DAMAGE[damage](arrays), labels, "m.model")
    assert caught.value.source == "m.model"


@pytest.mark.parametrize(
    "words",
    [
        pytest.param(lambda w: [*w[:-1], w[0]], id="a word twice"),
        pytest.param(lambda w: w[:-1], id="one word short"),
        pytest.param(lambda w: [*w[:-1], 3], id="a number"),
        pytest.param(lambda w: "the", id="a string"),
        pytest.param(lambda w: None, id="missing"),
    ],
)
def test_a_damaged_word_list_is_an_input_error(words, hs_state):
    model, meta, arrays, labels = hs_state
    fresh = LinearClassifier(**model.config)
    with pytest.raises(InputError, match="linear model"):
        fresh.restore({**meta, "words": words(list(meta["words"]))}, arrays, labels, "m.model")


@pytest.mark.parametrize("progress", [{"epoch": "x"}, {"epoch": 2.5}, {"jobs_done": "ab"}, {"history": 3}, {"tokens_done": None}])
def test_a_damaged_progress_is_an_input_error(progress, hs_state):
    model, meta, arrays, labels = hs_state
    fresh = LinearClassifier(**model.config)
    with pytest.raises(InputError, match="linear model"):
        fresh.restore({**meta, "progress": {**meta["progress"], **progress}}, arrays, labels, "m.model")


def test_buckets_go_up_to_the_int32_range():
    assert LinearClassifier(buckets=2**31 - 1).config["buckets"] == 2**31 - 1


def test_options_are_checked():
    for options, message in [
        ({"dim": 0}, "dim"),
        ({"loss": "nce"}, "loss must be one of"),
        ({"minn": 3, "maxn": 2}, "minn"),
        ({"maxn": 3}, "maxn needs minn"),
        ({"word_ngrams": True}, "word_ngrams"),
        ({"buckets": 2**40}, "buckets"),
    ]:
        with pytest.raises(ValueError, match=message):
            LinearClassifier(**options)
    assert LinearClassifier(**LinearClassifier(dim=7, loss="hs").config).config == LinearClassifier(dim=7, loss="hs").config


def test_a_state_for_other_labels_is_an_input_error(hs_state):
    model, meta, arrays, labels = hs_state
    fresh = LinearClassifier(**model.config)
    with pytest.raises(InputError, match="linear model"):
        fresh.restore(meta, arrays, LabelSet([*labels.names, "extra"]), "m.model")
