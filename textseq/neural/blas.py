"""How many threads the CPU math uses (torch's, and numpy's BLAS, OpenBLAS), decided and set at
run time for ``textseq train``, ``sample`` and ``eval`` alike (:func:`use_cpu_threads`).

OpenBLAS reads OPENBLAS_NUM_THREADS only when it loads, and numpy has loaded it long before a
command knows what it will do, so the count is set through the library's own
``openblas_set_num_threads`` (under the names numpy's bundled builds give it), found among the
libraries this process has mapped. Where there is no OpenBLAS (macOS's Accelerate, MKL builds) or
no /proc, nothing is changed.

Why it matters: sampling's matrix-vector products read memory about twice as fast on two cores as
on one, but OpenBLAS's threads wait for each other by spinning, so while other work keeps the
cores busy each product takes tens of times longer than on one thread. torch's intra-op threads
spin the same way: with two busy cores, ``torch.lstm`` over 250 steps of a tiny network took 1.96 s
on two threads and 0.002 s on one.
"""

from __future__ import annotations

import ctypes
import os
from functools import cache

PREFIXES = ("openblas_", "scipy_openblas_")
SUFFIXES = ("", "64_")


@cache
def _functions() -> tuple[object, object] | None:
    """OpenBLAS's (set, get) number-of-threads functions."""
    import numpy as np  # noqa: F401  (loads its BLAS)

    try:
        with open("/proc/self/maps") as handle:
            paths = sorted({line.split()[-1] for line in handle if "openblas" in line.lower() and "/" in line})
    except OSError:
        return None
    for path in paths:
        try:
            library = ctypes.CDLL(path)
        except OSError:
            continue
        for prefix in PREFIXES:
            for suffix in SUFFIXES:
                names = f"{prefix}set_num_threads{suffix}", f"{prefix}get_num_threads{suffix}"
                if all(hasattr(library, name) for name in names):
                    return getattr(library, names[0]), getattr(library, names[1])
    return None


def set_blas_threads(count: int) -> bool:
    """Use ``count`` threads in numpy's OpenBLAS; False where it cannot be set."""
    functions = _functions()
    if functions is None:
        return False
    functions[0](ctypes.c_int(max(1, count)))  # type: ignore[operator]
    return True


def blas_threads() -> int | None:
    """The threads numpy's OpenBLAS uses now; None where it is not OpenBLAS."""
    functions = _functions()
    return None if functions is None else int(functions[1]())  # type: ignore[operator]


def cpu_threads(requested: int | None = None) -> int:
    """The threads CPU work should use: ``requested`` (--threads); else OMP_NUM_THREADS where the
    environment sets it, as torch itself would; else the idle cores
    (:func:`textseq.neural.cpu_load.idle_cores`)."""
    asked = _asked_for(requested)
    if asked is not None:
        return asked
    from textseq.neural.cpu_load import idle_cores

    return idle_cores()


def follows_idle_cores(requested: int | None = None) -> bool:
    """Whether :func:`cpu_threads` takes the idle cores (nothing asked for a count): then a long
    run may follow them as they change (:class:`textseq.neural.cpu_load.IdleCoreFollower`)."""
    return _asked_for(requested) is None


def _asked_for(requested: int | None) -> int | None:
    """The count asked for: ``requested``, else OMP_NUM_THREADS where set; None where neither is."""
    if requested is not None:
        return max(1, requested)
    configured = os.environ.get("OMP_NUM_THREADS", "").strip()
    return int(configured) if configured.isdigit() and int(configured) > 0 else None


def use_cpu_threads(requested: int | None = None) -> int:
    """Set torch's intra-op threads and numpy's BLAS threads to :func:`cpu_threads`; returns the count."""
    import torch

    count = cpu_threads(requested)
    torch.set_num_threads(count)
    set_blas_threads(count)
    return count
