"""Tallies of parts of a text merge into the tally of the whole: the merge that a chunked count
(``--memory``) and a count on Dask share."""

from __future__ import annotations

import numpy as np
import pytest

from helpers import zipf_text
from textseq.ngram.chunked import count_in_chunks, link, merge_tallies, tally_of
from textseq.ngram.corpus import CorpusBuilder, corpus_from_blocks
from textseq.ngram.counts import count_ngrams


def _random_text(seed: int, lines: int = 300) -> str:
    return zipf_text(seed, lines, words=60, longest=9)


def _same(mine, theirs) -> None:
    assert mine.vocab_size == theirs.vocab_size and mine.last_window == theirs.last_window
    for a, b in zip(mine.orders, theirs.orders):
        for field in ("context", "suffix", "word", "count", "starts_with_bos"):
            assert np.array_equal(getattr(a, field), getattr(b, field)), (a.order, field)


@pytest.mark.parametrize("seed", range(6))
def test_tallies_of_parts_merged_in_any_grouping_are_the_tally_of_the_whole(seed):
    text = _random_text(seed)
    lines = text.splitlines(keepends=True)
    rng = np.random.default_rng(seed)
    cuts = sorted(rng.choice(np.arange(1, len(lines)), size=5, replace=False).tolist())
    parts = ["".join(lines[a:b]) for a, b in zip([0, *cuts], [*cuts, len(lines)])]
    builder = CorpusBuilder()  # one numbering: each part's words keep their ids, new ones come after
    tallies = []
    for part in parts:
        builder.add_block(part)
        tallies.append(tally_of(count_ngrams(builder.build(), 4)))
        builder.reset_chunks()
    pairwise = tallies
    while len(pairwise) > 1:  # as the Dask tree merges them
        pairwise = [merge_tallies(pairwise[i], pairwise[i + 1]) for i in range(0, len(pairwise) - 1, 2)] + pairwise[
            len(pairwise) // 2 * 2 :
        ]
    folded = tallies[0]
    for tally in tallies[1:]:  # as a chunked count folds them
        folded = merge_tallies(folded, tally)
    whole = count_ngrams(corpus_from_blocks([text]), 4)
    for tally in (pairwise[0], folded):
        tally.unigrams = np.concatenate([tally.unigrams, np.zeros(whole.vocab_size - len(tally.unigrams), dtype=np.int64)])
        counted = link(tally, None)
        counted.last_window = whole.last_window
        _same(counted, whole)


def test_a_tally_merged_with_itself_doubles_its_counts_and_nothing_else():
    tally = tally_of(count_ngrams(corpus_from_blocks([_random_text(9)]), 3))
    doubled = merge_tallies(tally, tally)
    assert np.array_equal(doubled.unigrams, 2 * tally.unigrams)
    for n in range(2):
        assert np.array_equal(doubled.context[n], tally.context[n]) and np.array_equal(doubled.word[n], tally.word[n])
        assert np.array_equal(doubled.count[n], 2 * tally.count[n])


@pytest.mark.parametrize("memory", [10_000 * 96, 30_000 * 96])
def test_counting_in_many_small_chunks_keeps_kenlms_window_and_every_link(memory):
    text = _random_text(11, lines=6000)
    lines = text.splitlines(keepends=True)
    blocks = ["".join(lines[i : i + 50]) for i in range(0, len(lines), 50)]
    chunked, words, _, _ = count_in_chunks(blocks, 5, memory)
    whole_corpus = corpus_from_blocks([text])
    assert words == whole_corpus.words
    _same(chunked, count_ngrams(whole_corpus, 5))
