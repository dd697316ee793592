"""The compiled sampling loop for long LSTM samples: the numpy step's numbers, the numpy path's tokens."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("numba")

from textseq.neural import fused  # noqa: E402
from textseq.neural.codec import Codec  # noqa: E402
from textseq.neural.fused import FusedLSTM, fused_kernel, sample_fused  # noqa: E402
from textseq.neural.loading import NeuralLM  # noqa: E402
from textseq.neural.models import build  # noqa: E402
from textseq.sampling import SamplingOptions, sample  # noqa: E402

TEXT = "the cat sat on the mat\nthe dog sat on the log\n"


def model_lm(level: str = "char", layers: int = 2, arch: str = "lstm", **config) -> NeuralLM:
    """An untrained network with weights scaled up, so gates saturate and distributions are peaked."""
    codec, _ = Codec.build(level, [TEXT])
    torch.manual_seed(layers)
    model = build(arch, {"embedding_size": 10, "hidden_size": 24, "layers": layers, "dropout": 0.0, **config}, codec.vocab_size)
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.mul_(4.0)
    return NeuralLM(model.eval(), codec)


@pytest.mark.parametrize("layers", [1, 2, 3])
def test_the_kernel_carries_the_numpy_steps_state(layers):
    from textseq.neural.lstm_kernel import generate

    lm = model_lm(layers=layers)
    kernel = FusedLSTM(lm.stepper, threads=2)
    size = lm.stepper.hidden
    hs, cs = np.zeros((layers, size), np.float32), np.zeros((layers, size), np.float32)
    out = np.empty(40, np.int64)
    drawn = generate(
        kernel.first,
        kernel.table,
        kernel.upper,
        kernel.upper_bias,
        kernel.decoder,
        kernel.decoder_bias,
        hs,
        cs,
        3,
        np.random.default_rng(0).random(40),
        1.0,
        -1,
        out,
    )
    assert drawn == 40
    state = None
    for token in [3, *out[:-1].tolist()]:  # the kernel fed 3 and every token it drew but the last
        _, state = lm.stepper.step(np.array([token]), state)
    assert np.allclose(hs, state[0][:, 0], atol=1e-5) and np.allclose(cs, state[1][:, 0], atol=1e-5)
    assert np.abs(cs).max() > 1.0  # saturated gates: tanh's far range was exercised


@pytest.mark.parametrize("temperature", [1.0, 0.6, 0.0])
@pytest.mark.parametrize("layers", [1, 2])
def test_a_long_sample_through_the_kernel_draws_the_numpy_paths_tokens(monkeypatch, temperature, layers):
    monkeypatch.setattr(fused, "HANDOVER", 30)
    lm = model_lm(layers=layers)
    options = SamplingOptions(temperature=temperature, max_tokens=300)  # 30 numpy steps, then chunks of 64 and a part
    kernel = FusedLSTM(lm.stepper, threads=2)
    expected = list(sample(lm, [2, 5], options, np.random.default_rng(7)))
    assert list(sample_fused(lm, kernel, [2, 5], options, np.random.default_rng(7))) == expected
    assert len(expected) == 300 and len(set(expected)) > (1 if temperature == 0 else 5)


def test_the_generator_is_left_one_draw_a_token_however_the_sample_stops(monkeypatch):
    monkeypatch.setattr(fused, "HANDOVER", 10)
    lm = model_lm()
    kernel = FusedLSTM(lm.stepper, threads=1)
    options = SamplingOptions(max_tokens=500)
    rng = np.random.default_rng(11)
    tokens = sample_fused(lm, kernel, [], options, rng)
    taken = [next(tokens) for _ in range(100)]  # stopped mid-chunk, as by --stop
    tokens.close()
    reference = np.random.default_rng(11)
    reference.random(100)
    assert rng.random() == reference.random()
    assert taken == list(sample(lm, [], SamplingOptions(max_tokens=100), np.random.default_rng(11)))


def test_the_end_token_ends_a_sample_in_the_kernel_as_in_numpy(monkeypatch):
    monkeypatch.setattr(fused, "HANDOVER", 1)
    lm = model_lm(level="word")
    options = SamplingOptions(max_tokens=2000)
    kernel = FusedLSTM(lm.stepper, threads=2)
    for seed in range(5):
        rng, reference = np.random.default_rng(seed), np.random.default_rng(seed)
        got = list(sample_fused(lm, kernel, [], options, rng))
        assert got == list(sample(lm, [], options, reference))
        assert lm.end_id not in got and len(got) < 2000  # an end token was drawn, in the kernel or before
        assert rng.random() == reference.random()


@pytest.mark.parametrize(
    "arch,config,options,applies",
    [
        ("lstm", {}, SamplingOptions(max_tokens=fused.LONG_SAMPLE), True),
        ("lstm", {}, SamplingOptions(max_tokens=fused.LONG_SAMPLE - 1), False),
        ("lstm", {}, SamplingOptions(max_tokens=fused.LONG_SAMPLE, top_k=5), False),
        ("lstm", {}, SamplingOptions(max_tokens=fused.LONG_SAMPLE, top_p=0.9), False),
        ("lstm", {"residual": True}, SamplingOptions(max_tokens=fused.LONG_SAMPLE), False),
        ("gru", {}, SamplingOptions(max_tokens=fused.LONG_SAMPLE), False),
    ],
)
def test_the_kernel_is_taken_only_where_it_applies(arch, config, options, applies):
    lm = model_lm(arch=arch, **config)
    assert isinstance(fused_kernel(lm, options, 1), FusedLSTM) is applies


def test_a_long_sample_from_the_command_line(tmp_path, textseq):
    """Past LONG_SAMPLE tokens the compiled loop draws, after the numpy path's first HANDOVER:
    the same text as the numpy path (a top-k of the whole vocabulary takes that path), and a
    short sample is its beginning."""
    text = tmp_path / "t.txt"
    text.write_text(TEXT * 20)
    model = tmp_path / "m.pt"
    assert (
        textseq(
            "train",
            "--arch",
            "lstm",
            "--level",
            "char",
            "-c",
            "hidden_size=32",
            "-c",
            "layers=2",
            "--epochs",
            "2",
            "--batch-size",
            "4",
            "--bptt",
            "16",
            "--lr",
            "0.01",
            "-q",
            "-O",
            str(model),
            str(text),
        ).returncode
        == 0
    )
    n = str(fused.LONG_SAMPLE + 500)
    long = textseq("sample", str(model), "-n", n, "--seed", "4", "--prime", "the ")
    assert long.returncode == 0, long.stderr
    assert long.text == textseq("sample", str(model), "-n", n, "--seed", "4", "--prime", "the ", "--top-k", "1000").text
    assert len(long.text) == len("the ") + int(n) + 1
    short = textseq("sample", str(model), "-n", "300", "--seed", "4", "--prime", "the ").text
    assert long.text.startswith(short[:-1])
