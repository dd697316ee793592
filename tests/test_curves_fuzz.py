"""Training logs, mutated: reading them gives runs or textseq's error naming the line, never another exception."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fuzzing import FUZZ_EXAMPLES, check_reader, fuzz_settings, mutations
from textseq.curves import read_log


def _log() -> bytes:
    lines = []
    for step in range(1, 41):
        lines.append(
            {"step": step, "epoch": 1 + (step - 1) // 20, "loss": 4.0 / step, "lr": 0.002, "tokens": step * 64, "time": 1e9 + step}
        )
        if step % 20 == 0:
            lines.append(
                {
                    "epoch": step // 20,
                    "step": step,
                    "valid_loss": 3.0,
                    "valid_perplexity": 20.1,
                    "valid_tokens": 300,
                    "valid_bpc": 4.3,
                    "tokens": step * 64,
                    "time": 1e9 + step + 0.5,
                }
            )
    lines.append({"step": 30, "epoch": 2, "loss": None, "lr": 0.002, "tokens": 1920, "time": 2e9})  # a resume from an earlier checkpoint
    return "".join(json.dumps(line) + "\n" for line in lines).encode()


LANGUAGE_MODEL = _log()
CLASSIFIER = "".join(
    json.dumps({"epoch": e, "loss": 1 / e, "seconds": 0.5, "valid_loss": 0.9 / e, "valid_accuracy": 0.8, "time": 1e9 + e}) + "\n"
    for e in range(1, 9)
).encode()


def _read(path: str) -> int:
    return sum(len(run.train.loss) + len(run.valid.loss) for run in read_log(path))


@pytest.mark.parametrize("valid, points", [(LANGUAGE_MODEL, 40 + 2 - 12 + 1), (CLASSIFIER, 16)])
def test_the_valid_logs_read(valid: bytes, points: int, tmp_path_factory: pytest.TempPathFactory) -> None:
    assert check_reader(_read, valid, tmp_path_factory.mktemp("log"), ".jsonl") == points


@pytest.mark.parametrize("valid", [LANGUAGE_MODEL, CLASSIFIER], ids=["language-model", "classifier"])
def test_mutated_logs_read_or_fail_cleanly(valid: bytes, tmp_path_factory: pytest.TempPathFactory) -> None:
    @fuzz_settings
    @given(data=mutations(valid))
    def fuzz(data: bytes) -> None:
        check_reader(_read, data, tmp_path_factory.mktemp("log"), ".jsonl")

    fuzz()


def test_what_reads_draws(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Whatever the reader accepts, however odd (one point, all gaps, huge numbers), draws."""
    pytest.importorskip("matplotlib")
    from textseq.curves import plot_curves

    folder = tmp_path_factory.mktemp("draw")

    @settings(fuzz_settings, max_examples=min(FUZZ_EXAMPLES, 15))
    @given(data=mutations(LANGUAGE_MODEL), x=st.sampled_from(["steps", "tokens", "time"]))
    def fuzz(data: bytes, x: str) -> None:
        runs = check_reader(read_log, data, folder, ".jsonl")
        if runs:
            plot_curves(runs, str(folder / "c.png"), x=x)  # type: ignore[arg-type]

    fuzz()
