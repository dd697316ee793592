"""The training pipeline as a library: prepare_training, the Trainer and the checkpoint dataclass,
without the command line."""

from __future__ import annotations

import io
import json

import pytest

torch = pytest.importorskip("torch")

from helpers import TEXT  # noqa: E402
from textseq.errors import InputError, ParameterError  # noqa: E402
from textseq.neural.checkpoint import Checkpoint, load_checkpoint  # noqa: E402
from textseq.neural.config import Choice, Flag, Probability, Size, check_option, resolve_options  # noqa: E402
from textseq.neural.session import HOLD_OUT, prepare_training, settings_for_level  # noqa: E402
from textseq.neural.settings import parse_duration  # noqa: E402
from textseq.neural.train import Trainer, last_path  # noqa: E402
from textseq.progress import EpochReport, Monitor  # noqa: E402

CPU = torch.device("cpu")
TINY = {"embedding_size": 8, "hidden_size": 8, "layers": 1}
SETTINGS = {"batch_size": 4, "bptt": 16, "epochs": 2}


class Recorder(Monitor):
    def __init__(self) -> None:
        self.calls: list[str] = []
        self.reports: list[EpochReport] = []
        self.notes: list[str] = []
        self.done: list[float] = []

    def begin(self, description: str, total: float, unit: str) -> None:
        self.calls.append(f"begin {description} {total} {unit}")

    def update(self, done: float) -> None:
        self.done.append(done)

    def epoch_done(self, report: EpochReport) -> None:
        self.reports.append(report)

    def note(self, message: str) -> None:
        self.notes.append(message)

    def end(self) -> None:
        self.calls.append("end")


def session(**overrides):
    arguments = {"config": TINY, "settings": SETTINGS, "device": CPU, **overrides}
    return prepare_training([TEXT], **arguments)


def test_a_new_session_holds_out_the_tail_and_builds_the_network():
    ready = session()
    assert ready.arch == "lstm" and ready.codec.level == "char" and ready.held_out and not ready.finished
    total = len(ready.train_ids) + len(ready.valid_ids)
    assert total == len(TEXT) and len(ready.valid_ids) == total - int(total * (1 - HOLD_OUT))
    assert (
        ready.config["hidden_size"] == 8 and ready.config["dropout"] == 0.0 and "locked_dropout" in ready.config
    )  # the whole config, defaults included
    assert ready.settings.batch_size == 4 and ready.settings.lr == 0.002 and ready.origin is None
    assert ready.parameters == sum(p.numel() for p in ready.model.parameters()) > 0


def test_given_validation_text_is_not_held_out_and_word_levels_cut_at_a_line():
    ready = session(valid=["a cat sat\n"] * 3)
    assert not ready.held_out and len(ready.train_ids) == len(TEXT) and len(ready.valid_ids) == 30
    words = session(level="word")
    assert words.held_out and words.train_ids[-1] == words.codec.eos_id


def test_a_preset_suggests_settings_and_the_given_ones_win():
    ready = session(arch="char-small", settings={"bptt": 8, "epochs": 1, "lr": None})
    assert ready.suggested == {"batch_size": 32, "optimizer": "adamw", "lr": 0.002, "schedule": "cosine"}
    assert (ready.settings.batch_size, ready.settings.bptt, ready.settings.schedule) == (32, 8, "cosine")


@pytest.mark.parametrize(
    "overrides, parameter, message",
    [
        ({"spm_path": "x.model"}, "spm_path", "goes with the spm level"),
        ({"level": "spm"}, "spm_path", "needs a sentencepiece model"),
        ({"resume_path": "x.pt", "arch": "gru"}, "resume_path", "from the checkpoint"),
        ({"config": {"hiden_size": 3}}, None, "lstm: unknown option 'hiden_size'"),
        ({"settings": {"lr": 1e300}}, None, "at most 3.403e+38"),
        ({"arch": "nothing"}, None, "unknown architecture 'nothing'"),
    ],
)
def test_what_is_wrong_with_the_arguments_names_the_parameter(overrides, parameter, message):
    with pytest.raises(ParameterError) as error:
        session(**overrides)
    assert error.value.parameter == parameter and message in error.value.message
    assert "--" not in error.value.message


def test_too_little_or_no_text_is_an_input_error():
    with pytest.raises(InputError, match="no text to train on"):
        prepare_training(["\n\n"], device=CPU, source="empty.txt")
    with pytest.raises(InputError, match="too little text"):
        prepare_training(["abcd\n"], device=CPU, config=TINY)


@pytest.mark.parametrize("text, seconds", [("90s", 90), ("20m", 1200), ("1.5h", 5400), (" 2 MIN ", 120), ("7", 7)])
def test_durations(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text, message", [("soon", "not a duration: 'soon'"), ("0s", "more than 0"), ("-1m", "more than 0")])
def test_a_bad_duration_names_time_budget(text, message):
    with pytest.raises(ParameterError, match=message) as error:
        parse_duration(text)
    assert error.value.parameter == "time_budget"


def test_the_trainer_reports_to_its_monitor_and_writes_both_checkpoints(tmp_path):
    ready = session()
    monitor, log = Recorder(), io.StringIO()
    output = str(tmp_path / "m.pt")
    trainer = ready.trainer(output, monitor=monitor, log=log)
    progress = trainer.run()
    assert progress.done and progress.epoch == 2 and len(progress.history) == 2
    steps = trainer.total_steps
    assert monitor.calls == [f"begin training {steps * 64} tokens", "end"]
    assert monitor.done == [step * 64 for step in range(1, steps + 1)]
    first, second = monitor.reports
    assert (first.epoch, first.epochs, first.unit) == (1, 2, "tokens") and first.items == (len(ready.train_ids) // 4 - 1) * 4
    assert set(first.metrics) == {"valid_loss", "valid_perplexity", "valid_bpc"} and first.seconds_left > 0
    assert second.seconds_left == 0 and second.loss < first.loss
    records = [json.loads(line) for line in log.getvalue().splitlines()]
    assert [r["loss"] for r in records if "loss" in r] and sum("valid_loss" in r for r in records) == 2
    assert trainer.resumable == last_path(output)
    assert load_checkpoint(last_path(output))["progress"]["done"] is True


def test_a_step_limit_stops_inside_an_epoch_and_resuming_continues_the_same_curve(tmp_path):
    whole = Recorder()
    uninterrupted = session().trainer(str(tmp_path / "a.pt"), monitor=whole).run()
    part = str(tmp_path / "b.pt")
    stopped = session(settings={**SETTINGS, "max_steps": 40}).trainer(part).run()
    assert stopped.step == 40 and not stopped.done and stopped.epoch == 1
    resumed = prepare_training([TEXT], device=CPU, resume_path=last_path(part))
    assert resumed.settings.max_steps is None and resumed.settings.epochs == 2 and resumed.resume is not None
    rest = Recorder()
    progress = resumed.trainer(part, monitor=rest).run()
    assert progress.done and progress.history == uninterrupted.history and progress.step == uninterrupted.step
    assert [r.metrics for r in rest.reports] == [whole.reports[-1].metrics]


def test_a_finished_checkpoint_says_so(tmp_path):
    output = str(tmp_path / "m.pt")
    session(settings={**SETTINGS, "epochs": 1}).trainer(output).run()
    again = prepare_training([TEXT], device=CPU, resume_path=last_path(output))
    assert again.finished and again.settings.epochs == 1
    assert not prepare_training([TEXT], device=CPU, resume_path=last_path(output), settings={"epochs": 2}).finished


def test_a_checkpoint_round_trips_through_its_dataclass(tmp_path):
    output = str(tmp_path / "m.pt")
    session(settings={**SETTINGS, "max_steps": 5}).trainer(output).run()
    state = load_checkpoint(last_path(output))
    checkpoint = Checkpoint.from_state(state, last_path(output))
    assert checkpoint.arch == "lstm" and checkpoint.progress.step == 5 and checkpoint.rng is not None
    again = checkpoint.to_state()
    assert set(again) == set(state) - {"format", "version"}
    for key in ("arch", "config", "plugin", "codec", "settings", "metrics"):
        assert again[key] == state[key] if key != "codec" else again[key].keys() == state[key].keys()
    assert all(torch.equal(again["model"][name], state["model"][name]) for name in state["model"])
    assert {k: v for k, v in again["progress"].items() if k not in ("hidden", "rng")} == {
        k: v for k, v in state["progress"].items() if k not in ("hidden", "rng")
    }
    assert all(torch.equal(a, b) for a, b in zip(again["progress"]["hidden"], state["progress"]["hidden"]))
    assert torch.equal(again["progress"]["rng"]["torch"], state["progress"]["rng"]["torch"])
    copy = tmp_path / "copy.pt"
    checkpoint.save(copy)
    assert Checkpoint.from_state(load_checkpoint(str(copy)), str(copy)).progress == checkpoint.progress


def test_a_checkpoint_without_progress_is_refused_naming_the_file(tmp_path):
    output = str(tmp_path / "m.pt")
    session(settings={**SETTINGS, "max_steps": 2}).trainer(output).run()
    state = load_checkpoint(output)
    del state["progress"]
    with pytest.raises(InputError, match="'progress' is missing from the checkpoint") as error:
        Checkpoint.from_state(state, output)
    assert error.value.source == output


def test_the_option_checker_is_one_for_every_architecture():
    kinds = {"width": Size(64), "drop": Probability(), "tied": Flag(), "mode": Choice(("a", "b"))}
    defaults = {"width": 8, "drop": 0.0, "tied": False, "mode": "a"}
    assert resolve_options("mine", defaults, {"width": 16, "drop": 0}, kinds) == {"width": 16, "drop": 0.0, "tied": False, "mode": "a"}
    assert isinstance(check_option("mine", "drop", 0, Probability()), float)
    for config, message in (
        ({"width": 65}, "mine: width must be at most 64, not 65"),
        ({"tied": 1}, "tied must be true or false"),
        ({"mode": "c"}, "mode must be one of a, b, not 'c'"),
        ({"wdth": 3}, "did you mean 'width'?"),
    ):
        with pytest.raises(ValueError, match=message):
            resolve_options("mine", defaults, config, kinds)


def test_trainer_is_usable_without_a_session(tmp_path):
    ready = session(settings={**SETTINGS, "max_steps": 3})
    trainer = Trainer(
        ready.model,
        ready.codec,
        ready.train_ids,
        ready.valid_ids,
        ready.settings,
        arch="lstm",
        config=ready.config,
        output=str(tmp_path / "t.pt"),
        device=CPU,
    )
    rows = list(range(3))
    assert trainer.progress.step == 0
    losses = [trainer.step(row * 16, *trainer_window(trainer, row)) for row in rows]
    assert trainer.progress.step == 3 and all(loss > 0 for loss in losses)
    trainer.save(str(tmp_path / "t.pt"))
    assert load_checkpoint(str(tmp_path / "t.pt"))["progress"]["step"] == 3


def trainer_window(trainer, row):
    start = row * 16
    return trainer.data[start : start + 16], trainer.data[start + 1 : start + 17]


def test_settings_may_be_given_per_token_level():
    per_level = {"char": {"bptt": 64}, "word": {"lr": 0.01}}
    assert settings_for_level(per_level, "word") == {"lr": 0.01}
    assert settings_for_level(per_level, "spm") == {}
    assert settings_for_level({"bptt": 9}, "word") == {"bptt": 9}
    assert settings_for_level(None, "char") == {}


def test_a_plain_recurrent_network_takes_its_levels_recipe_and_word_presets_theirs():
    char = session(settings={"batch_size": 4})
    assert (char.settings.bptt, char.settings.schedule, char.settings.batch_size) == (64, "cosine", 4)
    words = session(level="word", settings={"batch_size": 4})
    assert (words.settings.lr, words.settings.schedule, words.settings.epochs) == (0.01, "cosine", 6)
    medium = session(arch="word-medium", level="word", config={"hidden_size": 8, "embedding_size": 8}, settings={"batch_size": 4})
    assert (medium.settings.optimizer, medium.settings.lr, medium.settings.epochs) == ("sgd", 20.0, 25)
    assert medium.config["dropout"] == 0.5


@pytest.mark.parametrize("field", [{"weight_decay": -1.0}, {"clip": -0.5}, {"patience": -1}, {"max_steps": 0}, {"time_budget": 0.0}])
def test_a_setting_out_of_range_is_refused(field):
    from textseq.neural.settings import TrainSettings

    with pytest.raises(ValueError, match="must be"):
        TrainSettings(**field)
