"""A resumed cosine schedule moved to the resumed run's end: continued while it runs, restarted
once it has ended, never climbing back unannounced."""

from __future__ import annotations

import itertools
import math

import pytest

torch = pytest.importorskip("torch")

from helpers import SMALL, TEXT, cli, read_log  # noqa: E402
from textseq.neural.cosine import cosine_end, replan_cosine  # noqa: E402
from textseq.neural.train import last_path  # noqa: E402

COSINE = [*SMALL, "--level", "char", "--batch-size", "4", "--bptt", "8", "--optimizer", "adamw", "--lr", "0.01", "--schedule", "cosine"]


def schedule(steps: int, length: int = 10, rate: float = 1.0) -> torch.optim.lr_scheduler.CosineAnnealingLR:
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=rate)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=length)
    for _ in range(steps):
        optimizer.step()
        scheduler.step()
    return scheduler


def rates(scheduler: torch.optim.lr_scheduler.CosineAnnealingLR, steps: int) -> list[float]:
    seen = []
    for _ in range(steps):
        scheduler.optimizer.step()
        scheduler.step()
        seen.append(scheduler.optimizer.param_groups[0]["lr"])
    return seen


def test_a_running_cosine_goes_on_from_its_rate_to_the_new_end():
    scheduler = schedule(4)
    before = scheduler.optimizer.param_groups[0]["lr"]
    assert cosine_end(scheduler, 4) == 10
    assert "ends at step 20" in replan_cosine(scheduler, 4, 20)
    assert cosine_end(scheduler, 4) == 20
    assert scheduler.optimizer.param_groups[0]["lr"] == before
    seen = rates(scheduler, 16)
    assert all(later < earlier for earlier, later in zip([before, *seen], seen))
    assert seen[-1] == pytest.approx(0.0, abs=1e-12)
    # the same curve as a cosine over 20 steps scaled to meet the rate reached at step 4
    fresh = [(1 + math.cos(math.pi * k / 20)) / (1 + math.cos(math.pi * 4 / 20)) * before for k in range(5, 21)]
    assert seen == pytest.approx(fresh)


def test_an_ended_cosine_restarts_from_the_base_rate():
    scheduler = schedule(10, rate=0.5)
    assert scheduler.optimizer.param_groups[0]["lr"] == pytest.approx(0.0, abs=1e-12)
    assert "warm restart" in replan_cosine(scheduler, 10, 30)
    assert scheduler.optimizer.param_groups[0]["lr"] == 0.5
    seen = rates(scheduler, 20)
    assert seen[9] == pytest.approx(0.25)  # half way down at step 20 of 10..30
    assert seen[-1] == pytest.approx(0.0, abs=1e-12)
    assert cosine_end(scheduler, 30) == 30


def test_a_plan_already_right_or_fitted_to_a_budget_is_kept():
    scheduler = schedule(4)
    assert replan_cosine(scheduler, 4, 10) is None
    assert replan_cosine(scheduler, 4, 3) is None  # nothing left to plan
    scheduler.fitted_to_budget = True
    assert replan_cosine(scheduler, 4, 50) is None
    assert scheduler.T_max == 10


def test_resuming_a_finished_cosine_with_more_epochs_restarts_it(tmp_path):
    (tmp_path / "t.txt").write_text(TEXT)
    out, log = tmp_path / "m.pt", tmp_path / "log.jsonl"
    code, _, stderr = cli("train", *COSINE, "--epochs", "1", "-O", str(out), str(tmp_path / "t.txt"))
    assert code == 0, stderr
    code, _, stderr = cli(
        "train", "--resume", last_path(str(out)), "--epochs", "2", "--log", str(log), "-O", str(tmp_path / "r.pt"), str(tmp_path / "t.txt")
    )
    assert code == 0, stderr
    assert "warm restart" in stderr
    seen = [entry["lr"] for entry in read_log(log) if "loss" in entry]
    assert seen[0] > 0.009  # from the base rate of 0.01 again, not from zero
    assert all(later <= earlier for earlier, later in itertools.pairwise(seen))  # falling throughout, never climbing back
    assert seen[-1] < 1e-4
