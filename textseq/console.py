"""Everything textseq says that is not data: logs, warnings, summaries and progress, on stderr.

Rich is imported only when something is shown through it, so commands that print nothing stay
quick to start. Progress bars appear only when stderr is a terminal; ``quiet`` silences all but
errors.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, TextIO

from textseq.streams import isatty

if TYPE_CHECKING:
    from rich.console import Console as RichConsole
    from rich.progress import ProgressColumn

PROGRAM = "textseq"


class Console:
    """The stderr side of a command. Library code takes one, so tests can inject a buffer."""

    def __init__(self, stream: TextIO | None = None, *, quiet: bool = False, progress: bool | None = None) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.quiet = quiet
        is_tty = isatty(self.stream)
        self.show_progress = (is_tty and not quiet) if progress is None else progress
        self._rich: RichConsole | None = None
        self._styled = is_tty and "NO_COLOR" not in os.environ

    @property
    def rich(self) -> RichConsole:
        """A rich Console writing to this console's stream (created on first use)."""
        if self._rich is None:
            from rich.console import Console as RichConsole

            self._rich = RichConsole(file=self.stream, highlight=False, no_color=not self._styled, soft_wrap=True)
        return self._rich

    def _emit(self, label: str, style: str, message: str) -> None:
        if self._styled:
            from rich.markup import escape

            self.rich.print(f"[{style}]{PROGRAM}: {label}[/{style}]{escape(message)}")
        else:
            self.stream.write(f"{PROGRAM}: {label}{message}\n")
            self.stream.flush()

    def info(self, message: str) -> None:
        if not self.quiet:
            self._emit("", "dim", message)

    def warn(self, message: str) -> None:
        if not self.quiet:
            self._emit("warning: ", "bold yellow", message)

    def error(self, message: str) -> None:
        self._emit("error: ", "bold red", message)

    def table(self, title: str, rows: list[tuple[str, str]]) -> None:
        """A small two-column summary (name, value)."""
        if self.quiet:
            return
        if self._styled:
            from rich.table import Table

            table = Table(title=title, show_header=False, title_justify="left", box=None, padding=(0, 2))
            table.add_column(style="bold")
            table.add_column()
            for name, value in rows:
                table.add_row(name, value)
            self.rich.print(table)
        else:
            width = max(len(name) for name, _ in rows)
            self.stream.write(f"{title}\n")
            for name, value in rows:
                self.stream.write(f"  {name:<{width}}  {value}\n")
            self.stream.flush()

    @contextmanager
    def progress(self, description: str, total: float | None = None, unit: str = "B") -> Iterator[Callable[[float], None]]:
        """A progress bar; yields ``update(completed)`` taking the absolute amount done."""
        if not self.show_progress:
            yield _ignore
            return
        from rich.progress import (
            BarColumn,
            DownloadColumn,
            Progress,
            TaskProgressColumn,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
            TransferSpeedColumn,
        )

        columns: list[ProgressColumn] = [TextColumn("[bold]{task.description}"), BarColumn(), TaskProgressColumn()]
        if unit == "B":
            columns += [DownloadColumn(), TransferSpeedColumn()]
        else:
            columns.append(TextColumn("{task.fields[rate]}"))
        columns += [TimeElapsedColumn(), TimeRemainingColumn()]
        with Progress(*columns, console=self.rich, transient=True) as bar:
            task = bar.add_task(description, total=total, rate="")
            last = 0.0
            started = time.monotonic()

            def update(completed: float) -> None:
                nonlocal last
                now = time.monotonic()
                if now - last > 0.1:
                    last = now
                    rate = f"{completed / (now - started):,.0f} {unit}/s" if unit != "B" else ""
                    bar.update(task, completed=completed, rate=rate)

            yield update


def format_duration(seconds: float) -> str:
    """``42 s``, ``3 min 07 s``, ``2 h 05 min`` (for ETAs)."""
    seconds = int(round(seconds)) if seconds == seconds and seconds != float("inf") else 0  # noqa: RUF046 - numpy < 2 rounds to a float
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def _ignore(_completed: float) -> None:
    return None
