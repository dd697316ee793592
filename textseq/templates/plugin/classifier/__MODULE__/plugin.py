"""A classifier network: the mean of a text's word embeddings into a linear layer (a neural bag of
words). The smallest network that follows textseq's interface: forward(tokens [B, T], lengths
[B]) -> logits [B, labels], where tokens are padded at the end with id 0 (id 1 is <unk>) and every
length is at least 1. textseq's trainer does the rest: vocabulary, batches, loss, validation,
calibration, the model file and --resume."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from textseq import hookimpl

DEFAULTS: dict[str, Any] = {"dim": 32}


def build(config: Mapping[str, Any], vocab_size: int, labels: int) -> Any:
    import torch
    from torch import nn

    dim = config["dim"]
    if isinstance(dim, bool) or not isinstance(dim, int) or dim < 1:
        raise ValueError(f"__PART__: dim must be a whole number >= 1, not {dim!r}")

    class MeanOfEmbeddings(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.config = dict(config)
            self.vocab_size = vocab_size
            self.labels = labels
            self.embedding = nn.Embedding(vocab_size, dim, padding_idx=0)
            self.output = nn.Linear(dim, labels)

        def forward(self, tokens: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
            summed = self.embedding(tokens).sum(dim=1)
            return self.output(summed / lengths.unsqueeze(1).to(summed.dtype))

    return MeanOfEmbeddings()


def make(**config: Any) -> Any:
    """An untrained classifier, for the user's -c options; numpy and the trainer are imported here,
    not when textseq loads the plugin."""
    from textseq import network_classifier

    return network_classifier("__PART__", build, DEFAULTS)(**config)


@hookimpl
def register_classifiers(register: Any) -> None:
    register("__PART__", make, train_defaults={"lr": 0.01}, help="the mean of the word embeddings into a linear layer (-c dim=32)")
