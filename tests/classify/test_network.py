"""The network classifier trainer: vocabulary, batches, loss, stops, exact resumption, state, vectors."""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch
from torch import nn

from textseq.classify.classifier import FitSettings, TrainingJob
from textseq.classify.data import LabelledLine, LabelSet
from textseq.classify.examples import EncodedExamples, TokenTypes, encode_examples
from textseq.classify.model_file import read_model_file, write_model_file
from textseq.classify.network import NetworkClassifier, network_classifier
from textseq.classify.network_config import NETWORKS, OPTIONS, Positive, Sizes
from textseq.errors import InputError, ParameterError, TextseqError
from textseq.neural.config import Probability, Size
from textseq.progress import EpochReport, Monitor
from textseq.tokenize.whitespace import WhitespaceTokenizer

POSITIVE = ["good", "great", "fine", "nice"]
NEGATIVE = ["bad", "awful", "poor", "dull"]
FILLER = ["the", "a", "film", "movie", "was", "is", "it", "plot", "and"]


class MeanNetwork(nn.Module):
    """The mean of a text's embeddings, dropout, a linear layer."""

    def __init__(self, config, vocab_size, labels):
        super().__init__()
        self.config, self.vocab_size, self.labels = dict(config), vocab_size, labels
        self.embedding = nn.Embedding(vocab_size, config["embedding_size"], padding_idx=0)
        self.dropout = nn.Dropout(config["dropout"])
        self.output = nn.Linear(config["embedding_size"], labels)
        self.steps = 0

    def forward(self, tokens, lengths):
        mask = (tokens != 0).unsqueeze(-1).float()
        mean = (self.embedding(tokens) * mask).sum(1) / lengths.unsqueeze(1).float()
        return self.output(self.dropout(mean))

    def after_step(self):
        self.steps += 1


class NoEmbedding(nn.Module):
    def __init__(self, config, vocab_size, labels):
        super().__init__()
        self.table = nn.EmbeddingBag(vocab_size, 4)
        self.output = nn.Linear(4, labels)

    def forward(self, tokens, lengths):
        return self.output(self.table(tokens))


class NeedsVectors(MeanNetwork):
    needs_vectors = True


KINDS = {"embedding_size": Size(1024), "dropout": Probability()}
mean_classifier = network_classifier("mean", MeanNetwork, {"embedding_size": 8, "dropout": 0.2}, KINDS)


class Recorder(Monitor):
    def __init__(self):
        self.notes: list[str] = []
        self.epochs: list[EpochReport] = []
        self.updates: list[float] = []

    def note(self, message):
        self.notes.append(message)

    def epoch_done(self, report):
        self.epochs.append(report)

    def update(self, done):
        self.updates.append(done)


def _sentiment(count: int, seed: int) -> list[LabelledLine]:
    rng = random.Random(seed)
    lines = []
    for i in range(count):
        label = "pos" if rng.random() < 0.5 else "neg"
        words = rng.choices(FILLER, k=rng.randint(2, 9)) + rng.choices(POSITIVE if label == "pos" else NEGATIVE, k=rng.randint(1, 2))
        rng.shuffle(words)
        lines.append(LabelledLine((label,), " ".join(words), i + 1))
    return lines


def _data(train: list[LabelledLine], valid: list[LabelledLine]) -> tuple[EncodedExamples, EncodedExamples, LabelSet]:
    labels = LabelSet.from_examples(train)
    types = TokenTypes()
    tokenizer = WhitespaceTokenizer()
    return (
        encode_examples(train, tokenizer, labels, types, count=True),
        encode_examples(valid, tokenizer, labels, types, count=False),
        labels,
    )


@pytest.fixture(scope="module")
def sentiment():
    return _data(_sentiment(80, 1), _sentiment(20, 2))


def _job(data, *, monitor=None, checkpoint=None, stop=None, weights=None, **options) -> TrainingJob:
    train, valid, labels = data
    settings = FitSettings(**{"device": "cpu", "threads": 1, "epochs": 2, "batch_size": 4, "lr": 0.01, **options})
    return TrainingJob(
        train,
        valid,
        labels,
        settings,
        monitor or Recorder(),
        weights,
        train.multi_label,
        checkpoint or (lambda final: None),
        stop or (lambda: None),
    )


def _weights(classifier: NetworkClassifier) -> dict[str, torch.Tensor]:
    assert classifier.network is not None
    return {key: value.clone() for key, value in classifier.network.state_dict().items()}


def _same(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[key], b[key]) for key in a)


def _through_file(classifier: NetworkClassifier, labels: LabelSet, tmp_path, factory=mean_classifier) -> NetworkClassifier:
    """The classifier's state written to a model file and read back (read-only arrays) into a fresh one."""
    meta, arrays = classifier.state()
    path = tmp_path / "state.model"
    write_model_file(path, meta, arrays)
    stored = read_model_file(str(path))
    fresh = factory(**classifier.config)
    fresh.restore(stored.meta, stored.arrays, labels, str(path))
    return fresh


def _texts(examples: EncodedExamples) -> list[list[str]]:
    return list(examples.texts())


# ---- options


def test_unknown_option_is_a_value_error_with_a_hint():
    with pytest.raises(ValueError, match="did you mean 'embedding_size'"):
        mean_classifier(embeding_size=4)


def test_option_kinds_are_checked():
    with pytest.raises(ValueError, match="dropout must be a probability"):
        mean_classifier(dropout=1.5)
    with pytest.raises(ValueError, match="embedding_size must be a whole number"):
        mean_classifier(embedding_size=0)
    with pytest.raises(ValueError, match="min_count"):
        mean_classifier(min_count=0)


def test_sizes_and_positive_kinds_and_json_config():
    factory = network_classifier(
        "toy",
        MeanNetwork,
        {"widths": "3,4,5", "max_norm": 3, "pair": (1, 2)},
        {"widths": Sizes(maximum=8, count=3), "max_norm": Positive(zero=True)},
    )
    config = factory().config
    assert config["widths"] == [3, 4, 5] and config["max_norm"] == 3.0 and isinstance(config["max_norm"], float)
    assert config["pair"] == [1, 2] and config["min_count"] == 1 and config["max_length"] == 400
    assert factory(widths="2, 7").config["widths"] == [2, 7]
    assert factory(widths=4).config["widths"] == [4]
    assert factory(max_norm=0).config["max_norm"] == 0.0
    assert factory(**config).config == config
    for bad in ("3,x", "9", [1, 2, 3, 4], "", [True]):
        with pytest.raises(ValueError, match="widths"):
            factory(widths=bad)
    with pytest.raises(ValueError, match="max_norm must be a number >= 0"):
        factory(max_norm=-1)


def test_a_default_outside_its_kind_is_kept():
    """``char-cnn``'s one-hot ``embedding_size`` 0 is no Size, but it is the network's default."""
    factory = network_classifier("char-cnn", MeanNetwork, NETWORKS["char-cnn"], OPTIONS)
    config = factory().config
    assert config["embedding_size"] == 0
    assert factory(**config).config == config
    with pytest.raises(ValueError, match="embedding_size"):
        factory(embedding_size=-1)


def test_making_a_classifier_imports_no_torch():
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from textseq.classify.network import network_classifier\n"
        "c = network_classifier('x', None, {'a': 1})(a=2)\n"
        "assert c.config['a'] == 2\n"
        "assert 'torch' not in sys.modules, 'torch imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


# ---- training


def test_overfits_a_tiny_set(sentiment):
    train, _, labels = sentiment
    classifier = mean_classifier(dropout=0.0)
    monitor = Recorder()
    classifier.fit(_job(sentiment, monitor=monitor, epochs=15, lr=0.05))
    log_probs = classifier.log_probabilities(_texts(train))
    assert log_probs.shape == (len(train), len(labels)) and log_probs.dtype == np.float64
    assert np.allclose(np.exp(log_probs).sum(axis=1), 1.0)
    assert (log_probs.argmax(axis=1) == train.first_labels()).mean() == 1.0
    assert classifier.network.steps == 15 * 20  # after_step after each step (80 examples, batches of 4)
    assert [report.epoch for report in monitor.epochs] == list(range(1, 16))
    assert monitor.epochs[-1].metrics["valid_accuracy"] >= 0.9 and monitor.epochs[-1].unit == "examples"
    assert monitor.epochs[-1].loss < monitor.epochs[0].loss
    assert monitor.updates[-1] == 15 * 80


def test_predictions_keep_the_input_order_and_take_empty_and_unknown_texts(sentiment):
    _, valid, _ = sentiment
    classifier = mean_classifier()
    classifier.fit(_job(sentiment, epochs=1))
    texts = [*_texts(valid), [], ["zzz-never-seen"], ["<unk>"]]
    together = classifier.log_probabilities(texts)
    alone = np.concatenate([classifier.log_probabilities([text]) for text in texts])
    assert np.allclose(together, alone, atol=1e-6)
    assert np.allclose(together[-1], together[-2]) and np.allclose(together[-2], together[-3])


def test_vocabulary_options(sentiment):
    train, _, _ = sentiment
    classifier = mean_classifier(max_vocab=3)
    classifier.fit(_job(sentiment, epochs=1))
    assert classifier.network.vocab_size == 5
    counts = dict(zip(train.types.names, train.types.counts))
    assert classifier.state()[0]["vocabulary"] == sorted(counts, key=lambda word: -counts[word])[:3]
    rare = mean_classifier(min_count=10_000)
    rare.fit(_job(sentiment, epochs=1))
    assert rare.network.vocab_size == 2  # PAD and <unk> only


def test_two_fits_with_one_seed_are_identical(sentiment):
    runs = []
    for seed in (5, 5, 6):
        classifier = mean_classifier()
        classifier.fit(_job(sentiment, seed=seed))
        runs.append(_weights(classifier))
    assert _same(runs[0], runs[1])
    assert not _same(runs[0], runs[2])


class Interrupt:
    def __init__(self, after: int):
        self.after, self.calls = after, 0

    def __call__(self):
        self.calls += 1
        if self.calls == self.after:
            raise KeyboardInterrupt


@pytest.mark.parametrize("how, at", [("stop", 3), ("stop", 27), ("max_steps", 3), ("max_steps", 20), ("max_steps", 25)])
def test_a_stopped_and_resumed_run_ends_as_an_unstopped_one(sentiment, tmp_path, how, at):
    """20 steps an epoch; the stop callback is also called after each epoch's validation."""
    _, _, labels = sentiment
    straight = mean_classifier()
    straight.fit(_job(sentiment))

    first = mean_classifier()
    if how == "stop":
        with pytest.raises(KeyboardInterrupt):
            first.fit(_job(sentiment, stop=Interrupt(at)))
    else:
        finals = []
        job = _job(sentiment, max_steps=at, checkpoint=finals.append)
        first.fit(job)
        assert not job.finished and finals[-1] is True
    assert first.state()[0]["progress"]["step"] == (at - 1 if how == "stop" and at > 20 else at)
    resumed = _through_file(first, labels, tmp_path)
    resumed.fit(_job(sentiment))
    assert _same(_weights(straight), _weights(resumed))
    assert straight.state()[0]["progress"] == resumed.state()[0]["progress"]


def test_a_resumed_finished_run_trains_no_more(sentiment, tmp_path):
    _, _, labels = sentiment
    classifier = mean_classifier()
    classifier.fit(_job(sentiment))
    again = _through_file(classifier, labels, tmp_path)
    monitor = Recorder()
    again.fit(_job(sentiment, monitor=monitor))
    assert monitor.epochs == [] and _same(_weights(classifier), _weights(again))
    longer = _through_file(classifier, labels, tmp_path)
    longer.fit(_job(sentiment, monitor=monitor, epochs=3))
    assert [report.epoch for report in monitor.epochs] == [3]


def test_the_best_weights_are_kept_and_checkpointed(sentiment):
    calls = []
    classifier = mean_classifier()
    saved = {}

    def checkpoint(final):
        calls.append(final)
        saved[final] = _weights(classifier)

    job = _job(sentiment, epochs=4, lr=0.5, checkpoint=checkpoint, patience=1)
    classifier.fit(job)
    meta, _ = classifier.state()
    history = meta["progress"]["history"]
    losses = [entry["valid_loss"] for entry in history]
    assert calls.count(True) == len(history) and calls.count(False) >= 1
    assert meta["progress"]["best_loss"] == min(losses) == job.metrics["valid_loss"]  # the figures of the weights kept
    assert job.finished
    assert _same(_weights(classifier), saved[False])  # the network ends with the best weights, as last written as best


def test_patience_stops_early(sentiment):
    monitor = Recorder()
    classifier = mean_classifier()
    classifier.fit(_job(sentiment, monitor=monitor, epochs=50, lr=1.0, patience=1))
    assert len(monitor.epochs) < 50
    assert any("stopping early" in note for note in monitor.notes)


def test_class_weights_change_the_loss_and_favour_the_minority():
    rng = random.Random(3)
    lines = []
    for i in range(200):
        label = "rare" if i % 10 == 0 else "common"
        words = rng.choices(FILLER, k=4) + (["cue"] if rng.random() < (0.6 if label == "rare" else 0.2) else [])
        lines.append(LabelledLine((label,), " ".join(words), i + 1))
    data = _data(lines, lines[:40])
    train, _, labels = data
    counts = train.label_counts(len(labels))
    balanced = (counts.sum() / (len(labels) * counts)).astype(np.float32)
    predicted, losses = [], []
    for weights in (None, balanced):
        monitor = Recorder()
        classifier = mean_classifier(dropout=0.0)
        classifier.fit(_job(data, monitor=monitor, weights=weights, epochs=3, lr=0.05, batch_size=16))
        top = classifier.log_probabilities(_texts(train)).argmax(axis=1)
        predicted.append(int((top == labels.id_of("rare")).sum()))
        losses.append(monitor.epochs[0].loss)
    assert predicted[1] > predicted[0]
    assert losses[0] != losses[1]


def test_multi_label_data_trains_independent_labels(sentiment, tmp_path):
    rng = random.Random(4)
    lines = []
    for i in range(60):
        labels = tuple(name for name, word in (("a", "apple"), ("b", "banana")) if rng.random() < 0.5) or ("c",)
        words = rng.choices(FILLER, k=3) + [{"a": "apple", "b": "banana", "c": "cherry"}[label] for label in labels]
        lines.append(LabelledLine(labels, " ".join(words), i + 1))
    data = _data(lines, lines[:20])
    train, _, labels = data
    assert train.multi_label
    classifier = mean_classifier()
    classifier.fit(_job(data, epochs=3, lr=0.05))
    assert classifier.independent
    log_probs = classifier.log_probabilities(_texts(train))
    assert (log_probs <= 0).all()
    assert not np.allclose(np.exp(log_probs).sum(axis=1), 1.0)
    restored = _through_file(classifier, labels, tmp_path)
    assert restored.independent
    assert np.array_equal(restored.log_probabilities(_texts(train)), log_probs)


# ---- state


def test_state_and_restore_give_the_same_predictions(sentiment, tmp_path):
    _, valid, labels = sentiment
    classifier = mean_classifier()
    classifier.fit(_job(sentiment))
    restored = _through_file(classifier, labels, tmp_path)
    assert restored.config == classifier.config
    assert np.array_equal(restored.log_probabilities(_texts(valid)), classifier.log_probabilities(_texts(valid)))


def test_an_untrained_classifier_has_no_state():
    with pytest.raises(ValueError, match="not trained"):
        mean_classifier().state()


def _damaged(classifier: NetworkClassifier, labels: LabelSet, change) -> str:
    meta, arrays = classifier.state()
    arrays = {key: np.asarray(value) for key, value in arrays.items()}
    change(meta, arrays)
    with pytest.raises(InputError) as caught:
        mean_classifier(**classifier.config).restore(meta, arrays, labels, "damaged.model")
    assert caught.value.source == "damaged.model"
    return str(caught.value)


def test_restore_refuses_damaged_states(sentiment):
    _, _, labels = sentiment
    classifier = mean_classifier()
    classifier.fit(_job(sentiment, epochs=1))

    def wrong_shape(meta, arrays):
        arrays["weights/output.weight"] = np.zeros((3, 3), dtype=np.float32)

    assert "output.weight" in _damaged(classifier, labels, wrong_shape)

    def missing_weight(meta, arrays):
        del arrays["weights/output.bias"]

    _damaged(classifier, labels, missing_weight)

    def not_finite(meta, arrays):
        arrays["weights/output.bias"] = np.full(2, np.nan, dtype=np.float32)

    assert "not finite" in _damaged(classifier, labels, not_finite)

    def wrong_moment(meta, arrays):
        name = next(key for key in arrays if key.startswith("optimizer/") and key.endswith("exp_avg"))
        arrays[name] = np.zeros(7, dtype=np.float32)

    assert "optimizer" in _damaged(classifier, labels, wrong_moment)
    assert "progress" in _damaged(classifier, labels, lambda meta, arrays: meta["progress"].pop("step"))
    assert "progress" in _damaged(classifier, labels, lambda meta, arrays: meta["progress"].update(batch=-1))
    assert "vocabulary" in _damaged(classifier, labels, lambda meta, arrays: meta.update(vocabulary=["a", "a"]))
    assert "random" in _damaged(classifier, labels, lambda meta, arrays: arrays.update(rng=np.zeros(3, dtype=np.uint8)))
    _damaged(classifier, labels, lambda meta, arrays: meta.pop("weights"))
    with pytest.raises(InputError, match="labels"):
        mean_classifier(**classifier.config).restore(classifier.state()[0], classifier.state()[1], LabelSet(["x", "y", "z"]), "f")


# ---- stops and limits


def test_time_budget_and_max_steps_stop_resumably(sentiment):
    finals = []
    classifier = mean_classifier()
    monitor = Recorder()
    job = _job(sentiment, monitor=monitor, time_budget=0.0, checkpoint=finals.append)
    classifier.fit(job)
    assert finals == [True] and not job.finished
    assert classifier.state()[0]["progress"]["step"] == 1
    assert any("time budget" in note for note in monitor.notes)

    finals.clear()
    classifier = mean_classifier()
    job = _job(sentiment, max_steps=25, checkpoint=finals.append)
    classifier.fit(job)
    assert classifier.state()[0]["progress"]["step"] == 25 and not job.finished
    assert finals[-1] is True and False in finals  # the first epoch's validation wrote the best


def test_a_stop_request_propagates(sentiment):
    stop = Interrupt(2)
    with pytest.raises(KeyboardInterrupt):
        mean_classifier().fit(_job(sentiment, stop=stop))
    assert stop.calls == 2


def test_a_diverging_run_is_an_error(sentiment):
    with pytest.raises(TextseqError, match="diverged"):
        mean_classifier(dropout=0.0).fit(_job(sentiment, lr=1e25))


# ---- vectors


def _vectors_file(tmp_path, dim: int = 8) -> tuple[str, dict[str, np.ndarray]]:
    rng = np.random.default_rng(0)
    table = {word: rng.standard_normal(dim).astype(np.float32) for word in ["good", "bad", "elsewhere"]}
    path = tmp_path / "tiny.vec"
    lines = [f"{len(table)} {dim}"] + [word + " " + " ".join(f"{x:.6f}" for x in vector) for word, vector in table.items()]
    path.write_text("\n".join(lines) + "\n")
    return str(path), table


def test_vectors_initialize_the_embedding(sentiment, tmp_path):
    path, table = _vectors_file(tmp_path)
    classifier = mean_classifier()
    monitor = Recorder()
    classifier.fit(_job(sentiment, monitor=monitor, vectors=path, max_steps=1, lr=1e-12))
    words = classifier.state()[0]["vocabulary"]
    weight = classifier.network.embedding.weight.detach().numpy()
    for word in ("good", "bad"):
        assert np.allclose(weight[words.index(word) + 2], table[word], atol=1e-5)
    assert np.allclose(weight[0], 0.0)
    other = weight[words.index("film") + 2]
    assert 0 < np.abs(other).max() < 1.0
    assert any(f"vectors for 2 of the {len(words)} vocabulary words" in note for note in monitor.notes)


def test_vectors_of_another_size_or_for_a_network_without_embeddings(sentiment, tmp_path):
    path, _ = _vectors_file(tmp_path, dim=5)
    with pytest.raises(ParameterError, match=r"5 dimensions.* 8") as caught:
        mean_classifier().fit(_job(sentiment, vectors=path))
    assert caught.value.parameter == "vectors"
    plain = network_classifier("bag", NoEmbedding, {})
    with pytest.raises(ParameterError, match="takes no vectors"):
        plain().fit(_job(sentiment, vectors=path))


def test_a_network_that_needs_vectors_asks_for_them(sentiment):
    factory = network_classifier("needy", NeedsVectors, {"embedding_size": 8, "dropout": 0.0})
    with pytest.raises(ParameterError, match="--vectors") as caught:
        factory().fit(_job(sentiment))
    assert caught.value.parameter == "vectors"


# ---- the built-in networks


def test_the_built_in_networks_train_save_and_restore(sentiment, tmp_path):
    networks = pytest.importorskip("textseq.classify.networks")
    _, valid, labels = sentiment
    small = {
        "rnn": {"embedding_size": 8, "hidden_size": 8},
        "lstm": {"embedding_size": 8, "hidden_size": 8, "pooling": "attention"},
        "gru": {"embedding_size": 8, "hidden_size": 8, "bidirectional": False, "pooling": "last"},
        "cnn": {"embedding_size": 8, "maps": 4, "widths": "2,3"},
        "cnn-lstm": {"embedding_size": 8, "maps": 4, "hidden_size": 8},
        "char-cnn": {"features": 4, "hidden_size": 8, "max_length": 123},
    }
    for name, options in small.items():

        def build(config, vocab_size, count, name=name):
            return networks.build_network(name, config, vocab_size, count)

        factory = network_classifier(name, build, NETWORKS[name], OPTIONS)
        classifier = factory(**options)
        classifier.fit(_job(sentiment, epochs=1, max_steps=3))
        restored = _through_file(classifier, labels, tmp_path, factory)
        texts = _texts(valid)[:10]
        assert np.allclose(restored.log_probabilities(texts), classifier.log_probabilities(texts), atol=1e-6), name
