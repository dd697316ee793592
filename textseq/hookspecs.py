"""The hooks through which every part of textseq is registered, built-in or third-party.

A plugin is a module (or object) with functions marked ``@hookimpl`` whose names are the hook
names below, published under the entry-point group ``textseq``::

    # pyproject.toml of a plugin
    [project.entry-points.textseq]
    shout = "textseq_shout"

    # textseq_shout.py
    from textseq import hookimpl

    @hookimpl
    def register_tokenizers(register):
        register("shout", ShoutTokenizer, help="upper-cased words")

Each ``register_*`` hook receives a ``register`` callback (the pattern of simonw/llm): the plugin
never touches a registry itself, so textseq knows which plugin registered what, keeps the first
of two registrations of one name (and warns about the other), and can drop everything from a
plugin that fails half-way.
The built-ins in :mod:`textseq.builtins` use exactly these hooks.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Protocol

import pluggy

if TYPE_CHECKING:
    import click
    from torch import nn

    from textseq.classify.classifier import Classifier
    from textseq.embed.embedder import Embedder
    from textseq.ngram.smoothers import Smoother
    from textseq.tokenize.base import Tokenizer

PROJECT = "textseq"
ENTRY_POINT_GROUP = "textseq"

hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


class RegisterTokenizer(Protocol):
    """``register(name, factory, *, help="")``.

    ``factory(**options) -> Tokenizer`` builds a tokenizer; ``options`` are the keyword options the
    user gave (``textseq tokenize -t NAME -p KEY=VALUE``). ``help`` is one line shown by
    ``textseq plugins``.
    """

    def __call__(self, name: str, factory: Callable[..., Tokenizer], *, help: str = "") -> None: ...


class RegisterSmoother(Protocol):
    """``register(name, factory, *, help="")``: ``factory(**options)`` returns a smoother
    (:class:`textseq.Smoother`), which turns n-gram counts into an ARPA-style backoff model."""

    def __call__(self, name: str, factory: Callable[..., Smoother], *, help: str = "") -> None: ...


class RegisterEmbedder(Protocol):
    """``register(name, factory, *, help="")``: ``factory(**options)`` returns an embedder.

    ``options`` are the ``-p KEY=VALUE`` pairs of ``textseq embed train`` (values read as JSON
    where they can) and the common flags the user gave (``negative``, ``hs``, ``sample``,
    ``epochs``, ``threads``); an option the factory does not take is a usage error that lists
    those it does, and so is a ``ValueError`` it raises for a bad value. The embedder
    (:class:`textseq.Embedder`) has ``train(corpus, *, dim, window, seed, monitor) -> Vectors``:
    ``corpus`` is a :class:`textseq.TrainingCorpus` (``words``, ``counts``, ``tokens`` and
    ``chunks()``, which replays the token stream once per call), ``monitor`` a
    :class:`textseq.Monitor` to report progress and each epoch's loss to, and the result a
    :class:`textseq.Vectors` with one row per word of ``corpus.words``."""

    def __call__(self, name: str, factory: Callable[..., Embedder], *, help: str = "") -> None: ...


class Architecture(Protocol):
    """``build(config, vocab_size) -> torch.nn.Module``: what ``register_architectures`` registers.

    ``config`` is the architecture's ``default_config`` with the user's ``-c KEY=VALUE`` over it
    (check it, and raise ``ValueError`` naming the option). The network follows the interface of
    :mod:`textseq.neural.models`: ``forward(tokens [T, B], state) -> (logits [T, B, V], state)``,
    ``state=None`` starting a stream and the batch on dimension 1 of every tensor in the state,
    and it has ``config`` (the resolved config) and ``vocab_size`` attributes.
    """

    def __call__(self, config: Mapping[str, Any], vocab_size: int, /) -> nn.Module: ...


class RegisterArchitecture(Protocol):
    """``register(name, build, *, default_config=None, train_defaults=None, help="")``.

    ``build(config, vocab_size) -> torch.nn.Module`` (an :class:`Architecture`) makes the network;
    ``default_config`` is a plain dict of JSON values (layers, sizes, dropout, ...) that a
    checkpoint stores so the model can be rebuilt. Import torch inside ``build``, not at module
    level: commands that need no torch must not pay for importing it. ``train_defaults`` are
    ``textseq train`` settings that suit the architecture (``{"bptt": 256, "lr": 1e-3}``: keys as
    the long options, dashes as underscores), used where the command line gives none; or such
    settings per token level, every key a level (``{"char": {...}, "word": {...}}``).
    """

    def __call__(
        self,
        name: str,
        build: Architecture,
        *,
        default_config: Mapping[str, Any] | None = None,
        train_defaults: Mapping[str, Any] | None = None,
        help: str = "",
    ) -> None: ...


class RegisterClassifier(Protocol):
    """``register(name, factory, *, train_defaults=None, help="")``.

    ``factory(**config) -> Classifier`` makes an untrained classifier
    (:class:`textseq.classify.classifier.Classifier`) from the user's ``-c KEY=VALUE`` options
    (raise ``ValueError`` naming a bad one); the model file stores the name and the classifier's
    resolved ``config``, and ``factory(**config)`` must rebuild it. For a neural network, make the
    factory with :func:`textseq.network_classifier` from a
    ``build(config, vocab_size, labels) -> torch.nn.Module`` and its default config: textseq's
    trainer does the rest. ``train_defaults`` are ``textseq classify train`` settings that suit
    the classifier (``{"epochs": 5, "lr": 0.1}``, keys as the long options with underscores, and
    ``tokenizer`` for the ``-t`` it wants), used where the command line gives none. Import torch
    or numba inside the factory, not at module level.
    """

    def __call__(
        self,
        name: str,
        factory: Callable[..., Classifier],
        *,
        train_defaults: Mapping[str, Any] | None = None,
        help: str = "",
    ) -> None: ...


@hookspec
def register_tokenizers(register: RegisterTokenizer) -> None:
    """Register tokenizers for ``textseq tokenize -t NAME`` and ``textseq detokenize``.

    Call ``register(name, factory, help=...)`` once per tokenizer. The factory takes keyword
    options and returns a :class:`textseq.tokenize.base.Tokenizer`, whose tokens never contain
    whitespace.
    """


@hookspec
def register_smoothers(register: RegisterSmoother) -> None:
    """Register smoothers (n-gram estimators: counts in, a backoff model out) for ``textseq ngram build --smoothing NAME``.

    Call ``register(name, factory, help=...)`` once per smoother.
    """


@hookspec
def register_embedders(register: RegisterEmbedder) -> None:
    """Register embedders, which train word vectors, for ``textseq embed train --method NAME``.

    Call ``register(name, factory, help=...)`` once per embedder.
    """


@hookspec
def register_architectures(register: RegisterArchitecture) -> None:
    """Register neural language-model architectures for ``textseq train --arch NAME``.

    Call ``register(name, build, default_config=..., help=...)`` once per architecture. A
    checkpoint records the architecture's name, so a checkpoint made with a plugin's architecture
    needs that plugin to load.
    """


@hookspec
def register_classifiers(register: RegisterClassifier) -> None:
    """Register text classifiers for ``textseq classify train --arch NAME``.

    Call ``register(name, factory, train_defaults=..., help=...)`` once per classifier. A model
    file records the classifier's name and the plugin that registered it, so a model made with a
    plugin's classifier needs that plugin to load.
    """


@hookspec
def register_commands(cli: click.Group) -> None:
    """Add click commands (or groups) to the ``textseq`` command line.

    Use ``@cli.command()`` or ``cli.add_command(...)``. A command named like an existing one is
    skipped with a warning that names both plugins. Keep imports inside the command function so
    that ``textseq --help`` stays fast.
    """
