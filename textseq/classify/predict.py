"""Answers of a saved classifier: predictions for a stream of lines, and the test report of a
labelled file.

Lines are taken a block at a time, as many as the input has ready (see
:func:`textseq.streams.iter_blocks`): a file goes by in large batches, while a program that
writes one line and waits for its answer gets it before it writes the next.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from textseq.classify.data import LabelledLine, read_labelled, text_tokens
from textseq.classify.examples import tokenized
from textseq.classify.metrics import ClassificationReport, evaluate
from textseq.classify.saved import SavedClassifier
from textseq.errors import InputError, ParameterError
from textseq.gcpause import gc_paused
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
    width = probabilities.shape[1]
    k = min(choice.k if choice.k is not None else (width if independent else 1), width)
    if choice.threshold is not None:
        floor: np.ndarray | float = choice.threshold
    elif independent and saved.thresholds is not None:
        floor = saved.thresholds
    else:
        floor = 0.0
    top = probabilities.argmax(axis=1)[:, None] if k == 1 else np.argsort(-probabilities, axis=1, kind="stable")[:, :k]
    chosen = np.take_along_axis(probabilities, top, axis=1)
    passing = chosen >= (floor[top] if isinstance(floor, np.ndarray) else floor)
    if passing.all():
        return [Prediction(tuple(labels), tuple(values)) for labels, values in zip(top.tolist(), chosen.tolist())]
    return [
        Prediction(tuple(label for label, keep in zip(labels, kept) if keep), tuple(p for p, keep in zip(values, kept) if keep))
        for labels, values, kept in zip(top.tolist(), chosen.tolist(), passing.tolist())
    ]


def _texts(saved: SavedClassifier, examples: Sequence[LabelledLine]) -> list[list[str]]:
    return tokenized(saved.text_tokenizer, [example.text for example in examples])


def predict_tokens(saved: SavedClassifier, texts: Sequence[list[str]], choice: Choice) -> list[Prediction]:
    """The predictions for texts given as their fastText tokens (as :func:`text_tokens` gives them),
    tokenized by the model's tokenizer."""
    if not texts:
        return []
    tokenizer = saved.text_tokenizer
    if tokenizer.name != "whitespace":
        texts = tokenized(tokenizer, [" ".join(tokens) for tokens in texts])
    probabilities = np.exp(saved.log_probabilities(texts))
    return choose(probabilities, saved, choice)


def predict_blocks(saved: SavedClassifier, blocks: Iterable[str], choice: Choice) -> Iterator[list[Prediction | None]]:
    """For each block of lines (as :func:`textseq.streams.iter_blocks` gives them), one entry a
    line in order: its prediction, or None for a blank line (which prediction answers with an
    empty line, so that answers and lines stay paired). Labels on the lines are ignored."""
    line_format, prefix = saved.format, saved.label_prefix
    for block in blocks:
        lines = block.split("\n")
        if lines and lines[-1] == "":
            lines.pop()
        answers: list[Prediction | None] = [None] * len(lines)
        for start in range(0, len(lines), BATCH_LINES):
            tokens = [text_tokens(line, format=line_format, label_prefix=prefix) for line in lines[start : start + BATCH_LINES]]
            kept = [at for at, found in enumerate(tokens, start) if found is not None]
            for at, prediction in zip(kept, predict_tokens(saved, [tokens[at - start] or [] for at in kept], choice)):
                answers[at] = prediction
        yield answers


def format_prediction(prediction: Prediction | None, saved: SavedClassifier, *, probabilities: bool, as_json: bool) -> str:
    """One output line (without its newline): ``__label__x`` tokens (bare labels for a tsv
    model), with ``probabilities`` each followed by its probability, or a JSON object."""
    if prediction is None:
        return json.dumps({"labels": [], "probabilities": []}) if as_json else ""
    names = saved.labels.names
    if as_json:
        return json.dumps(
            {"labels": [names[label] for label in prediction.labels], "probabilities": [round(p, 6) for p in prediction.probabilities]},
            ensure_ascii=False,
        )
    prefix = saved.label_prefix if saved.format == "fasttext" else ""
    if probabilities:
        return " ".join(f"{prefix}{names[label]} {p:.6g}" for label, p in zip(prediction.labels, prediction.probabilities))
    if len(prediction.labels) == 1:
        return prefix + names[prediction.labels[0]]
    return " ".join(prefix + names[label] for label in prediction.labels)


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

    with gc_paused():
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
