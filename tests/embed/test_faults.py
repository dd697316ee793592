"""textseq embed on bad input and faults: declared sizes checked before allocating, the format told
robustly, malformed evaluation files named by line, -O - and unwritable outputs, bounded sizes."""

from __future__ import annotations

import gzip
import io
import json
import os

import numpy as np
import pytest

from fuzzing import bounded
from helpers import cli
from textseq.embed.evaluate import evaluate_analogies, evaluate_pairs
from textseq.embed.io import check_output, detect_format, load_vectors, save_vectors
from textseq.embed.vectors import Vectors
from textseq.errors import InputError, OutputError

SMALL_MEMORY = 64 << 20
"""What a reader may add while it opens a file of a few hundred bytes."""


def _vectors(n: int = 20, dim: int = 4, seed: int = 0) -> Vectors:
    rng = np.random.default_rng(seed)
    return Vectors([f"w{i}" for i in range(n)], rng.standard_normal((n, dim)).astype(np.float32))


def _binary(words: list[str], dim: int, header: bytes | None = None) -> bytes:
    rows = np.arange(len(words) * dim, dtype="<f4").reshape(len(words), dim) / 7
    body = b"".join(w.encode() + b" " + rows[i].tobytes() for i, w in enumerate(words))
    return (header if header is not None else f"{len(words)} {dim}\n".encode()) + body


def _load_bounded(path) -> Vectors:
    with bounded(seconds=20, memory=SMALL_MEMORY):
        return load_vectors(str(path))


class _Terminal(io.BytesIO):
    def isatty(self) -> bool:
        return True


def _cli(args: list[str], stdin: bytes = b"", stdout: io.BytesIO | None = None) -> tuple[int, bytes, str]:
    """``textseq embed ARGS`` in process: its exit code, stdout and stderr."""
    return cli("embed", *args, stdin=stdin, stdout=stdout)


# --- declared sizes ----------------------------------------------------------------------------


def test_text_header_of_a_billion_rows_is_not_believed(tmp_path):
    path = tmp_path / "big.vec"
    path.write_bytes(b"999999999 300\nthe 1 2 3\n")
    with pytest.raises(InputError) as info:
        _load_bounded(path)
    assert str(info.value) == f"{path}:2: 3 values on this line, expected 300"


def test_text_header_with_more_rows_than_lines(tmp_path):
    path = tmp_path / "short.vec"
    path.write_bytes(b"999999999 3\nthe 1 2 3\nof 4 5 6\n")
    with pytest.raises(InputError, match=r"short.vec:3: only 2 vectors, the header says 999999999"):
        _load_bounded(path)


def test_binary_header_of_huge_dimensions_is_refused(tmp_path):
    path = tmp_path / "wide.bin"
    path.write_bytes(b"5 100000000\nabc " + bytes(range(256)))
    with pytest.raises(InputError, match=r"wide.bin:1: bad header '5 100000000': 100,000,000 dimensions, more than the 100,000"):
        _load_bounded(path)


def test_binary_header_with_more_rows_than_the_bytes_hold(tmp_path):
    path = tmp_path / "many.bin"
    path.write_bytes(_binary(["a", "b"], 50, header=b"1000000 50\n"))
    with pytest.raises(InputError) as info:
        _load_bounded(path)
    assert str(info.value) == (
        f"{path}:1: the header says 1,000,000 vectors of 50 dimensions, which take at least 202,000,000 bytes, but 404 bytes follow it"
    )


def test_header_numbers_too_long_for_int(tmp_path):
    (tmp_path / "long.vec").write_text("1" * 5000 + " 3\na 1 2 3\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"long.vec:1: bad header .*the numbers are too large"):
        load_vectors(str(tmp_path / "long.vec"))


def test_superscript_digit_header_is_an_input_error_not_a_crash(tmp_path):
    path = tmp_path / "sup.vec"
    path.write_text("2 ²\na 1 2\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"sup.vec:2: 2 values on this line, expected 1"):
        load_vectors(str(path))


# --- telling the formats apart -------------------------------------------------------------------


def test_text_with_a_wrong_dimension_in_its_header_is_text(tmp_path):
    path = tmp_path / "wd.vec"
    path.write_text("3 100\nyou 1 2\nme 3 4\nus 5 6\n", encoding="utf-8")
    with pytest.raises(InputError) as info:
        load_vectors(str(path))
    assert str(info.value) == f"{path}:2: 2 values on this line, expected 100"


def test_text_of_long_lines_is_text(tmp_path):
    """A line longer than what the old check looked at (8 KiB) was taken for binary vectors."""
    vectors = _vectors(3, 1000)
    save_vectors(vectors, str(tmp_path / "wide.vec"))
    back = load_vectors(str(tmp_path / "wide.vec"))
    assert back.words == vectors.words and np.array_equal(back.matrix, vectors.matrix)


def test_detect_format():
    binary = _binary(["a", "b"], 8)
    assert detect_format(binary) == "word2vec-binary"
    assert detect_format(b"2 3\na 1 2 3\nb 4 5 6\n") == "word2vec"
    assert detect_format(b"2 3\nyou\n") == "word2vec"  # clean text: its reader says what is wrong
    assert detect_format(b"a 1 2\n") == "glove"
    assert detect_format(b"") == "glove"
    cut = b"1 9000\nw " + b"0.123456789 " * 6000  # the head ends inside the first line
    assert detect_format(cut[: 1 << 16]) == "word2vec"


def test_binary_gzip_roundtrip(tmp_path):
    vectors = _vectors()
    save_vectors(vectors, str(tmp_path / "v.bin.gz"), binary=True)
    back = load_vectors(str(tmp_path / "v.bin.gz"))
    assert back.words == vectors.words and np.array_equal(back.matrix, vectors.matrix)


def test_corrupt_compressed_vectors_are_an_input_error(tmp_path):
    good = gzip.compress(b"2 2\na 1 2\nb 3 4\n" * 50)
    path = tmp_path / "bad.vec.gz"
    path.write_bytes(good[:20] + b"\xff" * 40 + good[60:])
    with pytest.raises(InputError, match=r"bad.vec.gz: cannot read"):
        load_vectors(str(path))


# --- values --------------------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "1e39"])
def test_text_values_must_be_finite_float32(tmp_path, value):
    path = tmp_path / "v.vec"
    path.write_text(f"2 2\na 1 2\nb 3 {value}\n", encoding="utf-8")
    with pytest.raises(InputError, match=rf"v.vec:3: '{value}' is not a finite float32 number"):
        load_vectors(str(path))


def test_float32_extremes_round_trip(tmp_path):
    big = np.finfo(np.float32).max
    vectors = Vectors(["a", "b"], np.array([[big, -big], [np.finfo(np.float32).smallest_subnormal, 0]], np.float32))
    save_vectors(vectors, str(tmp_path / "x.vec"))
    assert np.array_equal(load_vectors(str(tmp_path / "x.vec")).matrix, vectors.matrix)


def test_binary_values_must_be_finite(tmp_path):
    rows = np.array([[1, 2], [np.nan, 4]], dtype="<f4")
    (tmp_path / "nan.bin").write_bytes(b"2 2\na " + rows[0].tobytes() + b"b " + rows[1].tobytes())
    with pytest.raises(InputError, match=r"nan.bin: vector 2 \('b'\) has a value that is not a finite number"):
        load_vectors(str(tmp_path / "nan.bin"))


def test_queries_on_huge_values_say_nothing_on_stderr(recwarn):
    vectors = Vectors(["a", "b", "c"], np.array([[3e38, 1], [1, 2], [2, 1]], np.float32))
    assert [w for w, _ in vectors.neighbors("b", 2)] == ["c", "a"]
    assert not [w for w in recwarn if issubclass(w.category, RuntimeWarning)]


# --- evaluation files ------------------------------------------------------------------------------


@pytest.fixture
def royal() -> Vectors:
    words = ["king", "queen", "man", "woman", "apple", "prince"]
    matrix = np.array([[1, 1, 0, 0], [1, -1, 0, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, 0, 0, 1], [0.9, 1, 0.1, 0.1]], np.float32)
    return Vectors(words, matrix)


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("king queen 8", r"p.tsv:3: expected 'w1<TAB>w2<TAB>score' \(3 fields separated by tabs\), found 1 field$"),
        ("king\tqueen\t8\textra", r"p.tsv:3: expected .*found 4 fields"),
        ("king\tqueen\thigh", r"p.tsv:3: the score 'high' is not a number$"),
        ("king\tqueen\tnan", r"p.tsv:3: the score 'nan' is not a finite number"),
        ("king\t\t5", r"p.tsv:3: a word is empty"),
    ],
)
def test_malformed_pair_lines_are_named(tmp_path, royal, line, message):
    path = tmp_path / "p.tsv"
    path.write_text(f"# pairs\nman\twoman\t7\n{line}\nking\tapple\t1\n", encoding="utf-8")
    with pytest.raises(InputError, match=message):
        evaluate_pairs(royal, str(path))


def test_a_header_line_in_a_pairs_file_gets_a_hint(tmp_path, royal):
    path = tmp_path / "combined.tab"
    path.write_text("Word 1\tWord 2\tHuman (mean)\nking\tqueen\t8\n", encoding="utf-8")
    with pytest.raises(
        InputError, match=r"combined.tab:1: the score 'Human \(mean\)' is not a number \(a header line\? start it with '#'\)"
    ):
        evaluate_pairs(royal, str(path))


def test_valid_pairs_with_comments_blank_lines_and_crlf(tmp_path, royal):
    path = tmp_path / "p.tsv"
    path.write_bytes(b"# c\r\nking\tqueen\t8\r\n\r\nking\tapple\t1\r\nman\twoman\t7\r\nfoo\tbar\t2\r\n")
    result = evaluate_pairs(royal, str(path))
    assert (result.pairs, result.oov) == (3, 1)


def test_pairs_all_out_of_vocabulary_and_undefined_correlation(tmp_path, royal):
    (tmp_path / "oov.tsv").write_text("foo\tbar\t1\nbaz\tqux\t2\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"oov.tsv: none of its 2 pairs has both words in the vocabulary"):
        evaluate_pairs(royal, str(tmp_path / "oov.tsv"))
    (tmp_path / "same.tsv").write_text("king\tqueen\t5\nman\twoman\t5\n", encoding="utf-8")
    as_dict = evaluate_pairs(royal, str(tmp_path / "same.tsv")).as_dict()
    assert as_dict["spearman"] is None and as_dict["pearson"] is None
    json.dumps(as_dict, allow_nan=False)


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("man king woman", r"q.txt:3: expected 4 words 'a b c d', found 3$"),
        ("man king woman queen prince", r"q.txt:3: expected 4 words 'a b c d', found 5$"),
        (":gram-plural", r"q.txt:3: expected 4 words 'a b c d', found 1 \(a section line starts with ': '\)"),
    ],
)
def test_malformed_analogy_lines_are_named(tmp_path, royal, line, message):
    path = tmp_path / "q.txt"
    path.write_text(f": family\nman king woman queen\n{line}\n", encoding="utf-8")
    with pytest.raises(InputError, match=message):
        evaluate_analogies(royal, str(path))


def test_valid_analogies_with_comments_and_blank_lines(tmp_path, royal):
    path = tmp_path / "q.txt"
    path.write_text(
        "# Google's format\n\n: family\nman king woman queen\n\n: gram-x\nMAN KING WOMAN QUEEN\nfoo bar baz qux\n", encoding="utf-8"
    )
    result = evaluate_analogies(royal, str(path))
    assert (result.total.correct, result.total.total, result.oov, result.questions) == (2, 2, 1, 3)


def test_cli_eval_reports_the_line(tmp_path, royal):
    save_vectors(royal, str(tmp_path / "r.vec"))
    (tmp_path / "p.tsv").write_text("king\tqueen\t8\nking\tqueen\t?\n", encoding="utf-8")
    code, out, err = _cli(["eval", str(tmp_path / "r.vec"), "--pairs", str(tmp_path / "p.tsv"), "-q"])
    assert code == 1 and out == b""
    assert err == f"textseq: error: {tmp_path / 'p.tsv'}:2: the score '?' is not a number\n"


def test_cli_eval_table_with_an_undefined_correlation(tmp_path, royal):
    save_vectors(royal, str(tmp_path / "r.vec"))
    (tmp_path / "p.tsv").write_text("king\tqueen\t5\nman\twoman\t5\n", encoding="utf-8")
    code, out, _ = _cli(["eval", str(tmp_path / "r.vec"), "--pairs", str(tmp_path / "p.tsv"), "-q"])
    assert code == 0 and "n/a" in out.decode()
    code, out, _ = _cli(["eval", str(tmp_path / "r.vec"), "--pairs", str(tmp_path / "p.tsv"), "--json", "-q"])
    assert json.loads(out)["pairs"][str(tmp_path / "p.tsv")]["spearman"] is None


# --- outputs -------------------------------------------------------------------------------------

CORPUS = b"the cat sat on the mat\nthe dog sat on the log\n" * 20


def test_train_to_stdout_writes_no_file_named_dash(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, out, err = _cli(["train", "--method", "ppmi-svd", "--dim", "4", "--min-count", "1", "-O", "-", "-q"], CORPUS)
    assert code == 0, err
    assert not (tmp_path / "-").exists()
    assert out.startswith(b"7 4\nthe ")
    (tmp_path / "v.vec").write_bytes(out)
    assert load_vectors(str(tmp_path / "v.vec")).dim == 4


def test_train_binary_to_stdout(tmp_path):
    code, out, err = _cli(["train", "--method", "ppmi-svd", "--dim", "4", "--min-count", "1", "--binary", "-O", "-", "-q"], CORPUS)
    assert code == 0, err
    (tmp_path / "v.bin").write_bytes(out)
    assert len(load_vectors(str(tmp_path / "v.bin"))) == 7
    code, out, err = _cli(["train", "--method", "ppmi-svd", "--binary", "-O", "-"], CORPUS, stdout=_Terminal())
    assert code == 2 and out == b"" and "binary vectors would go to the terminal" in err


def test_train_checks_the_output_before_reading_the_text(tmp_path, monkeypatch):
    import textseq.embed.corpus

    def never(*args, **kwargs):
        raise AssertionError("the text was read before the output was checked")

    monkeypatch.setattr(textseq.embed.corpus, "training_corpus", never)
    missing = tmp_path / "no" / "v.vec"
    code, _, err = _cli(["train", "--method", "ppmi-svd", "-O", str(missing)], CORPUS)
    assert (code, err) == (1, f"textseq: error: {tmp_path / 'no'}: folder does not exist\n")
    code, _, err = _cli(["train", "--method", "ppmi-svd", "-O", str(tmp_path)], CORPUS)
    assert code == 2 and "is a directory" in err


def test_check_output(tmp_path):
    check_output(str(tmp_path / "new.vec"))
    check_output("-")
    check_output(os.devnull)  # written straight into, as atomic_write does
    with pytest.raises(OutputError, match="is a directory"):
        check_output(str(tmp_path))
    with pytest.raises(OutputError, match="folder does not exist"):
        check_output(str(tmp_path / "no" / "v.vec"))
    with pytest.raises(OutputError, match="binary vectors are not written to a terminal"):
        check_output("-", binary=True, stdout=_Terminal())
    (tmp_path / "file").write_text("")
    with pytest.raises(OutputError, match="cannot write: Not a directory"):
        check_output(str(tmp_path / "file" / "v.vec"))


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes in any folder")
def test_check_output_in_a_read_only_folder(tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        with pytest.raises(OutputError, match="cannot write in this folder: Permission denied"):
            check_output(str(folder / "v.vec"))
    finally:
        folder.chmod(0o700)


def test_convert_to_stdout_text_and_binary(tmp_path):
    save_vectors(_vectors(), str(tmp_path / "v.vec"))
    code, out, _ = _cli(["convert", str(tmp_path / "v.vec"), "-O", "-", "-q"])
    assert code == 0 and out == (tmp_path / "v.vec").read_bytes()
    code, out, _ = _cli(["convert", str(tmp_path / "v.vec"), "--binary", "-O", "-", "-q"])
    assert code == 0
    (tmp_path / "back.bin").write_bytes(out)
    assert np.array_equal(load_vectors(str(tmp_path / "back.bin")).matrix, _vectors().matrix)
    code, out, err = _cli(["convert", str(tmp_path / "v.vec"), "--binary", "-O", "-"], stdout=_Terminal())
    assert code == 2 and out == b"" and "terminal" in err


def test_convert_checks_the_output_before_loading(tmp_path):
    (tmp_path / "bad.vec").write_text("not vectors\n", encoding="utf-8")
    code, _, err = _cli(["convert", str(tmp_path / "bad.vec"), "-O", str(tmp_path / "no" / "x.vec")])
    assert code == 1 and "folder does not exist" in err


# --- sizes training takes ----------------------------------------------------------------------


def test_train_dim_beyond_the_limit_says_what_one_vector_would_take():
    with bounded(seconds=60, memory=256 << 20):
        code, _, err = _cli(["train", "--method", "ppmi-svd", "--min-count", "1", "--dim", "100000000", "-O", "-"], CORPUS)
    assert code == 2
    assert "100,000,000 dimensions is more than the 100,000 that vector files may have" in err
    assert "381.5 MiB" in err


@pytest.mark.parametrize("method", ["ppmi-svd", "glove", "skipgram"])
def test_train_refuses_vocabulary_times_dim_beyond_memory(tmp_path, monkeypatch, method):
    pytest.importorskip("numba")
    import textseq.embed.limits

    monkeypatch.setattr(textseq.embed.limits, "available_memory", lambda: 1 << 20)
    code, _, err = _cli(["train", "--method", method, "--min-count", "1", "--dim", "50000", "-q", "-O", str(tmp_path / "v.vec")], CORPUS)
    assert code == 1, err
    assert err.startswith("textseq: error: ") and err.count("\n") == 1
    assert "(7 words x 50,000 dimensions) needs about" in err and "more than the 1.0 MiB available" in err
    assert "lower dim" in err
    assert not (tmp_path / "v.vec").exists()


def test_cooccurrence_counting_refuses_windows_beyond_memory(monkeypatch):
    import textseq.embed.limits
    from textseq.embed.cooccurrence import cooccurrences, pairs_within
    from textseq.embed.corpus import training_corpus
    from textseq.embed.limits import MemoryNeeded

    corpus = training_corpus([" ".join(f"w{i % 50}" for i in range(5000)) + "\n"], min_count=1)
    chunk = next(corpus.chunks())
    assert pairs_within(chunk, 3) == 3 * 5000 - 6
    assert pairs_within(chunk, 10_000) == 5000 * 4999 // 2
    monkeypatch.setattr(textseq.embed.limits, "available_memory", lambda: 100 << 20)
    assert cooccurrences(corpus, 5).nnz > 0
    with pytest.raises(MemoryNeeded, match=r"counting co-occurrences within 1,000 words needs about .*: lower the window"):
        cooccurrences(corpus, 1000)


@pytest.mark.parametrize("option", [["--threads", "100000"], ["--window", "100000"], ["--negative", "100000000"], ["--seed", "-1"]])
def test_train_size_options_are_bounded(option):
    code, _, err = _cli(["train", *option, "-O", "-"], CORPUS)
    assert code == 2 and option[0] in err


def test_trainers_bound_their_sizes():
    pytest.importorskip("numba")
    from textseq.embed.corpus import check_training_arguments, training_corpus
    from textseq.embed.glove import GloVe
    from textseq.embed.ppmi import PpmiSvd
    from textseq.embed.word2vec import SkipGram

    for bad, message in (
        (dict(negative=10**9), "negative must be between 0 and 1,000"),
        (dict(threads=10**6), "threads must be between 1 and 512"),
        (dict(negative=2.5), "negative must be a whole number"),
        (dict(alpha=float("inf")), "alpha must be a finite number"),
        (dict(sample=float("nan")), "sample must be a finite number"),
    ):
        with pytest.raises(ValueError, match=message):
            SkipGram(**bad)
    with pytest.raises(ValueError, match="threads"):
        GloVe(threads=10**6)
    for bad, message in (
        (dict(eig="abc"), "eig must be a finite number"),
        (dict(power_iterations="abc"), "power_iterations must be a whole number"),
        (dict(power_iterations=10**9), "power_iterations must be between 0 and 100"),
        (dict(smoothing=float("nan")), "smoothing must be a finite number"),
    ):
        with pytest.raises(ValueError, match=message):
            PpmiSvd(**bad)
    corpus = training_corpus(["a b c\n"], min_count=1)
    for dim, window, message in (
        (10**8, 5, "dim must be between 1 and 100,000"),
        (5, 10**6, "window must be between 1 and 1,000"),
        (0, 5, "dim must be between 1 and 100,000"),
    ):
        with pytest.raises(ValueError, match=message):
            check_training_arguments(corpus, dim, window)


def test_cli_ppmi_option_of_the_wrong_type_is_a_usage_error():
    code, _, err = _cli(["train", "--method", "ppmi-svd", "-p", "eig=abc", "-O", "-"], CORPUS)
    assert code == 2 and "eig must be a finite number" in err


def test_plot_to_dash_is_refused_not_written_as_a_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    save_vectors(_vectors(), str(tmp_path / "v.vec"))
    code, out, err = _cli(["plot", str(tmp_path / "v.vec"), "w1", "w2", "-O", "-"])
    assert code == 2 and out == b"" and "a map is an image file" in err
    assert not (tmp_path / "-").exists()
