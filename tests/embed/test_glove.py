"""GloVe (textseq.embed.glove): co-occurrence weighting, the AdaGrad step, training, the CLI."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

pytest.importorskip("numba")

from helpers import Recorder, margins
from textseq.embed.cooccurrence import cooccurrences
from textseq.embed.corpus import training_corpus
from textseq.embed.glove import GloVe, train_block, weighting
from textseq.embed.io import load_vectors

SETTINGS = dict(dim=50, window=5)
EPOCHS = 10


@pytest.fixture(scope="module")
def corpus(generated_tokens):
    return training_corpus([generated_tokens], min_count=5)


def test_cooccurrences_weigh_one_over_distance_within_sentences():
    corpus = training_corpus(["a b c\nd a\ne e\n"], min_count=1)
    counts = cooccurrences(corpus, window=2, harmonic=True)
    table = {(corpus.words[r], corpus.words[c]): v for r, c, v in zip(counts.rows, counts.cols, counts.values)}
    expected = {("a", "b"): 1.0, ("a", "c"): 0.5, ("b", "c"): 1.0, ("a", "d"): 1.0, ("e", "e"): 2.0}
    expected.update({(c, w): v for (w, c), v in expected.items()})
    assert table == pytest.approx(expected)  # nothing across the line break: no (c, d)
    assert sorted(table) == sorted(expected)


def test_weighting_function():
    x = np.array([1.0, 10.0, 50.0, 99.0, 100.0, 250.0])
    expected = [0.01**0.75, 0.1**0.75, 0.5**0.75, 0.99**0.75, 1.0, 1.0]
    assert weighting(x, 100.0, 0.75) == pytest.approx(expected)
    assert weighting(x, 10.0, 1.0) == pytest.approx([0.1, 1, 1, 1, 1, 1])
    assert weighting(x, 100.0, 0.0) == pytest.approx([1.0] * 6)


def reference_steps(params, entries, alpha, clip=100.0, bias_alpha=None):
    """glove.c's update, written plainly in float64, for a few (i, j, X_ij) entries."""
    w, c, b, bc = (p.astype(np.float64) for p in params)
    sw, sc, sb, sbc = np.ones_like(w), np.ones_like(c), np.ones_like(b), np.ones_like(bc)
    cost = 0.0
    for i, j, x in entries:
        diff = w[i] @ c[j] + b[i] + bc[j] - np.log(x)
        fdiff = weighting([x])[0] * diff
        cost += 0.5 * fdiff * diff
        gw = np.clip(fdiff * c[j], -clip, clip) * alpha
        gc = np.clip(fdiff * w[i], -clip, clip) * alpha
        w[i] -= gw / np.sqrt(sw[i])
        c[j] -= gc / np.sqrt(sc[j])
        sw[i] += gw**2
        sc[j] += gc**2
        g = fdiff * (alpha if bias_alpha is None else bias_alpha)
        b[i] -= g / np.sqrt(sb[i])
        bc[j] -= g / np.sqrt(sbc[j])
        sb[i] += g * g
        sbc[j] += g * g
    return (w, c, b, bc), (sw, sc, sb, sbc), cost


@pytest.mark.parametrize("bias_alpha", [None, 1.0])
def test_adagrad_steps_follow_glove_c(bias_alpha):
    """bias_alpha None: GloVe 1.2's bias rate (alpha); 1.0: today's glove.c (unscaled bias gradients)."""
    rng = np.random.default_rng(5)
    vocab, dim = 4, 8
    params = [
        rng.normal(size=(vocab, dim)).astype(np.float32),
        rng.normal(size=(vocab, dim)).astype(np.float32),
        rng.normal(size=vocab).astype(np.float32),
        rng.normal(size=vocab).astype(np.float32),
    ]
    entries = [(0, 1, 3.0), (1, 0, 3.0), (2, 2, 250.0), (0, 1, 3.0), (3, 0, 0.5), (2, 3, 40.0)]
    expected, squares, expected_cost = reference_steps(params, entries, alpha=0.3, bias_alpha=bias_alpha)
    ours = [p.copy() for p in params]
    ours_squares = [np.ones_like(p) for p in params]
    rows = np.array([e[0] for e in entries], np.int32)
    cols = np.array([e[1] for e in entries], np.int32)
    values = np.array([e[2] for e in entries])
    cost, used = train_block(
        *ours,
        *ours_squares,
        rows,
        cols,
        np.log(values).astype(np.float32),
        weighting(values).astype(np.float32),
        np.arange(len(entries), dtype=np.int32),
        0,
        len(entries),
        np.float32(0.3),
        np.float32(0.3 if bias_alpha is None else bias_alpha),
        np.float32(100.0),
    )
    assert used == len(entries)
    assert cost == pytest.approx(expected_cost, rel=1e-5)
    for mine, theirs in zip(ours + ours_squares, [*expected, *squares]):
        assert np.allclose(mine, theirs, rtol=1e-4, atol=1e-6)
    assert not np.allclose(ours[0], params[0])  # it moved
    assert GloVe(alpha=0.3, bias_alpha=bias_alpha).bias_alpha == (0.3 if bias_alpha is None else bias_alpha)


def test_cost_falls_each_epoch(corpus):
    recorder = Recorder()
    model = GloVe(epochs=5)
    model.train(corpus, dim=20, window=5, seed=1, monitor=recorder)
    nnz = cooccurrences(corpus, 5, harmonic=True).nnz
    losses = [r.loss for r in recorder.reports]
    assert [r.epoch for r in recorder.reports] == [1, 2, 3, 4, 5] and model.history == recorder.reports
    assert all(r.items == nnz and r.unit == "pairs" and r.epochs == 5 for r in recorder.reports)
    assert all(later < earlier for earlier, later in itertools.pairwise(losses))
    assert losses[-1] < 0.7 * losses[0]
    assert recorder.stages == [("co-occurrences", corpus.tokens, "words"), ("training", 5 * nnz, "pairs")]
    assert recorder.updates[0] == corpus.tokens
    training = recorder.updates[1:]
    assert training == sorted(training) and training[-1] == 5 * nnz


def test_cost_at_the_start_is_half_the_weighted_squared_log_counts(corpus):
    """Vectors and biases start within +-0.5/dim, so with a rate too small to move them each
    epoch's mean cost is about 0.5 f(X) (log X)**2, and the same twice."""
    recorder = Recorder()
    GloVe(epochs=2, alpha=1e-12).train(corpus, dim=100, window=3, seed=1, monitor=recorder)
    counts = cooccurrences(corpus, 3, harmonic=True)
    expected = float(np.mean(0.5 * weighting(counts.values) * np.log(counts.values) ** 2))
    first, second = (r.loss for r in recorder.reports)
    assert first == pytest.approx(second, rel=1e-6)
    assert first == pytest.approx(expected, rel=0.02)


def test_same_seed_same_vectors_with_one_thread(corpus):
    a = GloVe(epochs=2).train(corpus, dim=20, window=5, seed=7).matrix
    b = GloVe(epochs=2).train(corpus, dim=20, window=5, seed=7).matrix
    c = GloVe(epochs=2).train(corpus, dim=20, window=5, seed=8).matrix
    assert a.dtype == np.float32 and a.shape == (len(corpus.words), 20)
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)


def test_related_words_end_near_each_other(corpus):
    vectors = GloVe(epochs=EPOCHS).train(corpus, seed=1, **SETTINGS)
    assert vectors.words == corpus.words
    assert vectors.matrix.shape == (len(corpus.words), 50)
    countries, languages = margins(vectors.unit, vectors.index)
    assert countries > 0.3
    assert languages > 0.3


def test_two_threads_learn_as_well(corpus):
    model = GloVe(epochs=EPOCHS, threads=2)
    vectors = model.train(corpus, seed=1, **SETTINGS)
    assert np.isfinite(vectors.matrix).all()
    assert min(margins(vectors.unit, vectors.index)) > 0.3
    losses = [r.loss for r in model.history]
    assert losses[-1] < 0.7 * losses[0]


def test_options():
    model = GloVe()
    assert (model.epochs, model.alpha, model.x_max, model.power, model.threads) == (25, 0.05, 100.0, 0.75, 1)
    assert GloVe(eta=0.1).alpha == 0.1 and GloVe(iter=3).epochs == 3 and GloVe(epochs=4.0).epochs == 4
    for bad, message in (
        (dict(epochs=0), "epochs must be >= 1"),
        (dict(epochs=2.5), "epochs must be a whole number"),
        (dict(threads=0), "threads must be between 1 and 512"),
        (dict(threads="two"), "threads must be a whole number"),
        (dict(alpha=0), r"alpha \(the AdaGrad learning rate\) must be > 0"),
        (dict(bias_alpha=0), r"bias_alpha \(the biases' learning rate\) must be > 0"),
        (dict(alpha=-0.1), r"alpha \(the AdaGrad learning rate\) must be > 0"),
        (dict(alpha="fast"), "alpha must be a finite number"),
        (dict(alpha=float("nan")), "alpha must be a finite number"),
        (dict(eta=0), r"alpha \(the AdaGrad learning rate\) must be > 0"),
        (dict(alpha=0.1, eta=0.1), "give the learning rate as alpha or as eta, not both"),
        (dict(x_max=0), "x_max must be > 0"),
        (dict(x_max=float("inf")), "x_max must be a finite number"),
        (dict(power=-1), "power must be >= 0"),
    ):
        with pytest.raises(ValueError, match=message):
            GloVe(**bad)
    with pytest.raises(TypeError):
        GloVe(negative=5)
    with pytest.raises(ValueError, match="too few words"):
        GloVe().train(training_corpus(["a a a\n"], min_count=1), dim=5, window=2, seed=1)


def test_tiny_corpus_and_long_windows():
    corpus = training_corpus(["a b c d\ne f\ng\n"], min_count=1)
    vectors = GloVe(epochs=3, threads=2).train(corpus, dim=8, window=10, seed=1)
    assert np.isfinite(vectors.matrix).all()
    assert vectors.matrix.shape == (7, 8)
    assert np.abs(vectors.matrix[corpus.words.index("g")]).max() <= 1.0 / 8  # no co-occurrences: never updated


def test_embed_train_glove_through_the_command_line(tmp_path, textseq, generated_tokens):
    out = tmp_path / "g.vec"
    result = textseq(
        "embed", "train", "--method", "glove", "--epochs", "3", "--dim", "20", "--threads", "2", "-O", str(out), input=generated_tokens
    )
    assert result.returncode == 0, result.stderr
    epochs = [line for line in result.stderr.splitlines() if ": epoch " in line]
    assert len(epochs) == 3 and "pairs" in epochs[0]
    vectors = load_vectors(str(out))
    assert vectors.dim == 20 and vectors.words[0] == "."
    gensim = pytest.importorskip("gensim")
    loaded = gensim.models.KeyedVectors.load_word2vec_format(str(out), binary=False)
    assert loaded.index_to_key == vectors.words
    assert np.allclose(loaded.vectors, vectors.matrix, atol=1e-5)


def test_embed_train_glove_option_errors(tmp_path, textseq):
    out = tmp_path / "g.vec"
    bad_value = textseq("embed", "train", "--method", "glove", "-p", "x_max=0", "-O", str(out), input=b"a b\n")
    assert bad_value.returncode == 2 and "x_max" in bad_value.stderr
    unknown = textseq("embed", "train", "--method", "glove", "--negative", "5", "-O", str(out), input=b"a b\n")
    assert unknown.returncode == 2 and "does not take" in unknown.stderr
    assert not out.exists()
