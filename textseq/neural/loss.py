"""The training loss: the mean cross-entropy of a network's next-token predictions.

A word model's decoder and its softmax take most of a CPU training step: for ``word-medium`` on
wt2s (200 features, 13,777 words, 700 tokens a step) the logits are a 38 MB matrix that the
forward writes, the log-softmax reads and writes again, and the backward fills, reads and writes
twice more. :class:`LinearCrossEntropy` computes the loss and all three gradients in the forward
instead, a few hundred rows at a time, so that each block of logits is used while it is still in
the cache and becomes its own gradient in place (softmax minus the one-hot target). It is exact
(the same sums in another order: within 1e-6 of torch's); on the 2-core development machine a
whole training step of ``word-medium`` went 1.16x as fast and scoring 1.49x (bench/neural-step.py,
both with :mod:`textseq.neural.allocator`'s setting).

:func:`next_token_loss` uses it on CPU for a network that exposes its decoder's input (a
``features(tokens, state)`` method and a ``decoder`` :class:`torch.nn.Linear`, as
:class:`textseq.neural.models.RecurrentLM` does); anything else, mixed precision and other
devices go through torch's own ``cross_entropy``.
"""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from torch.autograd.function import once_differentiable

from textseq.neural import onednn
from textseq.neural.models import State

__all__ = ["LinearCrossEntropy", "fuses", "next_token_loss", "next_token_losses"]

BLOCK_LOGITS = 1 << 22
"""Logits computed at a time (16 MiB of float32): a block of rows stays in a server CPU's cache."""


class LinearCrossEntropy(torch.autograd.Function):
    """``F.cross_entropy(F.linear(x, weight, bias), targets)`` (mean over the rows of ``x``), its
    gradients worked out during the forward, block by block of rows; not twice differentiable."""

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None, targets: torch.Tensor) -> torch.Tensor:
        rows = x.size(0)
        block = max(1, BLOCK_LOGITS // max(1, weight.size(0)))
        need_x, need_weight, need_bias = ctx.needs_input_grad[:3]
        grad_x = torch.empty_like(x) if need_x else None
        grad_weight = torch.zeros_like(weight) if need_weight else None
        grad_bias = torch.zeros_like(bias) if need_bias and bias is not None else None
        transposed = weight.t().contiguous() if onednn.applies(weight) else weight.t()
        total = x.new_zeros((), dtype=torch.float64)
        for start in range(0, rows, block):
            end = min(rows, start + block)
            inputs, wanted = x[start:end], targets[start:end]
            logits = onednn.linear(inputs, weight, bias)
            normalizer = torch.logsumexp(logits, dim=1)
            total += (normalizer.sum() - logits.gather(1, wanted[:, None]).sum()).double()
            gradient = logits.sub_(normalizer[:, None]).exp_()
            gradient[torch.arange(end - start, device=x.device), wanted] -= 1
            if grad_x is not None:
                grad_x[start:end] = onednn.linear(gradient, transposed)
            if grad_weight is not None:
                grad_weight.addmm_(gradient.t(), inputs)
            if grad_bias is not None:
                grad_bias += gradient.sum(0)
        ctx.rows = rows
        ctx.gradients = (grad_x, grad_weight, grad_bias)
        return (total / max(1, rows)).to(x.dtype)

    @staticmethod
    @once_differentiable
    def backward(ctx: Any, grad_loss: torch.Tensor) -> tuple[torch.Tensor | None, ...]:
        scale = grad_loss / max(1, ctx.rows)
        grads = tuple(None if g is None else g * scale for g in ctx.gradients)
        return (*grads, None)


def fuses(model: nn.Module, tokens: torch.Tensor) -> bool:
    """Whether :func:`next_token_loss` and :func:`next_token_losses` compute ``model``'s decoder
    and softmax together, block by block of rows."""
    decoder = getattr(model, "decoder", None)
    return (
        callable(getattr(model, "features", None))
        and isinstance(decoder, nn.Linear)
        and decoder.weight.device.type == "cpu"
        and decoder.weight.dtype == torch.float32
        and tokens.device.type == "cpu"
    )


def next_token_loss(
    model: nn.Module,
    tokens: torch.Tensor,
    targets: torch.Tensor,
    state: State,
    autocast: AbstractContextManager[object] | None = None,
) -> tuple[torch.Tensor, State]:
    """The mean cross-entropy of ``model``'s predictions after each of ``tokens`` ``[T, B]``
    against ``targets`` ``[T, B]``, and the state after ``tokens``; under ``autocast`` where given."""
    if autocast is None and torch.is_grad_enabled() and fuses(model, tokens):
        features, state = model.features(tokens, state)  # type: ignore[operator]
        decoder: nn.Linear = model.decoder  # type: ignore[assignment]
        flat = features.reshape(-1, features.size(-1))
        loss: torch.Tensor = LinearCrossEntropy.apply(flat, decoder.weight, decoder.bias, targets.reshape(-1))  # type: ignore[no-untyped-call]  # torch's is untyped
        return loss, state
    with autocast if autocast is not None else nullcontext():
        logits, state = model(tokens, state)
    loss = F.cross_entropy(logits.float().reshape(-1, logits.size(-1)), targets.reshape(-1))
    return loss, state


def next_token_losses(model: nn.Module, tokens: torch.Tensor, targets: torch.Tensor, state: State) -> tuple[torch.Tensor, State]:
    """Each prediction's cross-entropy (``[T, B]``, float32) for ``tokens`` ``[T, B]`` against
    ``targets``, and the state after ``tokens``; without gradients. Where :func:`fuses` holds, the
    log-softmax is never written out: each block of logits gives its rows' log-normalizers and
    target scores."""
    with torch.no_grad():
        if not fuses(model, tokens):  # (or under autocast, which the plain way's logits.float() undoes)
            logits, state = model(tokens, state)
            flat = F.cross_entropy(logits.float().reshape(-1, logits.size(-1)), targets.reshape(-1), reduction="none")
            return flat.view(targets.shape), state
        features, state = model.features(tokens, state)  # type: ignore[operator]
        decoder: nn.Linear = model.decoder  # type: ignore[assignment]
        flat_features, wanted = features.reshape(-1, features.size(-1)), targets.reshape(-1)
        losses = torch.empty(wanted.numel(), dtype=torch.float32)
        block = max(1, BLOCK_LOGITS // max(1, decoder.out_features))
        for start in range(0, wanted.numel(), block):
            end = min(wanted.numel(), start + block)
            logits = onednn.linear(flat_features[start:end], decoder.weight, decoder.bias).float()
            losses[start:end] = torch.logsumexp(logits, dim=1) - logits.gather(1, wanted[start:end, None]).squeeze(1)
        return losses.view(targets.shape), state
