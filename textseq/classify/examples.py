"""Labelled lines made numbers: every example's tokens as ids into one table of token types, and
its label ids, in flat arrays (a million examples are a few arrays, not a million lists).

The table holds every distinct token in order of first appearance, the training text's first,
with how often the training text has it; what a classifier keeps of it (a cut-off, hashed
buckets for the rest) is the classifier's choice. Types seen only in validation text are in the
table with a count of 0, so that a classifier that hashes unknown words (``linear``) sees their
spelling.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np

from textseq.classify.data import LabelledLine, LabelSet
from textseq.streams import STDIN_NAME
from textseq.tokenize.base import Tokenizer


@dataclass
class TokenTypes:
    """Each distinct token (``names``), its id (``index``) and its count in the training text."""

    names: list[str] = field(default_factory=list)
    index: dict[str, int] = field(default_factory=dict)
    counts: list[int] = field(default_factory=list)

    def ids(self, tokens: Sequence[str]) -> list[int]:
        """The ids of ``tokens``, new types added with a count of 0 (see :meth:`count`). Passes
        at C speed: the new types are found among the distinct tokens only."""
        index = self.index
        new = [token for token in dict.fromkeys(tokens) if token not in index]
        if new:
            index.update(zip(new, range(len(self.names), len(self.names) + len(new))))
            self.names.extend(new)
            self.counts.extend([0] * len(new))
        return list(map(index.__getitem__, tokens))

    def count(self, ids: np.ndarray) -> None:
        """Count the occurrences ``ids`` (of training text)."""
        found = np.bincount(ids, minlength=len(self.names))
        self.counts = (np.asarray(self.counts, dtype=np.int64) + found).tolist()

    def count_array(self) -> np.ndarray:
        return np.asarray(self.counts, dtype=np.int64)


@dataclass
class EncodedExamples:
    """Examples as flat arrays: example ``i`` has the tokens ``tokens[offsets[i]:offsets[i+1]]``
    (ids into ``types``) and the labels ``label_ids[label_offsets[i]:label_offsets[i+1]]``;
    ``lines`` are the source line numbers, for messages."""

    types: TokenTypes
    offsets: np.ndarray
    tokens: np.ndarray
    label_offsets: np.ndarray
    label_ids: np.ndarray
    lines: np.ndarray
    source: str = STDIN_NAME

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def token_ids(self, i: int) -> np.ndarray:
        return self.tokens[self.offsets[i] : self.offsets[i + 1]]

    def labels_of(self, i: int) -> np.ndarray:
        return self.label_ids[self.label_offsets[i] : self.label_offsets[i + 1]]

    def texts(self) -> Iterator[list[str]]:
        """Each example's tokens as strings (what :meth:`Classifier.log_probabilities` takes)."""
        names = self.types.names
        for i in range(len(self)):
            yield [names[t] for t in self.token_ids(i)]

    def first_labels(self) -> np.ndarray:
        """Each example's first label (every example has one)."""
        return self.label_ids[self.label_offsets[:-1]]

    def label_counts(self, labels: int) -> np.ndarray:
        return np.bincount(self.label_ids, minlength=labels)

    @property
    def multi_label(self) -> bool:
        """Whether some example has more than one label."""
        return bool(len(self.label_ids) > len(self))

    def subset(self, chosen: Sequence[int] | np.ndarray) -> EncodedExamples:
        """The examples at ``chosen``, in that order (the type table is shared)."""
        chosen = np.asarray(chosen, dtype=np.int64)
        tokens, offsets = _gather(self.tokens, self.offsets, chosen)
        labels, label_offsets = _gather(self.label_ids, self.label_offsets, chosen)
        return EncodedExamples(self.types, offsets, tokens, label_offsets, labels, self.lines[chosen], self.source)


def _gather(values: np.ndarray, offsets: np.ndarray, chosen: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    lengths = offsets[chosen + 1] - offsets[chosen]
    new_offsets = np.zeros(len(chosen) + 1, dtype=np.int64)
    np.cumsum(lengths, out=new_offsets[1:])
    if not len(chosen):
        return values[:0].copy(), new_offsets
    starts = np.repeat(offsets[chosen] - new_offsets[:-1], lengths)
    positions = np.arange(new_offsets[-1], dtype=np.int64) + starts
    return values[positions], new_offsets


CHUNK_TOKENS = 1 << 18
"""Tokens numbered at a time (and texts tokenized at a time, for tokenizers that work on blocks)."""


def encode_examples(
    examples: Iterable[LabelledLine],
    tokenizer: Tokenizer,
    labels: LabelSet,
    types: TokenTypes,
    *,
    count: bool,
    source: str = STDIN_NAME,
) -> EncodedExamples:
    """``examples`` tokenized by ``tokenizer`` and numbered: token types by ``types`` (extended,
    and counted with ``count``, which training text is and validation text is not), labels by
    ``labels`` (an unknown label is an :class:`~textseq.errors.InputError` at its line)."""
    lengths: list[int] = []
    chunks: list[np.ndarray] = []
    label_counts: list[int] = []
    label_ids: list[int] = []
    lines: list[int] = []
    pending: list[str] = []
    for batch in _batches(examples):
        for example, words in zip(batch, _tokenized(tokenizer, [example.text for example in batch])):
            pending.extend(words)
            lengths.append(len(words))
            label_ids.extend(labels.id_of(name, source=source, line=example.line) for name in example.labels)
            label_counts.append(len(example.labels))
            lines.append(example.line)
        if len(pending) >= CHUNK_TOKENS:
            chunks.append(np.asarray(types.ids(pending), dtype=np.int32))
            pending = []
    chunks.append(np.asarray(types.ids(pending), dtype=np.int32))
    token_ids = np.concatenate(chunks)
    if count:
        types.count(token_ids)
    return EncodedExamples(
        types,
        _offsets(lengths),
        token_ids,
        _offsets(label_counts),
        np.asarray(label_ids, dtype=np.int32),
        np.asarray(lines, dtype=np.int64),
        source,
    )


def _offsets(lengths: list[int]) -> np.ndarray:
    offsets = np.zeros(len(lengths) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    return offsets


def _batches(examples: Iterable[LabelledLine], size: int = 4096) -> Iterator[list[LabelledLine]]:
    batch: list[LabelledLine] = []
    for example in examples:
        batch.append(example)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def tokenized(tokenizer: Tokenizer, texts: Sequence[str]) -> list[list[str]]:
    """The tokens of each of ``texts`` (fastText-format texts: tokens joined by single spaces):
    split as they are for the whitespace tokenizer, a block at a time for the others."""
    if tokenizer.name == "whitespace":
        return [text.split(" ") if text else [] for text in texts]
    if type(tokenizer).tokenize_block is not Tokenizer.tokenize_block and not any("\n" in text for text in texts):
        block = tokenizer.tokenize_block("\n".join(texts))
        return [line.split(" ") if line else [] for line in block.split("\n")]
    return [tokenizer.tokenize(text) for text in texts]


_tokenized = tokenized
