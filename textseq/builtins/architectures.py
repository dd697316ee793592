"""The built-in neural language-model architectures: ``rnn``, ``lstm``, ``gru``, ``nplm`` and the
named presets (``char-small``, ``word-medium``, ...), each registered under its own name.

This module is the plugin's manifest: the option tables, the presets and the checks of a config
are plain Python, so registering and listing the architectures (``textseq plugins``) never
imports torch. The networks themselves are in :mod:`textseq.neural.models`, imported by ``build``
when a model is made.

A preset is a registered architecture like the others, in the style of fairseq's architecture
presets: its ``default_config`` is the base architecture's defaults with the preset's values over
them, its ``build`` makes the base architecture, and options given on top of it
(``textseq train --arch word-medium -c dropout=0.5``) override the preset's. A checkpoint records
the name it was trained under and the whole config, so it rebuilds the same network.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Mapping
from typing import Any

from textseq.hookspecs import RegisterArchitecture, hookimpl

RECURRENT_DEFAULTS: dict[str, Any] = {
    "embedding_size": 128,
    "hidden_size": 256,
    "layers": 2,
    "dropout": 0.1,
    "locked_dropout": 0.0,
    "embedding_dropout": 0.0,
    "weight_drop": 0.0,
    "tie_weights": False,
    "residual": False,
}
"""The options of ``rnn``, ``lstm`` and ``gru`` (``rnn`` adds ``nonlinearity``), sized for a small
character model."""

NPLM_DEFAULTS: dict[str, Any] = {
    "context": 5,
    "embedding_size": 64,
    "hidden_size": 256,
    "dropout": 0.1,
    "direct": False,
    "tie_weights": False,
}
"""The options of ``nplm``, the fixed-window model of Bengio et al. (2003)."""

ARCHITECTURES: dict[str, tuple[dict[str, Any], str]] = {
    "rnn": ({**RECURRENT_DEFAULTS, "nonlinearity": "tanh"},
            "Elman RNN (torch nn.RNN; -c nonlinearity=tanh|relu), options as lstm"),
    "lstm": (RECURRENT_DEFAULTS,
             "LSTM (torch nn.LSTM, cuDNN on GPU): -c embedding_size=128 hidden_size=256 layers=2 dropout=0.1 "
             "locked_dropout=0 embedding_dropout=0 weight_drop=0 tie_weights=false residual=false"),
    "gru": (RECURRENT_DEFAULTS, "GRU (torch nn.GRU, cuDNN on GPU), options as lstm"),
    "nplm": (NPLM_DEFAULTS,
             "fixed-window neural LM (Bengio et al. 2003): -c context=5 embedding_size=64 hidden_size=256 dropout=0.1 "
             "direct=false tie_weights=false"),
}
"""Each base architecture: (default config, one line of help)."""

PRESETS: dict[str, tuple[str, dict[str, Any]]] = {
    "char-small": ("lstm", {"embedding_size": 64, "hidden_size": 256, "layers": 2, "dropout": 0.1}),
    "char-medium": ("lstm", {"embedding_size": 128, "hidden_size": 512, "layers": 2, "dropout": 0.2}),
    "char-large": ("lstm", {"embedding_size": 256, "hidden_size": 1024, "layers": 3, "dropout": 0.25}),
    "word-small": ("lstm", {"embedding_size": 128, "hidden_size": 128, "layers": 2, "dropout": 0.2, "tie_weights": True}),
    "word-medium": ("lstm", {"embedding_size": 200, "hidden_size": 200, "layers": 2, "dropout": 0.2, "tie_weights": True}),
    "word-large": ("lstm", {"embedding_size": 650, "hidden_size": 650, "layers": 2, "dropout": 0.5, "tie_weights": True}),
    "word-nplm": ("nplm", {"context": 5, "embedding_size": 100, "hidden_size": 200, "dropout": 0.2, "direct": True,
                           "tie_weights": False}),
}
"""Each preset: (base architecture, the options it sets). ``word-medium`` is the settings of PyTorch's
word_language_model example (2-layer LSTM 200/200, dropout 0.2, tied); ``word-large`` is the medium
model of Zaremba et al. (2014), tied."""

PRESET_HELP: dict[str, str] = {
    "char-small": "preset: lstm, 2 layers of 256, embedding 64, dropout 0.1",
    "char-medium": "preset: lstm, 2 layers of 512, embedding 128, dropout 0.2",
    "char-large": "preset: lstm, 3 layers of 1024, embedding 256, dropout 0.25 (for a GPU)",
    "word-small": "preset: lstm, 2 layers of 128, embedding 128, dropout 0.2, tied",
    "word-medium": "preset: lstm, 2 layers of 200, embedding 200, dropout 0.2, tied (PyTorch's word_language_model)",
    "word-large": "preset: lstm, 2 layers of 650, embedding 650, dropout 0.5, tied (Zaremba et al. 2014, medium)",
    "word-nplm": "preset: nplm, 5 words of context, embedding 100, hidden 200, dropout 0.2, direct connections",
}

CHAR_TRAINING: dict[str, Any] = {"batch_size": 32, "bptt": 64, "optimizer": "adamw", "lr": 0.002, "schedule": "cosine"}
"""The training settings the character presets bring (``textseq train`` uses them where the command
line gives none): the recipe that took char-medium to 1.44 nats/char on tinyshakespeare in 20
minutes on two cores (bench/neural-char)."""

_SIZES: dict[str, int] = {"embedding_size": 1 << 16, "hidden_size": 1 << 16, "layers": 64, "context": 1024}
"""Each size option and its largest value: far beyond any network these commands train, and small
enough that the shapes a checkpoint's config declares can be worked out (on torch's meta device)
without overflowing, before anything is allocated."""
_PROBABILITIES = ("dropout", "locked_dropout", "embedding_dropout", "weight_drop")
_FLAGS = ("tie_weights", "residual", "direct")
_CHOICES: dict[str, tuple[str, ...]] = {"nonlinearity": ("tanh", "relu")}


def names() -> list[str]:
    """Every built-in architecture and preset name."""
    return [*ARCHITECTURES, *PRESETS]


def base_architecture(name: str) -> str:
    """The base architecture (``rnn``, ``lstm``, ``gru``, ``nplm``) of an architecture or preset name."""
    if name in ARCHITECTURES:
        return name
    if name in PRESETS:
        return PRESETS[name][0]
    raise ValueError(f"unknown architecture {name!r} (built-in: {', '.join(names())})")


def default_config(name: str) -> dict[str, Any]:
    """The full default config of an architecture or preset (a fresh dict)."""
    base = base_architecture(name)
    config = dict(ARCHITECTURES[base][0])
    if name in PRESETS:
        config.update(PRESETS[name][1])
    return config


def resolve_config(name: str, config: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """``config`` over the defaults of ``name`` (an architecture or a preset), every value checked.

    Raises ``ValueError`` naming the architecture and the option, e.g. ``lstm: unknown option
    'hiden_size' (did you mean 'hidden_size'? known: dropout, ...)``.
    """
    resolved = default_config(name)
    for key, value in (config or {}).items():
        if key not in resolved:
            close = difflib.get_close_matches(str(key), resolved, n=1)
            hint = f"did you mean '{close[0]}'? " if close else ""
            raise ValueError(f"{name}: unknown option {key!r} ({hint}known: {', '.join(sorted(resolved))})")
        resolved[key] = _check(name, key, value)
    return resolved


def _check(name: str, key: str, value: Any) -> Any:
    if key in _SIZES:
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name}: {key} must be a whole number >= 1, not {value!r}")
        if value > _SIZES[key]:
            raise ValueError(f"{name}: {key} must be at most {_SIZES[key]:,}, not {value:,}")
        return value
    if key in _PROBABILITIES:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < 1:
            raise ValueError(f"{name}: {key} must be a probability in [0, 1), not {value!r}")
        return float(value)
    if key in _FLAGS:
        if not isinstance(value, bool):
            raise ValueError(f"{name}: {key} must be true or false, not {value!r}")
        return value
    if key in _CHOICES:
        if value not in _CHOICES[key]:
            raise ValueError(f"{name}: {key} must be one of {', '.join(_CHOICES[key])}, not {value!r}")
        return value
    raise AssertionError(f"option {key!r} has no check")  # pragma: no cover - a table out of step


def _builder(name: str) -> Callable[[Mapping[str, Any], int], Any]:
    """``build(config, vocab_size)`` for ``name``; imports torch only when called."""

    def build(config: Mapping[str, Any], vocab_size: int) -> Any:
        from textseq.neural.models import build as build_network

        return build_network(name, config, vocab_size)

    build.__name__ = build.__qualname__ = "build_" + name.replace("-", "_")
    build.__doc__ = f"Make a '{name}' network (see :mod:`textseq.neural.models`)."
    return build


@hookimpl
def register_architectures(register: RegisterArchitecture) -> None:
    for name, (_, help_text) in ARCHITECTURES.items():
        register(name, _builder(name), default_config=default_config(name), help=help_text)
    for name in PRESETS:
        training = CHAR_TRAINING if name.startswith("char-") else None
        register(name, _builder(name), default_config=default_config(name), train_defaults=training, help=PRESET_HELP[name])
