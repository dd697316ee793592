"""The built-in neural architectures: the streaming interface, regularizers, tying, presets, configs."""

from __future__ import annotations

import copy
import os
import re
import subprocess
import sys

import pytest

torch = pytest.importorskip("torch")
F = torch.nn.functional

from textseq.console import Console  # noqa: E402
from textseq.neural import models  # noqa: E402
from textseq.neural.config import ARCHITECTURES, PRESETS, default_config, resolve_config  # noqa: E402
from textseq.neural.models import build, detach_state, embedding_dropout, locked_dropout, select_state  # noqa: E402
from textseq.plugins import Plugins  # noqa: E402

V = 11
SMALL = {"embedding_size": 8, "hidden_size": 12, "layers": 2, "dropout": 0.0}
NPLM_SMALL = {"context": 3, "embedding_size": 8, "hidden_size": 12, "dropout": 0.0}

VARIANTS = {
    "rnn-tanh": ("rnn", SMALL),
    "rnn-relu": ("rnn", {**SMALL, "nonlinearity": "relu"}),
    "lstm": ("lstm", SMALL),
    "gru": ("gru", SMALL),
    "lstm-one-layer": ("lstm", {**SMALL, "layers": 1}),
    "lstm-regularized": ("lstm", {**SMALL, "dropout": 0.3, "locked_dropout": 0.2, "embedding_dropout": 0.1, "weight_drop": 0.3}),
    "gru-residual-tied": ("gru", {**SMALL, "layers": 3, "residual": True, "tie_weights": True}),
    "lstm-residual-tied": ("lstm", {**SMALL, "hidden_size": 8, "residual": True, "tie_weights": True}),
    "rnn-weight-drop": ("rnn", {**SMALL, "weight_drop": 0.5}),
    "nplm": ("nplm", NPLM_SMALL),
    "nplm-direct-tied": ("nplm", {**NPLM_SMALL, "direct": True, "tie_weights": True, "dropout": 0.2}),
    "nplm-one": ("nplm", {**NPLM_SMALL, "context": 1}),
}


def make(name, **overrides):
    arch, config = VARIANTS[name]
    torch.manual_seed(0)
    return build(arch, {**config, **overrides}, V)


def tokens(T, B, seed=1):
    return torch.randint(0, V, (T, B), generator=torch.Generator().manual_seed(seed))


def states_equal(a, b):
    if isinstance(a, tuple):
        return type(a) is type(b) and len(a) == len(b) and all(states_equal(x, y) for x, y in zip(a, b))
    return a.shape == b.shape and torch.allclose(a, b, atol=1e-6) if a.is_floating_point() else torch.equal(a, b)


@pytest.mark.parametrize("name", VARIANTS)
def test_shapes_and_attributes(name):
    model = make(name)
    arch, config = VARIANTS[name]
    logits, state = model(tokens(7, 3), None)
    assert logits.shape == (7, 3, V) and logits.dtype == torch.float32
    assert model.vocab_size == V and model.arch == arch
    assert model.config == resolve_config(arch, config) and set(model.config) == set(ARCHITECTURES[arch])
    initial = model.initial_state(3, "cpu")
    assert states_equal(detach_state(initial), detach_state(model.initial_state(3, torch.device("cpu"))))
    if arch == "lstm":
        assert isinstance(state, tuple) and len(state) == 2
        assert all(s.shape == (model.config["layers"], 3, model.config["hidden_size"]) for s in state)
        assert all(torch.count_nonzero(s) == 0 for s in initial)
    elif arch == "nplm":
        assert state.shape == (model.config["context"], 3) and state.dtype == torch.long
        assert bool((initial == V).all()), "the start of the stream is the padding id vocab_size"
    else:
        assert state.shape == (model.config["layers"], 3, model.config["hidden_size"])
        assert torch.count_nonzero(initial) == 0


@pytest.mark.parametrize("name", VARIANTS)
def test_a_sequence_in_two_halves_equals_it_in_one_call(name):
    """Streaming (and so truncated BPTT) is exact: the state carries everything across calls."""
    model = make(name).eval()
    x = tokens(13, 4)
    with torch.no_grad():
        whole, final = model(x, None)
        explicit, _ = model(x, model.initial_state(4, "cpu"))
        first, state = model(x[:5], None)
        second, state = model(x[5:6], detach_state(state))
        third, state = model(x[6:], state)
    assert torch.allclose(whole, explicit, atol=1e-6)
    assert torch.allclose(whole, torch.cat([first, second, third]), atol=1e-5)
    assert states_equal(final, state)


def test_nplm_predicts_from_exactly_the_preceding_context():
    model = make("nplm").eval()
    x = tokens(9, 2)
    with torch.no_grad():
        logits, state = model(x, None)
        assert torch.equal(state, x[-3:])
        # position 5 sees tokens 3, 4, 5 only: changing token 2 or 6 leaves it alone
        changed = x.clone()
        changed[2] = (changed[2] + 1) % V
        changed[6] = (changed[6] + 1) % V
        again, _ = model(changed, None)
        assert torch.allclose(logits[5], again[5]) and not torch.allclose(logits[6], again[6])
        # position 1 sees the padding, then tokens 0 and 1
        padded, _ = model(x[:2], torch.full((3, 2), V, dtype=torch.long))
        assert torch.allclose(padded, logits[:2])


def periodic_stream(length, period=9, seed=3):
    """A repeated random pattern in which every 3 tokens determine the next one."""
    generator = torch.Generator().manual_seed(seed)
    while True:
        pattern = torch.randint(0, 6, (period,), generator=generator)
        cyclic = torch.cat([pattern, pattern[:3]])
        windows = {tuple(cyclic[i : i + 3].tolist()) for i in range(period)}
        if len(windows) == period:
            return pattern.repeat(length // period + 1)[:length]


@pytest.mark.parametrize("name", ["rnn-tanh", "rnn-relu", "lstm", "gru", "lstm-residual-tied", "nplm", "nplm-direct-tied"])
def test_each_architecture_overfits_a_repeated_pattern(name):
    model = make(name, dropout=0.0) if "nplm" in name else make(name, embedding_size=16, hidden_size=32)
    torch.manual_seed(0)
    columns = 4
    data = periodic_stream(columns * 60).view(columns, -1).t().contiguous()  # [60, 4]
    optimizer = torch.optim.Adam(model.parameters(), lr=0.02)
    model.train()
    state = None
    for step in range(300):
        row = (step * 12) % (data.size(0) - 13)
        if row < 12:
            state = None
        x, y = data[row : row + 12], data[row + 1 : row + 13]
        state = detach_state(state)
        logits, state = model(x, state)
        loss = F.cross_entropy(logits.view(-1, V), y.reshape(-1))
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
    model.eval()
    with torch.no_grad():
        _, warm = model(data[:6], None)
        logits, _ = model(data[6:-1], warm)
        final = F.cross_entropy(logits.view(-1, V), data[7:].reshape(-1)).item()
    assert final < 0.05, f"{name}: loss {final:.3f} after 300 steps"


@pytest.mark.parametrize("arch", ["lstm", "gru", "rnn", "nplm"])
@pytest.mark.parametrize("hidden", [8, 12])
def test_tied_weights_share_storage(arch, hidden):
    config = NPLM_SMALL if arch == "nplm" else SMALL
    model = build(arch, {**config, "hidden_size": hidden, "tie_weights": True}, V)
    assert model.decoder.weight is model.encoder.weight
    names = [name for name, _ in model.named_parameters()]
    assert "decoder.weight" not in names, "a tied weight is one parameter"
    if hidden == 8:
        assert model.projection is None
    else:
        assert model.projection.weight.shape == (8, hidden)
    logits, _ = model(tokens(4, 2), None)
    logits.sum().backward()
    assert model.encoder.weight.grad is not None
    untied = build(arch, {**config, "hidden_size": hidden}, V)
    assert untied.decoder.weight is not untied.encoder.weight and untied.projection is None
    assert untied.decoder.weight.shape == (V, hidden)


def test_initialization():
    for arch, config in (("lstm", SMALL), ("nplm", NPLM_SMALL)):
        model = build(arch, config, V)
        for weight in (model.encoder.weight, model.decoder.weight):
            weight = weight.detach()
            assert float(weight.abs().max()) <= 0.1 and float(weight.std()) > 0.01
        assert torch.count_nonzero(model.decoder.bias) == 0


def test_weight_drop_is_dropconnect_on_the_hidden_to_hidden_matrix():
    model = make("lstm-one-layer", weight_drop=0.5)
    rnn = model.rnns[0]
    raw = rnn.weight_hh_l0.detach().clone()
    x = tokens(6, 3)
    model.train()
    torch.manual_seed(7)
    logits, _ = model(x, None)
    torch.manual_seed(7)
    dropped = F.dropout(raw, 0.5, True)  # the only random draw of that forward
    assert 0.3 < float((dropped == 0).float().mean()) < 0.7
    # the same network with that matrix in place, by hand, gives the same output
    reference = copy.deepcopy(model).eval()
    with torch.no_grad():
        reference.rnns[0].weight_hh_l0.copy_(dropped)
        expected, _ = reference(x, None)
    assert torch.allclose(logits, expected, atol=1e-6)
    assert torch.equal(rnn.weight_hh_l0.detach(), raw), "the raw weights are left alone"
    # the gradient reaches the raw matrix, and only through the kept entries
    logits.pow(2).sum().backward()
    grad = rnn.weight_hh_l0.grad
    assert grad is not None and torch.count_nonzero(grad) > 0
    assert torch.count_nonzero(grad[dropped == 0]) == 0
    # a fresh mask each forward in training, none in evaluation
    again, _ = model(x, None)
    assert not torch.allclose(logits, again)
    model.eval()
    with torch.no_grad():
        a, _ = model(x, None)
        b, _ = model(x, None)
    assert torch.equal(a, b)
    assert isinstance(rnn, torch.nn.LSTM) and rnn.num_layers == 1, "the torch module is kept, so its fused kernel runs"


def test_weight_drop_reaches_every_layer_of_a_fused_stack():
    model = make("lstm", weight_drop=0.5).train()
    assert len(model.rnns) == 1 and model.rnns[0].num_layers == 2
    logits, _ = model(tokens(5, 2), None)
    logits.sum().backward()
    for name in ("weight_hh_l0", "weight_hh_l1"):
        grad = getattr(model.rnns[0], name).grad
        zero_share = float((grad == 0).float().mean())
        assert 0.3 < zero_share < 0.7, f"{name}: {zero_share:.2f} of the gradient is zero"


def test_locked_dropout_keeps_one_mask_across_time():
    torch.manual_seed(0)
    out = locked_dropout(torch.ones(20, 5, 16), 0.5, True)
    assert torch.equal(out, out[:1].expand_as(out))
    assert set(out.unique().tolist()) == {0.0, 2.0}
    assert 0.3 < float((out[0] == 0).float().mean()) < 0.7
    x = torch.randn(4, 2, 3)
    assert locked_dropout(x, 0.5, False) is x and locked_dropout(x, 0.0, True) is x


def test_locked_dropout_in_a_network_makes_training_random_and_evaluation_not():
    model = make("lstm", locked_dropout=0.3)
    assert len(model.rnns) == 2, "locked dropout between layers needs each layer's output"
    x = tokens(6, 2)
    model.train()
    assert not torch.allclose(model(x, None)[0], model(x, None)[0])
    model.eval()
    assert torch.equal(model(x, None)[0], model(x, None)[0])


def test_embedding_dropout_drops_word_types_everywhere():
    torch.manual_seed(0)
    weight = torch.randn(50, 6)
    ids = torch.arange(50).repeat(4).view(-1, 8)
    embedded = F.embedding(ids, embedding_dropout(weight, 0.5, True))
    dropped = set()
    for word in range(50):
        rows = embedded[ids == word]
        assert rows.shape[0] == 4
        if torch.count_nonzero(rows) == 0:
            dropped.add(word)
        else:
            assert torch.allclose(rows, (weight[word] * 2).expand_as(rows))
    assert 10 < len(dropped) < 40
    assert embedding_dropout(weight, 0.5, False) is weight
    model = make("lstm", embedding_dropout=0.5).train()
    assert model.encoder.weight.grad is None
    model(tokens(5, 2), None)[0].sum().backward()
    assert torch.count_nonzero(model.encoder.weight.grad.abs().sum(1)) < V


def test_residual_connections():
    x = tokens(6, 3)
    residual = build("lstm", {**SMALL, "hidden_size": 8, "layers": 3, "residual": True, "locked_dropout": 0.1}, V).eval()
    plain = build("lstm", {**SMALL, "hidden_size": 8, "layers": 3, "locked_dropout": 0.1}, V).eval()
    assert len(residual.rnns) == len(plain.rnns) == 3
    plain.load_state_dict(residual.state_dict())
    with torch.no_grad():
        assert not torch.allclose(residual(x, None)[0], plain(x, None)[0])
    # by hand: each layer's output plus its input
    with torch.no_grad():
        h = residual.encoder(x)
        for rnn in residual.rnns:
            h = rnn(h)[0] + h
        assert torch.allclose(residual(x, None)[0], residual.decoder(h), atol=1e-6)
    # sizes that differ: no residual into the first layer, residual above it
    wide = build("gru", {**SMALL, "layers": 2, "residual": True}, V).eval()
    with torch.no_grad():
        h = wide.rnns[0](wide.encoder(x))[0]
        h = wide.rnns[1](h)[0] + h
        assert torch.allclose(wide(x, None)[0], wide.decoder(h), atol=1e-6)


def test_a_stack_of_single_layers_computes_what_the_fused_stack_does():
    fused = make("lstm").eval()
    stacked = build("lstm", {**SMALL, "locked_dropout": 0.5}, V).eval()
    state = {k: v for k, v in fused.state_dict().items() if not k.startswith("rnns.")}
    for layer in range(2):
        for kind in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
            state[f"rnns.{layer}.{kind}_l0"] = fused.state_dict()[f"rnns.0.{kind}_l{layer}"]
    stacked.load_state_dict(state)
    x = tokens(7, 3)
    with torch.no_grad():
        a, sa = fused(x, None)
        b, sb = stacked(x, None)
    assert torch.allclose(a, b, atol=1e-6) and states_equal(sa, sb)


@pytest.mark.parametrize("name", ["lstm", "gru", "nplm", "lstm-residual-tied"])
def test_select_state_picks_batch_columns(name):
    model = make(name).eval()
    x = tokens(5, 4)
    following = tokens(3, 4, seed=2)
    index = torch.tensor([2, 0, 2])
    with torch.no_grad():
        _, state = model(x, None)
        logits, after = model(following, state)
        picked, after_picked = model(following[:, index], select_state(state, index))
    assert torch.allclose(picked, logits[:, index], atol=1e-6)
    assert states_equal(after_picked, select_state(after, index))


def test_detach_and_select_on_every_nesting():
    assert detach_state(None) is None and select_state(None, torch.tensor([0])) is None
    leaf = torch.randn(2, 3, 4, requires_grad=True)
    nested = (leaf * 2, [leaf * 3, (leaf * 4,)])
    detached = detach_state(nested)
    assert isinstance(detached, tuple) and isinstance(detached[1], list) and isinstance(detached[1][1], tuple)
    assert not detached[0].requires_grad and not detached[1][1][0].requires_grad
    assert torch.equal(detached[1][0], leaf.detach() * 3)
    chosen = select_state(nested, torch.tensor([1, 1]))
    assert chosen[1][1][0].shape == (2, 2, 4) and torch.equal(chosen[0][:, 0], leaf[:, 1] * 2)
    ids = torch.arange(12).view(3, 4)
    assert torch.equal(select_state(ids, torch.tensor([3, 0])), ids[:, [3, 0]])
    model = make("lstm")
    _, state = model(tokens(3, 2), None)
    assert state[0].requires_grad and not any(s.requires_grad for s in detach_state(state))


def test_presets_resolve_and_build():
    assert default_config("word-medium") == {
        **ARCHITECTURES["lstm"],
        "embedding_size": 200,
        "hidden_size": 200,
        "layers": 2,
        "dropout": 0.5,
        "tie_weights": True,
    }
    medium = default_config("char-medium")
    assert (medium["layers"], medium["hidden_size"], medium["embedding_size"], medium["dropout"]) == (2, 512, 128, 0.2)
    assert models.PRESETS is PRESETS
    for name, (arch, _) in PRESETS.items():
        model = build(name, {"hidden_size": 16, "embedding_size": 16}, V)
        assert model.arch == arch and model.config == {**default_config(name), "hidden_size": 16, "embedding_size": 16}
    assert build("word-medium", {"dropout": 0.5, "hidden_size": 8, "embedding_size": 8}, V).config["dropout"] == 0.5


def test_the_registry_holds_every_architecture_and_preset_and_builds_them():
    registry = Plugins(Console(quiet=True), load_entry_points=False).registry("architecture")
    assert set(registry.names()) == {*ARCHITECTURES, *PRESETS}
    for registration in registry:
        assert registration.plugin == "textseq.architectures" and registration.help
        assert registration.metadata["default_config"] == default_config(registration.name)
    registration = registry.get("word-nplm")
    config = {**registration.metadata["default_config"], "embedding_size": 4, "hidden_size": 6}
    model = registration.implementation(config, V)
    assert isinstance(model, models.NPLM) and model.config == config
    # a checkpoint's (name, config) rebuilds the same network
    rebuilt = registry.get("word-nplm").implementation(dict(model.config), V)
    rebuilt.load_state_dict(model.state_dict())


@pytest.mark.parametrize(
    "name, config, message",
    [
        ("lstm", {"hiden_size": 10}, "lstm: unknown option 'hiden_size' (did you mean 'hidden_size'? known: dropout, embedding_dropout,"),
        ("gru", {"nonlinearity": "relu"}, "gru: unknown option 'nonlinearity'"),
        ("nplm", {"layers": 2}, "nplm: unknown option 'layers'"),
        ("lstm", {"layers": 0}, "lstm: layers must be a whole number >= 1, not 0"),
        ("lstm", {"hidden_size": 1.5}, "hidden_size must be a whole number"),
        ("lstm", {"hidden_size": True}, "hidden_size must be a whole number"),
        ("rnn", {"dropout": 1.0}, "rnn: dropout must be a probability in [0, 1), not 1.0"),
        ("lstm", {"weight_drop": -0.1}, "weight_drop must be a probability"),
        ("lstm", {"locked_dropout": "0.2"}, "locked_dropout must be a probability"),
        ("lstm", {"tie_weights": "yes"}, "lstm: tie_weights must be true or false, not 'yes'"),
        ("rnn", {"nonlinearity": "sigmoid"}, "rnn: nonlinearity must be one of tanh, relu, not 'sigmoid'"),
        ("word-medium", {"contxt": 3}, "word-medium: unknown option 'contxt'"),
        ("transformer", {}, "unknown architecture 'transformer'"),
    ],
)
def test_bad_configs_are_refused_with_a_clear_message(name, config, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        build(name, config, V)


def test_a_bad_vocabulary_size_is_refused():
    with pytest.raises(ValueError, match="vocabulary size"):
        build("lstm", SMALL, 0)


def test_registering_the_architectures_imports_no_torch():
    code = (
        "import sys\nfrom textseq.console import Console\nfrom textseq.plugins import Plugins\n"
        "r = Plugins(Console(quiet=True), load_entry_points=False).registry('architecture')\n"
        "assert 'lstm' in r and 'word-medium' in r\nprint('torch' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == "False", done.stderr


@pytest.mark.parametrize(
    "name,overrides",
    [
        ("lstm", {}),
        ("gru", {}),
        ("rnn-relu", {}),
        ("rnn-tanh", {}),
        ("lstm-one-layer", {}),
        ("lstm-regularized", {}),
        ("gru-residual-tied", {}),
        ("lstm-residual-tied", {}),
        ("lstm", {"residual": True, "embedding_size": 12, "layers": 3}),
    ],
)
def test_single_token_stepper_equals_forward(name, overrides):
    """Sampling's fast path (weights laid out for one token a step) gives the logits and states of forward()."""
    torch.manual_seed(0)
    model = make(name, **overrides).eval()
    tokens = torch.randint(0, model.vocab_size, (7, 3))
    logits, state = model(tokens)
    stepper = model.stepper()
    step_state = None
    for t in range(tokens.size(0)):
        step_logits, step_state = stepper.step(tokens[t].numpy(), step_state)
        assert torch.allclose(torch.from_numpy(step_logits), logits[t], atol=1e-5)
    flat = lambda s: torch.cat([torch.as_tensor(x).reshape(-1) for x in s]) if isinstance(s, tuple) else torch.as_tensor(s).reshape(-1)  # noqa: E731
    assert torch.allclose(flat(step_state), flat(state), atol=1e-5)
    halfway = model(tokens[:4])[1]  # a state from forward() goes on through the stepper
    assert torch.allclose(torch.from_numpy(stepper.step(tokens[4].numpy(), halfway)[0]), logits[4], atol=1e-5)


@pytest.mark.parametrize("name", ["lstm", "gru", "rnn-tanh", "gru-residual-tied", "lstm-residual-tied"])
def test_stepper_without_the_first_layer_table_equals_forward(name, monkeypatch):
    """A vocabulary too large for the precomputed first-layer table takes the matrix product instead."""
    import textseq.neural.stepping as stepping

    monkeypatch.setattr(stepping, "TABLE_LIMIT", 0)
    model = make(name).eval()
    stepper = model.stepper()
    assert stepper.table is None
    tokens = torch.randint(0, model.vocab_size, (5, 1))  # one stream: the matrix-vector path
    logits, _ = model(tokens)
    state = None
    for t in range(tokens.size(0)):
        step_logits, state = stepper.step(tokens[t].numpy(), state)
        assert torch.allclose(torch.from_numpy(step_logits), logits[t], atol=1e-5)


@pytest.mark.parametrize("name", ["lstm", "gru", "rnn-relu", "lstm-residual-tied", "nplm-direct-tied"])
def test_the_sampling_adapter_scores_like_forward(name):
    """NeuralLM (the prime in one forward call, then one stepper step a token) gives, after every
    token, the distribution that forward() over the whole line gives."""
    import numpy as np

    from textseq.neural.codec import Codec
    from textseq.neural.loading import NeuralLM

    codec, _ = Codec.build("char", ["abcdefghi\n"])
    model = build(VARIANTS[name][0], VARIANTS[name][1], codec.vocab_size).eval()
    lm = NeuralLM(model, codec)
    line = codec.encode(["bad cafe\n"]).tolist()
    prime, rest = line[:3], line[3:]
    with torch.no_grad():
        logits, _ = model(torch.tensor([lm.start_id, *line]).view(-1, 1))
    expected = torch.log_softmax(logits[:, 0].double(), dim=-1).numpy()
    logprobs, state = lm.step(lm.initial_state(prime), None)
    for position, token in enumerate(rest):
        assert np.allclose(logprobs, expected[len(prime) + position], atol=1e-5)
        logprobs, state = lm.step(state, token)
    assert np.isclose(np.exp(logprobs).sum(), 1.0)


def test_blas_threads_are_set_at_run_time():
    from textseq.neural.blas import blas_threads, set_blas_threads
    from textseq.neural.cpu_load import idle_cores

    before = blas_threads()
    if before is None:
        assert set_blas_threads(1) is False
        pytest.skip("numpy's BLAS is not OpenBLAS here")
    try:
        assert set_blas_threads(1) and blas_threads() == 1
        assert set_blas_threads(0) and blas_threads() == 1  # at least one
    finally:
        set_blas_threads(before)
    assert 1 <= idle_cores() <= (os.cpu_count() or 1)
