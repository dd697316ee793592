"""Where a training run's metrics go: one :class:`MetricsSink` concept, written to alike.

The trainer makes one entry a step (``step``, ``epoch``, ``loss``, ``lr``, ``tokens``, ``time``)
and one a validation (``epoch``, ``step``, ``valid_loss``, ``valid_perplexity``,
``valid_tokens``, ``valid_bpc`` at the character level, ``tokens``, ``time``), and hands each to
every sink it was given: :class:`JsonLinesSink` appends them to a ``--log`` file,
:class:`TensorBoardSink` writes them as TensorBoard scalars. ``tokens`` counts the tokens trained
so far and ``time`` is the wall clock (seconds since the epoch). The trainer never closes a sink:
whoever made it does.
"""

from __future__ import annotations

import importlib
import json
import math
from collections.abc import Mapping
from typing import Protocol, TextIO

from textseq.embed.plot import MissingDependencyError
from textseq.errors import OutputError

Entry = Mapping[str, float | int | None]

TENSORBOARD_HINT = "pip install tensorboard (or pip install 'textseq[tensorboard]')"


class MetricsSink(Protocol):
    """What takes a run's metrics, one entry at a time."""

    def write(self, entry: Entry) -> None: ...

    def close(self) -> None: ...


class JsonLinesSink:
    """One strict JSON object a line (null for NaN and infinities), flushed after each, so that
    ``tail -f`` and ``textseq plot`` see a run as it goes."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream

    def write(self, entry: Entry) -> None:
        finite = {key: None if isinstance(value, float) and not math.isfinite(value) else value for key, value in entry.items()}
        self.stream.write(json.dumps(finite, allow_nan=False) + "\n")
        self.stream.flush()

    def close(self) -> None:
        self.stream.close()


STEP_TAGS = {"loss": "train/loss", "lr": "train/lr"}
VALID_TAGS = {"valid_loss": "valid/loss", "valid_perplexity": "valid/perplexity", "valid_bpc": "valid/bpc"}
SPEED_TAG = "train/tokens_per_second"


def require_tensorboard() -> None:
    """That TensorBoard events can be written here, or the one error that says what to install."""
    try:
        importlib.import_module("torch.utils.tensorboard")
    except ImportError:
        raise MissingDependencyError(f"TensorBoard events need the tensorboard package: {TENSORBOARD_HINT}") from None


class TensorBoardSink:
    """TensorBoard scalars in ``directory``, each at the entry's step and wall time: the
    :data:`STEP_TAGS` every step, the :data:`VALID_TAGS` every validation, and with each
    validation :data:`SPEED_TAG`, the epoch's training speed (tokens over the time between its
    logged steps, so that validation and checkpoints are not in it).

    A resumed run adds an event file to the same folder, which TensorBoard shows as one run.
    :func:`require_tensorboard` says early, before a run starts, whether the package is there."""

    def __init__(self, directory: str) -> None:
        require_tensorboard()
        from torch.utils.tensorboard import SummaryWriter

        try:
            self._writer = SummaryWriter(log_dir=directory)
        except OSError as exc:
            raise OutputError(f"cannot write TensorBoard events ({exc.strerror or exc})", source=directory) from None
        self.directory = directory
        self._last: tuple[float, float] | None = None
        """(time, tokens) of the epoch's last step entry so far."""
        self._tokens = 0.0
        self._seconds = 0.0

    def write(self, entry: Entry) -> None:
        step, when = entry.get("step"), entry.get("time")
        if not isinstance(step, int):
            return
        walltime = float(when) if isinstance(when, int | float) else None
        validation = "valid_loss" in entry
        for key, tag in (VALID_TAGS if validation else STEP_TAGS).items():
            value = entry.get(key)
            if isinstance(value, int | float) and math.isfinite(value):
                self._writer.add_scalar(tag, value, step, walltime=walltime)
        if validation:
            if self._seconds > 0:
                self._writer.add_scalar(SPEED_TAG, self._tokens / self._seconds, step, walltime=walltime)
            self._last, self._tokens, self._seconds = None, 0.0, 0.0
        else:
            self._timed(walltime, entry.get("tokens"))

    def _timed(self, when: float | None, tokens: float | int | None) -> None:
        if when is None or not isinstance(tokens, int | float):
            return
        if self._last is not None and when >= self._last[0]:
            self._seconds += when - self._last[0]
            self._tokens += tokens - self._last[1]
        self._last = (when, float(tokens))

    def close(self) -> None:
        self._writer.close()
