"""A causal decoder-only Transformer language model that follows textseq's network interface.

``forward(tokens [T, B], state) -> (logits [T, B, V], state)``, time first like textseq's
recurrent networks (see :mod:`textseq.neural.models`):

* training (``model.train()``): each window of at most ``block_size`` tokens is a context of its
  own, as GPT-style models are trained; the state is ignored and ``None`` comes back;
* evaluation and sampling (``model.eval()``): the state is a key/value cache, so one token at a
  time costs one position of attention, not a pass over the prefix. The state is
  ``(cache, context)``: ``cache`` ``[2 * layers, B, heads, t, head_size]`` (the keys and values of
  each layer), ``context`` ``[t, B]`` the token ids they belong to; the batch is dimension 1 of
  both, as textseq's beam search and state helpers expect. When a new piece would not fit in
  ``block_size``, the cache is rebuilt from the last ``block_size // 2`` tokens of the context
  (positions restart at 0), so a long stream keeps between a half and a whole block of context.

Positions are rotary (rotated queries and keys; the default) or learned embeddings. Attention is
``torch.nn.functional.scaled_dot_product_attention``, so fused kernels (flash, memory-efficient)
run on a GPU.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

INIT_STD = 0.02


class Rotary(nn.Module):
    """Rotary position embedding: each pair of features (``i``, ``i + head_size / 2``) of queries
    and keys turned by an angle proportional to the position (Su et al. 2021)."""

    def __init__(self, head_size: int, base: float = 10000.0) -> None:
        super().__init__()
        frequencies = base ** (-torch.arange(0, head_size, 2, dtype=torch.float32) / head_size)
        self.register_buffer("frequencies", frequencies, persistent=False)

    def forward(self, x: torch.Tensor, start: int) -> torch.Tensor:
        """``x`` ``[B, heads, T, head_size]`` at positions ``start .. start + T - 1``."""
        positions = torch.arange(start, start + x.size(2), device=x.device, dtype=torch.float32)
        angles = torch.outer(positions, self.frequencies)
        cos, sin = angles.cos().to(x.dtype), angles.sin().to(x.dtype)
        first, second = x.chunk(2, dim=-1)
        return torch.cat((first * cos - second * sin, first * sin + second * cos), dim=-1)


class Block(nn.Module):
    """Pre-LayerNorm block: ``x + attention(norm(x))``, then ``x + mlp(norm(x))``."""

    def __init__(self, width: int, heads: int, dropout: float, rotary: Rotary | None) -> None:
        super().__init__()
        self.heads = heads
        self.dropout = dropout
        self.rotary = rotary
        self.attention_norm = nn.LayerNorm(width)
        self.qkv = nn.Linear(width, 3 * width)
        self.attention_out = nn.Linear(width, width)
        self.mlp_norm = nn.LayerNorm(width)
        self.mlp = nn.Sequential(nn.Linear(width, 4 * width), nn.GELU(), nn.Linear(4 * width, width))
        self.residual_dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, past: tuple[torch.Tensor, torch.Tensor] | None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``x`` ``[B, T, width]`` after ``past`` (keys, values ``[B, heads, t, head_size]``, or
        None): the output, and this piece's keys and values."""
        batch, length, width = x.shape
        q, k, v = self.qkv(self.attention_norm(x)).view(batch, length, 3, self.heads, width // self.heads).permute(2, 0, 3, 1, 4)
        start = 0 if past is None else past[0].size(2)
        if self.rotary is not None:
            q, k = self.rotary(q, start), self.rotary(k, start)
        keys, values = (k, v) if past is None else (torch.cat((past[0], k), dim=2), torch.cat((past[1], v), dim=2))
        if start == 0:
            mask, causal = None, True
        elif length == 1:
            mask, causal = None, False
        else:  # new position i sees the past and new positions up to i
            mask = torch.ones(length, start + length, dtype=torch.bool, device=x.device).tril(start)
            causal = False
        attended = F.scaled_dot_product_attention(
            q, keys, values, attn_mask=mask, is_causal=causal, dropout_p=self.dropout if self.training else 0.0
        )
        x = x + self.residual_dropout(self.attention_out(attended.transpose(1, 2).reshape(batch, length, width)))
        x = x + self.residual_dropout(self.mlp(self.mlp_norm(x)))
        return x, k, v


class TransformerLM(nn.Module):
    """Token embedding (plus learned positions, or rotary ones inside attention), ``layers``
    pre-LayerNorm blocks, a final LayerNorm and a decoder tied to the embedding by default."""

    arch = "transformer"

    def __init__(self, config: Mapping[str, Any], vocab_size: int) -> None:
        super().__init__()
        self.config = dict(config)
        self.vocab_size = vocab_size
        width, heads = config["embedding_size"], config["heads"]
        self.block_size = config["block_size"]
        self.layers = config["layers"]
        self.encoder = nn.Embedding(vocab_size, width)
        self.positions = nn.Embedding(self.block_size, width) if config["positions"] == "learned" else None
        rotary = Rotary(width // heads) if config["positions"] == "rotary" else None
        self.embedding_dropout = nn.Dropout(config["dropout"])
        self.blocks = nn.ModuleList(Block(width, heads, config["dropout"], rotary) for _ in range(self.layers))
        self.norm = nn.LayerNorm(width)
        self.decoder = nn.Linear(width, vocab_size, bias=False)
        self.apply(self._init)
        for block in self.blocks:  # residual branches start small: their sum over layers keeps its scale (GPT-2)
            for projection in (block.attention_out, block.mlp[2]):
                nn.init.normal_(projection.weight, std=INIT_STD / math.sqrt(2 * self.layers))
        if config["tie_weights"]:
            self.decoder.weight = self.encoder.weight

    @staticmethod
    def _init(module: nn.Module) -> None:
        if isinstance(module, (nn.Linear, nn.Embedding)):
            nn.init.normal_(module.weight, std=INIT_STD)
        if isinstance(module, nn.Linear) and module.bias is not None:
            nn.init.zeros_(module.bias)

    def initial_state(self, batch_size: int, device: Any = None) -> None:
        return None

    def forward(self, tokens: torch.Tensor, state: Any = None) -> tuple[torch.Tensor, Any]:
        if self.training:
            pieces = [self._run(piece.t(), None, keep_cache=False)[0] for piece in tokens.split(self.block_size)]
            return torch.cat(pieces, dim=1).transpose(0, 1).contiguous(), None
        cache, context = state if state is not None else (None, tokens.new_empty(0, tokens.size(1)))
        keep = self.block_size // 2
        outputs = []
        for piece in tokens.split(self.block_size - keep):
            if cache is not None and cache.size(3) + piece.size(0) > self.block_size:
                context = context[-keep:]
                _, cache = self._run(context.t(), None)
            logits, new = self._run(piece.t(), cache)
            cache = new if cache is None else torch.cat((cache, new), dim=3)
            context = torch.cat((context, piece))
            outputs.append(logits)
        return torch.cat(outputs, dim=1).transpose(0, 1).contiguous(), (cache, context)

    def _run(self, tokens: torch.Tensor, cache: torch.Tensor | None, keep_cache: bool = True) -> tuple[torch.Tensor, Any]:
        """``tokens`` ``[B, T]`` after ``cache``: logits ``[B, T, V]`` and the piece's keys and
        values ``[2 * layers, B, heads, T, head_size]`` (None without ``keep_cache``)."""
        start = 0 if cache is None else cache.size(3)
        x = self.encoder(tokens)
        if self.positions is not None:
            x = x + self.positions(torch.arange(start, start + tokens.size(1), device=tokens.device))
        x = self.embedding_dropout(x)
        new = []
        for layer, block in enumerate(self.blocks):
            x, k, v = block(x, None if cache is None else (cache[2 * layer], cache[2 * layer + 1]))
            if keep_cache:
                new += [k, v]
        return self.decoder(self.norm(x)), torch.stack(new) if keep_cache else None
