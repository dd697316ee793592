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
import signal
import threading
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

import numpy as np

from textseq.errors import Terminated, TextseqError
from textseq.neural.checkpoint import save_checkpoint
from textseq.neural.codec import Codec
from textseq.neural.data import batchify, window_count, windows

OPTIMIZERS = ("sgd", "adam", "adamw")
SCHEDULES = ("plateau", "cosine", "none")
DEFAULT_LR = {"sgd": 20.0, "adam": 2e-3, "adamw": 2e-3}
FLOAT32_MAX = 3.4028234663852886e38


@dataclass
class TrainSettings:
    batch_size: int = 20
    bptt: int = 35
    epochs: int = 10
    max_steps: int | None = None
    time_budget: float | None = None
    """Seconds of training; the run stops (resumably) after the step that passes it."""
    optimizer: str = "adamw"
    lr: float | None = None
    weight_decay: float = 0.0
    clip: float = 0.25
    clip_mode: str = "norm"
    schedule: str = "plateau"
    patience: int = 3
    """Stop after this many validations without improvement (0: never stop early)."""
    seed: int = 1
    eval_batch_size: int = 10
    bf16: bool = False

    def __post_init__(self) -> None:
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"optimizer must be one of {', '.join(OPTIMIZERS)}")
        if self.schedule not in SCHEDULES:
            raise ValueError(f"schedule must be one of {', '.join(SCHEDULES)}")
        if self.clip_mode not in ("norm", "value"):
            raise ValueError("clip mode must be norm or value")
        if self.lr is None:
            self.lr = DEFAULT_LR[self.optimizer]
        for name in ("batch_size", "bptt", "epochs", "eval_batch_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name.replace('_', '-')} must be >= 1")
        if not self.lr > 0:
            raise ValueError("the learning rate must be > 0")
        if not (self.lr <= FLOAT32_MAX and self.weight_decay <= FLOAT32_MAX and self.lr * self.weight_decay <= FLOAT32_MAX):
            raise ValueError(f"the learning rate, the weight decay and their product must be at most {FLOAT32_MAX:.4g} "
                             "(the largest float32, what the weights are updated in)")
        if not -(1 << 63) <= self.seed < 1 << 64:
            raise ValueError("the seed must be between -2**63 and 2**64 - 1")


class Reporter(Protocol):
    def begin(self, total_steps: int, tokens_per_step: int) -> None: ...
    def step(self, step: int, loss: float) -> None: ...
    def epoch(self, record: dict[str, Any]) -> None: ...
    def note(self, message: str) -> None: ...
    def end(self) -> None: ...


class SilentReporter:
    def begin(self, total_steps: int, tokens_per_step: int) -> None:
        pass

    def step(self, step: int, loss: float) -> None:
        pass

    def epoch(self, record: dict[str, Any]) -> None:
        pass

    def note(self, message: str) -> None:
        pass

    def end(self) -> None:
        pass


@dataclass
class Progress:
    epoch: int = 0
    """Epochs finished."""
    row: int = 0
    """Row of the batched stream where the current epoch continues."""
    step: int = 0
    best_loss: float = math.inf
    stale: int = 0
    """Validations since the best one."""
    done: bool = False
    history: list[dict[str, Any]] = field(default_factory=list)


def last_path(output: str) -> str:
    """Where the latest (resumable) checkpoint goes: ``book.pt`` -> ``book.last.pt``."""
    stem, dot, ext = output.rpartition(".")
    return f"{stem}.last.{ext}" if dot and "/" not in ext else output + ".last"


def pick_device(name: str) -> Any:
    """The torch device ``name`` names (auto, cpu, cuda, cuda:N, mps); ValueError for one that
    this machine does not have, before anything is put on it."""
    import torch

    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if _mps_available():
            return torch.device("mps")
        return torch.device("cpu")
    if name == "cpu":
        return torch.device("cpu")
    if name == "mps":
        if not _mps_available():
            raise ValueError("mps: no Apple GPU here")
        return torch.device("mps")
    if name == "cuda" or (name.startswith("cuda:") and name[5:].isdigit()):
        if not torch.cuda.is_available():
            raise ValueError(f"{name}: no CUDA device here (torch.cuda.is_available() is false)")
        index = int(name[5:]) if name != "cuda" else 0
        if index >= torch.cuda.device_count():
            raise ValueError(f"{name}: no such CUDA device (this machine has {torch.cuda.device_count()}: cuda:0 to "
                             f"cuda:{torch.cuda.device_count() - 1})")
        return torch.device(name)
    raise ValueError(f"unknown device {name!r}: auto, cpu, cuda, cuda:N or mps")


def _mps_available() -> bool:
    import torch

    return getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available()


def stream_loss(model: Any, ids: np.ndarray, device: Any, batch_size: int = 1, bptt: int = 256,
                start_token: int = 0) -> tuple[float, int, np.ndarray]:
    """(summed negative log-likelihood in nats, tokens scored, per-token NLL) of the stream ``ids``.

    With ``batch_size`` 1 every token is scored, the first one after ``start_token`` (the end of
    a previous line); with more columns the tail that does not fill a row is left out (faster,
    for validation)."""
    import torch

    ids = np.asarray(ids, dtype=np.int64)
    inputs = np.concatenate(([start_token], ids[:-1])) if batch_size == 1 else ids
    was_training = model.training
    model.eval()
    nll = []
    try:
        with torch.no_grad():
            if batch_size == 1:
                source = torch.from_numpy(inputs).view(-1, 1).to(device)
                target = torch.from_numpy(ids).view(-1, 1).to(device)
                state = None
                for row in range(0, source.size(0), bptt):
                    logits, state = model(source[row : row + bptt], state)
                    losses = torch.nn.functional.cross_entropy(logits.float().reshape(-1, logits.size(-1)),
                                                               target[row : row + bptt].reshape(-1), reduction="none")
                    nll.append(losses.double().cpu().numpy())
            else:
                data = batchify(ids, batch_size, device)
                state = None
                for _, x, y in windows(data, bptt):
                    logits, state = model(x, state)
                    losses = torch.nn.functional.cross_entropy(logits.float().reshape(-1, logits.size(-1)), y.reshape(-1), reduction="none")
                    nll.append(losses.double().cpu().numpy())
    finally:
        model.train(was_training)
    per_token = np.concatenate(nll) if nll else np.empty(0)
    return float(per_token.sum()), len(per_token), per_token


def train(model: Any, codec: Codec, train_ids: np.ndarray, valid_ids: np.ndarray, settings: TrainSettings, *,
          arch: str, config: dict[str, Any], output: str, device: Any, resume: dict[str, Any] | None = None,
          resume_source: str = "<checkpoint>", reporter: Reporter | None = None, log: Any = None,
          origin: dict[str, Any] | None = None) -> Progress:
    """Train ``model`` (already on ``device``) and write checkpoints; returns the final progress.

    ``resume`` is a loaded checkpoint to continue from (read from ``resume_source``, which its
    errors name); ``origin`` the plugin that registers ``arch`` (None for a built-in), recorded in
    the checkpoint. ``log`` is a text stream that gets one JSON object per step and per
    validation. A loss that is no longer finite stops the run with :class:`TextseqError`, and no
    checkpoint ever holds weights that are not finite."""
    import json

    import torch

    from textseq.neural.models import detach_state, map_state

    reporter = reporter or SilentReporter()
    torch.manual_seed(settings.seed)
    data = batchify(train_ids, settings.batch_size, device)
    steps_per_epoch = window_count(data, settings.bptt)
    total_steps = settings.epochs * steps_per_epoch
    if settings.max_steps is not None:
        total_steps = min(total_steps, settings.max_steps)
    optimizer = _optimizer(model, settings)
    scheduler = _scheduler(optimizer, settings, settings.epochs * steps_per_epoch)
    progress = Progress()
    state = None
    if resume is not None:
        from textseq.neural.resume import restore

        progress, state = restore(resume, model, optimizer, scheduler, settings, device, resume_source)

    def checkpoint(path: str, hidden: Any) -> None:
        _check_finite(model, progress.step)
        rng = {"torch": torch.get_rng_state(), "cuda": torch.cuda.get_rng_state(device) if device.type == "cuda" else None}
        save_checkpoint(path, {
            "arch": arch, "config": dict(config), "plugin": origin, "codec": codec.to_state(), "model": model.state_dict(),
            "optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict() if scheduler is not None else None,
            "settings": asdict(settings),
            "progress": {"epoch": progress.epoch, "row": progress.row, "step": progress.step, "best_loss": progress.best_loss,
                         "stale": progress.stale, "done": progress.done, "history": progress.history,
                         "hidden": map_state(hidden, lambda tensor: tensor.detach().cpu()), "rng": rng},
            "metrics": progress.history[-1] if progress.history else {},
        })

    def stop_inside_epoch(hidden: Any) -> None:
        """A stop before the epoch's validation: the resumable checkpoint, and the model as the
        output too while no validated one exists (so that it can be sampled and evaluated)."""
        checkpoint(last_path(output), hidden)
        if not os.path.isfile(output):  # a FIFO or device is written into as it is
            checkpoint(output, hidden)

    def record(entry: dict[str, Any]) -> None:
        if log is not None:
            finite = {key: None if isinstance(value, float) and not math.isfinite(value) else value for key, value in entry.items()}
            log.write(json.dumps({**finite, "time": round(time.time(), 3)}, allow_nan=False) + "\n")  # strict JSON: null for NaN
            log.flush()

    autocast = torch.autocast("cuda", dtype=torch.bfloat16) if settings.bf16 and device.type == "cuda" else None
    stop_request = _StopRequest()
    started = time.monotonic()
    reporter.begin(total_steps, settings.batch_size * settings.bptt)
    model.train()
    try:
        while not progress.done and progress.epoch < settings.epochs:
            for row, x, y in windows(data, settings.bptt, progress.row):
                if settings.max_steps is not None and progress.step >= settings.max_steps:
                    break
                state = detach_state(state)
                optimizer.zero_grad(set_to_none=True)
                if autocast is not None:
                    with autocast:
                        logits, state = model(x, state)
                else:
                    logits, state = model(x, state)
                loss = torch.nn.functional.cross_entropy(logits.float().reshape(-1, logits.size(-1)), y.reshape(-1))
                loss.backward()
                clip_gradients(model, settings.clip, settings.clip_mode)
                optimizer.step()
                if scheduler is not None and settings.schedule == "cosine":
                    scheduler.step()
                progress.step += 1
                progress.row = row + x.size(0)
                value = float(loss.detach())
                record({"step": progress.step, "epoch": progress.epoch + 1, "loss": value, "lr": optimizer.param_groups[0]["lr"]})
                reporter.step(progress.step, value)
                if blown_up(value, codec.vocab_size):
                    raise diverged(progress.step, f"the training loss is {value:.4g}")
                stop_request.check()
                if settings.time_budget is not None and time.monotonic() - started >= settings.time_budget:
                    reporter.note(f"time budget of {settings.time_budget:g} s reached after step {progress.step}")
                    stop_inside_epoch(state)
                    return progress
            else:
                progress.epoch += 1
                progress.row = 0
                state = None
                entry = _validate(model, codec, valid_ids, settings, device, progress)
                if blown_up(entry["valid_loss"], codec.vocab_size):
                    raise diverged(progress.step, f"the validation loss is {entry['valid_loss']:.4g}")
                progress.history.append(entry)
                record(entry)
                reporter.epoch(entry)
                if scheduler is not None and settings.schedule == "plateau":
                    scheduler.step(entry["valid_loss"])
                if entry["valid_loss"] < progress.best_loss:
                    progress.best_loss = entry["valid_loss"]
                    progress.stale = 0
                    checkpoint(output, state)
                else:
                    progress.stale += 1
                    if settings.patience and progress.stale >= settings.patience:
                        reporter.note(f"stopping early: no better validation loss for {progress.stale} epochs")
                        progress.done = True
                checkpoint(last_path(output), state)
                stop_request.check()
                continue
            stop_inside_epoch(state)
            return progress
        progress.done = True
        checkpoint(last_path(output), state)
        return progress
    except KeyboardInterrupt:  # Ctrl-C, and SIGTERM (textseq.errors.Terminated)
        checkpoint(last_path(output), state)
        reporter.note(f"interrupted: a resumable checkpoint is in {last_path(output)} (--resume {last_path(output)})")
        raise
    finally:
        stop_request.restore()
        reporter.end()


BLOWN_UP = 100.0
"""A loss above this many times that of guessing every token uniformly (ln V nats) is no model's:
the weights have blown up (SGD at --lr 1e30 makes losses of 1e29 nats long before they overflow
to inf or NaN)."""


def blown_up(loss: float, vocab_size: int) -> bool:
    """Whether ``loss`` (mean nats a token) says the run has diverged: not finite, or beyond :data:`BLOWN_UP`."""
    return not math.isfinite(loss) or loss > BLOWN_UP * math.log(max(vocab_size, 2))


def diverged(step: int, detail: str) -> TextseqError:
    """The error that ends a run that has diverged: nothing of it is saved."""
    return TextseqError(f"training diverged at step {step}: {detail}; no checkpoint of it was written (try a lower --lr, or --clip)")


def _check_finite(model: Any, step: int) -> None:
    """Refuse to save weights that are not all finite (a step can make them so while its loss,
    computed before the update, still was)."""
    import torch

    for name, parameter in model.named_parameters():
        if not bool(torch.isfinite(parameter.detach()).all()):
            raise diverged(step, f"weight '{name}' holds values that are not finite")


class _StopRequest:
    """Ctrl-C (SIGINT) and SIGTERM during training are taken at the end of the current step, so
    that the checkpoint written then is exactly resumable; a second one interrupts at once.
    :meth:`check` raises KeyboardInterrupt, or :class:`~textseq.errors.Terminated` for SIGTERM."""

    def __init__(self) -> None:
        self.received: int | None = None
        self._previous: dict[int, Any] = {}
        if threading.current_thread() is threading.main_thread():
            for number in (signal.SIGINT, signal.SIGTERM):
                self._previous[number] = signal.signal(number, self._receive)

    def _receive(self, signum: int, frame: Any) -> None:
        self.received = signum
        self.restore()

    def check(self) -> None:
        if self.received == signal.SIGTERM:
            raise Terminated()
        if self.received is not None:
            raise KeyboardInterrupt

    def restore(self) -> None:
        for number, handler in self._previous.items():
            signal.signal(number, handler if handler is not None else signal.SIG_DFL)
        self._previous = {}


def clip_gradients(model: Any, clip: float, mode: str = "norm") -> None:
    """Scale the gradients so that their total norm is at most ``clip`` (mode "norm"), or clamp
    each component to [-clip, clip] (mode "value"); 0 leaves them alone."""
    import torch

    if clip <= 0:
        return
    if mode == "norm":
        torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
    else:
        torch.nn.utils.clip_grad_value_(model.parameters(), clip)


def _validate(model: Any, codec: Codec, valid_ids: np.ndarray, settings: TrainSettings, device: Any, progress: Progress) -> dict[str, Any]:
    total, count, _ = stream_loss(model, valid_ids, device, batch_size=min(settings.eval_batch_size, max(1, len(valid_ids) // 2)),
                                  bptt=settings.bptt)
    loss = total / max(count, 1)
    entry = {"epoch": progress.epoch, "step": progress.step, "valid_loss": loss, "valid_perplexity": math.exp(min(loss, 700)),
             "valid_tokens": count}
    if codec.level == "char":
        entry["valid_bpc"] = loss / math.log(2)
    return entry


def _optimizer(model: Any, settings: TrainSettings) -> Any:
    import torch

    params = [p for p in model.parameters() if p.requires_grad]
    if settings.optimizer == "sgd":
        return torch.optim.SGD(params, lr=settings.lr, weight_decay=settings.weight_decay)
    if settings.optimizer == "adam":
        return torch.optim.Adam(params, lr=settings.lr, weight_decay=settings.weight_decay)
    return torch.optim.AdamW(params, lr=settings.lr, weight_decay=settings.weight_decay)


def _scheduler(optimizer: Any, settings: TrainSettings, total_steps: int) -> Any:
    import torch

    if settings.schedule == "plateau":
        return torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, mode="min", factor=0.25, patience=0)
    if settings.schedule == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=max(1, total_steps))
    return None
