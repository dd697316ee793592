"""``textseq classify train`` as one library call: labelled lines in, a saved classifier out.

:func:`train_classifier` reads and checks the examples, holds out a stratified validation share
when no validation file is given, numbers tokens and labels, weighs the classes, makes the
registered classifier (or takes it back from a resumable file), trains it with Ctrl-C and SIGTERM
taken between steps, calibrates it on the validation set, and writes the model file, and the
resumable one beside it when the run did not finish.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from textseq.classify.classifier import FitSettings, TrainingJob
from textseq.classify.data import DEFAULT_LABEL_PREFIX, Format, LabelledLine, LabelSet, read_labelled, stratified_split
from textseq.classify.examples import EncodedExamples, TokenTypes, encode_examples
from textseq.classify.saved import SavedClassifier, TokenizerSpec, check_compatible, load_classifier
from textseq.errors import InputError, ParameterError
from textseq.gcpause import gc_paused
from textseq.progress import Monitor
from textseq.stopping import StopRequest

if TYPE_CHECKING:
    from textseq.classify.calibration import Calibration
    from textseq.classify.classifier import Classifier

CLASS_WEIGHTS = ("none", "balanced")
VALID_SHARE = 0.1
CALIBRATION_MINIMUM = 50
"""Validation examples below which no temperature is fitted: on a handful of examples that the
model gets all right, the best temperature is as low as it may go, and the probabilities would
say certainty that no test would bear out."""


def last_path(output: str) -> str:
    """Where the resumable file goes: ``reviews.model`` -> ``reviews.last.model``."""
    from textseq.neural.train import last_path as neural_last_path

    return neural_last_path(output)


@dataclass
class TrainingResult:
    """What a run made: the saved classifier, where it went, and what the user should hear."""

    saved: SavedClassifier
    output: str
    finished: bool
    """Whether every epoch ran (not stopped by the time budget)."""
    valid_examples: int
    held_out: bool
    resumable: str | None = None
    notes: list[str] = field(default_factory=list)


def with_defaults(settings: FitSettings, suggested: Mapping[str, Any]) -> FitSettings:
    """``settings`` with the classifier's suggestions where the caller gave none (``tokenizer`` apart)."""
    fields = {key: value for key, value in suggested.items() if key != "tokenizer"}
    unknown = sorted(set(fields) - set(asdict(settings)))
    if unknown:
        raise ParameterError(f"the classifier suggests unknown training settings: {', '.join(unknown)}", parameter="arch")
    given = asdict(settings)
    return FitSettings(**{**given, **{key: value for key, value in fields.items() if given[key] is None}})


def train_classifier(
    train_lines: Iterable[str],
    *,
    arch: str,
    output: str,
    config: Mapping[str, Any] | None = None,
    valid_lines: Iterable[str] | None = None,
    tokenizer: TokenizerSpec | None = None,
    format: Format = "fasttext",
    label_prefix: str = DEFAULT_LABEL_PREFIX,
    settings: FitSettings | None = None,
    class_weight: str = "none",
    calibrate: bool = True,
    resume: str | None = None,
    monitor: Monitor | None = None,
    train_source: str = "<train>",
    valid_source: str = "<valid>",
) -> TrainingResult:
    """Train the classifier registered as ``arch`` (``config``: its ``-c`` options) on
    ``train_lines`` and write it to ``output``. ``class_weight`` is none, balanced (each label
    weighted by the inverse of its share), or a file of ``label weight`` lines. ``resume`` is a
    file of an earlier run (its resumable one, or its output) to go on from."""
    from textseq.plugins import get_plugins

    monitor = monitor or Monitor()
    settings = settings or FitSettings()
    registry = get_plugins().registry("classifier")
    if arch not in registry:
        raise ParameterError(f"unknown classifier {arch!r} (known: {', '.join(registry.names())})", parameter="arch")
    classifier: Classifier = registry.build(arch, config or {}, parameter="config")
    suggested = dict(registry.get(arch).metadata.get("train_defaults") or {})
    settings = with_defaults(settings, suggested)
    resumed = load_classifier(resume, writable=True) if resume is not None else None
    if resumed is not None:
        assert resume is not None
        check_compatible(resumed, arch, resume, tokenizer)
        tokenizer = resumed.tokenizer
    tokenizer = tokenizer or TokenizerSpec(str(suggested.get("tokenizer", "word")))
    tokenize = tokenizer.make()
    held_out = valid_lines is None
    with gc_paused():
        split = _read_examples(train_lines, valid_lines, format, label_prefix, settings.seed, train_source, valid_source)
        labels = resumed.labels if resumed is not None else LabelSet.from_examples(split.examples if held_out else split.train)
        notes = [split.note] if split.note else []
        for note in notes:
            monitor.note(note)
        types = TokenTypes()
        train = encode_examples(split.train, tokenize, labels, types, count=True, source=train_source)
        valid = encode_examples(split.valid, tokenize, labels, types, count=False, source=valid_source if not held_out else train_source)
        del split
    weights = class_weights(class_weight, train, labels)

    if resumed is not None:
        classifier = resumed.classifier
    from textseq.parts import part_origin

    saved = SavedClassifier(
        arch,
        classifier,
        tokenizer,
        labels,
        label_prefix,
        format,
        train.multi_label,
        None,
        part_origin("classifier", arch),
        {key: value for key, value in asdict(settings).items() if value is not None},
    )
    resumable = last_path(output)
    written: list[str] = []

    def checkpoint(final: bool) -> None:
        path = resumable if final else output
        saved.save(path)
        if path not in written:
            written.append(path)

    stop_request = StopRequest()
    job = TrainingJob(train, valid, labels, settings, monitor, weights, train.multi_label, checkpoint, stop_request.check, notes)
    try:
        classifier.fit(job)
    except KeyboardInterrupt:
        saved.save(resumable)
        raise
    finally:
        stop_request.restore()
    if calibrate and len(valid):
        saved.calibration = _calibrate(classifier, valid, labels, monitor)
    saved.metrics = dict(job.metrics)
    saved.save(output)
    if not job.finished or resumable in written or os.path.isfile(resumable):  # a stale one from an earlier stop is brought up to date
        saved.save(resumable)
        written.append(resumable)
    return TrainingResult(saved, output, job.finished, len(valid), held_out, resumable if resumable in written else None, notes)


@dataclass
class _Split:
    examples: list[LabelledLine]
    train: list[LabelledLine]
    valid: list[LabelledLine]
    note: str | None


def _read_examples(
    train_lines: Iterable[str],
    valid_lines: Iterable[str] | None,
    format: Format,
    label_prefix: str,
    seed: int,
    train_source: str,
    valid_source: str,
) -> _Split:
    """The training examples, and the validation ones: read from ``valid_lines``, or a stratified
    share of the training ones held out (and a note that says so)."""
    examples = list(read_labelled(train_lines, format=format, label_prefix=label_prefix, source=train_source))
    if not examples:
        raise InputError("no examples to train on (every line is blank)", source=train_source)
    if valid_lines is not None:
        return _Split(
            examples, examples, list(read_labelled(valid_lines, format=format, label_prefix=label_prefix, source=valid_source)), None
        )
    train, valid = stratified_split(examples, VALID_SHARE, seed)
    note = f"holding out {len(valid):,} of {len(examples):,} examples (10%, stratified by label) for validation; --valid FILE to choose"
    return _Split(examples, train, valid, note)


def _calibrate(classifier: Classifier, valid: EncodedExamples, labels: LabelSet, monitor: Monitor) -> Calibration:
    from textseq.classify.calibration import calibrate

    log_probs = classifier.log_probabilities(list(valid.texts()))
    gold = [valid.labels_of(i).tolist() for i in range(len(valid))]
    enough = len(valid) >= CALIBRATION_MINIMUM
    calibration = calibrate(log_probs, gold, independent=classifier.independent, labels=len(labels), fit=enough)
    if not enough:
        monitor.note(
            f"too few validation examples to fit a temperature on ({len(valid)} < {CALIBRATION_MINIMUM}): probabilities left as trained"
        )
    elif calibration.ece_before is not None and calibration.ece_after is not None:
        monitor.note(
            f"calibrated on {len(valid):,} validation examples: temperature {calibration.temperature:.3g}, "
            f"expected calibration error {calibration.ece_before:.4f} -> {calibration.ece_after:.4f}"
        )
    return calibration


def class_weights(choice: str, train: EncodedExamples, labels: LabelSet) -> np.ndarray | None:
    """One weight a label (float32, averaging 1 over the training examples' labels), or None for
    ``none``. ``balanced`` weighs each label by the inverse of its count (sklearn's
    ``n / (labels * count)``); anything else is a file of ``label weight`` lines (labels not in
    it weigh 1)."""
    if choice == "none":
        return None
    counts = train.label_counts(len(labels)).astype(np.float64)
    weights = counts.sum() / (len(labels) * np.maximum(counts, 1)) if choice == "balanced" else _weights_file(choice, labels)
    return weights.astype(np.float32)


def _weights_file(path: str, labels: LabelSet) -> np.ndarray:
    weights = np.ones(len(labels), dtype=np.float64)
    try:
        with open(path, encoding="utf-8") as handle:
            lines = handle.read().splitlines()
    except FileNotFoundError:
        raise ParameterError(
            f"must be none, balanced or a file of 'label weight' lines: {path!r} is none of them", parameter="class_weight"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read the class weights: {exc}", source=path) from None
    for number, line in enumerate(lines, 1):
        fields = line.split()
        if not fields or fields[0].startswith("#"):
            continue
        if len(fields) != 2:
            raise InputError("a class weight line is 'label weight'", source=path, line=number)
        name = fields[0].removeprefix(DEFAULT_LABEL_PREFIX)
        index = labels.id_of(name, source=path, line=number)
        try:
            value = float(fields[1])
        except ValueError:
            value = math.nan
        if not (math.isfinite(value) and value > 0):
            raise InputError(f"a class weight must be a number > 0, not {fields[1]!r}", source=path, line=number)
        weights[index] = value
    return weights
