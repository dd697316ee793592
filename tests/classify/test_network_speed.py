"""The trainer's fast paths: sparse embedding gradients with SparseAdam beside AdamW, the gradient
clip over both, the padded (unpacked) recurrent encoder on the CPU, embedding dropout on looked-up
rows, and exact resumption through all of them."""

from __future__ import annotations

import random

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from textseq.classify.classifier import FitSettings, TrainingJob  # noqa: E402
from textseq.classify.data import LabelledLine, LabelSet  # noqa: E402
from textseq.classify.examples import TokenTypes, encode_examples  # noqa: E402
from textseq.classify.model_file import read_model_file, write_model_file  # noqa: E402
from textseq.classify.network import CLIP, NetworkClassifier, _Optimizer, network_classifier  # noqa: E402
from textseq.classify.network_config import NETWORKS, OPTIONS  # noqa: E402
from textseq.classify.networks import RecurrentEncoder, _valid, build_network  # noqa: E402
from textseq.progress import Monitor  # noqa: E402
from textseq.tokenize.whitespace import WhitespaceTokenizer  # noqa: E402

WORDS = [f"w{i}" for i in range(40)]


def _lines(count: int, seed: int) -> list[LabelledLine]:
    rng = random.Random(seed)
    lines = []
    for i in range(count):
        label = rng.choice("abc")
        cue = {"a": "apple", "b": "banana", "c": "cherry"}[label]
        words = [*rng.choices(WORDS, k=rng.randint(1, 12)), cue]
        rng.shuffle(words)
        lines.append(LabelledLine((label,), " ".join(words), i + 1))
    return lines


@pytest.fixture(scope="module")
def data():
    train, valid = _lines(60, 1), _lines(15, 2)
    labels = LabelSet.from_examples(train)
    types = TokenTypes()
    tokenizer = WhitespaceTokenizer()
    return (
        encode_examples(train, tokenizer, labels, types, count=True),
        encode_examples(valid, tokenizer, labels, types, count=False),
        labels,
    )


def _job(data, **options) -> TrainingJob:
    train, valid, labels = data
    settings = FitSettings(**{"device": "cpu", "threads": 1, "epochs": 2, "batch_size": 8, "lr": 0.01, **options})
    return TrainingJob(train, valid, labels, settings, Monitor())


def _factory(name: str):
    def build(config, vocab_size, labels):
        return build_network(name, config, vocab_size, labels)

    return network_classifier(name, build, NETWORKS[name], OPTIONS)


SMALL = {
    "lstm": {"embedding_size": 8, "hidden_size": 6, "layers": 2, "embedding_dropout": 0.2},
    "gru": {"embedding_size": 8, "hidden_size": 6, "pooling": "attention"},
    "cnn": {"embedding_size": 8, "maps": 4, "widths": "2,3"},
    "cnn-lstm": {"embedding_size": 8, "maps": 4, "hidden_size": 6},
}


def _weights(classifier: NetworkClassifier) -> dict[str, torch.Tensor]:
    return {key: value.clone() for key, value in classifier.network.state_dict().items()}


@pytest.mark.parametrize("name", list(SMALL))
def test_built_in_networks_train_their_embeddings_sparsely(data, name):
    classifier = _factory(name)(**SMALL[name])
    classifier.fit(_job(data, max_steps=1))
    optimizer = classifier._optimizer
    assert isinstance(optimizer, _Optimizer) and optimizer.sparse is not None and optimizer.dense is not None
    tables = [m.weight for m in classifier.network.modules() if isinstance(m, torch.nn.Embedding)]
    assert tables and all(any(table is p for p in optimizer.sparse_parameters) for table in tables)
    assert not any(any(table is p for p in optimizer.dense_parameters) for table in tables)


def test_a_step_changes_only_the_rows_its_batch_used(data):
    classifier = _factory("cnn")(**SMALL["cnn"])
    classifier.fit(_job(data, max_steps=1, lr=1e-12))
    before = classifier.network.embeddings[0].weight.detach().clone()
    optimizer = classifier._optimizer
    tokens = torch.tensor([[2, 3, 4, 0], [5, 2, 0, 0]])
    optimizer.zero_grad()
    classifier.network.train()
    classifier.network(tokens, torch.tensor([3, 2])).sum().backward()
    optimizer.set_lr(0.1)
    optimizer.step()
    after = classifier.network.embeddings[0].weight.detach()
    changed = set(torch.nonzero((after != before).any(1)).flatten().tolist())
    assert changed == {2, 3, 4, 5}


def test_the_clip_bounds_the_norm_of_dense_and_sparse_gradients_together():
    embedding = torch.nn.Embedding(10, 3, sparse=True)
    linear = torch.nn.Linear(3, 2)
    network = torch.nn.ModuleDict({"embedding": embedding, "linear": linear})
    optimizer = _Optimizer(network, 0.01)
    (linear(embedding(torch.tensor([1, 2, 2, 7]))).sum() * 1000).backward()
    assert embedding.weight.grad.is_sparse and not embedding.weight.grad.is_coalesced()
    dense_row_two = embedding.weight.grad.to_dense()[2].clone()
    optimizer.clip(CLIP)
    sparse = embedding.weight.grad
    total = torch.sqrt(sparse._values().square().sum() + sum(p.grad.square().sum() for p in linear.parameters()))
    assert sparse.is_coalesced() and abs(float(total) - CLIP) < 1e-3
    assert torch.allclose(sparse.to_dense()[2] / dense_row_two, sparse.to_dense()[2][0] / dense_row_two[0])  # one scale for all
    small = _Optimizer(network, 0.01)
    small.zero_grad()
    (linear(embedding(torch.tensor([1]))).sum() * 1e-3).backward()
    grads = [embedding.weight.grad.coalesce().to_dense(), *(p.grad.clone() for p in linear.parameters())]
    small.clip(CLIP)
    assert torch.equal(embedding.weight.grad.to_dense(), grads[0])  # under the bound: left alone


@pytest.mark.parametrize("kind", ["lstm", "gru", "rnn"])
@pytest.mark.parametrize(("layers", "bidirectional"), [(1, True), (2, True), (2, False)])
def test_the_padded_encoder_gives_the_packed_outputs_and_gradients(kind, layers, bidirectional):
    torch.manual_seed(0)
    encoder = RecurrentEncoder(kind, 5, 4, layers=layers, bidirectional=bidirectional, dropout=0.3, pooling="mean").eval()
    lengths = torch.tensor([6, 2, 1, 4])
    x = torch.randn(4, 6, 5, requires_grad=True)
    valid = _valid(lengths, 6)
    results = []
    for run in (encoder._padded, encoder._packed):
        outputs, last = run(x, lengths, valid) if run == encoder._padded else run(x, lengths)
        (outputs * valid[:, :, None]).sum().backward(retain_graph=True)
        last.square().sum().backward()
        grads = [x.grad.clone(), *(p.grad.clone() for p in encoder.parameters())]
        x.grad = None
        encoder.zero_grad()
        results.append((outputs * valid[:, :, None], last, grads))
    (padded, padded_last, padded_grads), (packed, packed_last, packed_grads) = results
    assert torch.allclose(padded, packed, atol=1e-6) and torch.allclose(padded_last, packed_last, atol=1e-6)
    assert all(torch.allclose(a, b, atol=1e-5) for a, b in zip(padded_grads, packed_grads, strict=True))


def test_embedding_dropout_drops_word_types_on_the_looked_up_rows():
    torch.manual_seed(3)
    net = build_network("lstm", {"embedding_size": 8, "hidden_size": 4, "embedding_dropout": 0.5}, 30, 2)
    net.sparse_gradients()
    seen = []
    net.encoder.register_forward_hook(lambda module, inputs, output: seen.append(inputs[0].detach()))
    tokens = torch.tensor([[5, 7, 5, 9, 7, 5]])
    net.train()(tokens, torch.tensor([6])).sum().backward()
    x, table = seen[0][0], net.embedding.weight.detach()
    for position, word in enumerate(tokens[0].tolist()):
        kept = torch.allclose(x[position], table[word] * 2)
        assert kept or torch.equal(x[position], torch.zeros(8))
        first = tokens[0].tolist().index(word)
        assert torch.equal(x[position], x[first])  # a word type is dropped at each of its occurrences
    assert net.embedding.weight.grad.is_sparse
    seen.clear()
    net.eval()(tokens, torch.tensor([6]))
    assert torch.equal(seen[0][0], table[tokens[0]])


@pytest.mark.parametrize("name", ["lstm", "cnn"])
def test_a_sparse_run_stopped_and_resumed_through_a_file_ends_as_an_unstopped_one(data, tmp_path, name):
    _, _, labels = data
    factory = _factory(name)
    straight = factory(**SMALL[name])
    straight.fit(_job(data))
    first = factory(**SMALL[name])
    first.fit(_job(data, max_steps=5))
    meta, arrays = first.state()
    assert any(key.startswith("optimizer/sparse/") for key in arrays) and any(key.startswith("optimizer/dense/") for key in arrays)
    path = tmp_path / "run.model"
    write_model_file(path, meta, arrays)
    stored = read_model_file(str(path))
    resumed = factory(**first.config)
    resumed.restore(stored.meta, stored.arrays, labels, str(path))
    resumed.fit(_job(data))
    mine, theirs = _weights(straight), _weights(resumed)
    assert mine.keys() == theirs.keys() and all(torch.equal(mine[key], theirs[key]) for key in mine)


def test_a_stored_single_adamw_state_still_loads_for_a_dense_network(data, tmp_path):
    _, _, labels = data
    factory = _factory("char-cnn")
    classifier = factory(features=4, hidden_size=8, max_length=123)
    classifier.fit(_job(data, max_steps=2))
    meta, arrays = classifier.state()
    assert classifier._optimizer.sparse is None
    dense = {key.replace("optimizer/dense/", "optimizer/"): value for key, value in arrays.items()}
    tree = meta["optimizer"]["dict"]
    legacy = dict(meta)
    legacy["optimizer"] = _renamed(next(value for key, value in tree if key == "dense"))
    path = tmp_path / "legacy.model"
    write_model_file(path, legacy, dense)
    stored = read_model_file(str(path))
    restored = factory(**classifier.config)
    restored.restore(stored.meta, stored.arrays, labels, str(path))
    assert restored._optimizer_state is not None and restored._optimizer_state["sparse"] is None
    texts = [["apple"], ["w1", "banana"]]
    assert np.allclose(restored.log_probabilities(texts), classifier.log_probabilities(texts))


def _renamed(tree):
    if isinstance(tree, dict):
        if set(tree) == {"array"}:
            return {"array": tree["array"].replace("optimizer/dense/", "optimizer/")}
        return {key: _renamed(value) for key, value in tree.items()}
    if isinstance(tree, list):
        return [_renamed(value) for value in tree]
    return tree


class _Clock:
    """A monotonic clock that moves one second each time it is read."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        self.now += 1.0
        return self.now


def _training_weights(classifier: NetworkClassifier) -> dict[str, torch.Tensor]:
    return {key: value.clone() for key, value in (classifier._training or classifier.network.state_dict()).items()}


def test_the_time_budget_validates_the_part_epoch_it_stopped_in(data, tmp_path, monkeypatch):
    from textseq.classify import network as trainer

    _, _, labels = data
    factory = _factory("cnn")
    straight = factory(**SMALL["cnn"])
    straight.fit(_job(data))

    class Notes(Monitor):
        def __init__(self) -> None:
            self.notes: list[str] = []

        def note(self, message: str) -> None:
            self.notes.append(message)

    monkeypatch.setattr(trainer.time, "monotonic", _Clock())
    stopped = factory(**SMALL["cnn"])
    job = _job(data, time_budget=12.0)
    job.monitor = Notes()
    stopped.fit(job)
    monkeypatch.undo()
    history = stopped.state()[0]["progress"]["history"]
    assert not job.finished and len(history) == 1 and 0 < history[0]["epoch"] < 1
    assert any(note.startswith("at the time budget (epoch 0.") and "kept as the best" in note for note in job.monitor.notes)
    assert job.metrics["valid_loss"] == history[0]["valid_loss"] == stopped.state()[0]["progress"]["best_loss"]
    assert stopped._best_current and stopped._training is None  # the network holds the weights it stopped at
    meta, arrays = stopped.state()
    path = tmp_path / "budget.model"
    write_model_file(path, meta, arrays)
    stored = read_model_file(str(path))
    resumed = factory(**stopped.config)
    resumed.restore(stored.meta, stored.arrays, labels, str(path))
    resumed.fit(_job(data))
    mine, theirs = _training_weights(straight), _training_weights(resumed)
    assert all(torch.equal(mine[key], theirs[key]) for key in mine)  # training went on as if never stopped
