"""Faults in n-gram models and commands: each ends with one clear line and the right exit code,
never a traceback, a NaN, or an allocation a file declares."""

from __future__ import annotations

import gzip
import io
import json
import math
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest

from fuzzing import bounded
from helpers import cli, one_error
from textseq.errors import InputError
from textseq.ngram.arpa import read_arpa, write_arpa
from textseq.ngram.binary import MAGIC, read_binary, write_binary
from textseq.ngram.classic import AbsoluteDiscounting, KneserNey, WittenBell
from textseq.ngram.corpus import BOS, corpus_from_blocks
from textseq.ngram.counts import count_ngrams
from textseq.ngram.evaluate import evaluate, perplexity
from textseq.ngram.files import load_model
from textseq.ngram.kneser_ney import Discounts
from textseq.ngram.model import BackoffModel
from textseq.ngram.smoothers import ModifiedKneserNey

TEXT = "the cat sat on the mat\nthe dog sat on the log\na cat and a dog\nthe end\n" * 3


def build(text: str = TEXT, order: int = 3, smoother=None, prune=()) -> BackoffModel:
    corpus = corpus_from_blocks([text])
    model = (smoother or ModifiedKneserNey()).estimate(count_ngrams(corpus, order), prune=prune)
    model.words = corpus.words
    return model


def sums_to_one(model: BackoffModel, histories: list[list[int]]) -> None:
    for history in histories:
        total = float(np.sum(10.0 ** model.next_logprobs(history)))
        assert total == pytest.approx(1.0, abs=1e-6), (history, total)


@pytest.fixture
def arpa(tmp_path: Path) -> Path:
    path = tmp_path / "m.arpa"
    with open(path, "w", encoding="utf-8") as handle:
        write_arpa(build(), handle)
    return path


# --- 1. discounts --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "discounts",
    [
        (5, 5, 5),
        (-1, 0, 0),
        (math.nan, 1, 1),
        (1.01, 1, 1),
        (0.5, 2.5, 1),
        (0.5, 1, 3.5),
        (0.5, 1, math.inf),
        ("a", 1, 1),
        (True, 1, 1),
        (0.5, 1),
    ],
)
def test_modified_kneser_ney_refuses_discounts_larger_than_their_counts(discounts):
    with pytest.raises(ValueError, match="discount"):
        ModifiedKneserNey(discounts)


@pytest.mark.parametrize("discounts", [(0, 0, 0), (1, 2, 3), (0.25, 1.5, 0.1)])
def test_modified_kneser_ney_discounts_at_their_limits_give_distributions(discounts):
    model = build(smoother=ModifiedKneserNey(discounts))
    for table in model.orders:
        assert np.isfinite(table.logprob).all() and np.isfinite(table.backoff).all()
        assert (table.logprob <= 0).all() and (table.logprob >= -99).all()
    the, sat = model.word_index["the"], model.word_index["sat"]
    sums_to_one(model, [[], [BOS], [the], [sat, model.word_index["on"]]])


def test_discounts_are_checked_where_they_are_made():
    assert Discounts(1, 2, 3).d3 == 3.0
    with pytest.raises(ValueError, match=r"D3\+=4 is outside 0..3"):
        Discounts(0.5, 1, 4)


@pytest.mark.parametrize("smoother", [KneserNey, AbsoluteDiscounting])
@pytest.mark.parametrize("discount", [1.5, -0.1, math.nan, [0.5, 2.0], "x"])
def test_one_discount_smoothers_refuse_discounts_outside_0_to_1(smoother, discount):
    with pytest.raises(ValueError, match="discount"):
        smoother(discount)


@pytest.mark.parametrize("smoother", [KneserNey, AbsoluteDiscounting])
def test_one_discount_smoothers_take_0_and_1(smoother):
    for discount in (0.0, 1.0):
        model = build(smoother=smoother(discount))
        assert all(np.isfinite(t.logprob).all() for t in model.orders)
        sums_to_one(model, [[], [BOS], [model.word_index["the"]]])


@pytest.mark.parametrize("discounts", ["5,5,5", "-1,0,0", "nan,nan,nan", "0.5,1,inf"])
def test_build_refuses_bad_discounts_as_a_one_error(tmp_path, discounts):
    out = tmp_path / "m.arpa"
    code, _, err = cli("ngram", "build", "-o", "3", f"--discounts={discounts}", "-O", str(out), stdin=TEXT.encode())
    assert code == 2
    assert "discount" in one_error(err)
    assert not out.exists()


def test_a_smoothers_error_at_estimate_time_is_a_one_error(tmp_path, monkeypatch):
    def refuse(self, counts, *, prune=(), warn=None):
        raise ValueError("this option needs more orders")

    monkeypatch.setattr(ModifiedKneserNey, "estimate", refuse)
    code, _, err = cli("ngram", "build", "-q", "-O", str(tmp_path / "m.arpa"), stdin=TEXT.encode())
    assert code == 2
    assert "smoother 'modified-kneser-ney': this option needs more orders" in one_error(err)


# --- 2. declared sizes -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "header,message",
    [
        ("ngram 999999999=1", "order 999999999: textseq reads orders 1 to 10"),
        ("ngram 11=1", "order 11"),
        ("ngram 1=999999999", "999,999,999 1-grams declared, more than the file's 8 lines can hold"),
        ("ngram 1=1\nngram 1=1", "given twice"),
        ("ngram 1=" + "9" * 5000, "99999999999999999999... 1-grams declared"),  # beyond int()'s 4,300 digits
        ("ngram " + "9" * 5000 + "=1", "order 99999999999999999999: textseq reads orders 1 to 10"),
    ],
)
def test_an_arpa_header_cannot_declare_more_than_the_file_holds(header, message):
    text = f"\\data\\\n{header}\n\n\\1-grams:\n-1\ta\n\n\\end\\\n"
    with bounded(seconds=10, memory=256 << 20), pytest.raises(InputError) as info:
        read_arpa(io.StringIO(text), "big.arpa")
    assert message in str(info.value)
    assert str(info.value).startswith("big.arpa:")


def test_eval_of_an_arpa_declaring_a_huge_order_fails_in_one_line(tmp_path):
    path = tmp_path / "big.arpa"
    path.write_text("\\data\\\nngram 999999999=1\n\n\\1-grams:\n-1\ta\n\n\\end\\\n")
    with bounded(seconds=10, memory=256 << 20):
        code, _, err = cli("eval", str(path), stdin=b"a\n")
    assert code == 1
    assert f"{path}:2: order 999999999" in one_error(err)


def _header_and_data(path: Path) -> tuple[dict, bytes]:
    data = path.read_bytes()
    (length,) = struct.unpack("<Q", data[16:24])
    start = -(-(24 + length + 4) // 64) * 64
    return json.loads(data[24 : 24 + length]), data[start:]


def _rewrite(path: Path, header: dict, data: bytes) -> None:
    """A binary model with this header and array area, its checksums right."""
    header = {**header, "checksum": zlib.crc32(data)}
    encoded = json.dumps(header).encode()
    prefix = MAGIC + struct.pack("<Q", len(encoded)) + encoded
    prefix += struct.pack("<I", zlib.crc32(prefix))
    path.write_bytes(prefix + b"\0" * (-len(prefix) % 64) + data)


def _with_array(header: dict, name: str, position: int, value) -> dict:
    arrays = [list(entry) for entry in header["arrays"]]
    for entry in arrays:
        if entry[0] == name:
            entry[position] = value
    return {**header, "arrays": arrays}


@pytest.mark.parametrize(
    "change,message",
    [
        (lambda h: {**h, "order": 999}, "order 999"),
        (lambda h: {**h, "order": 2}, "arrays listed"),
        (lambda h: {**h, "vocab_size": 2**40}, "vocabulary size"),
        (lambda h: {**h, "vocab_size": 5}, "the header says 5"),
        (lambda h: _with_array(h, "2.keys", 2, 999_999_999_999), "length or offset"),
        (lambda h: _with_array(h, "2.logprob", 2, 3), "length or offset"),
        (lambda h: _with_array(h, "3.keys", 3, 64), "length or offset"),
        (lambda h: _with_array(h, "2.logprob", 1, "<f8"), "dtype '<f8'"),
        (lambda h: _with_array(h, "1.backoff", 1, "|O"), "dtype '|O'"),
        (lambda h: _with_array(h, "3.logprob", 0, "3.keys"), "where 3.logprob should be"),
        (lambda h: {**h, "arrays": "x"}, "not a list"),
        (lambda h: {key: value for key, value in h.items() if key != "smoothing"}, "fields"),
    ],
)
def test_a_binary_header_is_checked_against_the_layout_and_the_file(tmp_path, change, message):
    path = tmp_path / "m.tsbin"
    write_binary(build(), path)
    header, data = _header_and_data(path)
    _rewrite(path, change(header), data)
    with bounded(seconds=10, memory=256 << 20), pytest.raises(InputError, match="not a valid textseq binary model") as info:
        read_binary(path)
    assert message in str(info.value)


def test_a_binary_model_whose_header_is_rewritten_as_it_was_still_opens(tmp_path):
    path = tmp_path / "m.tsbin"
    write_binary(build(), path)
    header, data = _header_and_data(path)
    _rewrite(path, header, data)
    assert read_binary(path).order == 3


# --- 3. empty orders -------------------------------------------------------------------------------


def _without_empty_orders(model: BackoffModel) -> BackoffModel:
    orders = list(model.orders)
    while len(orders) > 1 and len(orders[-1]) == 0:
        orders.pop()
    return BackoffModel(words=model.words, orders=orders)


@pytest.mark.parametrize(
    "text,order,smoother,prune",
    [
        (TEXT, 2, ModifiedKneserNey(), (0, 99_999_999_999)),
        (TEXT, 3, ModifiedKneserNey(), (0, 99_999_999_999)),
        (TEXT, 3, ModifiedKneserNey(), (0, 0, 99_999_999_999)),
        ("a b\n", 5, WittenBell(), ()),
    ],
)
def test_a_model_whose_top_orders_are_empty_scores_as_its_lower_orders(tmp_path, text, order, smoother, prune):
    model = build(text, order, smoother, prune)
    assert len(model.orders[-1]) == 0
    assert model.order == order  # the declared order is kept, as lmplz keeps it
    lower = _without_empty_orders(model)
    test = "the cat sat on a log\nzebra\na b a\n"
    ours, per_line = evaluate(model, [test])
    theirs, expected = evaluate(lower, [test])
    assert np.allclose(per_line, expected)
    assert ours.perplexity == pytest.approx(theirs.perplexity)
    history = [BOS, model.word_index.get("the", 3)]
    assert np.allclose(model.next_logprobs(history), lower.next_logprobs(history))
    for path in (tmp_path / "m.arpa", tmp_path / "m.tsbin"):
        if path.suffix == ".arpa":
            with open(path, "w", encoding="utf-8") as handle:
                write_arpa(model, handle)
        else:
            write_binary(model, path)
        again = load_model(str(path))
        assert again.order == order
        assert np.allclose(evaluate(again, [test])[1], expected, atol=1e-4)


def test_eval_next_and_sample_work_on_a_model_pruned_to_its_unigrams(tmp_path):
    path = tmp_path / "p.arpa"
    code, _, err = cli("ngram", "build", "-o", "3", "--prune", "0,99999999999", "-O", str(path), stdin=TEXT.encode())
    assert code == 0, err
    assert "ngram 3=0" in path.read_text()
    code, out, err = cli("eval", "--json", str(path), stdin=b"the cat\n")
    assert code == 0, err
    assert json.loads(out)["tokens"] == 3
    code, out, err = cli("ngram", "next", str(path), "the cat", "-k", "5")
    assert code == 0, err
    assert out == cli("ngram", "next", str(path), "", "-k", "5")[1]  # the unigrams, whatever the history
    assert len(out.decode().splitlines()) == 5
    code, out, err = cli("sample", str(path), "--seed", "1", "-n", "5")
    assert code == 0, err
    assert out.strip()


# --- 4. the binary format ----------------------------------------------------------------------


def test_a_flipped_bit_in_a_binary_models_arrays_is_caught(tmp_path):
    model = build()
    path = tmp_path / "m.tsbin"
    write_binary(model, path)
    data = bytearray(path.read_bytes())
    header, arrays = _header_and_data(path)
    start = len(data) - len(arrays)
    logprob = next(entry for entry in header["arrays"] if entry[0] == "2.logprob")
    data[start + logprob[3] + 2] ^= 0x10  # a mantissa bit: the number changes a little, silently
    path.write_bytes(bytes(data))
    with pytest.raises(InputError, match="the arrays' checksum does not match"):
        read_binary(path)


@pytest.mark.parametrize("command", [["eval", "--json", "{}"], ["sample", "{}", "-n", "3"], ["ngram", "next", "{}", "the"]])
def test_commands_on_a_damaged_binary_model_print_no_figure(tmp_path, command):
    path = tmp_path / "m.tsbin"
    write_binary(build(), path)
    data = bytearray(path.read_bytes())
    data[-100] ^= 0x01
    path.write_bytes(bytes(data))
    code, out, err = cli(*[part.format(path) for part in command], stdin=b"the cat sat\n")
    assert code == 1 and out == b""
    assert "the arrays' checksum does not match" in one_error(err)


def test_a_flipped_bit_in_a_binary_models_header_is_caught(tmp_path):
    path = tmp_path / "m.tsbin"
    write_binary(build(), path)
    data = bytearray(path.read_bytes())
    at = bytes(data).index(b'"smoothing": "') + len(b'"smoothing": "')
    data[at] ^= 0x01
    path.write_bytes(bytes(data))
    with pytest.raises(InputError, match="the header's checksum does not match"):
        read_binary(path)


@pytest.mark.parametrize("version", [1, 2])
def test_an_old_binary_model_gets_a_rebuild_or_convert_message(tmp_path, version):
    encoded = json.dumps({"version": version, "order": 1, "vocab_size": 3, "arrays": []}).encode()
    path = tmp_path / "old.tsbin"
    path.write_bytes(MAGIC + struct.pack("<Q", len(encoded)) + encoded + b"\0" * 64)
    with pytest.raises(InputError) as info:
        read_binary(path)
    assert f"version {version}" in str(info.value) and "rebuild" in str(info.value) and "convert" in str(info.value)


def _arrays_of(path: Path) -> tuple[dict, list[tuple[str, np.ndarray]]]:
    """The header and the arrays of a binary model, each a copy to change."""
    header, data = _header_and_data(path)
    arrays = [(name, np.frombuffer(data, dtype=dtype, count=length, offset=at).copy()) for name, dtype, length, at in header["arrays"]]
    return header, arrays


def _write_arrays(path: Path, header: dict, arrays: list[tuple[str, np.ndarray]]) -> None:
    """A binary model of these arrays, laid out as the writer lays them out, its checksums right."""
    entries, data = [], b""
    for name, array in arrays:
        entries.append([name, array.dtype.str, int(array.size), len(data)])
        data += array.tobytes() + b"\0" * (-array.nbytes % 64)
    _rewrite(path, {**header, "arrays": entries}, data)


def _change(name: str, change):
    def spoil(arrays: list[tuple[str, np.ndarray]]) -> list[tuple[str, np.ndarray]]:
        return [(n, change(a.copy()) if n == name else a) for n, a in arrays]

    return spoil


def _set(index, value):
    def change(array: np.ndarray) -> np.ndarray:
        array[index] = value
        return array

    return change


def _words(change):
    """The vocabulary array after ``change`` to its list of words."""

    def spoil(arrays):
        words = change(bytes(arrays[0][1]).decode().split("\n"))
        return [("vocab", np.frombuffer("\n".join(words).encode(), dtype=np.uint8)), *arrays[1:]]

    return spoil


def _swap_first_two(array: np.ndarray) -> np.ndarray:
    array[[0, 1]] = array[[1, 0]]
    return array


@pytest.mark.parametrize(
    "spoil,message",
    [
        (_change("2.keys", _set(0, -1)), "order 2 has an n-gram whose context is not in order 1 or whose word is not in the vocabulary"),
        (_change("3.keys", _set(-1, 2**40)), "order 3 has an n-gram whose context is not in order 2"),
        (_change("2.keys", _swap_first_two), "not in strictly increasing order"),
        (_change("3.keys", _set(1, 0)), "not in strictly increasing order"),
        (_change("3.logprob", _set(0, math.nan)), "log10 probability"),
        (_change("3.logprob", _set(0, 0.5)), "log10 probability"),
        (_change("2.backoff", _set(0, math.inf)), "backoff"),
        (_change("2.backoff", lambda a: a[:-1]), "differ in length"),
        (
            lambda arrays: [arrays[0], (arrays[1][0], arrays[1][1][:-1]), (arrays[2][0], arrays[2][1][:-1]), *arrays[3:]],
            "one per vocabulary word",
        ),
        (_words(lambda w: ["<x>", *w[1:]]), "does not start with"),
        (_words(lambda w: [*w[:5], "two words", *w[6:]]), "a space in it"),
        (_words(lambda w: [*w[:5], w[6], *w[6:]]), "a word twice"),
    ],
)
def test_a_binary_model_with_a_right_checksum_and_wrong_content_is_refused(tmp_path, spoil, message):
    path = tmp_path / "m.tsbin"
    write_binary(build(), path)
    header, arrays = _arrays_of(path)
    _write_arrays(path, header, spoil(arrays))
    with pytest.raises(InputError, match="not a valid textseq binary model") as info:
        read_binary(path)
    assert message in str(info.value)


def test_the_layout_the_content_tests_write_is_the_writers(tmp_path):
    path = tmp_path / "m.tsbin"
    write_binary(build(), path)
    written = _header_and_data(path)  # the writer pads its JSON to the room any checksum takes
    _write_arrays(path, *_arrays_of(path))
    assert _header_and_data(path) == written


def test_a_compressed_binary_model_says_to_decompress_it(tmp_path):
    path = tmp_path / "m.tsbin"
    write_binary(build(), path)
    packed = tmp_path / "m.tsbin.gz"
    packed.write_bytes(gzip.compress(path.read_bytes()))
    with pytest.raises(InputError, match="decompress it first"):
        load_model(str(packed))


# --- 5. reading ARPA -------------------------------------------------------------------------------

GOOD = [
    "\\data\\",
    "ngram 1=4",
    "ngram 2=3",
    "",
    "\\1-grams:",
    "-99\t<s>\t-0.5",
    "-1.0\t</s>",
    "-0.5\ta\t-0.2",
    "-0.7\tb",
    "",
    "\\2-grams:",
    "-0.1\t<s> a",
    "-0.3\ta b",
    "-0.2\ta </s>",
    "",
    "\\end\\",
    "",
]
"""A small valid ARPA file, by lines (line 6 is the first unigram, line 12 the first bigram)."""


def _arpa(replace: dict[int, str] | None = None, lines: list[str] | None = None) -> str:
    """GOOD with lines replaced (by line number), or other lines."""
    result = list(lines if lines is not None else GOOD)
    for number, line in (replace or {}).items():
        result[number - 1] = line
    return "\n".join(result)


@pytest.mark.parametrize(
    "text,line,message",
    [
        (_arpa({6: "nan\t<s>\t-0.5"}), 6, "the log probability is NaN"),
        (_arpa({7: "inf\t</s>"}), 7, "positive"),
        (_arpa({8: "0.5\ta\t-0.2"}), 8, "the log10 probability 0.5 is positive"),
        (_arpa({12: "1e-3\t<s> a"}), 12, "positive"),
        (_arpa({8: "-0.5\ta\tnan"}), 8, "the backoff nan is not a finite number"),
        (_arpa({8: "-0.5\ta\tinf"}), 8, "the backoff inf is not a finite number"),
        (_arpa({9: "-0.7\ta"}), 9, "the unigram 'a' is given twice (also on line "),
        (_arpa({14: "-0.2\ta b"}), 14, "the 2-gram 'a b' is given twice (also on line "),
        (_arpa({6: "-99\t<x>\t-0.5", 12: "-0.1\t<x> a"}), 5, "no <s> unigram"),
        (_arpa({7: "-1.0\t<y>", 14: "-0.2\ta <y>"}), 5, "no </s> unigram"),
        (_arpa({13: "-0.3\ta b c"}), 13, "expected a log probability, 2 words and maybe a backoff, got 3 words"),
        (_arpa({13: "-0.3\ta b c d"}), 13, "got 4 words"),
        (_arpa({13: "-0.3\ta"}), 13, "got 1 word"),
        (_arpa({13: "-0.3\ta b\t-0.2\t-0.1"}), 13, "got 4 words"),
        (_arpa({17: "trailing text"}), 17, "text after \\end\\"),
        (_arpa({13: "-0.3\ta b -0.2", 14: "a </s>"}), 14, "not a number: 'a'"),  # fields spread over lines
        (_arpa({8: "-0.5\ta", 9: "-0.2 -0.7\tb"}), 9, "got 2 words"),
    ],
)
def test_arpa_values_that_give_wrong_numbers_are_refused_with_their_line(text, line, message):
    for variant in (text, "some preamble\n" + text):  # the fast reader, then the careful one
        shift = variant.count("\n") - text.count("\n")
        with pytest.raises(InputError) as info:
            read_arpa(io.StringIO(variant), "bad.arpa")
        assert str(info.value).startswith(f"bad.arpa:{line + shift}: "), str(info.value)
        assert message in str(info.value)


@pytest.mark.parametrize(
    "replace,check",
    [
        ({6: "-99\t<s>\t-0.5"}, lambda m: m.orders[0].logprob[BOS] == -99.0),
        ({6: "-inf\t<s>\t-0.5"}, lambda m: m.orders[0].logprob[BOS] == -99.0),
        ({6: "-1000\t<s>\t-inf"}, lambda m: m.orders[0].logprob[BOS] == -99.0 and m.orders[0].backoff[BOS] == -99.0),
        ({8: "1e-7\ta\t-0.2"}, lambda m: m.orders[0].logprob[m.word_index["a"]] == 0.0),
        ({8: "-0.5\ta\t0.3"}, lambda m: m.orders[0].backoff[m.word_index["a"]] == pytest.approx(0.3)),
    ],
)
def test_arpa_log_zero_rounding_and_positive_backoffs_are_read(replace, check):
    model = read_arpa(io.StringIO(_arpa(replace)), "ok.arpa")
    assert check(model)


def test_a_repeated_ngram_names_both_lines():
    with pytest.raises(InputError, match=r"^bad.arpa:14: the 2-gram 'a b' is given twice \(also on line 13\)$"):
        read_arpa(io.StringIO(_arpa({14: "-0.2\ta b"})), "bad.arpa")


def test_eval_of_an_arpa_with_nan_fails_instead_of_printing_nan(tmp_path):
    path = tmp_path / "nan.arpa"
    path.write_text(_arpa({8: "nan\ta\t-0.2"}))
    code, out, err = cli("eval", "--json", str(path), stdin=b"a b\n")
    assert code == 1 and out == b""
    assert f"{path}:8: the log probability is NaN" in one_error(err)


# --- 6. what a model file is -----------------------------------------------------------------------


def test_a_latin1_arpa_gets_advice_that_fits_a_model_file(tmp_path, arpa):
    latin = tmp_path / "latin.arpa"
    text = arpa.read_text(encoding="utf-8").replace("\tcat", "\tcaté")
    latin.write_bytes(text.encode("latin-1"))
    at = text.encode("latin-1").index("é".encode("latin-1"))
    line = text[: text.index("é")].count("\n") + 1
    for args in (["eval", "--errors", "replace", str(latin)], ["ngram", "next", str(latin), "the"]):
        code, _, err = cli(*args, stdin=b"the cat\n")
        assert code == 1
        message = one_error(err)
        assert f"{latin}:{line}: an ARPA file must be UTF-8 (invalid byte e9 at offset {at})" in message
        assert "iconv -f latin1 -t utf-8" in message
        assert "--errors" not in message


@pytest.mark.parametrize(
    "head,what",
    [
        (b"PK\x03\x04\x14\x00\x08\x08\x08\x00\xff\xfe", "is a neural checkpoint"),
        (b"\x80\x02}q\x00(X\xff\xfe", "is not an n-gram model (a pickle file?"),
    ],
)
@pytest.mark.parametrize("command", [["ngram", "next", "{}", "the"], ["ngram", "convert", "{}", "-O", "{}.tsbin"]])
def test_a_checkpoint_given_for_an_ngram_model_is_named(tmp_path, head, what, command):
    path = tmp_path / "model.pt"
    path.write_bytes(head + bytes(range(256)) * 4)
    code, _, err = cli(*[part.format(path) for part in command])
    assert code == 1
    message = one_error(err)
    assert f"{path}: {what}" in message
    assert "UTF-8" not in message
    assert not (tmp_path / "model.pt.tsbin").exists()


# --- 7. eval on empty text -------------------------------------------------------------------------


def test_eval_json_on_empty_text_is_valid_json_with_nulls(arpa):
    code, out, err = cli("eval", "--json", str(arpa), stdin=b"")
    assert code == 0, err
    report = json.loads(out, parse_constant=lambda name: pytest.fail(f"{name} is not JSON"))
    assert report["tokens"] == 0 and report["perplexity"] is None and report["perplexity_excluding_oovs"] is None


def test_eval_json_of_several_models_on_blank_text_gives_nulls(arpa):
    code, out, _ = cli("eval", "--json", str(arpa), "--also", str(arpa), stdin=b"\n")
    assert code == 0
    reports = json.loads(out, parse_constant=lambda name: pytest.fail(f"{name} is not JSON"))
    assert [r["perplexity"] for r in reports] == [None, None]


def test_eval_table_on_empty_text_says_n_a(arpa):
    code, out, _ = cli("eval", str(arpa), stdin=b"")
    assert code == 0
    rows = dict(line.rsplit(None, 1) for line in out.decode().splitlines())
    assert rows["perplexity"] == "n/a" and rows["perplexity excluding OOVs"] == "n/a" and rows["tokens"] == "0"


def test_perplexity_beyond_a_float_is_inf_not_a_traceback():
    assert perplexity(-400.0 * 3, 3) == math.inf
    assert perplexity(-2.0, 2) == pytest.approx(10.0)
    assert perplexity(0.0, 0) is None


# --- 8. options --------------------------------------------------------------------------------


@pytest.mark.parametrize("prune", [",", "", "0,,1", "-1", "0,x", "0,1.5", "0,١"])
def test_malformed_prune_thresholds_are_a_one_error(tmp_path, prune):
    out = tmp_path / "m.arpa"
    code, _, err = cli("ngram", "build", "-o", "3", "--prune", prune, "-O", str(out), stdin=TEXT.encode())
    assert code == 2
    assert "--prune" in one_error(err)
    assert not out.exists()


def test_prune_thresholds_with_spaces_after_commas_are_read(tmp_path):
    out = tmp_path / "m.arpa"
    code, _, err = cli("ngram", "build", "-o", "3", "--prune", "0, 1, 1", "-O", str(out), stdin=TEXT.encode())
    assert code == 0, err
    assert "--prune 0,1,1" in out.read_text()


def test_a_negative_seed_is_a_one_error(arpa):
    code, _, err = cli("sample", str(arpa), "--seed", "-1")
    assert code == 2
    assert "--seed" in one_error(err)


def test_a_seed_far_beyond_64_bits_is_taken(arpa):
    runs = [cli("sample", str(arpa), "--seed", str(2**200), "-n", "8", "--num-samples", "2") for _ in range(2)]
    assert runs[0][0] == 0, runs[0][2]
    assert runs[0][1] == runs[1][1] and runs[0][1].strip()


def test_ngram_next_reads_its_histories_with_an_error_policy(arpa):
    code, _, err = cli("ngram", "next", str(arpa), "-k", "1", stdin=b"the c\xe9t\n")
    assert code == 1
    assert "set errors to 'replace'" in one_error(err)
    code, out, err = cli("ngram", "next", str(arpa), "-k", "1", "--errors", "replace", stdin=b"the c\xe9t\nsat on\n")
    assert code == 0, err
    assert out.decode().splitlines()[0] == "# the c\ufffdt"
