"""textseq train --tensorboard: the metrics as TensorBoard scalars, read back from the event files."""

from __future__ import annotations

import json
import sys

import pytest

pytest.importorskip("torch")

from helpers import SMALL, TEXT, one_error

TRAIN = ["train", "--level", "char", *SMALL, "--batch-size", "4", "--bptt", "16", "-q"]


def scalars(folder):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(folder), size_guidance={"scalars": 0})
    events.Reload()
    return {tag: [(event.step, event.value) for event in events.Scalars(tag)] for tag in events.Tags()["scalars"]}


@pytest.fixture
def text(tmp_path):
    path = tmp_path / "t.txt"
    path.write_text(TEXT)
    return str(path)


def test_the_scalars_are_the_logs_at_its_steps(tmp_path, textseq, text):
    pytest.importorskip("tensorboard")
    log, board = tmp_path / "t.jsonl", tmp_path / "board"
    result = textseq(*TRAIN, "--epochs", "2", "--log", str(log), "--tensorboard", str(board), "-O", str(tmp_path / "t.pt"), text)
    assert result.returncode == 0, result.stderr
    entries = [json.loads(line) for line in log.read_text().splitlines()]
    steps = [entry for entry in entries if "loss" in entry]
    valid = [entry for entry in entries if "valid_loss" in entry]
    found = scalars(board)
    assert set(found) == {"train/loss", "train/lr", "valid/loss", "valid/perplexity", "valid/bpc", "train/tokens_per_second"}
    assert [step for step, _ in found["train/loss"]] == [entry["step"] for entry in steps] == list(range(1, len(steps) + 1))
    assert [value for _, value in found["train/loss"]] == pytest.approx([entry["loss"] for entry in steps], rel=1e-6)
    assert [step for step, _ in found["valid/loss"]] == [entry["step"] for entry in valid] and len(valid) == 2
    assert [value for _, value in found["valid/bpc"]] == pytest.approx([entry["valid_bpc"] for entry in valid], rel=1e-6)
    assert [step for step, _ in found["train/tokens_per_second"]] == [entry["step"] for entry in valid]
    assert all(value > 0 for _, value in found["train/tokens_per_second"])


def test_a_resumed_run_appends_to_the_same_folder(tmp_path, textseq, text):
    pytest.importorskip("tensorboard")
    board, out = tmp_path / "board", str(tmp_path / "r.pt")
    assert textseq(*TRAIN, "--epochs", "2", "--max-steps", "10", "--tensorboard", str(board), "-O", out, text).returncode == 0
    result = textseq("train", "--resume", str(tmp_path / "r.last.pt"), "--tensorboard", str(board), "-q", "-O", out, text)
    assert result.returncode == 0, result.stderr
    assert len(list(board.iterdir())) == 2  # one event file a run
    steps = [step for step, _ in scalars(board)["train/loss"]]
    assert steps == list(range(1, len(steps) + 1)) and len(steps) > 10


def test_without_tensorboard_it_says_what_to_install_before_training(tmp_path, textseq, text, monkeypatch):
    monkeypatch.setitem(sys.modules, "torch.utils.tensorboard", None)  # importing it raises ImportError
    result = textseq(*TRAIN, "--max-steps", "2", "--tensorboard", str(tmp_path / "board"), "-O", str(tmp_path / "m.pt"), text)
    assert result.returncode == 1
    assert "pip install 'textseq[tensorboard]'" in one_error(result.stderr)
    assert not (tmp_path / "m.pt").exists() and not (tmp_path / "board").exists()


def test_a_file_in_place_of_the_folder_is_refused(tmp_path, textseq, text):
    (tmp_path / "board").write_text("")
    result = textseq(*TRAIN, "--max-steps", "2", "--tensorboard", str(tmp_path / "board"), "-O", str(tmp_path / "m.pt"), text)
    assert result.returncode == 2 and "--tensorboard" in one_error(result.stderr)
