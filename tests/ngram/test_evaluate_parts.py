"""Evaluation in parts on threads: the figures are those of one pass, however the text is cut."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tests.helpers import zipf_text
from textseq.ngram import evaluate as evaluation
from textseq.ngram.corpus import UNK, corpus_from_blocks
from textseq.ngram.counts import count_ngrams
from textseq.ngram.evaluate import evaluate
from textseq.ngram.kneser_ney import estimate

TRAIN = zipf_text(3, 400, 300, 12)
TEST = zipf_text(4, 120, 360, 12)  # words beyond the training text's: OOVs


@pytest.fixture(scope="module")
def model():
    corpus = corpus_from_blocks([TRAIN])
    built = estimate(count_ngrams(corpus, 4))
    built.words = corpus.words
    return built


def one_pass(model, text: str) -> tuple[float, float, int, int, np.ndarray]:
    """The figures from one score of the whole text, summed as exactly as evaluate sums them."""
    corpus = corpus_from_blocks([text], vocabulary=model.word_index)
    scores = model.score_corpus(corpus)
    position = corpus.position_in_sentence()
    real = position >= 0
    oov = real & (corpus.ids == UNK)
    sentence = np.cumsum(position < 0) - 1
    per_sentence = np.bincount(sentence[real], weights=scores[real], minlength=corpus.sentences)
    return math.fsum(scores[real].tolist()), math.fsum(scores[oov].tolist()), int(real.sum()), int(oov.sum()), per_sentence


def blocks_of(text: str, lines: int) -> list[str]:
    rows = text.splitlines(keepends=True)
    return ["".join(rows[i : i + lines]) for i in range(0, len(rows), lines)]


@pytest.mark.parametrize("threads", [1, 2, 3])
@pytest.mark.parametrize("part_tokens", [1, 37, 500, 1 << 18])
@pytest.mark.parametrize("lines_per_block", [1, 7, 10_000])
def test_parts_give_the_figures_of_one_pass(model, monkeypatch, threads, part_tokens, lines_per_block):
    monkeypatch.setattr(evaluation, "PART_TOKENS", part_tokens)
    report, per_sentence = evaluate(model, blocks_of(TEST, lines_per_block), threads)
    total, oov_total, tokens, oovs, expected = one_pass(model, TEST)
    assert report.oovs == oovs > 0
    assert (report.tokens, report.sentences) == (tokens, 120)
    assert np.array_equal(per_sentence, expected)
    # per sentence the sums are the same floats; their total is the exactly rounded one, within
    # an ulp or so of the exact sum of the tokens' scores
    assert report.log10_prob == math.fsum(expected.tolist())
    assert report.log10_prob == pytest.approx(total, rel=1e-14)
    assert report.log10_prob_oov == pytest.approx(oov_total, rel=1e-14)


def test_the_figures_do_not_depend_on_the_cut(model, monkeypatch):
    reports = []
    for part_tokens, lines, threads in [(1 << 18, 10_000, 1), (13, 3, 2), (101, 1, 4)]:
        monkeypatch.setattr(evaluation, "PART_TOKENS", part_tokens)
        reports.append(evaluate(model, blocks_of(TEST, lines), threads)[0])
    assert reports[0] == reports[1] == reports[2]


def test_an_empty_text(model):
    report, per_sentence = evaluate(model, [], 2)
    assert (report.tokens, report.sentences, report.perplexity) == (0, 0, None)
    assert len(per_sentence) == 0
