"""Word vectors without training: files, queries, evaluation with gensim's protocol, the CLI."""

from __future__ import annotations

import gzip
import json
import os

import numpy as np
import pytest
from click.testing import CliRunner

from helpers import cli
from textseq.embed.evaluate import evaluate_analogies, evaluate_pairs, rankdata, spearman
from textseq.embed.io import load_vectors, save_vectors
from textseq.embed.vectors import UnknownWordError, Vectors
from textseq.errors import InputError


def _random_vectors(n: int = 50, dim: int = 8, seed: int = 0) -> Vectors:
    rng = np.random.default_rng(seed)
    return Vectors([f"w{i}" for i in range(n)], rng.standard_normal((n, dim)).astype(np.float32))


def _royal() -> Vectors:
    """Hand-made, all of length sqrt(2) but apple: axes royalty, gender, person, fruit;
    king - man + woman = queen exactly."""
    words = ["king", "queen", "man", "woman", "apple", "prince"]
    matrix = np.array(
        [
            [1.0, 1.0, 0.0, 0.0],  # king: royal, male
            [1.0, -1.0, 0.0, 0.0],  # queen: royal, female
            [0.0, 1.0, 1.0, 0.0],  # man: person, male
            [0.0, -1.0, 1.0, 0.0],  # woman: person, female
            [0.0, 0.0, 0.0, 1.0],  # apple
            [0.9, 1.0, 0.1, 0.1],  # prince: nearly a king
        ],
        dtype=np.float32,
    )
    return Vectors(words, matrix, source="royal.vec")


# --- arithmetic -----------------------------------------------------------------------------


def test_analogy_3cosadd_by_construction():
    v = _royal()
    best = v.analogy("man", "king", "woman", k=3)
    assert best[0][0] == "queen"
    assert best[0][1] == pytest.approx(1.0, abs=1e-6)
    assert {w for w, _ in best}.isdisjoint({"man", "king", "woman"})


def test_analogy_3cosmul_by_construction_and_formula():
    v = _royal()
    best = v.analogy("man", "king", "woman", k=6, cosmul=True)
    assert best[0][0] == "queen"
    unit = v.unit
    cos = unit @ unit.T
    s = lambda x, y: (1 + cos[v.index[x], v.index[y]]) / 2  # noqa: E731
    expected = s("queen", "king") * s("queen", "woman") / (s("queen", "man") + 1e-3)
    assert best[0][1] == pytest.approx(expected, rel=1e-6)
    # prince is near king but also near man (the denominator) and far from woman; apple is neutral
    assert [w for w, _ in best] == ["queen", "apple", "prince"]  # only three words are not the query


def test_similarity_and_neighbors_order():
    v = _royal()
    assert v.similarity("king", "king") == pytest.approx(1.0)
    assert v.similarity("apple", "king") == pytest.approx(0.0, abs=1e-7)
    assert v.similarity("king", "man") == pytest.approx(0.5, rel=1e-6)
    got = v.neighbors("king", k=5)
    assert got[0][0] == "prince"
    sims = [s for _, s in got]
    assert sims == sorted(sims, reverse=True)
    assert "king" not in [w for w, _ in got]
    unit = v.unit
    brute = sorted(((float(unit[i] @ unit[0]), -i) for i in range(1, len(v))), reverse=True)
    assert [w for w, _ in got] == [v.words[-i] for _, i in brute]


def test_unknown_word_names_the_file():
    with pytest.raises(UnknownWordError, match=r"'xyz' is not in the vocabulary of royal.vec"):
        _royal().neighbors("xyz")


def test_spearman_with_ties_matches_definition():
    assert list(rankdata(np.array([3.0, 1.0, 3.0, 2.0]))) == [3.5, 1.0, 3.5, 2.0]
    assert spearman(np.array([1, 2, 3, 4.0]), np.array([10, 20, 30, 40.0])) == pytest.approx(1.0)
    assert spearman(np.array([1, 2, 3, 4.0]), np.array([4, 3, 2, 1.0])) == pytest.approx(-1.0)


# --- files ----------------------------------------------------------------------------------


@pytest.mark.parametrize("binary", [False, True])
def test_roundtrip_ours(tmp_path, binary):
    v = _random_vectors()
    path = tmp_path / ("v.bin" if binary else "v.vec")
    save_vectors(v, str(path), binary=binary)
    back = load_vectors(str(path))
    assert back.words == v.words
    assert np.array_equal(back.matrix, v.matrix)


def test_roundtrip_gzip_text(tmp_path):
    v = _random_vectors()
    save_vectors(v, str(tmp_path / "v.vec.gz"))
    with gzip.open(tmp_path / "v.vec.gz") as written:
        assert written.readline() == b"50 8\n"
    assert np.array_equal(load_vectors(str(tmp_path / "v.vec.gz")).matrix, v.matrix)


@pytest.mark.parametrize("binary", [False, True])
def test_roundtrip_ours_gensim_ours(tmp_path, binary):
    gensim_models = pytest.importorskip("gensim.models")
    v = Vectors(["the", "café", "naïve", "x"], np.random.default_rng(1).standard_normal((4, 5)).astype(np.float32))
    ours = tmp_path / "ours"
    save_vectors(v, str(ours), binary=binary)
    kv = gensim_models.KeyedVectors.load_word2vec_format(str(ours), binary=binary)
    assert kv.index_to_key == v.words
    assert np.array_equal(kv.vectors, v.matrix)
    theirs = tmp_path / "theirs"
    kv.save_word2vec_format(str(theirs), binary=binary)
    back = load_vectors(str(theirs))
    assert back.words == v.words
    assert np.allclose(back.matrix, v.matrix, rtol=1e-6) if not binary else np.array_equal(back.matrix, v.matrix)


def test_c_tool_binary_with_newlines(tmp_path):
    """word2vec.c writes a newline after every vector; gensim writes none."""
    m = np.arange(6, dtype="<f4").reshape(2, 3)
    data = b"2 3\n" + b"a " + m[0].tobytes() + b"\n" + b"b " + m[1].tobytes() + b"\n"
    (tmp_path / "c.bin").write_bytes(data)
    v = load_vectors(str(tmp_path / "c.bin"))
    assert v.words == ["a", "b"] and np.array_equal(v.matrix, m)


def test_glove_without_header_and_fasttext_vec(tmp_path):
    (tmp_path / "glove.txt").write_text("the 0.1 0.2 0.3\nof -1 2e-1 3\n", encoding="utf-8")
    g = load_vectors(str(tmp_path / "glove.txt"))
    assert g.words == ["the", "of"] and g.dim == 3
    assert np.allclose(g.matrix, [[0.1, 0.2, 0.3], [-1, 0.2, 3]])
    # fastText .vec: a header and a trailing space on every line
    (tmp_path / "ft.vec").write_text("2 2\nthe 0.5 0.25 \n</s> 1 2 \n", encoding="utf-8")
    f = load_vectors(str(tmp_path / "ft.vec"))
    assert f.words == ["the", "</s>"] and np.allclose(f.matrix, [[0.5, 0.25], [1, 2]])


def test_wrong_length_line_is_named(tmp_path):
    (tmp_path / "bad.vec").write_text("3 2\na 1 2\nb 1 2 3\nc 1 2\n", encoding="utf-8")
    with pytest.raises(InputError) as info:
        load_vectors(str(tmp_path / "bad.vec"))
    assert str(info.value) == f"{tmp_path / 'bad.vec'}:3: 3 values on this line, expected 2"
    (tmp_path / "bad.txt").write_text("a 1 2\nb 1\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"bad.txt:2: 1 values"):
        load_vectors(str(tmp_path / "bad.txt"))


def test_bad_header_short_file_and_not_a_number(tmp_path):
    (tmp_path / "short.vec").write_text("3 2\na 1 2\n", encoding="utf-8")
    with pytest.raises(InputError, match="only 1 vectors, the header says 3"):
        load_vectors(str(tmp_path / "short.vec"))
    (tmp_path / "nan.vec").write_text("1 2\na 1 x\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"nan.vec:2: not a number"):
        load_vectors(str(tmp_path / "nan.vec"))
    (tmp_path / "hdr.vec").write_text("x y\n", encoding="utf-8")
    with pytest.raises(InputError, match="bad header"):
        load_vectors(str(tmp_path / "hdr.vec"), format="word2vec")


def test_truncated_binary(tmp_path):
    v = _random_vectors(5, 4)
    save_vectors(v, str(tmp_path / "v.bin"), binary=True)
    data = (tmp_path / "v.bin").read_bytes()
    (tmp_path / "cut.bin").write_bytes(data[:-7])
    with pytest.raises(InputError, match=r"cut.bin: truncated: the header says 5 vectors, the file ends in vector 5"):
        load_vectors(str(tmp_path / "cut.bin"))


# --- evaluation against gensim ---------------------------------------------------------------


def _gensim_data(name: str) -> str:
    gensim = pytest.importorskip("gensim")
    path = os.path.join(os.path.dirname(gensim.__file__), "test", "test_data", name)
    if not os.path.exists(path):
        pytest.skip(f"{name} is not in this gensim")
    return path


def _eval_vocabulary(seed: int = 0, dim: int = 20) -> Vectors:
    """Words of the test files in mixed case, with case duplicates and distractors, random
    vectors plus a shared structure so that some analogies come out right."""
    words: list[str] = []
    for name in ("questions-words.txt", "wordsim353.tsv", "simlex999.txt"):
        with open(_gensim_data(name), encoding="utf-8") as f:
            for line in f:
                if line.startswith((":", "#")):
                    continue
                words.extend(line.replace("\t", " ").split()[: 4 if name.startswith("q") else 2])
    unique = list(dict.fromkeys(words))
    rng = np.random.default_rng(seed)
    keep = [w for w in unique if rng.random() < 0.9]  # ~10% OOV
    keep += [w.upper() for w in keep[:40]] + [w.lower() for w in keep[40:80]]  # case variants, later rows
    keep += [f"filler{i}" for i in range(200)]
    keep = list(dict.fromkeys(keep))  # gensim's add_vectors keeps one row per key
    order = rng.permutation(len(keep))
    words = [keep[i] for i in order]
    base = {w.lower(): rng.standard_normal(dim) for w in words}
    matrix = np.array([base[w.lower()] + 0.3 * rng.standard_normal(dim) for w in words], dtype=np.float32)
    return Vectors(words, matrix)


@pytest.mark.parametrize(("restrict_vocab", "case_insensitive"), [(300_000, True), (1500, True), (300_000, False)])
def test_analogies_equal_gensim(restrict_vocab, case_insensitive):
    gensim_models = pytest.importorskip("gensim.models")
    path = _gensim_data("questions-words.txt")
    v = _eval_vocabulary()
    kv = gensim_models.KeyedVectors(v.dim)
    kv.add_vectors(v.words, v.matrix)
    score, sections = kv.evaluate_word_analogies(path, restrict_vocab=restrict_vocab, case_insensitive=case_insensitive)
    ours = evaluate_analogies(v, path, restrict_vocab, case_insensitive)
    theirs = {s["section"]: (len(s["correct"]), len(s["correct"]) + len(s["incorrect"])) for s in sections}
    total = theirs.pop("Total accuracy")
    assert {s.name: (s.correct, s.total) for s in ours.sections} == theirs
    assert (ours.total.correct, ours.total.total) == total
    assert ours.total.accuracy == score
    assert ours.total.correct > 0
    syntactic = [theirs[n] for n in theirs if n.startswith("gram")]
    assert ours.syntactic.correct == sum(c for c, _ in syntactic)
    assert ours.semantic.total == total[1] - sum(t for _, t in syntactic)


@pytest.mark.parametrize("name", ["wordsim353.tsv", "simlex999.txt"])
@pytest.mark.parametrize(("restrict_vocab", "case_insensitive"), [(300_000, True), (1500, True), (300_000, False)])
def test_pairs_equal_gensim(name, restrict_vocab, case_insensitive):
    gensim_models = pytest.importorskip("gensim.models")
    path = _gensim_data(name)
    v = _eval_vocabulary()
    kv = gensim_models.KeyedVectors(v.dim)
    kv.add_vectors(v.words, v.matrix)
    pearson, spearman_result, oov_ratio = kv.evaluate_word_pairs(path, restrict_vocab=restrict_vocab, case_insensitive=case_insensitive)
    ours = evaluate_pairs(v, path, restrict_vocab, case_insensitive)
    assert ours.spearman == pytest.approx(spearman_result[0], abs=1e-12)
    assert ours.pearson == pytest.approx(pearson[0], abs=1e-6)
    assert 100 * ours.oov_ratio == pytest.approx(oov_ratio, abs=1e-12)


def test_most_similar_and_cosmul_equal_gensim():
    gensim_models = pytest.importorskip("gensim.models")
    v = _random_vectors(300, 16, seed=3)
    kv = gensim_models.KeyedVectors(v.dim)
    kv.add_vectors(v.words, v.matrix)
    for a, b, c in [("w1", "w2", "w3"), ("w10", "w200", "w42")]:
        assert [w for w, _ in v.analogy(a, b, c, k=10)] == [w for w, _ in kv.most_similar([b, c], [a], topn=10)]
        mine = v.most_similar_cosmul([b, c], [a], k=10, epsilon=1e-6)
        theirs = kv.most_similar_cosmul([b, c], [a], topn=10)
        assert [w for w, _ in mine] == [w for w, _ in theirs]
        assert np.allclose([s for _, s in mine], [s for _, s in theirs], rtol=1e-5)
    assert [w for w, _ in v.neighbors("w5", 10, restrict_vocab=100)] == [w for w, _ in kv.most_similar("w5", topn=10, restrict_vocab=100)]


# --- the command line, in process ---------------------------------------------------------------


def _cli(args: list[str], stdin: bytes = b"") -> tuple[int, str, str]:
    code, out, err = cli("embed", *args, stdin=stdin)
    return code, out.decode("utf-8"), err


@pytest.fixture
def royal_file(tmp_path):
    path = tmp_path / "royal.vec"
    save_vectors(_royal(), str(path))
    return str(path)


def test_cli_neighbors_analogy_similarity(royal_file):
    code, out, _ = _cli(["neighbors", royal_file, "king", "-k", "2", "-q"])
    assert code == 0 and out.splitlines()[0].startswith("prince\t")
    code, out, _ = _cli(["analogy", royal_file, "man", "king", "woman", "-k", "1", "-q"])
    assert code == 0 and out == "queen\t1.000000\n"
    code, out, _ = _cli(["analogy", royal_file, "man", "king", "woman", "--cosmul", "--json", "-q"])
    assert json.loads(out)["answers"][0]["word"] == "queen"
    code, out, _ = _cli(["similarity", royal_file, "king", "king", "-q"])
    assert out == "1.000000\n"


def test_cli_queries_from_stdin(royal_file):
    code, out, _ = _cli(["analogy", royal_file, "-k", "1", "-q"], b"man king woman\n\nwoman queen man\n")
    assert code == 0 and out == "# man king woman\nqueen\t1.000000\n# woman queen man\nking\t1.000000\n"
    code, out, _ = _cli(["similarity", royal_file, "--json", "-q"], b"king queen\nman woman\n")
    assert [r["words"] for r in json.loads(out)] == [["king", "queen"], ["man", "woman"]]
    code, out, _ = _cli(["neighbors", royal_file, "-k", "1", "-q"], b"king\nqueen\n")
    assert out.count("# ") == 2


def test_cli_unknown_word_exit_1(royal_file):
    code, out, err = _cli(["neighbors", royal_file, "xyz"])
    assert code == 1 and out == ""
    assert f"'xyz' is not in the vocabulary of {royal_file}" in err
    code, out, err = _cli(["similarity", royal_file, "-q"], b"king queen\nking xyz\n")
    assert code == 1 and out.startswith("king\tqueen\t")
    assert "<stdin>:2: 'xyz' is not in the vocabulary" in err


def test_cli_usage_errors(royal_file):
    assert _cli(["analogy", royal_file, "man", "king"])[0] == 2
    assert _cli(["eval", royal_file])[0] == 2
    code, _, err = _cli(["analogy", royal_file, "-q"], b"man king\n")
    assert code == 1 and "<stdin>:1: expected 3 words" in err


def test_cli_bad_vectors_file(tmp_path):
    (tmp_path / "bad.vec").write_text("2 3\na 1 2 3\nb 1 2\n", encoding="utf-8")
    code, _, err = _cli(["neighbors", str(tmp_path / "bad.vec"), "a"])
    assert code == 1 and f"{tmp_path / 'bad.vec'}:3: 2 values on this line, expected 3" in err


def test_cli_convert_roundtrip(tmp_path, royal_file):
    assert _cli(["convert", royal_file, "--binary", "-O", str(tmp_path / "r.bin"), "-q"])[0] == 0
    assert _cli(["convert", str(tmp_path / "r.bin"), "-O", str(tmp_path / "r.vec.gz"), "-q"])[0] == 0
    (tmp_path / "g.txt").write_text("a 1 2\nb 3 4\n", encoding="utf-8")
    _code, out, _ = _cli(["convert", str(tmp_path / "g.txt"), "-O", "-", "-q"])
    assert out == "2 2\na 1 2\nb 3 4\n"
    back = load_vectors(str(tmp_path / "r.vec.gz"))
    assert back.words == _royal().words and np.array_equal(back.matrix, _royal().matrix)


def test_cli_eval_table_and_json(tmp_path):
    v = _royal()
    path = tmp_path / "v.vec"
    save_vectors(v, str(path))
    (tmp_path / "q.txt").write_text(
        ": family\nman king woman queen\nman woman king queen\n: gram-x\nMAN KING WOMAN QUEEN\na b c d\n", encoding="utf-8"
    )
    (tmp_path / "p.tsv").write_text("# comment\nking\tqueen\t8\nking\tapple\t1\nman\twoman\t7\nfoo\tbar\t3\n", encoding="utf-8")
    code, out, _ = _cli(["eval", str(path), "--analogies", str(tmp_path / "q.txt"), "--pairs", str(tmp_path / "p.tsv"), "-q"])
    assert code == 0
    assert "family" in out and "semantic" in out and "syntactic" in out and "total" in out and "spearman" in out
    code, out, _ = _cli(["eval", str(path), "--analogies", str(tmp_path / "q.txt"), "--pairs", str(tmp_path / "p.tsv"), "--json", "-q"])
    report = json.loads(out)
    analogies = report["analogies"][str(tmp_path / "q.txt")]
    assert analogies["total"] == {"correct": 3, "total": 3, "accuracy": 1.0}
    assert analogies["oov"] == 1 and analogies["questions"] == 4
    assert analogies["syntactic"]["total"] == 1
    assert report["pairs"][str(tmp_path / "p.tsv")]["oov"] == 1


def test_cli_help_has_examples():
    from textseq.cli.embed import embed_group

    runner = CliRunner()
    for name in embed_group.commands:
        result = runner.invoke(embed_group, [name, "--help"])
        assert result.exit_code == 0 and "Examples:" in result.output, name
    assert "Examples:" in runner.invoke(embed_group, ["--help"]).output


def test_cli_import_is_light():
    import subprocess
    import sys

    code = "import sys, textseq.cli.embed; print('numpy' in sys.modules, 'torch' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False False"


def test_pca_2d():
    from textseq.embed.plot import pca_2d

    points, explained = pca_2d(_royal().matrix)
    assert points.shape == (6, 2) and 0 < explained[1] <= explained[0] <= 1


def test_plot_without_matplotlib_says_how_to_install(tmp_path, royal_file, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib raises ImportError
    code, _, err = _cli(["plot", royal_file, "king", "queen", "-O", str(tmp_path / "m.png")])
    assert code == 1 and "pip install matplotlib" in err and "textseq[plot]" in err
    assert not (tmp_path / "m.png").exists()


def test_plot_png(tmp_path, royal_file):
    pytest.importorskip("matplotlib")
    code, _, err = _cli(["plot", royal_file, "king", "queen", "man", "woman", "-O", str(tmp_path / "m.png")])
    assert code == 0, err
    assert (tmp_path / "m.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    code, _, err = _cli(["plot", royal_file, "-O", str(tmp_path / "n.png"), "-q"], b"king\t0.9\nqueen\t0.8\napple\t0.1\n")
    assert code == 0, err
    assert (tmp_path / "n.png").exists()
    code, _, err = _cli(["plot", royal_file, "king", "xyz", "-O", str(tmp_path / "x.png")])
    assert code == 1 and "'xyz' is not in the vocabulary" in err
