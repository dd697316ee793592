"""textseq train / sample / eval with neural checkpoints: resumption, portability, safety, reports."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from helpers import ROOT, SMALL, TEXT, read_log  # noqa: E402
from textseq.errors import InputError  # noqa: E402
from textseq.neural.checkpoint import FORMAT, load_checkpoint, save_checkpoint  # noqa: E402
from textseq.neural.codec import Codec  # noqa: E402
from textseq.neural.data import batchify, windows  # noqa: E402
from textseq.neural.train import clip_gradients, last_path  # noqa: E402


@pytest.fixture(scope="module")
def story(tmp_path_factory):
    """The project's own corpus, 6,000 words, as text (train) and 1,500 more (valid)."""
    folder = tmp_path_factory.mktemp("neural")
    for name, seed, tokens in (("train.txt", 5, 6000), ("valid.txt", 6, 1500)):
        text = subprocess.run(
            [sys.executable, str(ROOT / "corpora" / "generate.py"), "--seed", str(seed), "--tokens", str(tokens)],
            capture_output=True,
            check=True,
        ).stdout
        (folder / name).write_bytes(text)
    return folder


def test_batches_are_columns_of_the_stream_and_targets_shift_by_one():
    data = batchify(np.arange(23), 4)
    assert data.shape == (5, 4) and data[:, 1].tolist() == [5, 6, 7, 8, 9]
    chunks = list(windows(data, 2))
    assert [row for row, _, _ in chunks] == [0, 2]
    assert all(torch.equal(x[1:], y[:-1]) for _, x, y in chunks)
    assert torch.equal(chunks[-1][2], data[3:5])


def test_codec_levels_round_trip():
    codec, ids = Codec.build("char", [TEXT])
    assert codec.decode(ids) == TEXT and codec.tokens[0] == "<unk>"
    words, word_ids = Codec.build("word", ["a b a\n\nb c\n"])
    assert words.tokens[:2] == ["<unk>", "</s>"] and words.decode(word_ids) == "a b a\nb c"
    assert words.encode(["a zebra\n"]).tolist() == [words.index["a"], 0, words.eos_id]
    again = Codec.from_state(words.to_state())
    assert again.tokens == words.tokens and again.level == "word"


def test_clipping_bounds_the_gradient():
    model = torch.nn.Linear(10, 10)
    (model(torch.randn(8, 10) * 100).pow(2).sum()).backward()
    assert torch.nn.utils.get_total_norm([p.grad for p in model.parameters()]) > 1
    clip_gradients(model, 0.5, "norm")
    assert float(torch.nn.utils.get_total_norm([p.grad for p in model.parameters()])) == pytest.approx(0.5, rel=1e-4)
    (model(torch.randn(8, 10) * 100).pow(2).sum()).backward()
    clip_gradients(model, 0.01, "value")
    assert max(float(p.grad.abs().max()) for p in model.parameters()) <= 0.01 + 1e-9


def test_resumed_training_follows_the_same_loss_curve(tmp_path, textseq, story):
    train = str(story / "train.txt")
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
        "24",
        "--epochs",
        "2",
        "--valid",
        str(story / "valid.txt"),
        "-q",
    ]
    whole = tmp_path / "whole.jsonl"
    assert textseq(*common, "--log", str(whole), "-O", str(tmp_path / "a.pt"), train).returncode == 0
    parts = tmp_path / "parts.jsonl"
    first = textseq(*common, "--max-steps", "200", "--log", str(parts), "-O", str(tmp_path / "b.pt"), train)
    assert first.returncode == 0, first.stderr
    resumed = textseq(
        "train",
        "--resume",
        str(tmp_path / "b.last.pt"),
        "--valid",
        str(story / "valid.txt"),
        "-q",
        "--log",
        str(parts),
        "-O",
        str(tmp_path / "b.pt"),
        train,
    )
    assert resumed.returncode == 0, resumed.stderr
    a, b = read_log(whole), read_log(parts)
    steps = [e for e in a if "loss" in e]
    assert len(steps) > 200 and any("valid_loss" in e and e["step"] < 200 for e in a)  # the stop is after a validation
    assert a == b
    assert steps[-1]["loss"] < steps[0]["loss"]


def test_checkpoint_is_portable_and_opens_without_code(tmp_path, textseq, story):
    out = tmp_path / "m.pt"
    result = textseq(
        "train", "--arch", "gru", "--level", "word", *SMALL, "--epochs", "1", "--batch-size", "4", "-O", str(out), str(story / "train.txt")
    )
    assert result.returncode == 0, result.stderr
    assert "holding out the last" in result.stderr and "epoch 1/1" in result.stderr
    payload = torch.load(out, map_location="cpu", weights_only=True)
    assert payload["format"] == FORMAT and payload["arch"] == "gru" and payload["codec"]["level"] == "word"
    assert out.with_name("m.last.pt").exists() and last_path(str(out)) == str(out.with_name("m.last.pt"))
    if torch.cuda.is_available():  # trained here on CPU, samples there, and back
        assert textseq("sample", str(out), "--device", "cuda", "-n", "5", "--seed", "1").returncode == 0


class Payload:
    def __reduce__(self):
        return (print, ("this ran when the file was opened",))


def test_a_pickle_that_runs_code_is_refused(tmp_path, textseq):
    evil = tmp_path / "evil.pt"
    torch.save({"format": FORMAT, "version": 1, "model": Payload()}, evil)
    result = textseq("eval", str(evil), input=b"a b\n")
    assert result.returncode == 1
    assert "refused" in result.stderr and "this ran" not in result.stdout.decode() + result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_newer_format_and_foreign_files(tmp_path):
    newer = tmp_path / "new.pt"
    save_checkpoint(newer, {"arch": "lstm"})
    payload = torch.load(newer, weights_only=True)
    payload["version"] = 99
    torch.save(payload, newer)
    with pytest.raises(InputError, match="newer"):
        load_checkpoint(str(newer))
    plain = tmp_path / "plain.pt"
    torch.save({"weights": torch.zeros(2)}, plain)
    with pytest.raises(InputError, match="not a textseq checkpoint"):
        load_checkpoint(str(plain))


def test_sample_and_eval_a_char_model(tmp_path, textseq):
    out = tmp_path / "c.pt"
    text = tmp_path / "t.txt"
    text.write_text(TEXT)
    assert (
        textseq(
            "train",
            "--arch",
            "lstm",
            "--level",
            "char",
            *SMALL,
            "--epochs",
            "4",
            "--batch-size",
            "4",
            "--bptt",
            "20",
            "--lr",
            "0.01",
            "-q",
            "-O",
            str(out),
            str(text),
        ).returncode
        == 0
    )
    one = textseq("sample", str(out), "--prime", "the ", "-n", "40", "--seed", "3")
    assert one.returncode == 0 and one.text.startswith("the ")
    assert one.text == textseq("sample", str(out), "--prime", "the ", "-n", "40", "--seed", "3").text
    greedy = textseq("sample", str(out), "--prime", "the ", "-n", "40", "--greedy").text
    assert greedy == textseq("sample", str(out), "--prime", "the ", "-n", "40", "-t", "0", "--seed", "9").text
    stopped = textseq("sample", str(out), "--prime", "the ", "-n", "200", "--greedy", "--stop", "\n").text
    assert stopped.count("\n") == 1
    report = json.loads(textseq("eval", str(out), str(text), "--json").text)
    assert report["tokens"] == len(TEXT) and report["level"] == "char"
    lines = [float(x) for x in textseq("eval", "--per-line", "-q", str(out), str(text)).text.splitlines()]
    assert len(lines) == TEXT.count("\n") and math.isclose(sum(lines), report["log10_prob"], abs_tol=1e-3)
    assert report["bits_per_character"] == pytest.approx(report["loss"] / math.log(2))
    exact = json.loads(textseq("eval", str(out), str(text), "--json", "--exact").text)
    columns = json.loads(textseq("eval", str(out), str(text), "--json", "--context", "8").text)
    assert exact["tokens"] == columns["tokens"] == report["tokens"]
    assert abs(columns["loss"] - exact["loss"]) < 0.05 and columns["loss"] != exact["loss"]
    refused = textseq("eval", str(out), str(text), "--exact", "--context", "8")
    assert refused.returncode == 2 and "--exact" in refused.stderr
    assert report["bits_per_character"] < 2.5  # the tiny text is learnt (uniform over 17 symbols: 4.1)


def test_word_level_eval_counts_like_the_ngram_report(tmp_path, textseq, story):
    out = tmp_path / "w.pt"
    train, valid = str(story / "train.txt"), str(story / "valid.txt")
    assert (
        textseq(
            "train",
            "--arch",
            "lstm",
            "--level",
            "word",
            *SMALL,
            "--epochs",
            "1",
            "--batch-size",
            "4",
            "-q",
            "--valid",
            valid,
            "-O",
            str(out),
            train,
        ).returncode
        == 0
    )
    arpa = tmp_path / "w.arpa"
    assert textseq("ngram", "build", "-o", "3", "-O", str(arpa), train).returncode == 0
    neural = json.loads(textseq("eval", str(out), valid, "--json").text)
    ngram = json.loads(textseq("eval", str(arpa), valid, "--json").text)
    assert (neural["tokens"], neural["sentences"]) == (ngram["tokens"], ngram["sentences"])
    assert 1 < neural["perplexity"] < 2000
    lines = [float(x) for x in textseq("eval", "--per-line", "-q", str(out), valid).text.splitlines()]
    ngram_lines = textseq("eval", "--per-line", "-q", str(arpa), valid).text.splitlines()
    assert len(lines) == len(ngram_lines) == neural["sentences"]
    assert all(x < 0 for x in lines) and math.isclose(sum(lines), neural["log10_prob"], abs_tol=1e-3)


def test_bad_input(tmp_path, textseq):
    out = str(tmp_path / "x.pt")
    empty = textseq("train", "-O", out, input=b"\n\n")
    assert empty.returncode == 1 and "no text" in empty.stderr
    assert textseq("train", "--device", "tpu", "-O", out, input=b"abc\n" * 50).returncode == 2
    assert textseq("train", "--arch", "transformer-xl", "-O", out, input=b"abc\n" * 50).returncode == 2
    assert textseq("train", "--level", "spm", "-O", out, input=b"abc\n" * 50).returncode == 2
    missing = textseq("sample", str(tmp_path / "nope.pt"))
    assert missing.returncode == 1


def test_subword_level_with_a_sentencepiece_model(tmp_path, textseq, story):
    pytest.importorskip("sentencepiece")
    train = str(story / "train.txt")
    spm = tmp_path / "s.model"
    assert textseq("tokenize", "train-spm", "--vocab-size", "400", "-O", str(spm), train).returncode == 0
    out = tmp_path / "s.pt"
    result = textseq(
        "train",
        "--arch",
        "gru",
        "--level",
        "spm",
        "--spm",
        str(spm),
        *SMALL,
        "--epochs",
        "1",
        "--batch-size",
        "4",
        "-q",
        "-O",
        str(out),
        train,
    )
    assert result.returncode == 0, result.stderr
    payload = torch.load(out, weights_only=True)
    assert payload["codec"]["spm_model"].numel() == spm.stat().st_size  # the model travels in the checkpoint
    spm.unlink()
    text = textseq("sample", str(out), "--prime", "The dog", "-n", "20", "--seed", "1").text
    assert text.startswith("The dog") and text.endswith("\n")
    report = json.loads(textseq("eval", str(out), str(story / "valid.txt"), "--json").text)
    assert report["level"] == "spm" and report["sentences"] > 0 and 1 < report["perplexity"] < 400


def test_ctrl_c_leaves_a_resumable_checkpoint(tmp_path, story):
    import signal
    import time

    from helpers import textseq_command

    log = tmp_path / "log.jsonl"
    out = tmp_path / "i.pt"
    process = subprocess.Popen(
        [
            *textseq_command(),
            "train",
            "--arch",
            "lstm",
            "--level",
            "char",
            *SMALL,
            "--epochs",
            "50",
            "--batch-size",
            "4",
            "--bptt",
            "16",
            "--log",
            str(log),
            "-O",
            str(out),
            str(story / "train.txt"),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and (not log.exists() or log.read_text().count("\n") < 5):
        time.sleep(0.1)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130
    assert "Traceback" not in stderr.decode() and "--resume" in stderr.decode()
    steps = sum(1 for line in log.read_text().splitlines() if '"loss"' in line)
    saved = load_checkpoint(str(tmp_path / "i.last.pt"))
    assert saved["progress"]["step"] == steps and saved["optimizer"] is not None


def test_eval_puts_models_side_by_side(tmp_path, textseq, story):
    train, valid = str(story / "train.txt"), str(story / "valid.txt")
    arpa, neural = tmp_path / "s.arpa", tmp_path / "s.pt"
    assert textseq("ngram", "build", "-o", "3", "-O", str(arpa), train).returncode == 0
    assert (
        textseq(
            "train", "--arch", "word-small", "--level", "word", *SMALL, "--epochs", "1", "--batch-size", "4", "-q", "-O", str(neural), train
        ).returncode
        == 0
    )
    table = textseq("eval", str(arpa), valid, "--also", str(neural)).text.splitlines()
    assert table[0].split() == [str(arpa), str(neural)]
    rows = {line.rsplit(None, 2)[0].strip(): line.split()[-2:] for line in table[1:]}
    assert rows["tokens"][0] == rows["tokens"][1] and rows["sentences"][0] == rows["sentences"][1]
    lower = 0 if float(rows["perplexity"][0]) < float(rows["perplexity"][1]) else 1
    assert rows["rank by perplexity"][lower] == "best" and rows["rank by perplexity"][1 - lower] == "2"
    both = json.loads(textseq("eval", str(arpa), valid, "--also", str(neural), "--json").text)
    assert [r["model"] for r in both] == [str(arpa), str(neural)]
    assert textseq("eval", str(arpa), valid, "--also", str(neural), "--per-line").returncode == 2


def test_a_preset_brings_its_training_settings_and_the_command_line_overrides_them(tmp_path, textseq):
    text = tmp_path / "t.txt"
    text.write_text(TEXT * 4)
    out = tmp_path / "p.pt"
    result = textseq(
        "train",
        "--arch",
        "char-small",
        "-c",
        "hidden_size=16",
        "-c",
        "embedding_size=8",
        "--max-steps",
        "1",
        "--bptt",
        "16",
        "-O",
        str(out),
        str(text),
    )
    assert result.returncode == 0, result.stderr
    assert "char-small: its training defaults --batch-size 32 --optimizer adamw --lr 0.002 --schedule cosine" in result.stderr
    settings = torch.load(out, weights_only=True)["settings"]
    assert (settings["batch_size"], settings["bptt"], settings["lr"], settings["schedule"]) == (32, 16, 0.002, "cosine")
    plain = textseq("train", "--arch", "lstm", *SMALL, "--max-steps", "1", "-O", str(tmp_path / "l.pt"), str(text))
    assert plain.returncode == 0 and "lstm: its training defaults --batch-size 32 --bptt 64" in plain.stderr  # the character recipe
    assert torch.load(tmp_path / "l.pt", weights_only=True)["settings"]["bptt"] == 64
    gru = textseq("train", "--arch", "gru", "--level", "word", *SMALL, "--max-steps", "1", "-O", str(tmp_path / "g.pt"), str(text))
    assert gru.returncode == 0 and "gru: its training defaults --optimizer adamw --lr 0.01" in gru.stderr
    nplm = textseq("train", "--arch", "nplm", "--level", "word", "--max-steps", "1", "-O", str(tmp_path / "n.pt"), str(text))
    assert nplm.returncode == 0 and "training defaults" not in nplm.stderr


def test_bf16_off_cuda_says_it_trains_in_float32(tmp_path, textseq):
    text = tmp_path / "t.txt"
    text.write_text(TEXT)
    trained = textseq(
        "train",
        "--arch",
        "lstm",
        *SMALL,
        "--max-steps",
        "2",
        "--batch-size",
        "4",
        "--bptt",
        "10",
        "--device",
        "cpu",
        "--bf16",
        "-O",
        str(tmp_path / "m.pt"),
        str(text),
    )
    assert trained.returncode == 0, trained.stderr
    assert "--bf16 autocast is for CUDA devices: training in float32 on cpu" in trained.stderr
