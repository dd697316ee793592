"""The options of the built-in classifier networks and their kinds: plain Python, no torch, so that
registering and listing them (``textseq plugins``) imports nothing heavy.

Every network shares the vocabulary options (``min_count``, ``max_vocab``, ``max_length``), which
:mod:`textseq.classify.network` applies before a network sees a token; the rest are each
network's own (:mod:`textseq.classify.networks`).
"""

from __future__ import annotations

from dataclasses import dataclass

from textseq.neural.config import Choice, Flag, OptionKind, Probability, Size


@dataclass(frozen=True)
class Sizes:
    """Whole numbers >= 1 (at most ``maximum``, at most ``count`` of them): a list, or a string of
    them separated by commas (``-c widths=3,4,5``)."""

    maximum: int = 1 << 16
    count: int = 16


@dataclass(frozen=True)
class Positive:
    """A number > 0 (0 allowed with ``zero``), made a float."""

    zero: bool = False


ClassifierOptionKind = OptionKind | Sizes | Positive

VOCABULARY: dict[str, object] = {"min_count": 1, "max_vocab": 200_000, "max_length": 400}
"""Kept of the training text: words seen ``min_count`` times (the ``max_vocab`` most frequent at
most); the rest are ``<unk>``. A text is cut to its first ``max_length`` tokens."""

RECURRENT: dict[str, object] = {
    **VOCABULARY,
    "embedding_size": 128,
    "hidden_size": 128,
    "layers": 1,
    "bidirectional": True,
    "pooling": "max",
    "dropout": 0.5,
    "embedding_dropout": 0.2,
}
"""The recurrent networks' defaults. Dropout 0.5 and word-type dropout 0.2: on debian-packages
(bench/classify-neural.py) a BiLSTM with the earlier 0.3 and 0 overfits after its third epoch
(test P@1 0.760, 0.777 from word vectors); with these its validation loss goes on falling to the
fifth or sixth (0.771, 0.783 from vectors), each within 10 minutes on one core."""

NETWORKS: dict[str, dict[str, object]] = {
    "rnn": {**RECURRENT, "nonlinearity": "tanh"},
    "lstm": RECURRENT,
    "gru": RECURRENT,
    "cnn": {
        **VOCABULARY,
        "embedding_size": 300,
        "embeddings": "rand",
        "widths": "3,4,5",
        "maps": 100,
        "dropout": 0.5,
        "max_norm": 3.0,
    },
    "cnn-lstm": {
        **VOCABULARY,
        "embedding_size": 128,
        "widths": "3",
        "maps": 128,
        "pool": 2,
        "hidden_size": 128,
        "bidirectional": False,
        "pooling": "last",
        "dropout": 0.3,
    },
    "char-cnn": {
        "min_count": 1,
        "max_vocab": 1000,
        "max_length": 1014,
        "embedding_size": 0,
        "features": 256,
        "hidden_size": 1024,
        "dropout": 0.5,
    },
}
"""Each built-in network's default config. ``char-cnn`` is the small model of Zhang, Zhao and
LeCun (2015) over characters (``embedding_size`` 0: one-hot characters, as the paper has them)."""

TRAIN_DEFAULTS: dict[str, dict[str, object]] = {
    "char-cnn": {"tokenizer": "char", "epochs": 10, "lr": 1e-3, "batch_size": 64},
}
"""Training settings a network suggests where the command line gives none."""

OPTIONS: dict[str, ClassifierOptionKind] = {
    "min_count": Size(),
    "max_vocab": Size(1 << 24),
    "max_length": Size(1 << 20),
    "embedding_size": Size(1 << 14),
    "hidden_size": Size(1 << 14),
    "layers": Size(16),
    "bidirectional": Flag(),
    "pooling": Choice(("last", "max", "mean", "attention")),
    "dropout": Probability(),
    "embedding_dropout": Probability(),
    "nonlinearity": Choice(("tanh", "relu")),
    "embeddings": Choice(("rand", "static", "non-static", "multichannel")),
    "widths": Sizes(maximum=64),
    "maps": Size(1 << 14),
    "max_norm": Positive(zero=True),
    "pool": Size(64),
    "features": Size(1 << 14),
}
"""Each option of the built-in networks and its kind (``embedding_size`` of ``char-cnn`` may be 0)."""

HELP: dict[str, str] = {
    "rnn": "Elman RNN encoder (torch nn.RNN), options as lstm and -c nonlinearity=tanh|relu",
    "lstm": "LSTM encoder: -c embedding_size=128 hidden_size=128 layers=1 bidirectional=true "
    "pooling=last|max|mean|attention dropout=0.5 embedding_dropout=0.2; length-bucketed batches",
    "gru": "GRU encoder, options as lstm",
    "cnn": "Kim (2014) CNN: -c widths=3,4,5 maps=100 dropout=0.5 max_norm=3 "
    "embeddings=rand|static|non-static|multichannel (the last three from --vectors)",
    "cnn-lstm": "convolution, max-pooling, then an LSTM over the feature maps: -c widths=3 maps=128 pool=2 hidden_size=128",
    "char-cnn": "Zhang et al. (2015) small character CNN (6 convolutions of 256, 2 layers of 1024; -t char), -c max_length=1014",
}
