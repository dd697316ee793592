"""A token stream as integer ids, one sentence per line, ready for vectorized counting.

Ids follow KenLM's numbering, so that results can be compared with lmplz's number by number:
``<unk>`` 0, ``<s>`` 1, ``</s>`` 2, then every other word in the order of its first appearance.
Each sentence is stored as ``<s> w1 ... wn </s>``; blank lines are skipped; a last line without a
newline gets no ``</s>``, as in lmplz. ``<unk>`` in the text
(PTB, WikiText) is the unknown word; ``<s>`` and ``</s>`` inside a line are dropped with a warning.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from itertools import count, repeat

import numpy as np

from textseq.vocab import most_frequent

UNK, BOS, EOS = 0, 1, 2
_LINE_END = "\0"  # not whitespace, so it survives str.split as a token of its own
_NEW = -2
SPECIALS = ("<unk>", "<s>", "</s>")


@dataclass
class Corpus:
    """Sentences as one array of ids, each sentence framed by ``<s>`` and ``</s>``."""

    ids: np.ndarray
    """int32 ids; every sentence is ``BOS w1 .. wn EOS``."""
    words: list[str]
    """id -> word."""
    sentences: int
    tokens: int
    """Words in the text, ``</s>`` not included (KenLM's token count)."""
    dropped_markers: int = 0

    def position_in_sentence(self) -> np.ndarray:
        """For each position, its index within the sentence: -1 at ``<s>``, 0 at the first word."""
        index = np.arange(len(self.ids), dtype=np.int32)
        start = np.where(self.ids == BOS, index, 0)
        np.maximum.accumulate(start, out=start)
        index -= start
        index -= 1
        return index


class CorpusBuilder:
    """Accumulates blocks of token lines into a :class:`Corpus`."""

    def __init__(self, vocabulary: Iterable[str] | dict[str, int] | None = None) -> None:
        """``vocabulary``: the words to number (after the specials, each once; every other word
        is ``<unk>``), or a model's word index to copy (word -> id, the specials first)."""
        self.fixed = vocabulary is not None
        if isinstance(vocabulary, dict):
            self.index = dict(vocabulary)
        else:
            self.index = {w: i for i, w in enumerate(SPECIALS)}
            for word in vocabulary or ():
                self.index.setdefault(word, len(self.index))
        self._chunks: list[np.ndarray] = []
        self.sentences = 0
        self.tokens = 0
        self.dropped_markers = 0

    def _ids(self, tokens: list[str]) -> np.ndarray:
        """Ids of ``tokens`` (the line separator is -1); new words are numbered in order of first
        appearance. C-level maps: no Python loop per token."""
        index = self.index
        index[_LINE_END] = -1
        try:
            if self.fixed:
                return np.fromiter(map(index.get, tokens, repeat(UNK)), dtype=np.int32, count=len(tokens))
            ids = np.fromiter(map(index.get, tokens, repeat(_NEW)), dtype=np.int32, count=len(tokens))
            unseen = np.flatnonzero(ids == _NEW)
            if len(unseen):  # only the new words' tokens are visited in Python
                words = [tokens[i] for i in unseen.tolist()]
                index.update(zip(dict.fromkeys(words), count(len(index) - 1)))
                ids[unseen] = np.fromiter(map(index.__getitem__, words), dtype=np.int32, count=len(words))
            return ids
        finally:
            del index[_LINE_END]

    def add_block(self, block: str) -> None:
        """Add the lines of ``block``. A block that does not end with a newline is the end of an
        input whose last line was not terminated: like lmplz, that line gets no ``</s>``.

        The block is split once, with a separator token standing for each newline."""
        if _LINE_END in block:  # the separator cannot be told from text: split line by line
            for line in block.split("\n")[:-1]:
                self.add_block(line.replace(_LINE_END, " ") + "\n")
            if not block.endswith("\n"):
                self.add_block(block.rsplit("\n", 1)[-1].replace(_LINE_END, " "))
            return
        terminated = block.endswith("\n")
        ids = self._ids(block.replace("\n", f" {_LINE_END} ").split())
        separator = ids == -1
        line_of = np.cumsum(separator) - separator  # line number of every token
        words = ~separator
        lines = int(separator.sum()) + (0 if terminated else 1)
        lengths = np.bincount(line_of[words], minlength=lines).astype(np.int64)
        ids = ids[words]
        owner = line_of[words]
        markers = (ids == BOS) | (ids == EOS)
        if markers.any():
            self.dropped_markers += int(markers.sum())
            lengths -= np.bincount(owner[markers], minlength=lines)
            ids = ids[~markers]
        has_end = np.ones(lines, dtype=bool)
        if not terminated:
            has_end[-1] = False
        keep = lengths > 0
        self._frame(ids, lengths[keep], has_end[keep])

    def _frame(self, ids: np.ndarray, lengths: np.ndarray, has_end: np.ndarray) -> None:
        """Append sentences ``<s> words [</s>]`` to the corpus."""
        if not len(lengths):
            return
        framed_length = lengths + 1 + has_end
        out = np.empty(int(framed_length.sum()), dtype=np.int32)
        ends = np.cumsum(framed_length)
        starts = ends - framed_length
        body = np.ones(len(out), dtype=bool)
        out[starts] = BOS
        body[starts] = False
        out[(ends - 1)[has_end]] = EOS
        body[(ends - 1)[has_end]] = False
        out[body] = ids
        self._chunks.append(out)
        self.sentences += len(lengths)
        self.tokens += int(lengths.sum())

    def pending_tokens(self) -> int:
        """Ids held since the last :meth:`reset_chunks`."""
        return sum(len(chunk) for chunk in self._chunks)

    def take_sentences(self) -> list[np.ndarray]:
        """The framed sentences added since the last call (or reset), handed over and forgotten."""
        chunks, self._chunks = self._chunks, []
        return chunks

    def reset_chunks(self) -> None:
        """Forget the sentences added so far, keeping the vocabulary (for counting in chunks)."""
        self._chunks = []
        self.sentences = self.tokens = self.dropped_markers = 0

    def build(self) -> Corpus:
        ids = np.concatenate(self._chunks) if self._chunks else np.empty(0, dtype=np.int32)
        words = [""] * len(self.index)
        for word, i in self.index.items():
            words[i] = word
        return Corpus(ids=ids, words=words, sentences=self.sentences, tokens=self.tokens, dropped_markers=self.dropped_markers)


def corpus_from_blocks(blocks: Iterable[str], vocabulary: Iterable[str] | dict[str, int] | None = None) -> Corpus:
    builder = CorpusBuilder(vocabulary)
    for block in blocks:
        builder.add_block(block)
    return builder.build()


def rare_words_to_unk(corpus: Corpus, min_count: int) -> Corpus:
    """The same corpus with every word seen fewer than ``min_count`` times replaced by ``<unk>``
    (ids renumbered, first-appearance order kept); the words kept are those
    :func:`textseq.vocab.most_frequent` keeps."""
    keep, new_id = renumbering(np.bincount(corpus.ids, minlength=len(corpus.words)), min_count)
    words = [w for w, k in zip(corpus.words, keep) if k]
    return Corpus(
        ids=new_id[corpus.ids].astype(np.int32),
        words=words,
        sentences=corpus.sentences,
        tokens=corpus.tokens,
        dropped_markers=corpus.dropped_markers,
    )


def renumbering(counts: np.ndarray, min_count: int) -> tuple[np.ndarray, np.ndarray]:
    """(which ids stay words of their own at ``min_count``, see :func:`frequent_words`; each id's
    new id: the words kept numbered in their order, every other one ``<unk>``)."""
    keep = frequent_words(counts, min_count)
    return keep, np.where(keep, np.cumsum(keep) - 1, UNK)


def frequent_words(counts: np.ndarray, min_count: int) -> np.ndarray:
    """Which ids (``counts`` is indexed by id) stay words of their own at ``min_count``: the
    specials, and the words :func:`textseq.vocab.most_frequent` keeps."""
    candidates = enumerate(counts.tolist()[len(SPECIALS) :], len(SPECIALS))
    keep = np.zeros(len(counts), dtype=bool)
    keep[[word for word, _ in most_frequent(candidates, min_count=min_count)]] = True
    keep[: len(SPECIALS)] = True
    return keep
