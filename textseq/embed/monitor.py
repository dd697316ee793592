"""What a trainer reports while it runs: progress through its work and a summary of each epoch.

Trainers take a ``monitor`` and call it; the command line shows it on stderr (a progress bar on a
terminal, a line per epoch otherwise). A plugin's trainer may ignore it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class EpochReport:
    epoch: int
    """1-based."""
    epochs: int
    loss: float
    """The epoch's mean loss per training example (float64 sums; what an example is, and so the
    scale, is the method's: a word2vec prediction, a GloVe co-occurrence)."""
    items: int
    """Work done in the epoch, in ``unit`` (words streamed, co-occurrences visited)."""
    unit: str
    seconds: float


class Monitor:
    """The silent monitor, and the interface: subclasses override what they show."""

    def begin(self, description: str, total: float, unit: str) -> None:
        """A stage of ``total`` units of work starts (reading, counting, training)."""

    def update(self, done: float) -> None:
        """``done`` units of the current stage are finished (an absolute amount)."""

    def epoch_done(self, report: EpochReport) -> None:
        """An epoch ended."""

    def end(self) -> None:
        """The current stage is over."""
