"""The console adapter of :class:`textseq.progress.Monitor`, for every command that trains."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import ExitStack

from textseq.console import Console, format_duration
from textseq.progress import EpochReport, Monitor

_METRICS = (
    ("valid_loss", "valid loss {:.4f}"),
    ("valid_perplexity", "perplexity {:.2f}"),
    ("valid_bpc", "{:.4f} bits/char"),
    ("valid_accuracy", "valid accuracy {:.4f}"),
)


class ConsoleMonitor(Monitor):
    """A trainer's progress on stderr: a bar on a terminal, a line per epoch always."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self._stack = ExitStack()
        self._update: Callable[[float], None] | None = None
        self._seconds: list[float] = []

    def begin(self, description: str, total: float, unit: str) -> None:
        self._update = self._stack.enter_context(self.console.progress(description, total=total, unit=unit))

    def update(self, done: float) -> None:
        if self._update is not None:
            self._update(done)

    def epoch_done(self, report: EpochReport) -> None:
        self._seconds.append(report.seconds)
        if report.seconds_left is None:
            left = (report.epochs - report.epoch) * sum(self._seconds) / len(self._seconds)
            more = report.epoch < report.epochs
        else:
            left = report.seconds_left
            more = left > 0
        speed = report.items / max(report.seconds, 1e-9)
        eta = f", ETA {format_duration(left)}" if more else ""
        figures = [text.format(report.metrics[name]) for name, text in _METRICS if name in report.metrics]
        extra = f", {', '.join(figures)}" if figures else ""
        self.console.info(
            f"epoch {report.epoch}/{report.epochs}: loss {report.loss:.6f}{extra}, {report.items:,} {report.unit} "
            f"in {report.seconds:.1f} s ({speed:,.0f} {report.unit}/s){eta}"
        )

    def note(self, message: str) -> None:
        self.console.info(message)

    def end(self) -> None:
        self._stack.close()
        self._update = None
