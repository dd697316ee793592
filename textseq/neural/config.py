"""The configs of the built-in networks, and the checker of an architecture's options.

Plain Python, no torch: the built-in plugin (:mod:`textseq.builtins.architectures`) registers
these architectures from here, and :mod:`textseq.neural.models` builds the networks from them;
neither imports the other.

An option's kind (:class:`Size`, :class:`Probability`, :class:`Flag`, :class:`Choice`) says which
values it takes; :func:`resolve_options` puts a config over an architecture's defaults and checks
every value given, with one message naming the architecture and the option. A plugin's
architecture uses it with its own table of kinds (textseq-transformer does).

A preset (``char-small``, ``word-medium``, ...) is an architecture name of its own, in the style
of fairseq's architecture presets: its defaults are the base architecture's with the preset's
values over them, and options given on top of it override the preset's.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class Size:
    """A whole number >= 1, and at most ``maximum``."""

    maximum: int | None = None


@dataclass(frozen=True)
class Probability:
    """A number in [0, 1), made a float."""


@dataclass(frozen=True)
class Flag:
    """True or false."""


@dataclass(frozen=True)
class Choice:
    """One of ``values``."""

    values: tuple[str, ...]


OptionKind = Size | Probability | Flag | Choice


def check_option(name: str, key: str, value: object, kind: OptionKind) -> object:
    """``value`` for option ``key`` of architecture ``name``, if it is of ``kind`` (a probability
    made a float); ``ValueError`` naming both otherwise."""
    if isinstance(kind, Size):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name}: {key} must be a whole number >= 1, not {value!r}")
        if kind.maximum is not None and value > kind.maximum:
            raise ValueError(f"{name}: {key} must be at most {kind.maximum:,}, not {value:,}")
        return value
    if isinstance(kind, Probability):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < 1:
            raise ValueError(f"{name}: {key} must be a probability in [0, 1), not {value!r}")
        return float(value)
    if isinstance(kind, Flag):
        if not isinstance(value, bool):
            raise ValueError(f"{name}: {key} must be true or false, not {value!r}")
        return value
    if value not in kind.values:
        raise ValueError(f"{name}: {key} must be one of {', '.join(kind.values)}, not {value!r}")
    return value


def resolve_options(
    name: str, defaults: Mapping[str, object], config: Mapping[str, object] | None, kinds: Mapping[str, OptionKind]
) -> dict[str, object]:
    """``config`` over ``defaults`` (a fresh dict), each given value checked against its kind in
    ``kinds``. ``ValueError`` naming the architecture and the option, e.g. ``lstm: unknown option
    'hiden_size' (did you mean 'hidden_size'? known: dropout, ...)``."""
    resolved = dict(defaults)
    for key, value in (config or {}).items():
        if key not in resolved:
            close = difflib.get_close_matches(str(key), resolved, n=1)
            hint = f"did you mean '{close[0]}'? " if close else ""
            raise ValueError(f"{name}: unknown option {key!r} ({hint}known: {', '.join(sorted(resolved))})")
        resolved[key] = check_option(name, key, value, kinds[key])
    return resolved


RECURRENT_DEFAULTS: dict[str, object] = {
    "embedding_size": 128,
    "hidden_size": 256,
    "layers": 2,
    "dropout": 0.0,
    "locked_dropout": 0.0,
    "embedding_dropout": 0.0,
    "weight_drop": 0.0,
    "tie_weights": False,
    "residual": False,
}
"""The options of ``rnn``, ``lstm`` and ``gru`` (``rnn`` adds ``nonlinearity``, ``lstm`` ``peephole``),
sized for a small character model. No dropout, as in char-rnn: on tinyshakespeare ``lstm`` reaches
the same best validation loss in 10 epochs with or without 0.1 (1.4542), a fifth faster without,
and far lower in a short run (1.526 against 1.574 after 120 s: bench/char-loop.py). The presets
that need it set their own."""

LSTM_DEFAULTS: dict[str, object] = {**RECURRENT_DEFAULTS, "peephole": False}
"""The options of ``lstm`` and its presets: ``peephole`` makes it the peephole LSTM of Gers and
Schmidhuber (2000), whose gates also see the cell (:mod:`textseq.neural.peephole`)."""

NPLM_DEFAULTS: dict[str, object] = {
    "context": 5,
    "embedding_size": 64,
    "hidden_size": 256,
    "dropout": 0.1,
    "direct": False,
    "tie_weights": False,
}
"""The options of ``nplm``, the fixed-window model of Bengio et al. (2003)."""

ARCHITECTURES: dict[str, dict[str, object]] = {
    "rnn": {**RECURRENT_DEFAULTS, "nonlinearity": "tanh"},
    "lstm": LSTM_DEFAULTS,
    "gru": RECURRENT_DEFAULTS,
    "nplm": NPLM_DEFAULTS,
}
"""Each base architecture and its default config."""

PRESETS: dict[str, tuple[str, dict[str, object]]] = {
    "char-small": ("lstm", {"embedding_size": 64, "hidden_size": 256, "layers": 2, "dropout": 0.1}),
    "char-medium": ("lstm", {"embedding_size": 128, "hidden_size": 512, "layers": 2, "dropout": 0.2}),
    "char-large": ("lstm", {"embedding_size": 256, "hidden_size": 1024, "layers": 3, "dropout": 0.25}),
    "word-small": ("lstm", {"embedding_size": 128, "hidden_size": 128, "layers": 2, "dropout": 0.2, "tie_weights": True}),
    "word-medium": ("lstm", {"embedding_size": 200, "hidden_size": 200, "layers": 2, "dropout": 0.5, "tie_weights": True}),
    "word-large": ("lstm", {"embedding_size": 650, "hidden_size": 650, "layers": 2, "dropout": 0.5, "tie_weights": True}),
    "word-nplm": ("nplm", {"context": 5, "embedding_size": 100, "hidden_size": 200, "dropout": 0.2, "direct": True, "tie_weights": False}),
}
"""Each preset: (base architecture, the options it sets). ``word-medium`` is the network of PyTorch's
word_language_model example (2-layer LSTM 200/200, tied) with dropout 0.5 where the example has
0.2 (with its longer training it overfits less); ``word-large`` is the medium model of Zaremba et
al. (2014), tied."""

CHAR_TRAINING: dict[str, object] = {"batch_size": 32, "bptt": 64, "optimizer": "adamw", "lr": 0.002, "schedule": "cosine"}
"""The training settings the character presets suggest (used where the caller gives none): the
recipe that took char-medium to 1.44 nats/char on tinyshakespeare in 20 minutes on two cores
(bench/neural-char.py)."""

OPTIONS: dict[str, OptionKind] = {
    "embedding_size": Size(1 << 16),
    "hidden_size": Size(1 << 16),
    "layers": Size(64),
    "context": Size(1024),
    "dropout": Probability(),
    "locked_dropout": Probability(),
    "embedding_dropout": Probability(),
    "weight_drop": Probability(),
    "tie_weights": Flag(),
    "residual": Flag(),
    "direct": Flag(),
    "peephole": Flag(),
    "nonlinearity": Choice(("tanh", "relu")),
}
"""Each option of the built-in networks and its kind. The sizes' largest values are far beyond any
network these commands train, and small enough that the shapes a checkpoint's config declares can
be worked out (on torch's meta device) without overflowing, before anything is allocated."""


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


def default_config(name: str) -> dict[str, object]:
    """The full default config of an architecture or preset (a fresh dict)."""
    config = dict(ARCHITECTURES[base_architecture(name)])
    if name in PRESETS:
        config.update(PRESETS[name][1])
    return config


WORD_TRAINING: dict[str, object] = {"optimizer": "adamw", "lr": 0.01, "schedule": "cosine", "epochs": 6}
"""The training settings of a word-level recurrent network without a recipe of its own (and of
``word-small``): the recipe that took word-small below the 5-gram on the project's corpus in 6
epochs (perplexity 4.14 against 5.33; ``make demo``)."""

PRESET_TRAINING: dict[str, dict[str, object]] = {
    "word-small": WORD_TRAINING,
    "word-medium": {"optimizer": "sgd", "lr": 20.0, "schedule": "cosine", "epochs": 25},
}
"""The training settings of the word presets. ``word-medium``'s is the recipe for WikiText-2-sized
text on a 2-core CPU in under 20 minutes (bench/neural-recipe.py): plain SGD from 20, as the
example, decayed by cosine over 25 epochs (15 before a step became about 1.9x as fast there:
:mod:`textseq.neural.allocator` and :mod:`textseq.neural.loss`)."""


def train_defaults(name: str) -> dict[str, object] | None:
    """The training settings architecture or preset ``name`` suggests, if any: a character
    preset's, a word preset's, and for the plain recurrent networks one set per token level (see
    :func:`textseq.neural.session.settings_for_level`)."""
    if name in PRESETS:
        if name.startswith("char-"):
            return dict(CHAR_TRAINING)
        return dict(PRESET_TRAINING[name]) if name in PRESET_TRAINING else None
    if name in ("rnn", "lstm", "gru"):
        return {"char": dict(CHAR_TRAINING), "word": dict(WORD_TRAINING)}
    return None


def resolve_config(name: str, config: Mapping[str, object] | None = None) -> dict[str, object]:
    """``config`` over the defaults of ``name`` (an architecture or a preset), every value checked
    (see :func:`resolve_options`)."""
    return resolve_options(name, default_config(name), config, OPTIONS)
