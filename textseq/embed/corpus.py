"""A token stream for embedding training: word ids per sentence, and the vocabulary with counts.

The vocabulary is the words seen at least ``min_count`` times, most frequent first (ties in order
of first appearance), which is the row order of the vector file written at the end. Rarer words
are dropped from the stream, as word2vec and gensim drop them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from textseq.ngram.corpus import BOS, EOS, corpus_from_blocks


@dataclass
class TrainingCorpus:
    words: list[str]
    """Vocabulary, most frequent first."""
    counts: np.ndarray
    """Occurrences of each word (int64)."""
    ids: np.ndarray
    """int32 word ids of the kept tokens, sentence after sentence."""
    sentence: np.ndarray
    """int32 sentence number of each token (tokens of one sentence are contiguous)."""

    @property
    def tokens(self) -> int:
        return len(self.ids)


def training_corpus(blocks: Iterable[str], min_count: int = 5) -> TrainingCorpus:
    """Read ``blocks`` (one sentence per line) into a :class:`TrainingCorpus`."""
    corpus = corpus_from_blocks(blocks)
    ids = corpus.ids
    is_word = (ids != BOS) & (ids != EOS)
    sentence = (np.cumsum(ids == BOS) - 1).astype(np.int32)
    counts = np.bincount(ids[is_word], minlength=len(corpus.words)).astype(np.int64)
    counts[[BOS, EOS]] = 0
    order = np.argsort(-counts, kind="stable")  # most frequent first; ties by first appearance
    keep = order[counts[order] >= min_count]
    new_id = np.full(len(corpus.words), -1, dtype=np.int32)
    new_id[keep] = np.arange(len(keep), dtype=np.int32)
    mapped = new_id[ids]
    kept = is_word & (mapped >= 0)
    return TrainingCorpus(
        words=[corpus.words[i] for i in keep.tolist()],
        counts=counts[keep],
        ids=mapped[kept],
        sentence=sentence[kept],
    )
