"""An embedder: random indexing (Kanerva et al. 2000). Every word gets a fixed sparse random
"index" vector; a word's embedding is the sum of the index vectors of the words around it."""

from __future__ import annotations

from typing import Any

from textseq import hookimpl


class RandomIndexing:
    def __init__(self, nonzeros: int = 8) -> None:
        if isinstance(nonzeros, bool) or not isinstance(nonzeros, int) or nonzeros < 1:
            raise ValueError(f"nonzeros must be a whole number >= 1, not {nonzeros!r}")
        self.nonzeros = nonzeros

    def train(self, corpus: Any, *, dim: int = 100, window: int = 5, seed: int = 1, monitor: Any = None, **_: Any) -> Any:
        import numpy as np

        from textseq import Vectors

        rng = np.random.default_rng(seed)
        words = len(corpus.words)
        index = np.zeros((words, dim), np.float32)
        for row in range(words):
            index[row, rng.choice(dim, min(self.nonzeros, dim), replace=False)] = rng.choice((-1.0, 1.0), min(self.nonzeros, dim))
        vectors = np.zeros((words, dim), np.float32)
        if monitor is not None:
            monitor.begin("random indexing", corpus.tokens, "tokens")
        for chunk in corpus.chunks():
            ids = chunk.ids
            for shift in range(1, window + 1):
                np.add.at(vectors, ids[shift:], index[ids[:-shift]])
                np.add.at(vectors, ids[:-shift], index[ids[shift:]])
            if monitor is not None:
                monitor.update(chunk.offset + len(ids))
        if monitor is not None:
            monitor.end()
        return Vectors(corpus.words, vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12))


@hookimpl
def register_embedders(register: Any) -> None:
    register("__PART__", RandomIndexing, help="random indexing: sums of sparse random context vectors (-p nonzeros=8)")
