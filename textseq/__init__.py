"""textseq: the classic sequence models of text, as Unix-pipe commands extended by plugins.

The public API is what ``__all__`` names, imported from here (``from textseq import Tokenizer,
hookimpl``): what a plugin implements, what its parts are given and give back, the errors to
raise, and what a plugin's tests use. Every module is otherwise free to change between releases;
the command line is the user's interface, its modules (``textseq.cli``) are private.

The names are imported when first used, so that ``import textseq`` stays cheap: it imports
neither torch nor numpy (``textseq tokenize`` must not pay for them).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_PUBLIC: dict[str, str] = {
    # writing a plugin: the hook marker, the register callbacks, the parts' interfaces
    "hookimpl": "textseq.hookspecs",
    "RegisterTokenizer": "textseq.hookspecs",
    "RegisterSmoother": "textseq.hookspecs",
    "RegisterEmbedder": "textseq.hookspecs",
    "RegisterArchitecture": "textseq.hookspecs",
    "RegisterClassifier": "textseq.hookspecs",
    "Tokenizer": "textseq.tokenize.base",
    "Smoother": "textseq.ngram.smoothers",
    "Embedder": "textseq.embed.embedder",
    "Architecture": "textseq.hookspecs",
    "LanguageModel": "textseq.lm",
    "open_model": "textseq.lm",
    "Classifier": "textseq.classify.classifier",
    # an architecture's options, checked as the built-in ones are
    "resolve_options": "textseq.neural.config",
    "OptionKind": "textseq.neural.config",
    "Size": "textseq.neural.config",
    "Probability": "textseq.neural.config",
    "Flag": "textseq.neural.config",
    "Choice": "textseq.neural.config",
    # a classifier network trained by textseq's trainer
    "network_classifier": "textseq.classify.network",
    # what the parts are given and give back
    "NgramCounts": "textseq.ngram.counts",
    "BackoffModel": "textseq.ngram.model",
    "TrainingCorpus": "textseq.embed.corpus",
    "Vectors": "textseq.embed.vectors",
    "Monitor": "textseq.progress",
    "EpochReport": "textseq.progress",
    "TrainingJob": "textseq.classify.classifier",
    "FitSettings": "textseq.classify.classifier",
    # building blocks: a classic smoother to build one on, counts and a corpus to test parts with
    "AddK": "textseq.ngram.classic",
    "corpus_from_blocks": "textseq.ngram.corpus",
    "count_ngrams": "textseq.ngram.counts",
    "training_corpus": "textseq.embed.corpus",
    "train_classifier": "textseq.classify.training",
    "load_classifier": "textseq.classify.saved",
    # the errors textseq reports in one line
    "TextseqError": "textseq.errors",
    "InputError": "textseq.errors",
    "OutputError": "textseq.errors",
    "ParameterError": "textseq.errors",
    "PluginError": "textseq.errors",
    "UnknownNameError": "textseq.errors",
    # testing a plugin in-process
    "Plugins": "textseq.plugins",
    "set_plugins": "textseq.plugins",
    "build_cli": "textseq.cli",
}
"""Each public name and the module that defines it."""

__all__ = [
    "__version__",
    "hookimpl",
    "RegisterTokenizer",
    "RegisterSmoother",
    "RegisterEmbedder",
    "RegisterArchitecture",
    "RegisterClassifier",
    "Tokenizer",
    "Smoother",
    "Embedder",
    "Architecture",
    "LanguageModel",
    "open_model",
    "Classifier",
    "resolve_options",
    "OptionKind",
    "Size",
    "Probability",
    "Flag",
    "Choice",
    "network_classifier",
    "NgramCounts",
    "BackoffModel",
    "TrainingCorpus",
    "Vectors",
    "Monitor",
    "EpochReport",
    "TrainingJob",
    "FitSettings",
    "AddK",
    "corpus_from_blocks",
    "count_ngrams",
    "training_corpus",
    "train_classifier",
    "load_classifier",
    "TextseqError",
    "InputError",
    "OutputError",
    "ParameterError",
    "PluginError",
    "UnknownNameError",
    "Plugins",
    "set_plugins",
    "build_cli",
]
"""Written out for type checkers; the same names as ``_PUBLIC`` (a test checks)."""

if TYPE_CHECKING:
    from textseq.classify.classifier import Classifier, FitSettings, TrainingJob
    from textseq.classify.network import network_classifier
    from textseq.classify.saved import load_classifier
    from textseq.classify.training import train_classifier
    from textseq.cli import build_cli
    from textseq.embed.corpus import TrainingCorpus, training_corpus
    from textseq.embed.embedder import Embedder
    from textseq.embed.vectors import Vectors
    from textseq.errors import InputError, OutputError, ParameterError, PluginError, TextseqError, UnknownNameError
    from textseq.hookspecs import (
        Architecture,
        RegisterArchitecture,
        RegisterClassifier,
        RegisterEmbedder,
        RegisterSmoother,
        RegisterTokenizer,
        hookimpl,
    )
    from textseq.lm import LanguageModel, open_model
    from textseq.neural.config import Choice, Flag, OptionKind, Probability, Size, resolve_options
    from textseq.ngram.classic import AddK
    from textseq.ngram.corpus import corpus_from_blocks
    from textseq.ngram.counts import NgramCounts, count_ngrams
    from textseq.ngram.model import BackoffModel
    from textseq.ngram.smoothers import Smoother
    from textseq.plugins import Plugins, set_plugins
    from textseq.progress import EpochReport, Monitor
    from textseq.tokenize.base import Tokenizer


def __getattr__(name: str) -> Any:
    module = _PUBLIC.get(name)
    if module is None:
        raise AttributeError(f"module 'textseq' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_PUBLIC})
