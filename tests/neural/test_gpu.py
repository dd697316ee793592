"""Training and sampling on a CUDA device, and checkpoints that cross between it and the CPU.

Skipped where torch sees no CUDA device (CI has none); bench/neural-char.py measures the GPU's
speed and quality figures.
"""

from __future__ import annotations

import json

import pytest

torch = pytest.importorskip("torch")

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")

from helpers import SMALL, TEXT, read_log  # noqa: E402


@pytest.fixture
def text(tmp_path):
    path = tmp_path / "t.txt"
    path.write_text(TEXT)
    return str(path)


@pytest.mark.parametrize("arch", ["lstm", "gru", "rnn", "nplm"])
def test_trained_on_cuda_samples_and_scores_on_cpu(tmp_path, textseq, text, arch):
    out = tmp_path / "g.pt"
    config = SMALL if arch != "nplm" else ["-c", "embedding_size=16", "-c", "hidden_size=32"]
    trained = textseq(
        "train",
        "--arch",
        arch,
        "--level",
        "char",
        *config,
        "--epochs",
        "2",
        "--batch-size",
        "8",
        "--bptt",
        "20",
        "--lr",
        "0.01",
        "--device",
        "cuda",
        "-O",
        str(out),
        text,
    )
    assert trained.returncode == 0, trained.stderr
    assert "on cuda" in trained.stderr
    payload = torch.load(out, weights_only=True)  # no map_location: the file holds CPU tensors
    assert all(t.device.type == "cpu" for t in payload["model"].values())
    on_gpu = json.loads(textseq("eval", str(out), text, "--json", "--device", "cuda").text)
    on_cpu = json.loads(textseq("eval", str(out), text, "--json", "--device", "cpu").text)
    assert on_cpu["tokens"] == on_gpu["tokens"]
    assert on_cpu["loss"] == pytest.approx(on_gpu["loss"], rel=1e-3)
    for device in ("cpu", "cuda"):
        first = textseq("sample", str(out), "--prime", "the ", "-n", "30", "--seed", "2", "--device", device)
        assert first.returncode == 0 and first.text.startswith("the ")
        assert first.text == textseq("sample", str(out), "--prime", "the ", "-n", "30", "--seed", "2", "--device", device).text


def test_resumed_training_on_cuda_follows_the_same_curve(tmp_path, textseq, text):
    common = [
        "train",
        "--arch",
        "lstm",
        "--level",
        "char",
        *SMALL,
        "--batch-size",
        "8",
        "--bptt",
        "20",
        "--epochs",
        "2",
        "--device",
        "cuda",
        "-q",
    ]
    whole, parts = tmp_path / "whole.jsonl", tmp_path / "parts.jsonl"
    assert textseq(*common, "--log", str(whole), "-O", str(tmp_path / "a.pt"), text).returncode == 0
    assert textseq(*common, "--max-steps", "30", "--log", str(parts), "-O", str(tmp_path / "b.pt"), text).returncode == 0
    resumed = textseq(
        "train", "--resume", str(tmp_path / "b.last.pt"), "--device", "cuda", "-q", "--log", str(parts), "-O", str(tmp_path / "b.pt"), text
    )
    assert resumed.returncode == 0, resumed.stderr
    a, b = read_log(whole), read_log(parts)
    assert [e.get("step") for e in a] == [e.get("step") for e in b]
    for x, y in zip(a, b):  # cuDNN's kernels need not be bit-for-bit deterministic
        for key in ("loss", "valid_loss"):
            if key in x:
                assert y[key] == pytest.approx(x[key], rel=1e-4, abs=1e-5)


def test_bf16_autocast_trains(tmp_path, textseq, text):
    if not torch.cuda.is_bf16_supported():
        pytest.skip("this GPU has no bf16")
    out = tmp_path / "b.pt"
    log = tmp_path / "log.jsonl"
    trained = textseq(
        "train",
        "--arch",
        "lstm",
        "--level",
        "char",
        *SMALL,
        "--epochs",
        "3",
        "--batch-size",
        "8",
        "--bptt",
        "20",
        "--lr",
        "0.01",
        "--device",
        "cuda",
        "--bf16",
        "--log",
        str(log),
        "-O",
        str(out),
        text,
    )
    assert trained.returncode == 0, trained.stderr
    steps = [e["loss"] for e in read_log(log) if "loss" in e]
    assert steps[-1] < steps[0] - 0.5
    payload = torch.load(out, map_location="cpu", weights_only=True)
    assert all(t.dtype == torch.float32 for t in payload["model"].values() if t.is_floating_point())
    assert textseq("sample", str(out), "-n", "20", "--seed", "1", "--device", "cpu").returncode == 0
