"""Token counts of a token stream, the one vocabulary cut-off rule, and the summary of a cut.

Every vocabulary textseq cuts from counts (``textseq vocab``, the embedders' corpus, a neural
codec, the n-gram ``--min-count``) is cut by :func:`most_frequent`: the tokens seen at least
``min_count`` times, most frequent first, ties in order of first appearance, at most ``max_size``
of them. First appearance is the order of the reference tools: KenLM numbers its vocabulary in
reading order and word2vec sorts its vocabulary, read in that order, by count (gensim breaks ties
the other way round; the comparisons with it ignore the order of ties). It is also the order the
rows of textseq's vector files always had.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass
from operator import itemgetter
from typing import TypeVar

Token = TypeVar("Token", bound=Hashable)


def count_tokens(blocks: Iterable[str]) -> Counter[str]:
    """Counts of whitespace-separated tokens, in order of first appearance; ``Counter.update``
    counts in C."""
    counts: Counter[str] = Counter()
    for block in blocks:
        counts.update(block.split())
    return counts


def most_frequent(
    counts: Mapping[Token, int] | Iterable[tuple[Token, int]], *, min_count: int = 1, max_size: int | None = None
) -> list[tuple[Token, int]]:
    """(token, count) pairs, most frequent first, ties in order of first appearance; at least
    ``min_count`` each, at most ``max_size`` of them.

    ``counts`` is a mapping (a :class:`~collections.Counter` keeps the order in which it first saw
    each token) or (token, count) pairs, in order of first appearance: a token can be anything
    hashable, a word or a word's id."""
    pairs = counts.items() if isinstance(counts, Mapping) else counts
    kept = [(token, count) for token, count in pairs if count >= min_count]
    kept.sort(key=itemgetter(1), reverse=True)  # stable: equal counts keep their order
    return kept if max_size is None else kept[:max_size]


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
