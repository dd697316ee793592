"""An architecture: a neural bigram model, logits = a learned row per previous token. The
smallest network that follows textseq's interface: forward(tokens [T, B], state) -> (logits
[T, B, V], state); it keeps no state."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from textseq import hookimpl

DEFAULTS: dict[str, Any] = {"rank": 32}


def build(config: Mapping[str, Any], vocab_size: int) -> Any:
    import torch
    from torch import nn

    unknown = set(config) - set(DEFAULTS)
    if unknown:
        raise ValueError(f"__PART__: unknown option {min(unknown)!r} (known: {', '.join(DEFAULTS)})")
    rank = config["rank"]
    if isinstance(rank, bool) or not isinstance(rank, int) or rank < 1:
        raise ValueError(f"__PART__: rank must be a whole number >= 1, not {rank!r}")

    class BigramLM(nn.Module):
        arch = "__PART__"

        def __init__(self) -> None:
            super().__init__()
            self.config = dict(config)
            self.vocab_size = vocab_size
            self.encoder = nn.Embedding(vocab_size, rank)
            self.decoder = nn.Linear(rank, vocab_size)

        def forward(self, tokens: torch.Tensor, state: Any = None) -> tuple[torch.Tensor, None]:
            return self.decoder(self.encoder(tokens)), None

    return BigramLM()


@hookimpl
def register_architectures(register: Any) -> None:
    register("__PART__", build, default_config=DEFAULTS, help="neural bigram model, a low-rank table (-c rank=32)")
