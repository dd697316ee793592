"""The built-in neural language-model architectures: ``rnn``, ``lstm``, ``gru``, ``nplm`` and the
named presets (``char-small``, ``word-medium``, ...), each registered under its own name.

This module is the plugin's manifest: the configs and their checks are in
:mod:`textseq.neural.config` (plain Python), so registering and listing the architectures
(``textseq plugins``) never imports torch. The networks themselves are in
:mod:`textseq.neural.models`, imported by ``build`` when a model is made. A checkpoint records the
name it was trained under and the whole config, so it rebuilds the same network.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from textseq.hookspecs import RegisterArchitecture, hookimpl
from textseq.neural.config import ARCHITECTURES, PRESETS, default_config, train_defaults

if TYPE_CHECKING:
    from torch import nn

HELP: dict[str, str] = {
    "rnn": "Elman RNN (torch nn.RNN; -c nonlinearity=tanh|relu), options as lstm",
    "lstm": "LSTM (torch nn.LSTM, cuDNN on GPU): -c embedding_size=128 hidden_size=256 layers=2 dropout=0 "
    "locked_dropout=0 embedding_dropout=0 weight_drop=0 tie_weights=false residual=false peephole=false (Gers & Schmidhuber 2000)",
    "gru": "GRU (torch nn.GRU, cuDNN on GPU), options as lstm",
    "nplm": "fixed-window neural LM (Bengio et al. 2003): -c context=5 embedding_size=64 hidden_size=256 dropout=0.1 "
    "direct=false tie_weights=false",
    "char-small": "preset: lstm, 2 layers of 256, embedding 64, dropout 0.1",
    "char-medium": "preset: lstm, 2 layers of 512, embedding 128, dropout 0.2",
    "char-large": "preset: lstm, 3 layers of 1024, embedding 256, dropout 0.25 (for a GPU)",
    "word-small": "preset: lstm, 2 layers of 128, embedding 128, dropout 0.2, tied",
    "word-medium": "preset: lstm, 2 layers of 200, embedding 200, dropout 0.5, tied (PyTorch's word_language_model's network); "
    "trains 25 epochs of SGD",
    "word-large": "preset: lstm, 2 layers of 650, embedding 650, dropout 0.5, tied (Zaremba et al. 2014, medium)",
    "word-nplm": "preset: nplm, 5 words of context, embedding 100, hidden 200, dropout 0.2, direct connections",
}
"""One line of help for each architecture and preset (``textseq plugins``)."""


def _builder(name: str) -> Callable[[Mapping[str, object], int], nn.Module]:
    """``build(config, vocab_size)`` for ``name``; imports torch only when called."""

    def build(config: Mapping[str, object], vocab_size: int) -> nn.Module:
        from textseq.neural.models import build as build_network

        return build_network(name, config, vocab_size)

    build.__name__ = build.__qualname__ = "build_" + name.replace("-", "_")
    build.__doc__ = f"Make a '{name}' network (see :mod:`textseq.neural.models`)."
    return build


@hookimpl
def register_architectures(register: RegisterArchitecture) -> None:
    for name in [*ARCHITECTURES, *PRESETS]:
        register(name, _builder(name), default_config=default_config(name), train_defaults=train_defaults(name), help=HELP[name])
