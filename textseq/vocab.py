"""Token counts of a token stream, and the summary of a vocabulary cut from them."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass


def count_tokens(blocks: Iterable[str]) -> Counter[str]:
    """Counts of whitespace-separated tokens; ``Counter.update`` counts in C."""
    counts: Counter[str] = Counter()
    for block in blocks:
        counts.update(block.split())
    return counts


def most_frequent(counts: Counter[str], *, min_count: int = 1, max_size: int | None = None) -> list[tuple[str, int]]:
    """(token, count) pairs, most frequent first, ties by token; at least ``min_count`` each,
    at most ``max_size`` of them."""
    items = [(t, c) for t, c in counts.items() if c >= min_count]
    items.sort(key=lambda item: (-item[1], item[0]))
    return items if max_size is None else items[:max_size]


@dataclass(frozen=True)
class VocabSummary:
    types: int
    tokens: int
    hapaxes: int
    kept_types: int
    kept_tokens: int

    @property
    def coverage(self) -> float:
        """Share of the running tokens that the kept vocabulary covers."""
        return self.kept_tokens / self.tokens if self.tokens else 0.0

    @property
    def hapax_share(self) -> float:
        return self.hapaxes / self.types if self.types else 0.0


def summarize(counts: Counter[str], kept: list[tuple[str, int]]) -> VocabSummary:
    return VocabSummary(
        types=len(counts),
        tokens=sum(counts.values()),
        hapaxes=sum(1 for c in counts.values() if c == 1),
        kept_types=len(kept),
        kept_tokens=sum(c for _, c in kept),
    )
