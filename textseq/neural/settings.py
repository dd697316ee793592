"""What a training run is told (:class:`TrainSettings`) and how far it has got (:class:`Progress`).

Plain data, no torch: a checkpoint stores both, and the command line reads and checks them
before anything heavy is imported.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from textseq.errors import ParameterError

OPTIMIZERS = ("sgd", "adam", "adamw")
SCHEDULES = ("plateau", "cosine", "none")
DEFAULT_LR = {"sgd": 20.0, "adam": 2e-3, "adamw": 2e-3}
FLOAT32_MAX = 3.4028234663852886e38


@dataclass
class TrainSettings:
    """The options of a run; ``ValueError`` for one out of range."""

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
        for name in ("batch_size", "bptt", "epochs"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name.replace('_', '-')} must be >= 1")
        if not self.lr > 0:
            raise ValueError("the learning rate must be > 0")
        self._check_limits()
        if not (self.lr <= FLOAT32_MAX and self.weight_decay <= FLOAT32_MAX and self.lr * self.weight_decay <= FLOAT32_MAX):
            raise ValueError(
                f"the learning rate, the weight decay and their product must be at most {FLOAT32_MAX:.4g} "
                "(the largest float32, what the weights are updated in)"
            )
        if not -(1 << 63) <= self.seed < 1 << 64:
            raise ValueError("the seed must be between -2**63 and 2**64 - 1")

    def _check_limits(self) -> None:
        if not (self.weight_decay >= 0 and self.clip >= 0 and self.patience >= 0):
            raise ValueError("the weight decay, the clipping threshold and the patience must be >= 0")
        if self.max_steps is not None and self.max_steps < 1:
            raise ValueError("max-steps must be >= 1")
        if self.time_budget is not None and not self.time_budget > 0:
            raise ValueError("the time budget must be more than 0")

    @property
    def learning_rate(self) -> float:
        """:attr:`lr`, which ``__post_init__`` has filled in."""
        assert self.lr is not None
        return self.lr


@dataclass
class Progress:
    """How far a run has got; with the carried state and the random generators, what a resumed run
    needs to continue exactly."""

    epoch: int = 0
    """Epochs finished."""
    row: int = 0
    """Row of the batched stream where the current epoch continues."""
    step: int = 0
    best_loss: float = math.inf
    stale: int = 0
    """Validations since the best one."""
    done: bool = False
    history: list[dict[str, float]] = field(default_factory=list)
    """Each validation's figures: epoch, step, valid_loss, valid_perplexity, valid_tokens, and
    valid_bpc at the character level."""


DEFAULT_CONTEXT = 100
"""Tokens of warm-up before each parallel column when a checkpoint scores a text (see
:mod:`textseq.neural.scoring`)."""

_UNITS = {"s": 1, "m": 60, "min": 60, "h": 3600}


def parse_duration(value: str) -> float:
    """Seconds in ``value``: ``90s``, ``20m``, ``1.5h`` or a bare number of seconds.
    :class:`ParameterError` (``time_budget``) for anything else, or for no time at all."""
    text = value.strip().lower()
    for unit in sorted(_UNITS, key=len, reverse=True):
        if text.endswith(unit):
            number, scale = text[: -len(unit)], _UNITS[unit]
            break
    else:
        number, scale = text, 1
    try:
        seconds = float(number) * scale
    except ValueError:
        raise ParameterError(f"not a duration: {value!r} (say 90s, 20m or 1.5h)", parameter="time_budget") from None
    if not seconds > 0:
        raise ParameterError("must be more than 0", parameter="time_budget")
    return seconds
