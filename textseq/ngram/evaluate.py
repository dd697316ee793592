"""Perplexity of a backoff model on a token stream, with KenLM's conventions.

Every word and every ``</s>`` is a token; a word outside the model's vocabulary is an OOV and is
scored as ``<unk>``. Perplexity "including OOVs" is 10^(-sum log10 p / tokens); "excluding OOVs"
leaves the OOV tokens out of both sums. These are the numbers KenLM's ``query`` prints.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass

import numpy as np

from textseq.ngram.corpus import UNK, corpus_from_blocks
from textseq.ngram.model import BackoffModel


@dataclass
class EvalReport:
    sentences: int
    tokens: int
    oovs: int
    log10_prob: float
    log10_prob_oov: float
    perplexity: float
    perplexity_excluding_oovs: float

    def as_dict(self) -> dict[str, float | int]:
        return asdict(self)


def evaluate(model: BackoffModel, blocks: Iterable[str]) -> tuple[EvalReport, np.ndarray]:
    """The report, and each sentence's log10 probability."""
    corpus = corpus_from_blocks(blocks, vocabulary=model.words)
    if len(corpus.words) != len(model.words):
        raise AssertionError("a fixed vocabulary must not grow")
    scores = model.score_corpus(corpus)
    position = corpus.position_in_sentence()
    real = position >= 0
    oov = real & (corpus.ids == UNK)
    tokens = int(real.sum())
    oovs = int(oov.sum())
    total = float(scores[real].sum())
    oov_total = float(scores[oov].sum())
    sentence = np.cumsum(position < 0) - 1
    per_sentence = np.bincount(sentence[real], weights=scores[real], minlength=corpus.sentences)
    report = EvalReport(
        sentences=corpus.sentences,
        tokens=tokens,
        oovs=oovs,
        log10_prob=total,
        log10_prob_oov=oov_total,
        perplexity=float(10 ** (-total / tokens)) if tokens else float("nan"),
        perplexity_excluding_oovs=float(10 ** (-(total - oov_total) / (tokens - oovs))) if tokens > oovs else float("nan"),
    )
    return report, per_sentence
