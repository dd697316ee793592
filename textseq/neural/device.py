"""Where a network runs: the torch device a name means, and on the CPU how many threads its math
uses (see :mod:`textseq.neural.blas`), for training, sampling and evaluation alike."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textseq.errors import ParameterError

if TYPE_CHECKING:
    import torch

DEVICES = "auto, cpu, cuda, cuda:N or mps"


def pick_device(name: str) -> torch.device:
    """The torch device ``name`` names (auto, cpu, cuda, cuda:N, mps); a
    :class:`~textseq.errors.ParameterError` for one that this machine does not have, before
    anything is put on it."""
    import torch

    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if _mps_available():
            return torch.device("mps")
        return torch.device("cpu")
    if name == "cpu":
        return torch.device("cpu")
    if name == "mps":
        if not _mps_available():
            raise ParameterError("mps: no Apple GPU here", parameter="device")
        return torch.device("mps")
    if name == "cuda" or (name.startswith("cuda:") and name[5:].isdigit()):
        if not torch.cuda.is_available():
            raise ParameterError(f"{name}: no CUDA device here (torch.cuda.is_available() is false)", parameter="device")
        index = int(name[5:]) if name != "cuda" else 0
        count = torch.cuda.device_count()
        if index >= count:
            raise ParameterError(f"{name}: no such CUDA device (this machine has {count}: cuda:0 to cuda:{count - 1})", parameter="device")
        return torch.device(name)
    raise ParameterError(f"unknown device {name!r}: {DEVICES}", parameter="device")


def _mps_available() -> bool:
    import torch

    return getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available()


def resolve_device(name: str, threads: int | None = None) -> tuple[torch.device, int | None]:
    """(the device ``name`` names, see :func:`pick_device`; on the CPU, the threads its math uses,
    now set: ``threads``, or by default the idle cores, see
    :func:`textseq.neural.blas.use_cpu_threads`; None on another device). On the CPU the
    process's allocator also keeps the large blocks it frees
    (:func:`textseq.neural.allocator.keep_freed_memory`)."""
    where = pick_device(name)
    if where.type != "cpu":
        return where, None
    from textseq.neural.allocator import keep_freed_memory
    from textseq.neural.blas import use_cpu_threads

    keep_freed_memory()
    return where, use_cpu_threads(threads)


def check_bf16(where: torch.device) -> None:
    """:class:`~textseq.errors.ParameterError` (``bf16``) where ``where`` does not compute in
    bfloat16 natively: a CUDA device without it, a CPU without avx512_bf16 or AMX (there torch
    would emulate it, slower than float32), any other device."""
    import torch

    if where.type == "cuda":
        supported = bool(torch.cuda.is_bf16_supported())
    elif where.type == "cpu":
        check = getattr(torch.ops.mkldnn, "_is_mkldnn_bf16_supported", None)
        supported = bool(check()) if check is not None else False
    else:
        supported = False
    if not supported:
        raise ParameterError(f"{where.type}: no native bfloat16 arithmetic here; score in float32 (without --bf16)", parameter="bf16")
