"""Continuing a run from a resumable checkpoint (``NAME.last.pt``), every part checked first.

A checkpoint to resume carries, beside the network, the optimizer's and the schedule's states,
the training settings and the progress (position, carried hidden state, random generators'
states). Each is checked against the run it goes into (names, kinds of values, shapes), so that a
damaged file is one error naming it and what is wrong, not a KeyError or a shape mismatch in the
middle of the first step.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, cast

from textseq.errors import InputError
from textseq.neural.checkpoint import Checkpoint
from textseq.neural.settings import Progress, TrainSettings

if TYPE_CHECKING:
    from collections.abc import Callable

    import torch
    from torch import nn
    from torch.optim.lr_scheduler import LRScheduler as Scheduler

    from textseq.neural.checkpoint import RandomState
    from textseq.neural.models import State


def restore(
    resume: Checkpoint,
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    scheduler: Scheduler | None,
    settings: TrainSettings,
    device: torch.device,
    source: str,
) -> tuple[Progress, State]:
    """Load a resumable checkpoint's weights, optimizer and schedule states and random generators
    into a run, every part checked against the run first; (the progress to continue, the carried
    hidden state)."""
    import torch

    from textseq.neural.models import map_state

    if resume.optimizer is None:
        raise InputError("holds no optimizer state: it is a weights-only export, not a resumable checkpoint", source=source)
    try:
        model.load_state_dict(resume.model)
    except RuntimeError as exc:
        raise InputError(f"the weights do not fit the network ({' '.join(str(exc).split())})", source=source) from None
    _restore_optimizer(resume.optimizer, optimizer, source)
    if scheduler is not None:
        _restore_scheduler(resume.scheduler, scheduler, source)
    progress = resume.progress
    initial_state = cast("Callable[[int, torch.device], State]", model.initial_state)
    _check_hidden(resume.hidden, initial_state(settings.batch_size, torch.device("cpu")), cast(int, model.vocab_size), source)
    if progress.epoch < settings.epochs:
        progress.done = False
    if resume.rng is not None:
        _restore_rng(resume.rng, device, source)
    return progress, map_state(resume.hidden, lambda tensor: tensor.to(device))


_STATE_KEYS: dict[str, frozenset[str]] = {
    "SGD": frozenset(),
    "Adam": frozenset({"step", "exp_avg", "exp_avg_sq"}),
    "AdamW": frozenset({"step", "exp_avg", "exp_avg_sq"}),
}
"""What each optimizer keeps for a parameter once it has stepped (SGD's momentum buffer is optional)."""


def _restore_optimizer(saved: dict[str, Any], optimizer: torch.optim.Optimizer, source: str) -> None:
    """The optimizer's state from the checkpoint: its groups must match the network's parameters,
    their settings be numbers as the optimizer's own are, and each parameter's state be whole,
    its tensors (moments, momentum) of the parameter's shape. torch's warnings while loading it
    (complex moments cast to real, say) are errors here."""
    import warnings

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            optimizer.load_state_dict(saved)
    except (ValueError, KeyError, TypeError, IndexError, AttributeError, RuntimeError, Warning) as exc:
        raise InputError(f"the optimizer state does not fit the network ({' '.join(str(exc).split())})", source=source) from None
    required = _STATE_KEYS.get(type(optimizer).__name__, frozenset())
    for group in optimizer.param_groups:
        for key, default in optimizer.defaults.items():
            if not _same_kind(group.get(key), default):
                raise InputError(f"the optimizer setting '{key}' is {group.get(key)!r}, not like {default!r}", source=source)
        for parameter in group["params"]:
            _check_parameter_state(optimizer.state.get(parameter, {}), parameter, required, source)


def _check_parameter_state(state: object, parameter: torch.Tensor, required: frozenset[str], source: str) -> None:
    import torch

    if not isinstance(state, dict):
        raise InputError(f"the optimizer's state of a parameter is {type(state).__name__}, not a dict", source=source)
    missing = sorted(required - set(state)) if state else []  # no state at all: the optimizer starts it afresh
    if missing:
        raise InputError(f"the optimizer's state of a parameter lacks '{missing[0]}'", source=source)
    for key, value in state.items():
        if key == "step" and not _is_count(value):
            raise InputError(f"the optimizer's 'step' is {value!r}, not a count", source=source)
        if isinstance(value, torch.Tensor):
            if value.dim() and value.shape != parameter.shape:
                raise InputError(
                    f"the optimizer's '{key}' for a parameter of shape {list(parameter.shape)} is {list(value.shape)}", source=source
                )
        elif value is not None and not _same_kind(value, 0.0):
            raise InputError(f"the optimizer's '{key}' is {value!r}, not a number or a tensor", source=source)


def _is_count(value: object) -> bool:
    """Whether ``value`` is what Adam keeps as a parameter's step count: a one-number real tensor, finite and >= 0."""
    import torch

    return (
        isinstance(value, torch.Tensor)
        and value.numel() == 1
        and not value.is_complex()
        and value.dtype != torch.bool
        and bool(torch.isfinite(value).all())
        and float(value) >= 0
    )


def _restore_scheduler(saved: object, scheduler: Scheduler, source: str) -> None:
    """The schedule's state from the checkpoint, whose entries must be of the kinds the
    schedule's own are (a cosine schedule's state does not go into a plateau schedule)."""
    fresh = scheduler.state_dict()
    if saved is None:
        return
    if not isinstance(saved, dict):
        raise InputError("the learning-rate schedule's state is not a dict", source=source)
    for key, value in fresh.items():
        if key not in saved or not _same_kind(saved[key], value):
            raise InputError(
                f"the learning-rate schedule's state does not fit the run's schedule (its '{key}' is {saved.get(key)!r})", source=source
            )
    length = saved.get("T_max", 1)
    if isinstance(length, bool) or not isinstance(length, int) or length < 1:
        raise InputError(f"the cosine schedule's length is {length!r}, not a positive number of steps", source=source)
    scheduler.load_state_dict(saved)


def _same_kind(value: object, like: object) -> bool:
    """Whether ``value`` is the kind of thing ``like`` is: a bool, a number (not NaN), a string,
    None, or a list or tuple of as many such things; anything for anything else."""
    if like is None:
        return True
    if isinstance(like, bool):
        return isinstance(value, bool)
    if isinstance(like, (int, float)):
        return isinstance(value, (int, float)) and not isinstance(value, bool) and not math.isnan(value)
    if isinstance(like, str):
        return isinstance(value, str)
    if isinstance(like, (list, tuple)):
        return isinstance(value, (list, tuple)) and len(value) == len(like) and all(map(_same_kind, value, like))
    return True


def _check_hidden(hidden: object, like: State, vocab_size: int, source: str) -> None:
    """That a carried state has the structure, shapes and kinds of ``like``, the state at the start
    of the run's streams; integer states (nplm's) hold token ids, ``vocab_size`` at most."""
    import torch

    if hidden is None:
        return
    if like is None:
        raise InputError("the carried hidden state does not fit the network", source=source)
    if isinstance(like, (tuple, list)):
        if not isinstance(hidden, (tuple, list)) or len(hidden) != len(like):
            raise InputError("the carried hidden state does not fit the network", source=source)
        for part, like_part in zip(hidden, like):
            _check_hidden(part, like_part, vocab_size, source)
        return
    if not isinstance(hidden, torch.Tensor) or hidden.shape != like.shape or hidden.is_floating_point() != like.is_floating_point():
        shape = list(hidden.shape) if isinstance(hidden, torch.Tensor) else type(hidden).__name__
        raise InputError(f"the carried hidden state is {shape}, but the network and the batch size make {list(like.shape)}", source=source)
    finite = hidden.is_floating_point()
    if not bool(torch.isfinite(hidden).all() if finite else ((hidden >= 0) & (hidden <= vocab_size)).all()):
        raise InputError("the carried hidden state holds values that are not finite or not token ids", source=source)


def _restore_rng(rng: RandomState, device: torch.device, source: str) -> None:
    """The random generators' states (torch.load moved them to ``device``; torch wants them on the CPU)."""
    import torch

    try:
        torch.set_rng_state(rng.torch.cpu())
        if device.type == "cuda" and rng.cuda is not None:
            torch.cuda.set_rng_state(rng.cuda.cpu(), device)
    except (RuntimeError, TypeError, ValueError, AttributeError) as exc:
        raise InputError(f"the random generators' state is damaged ({' '.join(str(exc).split())})", source=source) from None
