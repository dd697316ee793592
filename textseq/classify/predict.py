"""Answers of a saved classifier: predictions for a stream of lines, and the test report of a
labelled file.

Lines are taken a block at a time, as many as the input has ready (see
:func:`textseq.streams.iter_blocks`): a file goes by in large batches, while a program that
writes one line and waits for its answer gets it before it writes the next.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from textseq.classify.data import LabelledLine, read_labelled
from textseq.classify.examples import tokenized
from textseq.classify.metrics import ClassificationReport, evaluate
from textseq.classify.saved import SavedClassifier
from textseq.errors import InputError, ParameterError
from textseq.streams import STDIN_NAME

BATCH_LINES = 4096


@dataclass(frozen=True)
class Prediction:
    """The labels chosen for one line (ids, most probable first) and their probabilities."""

    labels: tuple[int, ...]
    probabilities: tuple[float, ...]


@dataclass(frozen=True)
class Choice:
    """How labels are chosen from probabilities: at most ``k`` (None: 1 for one distribution, all
    for independent labels), each at least ``threshold`` (None: the thresholds tuned on
    validation for independent labels, else 0)."""

    k: int | None = None
    threshold: float | None = None

    def __post_init__(self) -> None:
        if self.k is not None and self.k < 1:
            raise ParameterError(f"must be at least 1, not {self.k}", parameter="k")
        if self.threshold is not None and not 0 <= self.threshold <= 1:
            raise ParameterError(f"must be a probability from 0 to 1, not {self.threshold}", parameter="threshold")


def choose(probabilities: np.ndarray, saved: SavedClassifier, choice: Choice) -> list[Prediction]:
    """The labels ``choice`` takes from each row of ``probabilities``."""
    independent = saved.classifier.independent
    k = choice.k if choice.k is not None else (probabilities.shape[1] if independent else 1)
    k = min(k, probabilities.shape[1])
    if choice.threshold is not None:
        floor: np.ndarray | float = choice.threshold
    elif independent and saved.thresholds is not None:
        floor = saved.thresholds
    else:
        floor = 0.0
    top = np.argsort(-probabilities, axis=1, kind="stable")[:, :k]
    chosen = np.take_along_axis(probabilities, top, axis=1)
    passing = chosen >= (floor[top] if isinstance(floor, np.ndarray) else floor)
    return [
        Prediction(tuple(int(label) for label in row[keep]), tuple(float(p) for p in values[keep]))
        for row, values, keep in zip(top, chosen, passing)
    ]


def _texts(saved: SavedClassifier, examples: Sequence[LabelledLine]) -> list[list[str]]:
    return tokenized(saved.text_tokenizer, [example.text for example in examples])


def predict_examples(saved: SavedClassifier, examples: Sequence[LabelledLine], choice: Choice) -> list[Prediction]:
    if not examples:
        return []
    probabilities = np.exp(saved.log_probabilities(_texts(saved, examples)))
    return choose(probabilities, saved, choice)


def predict_blocks(
    saved: SavedClassifier, blocks: Iterable[str], choice: Choice, *, source: str = STDIN_NAME
) -> Iterator[list[Prediction | None]]:
    """For each block of lines (as :func:`textseq.streams.iter_blocks` gives them), one entry a
    line in order: its prediction, or None for a blank line (which prediction answers with an
    empty line, so that answers and lines stay paired). Labels on the lines are ignored."""
    done = 0
    for block in blocks:
        lines = block.split("\n")
        if lines and lines[-1] == "":
            lines.pop()
        answers: list[Prediction | None] = [None] * len(lines)
        examples = read_labelled(
            lines, format=saved.format, label_prefix=saved.label_prefix, source=source, require_labels=False, first_line=done + 1
        )
        batch: list[LabelledLine] = []
        for example in itertools.chain(examples, [None]):
            if example is not None:
                batch.append(example)
            if batch and (example is None or len(batch) >= BATCH_LINES):
                for item, prediction in zip(batch, predict_examples(saved, batch, choice)):
                    answers[item.line - done - 1] = prediction
                batch = []
        done += len(lines)
        yield answers


def format_prediction(prediction: Prediction | None, saved: SavedClassifier, *, probabilities: bool, as_json: bool) -> str:
    """One output line (without its newline): ``__label__x`` tokens, with ``probabilities`` each
    followed by its probability, or a JSON object."""
    if prediction is None:
        return json.dumps({"labels": [], "probabilities": []}) if as_json else ""
    names = [saved.labels.name_of(label) for label in prediction.labels]
    if as_json:
        return json.dumps({"labels": names, "probabilities": [round(p, 6) for p in prediction.probabilities]}, ensure_ascii=False)
    prefix = saved.label_prefix if saved.format == "fasttext" else ""
    if probabilities:
        return " ".join(f"{prefix}{name} {p:.6g}" for name, p in zip(names, prediction.probabilities))
    return " ".join(prefix + name for name in names)


def evaluate_classifier(saved: SavedClassifier, lines: Iterable[str], *, k: int = 1, source: str = STDIN_NAME) -> ClassificationReport:
    """The report of ``saved`` on the labelled ``lines`` (fastText's ``test``, and more): every
    label must be one the model knows (an :class:`~textseq.errors.InputError` at its line). P@k
    and R@k take the top ``k`` labels, as fastText's; a multi-label model's F1 and per-label table
    score the labels its thresholds pick, as ``predict`` gives them."""
    if k < 1:
        raise ParameterError(f"must be at least 1, not {k}", parameter="k")
    gold: list[list[int]] = []
    predicted: list[list[int]] = []
    chosen: list[list[int]] = []
    tops: list[np.ndarray] = []
    batch: list[LabelledLine] = []
    independent = saved.classifier.independent

    def flush() -> None:
        probabilities = np.exp(saved.log_probabilities(_texts(saved, batch)))
        predicted.extend(list(prediction.labels) for prediction in choose(probabilities, saved, Choice(k, 0.0)))
        if independent:
            chosen.extend(list(prediction.labels) for prediction in choose(probabilities, saved, Choice()))
        tops.append(probabilities)
        batch.clear()

    for example in read_labelled(lines, format=saved.format, label_prefix=saved.label_prefix, source=source):
        gold.append([saved.labels.id_of(name, source=source, line=example.line) for name in example.labels])
        batch.append(example)
        if len(batch) >= BATCH_LINES:
            flush()
    if batch:
        flush()
    if not gold:
        raise InputError("no labelled lines to test on (every line is blank)", source=source)
    probabilities = np.concatenate(tops)
    return evaluate(
        gold,
        predicted,
        probabilities,
        saved.labels.names,
        k=k,
        multi_label=saved.multi_label or None,
        chosen=chosen if independent else None,
    )
