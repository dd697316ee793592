"""The built-in classifiers: ``linear`` (fastText's model, numba) and the networks ``rnn``, ``lstm``,
``gru``, ``cnn``, ``cnn-lstm`` and ``char-cnn`` (torch), each registered through
``register_classifiers`` as a plugin's would be. Nothing heavy is imported until one is made."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from textseq.classify.network_config import HELP, NETWORKS, OPTIONS, TRAIN_DEFAULTS
from textseq.hookspecs import RegisterClassifier, hookimpl
from textseq.registry import LazyFactory

if TYPE_CHECKING:
    from torch import nn

    from textseq.classify.classifier import Classifier
    from textseq.classify.linear import LinearClassifier


def _linear() -> type[LinearClassifier]:
    from textseq.classify.linear import LinearClassifier

    return LinearClassifier


def _network(name: str) -> Callable[[], Callable[..., Classifier]]:
    """The factory of network ``name``, made when first called."""

    def build(config: Mapping[str, object], vocab_size: int, labels: int) -> nn.Module:
        from textseq.classify.networks import build_network

        return build_network(name, config, vocab_size, labels)

    build.__name__ = build.__qualname__ = "build_" + name.replace("-", "_")

    def load() -> Callable[..., Classifier]:
        from textseq.classify.network import network_classifier

        return network_classifier(name, build, NETWORKS[name], OPTIONS)

    return load


LINEAR_HELP = (
    "fastText's model (numba): averaged word and hashed n-gram embeddings into a linear layer; "
    "-c dim=100 word_ngrams=1 buckets=2000000 minn=0 maxn=0 loss=softmax|hs|ova min_count=1; Hogwild --threads"
)


@hookimpl
def register_classifiers(register: RegisterClassifier) -> None:
    register("linear", LazyFactory(_linear), train_defaults={"epochs": 5, "lr": 0.1}, help=LINEAR_HELP)
    for name in NETWORKS:
        register(name, LazyFactory(_network(name)), train_defaults=TRAIN_DEFAULTS.get(name), help=HELP[name])
