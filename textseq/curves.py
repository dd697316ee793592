"""Training curves: the ``--log`` files of ``textseq train`` and ``textseq classify train`` read
into runs (:func:`read_log`, :func:`read_logs`) and drawn, several overlaid (:func:`plot_curves`).

A language model's log has one JSON object a step (``step``, ``loss``, ``tokens``, ``time``, ...)
and one a validation (``step``, ``valid_loss``, ``tokens``, ``time``, ...); a classifier's has one
an epoch (``epoch``, ``loss``, ``seconds``, ``valid_loss``, ..., ``time``). Logs written before
``tokens`` was recorded have none: they are drawn against steps.

A log is appended to, so it can hold more than one run:

- a resumed run goes on from its checkpoint's step (epoch, for a classifier). Where that is not
  after the log's last one (the run was killed after its last checkpoint), the resumed run's
  entries replace those from that step on, as its model does;
- a run that starts again from step 1 is a new run of its own, drawn as ``NAME (run 2)``.

Wall time is the sum of the gaps between a run's entries, less the pauses: a gap between two
entries longer than :data:`PAUSE_FACTOR` times the median gap between steps, and longer than
:data:`MIN_PAUSE_S`, is where a run stopped and was resumed later, and counts as one median step.
A gap that ends at a validation always counts: the process that trained the steps before it
wrote it. A classifier's log has its training time in each epoch's ``seconds``, summed.

matplotlib (the ``textseq[plot]`` extra) is imported only when a figure is drawn, on its
file-only backend (Agg).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import PurePath
from typing import TYPE_CHECKING, BinaryIO

import numpy as np

from textseq.errors import InputError, ParameterError
from textseq.streams import STDIN_NAME, iter_lines, open_input

if TYPE_CHECKING:
    from matplotlib.axes import Axes

AXES = ("steps", "tokens", "time")
IMAGE_FORMATS = ("png", "svg", "pdf")
PAUSE_FACTOR = 10.0
MIN_PAUSE_S = 1.0
SMOOTHING_SHARE = 50
"""The running mean's default window: a fiftieth of the run's steps (odd, at least one)."""
LANGUAGE_MODEL, CLASSIFIER = "language model", "classifier"
DIVERGED = 1e30
"""A loss beyond this is a run that blew up: drawn as a gap, as a loss that is not finite is."""
LONGEST_S = 1e11
"""Times and durations in a log are below this many seconds (the year 5138)."""
_LARGEST = 2.0**63


@dataclass
class Points:
    """One curve's points in the log's order: where each lies on every axis, and its loss."""

    steps: np.ndarray
    """The step (a classifier's: the epoch)."""
    tokens: np.ndarray | None
    """Tokens trained so far; None where the log does not say."""
    seconds: np.ndarray
    """Wall time into the run (a classifier's: training time)."""
    loss: np.ndarray
    """NaN where the log has null (the loss was not finite)."""


@dataclass
class Run:
    """One training run of a log."""

    label: str
    source: str
    kind: str
    """:data:`LANGUAGE_MODEL` or :data:`CLASSIFIER`."""
    train: Points
    valid: Points
    pauses: int
    """Gaps left out of the wall time."""
    replaced: int
    """Entries that a resumed run's own replaced."""


@dataclass
class _Entry:
    line: int
    counter: int
    """The step, or a classifier's epoch."""
    time: float
    train_loss: float | None
    valid_loss: float | None
    tokens: float | None
    seconds: float | None

    @property
    def trains(self) -> bool:
        return self.train_loss is not None


def read_log(path: str, stdin: BinaryIO | None = None, label: str | None = None, errors: str = "strict") -> list[Run]:
    """The runs of the log at ``path`` (``'-'``: ``stdin``), labelled ``label`` (default: the
    file's name without its ``.jsonl``); a line that is not an entry is an
    :class:`~textseq.errors.InputError` naming it."""
    source = open_input(path, stdin)
    try:
        kind, entries = _parse(iter_lines(source, errors), source.name)
    finally:
        source.close()
    if not entries:
        raise InputError("no entries: not a training log (write one with 'textseq train --log FILE')", source=source.name)
    groups = _split(entries)
    name = label if label is not None else default_label(source.name)
    runs = []
    for number, (kept, replaced) in enumerate(groups, 1):
        run_label = f"{name} (run {number})" if len(groups) > 1 else name
        runs.append(_run(run_label, source.name, kind, kept, replaced))
    return runs


def read_logs(paths: Sequence[str], labels: Sequence[str] = (), stdin: BinaryIO | None = None, errors: str = "strict") -> list[Run]:
    """The runs of every log in turn, the ``labels`` given to the first ones; two logs of one
    name (``a/log.jsonl``, ``b/log.jsonl``) are labelled by their paths."""
    if len(labels) > len(paths):
        raise ParameterError(f"{len(labels)} labels for {len(paths)} logs", parameter="labels")
    stems = [default_label(path) for path in paths]
    names = [
        labels[i] if i < len(labels) else stems[i] if stems.count(stems[i]) == 1 else str(PurePath(path).with_suffix(""))
        for i, path in enumerate(paths)
    ]
    return [run for path, name in zip(paths, names) for run in read_log(path, stdin, name, errors)]


def default_label(path: str) -> str:
    """A log's name in a legend: ``runs/lstm.jsonl.gz`` -> ``lstm``."""
    if path in ("-", STDIN_NAME):
        return "stdin"
    name = PurePath(path).name
    for suffix in (".gz", ".bz2", ".xz"):
        name = name.removesuffix(suffix)
    for suffix in (".jsonl", ".json", ".log", ".txt"):
        name = name.removesuffix(suffix)
    return name or path


def _parse(lines: Iterable[str], source: str) -> tuple[str, list[_Entry]]:
    kind: str | None = None
    entries: list[_Entry] = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        entry, entry_kind = _entry(line, source, number)
        if kind is None:
            kind = entry_kind
        elif entry_kind != kind:
            raise InputError(f"a {entry_kind}'s entry in a {kind}'s log", source=source, line=number)
        entries.append(entry)
    return kind or LANGUAGE_MODEL, entries


class _Fields:
    """One line's JSON object, its fields checked as they are read: a wrong one is an error at the line."""

    def __init__(self, line: str, source: str, number: int) -> None:
        self.source, self.line = source, number
        try:
            value = json.loads(line)
        except json.JSONDecodeError as exc:
            raise self.fail(f"not JSON ({exc.msg} at column {exc.colno})") from None
        except (ValueError, RecursionError):
            raise self.fail("not JSON") from None
        if not isinstance(value, dict):
            raise self.fail("not a JSON object")
        self.value: dict[str, object] = value

    def __contains__(self, key: str) -> bool:
        return key in self.value

    def fail(self, message: str) -> InputError:
        return InputError(message, source=self.source, line=self.line)

    def seconds(self, key: str) -> float:
        """A wall-clock time or a duration: seconds, from 0 to :data:`LONGEST_S`."""
        found = self._number(key)
        if found is None or not 0 <= found < LONGEST_S:
            raise self.fail(f"'{key}' must be seconds, from 0 to {LONGEST_S:g}, not {json.dumps(self.value[key])[:40]}")
        return found

    def loss(self, key: str) -> float:
        """A loss: NaN for null and for one that is not finite or beyond :data:`DIVERGED`."""
        found = self._number(key)
        if found is None:
            return math.nan
        if found < 0:
            raise self.fail(f"'{key}' must not be negative, not {json.dumps(self.value[key])[:40]}")
        return found if found < DIVERGED else math.nan

    def _number(self, key: str) -> float | None:
        """The number (infinite where it overflows a float), or None for null."""
        if key not in self.value:
            raise self.fail(f"no '{key}'")
        item = self.value[key]
        if item is None:
            return None
        if isinstance(item, bool) or not isinstance(item, int | float):
            raise self.fail(f"'{key}' must be a number, not {json.dumps(item)[:40]}")
        try:
            return float(item)
        except OverflowError:
            return math.inf

    def count(self, key: str, minimum: int) -> int:
        if key not in self.value:
            raise self.fail(f"no '{key}'")
        item = self.value[key]
        if isinstance(item, bool) or not isinstance(item, int) or not minimum <= item < _LARGEST:
            raise self.fail(f"'{key}' must be a whole number of at least {minimum}, not {json.dumps(item)[:40]}")
        return item


def _entry(line: str, source: str, number: int) -> tuple[_Entry, str]:
    fields = _Fields(line, source, number)
    if "step" in fields and ("loss" in fields or "valid_loss" in fields):
        validation = "valid_loss" in fields
        step = fields.count("step", 0 if validation else 1)
        loss = fields.loss("valid_loss" if validation else "loss")
        tokens = float(fields.count("tokens", 0)) if "tokens" in fields else None
        train, valid = (None, loss) if validation else (loss, None)
        return _Entry(number, step, fields.seconds("time"), train, valid, tokens, None), LANGUAGE_MODEL
    if "epoch" in fields and "loss" in fields and "seconds" in fields:
        epoch, seconds = fields.count("epoch", 1), fields.seconds("seconds")
        valid = fields.loss("valid_loss") if "valid_loss" in fields else None
        return _Entry(number, epoch, fields.seconds("time"), fields.loss("loss"), valid, None, seconds), CLASSIFIER
    raise fields.fail("not a training log's entry: no 'step' with 'loss' or 'valid_loss', nor a classifier's 'epoch', 'loss' and 'seconds'")


def _split(entries: list[_Entry]) -> list[tuple[list[_Entry], int]]:
    """The runs of a log, each its kept entries and how many it replaced (see the module's notes)."""
    groups: list[tuple[list[_Entry], int]] = []
    current: list[_Entry] = []
    replaced = 0
    last: int | None = None
    for entry in entries:
        if entry.trains:
            if entry.counter == 1 and last is not None:
                groups.append((current, replaced))
                current, replaced, last = [], 0, None
            elif last is not None and entry.counter <= last:
                while current and current[-1].counter >= entry.counter:
                    current.pop()
                    replaced += 1
            last = entry.counter
        current.append(entry)
    groups.append((current, replaced))
    return [group for group in groups if group[0]]


def _run(label: str, source: str, kind: str, entries: list[_Entry], replaced: int) -> Run:
    if kind == CLASSIFIER:
        seconds = np.cumsum([entry.seconds or 0.0 for entry in entries])
        pauses = 0
    else:
        seconds, pauses = _wall_time(entries)
    tokens_known = all(entry.tokens is not None for entry in entries)

    def points(losses: list[tuple[int, float | None]]) -> Points:
        chosen = [i for i, loss in losses if loss is not None]
        return Points(
            np.array([entries[i].counter for i in chosen], dtype=np.float64),
            np.array([entries[i].tokens for i in chosen], dtype=np.float64) if tokens_known else None,
            seconds[chosen] if chosen else np.empty(0),
            np.array([loss for _, loss in losses if loss is not None], dtype=np.float64),
        )

    train = points([(i, entry.train_loss) for i, entry in enumerate(entries)])
    valid = points([(i, entry.valid_loss) for i, entry in enumerate(entries)])
    return Run(label, source, kind, train, valid, pauses, replaced)


def _wall_time(entries: list[_Entry]) -> tuple[np.ndarray, int]:
    """Seconds into the run at each entry, and how many pauses were left out."""
    times = np.array([entry.time for entry in entries], dtype=np.float64)
    gaps = np.diff(times)
    if not len(gaps):
        return np.zeros(len(times)), 0
    between_steps = [gap for gap, a, b in zip(gaps, entries, entries[1:]) if a.trains and b.trains and gap >= 0]
    step = float(np.median(between_steps or np.abs(gaps)))
    limit = max(PAUSE_FACTOR * step, MIN_PAUSE_S)
    into_validation = np.array([not entry.trains for entry in entries[1:]])
    paused = (gaps < 0) | ((gaps > limit) & ~into_validation)
    counted = np.where(paused, step, gaps)
    return np.concatenate([[step], step + np.cumsum(counted)]), int(paused.sum())


def image_format(output: str) -> str:
    """The image format that ``output``'s name asks for: png, svg or pdf."""
    suffix = PurePath(output).suffix.lower().lstrip(".")
    if suffix not in IMAGE_FORMATS:
        raise ParameterError(
            f"the image format comes from the file's name: .png, .svg or .pdf, not '{PurePath(output).name}'", parameter="output"
        )
    return suffix


def smoothed(values: np.ndarray, window: int) -> np.ndarray:
    """The centered running mean of ``values`` over ``window`` points, NaNs left out of it (a
    point whose whole window is NaN stays NaN). At the start the window narrows and stays
    centered, so that the steep first fall is not pulled towards the lower losses after it; at
    the end it keeps its past half, so that the last point, the run's final loss, is a mean and
    not one noisy step."""
    if window <= 1 or len(values) == 0:
        return values.astype(np.float64)
    half = window // 2
    finite = np.isfinite(values)
    sums = np.concatenate([[0.0], np.cumsum(np.where(finite, values, 0.0))])
    counts = np.concatenate([[0], np.cumsum(finite)])
    index = np.arange(len(values))
    before = np.minimum(index, half)
    after = np.minimum(before, len(values) - 1 - index)
    low, high = index - before, index + after + 1
    n = counts[high] - counts[low]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n > 0, (sums[high] - sums[low]) / np.maximum(n, 1), np.nan)


def default_window(steps: int) -> int:
    """The running mean's window for runs of up to ``steps`` steps (one window for all, so that
    their curves compare): see :data:`SMOOTHING_SHARE`."""
    return max(1, steps // SMOOTHING_SHARE) | 1


def plot_curves(runs: Sequence[Run], output: str, *, x: str = "steps", smooth: int | None = None, title: str | None = None) -> list[str]:
    """Draw the runs' training loss (per step, faint, and its running mean over ``smooth`` steps,
    by default :func:`default_window`) and validation loss against ``x`` (one of :data:`AXES`)
    to ``output`` (atomically; the format by its name, see :func:`image_format`). Returns notes
    for the user: an axis a log cannot give, pauses left out, entries replaced."""
    if x not in AXES:
        raise ParameterError(f"x must be one of {', '.join(AXES)}, not '{x}'", parameter="x")
    if not runs:
        raise ParameterError("no runs to draw", parameter="logs")
    file_format = image_format(output)
    kinds = {run.kind for run in runs}
    if len(kinds) > 1:
        raise ParameterError("a classifier's log and a language model's do not share axes: plot them apart", parameter="logs")
    kind = kinds.pop()
    axis, notes = _axis(runs, x, kind)
    for run in runs:
        if run.replaced:
            entries = "entry" if run.replaced == 1 else "entries"
            notes.append(f"{run.label}: {run.replaced} {entries} replaced by a resumed run's, which went on from an earlier checkpoint")
        if axis == "time" and run.pauses:
            pauses = "a pause" if run.pauses == 1 else f"{run.pauses} pauses"
            notes.append(f"{run.label}: {pauses} (a stop and a resume, or a wait) left out of the wall time")

    from textseq.embed.plot import load_pyplot

    load_pyplot()
    import matplotlib.pyplot as plt

    from textseq.streams import atomic_write

    figure, axes = plt.subplots(figsize=(9, 5.5))
    try:
        _draw(axes, runs, axis, kind, smooth)
        if title:
            axes.set_title(title)
        figure.tight_layout()
        with atomic_write(output) as out:
            figure.savefig(out, format=file_format, dpi=150)
    finally:
        plt.close(figure)
    return notes


def _axis(runs: Sequence[Run], x: str, kind: str) -> tuple[str, list[str]]:
    """The axis the figure can have for ``x``, and what to say where it is not ``x``."""
    if kind == CLASSIFIER:
        if x == "time":
            return "time", []
        return "epochs", ([f"a classifier's log counts epochs, not {x}: plotting against epochs"] if x == "tokens" else [])
    if x == "tokens":
        without = [run.label for run in runs if run.train.tokens is None or run.valid.tokens is None]
        if without:
            return "steps", [
                f"{', '.join(without)}: no token counts in the log (written before textseq recorded them): plotting against steps"
            ]
    return x, []


def _x(points: Points, axis: str, scale: float) -> np.ndarray:
    if axis == "tokens" and points.tokens is not None:
        return points.tokens
    if axis == "time":
        return points.seconds / scale
    return points.steps


def _time_unit(runs: Sequence[Run]) -> tuple[float, str]:
    longest = max((float(run.train.seconds.max(initial=0.0)) for run in runs), default=0.0)
    longest = max([longest, *(float(run.valid.seconds.max(initial=0.0)) for run in runs)])
    if longest <= 180:
        return 1.0, "seconds"
    if longest <= 3 * 3600:
        return 60.0, "minutes"
    return 3600.0, "hours"


def _draw(axes: Axes, runs: Sequence[Run], axis: str, kind: str, smooth: int | None) -> None:
    from matplotlib.lines import Line2D
    from matplotlib.ticker import EngFormatter

    scale, unit = _time_unit(runs)
    language_model = kind == LANGUAGE_MODEL
    longest = max(len(run.train.loss) for run in runs)
    window = (default_window(longest) if smooth is None else max(smooth, 1)) if language_model else 1
    tops: list[float] = []
    bottoms: list[float] = []
    for index, run in enumerate(runs):
        color = f"C{index % 10}"
        train_x, loss = _x(run.train, axis, scale), run.train.loss
        line = smoothed(loss, window)
        if window > 1:
            axes.plot(train_x, loss, color=color, alpha=0.22, linewidth=0.6)
            axes.plot(train_x, line, color=color, linewidth=1.8)
        else:
            axes.plot(train_x, loss, color=color, linewidth=1.6, marker="o" if len(loss) <= 60 else None, markersize=3)
        valid_x, valid = _x(run.valid, axis, scale), run.valid.loss
        axes.plot(valid_x, valid, color=color, linestyle="--", linewidth=1.2, marker="o", markersize=4.5)
        shown = np.concatenate([line, valid])
        shown = shown[np.isfinite(shown)]
        if len(shown):
            tops.append(float(shown.max()))
            bottoms.append(float(shown.min()))
    if tops:
        low, high = min(bottoms), max(tops)
        margin = max(high - low, abs(high) * 0.01, 1e-6) * 0.06
        if math.isfinite(low - margin) and math.isfinite(high + margin):
            axes.set_ylim(low - margin, high + margin)
    axes.set_xlabel(
        {
            "steps": "training steps",
            "tokens": "tokens trained",
            "epochs": "epochs",
            "time": f"{'wall' if language_model else 'training'} time ({unit})",
        }[axis]
    )
    axes.set_xlim(left=0)
    if axis == "tokens":
        axes.xaxis.set_major_formatter(EngFormatter(sep=""))
    axes.set_ylabel("loss (nats per token)" if language_model else "loss (per example)")
    axes.grid(True, alpha=0.3)
    ink = "C0" if len(runs) == 1 else "0.35"
    every = "step" if language_model else "epoch"
    styles = []
    if window > 1:
        styles += [
            Line2D([], [], color=ink, linewidth=1.8, label=f"training loss, running mean of {window} steps"),
            Line2D([], [], color=ink, alpha=0.3, linewidth=0.8, label=f"training loss per {every}"),
        ]
    else:
        styles.append(Line2D([], [], color=ink, linewidth=1.6, label=f"training loss per {every}"))
    styles.append(Line2D([], [], color=ink, linestyle="--", marker="o", markersize=4.5, linewidth=1.2, label="validation loss"))
    if len(runs) > 1:
        names = [Line2D([], [], color=f"C{i % 10}", linewidth=2.5, label=run.label) for i, run in enumerate(runs)]
        axes.add_artist(axes.legend(handles=names, loc="upper right", fontsize=9))
        axes.legend(handles=styles, loc="lower left", fontsize=8, framealpha=0.8)
    else:
        axes.legend(handles=styles, loc="upper right", fontsize=9, title=runs[0].label, title_fontsize=9)
