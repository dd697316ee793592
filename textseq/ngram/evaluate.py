"""Perplexity of a backoff model on a token stream, with KenLM's conventions.

Every word and every ``</s>`` is a token; a word outside the model's vocabulary is an OOV and is
scored as ``<unk>``. Perplexity "including OOVs" is 10^(-sum log10 p / tokens); "excluding OOVs"
leaves the OOV tokens out of both sums. These are the numbers KenLM's ``query`` prints.
"""

from __future__ import annotations

import math
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
    perplexity: float | None
    """None where it is undefined (no tokens); inf where it is too large for a float."""
    perplexity_excluding_oovs: float | None
    """None where it is undefined (no tokens but OOVs)."""

    def as_dict(self) -> dict[str, float | int | None]:
        return asdict(self)


def perplexity(log10_prob: float, tokens: int) -> float | None:
    """10^(-log10_prob / tokens): None for no tokens, inf beyond the largest float (a model
    that gives probability 0, log10 -99, to many events)."""
    if tokens <= 0:
        return None
    try:
        return float(10.0 ** (-log10_prob / tokens))
    except OverflowError:
        return math.inf


def evaluate(model: BackoffModel, blocks: Iterable[str]) -> tuple[EvalReport, np.ndarray]:
    """The report, and each sentence's log10 probability."""
    corpus = corpus_from_blocks(blocks, vocabulary=model.word_index)
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
        perplexity=perplexity(total, tokens),
        perplexity_excluding_oovs=perplexity(total - oov_total, tokens - oovs),
    )
    return report, per_sentence


def token_logprobs(model: BackoffModel, blocks: Iterable[str]) -> tuple[np.ndarray, np.ndarray]:
    """(the id of each token of the text, in ``model.words``: every word and every ``</s>``, an
    unknown word as ``<unk>``; its natural-log probability): the tokens and scores of
    :func:`evaluate`, one by one."""
    corpus = corpus_from_blocks(blocks, vocabulary=model.word_index)
    if len(corpus.words) != len(model.words):
        raise AssertionError("a fixed vocabulary must not grow")
    real = corpus.position_in_sentence() >= 0
    return corpus.ids[real], model.score_corpus(corpus)[real] * math.log(10.0)
