"""The built-in classifier networks: shapes, padding invariance, overfitting a tiny set, the CNN's
embedding channels and max-norm, pretrained vectors, and the checks of their options."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from textseq.classify.network_config import NETWORKS  # noqa: E402
from textseq.classify.networks import NETWORK_NAMES, build_network, char_cnn_frame, parse_widths  # noqa: E402

V = 20
LABELS = 3
SMALL: dict[str, dict[str, object]] = {
    "rnn": {"embedding_size": 8, "hidden_size": 12, "dropout": 0.0},
    "lstm": {"embedding_size": 8, "hidden_size": 12, "dropout": 0.0},
    "gru": {"embedding_size": 8, "hidden_size": 12, "dropout": 0.0},
    "cnn": {"embedding_size": 8, "maps": 6, "widths": "2,3,4", "dropout": 0.0},
    "cnn-lstm": {"embedding_size": 8, "maps": 6, "widths": "2,3", "pool": 2, "hidden_size": 12, "dropout": 0.0},
    "char-cnn": {"features": 16, "hidden_size": 32, "max_length": 128, "dropout": 0.0},
}


def batch(lengths, seed=0, extra=0):
    """Random texts of ``lengths`` (ids 1..V-1), padded with 0 to the longest (+ ``extra``)."""
    generator = torch.Generator().manual_seed(seed)
    tokens = torch.zeros(len(lengths), max(lengths) + extra, dtype=torch.long)
    for row, n in enumerate(lengths):
        tokens[row, :n] = torch.randint(1, V, (n,), generator=generator)
    return tokens, torch.tensor(lengths)


def network(name, **config):
    torch.manual_seed(0)
    return build_network(name, {**SMALL[name], **config}, V, LABELS)


def test_names_are_the_configured_networks():
    assert NETWORK_NAMES == ("rnn", "lstm", "gru", "cnn", "cnn-lstm", "char-cnn") == tuple(NETWORKS)


@pytest.mark.parametrize("name", NETWORK_NAMES)
def test_output_shape_and_interface(name):
    net = network(name)
    tokens, lengths = batch([5, 1, 3, 9, 2])
    logits = net(tokens, lengths)
    assert logits.shape == (5, LABELS) and logits.dtype == torch.float32
    assert torch.isfinite(logits).all()
    assert net.vocab_size == V and net.labels == LABELS and net.config["dropout"] == 0.0
    assert net.needs_vectors is False
    assert set(NETWORKS[name]) <= set(net.config)


def test_char_cnn_learned_embedding_and_frame():
    net = network("char-cnn", embedding_size=6).eval()
    tokens, lengths = batch([200, 30], seed=3)
    logits = net(tokens, lengths)
    assert logits.shape == (2, LABELS)
    # the frame is the first 128 characters: what follows them is cut
    assert torch.allclose(logits, net(tokens[:, :128], lengths.clamp(max=128)), atol=1e-6)
    assert net.embedding.weight.shape == (V, 6)


def test_char_cnn_paper_frame():
    assert char_cnn_frame(1014) == 34
    net = build_network("char-cnn", {"features": 4, "hidden_size": 8}, 70, 4)
    assert net.hidden[0].in_features == 34 * 4
    assert net.convs[0].in_channels == 69  # one-hot, PAD the zero vector
    std = torch.cat([p.detach().flatten() for n, p in net.named_parameters() if n.endswith("weight")]).std()
    assert abs(float(std) - 0.05) < 0.005


def test_char_cnn_too_short_a_frame():
    with pytest.raises(ValueError, match="max_length must be at least 123"):
        build_network("char-cnn", {"max_length": 100}, V, LABELS)
    build_network("char-cnn", {"max_length": 123, "features": 4, "hidden_size": 8}, V, LABELS)


POOLED = [(name, pooling) for name in ("rnn", "lstm", "gru", "cnn-lstm") for pooling in ("last", "max", "mean", "attention")]


@pytest.mark.parametrize(
    ("name", "config"),
    [(name, {"pooling": pooling, "bidirectional": True}) for name, pooling in POOLED]
    + [("lstm", {"layers": 2, "pooling": "max"}), ("cnn-lstm", {"widths": "2,5", "pool": 3, "pooling": "mean"})]
    + [("cnn", {}), ("cnn", {"embeddings": "multichannel", "widths": "3,7"})],
)
def test_padding_invariance(name, config):
    net = network(name, **config).eval()
    tokens, lengths = batch([1, 2, 9, 5, 4], seed=1, extra=2)
    with torch.no_grad():
        together = net(tokens, lengths)
        for row, n in enumerate(lengths.tolist()):
            alone = net(tokens[row : row + 1, :n], lengths[row : row + 1])
            torch.testing.assert_close(alone[0], together[row], atol=1e-5, rtol=0)


@pytest.mark.parametrize("name", NETWORK_NAMES)
def test_overfits_a_tiny_set(name):
    net = network(name)
    tokens, lengths = batch([3, 7, 10, 4, 1, 8, 6, 5], seed=2)
    targets = torch.tensor([0, 1, 2, 0, 1, 2, 1, 0])
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-2)
    accuracy = 0.0
    for step in range(200):
        net.train()
        loss = torch.nn.functional.cross_entropy(net(tokens, lengths), targets)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if hasattr(net, "after_step"):
            net.after_step()
        if step % 10 == 9:
            with torch.no_grad():
                accuracy = float((net.eval()(tokens, lengths).argmax(1) == targets).float().mean())
            if accuracy == 1.0:
                break
    assert accuracy == 1.0


@pytest.mark.parametrize("name", ["rnn", "lstm", "gru", "cnn-lstm"])
def test_bidirectional_doubles_what_pooling_sees(name):
    one, two = network(name, bidirectional=False, pooling="attention"), network(name, bidirectional=True, pooling="attention")
    assert one.encoder.output_size == 12 and two.encoder.output_size == 24
    assert two.encoder.pooling.key.in_features == 24 and two.output.in_features == 24
    tokens, lengths = batch([4, 2])
    assert two(tokens, lengths).shape == (2, LABELS)


def test_last_pooling_is_the_final_state_of_both_directions():
    net = network("gru", bidirectional=True, pooling="last", layers=2).eval()
    tokens, lengths = batch([6])
    with torch.no_grad():
        outputs, final = net.encoder.rnn(net.embedding(tokens))
        expected = torch.cat([outputs[0, -1, :12], outputs[0, 0, 12:]])
        torch.testing.assert_close(torch.cat([final[-2, 0], final[-1, 0]]), expected)
        torch.testing.assert_close(net.output(expected), net(tokens, lengths)[0])


def test_dropout_only_when_training():
    net = network("lstm", dropout=0.5, embedding_dropout=0.3)
    tokens, lengths = batch([6, 3])
    with torch.no_grad():
        assert not torch.equal(net.train()(tokens, lengths), net(tokens, lengths))
        assert torch.equal(net.eval()(tokens, lengths), net(tokens, lengths))


@pytest.mark.parametrize("name", NETWORK_NAMES)
def test_deterministic_given_the_seed(name):
    first, second = network(name).state_dict(), network(name).state_dict()
    assert all(torch.equal(first[key], second[key]) for key in first)


def vectors(dim=8, seed=4):
    generator = torch.Generator().manual_seed(seed)
    return torch.randn(V, dim, generator=generator), torch.ones(V, dtype=torch.bool)


def step(net):
    tokens, lengths = batch([5, 3, 2])
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-2)
    torch.nn.functional.cross_entropy(net.train()(tokens, lengths), torch.tensor([0, 1, 2])).backward()
    optimizer.step()


@pytest.mark.parametrize(("embeddings", "needs"), [("rand", False), ("static", True), ("non-static", True), ("multichannel", True)])
def test_cnn_needs_vectors(embeddings, needs):
    assert network("cnn", embeddings=embeddings).needs_vectors is needs


def test_cnn_static_stays_frozen():
    net = network("cnn", embeddings="static")
    matrix, known = vectors()
    net.load_vectors(matrix, known)
    conv = net.convs[0].weight.detach().clone()
    step(net)
    assert torch.equal(net.embeddings[0].weight[1:], matrix[1:])
    assert not net.embeddings[0].weight[0].any()
    assert not torch.equal(net.convs[0].weight, conv)


@pytest.mark.parametrize("embeddings", ["rand", "non-static"])
def test_cnn_trained_channel_moves(embeddings):
    net = network("cnn", embeddings=embeddings)
    matrix, known = vectors()
    net.load_vectors(matrix, known)
    assert torch.equal(net.embeddings[0].weight[1:], matrix[1:])
    step(net)
    assert not torch.equal(net.embeddings[0].weight[1:], matrix[1:])


def test_cnn_multichannel_has_a_frozen_and_a_trained_channel():
    net = network("cnn", embeddings="multichannel")
    assert len(net.embeddings) == 2
    assert not net.embeddings[0].weight.requires_grad and net.embeddings[1].weight.requires_grad
    matrix, known = vectors()
    net.load_vectors(matrix, known)
    step(net)
    assert torch.equal(net.embeddings[0].weight[1:], matrix[1:])
    assert not torch.equal(net.embeddings[1].weight[1:], matrix[1:])


def test_cnn_max_norm_caps_the_output_rows():
    net = network("cnn", max_norm=3.0)
    with torch.no_grad():
        net.output.weight.copy_(torch.randn_like(net.output.weight) * 10)
        net.output.weight[0] = 0.1
    small = net.output.weight[0].clone()
    net.after_step()
    norms = net.output.weight.norm(dim=1)
    assert (norms <= 3.0 + 1e-5).all() and (norms[1:] > 2.99).all()
    assert torch.equal(net.output.weight[0], small)
    loose = network("cnn", max_norm=0)
    with torch.no_grad():
        loose.output.weight.mul_(100)
    before = loose.output.weight.clone()
    loose.after_step()
    assert torch.equal(loose.output.weight, before)


@pytest.mark.parametrize("name", ["rnn", "lstm", "gru", "cnn", "cnn-lstm"])
def test_load_vectors(name):
    net = network(name)
    matrix, known = vectors()
    net.load_vectors(matrix, known)
    embedding = net.embeddings[0] if name == "cnn" else net.embedding
    assert torch.equal(embedding.weight[1:], matrix[1:]) and not embedding.weight[0].any()
    with pytest.raises(ValueError, match="vectors have 5 dimensions but embedding_size is 8"):
        net.load_vectors(*vectors(dim=5))


@pytest.mark.parametrize(
    ("value", "expected"), [("3,4,5", (3, 4, 5)), (" 2, 7 ", (2, 7)), ("3", (3,)), (3, (3,)), ([1, 64], (1, 64)), ((5,), (5,))]
)
def test_widths(value, expected):
    assert parse_widths(value) == expected


@pytest.mark.parametrize("value", ["3,x", "0", "65", "", "3,,4", "3;4", "-3", ",".join(["2"] * 17), True, 2.5, [3, 2.5], [], [0], None])
def test_bad_widths(value):
    with pytest.raises(ValueError, match="cnn: widths must be"):
        parse_widths(value)
    with pytest.raises(ValueError, match="widths"):
        build_network("cnn", {"widths": value}, V, LABELS)


@pytest.mark.parametrize(
    ("name", "config", "message"),
    [
        ("lstm", {"pooling": "min"}, "pooling must be one of"),
        ("cnn", {"max_norm": -1.0}, "max_norm must be a number >= 0"),
        ("cnn", {"embeddings": "frozen"}, "embeddings must be one of"),
        ("char-cnn", {"embedding_size": -1}, "embedding_size must be"),
        ("rnn", {"nonlinearity": "sigmoid"}, "nonlinearity must be one of"),
        ("cnn-lstm", {"widths": "3,0"}, "cnn-lstm: widths must be"),
    ],
)
def test_bad_options(name, config, message):
    with pytest.raises(ValueError, match=message):
        build_network(name, config, V, LABELS)


def test_bad_build_arguments():
    with pytest.raises(ValueError, match="unknown network 'transformer'"):
        build_network("transformer", {}, V, LABELS)
    with pytest.raises(ValueError, match="vocabulary size"):
        build_network("lstm", {}, 1, LABELS)
    with pytest.raises(ValueError, match="number of labels"):
        build_network("lstm", {}, V, 0)
