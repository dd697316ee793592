"""A smoother: Lidstone's additive smoothing, add-k with k = 1/2 by default (Jeffreys-Perks)."""

from __future__ import annotations

from typing import Any

from textseq import hookimpl


def make_smoother(k: float = 0.5) -> Any:
    from textseq import AddK

    smoother = AddK(k=k)
    smoother.name = "__PART__"
    return smoother


@hookimpl
def register_smoothers(register: Any) -> None:
    register("__PART__", make_smoother, help="Lidstone (add-k, k=0.5 by default: -p k=K), backoff-normalized")
