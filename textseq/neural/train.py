"""The training loop: truncated BPTT over a token stream, clipping, optimizers, schedules,
validation, early stopping, best and last checkpoints, and exact resumption.

One step reads a window of ``bptt`` rows of the batched stream, carries the hidden state over
from the previous window (detached), and updates the weights once. After each epoch the model is
scored on the validation stream; the best checkpoint goes to ``output`` and the latest, always
resumable, to :func:`last_path` of it. Everything a step depends on (weights, optimizer and
schedule state, position, carried state, random generators) is in the checkpoint, so a run that
is stopped and resumed follows the same loss curve as one that was not.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Sequence
from dataclasses import asdict
from typing import TYPE_CHECKING, TextIO

import numpy as np

from textseq.errors import TextseqError
from textseq.neural.checkpoint import Checkpoint, RandomState
from textseq.neural.codec import Codec
from textseq.neural.data import batchify, window_count, windows
from textseq.neural.metrics_sinks import JsonLinesSink, MetricsSink
from textseq.neural.settings import Progress, TrainSettings
from textseq.progress import EpochReport, Monitor
from textseq.stopping import StopRequest

if TYPE_CHECKING:
    import torch
    from torch import nn
    from torch.optim.lr_scheduler import LRScheduler

    from textseq.neural.cpu_load import IdleCoreFollower
    from textseq.neural.models import State


def last_path(output: str) -> str:
    """Where the latest (resumable) checkpoint goes: ``book.pt`` -> ``book.last.pt``."""
    stem, dot, ext = output.rpartition(".")
    return f"{stem}.last.{ext}" if dot and "/" not in ext else output + ".last"


class Trainer:
    """One run: :meth:`step` after step, :meth:`end_epoch` after each pass over the stream, and
    :meth:`save` of a checkpoint; :meth:`run` drives them to the end.

    ``model`` is already on ``device``; ``resume`` a checkpoint to continue from (read from
    ``resume_source``, which its errors name); ``origin`` the plugin that registers ``arch`` (None
    for a built-in), recorded in the checkpoints. Every step and every validation makes a metrics
    entry for each of ``sinks`` (:mod:`textseq.neural.metrics_sinks`); ``log``, a text stream, is
    short for a :class:`~textseq.neural.metrics_sinks.JsonLinesSink` over it. ``monitor`` hears
    of every step (tokens done), every epoch (an :class:`~textseq.progress.EpochReport` whose
    ``metrics`` are the validation figures) and of time budgets reached and early stops. A loss
    that is no longer finite stops the run with :class:`TextseqError`, and no checkpoint ever
    holds weights that are not finite.
    """

    def __init__(
        self,
        model: nn.Module,
        codec: Codec,
        train_ids: np.ndarray,
        valid_ids: np.ndarray,
        settings: TrainSettings,
        *,
        arch: str,
        config: dict[str, object],
        output: str,
        device: torch.device,
        resume: Checkpoint | None = None,
        resume_source: str = "<checkpoint>",
        monitor: Monitor | None = None,
        log: TextIO | None = None,
        origin: dict[str, str | None] | None = None,
        sinks: Sequence[MetricsSink] = (),
        follow_idle_cores: bool = False,
    ) -> None:
        import torch

        self.model, self.codec, self.valid_ids, self.settings = model, codec, valid_ids, settings
        self.arch, self.config, self.output, self.device, self.origin = arch, dict(config), output, device, origin
        self.monitor = monitor or Monitor()
        self.sinks: list[MetricsSink] = [*sinks, *([JsonLinesSink(log)] if log is not None else [])]
        torch.manual_seed(settings.seed)
        self.data = batchify(train_ids, settings.batch_size, device)
        steps_per_epoch = window_count(self.data, settings.bptt)
        self.steps_per_epoch = steps_per_epoch
        self.total_steps = settings.epochs * steps_per_epoch
        if settings.max_steps is not None:
            self.total_steps = min(self.total_steps, settings.max_steps)
        self.tokens_per_step = settings.batch_size * settings.bptt
        self.optimizer = _optimizer(model, settings)
        self.scheduler = _scheduler(self.optimizer, settings, settings.epochs * steps_per_epoch)
        self.progress = Progress()
        self.state: State = None
        if resume is not None:
            from textseq.neural.resume import restore

            self.progress, self.state = restore(resume, model, self.optimizer, self.scheduler, settings, device, resume_source)
            self._replan_schedule(settings.epochs * steps_per_epoch)
        self.autocast = torch.autocast("cuda", dtype=torch.bfloat16) if settings.bf16 and device.type == "cuda" else None
        self.resumable: str | None = None
        """The latest resumable checkpoint this run has written."""
        self._clock = _EpochClock(self.progress.step)
        self._resumed = resume is not None
        self._first_step_done: float | None = None
        self._started = time.monotonic()
        self._cores: IdleCoreFollower | None = None
        if follow_idle_cores and device.type == "cpu":
            from textseq.neural.cpu_load import IdleCoreFollower

            self._cores = IdleCoreFollower()

    def run(self) -> Progress:
        """Train to the end (the epochs, ``max_steps``, the time budget, an early stop) and return the
        final progress. Ctrl-C and SIGTERM are taken at the end of a step: the resumable checkpoint
        is written, then KeyboardInterrupt (:class:`~textseq.errors.Terminated`) goes on up."""
        stop_request = StopRequest()
        started = self._started = time.monotonic()
        self._clock = _EpochClock(self.progress.step)
        self.monitor.begin("training", self.total_steps * self.tokens_per_step, "tokens")
        self.model.train()
        try:
            self._run(stop_request, started)
        except KeyboardInterrupt:  # Ctrl-C, and SIGTERM (textseq.errors.Terminated)
            self.save(last_path(self.output))
            raise
        finally:
            stop_request.restore()
            self.monitor.end()
        return self.progress

    def _run(self, stop_request: StopRequest, started: float) -> None:
        settings, progress = self.settings, self.progress
        while not progress.done and progress.epoch < settings.epochs:
            for row, x, y in windows(self.data, settings.bptt, progress.row):
                if settings.max_steps is not None and progress.step >= settings.max_steps:
                    break
                if self._schedule_ended():
                    self.monitor.note(f"the cosine schedule fitted to the time budget ended at step {progress.step}")
                    break
                self.step(row, x, y)
                stop_request.check()
                self._follow_idle_cores()
                if settings.time_budget is not None and time.monotonic() - started >= settings.time_budget:
                    self.monitor.note(f"time budget of {settings.time_budget:g} s reached after step {progress.step}")
                    self._stop_inside_epoch()
                    return
                self._fit_schedule_to_budget(started)
            else:
                self.end_epoch()
                stop_request.check()
                continue
            self._stop_inside_epoch()
            return
        progress.done = True
        self.save(last_path(self.output))

    def step(self, row: int, x: torch.Tensor, y: torch.Tensor) -> float:
        """One update on the window ``x`` (its targets ``y``) at ``row`` of the stream; its loss."""
        from textseq.neural.loss import next_token_loss
        from textseq.neural.models import detach_state

        self.state = detach_state(self.state)
        self.optimizer.zero_grad(set_to_none=True)
        loss, self.state = next_token_loss(self.model, x, y, self.state, self.autocast)
        loss.backward()
        clip_gradients(self.model, self.settings.clip, self.settings.clip_mode)
        self.optimizer.step()
        if self.scheduler is not None and self.settings.schedule == "cosine":
            self.scheduler.step()
        progress = self.progress
        progress.step += 1
        progress.row = row + x.size(0)
        value = float(loss.detach())
        self._record({"step": progress.step, "epoch": progress.epoch + 1, "loss": value, "lr": self.optimizer.param_groups[0]["lr"]})
        self._clock.stepped(value, x.numel())
        self.monitor.update(progress.step * self.tokens_per_step)
        if blown_up(value, self.codec.vocab_size):
            raise diverged(progress.step, f"the training loss is {value:.4g}")
        return value

    def _replan_schedule(self, end: int) -> None:
        """A resumed cosine schedule moved to this run's end, where its epochs differ from the
        checkpoint's (see :mod:`textseq.neural.cosine`)."""
        import torch

        if not isinstance(self.scheduler, torch.optim.lr_scheduler.CosineAnnealingLR):
            return
        from textseq.neural.cosine import replan_cosine

        change = replan_cosine(self.scheduler, self.progress.step, end)
        if change is not None:
            self.monitor.note(change)

    def _fit_schedule_to_budget(self, started: float) -> None:
        """Once, on a fresh run with a cosine schedule and a time budget: the cosine's end moved to
        the step the budget will reach, where that is sooner (see :mod:`textseq.neural.budget`)."""
        settings, progress = self.settings, self.progress
        if settings.time_budget is None or settings.schedule != "cosine" or self._resumed:
            return
        from textseq.neural.budget import MEASURED_STEPS, steps_that_fit, validation_seconds

        if progress.step == 1:
            self._first_step_done = time.monotonic()
        if progress.step != MEASURED_STEPS + 1 or self._first_step_done is None:
            return
        now = time.monotonic()
        per_step = (now - self._first_step_done) / MEASURED_STEPS
        per_validation = validation_seconds(len(self.valid_ids), self.tokens_per_step, per_step)
        end = progress.step + steps_that_fit(settings.time_budget - (now - started), per_step, per_validation, self.steps_per_epoch)
        scheduler = self.scheduler
        if end < getattr(scheduler, "T_max", end):
            scheduler.T_max = end  # type: ignore[union-attr]
            scheduler.fitted_to_budget = True  # type: ignore[union-attr]  # saved with the schedule's state
            self.monitor.note(f"cosine schedule fitted to the time budget: it ends at step {end:,} of {self.total_steps:,}")

    def _fitted_end(self) -> int | None:
        """The step where a cosine schedule fitted to a time budget (by this run or the one it
        resumes) ends; None where the schedule was not fitted."""
        end = getattr(self.scheduler, "T_max", None)
        return end if getattr(self.scheduler, "fitted_to_budget", False) is True and isinstance(end, int) else None

    def _last_step(self) -> int:
        """The step the run will end at, if nothing stops it sooner: the epochs' last (or
        ``max_steps``), or the end of a cosine fitted to the time budget."""
        end = self._fitted_end()
        return self.total_steps if end is None else min(self.total_steps, end)

    def _budget_left(self) -> float | None:
        """The seconds of ``--time-budget`` left (None without one)."""
        if self.settings.time_budget is None:
            return None
        return max(0.0, self.settings.time_budget - (time.monotonic() - self._started))

    def _schedule_ended(self) -> bool:
        """Whether a cosine schedule fitted to a time budget has reached its end."""
        end = self._fitted_end()
        return end is not None and self.progress.step >= end

    def _follow_idle_cores(self) -> None:
        """The threads to the idle cores, when the follower has looked again and they changed."""
        count = self._cores.poll() if self._cores is not None else None
        if count is None:
            return
        import torch

        if count != torch.get_num_threads():
            from textseq.neural.blas import use_cpu_threads

            use_cpu_threads(count)
            self.monitor.note(
                f"{count} {'core' if count == 1 else 'cores'} idle now: training on {count} {'thread' if count == 1 else 'threads'}"
            )

    def end_epoch(self) -> None:
        """The end of a pass: validate, report, schedule the learning rate, stop early when
        validation has stopped improving, and write the best and the latest checkpoints."""
        progress, settings = self.progress, self.settings
        self._clock.pause()
        progress.epoch += 1
        progress.row = 0
        self.state = None
        entry = _validate(self.model, self.codec, self.valid_ids, settings, self.device, progress)
        if blown_up(entry["valid_loss"], self.codec.vocab_size):
            raise diverged(progress.step, f"the validation loss is {entry['valid_loss']:.4g}")
        progress.history.append(entry)
        self._record(entry)
        self.monitor.epoch_done(self._clock.report(progress, settings.epochs, self._last_step(), entry, self._budget_left()))
        if self.scheduler is not None and settings.schedule == "plateau":
            self.scheduler.step(entry["valid_loss"])  # type: ignore[arg-type]  # ReduceLROnPlateau's step takes the metric
        if entry["valid_loss"] < progress.best_loss:
            progress.best_loss = entry["valid_loss"]
            progress.stale = 0
            self.save(self.output)
        else:
            progress.stale += 1
            if settings.patience and progress.stale >= settings.patience:
                self.monitor.note(f"stopping early: no better validation loss for {progress.stale} epochs")
                progress.done = True
        self.save(last_path(self.output))
        self._clock.resume()

    def save(self, path: str) -> None:
        """A checkpoint of the run as it stands to ``path`` (atomically); refused if a weight is not finite."""
        import torch

        from textseq.neural.models import map_state

        _check_finite(self.model, self.progress.step)
        cuda = torch.cuda.get_rng_state(self.device) if self.device.type == "cuda" else None
        Checkpoint(
            self.arch,
            self.config,
            self.codec,
            self.model.state_dict(),
            plugin=self.origin,
            optimizer=self.optimizer.state_dict(),
            scheduler=self.scheduler.state_dict() if self.scheduler is not None else None,
            settings=asdict(self.settings),
            progress=self.progress,
            hidden=map_state(self.state, lambda tensor: tensor.detach().cpu()),
            rng=RandomState(torch.get_rng_state(), cuda),
        ).save(path)
        if path == last_path(self.output):
            self.resumable = path

    def _stop_inside_epoch(self) -> None:
        """A stop before the epoch's validation: the resumable checkpoint, and the model as the
        output too while no validated one exists (so that it can be sampled and evaluated)."""
        self.save(last_path(self.output))
        if not os.path.isfile(self.output):  # a FIFO or device is written into as it is
            self.save(self.output)

    def _record(self, entry: dict[str, float]) -> None:
        """``entry`` to every sink, with the tokens trained so far (exact: an epoch's last window
        can be short, so not step x batch x bptt) and the wall clock."""
        if not self.sinks:
            return
        progress, rows, columns = self.progress, self.data.size(0), self.data.size(1)
        tokens = (progress.epoch * (rows - 1) + progress.row) * columns
        full = {**entry, "tokens": tokens, "time": round(time.time(), 3)}
        for sink in self.sinks:
            sink.write(full)


class _EpochClock:
    """The figures of an epoch's report: its mean training loss, the tokens trained and the time
    spent training (validation and checkpoints apart), and the time the run has left."""

    def __init__(self, first_step: int) -> None:
        self._first_step = first_step
        self._losses: list[float] = []
        self._tokens = 0
        self._mark = time.monotonic()
        self._paused = self._mark
        self._training = 0.0
        self._other = 0.0

    def stepped(self, loss: float, tokens: int) -> None:
        self._losses.append(loss)
        self._tokens += tokens

    def pause(self) -> None:
        """Training stops for validation and checkpoints."""
        self._paused = time.monotonic()

    def resume(self) -> None:
        now = time.monotonic()
        self._other += now - self._paused
        self._mark = now

    def report(
        self, progress: Progress, epochs: int, last_step: int, entry: dict[str, float], budget_left: float | None = None
    ) -> EpochReport:
        """The epoch's report, the time left estimated from the steps to ``last_step`` at the run's
        pace so far (validations included) and no more than ``budget_left`` seconds."""
        seconds = self._paused - self._mark
        self._training += seconds
        other = self._other + time.monotonic() - self._paused
        done = progress.step - self._first_step
        per_step = self._training / max(done, 1)
        left = max(0, last_step - progress.step) * per_step * (1 + other / max(self._training, 1e-9))
        if budget_left is not None:
            left = min(left, budget_left)
        metrics: dict[str, float] = {key: entry[key] for key in ("valid_loss", "valid_perplexity", "valid_bpc") if key in entry}
        report = EpochReport(
            progress.epoch,
            epochs,
            sum(self._losses) / max(1, len(self._losses)),
            self._tokens,
            "tokens",
            seconds,
            metrics,
            seconds_left=left,
        )
        self._losses, self._tokens = [], 0
        return report


BLOWN_UP = 100.0
"""A loss above this many times that of guessing every token uniformly (ln V nats) is no model's:
the weights have blown up (SGD at a learning rate of 1e30 makes losses of 1e29 nats long before
they overflow to inf or NaN)."""


def blown_up(loss: float, vocab_size: int) -> bool:
    """Whether ``loss`` (mean nats a token) says the run has diverged: not finite, or beyond :data:`BLOWN_UP`."""
    return not math.isfinite(loss) or loss > BLOWN_UP * math.log(max(vocab_size, 2))


def diverged(step: int, detail: str) -> TextseqError:
    """The error that ends a run that has diverged: nothing of it is saved."""
    return TextseqError(
        f"training diverged at step {step}: {detail}; no checkpoint of it was written "
        "(try a lower learning rate, or clipping the gradients)"
    )


def _check_finite(model: nn.Module, step: int) -> None:
    """Refuse to save weights that are not all finite (a step can make them so while its loss,
    computed before the update, still was)."""
    import torch

    for name, parameter in model.named_parameters():
        if not bool(torch.isfinite(parameter.detach()).all()):
            raise diverged(step, f"weight '{name}' holds values that are not finite")


def clip_gradients(model: nn.Module, clip: float, mode: str = "norm") -> None:
    """Scale the gradients so that their total norm is at most ``clip`` (mode "norm"), or clamp
    each component to [-clip, clip] (mode "value"); 0 leaves them alone."""
    import torch

    if clip <= 0:
        return
    if mode == "norm":
        torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
    else:
        torch.nn.utils.clip_grad_value_(model.parameters(), clip)


def _validate(
    model: nn.Module, codec: Codec, valid_ids: np.ndarray, settings: TrainSettings, device: torch.device, progress: Progress
) -> dict[str, float]:
    from textseq.neural.scoring import score_tokens

    losses = score_tokens(model, valid_ids, device, start_token=max(codec.line_end_id, 0))
    count = len(losses)
    loss = float(losses.sum()) / max(count, 1)
    entry = {
        "epoch": progress.epoch,
        "step": progress.step,
        "valid_loss": loss,
        "valid_perplexity": math.exp(min(loss, 700)),
        "valid_tokens": count,
    }
    if codec.level == "char":
        entry["valid_bpc"] = loss / math.log(2)
    return entry


def _optimizer(model: nn.Module, settings: TrainSettings) -> torch.optim.Optimizer:
    import torch

    params = [p for p in model.parameters() if p.requires_grad]
    if settings.optimizer == "sgd":
        return torch.optim.SGD(params, lr=settings.learning_rate, weight_decay=settings.weight_decay)
    if settings.optimizer == "adam":
        return torch.optim.Adam(params, lr=settings.learning_rate, weight_decay=settings.weight_decay)
    return torch.optim.AdamW(params, lr=settings.learning_rate, weight_decay=settings.weight_decay)


def _scheduler(optimizer: torch.optim.Optimizer, settings: TrainSettings, total_steps: int) -> LRScheduler | None:
    import torch

    if settings.schedule == "plateau":
        return torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, mode="min", factor=0.25, patience=0)
    if settings.schedule == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=max(1, total_steps))
    return None
