"""word2vec skip-gram and CBOW with negative sampling (textseq.embed.word2vec)."""

from __future__ import annotations

import itertools
import time

import numpy as np
import pytest

pytest.importorskip("numba")

from helpers import Recorder, margins
from textseq.embed.corpus import training_corpus
from textseq.embed.word2vec import (
    Cbow,
    SkipGram,
    huffman_tree,
    keep_probabilities,
    learning_rate,
    noise_buckets,
    noise_sample,
    noise_table,
    split_jobs,
)

SETTINGS = dict(dim=50, window=5)
EPOCHS = 5
TRAINERS = [pytest.param(SkipGram, id="skipgram"), pytest.param(Cbow, id="cbow")]
HS_TRAINERS = [
    pytest.param(SkipGram, {"hs": True}, id="skipgram-hs"),
    pytest.param(Cbow, {"hs": True}, id="cbow-hs"),
    pytest.param(SkipGram, {"hs": True, "negative": 3}, id="skipgram-hs+neg"),
]


@pytest.fixture(scope="module")
def corpus(generated_tokens):
    return training_corpus([generated_tokens], min_count=5)


@pytest.mark.parametrize("trainer", TRAINERS)
def test_related_words_end_near_each_other(corpus, trainer):
    vectors = trainer(epochs=EPOCHS).train(corpus, seed=1, **SETTINGS)
    assert vectors.words == corpus.words
    assert vectors.matrix.shape == (len(corpus.words), 50)
    countries, languages = margins(vectors.unit, vectors.index)
    assert countries > 0.2
    assert languages > 0.2


@pytest.mark.parametrize("trainer", TRAINERS)
def test_same_seed_same_vectors_with_one_thread(corpus, trainer):
    a = trainer().train(corpus, dim=20, window=5, seed=7).matrix
    b = trainer().train(corpus, dim=20, window=5, seed=7).matrix
    c = trainer().train(corpus, dim=20, window=5, seed=8).matrix
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)


@pytest.mark.parametrize("trainer", TRAINERS)
def test_two_threads_learn_as_well(corpus, trainer):
    model = trainer(epochs=EPOCHS, threads=2)
    vectors = model.train(corpus, seed=1, **SETTINGS)
    assert np.isfinite(vectors.matrix).all()
    assert min(margins(vectors.unit, vectors.index)) > 0.2
    assert 0.5 * EPOCHS * corpus.tokens < model.trained_words < EPOCHS * corpus.tokens


def test_learning_rate_decays_linearly_to_min_alpha():
    assert learning_rate(0.025, 0.0001, 0.0, 1000.0) == 0.025
    assert learning_rate(0.025, 0.0001, 500.0, 1000.0) == pytest.approx((0.025 + 0.0001) / 2)
    assert learning_rate(0.025, 0.0001, 1000.0, 1000.0) == pytest.approx(0.0001)
    assert learning_rate(0.025, 0.0001, 2000.0, 1000.0) == 0.0001  # never below


def test_noise_follows_count_to_the_power_075():
    counts = np.array([5000, 1200, 700, 300, 100, 40, 10, 5], dtype=np.int64)
    table = noise_table(counts)
    assert table[-1] == 2**31 - 1 and np.all(np.diff(table) > 0)
    buckets = noise_buckets(table)
    draws = noise_sample(table, buckets, 11, 400_000)
    observed = np.bincount(draws, minlength=len(counts)) / len(draws)
    expected = counts**0.75 / (counts**0.75).sum()
    assert np.abs(observed - expected).max() < 0.004
    assert np.allclose(observed, expected, rtol=0.1)
    assert not np.array_equal(draws[:1000], noise_sample(table, buckets, 12, 1000))


def test_bucketed_noise_draws_are_those_of_a_full_binary_search():
    rng = np.random.default_rng(5)
    counts = np.sort(rng.zipf(1.3, 30_000).clip(max=10**7))[::-1].astype(np.int64)
    table = noise_table(counts)
    buckets = noise_buckets(table)
    states = rng.integers(0, 2**48, 200_000, dtype=np.uint64)
    draws = (states >> np.uint64(16)) % np.uint64(table[-1])
    expected = np.searchsorted(table, draws.astype(np.int64), side="right")
    from textseq.embed.word2vec import draw_noise

    got = np.array([draw_noise(table, buckets, np.uint64(s)) for s in states[:20_000]])
    assert np.array_equal(got, expected[:20_000])
    edges = np.array([0, 1, table[0] - 1, table[0], table[-1] - 1], dtype=np.int64)  # bucket and table edges
    assert [draw_noise(table, buckets, np.uint64(int(x) << 16)) for x in edges] == np.searchsorted(table, edges, side="right").tolist()


def test_subsampling_keeps_words_with_mikolovs_probability():
    counts = np.array([10_000, 1_000, 10, 1], dtype=np.int64)
    sample = 1e-3
    threshold = sample * counts.sum()
    expected = np.minimum(1, (np.sqrt(counts / threshold) + 1) * threshold / counts)
    assert np.allclose(keep_probabilities(counts, sample), expected)
    assert expected[0] < 0.2 and expected[-1] == 1
    assert np.all(keep_probabilities(counts, 0) == 1)


def test_jobs_cover_whole_sentences():
    starts = np.array([0, 4000, 9000, 12000, 15000, 30000, 31000])
    jobs = split_jobs(starts, job_words=10_000)
    assert jobs.tolist() == [0, 3, 5, 6]


def test_options():
    assert SkipGram().alpha == 0.025 and Cbow().alpha == 0.05
    assert SkipGram(iter=3).epochs == 3
    assert (SkipGram().negative, SkipGram(hs=True).negative, SkipGram(hs="true", negative=2).negative) == (5, 0, 2)
    assert SkipGram(hs="yes").hs and not Cbow(cbow_mean="false").cbow_mean
    for bad, message in (
        (dict(negative=0), "need negative >= 1, or hierarchical softmax"),
        (dict(negative=-1, hs=True), "negative must be between 0 and 1,000"),
        (dict(hs="maybe"), "expected true or false, not 'maybe'"),
        (dict(sample=-1), "sample must be >= 0"),
        (dict(epochs=0), "epochs must be >= 1"),
        (dict(threads=0), "threads must be between 1 and 512"),
        (dict(alpha=0), "need alpha > 0 and 0 <= min_alpha <= alpha"),
        (dict(min_alpha=1), "need alpha > 0 and 0 <= min_alpha <= alpha"),
    ):
        with pytest.raises(ValueError, match=message):
            SkipGram(**bad)
    with pytest.raises(ValueError, match="too few words for vectors"):
        SkipGram().train(training_corpus(["a a a\n"], min_count=1), dim=5, window=2, seed=1)


def test_tiny_corpus_and_long_windows():
    corpus = training_corpus(["a b c d\ne f\ng\n"], min_count=1)
    for trainer in (SkipGram, Cbow):
        vectors = trainer(epochs=3, sample=0).train(corpus, dim=8, window=10, seed=1)
        assert np.isfinite(vectors.matrix).all()
        assert vectors.matrix.shape == (7, 8)


@pytest.mark.parametrize("trainer,sg", [pytest.param(SkipGram, 1, id="skipgram"), pytest.param(Cbow, 0, id="cbow")])
def test_as_good_as_gensim(corpus, generated_tokens, trainer, sg, capsys):
    gensim = pytest.importorskip("gensim")
    sentences = [line.split() for line in generated_tokens.splitlines()]
    ours_model = trainer(epochs=EPOCHS)
    started = time.perf_counter()
    ours = ours_model.train(corpus, seed=1, **SETTINGS)
    ours_time = time.perf_counter() - started
    model = gensim.models.Word2Vec(
        vector_size=SETTINGS["dim"],
        window=SETTINGS["window"],
        negative=5,
        sample=1e-3,
        min_count=5,
        epochs=EPOCHS,
        workers=1,
        seed=1,
        sg=sg,
        alpha=ours_model.alpha,
    )
    model.build_vocab(sentences)
    started = time.perf_counter()
    model.train(sentences, total_examples=model.corpus_count, epochs=EPOCHS)
    gensim_time = time.perf_counter() - started
    assert sorted(model.wv.index_to_key) == sorted(corpus.words)  # ties may be ordered differently
    ours_margins = margins(ours.unit, ours.index)
    gensim_margins = margins(model.wv.get_normed_vectors(), model.wv.key_to_index)
    with capsys.disabled():
        words = EPOCHS * corpus.tokens
        print(
            f"\n{trainer.__name__}: ours {words / ours_time:,.0f} words/s, margins {ours_margins[0]:.3f} {ours_margins[1]:.3f}; "
            f"gensim {words / gensim_time:,.0f} words/s, margins {gensim_margins[0]:.3f} {gensim_margins[1]:.3f}"
        )
    for mine, theirs in zip(ours_margins, gensim_margins):
        assert mine >= 0.8 * theirs


def test_huffman_codes_are_a_prefix_code_shortest_for_frequent_words():
    counts = np.array([5000, 1200, 700, 300, 100, 40, 10, 5, 5, 1], dtype=np.int64)
    codes, points, lengths = huffman_tree(counts)
    words = ["".join(map(str, codes[w, : lengths[w]])) for w in range(len(counts))]
    assert len(set(words)) == len(words)
    assert not any(a != b and b.startswith(a) for a in words for b in words)
    assert sum(2.0 ** -len(w) for w in words) == pytest.approx(1.0)  # a full binary tree
    assert np.all(np.diff(lengths) >= 0)  # rarer, never shorter
    assert np.all(points[:, 0] == len(counts) - 2)  # every path starts at the root
    assert points[:, : lengths.max()].max() < len(counts) - 1


def test_hierarchical_softmax_is_a_distribution():
    """The product of branch probabilities along each word's path sums to 1 over the vocabulary."""
    counts = np.array([900, 400, 400, 120, 60, 30, 9, 3], dtype=np.int64)
    codes, points, lengths = huffman_tree(counts)
    rng = np.random.default_rng(1)
    inner, hidden = rng.normal(size=(len(counts) - 1, 6)), rng.normal(size=6)
    sigmoid = 1 / (1 + np.exp(-(inner @ hidden)))
    probability = [
        np.prod([sigmoid[points[w, d]] if codes[w, d] == 0 else 1 - sigmoid[points[w, d]] for d in range(lengths[w])])
        for w in range(len(counts))
    ]
    assert sum(probability) == pytest.approx(1.0)


@pytest.mark.parametrize("trainer,options", HS_TRAINERS)
def test_hierarchical_softmax_learns(corpus, trainer, options):
    model = trainer(epochs=EPOCHS, **options)
    vectors = model.train(corpus, seed=1, **SETTINGS)
    assert min(margins(vectors.unit, vectors.index)) > 0.2
    again = trainer(epochs=1, **options).train(corpus, dim=20, window=5, seed=3).matrix
    assert np.array_equal(again, trainer(epochs=1, **options).train(corpus, dim=20, window=5, seed=3).matrix)


@pytest.mark.parametrize("trainer,options", [*((t, {}) for t in (SkipGram, Cbow)), (SkipGram, {"hs": True}), (Cbow, {"hs": True})])
def test_loss_starts_at_log2_and_falls_each_epoch(corpus, trainer, options):
    """Output vectors start at zero, so every prediction's first loss is -log sigmoid(0) = log 2;
    with a rate too small to move anything, each epoch's mean is log 2 to float precision."""
    frozen = Recorder()
    trainer(epochs=2, alpha=1e-12, min_alpha=1e-12, **options).train(corpus, dim=10, window=3, seed=1, monitor=frozen)
    assert [r.loss for r in frozen.reports] == pytest.approx([np.log(2)] * 2, rel=1e-6)
    recorder = Recorder()
    model = trainer(epochs=4, **options)
    model.train(corpus, dim=20, window=5, seed=1, monitor=recorder)
    losses = [r.loss for r in recorder.reports]
    assert [r.epoch for r in recorder.reports] == [1, 2, 3, 4] and model.history == recorder.reports
    assert all(later < earlier for earlier, later in itertools.pairwise(losses))
    assert losses[-1] < 0.9 * np.log(2)
    assert recorder.stages == [("training", 4 * corpus.tokens, "words")]
    assert recorder.updates == sorted(recorder.updates) and recorder.updates[-1] == 4 * corpus.tokens
