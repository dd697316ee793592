"""textseq plot: training logs read into runs (resumed, restarted, paused, old and bad logs) and
drawn to png, svg and pdf."""

from __future__ import annotations

import itertools
import json
import sys
from pathlib import Path

import numpy as np
import pytest

from helpers import SMALL, TEXT, one_error
from textseq.curves import default_window, read_log, smoothed
from textseq.errors import InputError

PNG, PDF = b"\x89PNG\r\n\x1a\n", b"%PDF"


def lm_log(steps: range, *, start: float = 1000.0, gap: float = 0.1, every: int = 10, tokens: bool = True) -> list[dict]:
    """A language model's log entries: a step each ``gap`` seconds, a validation every ``every`` steps."""
    entries: list[dict] = []
    clock = start
    for step in steps:
        clock += gap
        entry = {"step": step, "epoch": 1 + (step - 1) // every, "loss": 4.0 / step**0.3, "lr": 0.002, "time": clock}
        entries.append({**entry, "tokens": step * 64} if tokens else entry)
        if step % every == 0:
            clock += 0.5
            valid = {"epoch": step // every, "step": step, "valid_loss": 4.2 / step**0.3, "valid_perplexity": 9.0, "time": clock}
            entries.append({**valid, "tokens": step * 64} if tokens else valid)
    return entries


def write(path: Path, *parts: list[dict] | str) -> Path:
    lines = [part if isinstance(part, str) else "\n".join(json.dumps(entry) for entry in part) for part in parts]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_a_log_reads_into_train_and_validation_points(tmp_path):
    (run,) = read_log(str(write(tmp_path / "lstm.jsonl", lm_log(range(1, 31)))))
    assert run.label == "lstm" and run.kind == "language model" and run.replaced == run.pauses == 0
    assert run.train.steps.tolist() == list(range(1, 31)) and run.train.tokens.tolist() == [s * 64 for s in range(1, 31)]
    assert run.valid.steps.tolist() == [10, 20, 30] and run.valid.loss[0] == pytest.approx(4.2 / 10**0.3)
    assert run.valid.seconds - run.train.seconds[[9, 19, 29]] == pytest.approx([0.5] * 3)  # a validation's time counts
    assert run.train.seconds[-1] == pytest.approx(30 * 0.1 + 2 * 0.5)


def test_a_resume_from_an_earlier_checkpoint_replaces_the_steps_it_repeats(tmp_path):
    log = write(tmp_path / "r.jsonl", lm_log(range(1, 26)), lm_log(range(21, 41), start=5000.0))
    (run,) = read_log(str(log))
    assert run.train.steps.tolist() == list(range(1, 41))
    assert run.valid.steps.tolist() == [10, 20, 30, 40]  # the validation after step 20 came before the checkpoint
    assert run.replaced == 5  # steps 21..25
    assert run.pauses == 1 and run.train.seconds[-1] == pytest.approx(40 * 0.1 + 4 * 0.5 - 0.5, abs=0.2)


def test_a_run_started_again_in_the_same_log_is_a_run_of_its_own(tmp_path):
    log = write(tmp_path / "twice.jsonl", lm_log(range(1, 21)), lm_log(range(1, 11), start=9000.0))
    first, second = read_log(str(log))
    assert (first.label, second.label) == ("twice (run 1)", "twice (run 2)")
    assert len(first.train.loss) == 20 and second.train.steps.tolist() == list(range(1, 11))


def test_a_classifier_log_reads_by_epoch(tmp_path):
    entries = [
        {"epoch": e, "loss": 1 / e, "seconds": 2.0, "valid_loss": 1.2 / e, "valid_accuracy": 0.9, "time": 100.0 + e} for e in (1, 2, 3)
    ]
    (run,) = read_log(str(write(tmp_path / "topics.jsonl", entries)))
    assert run.kind == "classifier" and run.train.steps.tolist() == [1, 2, 3] and run.train.tokens is None
    assert run.train.seconds.tolist() == [2.0, 4.0, 6.0] and run.valid.loss.tolist() == pytest.approx([1.2, 0.6, 0.4])


def test_null_losses_are_gaps_and_the_running_mean_leaves_them_out(tmp_path):
    entries = lm_log(range(1, 6))
    entries[2]["loss"] = None
    (run,) = read_log(str(write(tmp_path / "nan.jsonl", entries)))
    assert np.isnan(run.train.loss[2])
    assert smoothed(run.train.loss, 3)[2] == pytest.approx((run.train.loss[1] + run.train.loss[3]) / 2)
    assert smoothed(np.array([5.0, 1, 1, 1, 9]), 3).tolist() == [5.0, 7 / 3, 1.0, 11 / 3, 5.0]
    assert default_window(20) == 1 and default_window(5000) == 101


@pytest.mark.parametrize(
    "line, message",
    [
        ("not json", "bad.jsonl:2: not JSON (Expecting value at column 1)"),
        ("[1, 2]", "bad.jsonl:2: not a JSON object"),
        ('{"step": 2, "loss": 1.0}', "bad.jsonl:2: no 'time'"),
        ('{"step": "2", "loss": 1.0, "time": 5}', "bad.jsonl:2: 'step' must be a whole number of at least 1, not \"2\""),
        ('{"step": 2, "loss": true, "time": 5}', "bad.jsonl:2: 'loss' must be a number, not true"),
        ('{"step": 2, "loss": 1, "time": 5, "tokens": -3}', "bad.jsonl:2: 'tokens' must be a whole number of at least 0, not -3"),
        ('{"step": 2, "loss": 1, "time": 1e999}', "bad.jsonl:2: 'time' must be seconds, from 0 to 1e+11, not Infinity"),
        ('{"step": 2, "loss": -1, "time": 5}', "bad.jsonl:2: 'loss' must not be negative, not -1"),
        ('{"lr": 0.1}', "bad.jsonl:2: not a training log's entry"),
        ('{"epoch": 1, "loss": 0.3, "seconds": 1, "time": 5}', "bad.jsonl:2: a classifier's entry in a language model's log"),
    ],
)
def test_a_bad_line_is_one_error_naming_the_file_and_line(tmp_path, textseq, line, message):
    log = write(tmp_path / "bad.jsonl", lm_log(range(1, 2)), line)
    with pytest.raises(InputError) as error:
        read_log(str(log))
    assert str(error.value).startswith(str(tmp_path / message))
    result = textseq("plot", str(log), "-O", str(tmp_path / "c.png"))
    assert result.returncode == 1 and one_error(result.stderr).startswith(f"textseq: error: {tmp_path / message}")
    assert not (tmp_path / "c.png").exists()


def test_an_empty_log_and_a_binary_one_are_errors(tmp_path, textseq):
    (tmp_path / "empty.jsonl").write_text("\n\n")
    result = textseq("plot", str(tmp_path / "empty.jsonl"), "-O", str(tmp_path / "c.png"))
    assert result.returncode == 1 and "no entries: not a training log" in one_error(result.stderr)
    (tmp_path / "b.jsonl").write_bytes(b'{"step": 1, "loss": 2, "time": 1}\n\xff\xfe\n')
    result = textseq("plot", str(tmp_path / "b.jsonl"), "-O", str(tmp_path / "c.png"))
    assert result.returncode == 1 and f"{tmp_path / 'b.jsonl'}:2" in one_error(result.stderr)


def test_plot_writes_png_svg_and_pdf_with_labels(tmp_path, textseq):
    pytest.importorskip("matplotlib")
    a = write(tmp_path / "a.jsonl", lm_log(range(1, 301)))
    b = write(tmp_path / "b.jsonl", lm_log(range(1, 201), gap=0.2))
    result = textseq("plot", str(a), str(b), "--label", "lstm", "-O", str(tmp_path / "c.png"))
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "c.png").read_bytes()[:8] == PNG and "wrote" in result.stderr and "(2 runs)" in result.stderr
    assert textseq("plot", str(a), "--x", "time", "--smooth", "0", "-O", str(tmp_path / "c.svg"), "-q").returncode == 0
    assert b"<svg" in (tmp_path / "c.svg").read_bytes()[:1000]
    result = textseq("plot", str(a), str(b), "--x", "tokens", "--title", "two runs", "-O", str(tmp_path / "c.pdf"), "-q")
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "c.pdf").read_bytes()[:4] == PDF and not list(tmp_path.glob("*.tmp*"))


def test_plot_says_what_it_left_out_and_what_it_fell_back_to(tmp_path, textseq):
    pytest.importorskip("matplotlib")
    old = write(tmp_path / "old.jsonl", lm_log(range(1, 41), tokens=False))
    result = textseq("plot", str(old), "--x", "tokens", "-O", str(tmp_path / "o.png"))
    assert result.returncode == 0, result.stderr
    assert "old: no token counts in the log" in result.stderr and "plotting against steps" in result.stderr
    resumed = write(tmp_path / "resumed.jsonl", lm_log(range(1, 26)), lm_log(range(21, 41), start=5000.0))
    result = textseq("plot", str(resumed), "--x", "time", "-O", str(tmp_path / "r.png"))
    assert result.returncode == 0, result.stderr
    assert "resumed: 5 entries replaced by a resumed run's" in result.stderr and "a pause (a stop and a resume" in result.stderr
    topics = [{"epoch": e, "loss": 1 / e, "seconds": 2.0, "valid_loss": 1.2 / e, "time": 100.0 + e} for e in (1, 2, 3)]
    result = textseq("plot", str(write(tmp_path / "topics.jsonl", topics)), "--x", "tokens", "-O", str(tmp_path / "t.png"))
    assert result.returncode == 0 and "a classifier's log counts epochs, not tokens" in result.stderr


def test_plot_refuses_what_it_cannot_draw(tmp_path, textseq):
    a = write(tmp_path / "a.jsonl", lm_log(range(1, 11)))
    topics = write(tmp_path / "t.jsonl", [{"epoch": 1, "loss": 1.0, "seconds": 2.0, "time": 100.0}])
    for args, message in (
        (["-O", str(tmp_path / "c.jpg")], "the image format comes from the file's name: .png, .svg or .pdf, not 'c.jpg'"),
        (["-O", "-"], "curves are an image file"),
        (["--label", "x", "--label", "y", "-O", str(tmp_path / "c.png")], "2 labels for 1 logs"),
        ([str(topics), "-O", str(tmp_path / "c.png")], "a classifier's log and a language model's do not share axes"),
        (["--x", "epochs", "-O", str(tmp_path / "c.png")], "'epochs' is not one of 'steps', 'tokens', 'time'"),
    ):
        result = textseq("plot", str(a), *args)
        assert result.returncode == 2 and message in one_error(result.stderr), (args, result.stderr)
    assert not (tmp_path / "c.png").exists()


def test_plot_without_matplotlib_says_how_to_install(tmp_path, textseq, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib raises ImportError
    result = textseq("plot", str(write(tmp_path / "a.jsonl", lm_log(range(1, 11)))), "-O", str(tmp_path / "c.png"))
    assert result.returncode == 1 and "pip install 'textseq[plot]'" in one_error(result.stderr)
    assert not (tmp_path / "c.png").exists()


def test_a_training_log_plots_and_counts_its_tokens_exactly(tmp_path, textseq):
    pytest.importorskip("torch")
    pytest.importorskip("matplotlib")
    (tmp_path / "t.txt").write_text(TEXT)
    log = tmp_path / "t.jsonl"
    args = ["train", "--level", "char", *SMALL, "--batch-size", "4", "--bptt", "16", "--epochs", "2", "--log", str(log), "-q"]
    assert textseq(*args, "-O", str(tmp_path / "t.pt"), str(tmp_path / "t.txt")).returncode == 0
    entries = [json.loads(line) for line in log.read_text().splitlines()]
    steps = [entry["tokens"] for entry in entries if "loss" in entry]
    valid = [(before["tokens"], entry["tokens"]) for before, entry in itertools.pairwise(entries) if "valid_loss" in entry]
    assert len(valid) == 2 and all(a == b for a, b in valid) and valid[1][0] == 2 * valid[0][0]
    increments = np.diff([0, *steps])
    assert increments.max() == 4 * 16 and 0 < increments.min() < 4 * 16  # an epoch's last window is short
    result = textseq("plot", str(log), "-O", str(tmp_path / "t.png"), "--x", "tokens")
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "t.png").read_bytes()[:8] == PNG
