"""Queries as text lines, for the command line and pipes: one query per line of words."""

from __future__ import annotations

from typing import Any

from textseq.embed.vectors import Vectors


def parse_query(line: str, arity: int, what: str) -> list[str] | None:
    """The words of a query line, or None for a blank line; a wrong count is a ValueError."""
    words = line.split()
    if not words:
        return None
    if len(words) != arity:
        raise ValueError(f"expected {arity} words ({what}), got {len(words)}: {line.strip()[:60]!r}")
    return words


def neighbors(vectors: Vectors, word: str, k: int = 10) -> dict[str, Any]:
    return {"word": word, "neighbors": [{"word": w, "similarity": s} for w, s in vectors.neighbors(word, k)]}


def analogy(vectors: Vectors, a: str, b: str, c: str, k: int = 5, cosmul: bool = False) -> dict[str, Any]:
    key = "score" if cosmul else "similarity"
    return {
        "query": [a, b, c],
        "method": "3CosMul" if cosmul else "3CosAdd",
        "answers": [{"word": w, key: s} for w, s in vectors.analogy(a, b, c, k, cosmul)],
    }


def similarity(vectors: Vectors, a: str, b: str) -> dict[str, Any]:
    return {"words": [a, b], "similarity": vectors.similarity(a, b)}
