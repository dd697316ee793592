"""textseq embed train: the built-in trainers, through the plugin registry and the command line."""

from __future__ import annotations

import numpy as np
import pytest

from helpers import COUNTRIES, LANGUAGES, mean_similarity
from textseq.embed.cooccurrence import Sparse, cooccurrences
from textseq.embed.corpus import training_corpus
from textseq.embed.io import load_vectors
from textseq.embed.ppmi import truncated_svd

ALL_LANGUAGES = {
    "french",
    "japanese",
    "portuguese",
    "german",
    "italian",
    "spanish",
    "russian",
    "chinese",
    "arabic",
    "greek",
    "turkish",
    "polish",
    "swedish",
    "swahili",
    "korean",
    "vietnamese",
    "hungarian",
    "norwegian",
    "indonesian",
    "persian",
}  # the languages of corpora/generate.py


@pytest.fixture(scope="module")
def corpus_tokens(generated_tokens) -> bytes:
    return generated_tokens.encode("utf-8")


def test_ppmi_svd_puts_related_words_near_each_other(tmp_path, textseq, corpus_tokens):
    out = tmp_path / "g.vec"
    result = textseq("embed", "train", "--method", "ppmi-svd", "--dim", "50", "-O", str(out), input=corpus_tokens)
    assert result.returncode == 0, result.stderr
    vectors = load_vectors(str(out))
    assert vectors.dim == 50
    assert vectors.words[0] == "."  # most frequent first
    within_countries = mean_similarity(vectors.unit, vectors.index, COUNTRIES, COUNTRIES)
    within_languages = mean_similarity(vectors.unit, vectors.index, LANGUAGES, LANGUAGES)
    across = mean_similarity(vectors.unit, vectors.index, COUNTRIES, LANGUAGES)
    assert within_countries > across + 0.1
    assert within_languages > across + 0.1
    answers = [
        row.split("\t")[0] for row in textseq("embed", "analogy", str(out), "france", "french", "germany", "-k", "3").text.splitlines()
    ]
    assert set(answers) <= ALL_LANGUAGES  # france : french :: germany : a language


def test_same_seed_same_vectors(tmp_path, textseq, corpus_tokens):
    files = []
    for name, seed in (("a", "7"), ("b", "7"), ("c", "8")):
        path = tmp_path / f"{name}.vec"
        assert textseq("embed", "train", "--dim", "20", "--seed", seed, "-q", "-O", str(path), input=corpus_tokens).returncode == 0
        files.append(path.read_bytes())
    assert files[0] == files[1]
    assert files[0] != files[2]


def test_gensim_reads_the_vectors(tmp_path, textseq, corpus_tokens):
    gensim = pytest.importorskip("gensim")
    out = tmp_path / "g.bin"
    assert textseq("embed", "train", "--dim", "20", "--binary", "-q", "-O", str(out), input=corpus_tokens).returncode == 0
    loaded = gensim.models.KeyedVectors.load_word2vec_format(str(out), binary=True)
    ours = load_vectors(str(out))
    assert loaded.index_to_key == ours.words
    assert np.allclose(loaded.vectors, ours.matrix)


def test_cooccurrences_count_both_directions_within_sentences():
    corpus = training_corpus(["a b c\nc a\n"], min_count=1)
    counts = cooccurrences(corpus, window=1)
    table = {(corpus.words[r], corpus.words[c]): v for r, c, v in zip(counts.rows, counts.cols, counts.values)}
    assert table == {("a", "b"): 1, ("b", "a"): 1, ("b", "c"): 1, ("c", "b"): 1, ("c", "a"): 1, ("a", "c"): 1}


def test_truncated_svd_matches_numpy_on_a_small_matrix():
    rng = np.random.default_rng(0)
    dense = rng.random((30, 30)) * (rng.random((30, 30)) < 0.3)
    rows, cols = np.nonzero(dense)
    u, s = truncated_svd(Sparse(rows, cols, dense[rows, cols], 30), 5, seed=1, power_iterations=8)
    expected = np.linalg.svd(dense, compute_uv=False)[:5]
    assert np.allclose(s, expected, rtol=1e-6)
    assert np.allclose(np.abs(u.T @ u), np.eye(5), atol=1e-8)


def test_train_errors(tmp_path, textseq):
    out = tmp_path / "v.vec"
    empty = textseq("embed", "train", "-O", str(out), input=b"")
    assert empty.returncode == 1
    assert "no words" in empty.stderr
    assert not out.exists()
    assert textseq("embed", "train", "--method", "nope", "-O", str(out), input=b"a b\n").returncode == 2
    assert textseq("embed", "train", "-p", "shift=0.5", "-O", str(out), input=b"a b\n").returncode == 2


def test_train_reports_each_epoch_and_reads_stdin_twice(tmp_path, textseq, corpus_tokens):
    pytest.importorskip("numba")
    out = tmp_path / "hs.vec"
    result = textseq("embed", "train", "--method", "cbow", "--hs", "--epochs", "3", "--dim", "20", "-O", str(out), input=corpus_tokens)
    assert result.returncode == 0, result.stderr
    epochs = [line for line in result.stderr.splitlines() if ": epoch " in line]
    assert len(epochs) == 3 and "epoch 1/3: loss " in epochs[0] and "ETA" in epochs[0] and "ETA" not in epochs[2]
    losses = [float(line.split("loss ")[1].split(",")[0]) for line in epochs]
    assert losses[0] > losses[1] > losses[2]
    assert not result.stdout
    vectors = load_vectors(str(out))
    assert (
        mean_similarity(vectors.unit, vectors.index, COUNTRIES, COUNTRIES)
        > mean_similarity(vectors.unit, vectors.index, COUNTRIES, LANGUAGES) + 0.1
    )
    bad = textseq("embed", "train", "--negative", "0", "-O", str(tmp_path / "x.vec"), input=corpus_tokens)
    assert bad.returncode == 2 and "(hs)" in bad.stderr


@pytest.mark.parametrize("harmonic", [False, True])
def test_cooccurrences_match_a_brute_force_count_whatever_the_chunks(harmonic):
    rng = np.random.default_rng(2)
    lines = [" ".join(f"w{x}" for x in rng.integers(0, 12, rng.integers(1, 15))) for _ in range(300)]
    corpus = training_corpus(["\n".join(lines) + "\n"], min_count=1)
    expected: dict[tuple[str, str], float] = {}
    for line in lines:
        words = line.split()
        for i, word in enumerate(words):
            for j in range(max(0, i - 3), min(len(words), i + 4)):
                if j != i:
                    key = (word, words[j])
                    expected[key] = expected.get(key, 0.0) + (1 / abs(i - j) if harmonic else 1.0)
    for chunk_tokens in (40, 1 << 20):
        counts = cooccurrences(corpus, window=3, harmonic=harmonic, chunk_tokens=chunk_tokens)
        keys = counts.rows * counts.size + counts.cols
        assert np.all(np.diff(keys) > 0)  # sorted by (row, column), each once
        table = {(corpus.words[r], corpus.words[c]): v for r, c, v in zip(counts.rows, counts.cols, counts.values)}
        assert table.keys() == expected.keys()
        assert all(abs(table[k] - expected[k]) < 1e-9 for k in expected)


def test_train_vectors_is_the_whole_pipeline_in_one_call(generated_tokens):
    from helpers import Recorder
    from textseq.embed.train import train_vectors
    from textseq.errors import InputError, ParameterError

    monitor = Recorder()
    trained = train_vectors(generated_tokens.splitlines(keepends=True), "skipgram", {"epochs": 1}, dim=16, min_count=5, monitor=monitor)
    assert trained.vectors.dim == 16 and trained.tokens > 100_000 and trained.seconds > 0
    assert monitor.notes[0].startswith(f"{trained.tokens:,} tokens, {len(trained.vectors):,} words seen 5 times or more")
    assert [report.epoch for report in monitor.reports] == [1]
    with pytest.raises(ParameterError, match="embedder 'skipgram' does not take the options given"):
        train_vectors(["a b\n"], "skipgram", {"bogus": 1})
    with pytest.raises(InputError, match="no words seen 5 times or more to train on") as raised:
        train_vectors(["a b\n"], "skipgram", source="tiny.txt")
    assert str(raised.value).startswith("tiny.txt: ")
