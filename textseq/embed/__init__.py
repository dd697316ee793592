"""Word embeddings: vectors in memory (:mod:`vectors`), their files (:mod:`io`), queries
(:mod:`queries`), the standard evaluations (:mod:`evaluate`) and 2-D maps (:mod:`plot`).

The embedders (word2vec, GloVe, PPMI-SVD; :class:`~textseq.embed.embedder.Embedder`) register
through ``register_embedders``.
Nothing here imports torch or click; numpy is imported when :class:`Vectors` is first used, so
that the command line can read :mod:`limits` and stay quick to start.
"""

from __future__ import annotations

from typing import Any

__all__ = ["Vectors"]


def __getattr__(name: str) -> Any:
    if name == "Vectors":
        from textseq.embed.vectors import Vectors

        return Vectors
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
