"""The one callback protocol of every trainer: progress through its work and each epoch's summary.

A trainer (word2vec, GloVe, a neural language model, a plugin's) takes a :class:`Monitor` and
calls it; the command line passes :class:`textseq.cli.progress.ConsoleMonitor`, which shows a
progress bar on a terminal and a line per epoch always, and a library user subclasses
:class:`Monitor` and overrides what they want to hear about (gensim's ``CallbackAny2Vec`` is the
model). A plugin's trainer may call as little of it as it likes.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class EpochReport:
    """What a trainer says at the end of an epoch."""

    epoch: int
    """1-based."""
    epochs: int
    loss: float
    """The epoch's mean training loss per example (what an example is, and so the scale, is the
    method's: a word2vec prediction, a GloVe co-occurrence, a language model's token)."""
    items: int
    """Work done in the epoch, in ``unit`` (words streamed, co-occurrences visited, tokens)."""
    unit: str
    seconds: float
    """Time spent training in the epoch (validation excluded)."""
    metrics: dict[str, float] = field(default_factory=dict)
    """Further figures, by name: a language model's ``valid_loss``, ``valid_perplexity``,
    ``valid_bpc``."""
    seconds_left: float | None = None
    """The trainer's estimate of the time the run has left, where it knows better than the epochs
    left at the epochs' mean time (a run cut short by a step limit, validation time to add)."""


class Monitor:
    """The silent monitor, and the interface: subclasses override what they show."""

    def begin(self, description: str, total: float, unit: str) -> None:
        """A stage of ``total`` units of work starts (reading, counting, training)."""

    def update(self, done: float) -> None:
        """``done`` units of the current stage are finished (an absolute amount)."""

    def epoch_done(self, report: EpochReport) -> None:
        """An epoch ended."""

    def note(self, message: str) -> None:
        """Something the user should know about the run (a learning rate cut, an early stop)."""

    def end(self) -> None:
        """The current stage is over."""
