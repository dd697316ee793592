"""Continuing a run from a resumable checkpoint (``NAME.last.pt``), every part checked first.

A checkpoint to resume carries, beside the network, the optimizer's and the schedule's states,
the training settings and the progress (position, carried hidden state, random generators'
states). Each is checked against the run it goes into (names, kinds of values, shapes), so that a
damaged file is one error naming it and what is wrong, not a KeyError or a shape mismatch in the
middle of the first step.
"""

from __future__ import annotations

import math
import typing
from typing import Any

from textseq.errors import InputError
from textseq.neural.checkpoint import require
from textseq.neural.train import Progress, TrainSettings


def restore(resume: dict[str, Any], model: Any, optimizer: Any, scheduler: Any, settings: TrainSettings, device: Any,
            source: str) -> tuple[Progress, Any]:
    """Load a resumable checkpoint's weights, optimizer and schedule states and random generators
    into a run, every part checked against the run first; (the progress to continue, the carried
    hidden state)."""
    import torch

    from textseq.neural.models import map_state

    if resume.get("optimizer") is None:
        raise InputError("holds no optimizer state: it is a weights-only export, not a resumable checkpoint", source=source)
    try:
        model.load_state_dict(require(resume, "model", dict, source))
    except RuntimeError as exc:
        raise InputError(f"the weights do not fit the network ({' '.join(str(exc).split())})", source=source) from None
    _restore_optimizer(require(resume, "optimizer", dict, source), optimizer, source)
    if scheduler is not None:
        _restore_scheduler(resume.get("scheduler"), scheduler, source)
    saved = require(resume, "progress", dict, source)
    progress = checked_progress(saved, source)
    hidden = saved.get("hidden")
    _check_hidden(hidden, model.initial_state(settings.batch_size, torch.device("cpu")), model.vocab_size, source)
    if progress.epoch < settings.epochs:
        progress.done = False
    _restore_rng(require(saved, "rng", dict, source, "the checkpoint's progress"), device, source)
    return progress, map_state(hidden, lambda tensor: tensor.to(device))


_PROGRESS: dict[str, type] = {"epoch": int, "row": int, "step": int, "stale": int, "best_loss": float, "done": bool, "history": list}
_HISTORY: dict[str, type] = {"epoch": int, "step": int, "valid_loss": float, "valid_perplexity": float}


def checked_progress(saved: dict[str, Any], source: str) -> Progress:
    """A checkpoint's ``progress`` entry as :class:`Progress`, every field checked."""
    owner = "the checkpoint's progress"
    values = {key: require(saved, key, kind, source, owner) for key, kind in _PROGRESS.items()}
    for key in ("epoch", "row", "step", "stale"):
        if values[key] < 0:
            raise InputError(f"'{key}' in {owner} is {values[key]}, not >= 0", source=source)
    if math.isnan(values["best_loss"]):
        raise InputError(f"'best_loss' in {owner} is not a number", source=source)
    for entry in values["history"]:
        if not isinstance(entry, dict):
            raise InputError(f"an entry of the history in {owner} is not a dict", source=source)
        for key, kind in _HISTORY.items():
            require(entry, key, kind, source, f"an entry of the history in {owner}")
        if "valid_bpc" in entry:
            require(entry, "valid_bpc", float, source, f"an entry of the history in {owner}")
    return Progress(**{**values, "best_loss": float(values["best_loss"]), "history": list(values["history"])})


_STATE_KEYS: dict[str, frozenset[str]] = {"SGD": frozenset(), "Adam": frozenset({"step", "exp_avg", "exp_avg_sq"}),
                                          "AdamW": frozenset({"step", "exp_avg", "exp_avg_sq"})}
"""What each optimizer keeps for a parameter once it has stepped (SGD's momentum buffer is optional)."""


def _restore_optimizer(saved: dict[str, Any], optimizer: Any, source: str) -> None:
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


def _check_parameter_state(state: dict[str, Any], parameter: Any, required: frozenset[str], source: str) -> None:
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
                raise InputError(f"the optimizer's '{key}' for a parameter of shape {list(parameter.shape)} is "
                                 f"{list(value.shape)}", source=source)
        elif value is not None and not _same_kind(value, 0.0):
            raise InputError(f"the optimizer's '{key}' is {value!r}, not a number or a tensor", source=source)


def _is_count(value: Any) -> bool:
    """Whether ``value`` is what Adam keeps as a parameter's step count: a one-number real tensor, finite and >= 0."""
    import torch

    return (isinstance(value, torch.Tensor) and value.numel() == 1 and not value.is_complex() and value.dtype != torch.bool
            and bool(torch.isfinite(value).all()) and float(value) >= 0)


def _restore_scheduler(saved: Any, scheduler: Any, source: str) -> None:
    """The schedule's state from the checkpoint, whose entries must be of the kinds the
    schedule's own are (a cosine schedule's state does not go into a plateau schedule)."""
    fresh = scheduler.state_dict()
    if saved is None:
        return
    if not isinstance(saved, dict):
        raise InputError("the learning-rate schedule's state is not a dict", source=source)
    for key, value in fresh.items():
        if key not in saved or not _same_kind(saved[key], value):
            raise InputError(f"the learning-rate schedule's state does not fit --schedule (its '{key}' is "
                             f"{saved.get(key)!r})", source=source)
    scheduler.load_state_dict(saved)


def _same_kind(value: Any, like: Any) -> bool:
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


def _check_hidden(hidden: Any, like: Any, vocab_size: int, source: str) -> None:
    """That a carried state has the structure, shapes and kinds of ``like``, the state at the start
    of the run's streams; integer states (nplm's) hold token ids, ``vocab_size`` at most."""
    import torch

    if hidden is None:
        return
    if isinstance(like, (tuple, list)):
        if not isinstance(hidden, (tuple, list)) or len(hidden) != len(like):
            raise InputError("the carried hidden state does not fit the network", source=source)
        for part, like_part in zip(hidden, like):
            _check_hidden(part, like_part, vocab_size, source)
        return
    if not isinstance(hidden, torch.Tensor) or hidden.shape != like.shape or hidden.is_floating_point() != like.is_floating_point():
        shape = list(hidden.shape) if isinstance(hidden, torch.Tensor) else type(hidden).__name__
        raise InputError(f"the carried hidden state is {shape}, but the network and --batch-size make {list(like.shape)}",
                         source=source)
    if hidden.is_floating_point():
        values_fit = bool(torch.isfinite(hidden).all())
    else:
        values_fit = bool(((hidden >= 0) & (hidden <= vocab_size)).all())
    if not values_fit:
        raise InputError("the carried hidden state holds values that are not finite or not token ids", source=source)


def _restore_rng(rng: dict[str, Any], device: Any, source: str) -> None:
    """The random generators' states (torch.load moved them to ``device``; torch wants them on the CPU)."""
    import torch

    try:
        torch.set_rng_state(require(rng, "torch", torch.Tensor, source, "the checkpoint's random state").cpu())
        if device.type == "cuda" and rng.get("cuda") is not None:
            torch.cuda.set_rng_state(rng["cuda"].cpu(), device)
    except (RuntimeError, TypeError, ValueError, AttributeError) as exc:
        raise InputError(f"the random generators' state is damaged ({' '.join(str(exc).split())})", source=source) from None


def checked_settings(saved: Any, source: str) -> dict[str, Any]:
    """A checkpoint's training settings, each known and of its field's type (:class:`TrainSettings`)."""
    if not isinstance(saved, dict):
        raise InputError("'settings' in the checkpoint is not a dict", source=source)
    hints = typing.get_type_hints(TrainSettings)
    for key, value in saved.items():
        if key not in hints:
            raise InputError(f"unknown training setting {key!r} in the checkpoint", source=source)
        kinds = typing.get_args(hints[key]) or (hints[key],)
        require(saved, key, kinds, source, "the checkpoint's settings")
        if isinstance(value, float) and not math.isfinite(value):
            raise InputError(f"the training setting '{key}' in the checkpoint is {value}", source=source)
    return dict(saved)
