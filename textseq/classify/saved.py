"""A trained classifier as a file: the classifier (its registered name, config and state), the
tokenizer that made its tokens, its labels, its calibration; written and read through
:mod:`textseq.classify.model_file` (no pickle, no torch needed to open it).

``meta`` of the file (format ``textseq-classifier``)::

    classifier, config, plugin      the registered name, its resolved config, the plugin that registers it
    tokenizer                       {"name", "options"}; a sentencepiece model's bytes are the array "tokenizer/model"
    labels, label_prefix, format    the label names (ids in order), how labelled lines were written
    multi_label, independent        the training data had multi-label lines; the outputs are per-label sigmoids
    calibration                     temperature, thresholds and the ECE before and after (None: uncalibrated)
    settings, state, metrics        the training options, the classifier's own state (progress included), figures
"""

from __future__ import annotations

import functools
import math
import typing
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from textseq.classify.data import DEFAULT_LABEL_PREFIX, FORMATS, Format, LabelSet
from textseq.classify.model_file import read_model_file, write_model_file
from textseq.errors import InputError, ParameterError, TextseqError

if TYPE_CHECKING:
    from textseq.classify.calibration import Calibration
    from textseq.classify.classifier import Classifier
    from textseq.tokenize.base import Tokenizer

FORMAT = "textseq-classifier"
TOKENIZER_MODEL = "tokenizer/model"


@dataclass
class TokenizerSpec:
    """How to make the tokenizer again: its registered name and options (a sentencepiece model's
    bytes apart, in ``model``)."""

    name: str = "word"
    options: dict[str, Any] = field(default_factory=dict)
    model: bytes | None = None

    def make(self, *, parameter: str | None = "tokenizer") -> Tokenizer:
        from textseq.plugins import get_plugins

        options = dict(self.options)
        if self.model is not None:
            options["model"] = self.model
        tokenizer: Tokenizer = get_plugins().registry("tokenizer").build(self.name, options, parameter=parameter)
        return tokenizer


@dataclass
class SavedClassifier:
    """A classifier with everything that prediction needs around it."""

    name: str
    classifier: Classifier
    tokenizer: TokenizerSpec
    labels: LabelSet
    label_prefix: str = DEFAULT_LABEL_PREFIX
    format: Format = "fasttext"
    multi_label: bool = False
    calibration: Calibration | None = None
    plugin: dict[str, str | None] | None = None
    settings: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)

    @functools.cached_property
    def text_tokenizer(self) -> Tokenizer:
        """The tokenizer, made once."""
        return self.tokenizer.make()

    def log_probabilities(self, texts: Sequence[Sequence[str]]) -> np.ndarray:
        """Calibrated log-probabilities ``[len(texts), labels]``."""
        log_probs = self.classifier.log_probabilities(texts)
        if self.calibration is not None and self.calibration.temperature != 1.0:
            from textseq.classify.calibration import apply_temperature

            log_probs = apply_temperature(log_probs, self.calibration.temperature, independent=self.classifier.independent)
        return log_probs

    @property
    def thresholds(self) -> np.ndarray | None:
        if self.calibration is None or self.calibration.thresholds is None:
            return None
        return np.asarray(self.calibration.thresholds, dtype=np.float64)

    def save(self, path: str) -> None:
        state, arrays = self.classifier.state()
        from textseq.classify.model_file import flatten

        stored: dict[str, np.ndarray] = {}
        state_tree = flatten(state, "state", stored)
        for name, array in arrays.items():
            flatten(array, f"classifier/{name}", stored)
        if self.tokenizer.model is not None:
            stored[TOKENIZER_MODEL] = np.frombuffer(self.tokenizer.model, dtype=np.uint8)
        meta = {
            "format": FORMAT,
            "classifier": self.name,
            "config": self.classifier.config,
            "plugin": self.plugin,
            "tokenizer": {"name": self.tokenizer.name, "options": self.tokenizer.options, "plugin": _tokenizer_origin(self.tokenizer.name)},
            "labels": list(self.labels.names),
            "label_prefix": self.label_prefix,
            "format_of_lines": self.format,
            "multi_label": self.multi_label,
            "independent": bool(self.classifier.independent),
            "calibration": self.calibration.to_dict() if self.calibration is not None else None,
            "settings": _plain(self.settings),
            "state": state_tree,
            "metrics": _plain(self.metrics),
        }
        write_model_file(path, meta, stored)


def _tokenizer_origin(name: str) -> dict[str, str | None] | None:
    from textseq.parts import part_origin

    return part_origin("tokenizer", name)


def _plain(values: dict[str, Any]) -> dict[str, Any]:
    """JSON-safe: non-finite numbers become None."""
    return {key: None if isinstance(value, float) and not math.isfinite(value) else value for key, value in values.items()}


def load_classifier(path: str, *, writable: bool = False) -> SavedClassifier:
    """The classifier saved at ``path``; one :class:`InputError` naming the file for anything
    wrong with it (a missing plugin names the package to install)."""
    from textseq.classify.model_file import unflatten
    from textseq.parts import registered_part

    stored = read_model_file(path, writable=writable)
    meta = stored.meta
    if meta.get("format") != FORMAT:
        raise InputError(f"not a textseq classifier (format {meta.get('format')!r})", source=path)
    name = _entry(meta, "classifier", str, path)
    config = _entry(meta, "config", dict, path)
    plugin = meta.get("plugin")
    if plugin is not None and not (isinstance(plugin, dict) and all(isinstance(v, (str, type(None))) for v in plugin.values())):
        raise InputError("the model file's 'plugin' entry is damaged", source=path)
    labels = _labels(meta, path)
    tokenizer = _tokenizer(meta, stored.arrays, path)
    registration = registered_part("classifier", name, source=path, origin=plugin)
    try:
        classifier: Classifier = registration.implementation(**config)
    except (TypeError, ValueError) as exc:
        raise InputError(f"the model file's config does not make a '{name}' classifier: {exc}", source=path) from None
    state = unflatten(meta.get("state"), stored.arrays, path)
    if not isinstance(state, dict):
        raise InputError("the model file's classifier state is damaged", source=path)
    prefix = "classifier/"
    arrays = {key[len(prefix) :]: value for key, value in stored.arrays.items() if key.startswith(prefix)}
    try:
        classifier.restore(state, arrays, labels, path)
    except TextseqError:
        raise
    except (KeyError, TypeError, ValueError, IndexError, RuntimeError) as exc:
        raise InputError(f"the model file's classifier state is damaged ({exc})", source=path) from None
    independent = _entry(meta, "independent", bool, path)
    if bool(classifier.independent) != independent:
        raise InputError("the model file's 'independent' entry does not match its classifier", source=path)
    calibration = _calibration(meta.get("calibration"), len(labels), path)
    label_prefix = _entry(meta, "label_prefix", str, path)
    line_format = _entry(meta, "format_of_lines", str, path)
    if line_format not in FORMATS or not label_prefix:
        raise InputError("the model file's line format is damaged", source=path)
    saved = SavedClassifier(
        name,
        classifier,
        tokenizer,
        labels,
        label_prefix,
        typing.cast("Format", line_format),
        _entry(meta, "multi_label", bool, path),
        calibration,
        plugin,
        _dict(meta.get("settings")),
        _dict(meta.get("metrics")),
    )
    try:
        saved.text_tokenizer  # noqa: B018 - made now, so that a file naming a tokenizer that cannot be made fails here, naming the file
    except ParameterError as exc:
        raise InputError(f"the model file's tokenizer cannot be made: {exc.message}", source=path) from None
    except (OSError, RuntimeError) as exc:
        raise InputError(f"the model file's tokenizer cannot be made: {exc}", source=path) from None
    return saved


def _dict(value: object) -> dict[str, Any]:
    return dict(value) if isinstance(value, dict) else {}


def _entry(meta: dict[str, Any], key: str, kind: type, path: str) -> Any:
    value = meta.get(key)
    if not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)):
        raise InputError(f"the model file's '{key}' entry is missing or damaged", source=path)
    return value


def _labels(meta: dict[str, Any], path: str) -> LabelSet:
    names = meta.get("labels")
    if not isinstance(names, list) or not names or not all(isinstance(n, str) and n and not any(c.isspace() for c in n) for n in names):
        raise InputError("the model file's label list is missing or damaged", source=path)
    try:
        return LabelSet(names)
    except ValueError:
        raise InputError("the model file's label list has a label twice", source=path) from None


def _tokenizer(meta: dict[str, Any], arrays: dict[str, np.ndarray], path: str) -> TokenizerSpec:
    spec = meta.get("tokenizer")
    if not isinstance(spec, dict) or not isinstance(spec.get("name"), str) or not isinstance(spec.get("options"), dict):
        raise InputError("the model file's tokenizer entry is missing or damaged", source=path)
    from textseq.parts import registered_part

    origin = spec.get("plugin")
    registered_part("tokenizer", spec["name"], source=path, origin=origin if isinstance(origin, dict) else None)
    model = arrays.get(TOKENIZER_MODEL)
    return TokenizerSpec(spec["name"], dict(spec["options"]), bytes(model) if model is not None else None)


def _calibration(entry: object, labels: int, path: str) -> Calibration | None:
    if entry is None:
        return None
    from textseq.classify.calibration import Calibration

    if not isinstance(entry, dict):
        raise InputError("the model file's calibration is damaged", source=path)
    return Calibration.from_dict(entry, path, labels=labels)


def check_compatible(saved: SavedClassifier, name: str, path: str, tokenizer: TokenizerSpec | None = None) -> None:
    """That a run resuming from ``saved`` trains the classifier it was started with, on the
    tokens it was started with (``tokenizer``: the one asked for, None for none in particular)."""
    if saved.name != name:
        raise ParameterError(f"{path} holds a '{saved.name}' classifier, not '{name}'", parameter="arch")
    if tokenizer is not None and (tokenizer.name, tokenizer.options, tokenizer.model) != (
        saved.tokenizer.name,
        saved.tokenizer.options,
        saved.tokenizer.model,
    ):
        raise ParameterError(
            f"{path} was trained on '{saved.tokenizer.name}' tokens; a resumed run keeps its tokenizer", parameter="tokenizer"
        )
