"""Word embeddings: vectors in memory (:mod:`vectors`), their files (:mod:`io`), queries
(:mod:`queries`), the standard evaluations (:mod:`evaluate`) and 2-D maps (:mod:`plot`).

Training methods (word2vec, GloVe, PPMI-SVD) register through ``register_embedders``.
Nothing here imports torch or click.
"""

from __future__ import annotations

from textseq.embed.vectors import Vectors

__all__ = ["Vectors"]
