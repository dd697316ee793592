"""Matrix products on CPU through oneDNN, the library ``nn.LSTM``'s CPU kernel runs on, with
torch's own products everywhere else (CUDA, float64, a torch built without oneDNN).

torch's general CPU product is MKL's, and on the development machine (an AMD EPYC) MKL takes a
slower path: for a word model's decoder, ``[700, 13777] @ [13777, 200]`` took 24 ms against
oneDNN's 12 ms, and a recurrent step's ``[32, 256] @ [256, 1024]`` 1.7-2x as long.
"""

from __future__ import annotations

import functools

import torch
import torch.nn.functional as F

__all__ = ["applies", "linear", "packed", "plus_linear"]


@functools.cache
def _available() -> bool:
    """Whether this torch has oneDNN's linear operators (its x86 and arm builds with mkldnn do)."""
    try:
        return bool(torch.backends.mkldnn.is_available()) and hasattr(torch.ops.mkldnn, "_linear_pointwise")
    except (AttributeError, RuntimeError):
        return False


def applies(tensor: torch.Tensor) -> bool:
    """Whether products with ``tensor`` go through oneDNN: float32 on CPU, oneDNN present and
    enabled, and no autocast to a lower precision (which torch's own products follow)."""
    return (
        tensor.device.type == "cpu"
        and tensor.dtype == torch.float32
        and _available()
        and bool(torch.backends.mkldnn.enabled)
        and not torch.is_autocast_enabled("cpu")
    )


def linear(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None = None) -> torch.Tensor:
    """``x @ weight.T + bias``; ``weight`` may be a strided view (a transpose), or packed by :func:`packed`.
    No autograd: for the insides of hand-written Functions."""
    if applies(x):
        product: torch.Tensor = torch.ops.mkldnn._linear_pointwise(x, weight, bias, "none", [], "")
        return product
    return F.linear(x, weight, bias)


def plus_linear(base: torch.Tensor, x: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """``base + x @ weight.T`` (a new tensor)."""
    if applies(x):
        total: torch.Tensor = torch.ops.mkldnn._linear_pointwise.binary(x, base, weight, None, "add")
        return total
    return torch.addmm(base, x, weight.t())


def packed(weight: torch.Tensor, batch: int) -> torch.Tensor:
    """``weight`` ``[out, in]`` laid out by oneDNN once for the products of a loop (``x [batch, in]
    @ weight.T``), where :func:`linear` uses oneDNN; ``weight`` itself elsewhere."""
    if not applies(weight):
        return weight
    laid_out: torch.Tensor = torch.ops.mkldnn._reorder_linear_weight(weight.contiguous(), batch)
    return laid_out
