"""Word vectors in memory: the words, a float32 matrix (one row per word, in file order, most
frequent first by convention), a word -> row index, and the unit-normalized matrix cached.

Every query is a matrix-vector product over the whole vocabulary (or its first ``restrict_vocab``
rows) and an ``argpartition``; nothing loops over words in Python.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from textseq.errors import InputError

COSMUL_EPSILON = 1e-3
"""Levy & Goldberg (2014)'s epsilon in 3CosMul; gensim's most_similar_cosmul uses 1e-6."""


class UnknownWordError(InputError):
    """A query word that is not in the vocabulary (exit 1)."""

    def __init__(self, word: str, source: str | None = None) -> None:
        where = f" of {source}" if source else ""
        super().__init__(f"{word!r} is not in the vocabulary{where}")
        self.word = word


class Vectors:
    """``words[i]`` has the vector ``matrix[i]``; ``index[word]`` is its row (the first row when a
    word appears twice)."""

    def __init__(self, words: Sequence[str], matrix: np.ndarray, source: str | None = None) -> None:
        matrix = np.asarray(matrix, dtype=np.float32)
        if matrix.ndim != 2 or matrix.shape[0] != len(words):
            raise ValueError(f"{len(words)} words but a matrix of shape {matrix.shape}")
        self.words = list(words)
        self.matrix = matrix
        self.source = source
        self.index: dict[str, int] = {}
        for i, word in enumerate(self.words):
            self.index.setdefault(word, i)
        self._unit: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.words)

    def __contains__(self, word: object) -> bool:
        return word in self.index

    @property
    def dim(self) -> int:
        return int(self.matrix.shape[1])

    @property
    def norms(self) -> np.ndarray:
        """The rows' lengths (infinite for a row whose squares overflow float32)."""
        with np.errstate(over="ignore"):
            return np.linalg.norm(self.matrix, axis=1)

    @property
    def unit(self) -> np.ndarray:
        """The rows scaled to length 1 (zero rows stay zero, and so do rows too long for float32),
        computed once."""
        if self._unit is None:
            norms = self.norms
            norms[norms == 0] = 1.0
            self._unit = (self.matrix / norms[:, None]).astype(np.float32)
        return self._unit

    def row(self, word: str) -> int:
        try:
            return self.index[word]
        except KeyError:
            raise UnknownWordError(word, self.source) from None

    def vector(self, word: str, unit: bool = False) -> np.ndarray:
        i = self.row(word)
        return self.unit[i] if unit else self.matrix[i]

    def similarity(self, a: str, b: str) -> float:
        """Cosine similarity of two words."""
        return float(np.dot(self.vector(a, unit=True), self.vector(b, unit=True)))

    def _top(self, scores: np.ndarray, exclude: Sequence[int], k: int) -> list[tuple[str, float]]:
        """The k best rows of ``scores`` (descending, ties by row order), without ``exclude``."""
        scores = scores.copy()
        exclude = [i for i in exclude if i < len(scores)]
        if exclude:
            scores[exclude] = -np.inf
        k = min(k, len(scores) - len(set(exclude)))
        if k <= 0:
            return []
        part = np.argpartition(-scores, k - 1)[:k] if k < len(scores) else np.arange(len(scores))
        best = part[np.lexsort((part, -scores[part]))]
        return [(self.words[i], float(scores[i])) for i in best]

    def _rows(self, words: Sequence[str]) -> list[int]:
        return [self.row(w) for w in words]

    def most_similar(
        self, positive: Sequence[str] = (), negative: Sequence[str] = (), k: int = 10, restrict_vocab: int | None = None
    ) -> list[tuple[str, float]]:
        """3CosAdd: the words nearest (by cosine) to the normalized mean of the unit vectors of
        ``positive`` minus those of ``negative`` (gensim's most_similar); the query words
        themselves are left out. ``king - man + woman``: positive=[king, woman], negative=[man]."""
        pos, neg = self._rows(positive), self._rows(negative)
        if not pos and not neg:
            raise ValueError("most_similar needs at least one word")
        unit = self.unit
        mean = (unit[pos].sum(axis=0) - unit[neg].sum(axis=0)) / (len(pos) + len(neg))
        norm = np.linalg.norm(mean)
        if norm > 0:
            mean = mean / norm
        rows = unit[:restrict_vocab] if restrict_vocab else unit
        return self._top(rows @ mean.astype(np.float32), pos + neg, k)

    def most_similar_cosmul(
        self,
        positive: Sequence[str] = (),
        negative: Sequence[str] = (),
        k: int = 10,
        restrict_vocab: int | None = None,
        epsilon: float = COSMUL_EPSILON,
    ) -> list[tuple[str, float]]:
        """3CosMul (Levy & Goldberg 2014, eq. 4): the product of the shifted cosines (1 + cos) / 2
        with ``positive`` over the product with ``negative`` plus ``epsilon``."""
        pos, neg = self._rows(positive), self._rows(negative)
        if not pos:
            raise ValueError("3CosMul needs at least one positive word")
        unit = self.unit[:restrict_vocab] if restrict_vocab else self.unit
        shifted = (1.0 + unit @ self.unit[pos + neg].T) / 2.0  # (n, len(pos) + len(neg))
        scores = shifted[:, : len(pos)].prod(axis=1) / (shifted[:, len(pos) :].prod(axis=1) + epsilon)
        return self._top(scores, pos + neg, k)

    def neighbors(self, word: str, k: int = 10, restrict_vocab: int | None = None) -> list[tuple[str, float]]:
        """The k nearest words by cosine similarity, the word itself left out."""
        return self.most_similar([word], (), k, restrict_vocab)

    def analogy(
        self, a: str, b: str, c: str, k: int = 5, cosmul: bool = False, restrict_vocab: int | None = None
    ) -> list[tuple[str, float]]:
        """a is to b as c is to ?: ``b - a + c`` (3CosAdd) or its 3CosMul form."""
        method = self.most_similar_cosmul if cosmul else self.most_similar
        return method([b, c], [a], k, restrict_vocab)

    def restrict(self, n: int) -> Vectors:
        """The first n words."""
        return Vectors(self.words[:n], self.matrix[:n], self.source)
