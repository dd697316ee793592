"""The standard intrinsic evaluations, with gensim 4's protocol so that the numbers compare one
for one with ``KeyedVectors.evaluate_word_analogies`` and ``evaluate_word_pairs``:

- only the first ``restrict_vocab`` rows (300000) count as the vocabulary;
- case-insensitive by default: every word upper-cased, and of several rows that upper-case alike
  the first (most frequent) is taken;
- a question or pair with a word outside that vocabulary is skipped and counted as OOV;
- an analogy's answer is the best of the 3CosAdd top five that is not one of a, b, c.

Sections whose names start with ``gram`` are syntactic, the others semantic (the Google set's
convention). Spearman's rho uses average ranks for ties, as scipy does; no scipy is needed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from textseq.embed.vectors import Vectors
from textseq.errors import InputError
from textseq.streams import iter_lines, open_input

RESTRICT_VOCAB = 300_000
_BATCH = 256


@dataclass
class Section:
    name: str
    correct: int = 0
    total: int = 0

    @property
    def accuracy(self) -> float:
        return self.correct / self.total if self.total else 0.0

    @property
    def syntactic(self) -> bool:
        return self.name.startswith("gram")


@dataclass
class AnalogyResult:
    sections: list[Section] = field(default_factory=list)
    questions: int = 0
    oov: int = 0

    def _sum(self, sections: list[Section]) -> Section:
        return Section("", sum(s.correct for s in sections), sum(s.total for s in sections))

    @property
    def total(self) -> Section:
        return self._sum(self.sections)

    @property
    def semantic(self) -> Section:
        return self._sum([s for s in self.sections if not s.syntactic])

    @property
    def syntactic(self) -> Section:
        return self._sum([s for s in self.sections if s.syntactic])

    @property
    def oov_ratio(self) -> float:
        return self.oov / self.questions if self.questions else 0.0

    def as_dict(self) -> dict[str, Any]:
        def row(s: Section) -> dict[str, Any]:
            return {"correct": s.correct, "total": s.total, "accuracy": s.accuracy}

        return {
            "sections": [{"section": s.name, **row(s)} for s in self.sections],
            "semantic": row(self.semantic),
            "syntactic": row(self.syntactic),
            "total": row(self.total),
            "questions": self.questions,
            "oov": self.oov,
            "oov_ratio": self.oov_ratio,
        }


@dataclass
class PairsResult:
    spearman: float
    pearson: float
    pairs: int
    oov: int

    @property
    def oov_ratio(self) -> float:
        return self.oov / (self.pairs + self.oov) if self.pairs + self.oov else 0.0

    def as_dict(self) -> dict[str, Any]:
        """For JSON: a correlation that is undefined (every score alike) is null, not NaN."""

        def number(x: float) -> float | None:
            return x if math.isfinite(x) else None

        return {
            "spearman": number(self.spearman),
            "pearson": number(self.pearson),
            "pairs": self.pairs,
            "oov": self.oov,
            "oov_ratio": self.oov_ratio,
        }


def evaluation_vocabulary(vectors: Vectors, restrict_vocab: int = RESTRICT_VOCAB, case_insensitive: bool = True) -> dict[str, int]:
    """Word (upper-cased when case-insensitive) -> row, over the first ``restrict_vocab`` rows,
    the first row winning."""
    vocab: dict[str, int] = {}
    for i, word in enumerate(vectors.words[:restrict_vocab]):
        vocab.setdefault(word.upper() if case_insensitive else word, i)
    return vocab


def evaluate_analogies(vectors: Vectors, path: str, restrict_vocab: int = RESTRICT_VOCAB, case_insensitive: bool = True) -> AnalogyResult:
    """Accuracy on a Google-format analogy file (``: section`` lines, then ``a b c d``; blank
    lines and '#' comments skipped). A malformed line is an InputError naming it (gensim logs and
    skips it, which hides a broken file behind a lower accuracy)."""
    vocab = evaluation_vocabulary(vectors, restrict_vocab, case_insensitive)
    result = AnalogyResult()
    questions: list[tuple[int, tuple[int, int, int], tuple[str, str, str, str]]] = []  # (section, rows, words)
    source = open_input(path)
    try:
        for line_no, line in enumerate(iter_lines(source), 1):
            if line.startswith(": "):
                result.sections.append(Section(line.lstrip(": ").strip()))
                continue
            if not line.strip() or line.startswith("#"):
                continue
            if not result.sections:
                raise InputError("a question before the first ': section' line", source=source.name, line=line_no)
            words = _question(line, source.name, line_no)
            if case_insensitive:
                words = [w.upper() for w in words]
            result.questions += 1
            if any(w not in vocab for w in words):
                result.oov += 1
                continue
            a, b, c, d = words
            questions.append((len(result.sections) - 1, (vocab[a], vocab[b], vocab[c]), (a, b, c, d)))
    finally:
        source.close()
    unit = vectors.unit[:restrict_vocab]
    upper = [w.upper() if case_insensitive else w for w in vectors.words[:restrict_vocab]]
    top = min(5 + 3, len(unit))
    for start in range(0, len(questions), _BATCH):
        batch = questions[start : start + _BATCH]
        rows = np.array([q[1] for q in batch], dtype=np.int64)
        mean = (unit[rows[:, 1]] + unit[rows[:, 2]] - unit[rows[:, 0]]) / 3.0
        norm = np.linalg.norm(mean, axis=1, keepdims=True)
        norm[norm == 0] = 1.0
        mean = (mean / norm).astype(np.float32)
        scores = mean @ unit.T  # (batch, vocab)
        scores[np.arange(len(batch))[:, None], rows] = -np.inf
        part = (
            np.argpartition(-scores, top - 1, axis=1)[:, :top]
            if top < scores.shape[1]
            else np.tile(np.arange(scores.shape[1]), (len(batch), 1))
        )
        for q, (section, _, (a, b, c, expected)) in enumerate(batch):
            cand = part[q]
            cand = cand[np.lexsort((cand, -scores[q, cand]))]
            cand = [i for i in cand if np.isfinite(scores[q, i])][:5]
            predicted = None
            for i in cand:
                predicted = upper[i]
                if predicted in vocab and predicted not in (a, b, c):
                    break
            result.sections[section].total += 1
            if predicted == expected:
                result.sections[section].correct += 1
    return result


def spearman(x: np.ndarray, y: np.ndarray) -> float:
    """Spearman's rank correlation: Pearson's r of the average ranks."""
    return pearson(rankdata(x), rankdata(y))


def pearson(x: np.ndarray, y: np.ndarray) -> float:
    x = np.asarray(x, dtype=np.float64) - np.mean(x)
    y = np.asarray(y, dtype=np.float64) - np.mean(y)
    denom = np.sqrt(np.dot(x, x) * np.dot(y, y))
    return float(np.dot(x, y) / denom) if denom > 0 else float("nan")


def rankdata(values: np.ndarray) -> np.ndarray:
    """Ranks from 1, ties given the mean of the ranks they span (scipy's 'average')."""
    values = np.asarray(values)
    order = np.argsort(values, kind="mergesort")
    ordered = values[order]
    starts = np.r_[True, ordered[1:] != ordered[:-1]]
    group = np.cumsum(starts) - 1
    first = np.flatnonzero(starts)
    counts = np.diff(np.r_[first, len(values)])
    average = first + (counts + 1) / 2.0
    ranks = np.empty(len(values), dtype=np.float64)
    ranks[order] = average[group]
    return ranks


def _question(line: str, source: str, line_no: int) -> list[str]:
    """The four words of an analogy line ``a b c d``."""
    words = line.split()
    if len(words) != 4:
        hint = " (a section line starts with ': ')" if line.startswith(":") else ""
        raise InputError(f"expected 4 words 'a b c d', found {len(words)}{hint}", source=source, line=line_no)
    return words


def _pair(line: str, delimiter: str, source: str, line_no: int, first: bool) -> tuple[str, str, float]:
    """(w1, w2, score) of a line ``w1<TAB>w2<TAB>score``; the score a finite number."""
    parts = line.split(delimiter)
    separator = "tabs" if delimiter == "\t" else repr(delimiter)
    if len(parts) != 3:
        raise InputError(
            f"expected 'w1<TAB>w2<TAB>score' (3 fields separated by {separator}), found {len(parts)} field{'' if len(parts) == 1 else 's'}",
            source=source,
            line=line_no,
        )
    a, b, score = parts
    if not a.strip() or not b.strip():
        raise InputError("a word is empty", source=source, line=line_no)
    try:
        value = float(score)
    except ValueError:
        hint = " (a header line? start it with '#')" if first else ""
        raise InputError(f"the score {score.strip()[:30]!r} is not a number{hint}", source=source, line=line_no) from None
    if not math.isfinite(value):
        raise InputError(f"the score {score.strip()[:30]!r} is not a finite number", source=source, line=line_no)
    return a, b, value


def evaluate_pairs(
    vectors: Vectors, path: str, restrict_vocab: int = RESTRICT_VOCAB, case_insensitive: bool = True, delimiter: str = "\t"
) -> PairsResult:
    """Spearman's rho between human similarity scores (``w1<TAB>w2<TAB>score`` lines; blank
    lines and '#' comments skipped) and the cosine similarities of the vectors. A malformed line
    is an InputError naming it (gensim logs and skips it)."""
    vocab = evaluation_vocabulary(vectors, restrict_vocab, case_insensitive)
    gold: list[float] = []
    left: list[int] = []
    right: list[int] = []
    oov = 0
    source = open_input(path)
    try:
        for line_no, line in enumerate(iter_lines(source), 1):
            if not line.strip() or line.startswith("#"):
                continue
            a, b, value = _pair(line, delimiter, source.name, line_no, first=not gold and not oov)
            if case_insensitive:
                a, b = a.upper(), b.upper()
            if a not in vocab or b not in vocab:
                oov += 1
                continue
            gold.append(value)
            left.append(vocab[a])
            right.append(vocab[b])
    finally:
        source.close()
    if not gold:
        what = f"none of its {oov:,} pairs has both words in the vocabulary" if oov else "no word pairs ('w1<TAB>w2<TAB>score' lines)"
        raise InputError(what, source=source.name)
    unit = vectors.unit
    model = np.einsum("ij,ij->i", unit[left], unit[right])
    gold_array = np.array(gold)
    return PairsResult(spearman(gold_array, model), pearson(gold_array, model), len(gold), oov)
