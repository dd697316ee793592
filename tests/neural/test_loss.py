"""The training loss: the fused decoder and softmax against torch's own, and where it is taken."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
F = torch.nn.functional

from textseq.neural import loss as loss_module  # noqa: E402
from textseq.neural import onednn  # noqa: E402
from textseq.neural.config import resolve_config  # noqa: E402
from textseq.neural.loss import LinearCrossEntropy, fuses, next_token_loss, next_token_losses  # noqa: E402
from textseq.neural.models import build  # noqa: E402

V = 37
SMALL = {"embedding_size": 8, "hidden_size": 12, "layers": 2, "dropout": 0.0}


def leaves(*tensors):
    return [t.detach().clone().requires_grad_() for t in tensors]


def torch_loss_and_grads(x, weight, bias, targets, scale=1.0):
    x, weight, *rest = leaves(x, weight, *([] if bias is None else [bias]))
    value = F.cross_entropy(F.linear(x, weight, rest[0] if rest else None), targets) * scale
    value.backward()
    return value.detach(), [x.grad, weight.grad, *(r.grad for r in rest)]


def fused_loss_and_grads(x, weight, bias, targets, scale=1.0):
    x, weight, *rest = leaves(x, weight, *([] if bias is None else [bias]))
    value = LinearCrossEntropy.apply(x, weight, rest[0] if rest else None, targets) * scale
    value.backward()
    return value.detach(), [x.grad, weight.grad, *(r.grad for r in rest)]


@pytest.mark.parametrize("block", [None, 7, 1])
@pytest.mark.parametrize("with_bias", [True, False])
@pytest.mark.parametrize("through_onednn", [True, False])
def test_loss_and_gradients_equal_torch_cross_entropy(block, with_bias, through_onednn, monkeypatch):
    """Whole, in blocks of rows that do not divide the rows, row by row; with and without a bias;
    through oneDNN and torch's products; and an upstream gradient other than 1."""
    if block is not None:
        monkeypatch.setattr(loss_module, "BLOCK_LOGITS", block * V)
    if not through_onednn:
        monkeypatch.setattr(onednn, "applies", lambda tensor: False)
    torch.manual_seed(0)
    x, weight, bias = torch.randn(30, 6) * 3, torch.randn(V, 6), torch.randn(V) if with_bias else None
    targets = torch.randint(0, V, (30,))
    expected, expected_grads = torch_loss_and_grads(x, weight, bias, targets, scale=2.5)
    got, grads = fused_loss_and_grads(x, weight, bias, targets, scale=2.5)
    assert float(got) == pytest.approx(float(expected), rel=1e-6)
    assert len(grads) == len(expected_grads)
    for mine, theirs in zip(grads, expected_grads):
        torch.testing.assert_close(mine, theirs, rtol=1e-5, atol=1e-6)


def test_float64_and_a_frozen_weight():
    torch.manual_seed(1)
    x = torch.randn(9, 4, dtype=torch.float64, requires_grad=True)
    weight, bias, targets = torch.randn(V, 4, dtype=torch.float64), torch.randn(V, dtype=torch.float64), torch.randint(0, V, (9,))
    assert torch.autograd.gradcheck(lambda inputs: LinearCrossEntropy.apply(inputs, weight, bias, targets), (x,))
    value = LinearCrossEntropy.apply(x, weight, bias, targets)
    assert value.dtype == torch.float64
    assert float(value) == pytest.approx(float(F.cross_entropy(F.linear(x, weight, bias), targets)), rel=1e-12)


def test_a_model_with_tied_weights_gets_the_gradients_of_its_own_forward():
    """RecurrentLM's features and decoder through the fused loss: the loss, the next state and
    every parameter's gradient are those of ``forward`` and torch's cross-entropy."""
    torch.manual_seed(2)
    config = resolve_config("lstm", {**SMALL, "hidden_size": 10, "tie_weights": True})
    model = build("lstm", config, V)
    tokens, targets = torch.randint(0, V, (5, 3)), torch.randint(0, V, (5, 3))
    assert fuses(model, tokens)
    fused, fused_state = next_token_loss(model, tokens, targets, None)
    fused.backward()
    fused_grads = {name: p.grad.clone() for name, p in model.named_parameters()}
    model.zero_grad()
    logits, state = model(tokens, None)
    plain = F.cross_entropy(logits.reshape(-1, V), targets.reshape(-1))
    plain.backward()
    assert float(fused) == pytest.approx(float(plain), rel=1e-6)
    for mine, theirs in zip(fused_state, state):
        torch.testing.assert_close(mine, theirs)
    for name, p in model.named_parameters():
        torch.testing.assert_close(fused_grads[name], p.grad, rtol=1e-5, atol=1e-7, msg=name)


def test_where_the_fused_loss_is_taken():
    model = build("lstm", resolve_config("lstm", SMALL), V)
    tokens = torch.zeros(2, 2, dtype=torch.long)
    assert fuses(model, tokens)
    assert not fuses(build("nplm", resolve_config("nplm", {"context": 2, "embedding_size": 4, "hidden_size": 5}), V), tokens)
    assert not fuses(model.double(), tokens)


def test_without_fusion_the_loss_is_torch_cross_entropy(monkeypatch):
    """The path for other networks, devices and mixed precision gives the same loss."""
    torch.manual_seed(3)
    model = build("gru", resolve_config("gru", SMALL), V)
    tokens, targets = torch.randint(0, V, (4, 2)), torch.randint(0, V, (4, 2))
    fused, _ = next_token_loss(model, tokens, targets, None)
    monkeypatch.setattr(loss_module, "fuses", lambda model, tokens: False)
    plain, _ = next_token_loss(model, tokens, targets, None)
    assert fused.grad_fn is not None and plain.grad_fn is not None
    assert type(fused.grad_fn).__name__ != type(plain.grad_fn).__name__
    assert float(fused) == pytest.approx(float(plain), rel=1e-6)


@pytest.mark.parametrize("block", [None, 4])
def test_per_token_losses_equal_torch_cross_entropy(block, monkeypatch):
    """Scoring's losses, in blocks of rows or whole, are those of forward's logits; so are those
    of a network without ``features`` (torch's own way); no gradients either way."""
    if block is not None:
        monkeypatch.setattr(loss_module, "BLOCK_LOGITS", block * V)
    torch.manual_seed(4)
    for arch, config in (("lstm", {**SMALL, "tie_weights": True}), ("nplm", {"context": 2, "embedding_size": 4, "hidden_size": 5})):
        model = build(arch, resolve_config(arch, config), V).eval()
        tokens, targets = torch.randint(0, V, (6, 3)), torch.randint(0, V, (6, 3))
        losses, state = next_token_losses(model, tokens, targets, None)
        logits, expected_state = model(tokens, None)
        expected = F.cross_entropy(logits.reshape(-1, V), targets.reshape(-1), reduction="none").view(6, 3)
        assert losses.shape == (6, 3) and not losses.requires_grad
        torch.testing.assert_close(losses, expected.detach(), rtol=1e-5, atol=1e-6)
        for mine, theirs in zip(
            state if isinstance(state, tuple) else (state,), expected_state if isinstance(state, tuple) else (expected_state,)
        ):
            torch.testing.assert_close(mine, theirs)
