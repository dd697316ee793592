"""A cosine schedule fitted to a time budget: planned from the first steps, kept on resume."""

from __future__ import annotations

import re

import pytest

torch = pytest.importorskip("torch")

from helpers import SMALL, TEXT, cli, read_log  # noqa: E402
from textseq.neural.budget import steps_that_fit, validation_seconds  # noqa: E402
from textseq.neural.checkpoint import load_checkpoint, save_checkpoint  # noqa: E402
from textseq.neural.train import last_path  # noqa: E402

FAST = [
    *SMALL,
    "--level",
    "char",
    "--batch-size",
    "4",
    "--bptt",
    "8",
    "--optimizer",
    "adamw",
    "--lr",
    "0.01",
    "--schedule",
    "cosine",
    "--patience",
    "0",
]


def test_the_steps_that_fit_leave_time_for_the_validations():
    assert steps_that_fit(100.0, 0.1, 0.0, 50) == 1000
    assert steps_that_fit(100.0, 0.1, 5.0, 50) == 500  # a validation of 5 s every 50 steps: 0.2 s a step
    assert steps_that_fit(0.01, 0.1, 0.0, 50) == 1  # at least one
    assert steps_that_fit(10.0, 0.0, 0.0, 50) == 1  # no measure: nothing planned
    assert validation_seconds(3000, 100, 0.3) == pytest.approx(3.0)  # 30 steps' worth of tokens, 3x as fast


def test_a_time_budget_ends_the_cosine_and_a_resume_keeps_the_plan(tmp_path):
    (tmp_path / "t.txt").write_text(TEXT)
    out, log = tmp_path / "m.pt", tmp_path / "log.jsonl"
    code, _, stderr = cli(
        "train", *FAST, "--epochs", "100000", "--time-budget", "3s", "--log", str(log), "-O", str(out), str(tmp_path / "t.txt")
    )
    assert code == 0, stderr
    assert "cosine schedule fitted to the time budget: it ends at step" in stderr
    steps = [entry for entry in read_log(log) if "loss" in entry]
    assert steps[-1]["lr"] < 0.5 * steps[0]["lr"]  # 100,000 epochs' cosine would still be at its peak
    schedule = load_checkpoint(last_path(str(out)))["scheduler"]
    end = schedule["T_max"]
    assert schedule["fitted_to_budget"] is True
    assert len(steps) <= end < 100000
    code, _, stderr = cli(
        "train", "--resume", last_path(str(out)), "--time-budget", "60s", "-O", str(tmp_path / "r.pt"), str(tmp_path / "t.txt")
    )
    assert code == 0, stderr
    assert "fitted to the time budget: it ends" not in stderr  # planned once, by the fresh run
    assert f"the cosine schedule fitted to the time budget ended at step {end}" in stderr
    assert load_checkpoint(last_path(str(tmp_path / "r.pt")))["progress"]["step"] == end, stderr


def test_a_cosine_schedule_of_no_length_is_refused(tmp_path):
    (tmp_path / "t.txt").write_text(TEXT)
    out = tmp_path / "m.pt"
    assert cli("train", *FAST, "--max-steps", "3", "-O", str(out), str(tmp_path / "t.txt"))[0] == 0
    checkpoint = load_checkpoint(last_path(str(out)))
    for length in (0, -4, 2.5):
        checkpoint["scheduler"]["T_max"] = length
        damaged = tmp_path / "damaged.pt"
        save_checkpoint(str(damaged), checkpoint)
        code, _, stderr = cli("train", "--resume", str(damaged), "--max-steps", "5", "-O", str(tmp_path / "r.pt"), str(tmp_path / "t.txt"))
        assert code == 1 and "Traceback" not in stderr
        assert "the cosine schedule's length is" in stderr, stderr


def test_the_time_left_reported_keeps_within_the_budget(tmp_path):
    (tmp_path / "t.txt").write_text(TEXT)
    code, _, stderr = cli(
        "train", *FAST, "--epochs", "100000", "--time-budget", "3s", "-O", str(tmp_path / "m.pt"), str(tmp_path / "t.txt")
    )
    assert code == 0, stderr
    left = re.findall(r"ETA ([^\n]*)", stderr)
    assert left, stderr  # 100,000 epochs' worth of steps would say hours
    assert all(re.fullmatch(r"\d+(\.\d+)? s", each) and float(each.split()[0]) <= 3 for each in left), left
