"""Perplexity of a backoff model on a token stream, with KenLM's conventions.

Every word and every ``</s>`` is a token; a word outside the model's vocabulary is an OOV and is
scored as ``<unk>``. Perplexity "including OOVs" is 10^(-sum log10 p / tokens); "excluding OOVs"
leaves the OOV tokens out of both sums. These are the numbers KenLM's ``query`` prints.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from functools import partial

import numpy as np

from textseq.ngram.corpus import BOS, UNK, Corpus, CorpusBuilder, corpus_from_blocks
from textseq.ngram.model import BackoffModel
from textseq.threads import threaded_map


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


PART_TOKENS = 1 << 18
"""Sentences are scored in parts of about this many tokens, each on one of the scoring
threads while the main thread turns the next block of text into ids."""


@dataclass
class _PartScores:
    tokens: int
    oovs: int
    per_sentence: np.ndarray
    oov_per_sentence: np.ndarray


def evaluate(model: BackoffModel, blocks: Iterable[str], threads: int = 1) -> tuple[EvalReport, np.ndarray]:
    """The report, and each sentence's log10 probability.

    Parts of the text are scored on ``threads`` threads (numpy's searches and gathers let go of
    the GIL) while the next block is read and numbered. The sums are the exactly rounded sums of
    the sentences' scores (``math.fsum``), so the figures do not depend on how the text was cut
    into blocks and parts, nor on ``threads``."""
    builder = CorpusBuilder(model.word_index)
    parts = list(threaded_map(partial(_score_part, model), _sentence_parts(builder, blocks), threads))
    if len(builder.index) != len(model.words):
        raise AssertionError("a fixed vocabulary must not grow")
    per_sentence = np.concatenate([part.per_sentence for part in parts]) if parts else np.empty(0)
    oov_per_sentence = np.concatenate([part.oov_per_sentence for part in parts]) if parts else np.empty(0)
    tokens = sum(part.tokens for part in parts)
    oovs = sum(part.oovs for part in parts)
    total = math.fsum(per_sentence.tolist())
    oov_total = math.fsum(oov_per_sentence.tolist())
    report = EvalReport(
        sentences=builder.sentences,
        tokens=tokens,
        oovs=oovs,
        log10_prob=total,
        log10_prob_oov=oov_total,
        perplexity=perplexity(total, tokens),
        perplexity_excluding_oovs=perplexity(total - oov_total, tokens - oovs),
    )
    return report, per_sentence


def _sentence_parts(builder: CorpusBuilder, blocks: Iterable[str]) -> Iterator[np.ndarray]:
    """The framed ids of the text's sentences, in parts of at least :data:`PART_TOKENS` (the
    last may be shorter)."""
    for block in blocks:
        builder.add_block(block)
        if builder.pending_tokens() >= PART_TOKENS:
            yield np.concatenate(builder.take_sentences())
    if builder.pending_tokens():
        yield np.concatenate(builder.take_sentences())


def _score_part(model: BackoffModel, ids: np.ndarray) -> _PartScores:
    corpus = Corpus(ids=ids, words=model.words, sentences=int(np.count_nonzero(ids == BOS)), tokens=0)
    scores = model.score_corpus(corpus)
    position = corpus.position_in_sentence()
    real = position >= 0
    oov = real & (ids == UNK)
    sentence = np.cumsum(position < 0) - 1
    return _PartScores(
        tokens=int(np.count_nonzero(real)),
        oovs=int(np.count_nonzero(oov)),
        per_sentence=np.bincount(sentence[real], weights=scores[real], minlength=corpus.sentences),
        oov_per_sentence=np.bincount(sentence[oov], weights=scores[oov], minlength=corpus.sentences),
    )


def token_logprobs(model: BackoffModel, blocks: Iterable[str]) -> tuple[np.ndarray, np.ndarray]:
    """(the id of each token of the text, in ``model.words``: every word and every ``</s>``, an
    unknown word as ``<unk>``; its natural-log probability): the tokens and scores of
    :func:`evaluate`, one by one."""
    corpus = corpus_from_blocks(blocks, vocabulary=model.word_index)
    if len(corpus.words) != len(model.words):
        raise AssertionError("a fixed vocabulary must not grow")
    real = corpus.position_in_sentence() >= 0
    return corpus.ids[real], model.score_corpus(corpus)[real] * math.log(10.0)
