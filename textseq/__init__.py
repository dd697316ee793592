"""textseq: the classic sequence models of text, as Unix-pipe commands extended by plugins."""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"
__all__ = ["__version__", "hookimpl"]


def __getattr__(name: str) -> Any:
    if name == "hookimpl":
        from textseq.hookspecs import hookimpl

        return hookimpl
    raise AttributeError(f"module 'textseq' has no attribute {name!r}")
