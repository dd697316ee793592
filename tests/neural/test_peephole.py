"""The peephole LSTM (``lstm -c peephole=true``): its equations, its hand-written backward, its
place in RecurrentLM, sampling's numpy step, and the commands that train, score, sample and resume it."""

from __future__ import annotations

import json

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from helpers import SMALL, TEXT, read_log  # noqa: E402
from textseq.neural import fused, onednn, stepping  # noqa: E402
from textseq.neural.codec import Codec  # noqa: E402
from textseq.neural.config import PRESETS, resolve_config  # noqa: E402
from textseq.neural.loading import NeuralLM  # noqa: E402
from textseq.neural.models import build  # noqa: E402
from textseq.neural.peephole import PeepholeFunction, PeepholeLSTM  # noqa: E402
from textseq.sampling import SamplingOptions  # noqa: E402

V = 11
CONFIG = {"embedding_size": 8, "hidden_size": 12, "layers": 2, "dropout": 0.0, "peephole": True}
PEEPHOLE = ["-c", "peephole=true"]


def with_peepholes(module: torch.nn.Module, scale: float = 0.5) -> torch.nn.Module:
    """``module`` with its peepholes (zero when new) drawn uniform in [-scale, scale]."""
    with torch.no_grad():
        for name, parameter in module.named_parameters():
            if name.split(".")[-1].startswith(("weight_ci", "weight_cf", "weight_co")):
                parameter.uniform_(-scale, scale)
    return module


def eager_layer(x, h, c, w_ih, w_hh, b_ih, b_hh, peep):
    """The equations in plain torch operations, for autograd to differentiate."""
    outputs = []
    for t in range(x.size(0)):
        a_i, a_f, a_g, a_o = (x[t] @ w_ih.t() + b_ih + h @ w_hh.t() + b_hh).chunk(4, 1)
        i = torch.sigmoid(a_i + peep[0] * c)
        f = torch.sigmoid(a_f + peep[1] * c)
        c = f * c + i * torch.tanh(a_g)
        o = torch.sigmoid(a_o + peep[2] * c)
        h = o * torch.tanh(c)
        outputs.append(h)
    return torch.stack(outputs), c


def layer_parameters(module: PeepholeLSTM, k: int) -> list[torch.Tensor]:
    return [getattr(module, f"{name}_l{k}") for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")] + [module.peepholes(k)]


def test_two_steps_equal_a_hand_computation_of_the_equations():
    torch.manual_seed(3)
    module = with_peepholes(PeepholeLSTM(3, 2, 1), 0.9)
    x = torch.randn(2, 1, 3)
    h0, c0 = torch.randn(1, 1, 2), torch.randn(1, 1, 2)
    with torch.no_grad():
        out, (h_n, c_n) = module(x, (h0, c0))
    W, U, b_i, b_h = (p.detach().double().numpy() for p in layer_parameters(module, 0)[:4])
    p_i, p_f, p_o = (getattr(module, f"weight_{g}_l0").detach().double().numpy() for g in ("ci", "cf", "co"))
    sigmoid = lambda z: 1 / (1 + np.exp(-z))  # noqa: E731
    h, c = h0[0, 0].double().numpy(), c0[0, 0].double().numpy()
    expected = []
    for t in range(2):
        a = W @ x[t, 0].double().numpy() + U @ h + b_i + b_h
        i = sigmoid(a[0:2] + p_i * c)
        f = sigmoid(a[2:4] + p_f * c)
        g = np.tanh(a[4:6])
        c = f * c + i * g
        o = sigmoid(a[6:8] + p_o * c)  # the output gate sees the new cell
        h = o * np.tanh(c)
        expected.append(h)
    assert np.allclose(out[:, 0].numpy(), expected, atol=1e-6)
    assert np.allclose(h_n[0, 0].numpy(), h, atol=1e-6) and np.allclose(c_n[0, 0].numpy(), c, atol=1e-6)


def test_the_hand_written_backward_passes_gradcheck_in_float64():
    torch.manual_seed(0)
    T, B, E, H = 4, 3, 3, 5

    def tensor(*shape):
        return torch.randn(*shape, dtype=torch.float64, requires_grad=True)

    inputs = (tensor(T, B, E), tensor(B, H), tensor(B, H), tensor(4 * H, E), tensor(4 * H, H), tensor(4 * H), tensor(3, H))
    assert torch.autograd.gradcheck(PeepholeFunction.apply, inputs)
    one_step = (tensor(1, B, E), *inputs[1:])
    assert torch.autograd.gradcheck(PeepholeFunction.apply, one_step)


@pytest.mark.parametrize("through_onednn", [True, False])
def test_float32_forward_and_gradients_equal_autograd_over_the_equations(through_onednn, monkeypatch):
    """The CPU float32 path (oneDNN's products where torch has them) and torch's plain products."""
    if not through_onednn:
        monkeypatch.setattr(onednn, "applies", lambda tensor: False)
    torch.manual_seed(1)
    T, B, E, H, L = 6, 4, 5, 7, 2
    module = with_peepholes(PeepholeLSTM(E, H, L))
    x = torch.randn(T, B, E, requires_grad=True)
    h0, c0 = torch.randn(L, B, H, requires_grad=True), torch.randn(L, B, H, requires_grad=True)
    out, (h_n, c_n) = module(x, (h0, c0))
    below, lasts, cells = x, [], []
    for k in range(L):
        below, cell = eager_layer(below, h0[k], c0[k], *layer_parameters(module, k))
        lasts.append(below[-1])
        cells.append(cell)
    assert torch.allclose(out, below, atol=1e-5) and torch.allclose(c_n, torch.stack(cells), atol=1e-5)
    assert torch.allclose(h_n, torch.stack(lasts), atol=1e-5)
    weights = torch.randn_like(out)
    leaves = [x, h0, c0, *module.parameters()]
    ours = torch.autograd.grad((out * weights).sum() + c_n.sum() + h_n.sum(), leaves)
    reference = torch.autograd.grad((below * weights).sum() + torch.stack(cells).sum() + torch.stack(lasts).sum(), leaves)
    for got, want in zip(ours, reference):
        assert torch.allclose(got, want, atol=1e-4), (got - want).abs().max()


def test_with_zero_peepholes_it_is_torchs_lstm():
    torch.manual_seed(2)
    module = PeepholeLSTM(5, 6, 2)
    assert all(float(getattr(module, f"weight_{g}_l{k}").detach().abs().max()) == 0 for g in ("ci", "cf", "co") for k in range(2))
    names = {name for name, _ in module.named_parameters()}
    assert {
        f"{n}_l{k}" for n in ("weight_ih", "weight_hh", "bias_ih", "bias_hh", "weight_ci", "weight_cf", "weight_co") for k in (0, 1)
    } == names
    reference = torch.nn.LSTM(5, 6, 2)
    reference.load_state_dict({k: v for k, v in module.state_dict().items() if not k.startswith("weight_c")})
    x = torch.randn(7, 3, 5, requires_grad=True)
    ours, (h, c) = module(x)
    theirs, (h2, c2) = reference(x)
    assert torch.allclose(ours, theirs, atol=1e-6) and torch.allclose(h, h2, atol=1e-6) and torch.allclose(c, c2, atol=1e-6)
    g1 = torch.autograd.grad(ours.pow(2).sum(), [x, module.weight_hh_l0, module.weight_ih_l1])
    g2 = torch.autograd.grad(theirs.pow(2).sum(), [x, reference.weight_hh_l0, reference.weight_ih_l1])
    assert all(torch.allclose(a, b, atol=1e-5) for a, b in zip(g1, g2))


def test_no_gradients_run_the_same_loop():
    module = with_peepholes(PeepholeLSTM(4, 5, 2, dropout=0.5)).eval()
    x = torch.randn(6, 2, 4)
    with torch.no_grad():
        quiet, _ = module(x)
    assert torch.equal(quiet, module(x)[0].detach())


def test_the_lstm_option_and_presets():
    assert resolve_config("lstm")["peephole"] is False
    assert resolve_config("lstm", {"peephole": True})["peephole"] is True
    for preset in PRESETS:
        if PRESETS[preset][0] == "lstm":
            assert resolve_config(preset, {"peephole": True})["peephole"] is True
    for arch in ("rnn", "gru"):
        with pytest.raises(ValueError, match="unknown option 'peephole'"):
            resolve_config(arch, {"peephole": True})
    with pytest.raises(ValueError, match="peephole must be true or false"):
        resolve_config("lstm", {"peephole": "yes"})
    assert isinstance(build("word-small", {"peephole": True, "hidden_size": 8, "embedding_size": 8}, V).rnns[0], PeepholeLSTM)
    assert isinstance(build("lstm", {}, V).rnns[0], torch.nn.LSTM)


def make(**overrides) -> torch.nn.Module:
    torch.manual_seed(0)
    return with_peepholes(build("lstm", {**CONFIG, **overrides}, V))


@pytest.mark.parametrize(
    "overrides",
    [
        {},
        {"layers": 1},
        {"residual": True, "embedding_size": 12, "layers": 3},
        {"tie_weights": True, "hidden_size": 8},
        {"locked_dropout": 0.2},
    ],
)
def test_a_sequence_in_two_halves_and_the_numpy_stepper_equal_one_forward(overrides):
    model = make(**overrides).eval()
    tokens = torch.randint(0, V, (9, 3), generator=torch.Generator().manual_seed(4))
    with torch.no_grad():
        logits, state = model(tokens)
        first, middle = model(tokens[:4])
        second, _ = model(tokens[4:], middle)
    assert torch.allclose(torch.cat([first, second]), logits, atol=1e-6)
    stepper = model.stepper()
    assert isinstance(stepper, stepping.RecurrentStepper) and stepper.peephole
    step_state = None
    for t in range(tokens.size(0)):
        step_logits, step_state = stepper.step(tokens[t].numpy(), step_state)
        assert np.allclose(step_logits, logits[t].numpy(), atol=1e-5)
    assert np.allclose(step_state[1], state[1].numpy(), atol=1e-5)
    assert np.allclose(stepper.step(tokens[4].numpy(), middle)[0], logits[4].numpy(), atol=1e-5)  # a state from forward()


def test_the_stepper_without_the_first_layer_table(monkeypatch):
    monkeypatch.setattr(stepping, "TABLE_LIMIT", 0)
    model = make().eval()
    stepper = model.stepper()
    assert stepper.table is None
    tokens = torch.randint(0, V, (5, 1))
    with torch.no_grad():
        logits, _ = model(tokens)
    state = None
    for t in range(tokens.size(0)):
        step_logits, state = stepper.step(tokens[t].numpy(), state)
        assert np.allclose(step_logits, logits[t].numpy(), atol=1e-5)


def test_regularized_training_reaches_every_weight():
    model = make(dropout=0.2, locked_dropout=0.2, weight_drop=0.5, embedding_dropout=0.1).train()
    tokens = torch.randint(0, V, (6, 4))
    torch.manual_seed(5)
    a = model(tokens)[0]
    torch.manual_seed(6)
    b = model(tokens)[0]
    assert not torch.allclose(a, b)  # dropconnect on weight_hh (and dropout) in training
    a.sum().backward()
    assert all(p.grad is not None and float(p.grad.abs().sum()) > 0 for p in model.parameters())
    model.eval()
    assert torch.equal(model(tokens)[0], model(tokens)[0])


def test_the_compiled_sampling_loop_is_not_taken_for_a_peephole_model():
    codec, _ = Codec.build("char", [TEXT])
    lm = NeuralLM(with_peepholes(build("lstm", {**CONFIG, "embedding_size": 10}, codec.vocab_size)).eval(), codec)
    assert fused.fused_kernel(lm, SamplingOptions(max_tokens=fused.LONG_SAMPLE), 1) is None


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_on_cuda_it_computes_what_it_does_on_cpu():
    module = with_peepholes(PeepholeLSTM(4, 6, 2))
    x = torch.randn(5, 3, 4)
    out, (_, c) = module(x)
    out.sum().backward()
    grads = [p.grad.clone() for p in module.parameters()]
    module.zero_grad()
    cuda_module = module.cuda()
    out2, (_, c2) = cuda_module(x.cuda())
    out2.sum().backward()
    assert torch.allclose(out2.cpu(), out, atol=1e-5) and torch.allclose(c2.cpu(), c, atol=1e-5)
    assert all(torch.allclose(p.grad.cpu(), g, atol=1e-4) for p, g in zip(cuda_module.parameters(), grads))
    with torch.autocast("cuda", dtype=torch.bfloat16):
        assert cuda_module(x.cuda())[0].dtype == torch.float32


def train_args(text, out, *extra):
    return [
        "train",
        "--arch",
        "lstm",
        "--level",
        "char",
        *SMALL,
        *PEEPHOLE,
        "--batch-size",
        "4",
        "--bptt",
        "20",
        "-q",
        *extra,
        "-O",
        str(out),
        str(text),
    ]


def test_train_eval_sample_and_resume_from_the_command_line(tmp_path, textseq, monkeypatch):
    text = tmp_path / "t.txt"
    text.write_text(TEXT)
    whole, parts = tmp_path / "whole.jsonl", tmp_path / "parts.jsonl"
    done = textseq(*train_args(text, tmp_path / "a.pt", "--epochs", "3", "--lr", "0.01", "--log", str(whole)))
    assert done.returncode == 0, done.stderr
    payload = torch.load(tmp_path / "a.pt", map_location="cpu", weights_only=True)
    assert payload["config"]["peephole"] is True and "rnns.0.weight_co_l0" in payload["model"]
    assert float(payload["model"]["rnns.0.weight_co_l0"].abs().max()) > 0  # the peepholes learnt

    first = textseq(*train_args(text, tmp_path / "b.pt", "--epochs", "3", "--lr", "0.01", "--max-steps", "40", "--log", str(parts)))
    assert first.returncode == 0, first.stderr
    resumed = textseq("train", "--resume", str(tmp_path / "b.last.pt"), "-q", "--log", str(parts), "-O", str(tmp_path / "b.pt"), str(text))
    assert resumed.returncode == 0, resumed.stderr
    a, b = read_log(whole), read_log(parts)
    assert len([e for e in a if "loss" in e]) > 40 and a == b

    report = json.loads(textseq("eval", str(tmp_path / "a.pt"), str(text), "--json").text)
    assert report["tokens"] == len(TEXT) and report["bits_per_character"] < 3.0  # uniform over 17 symbols: 4.1

    one = textseq("sample", str(tmp_path / "a.pt"), "--prime", "the ", "-n", "40", "--seed", "3")
    assert one.returncode == 0 and one.text.startswith("the ")
    assert one.text == textseq("sample", str(tmp_path / "a.pt"), "--prime", "the ", "-n", "40", "--seed", "3").text

    def refused(*args, **kwargs):
        raise AssertionError("the compiled loop was built for a peephole model")

    monkeypatch.setattr(fused, "FusedLSTM", refused)
    long = textseq("sample", str(tmp_path / "a.pt"), "-n", str(fused.LONG_SAMPLE + 10), "--seed", "1")
    assert long.returncode == 0, long.stderr
    assert len(long.text) >= fused.LONG_SAMPLE  # a char sample: one character a token (ends of line included)
