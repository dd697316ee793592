"""A token stream for embedding training, read once for the vocabulary and then replayed in chunks.

:func:`training_corpus` makes the first pass: it counts the words of the text (one sentence per
line) and spools the text as 32-bit ids to an unnamed temporary file, so that stdin can be read
twice and memory stays bounded by the vocabulary, not by the corpus. :meth:`TrainingCorpus.chunks`
is the second pass, as many times as there are epochs: the spooled ids read back about
``chunk_tokens`` at a time, renumbered, rare words dropped and sentences cut to at most
``MAX_SENTENCE`` words (as gensim cuts them; text8 is one line of 17M words).

The vocabulary is the words seen at least ``min_count`` times, most frequent first (ties in order
of first appearance: :func:`textseq.vocab.most_frequent`), which is the row order of the vector
file written at the end. Rarer words are dropped from the stream, as word2vec and gensim drop them.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import IO

import numpy as np

from textseq.embed.limits import MAX_DIMENSIONS, MAX_WINDOW, bounded, check_memory
from textseq.ngram.corpus import BOS, EOS, CorpusBuilder
from textseq.vocab import most_frequent

MAX_SENTENCE = 10_000
"""Longer sentences are cut into pieces of this many words (gensim's ``MAX_WORDS_IN_BATCH``)."""
CHUNK_TOKENS = 1 << 20
_SENTENCE_MARK = -2
_DROPPED = -1


@dataclass
class Chunk:
    """Whole sentences of the corpus, ready for a training loop."""

    ids: np.ndarray
    """int32 word ids (vocabulary rows), sentence after sentence."""
    sentence_starts: np.ndarray
    """int64 offsets into ``ids`` where sentences begin, and ``len(ids)`` last."""
    offset: int
    """Tokens of the corpus before this chunk."""

    @property
    def tokens(self) -> int:
        return len(self.ids)

    def sentence_of_token(self) -> np.ndarray:
        """int64 sentence number (within the chunk) of every token."""
        return np.repeat(np.arange(len(self.sentence_starts) - 1), np.diff(self.sentence_starts))


class TrainingCorpus:
    """The vocabulary with counts, and the spooled token stream (see :func:`training_corpus`)."""

    def __init__(self, words: list[str], counts: np.ndarray, spool: IO[bytes], renumber: np.ndarray, tokens: int) -> None:
        self.words = words
        """Vocabulary, most frequent first."""
        self.counts = counts
        """Occurrences of each word (int64)."""
        self.tokens = tokens
        """Tokens of vocabulary words in the corpus (the training stream's length)."""
        self._spool = spool
        self._renumber = renumber

    def chunks(self, chunk_tokens: int = CHUNK_TOKENS) -> Iterator[Chunk]:
        """The corpus again from the start, in chunks of whole sentences of about ``chunk_tokens``."""
        self._spool.seek(0)
        carry = np.empty(0, np.int32)
        offset = 0
        while True:
            raw = np.fromfile(self._spool, dtype=np.int32, count=chunk_tokens)
            last = len(raw) == 0
            raw = np.concatenate((carry, raw)) if len(carry) else raw
            if not len(raw):
                return
            cut = len(raw)
            if not last:
                marks = np.flatnonzero(raw == BOS)
                if len(marks) and marks[-1] > 0:
                    cut = int(marks[-1])
            chunk = self._chunk(raw[:cut], offset)
            carry = raw[cut:]
            offset += chunk.tokens
            if chunk.tokens:
                yield chunk
            if last and not len(carry):
                return

    def _chunk(self, raw: np.ndarray, offset: int) -> Chunk:
        mapped = self._renumber[raw]
        kept = mapped >= 0
        sentence = np.cumsum(mapped == _SENTENCE_MARK, dtype=np.int32)[kept]
        ids = mapped[kept]
        del mapped, kept
        starts_at = np.empty(len(ids), dtype=bool)
        starts_at[:1] = True
        np.not_equal(sentence[1:], sentence[:-1], out=starts_at[1:])
        del sentence
        begin = np.flatnonzero(starts_at)
        lengths = np.diff(np.append(begin, len(ids)))
        if len(lengths) and lengths.max() > MAX_SENTENCE:
            position = np.arange(len(ids), dtype=np.int64) - np.repeat(begin, lengths)
            starts_at |= position % MAX_SENTENCE == 0
            begin = np.flatnonzero(starts_at)
        sentence_starts = np.append(begin, len(ids)).astype(np.int64)
        return Chunk(np.ascontiguousarray(ids, dtype=np.int32), sentence_starts, offset)

    def close(self) -> None:
        self._spool.close()

    def __enter__(self) -> TrainingCorpus:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


def check_training_arguments(corpus: TrainingCorpus, dim: int, window: int) -> None:
    """What every embedder needs before it trains; ValueError (a clear message) otherwise."""
    if len(corpus.words) < 2:
        raise ValueError("too few words for vectors: lower min_count or give more text")
    bounded("window", window, 1, MAX_WINDOW)
    bounded("dim", dim, 1, MAX_DIMENSIONS)


def check_training_memory(corpus: TrainingCorpus, dim: int, matrices: float, embedder: str, more: float = 0) -> None:
    """Refuse, before allocating them, ``matrices`` float32 matrices of one row per word and
    ``dim`` columns (and ``more`` bytes) that would not fit in memory: a MemoryNeeded
    (ValueError) saying how much they need."""
    words = len(corpus.words)
    check_memory(
        matrices * words * dim * 4 + more,
        f"training {embedder} ({words:,} words x {dim:,} dimensions)",
        "lower dim, or raise min_count for fewer words",
    )


def training_corpus(blocks: Iterable[str], min_count: int = 5, on_block: Callable[[str], None] | None = None) -> TrainingCorpus:
    """Read ``blocks`` (one sentence per line) once: count the words and spool their ids.

    ``on_block``, if given, is called with each block after it is read (for progress)."""
    builder = CorpusBuilder()
    spool = tempfile.TemporaryFile(prefix="textseq-embed-")  # noqa: SIM115 - the corpus returned owns it; closed here on failure
    counts = np.zeros(0, np.int64)
    try:
        for block in blocks:
            builder.add_block(block)
            for ids in builder.take_sentences():
                ids = ids[ids != EOS]
                seen = np.bincount(ids, minlength=len(builder.index))
                if len(seen) > len(counts):
                    counts = np.concatenate((counts, np.zeros(len(seen) - len(counts), np.int64)))
                counts[: len(seen)] += seen
                ids.tofile(spool)
            if on_block is not None:
                on_block(block)
        spool.flush()
    except BaseException:
        spool.close()
        raise
    words = [""] * len(builder.index)
    for word, i in builder.index.items():
        words[i] = word
    counts = np.concatenate((counts, np.zeros(max(0, len(words) - len(counts)), np.int64)))
    counts[[BOS, EOS]] = 0
    kept = most_frequent(enumerate(counts.tolist()), min_count=min_count)
    keep = np.array([word for word, _ in kept], dtype=np.int64)
    renumber = np.full(len(words), _DROPPED, dtype=np.int32)
    renumber[keep] = np.arange(len(keep), dtype=np.int32)
    renumber[BOS] = _SENTENCE_MARK
    return TrainingCorpus([words[i] for i in keep.tolist()], counts[keep], spool, renumber, int(counts[keep].sum()))
