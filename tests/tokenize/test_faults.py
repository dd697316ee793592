"""Faults in the tokenizers and the tokenize / detokenize / vocab commands: each ends with one
clear line and the right exit code, never a traceback; round trips that the README calls exact
are exact to the byte."""

from __future__ import annotations

import json
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from helpers import SUBPROCESS_ENV, cli, one_error
from textseq.cli.tokenize import keeping_a_missing_final_newline
from textseq.errors import InputError
from textseq.streams import read_text_blocks
from textseq.tokenize.base import tokenize_blocks
from textseq.tokenize.spm import (
    SpmTokenizer,
    check_sampling,
    model_type_of,
    required_characters,
    sentencepiece_reason,
    split_long_line,
    train_spm,
)
from textseq.tokenize.word import WordTokenizer

WORDS = [
    "the",
    "a",
    "cat",
    "dog",
    "sat",
    "ran",
    "on",
    "under",
    "mat",
    "log",
    "and",
    "then",
    "quietly",
    "loudly",
    "red",
    "green",
    "blue",
    "house",
    "tree",
    "river",
    "garden",
    "window",
    "morning",
    "evening",
    "yellow",
    "purple",
    "kitchen",
    "mountain",
    "village",
    "orchard",
    "whisper",
    "thunder",
    "lantern",
    "harbour",
    "sailor",
    "market",
    "bridge",
    "meadow",
    "pebble",
    "sparrow",
    "willow",
    "velvet",
    "copper",
    "silver",
    "basket",
    "candle",
]


def sentences(count: int = 300, seed: int = 0) -> list[str]:
    rng = random.Random(seed)
    return [" ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 9))) + " ." for _ in range(count)]


@pytest.fixture(scope="module")
def models(tmp_path_factory) -> dict[str, Path]:
    """Tiny models of each type (no byte fallback, 60 pieces) trained on the same text."""
    folder = tmp_path_factory.mktemp("spm")
    made = {}
    for kind in ("unigram", "bpe", "char", "word"):
        made[kind] = folder / f"{kind}.model"
        train_spm(sentences(), made[kind], vocab_size=60, model_type=kind, byte_fallback=False)
    return made


# --- 1. --sample, --nbest and --ids out of range -------------------------------------------------


@pytest.mark.parametrize(
    "kind,alpha,says",
    [
        ("unigram", "-1", "not in the range"),
        ("bpe", "-0.5", "not in the range"),
        ("bpe", "1.5", "probability of dropping a merge, from 0 to 1"),
        ("unigram", "1e300", "too large"),
        ("char", "0.1", "only with unigram and bpe models; this is a char model"),
        ("word", "0.1", "this is a word model"),
    ],
)
def test_sample_out_of_range_for_the_model_is_a_one_error(models, kind, alpha, says):
    code, out, err = cli("tokenize", "--spm", str(models[kind]), "--sample", alpha, stdin=b"the cat sat\n")
    assert code == 2
    assert out == b""
    assert says in one_error(err)


@pytest.mark.parametrize(
    "kind,alpha", [("unigram", "0"), ("unigram", "0.3"), ("unigram", "50"), ("bpe", "0"), ("bpe", "0.5"), ("bpe", "1")]
)
def test_sample_in_range_works_and_round_trips(models, kind, alpha):
    text = b"the cat sat on the mat .\n" * 5
    code, out, err = cli("tokenize", "--spm", str(models[kind]), "--sample", alpha, stdin=text)
    assert code == 0, err
    assert cli("detokenize", "--spm", str(models[kind]), stdin=out)[1] == text


@pytest.mark.parametrize(
    "kind,options,says",
    [
        ("unigram", ["--sample", "0.1", "--nbest", "0"], "nbest 0 is out of range"),
        ("unigram", ["--sample", "0.1", "--nbest", "1"], "nbest 1 is out of range"),
        ("unigram", ["--sample", "0.1", "--nbest", "-2"], "nbest -2 is out of range"),
        ("unigram", ["--sample", "0.1", "--nbest", "513"], "2 to 512"),
        ("bpe", ["--sample", "0.1", "--nbest", "5"], "does not apply to a bpe model"),
        ("unigram", ["--nbest", "5"], "nbest works only with sampling (alpha)"),
    ],
)
def test_nbest_out_of_range_is_a_one_error(models, kind, options, says):
    code, _out, err = cli("tokenize", "--spm", str(models[kind]), *options, stdin=b"the cat sat\n")
    assert code == 2
    assert says in one_error(err)


def test_nbest_without_spm_is_a_one_error():
    code, _, err = cli("tokenize", "--nbest", "3", stdin=b"a b\n")
    assert code == 2
    assert "--nbest works only with the spm tokenizer" in one_error(err)


@pytest.mark.parametrize("nbest", ["2", "512", "-1"])
def test_nbest_in_range_samples(models, nbest):
    code, out, err = cli("tokenize", "--spm", str(models["unigram"]), "--sample", "0.5", "--nbest", nbest, stdin=b"the red house\n")
    assert code == 0, err
    assert out.decode().replace(" ", "").replace("\u2581", " ").strip() == "the red house"


@pytest.mark.parametrize(
    "token,says",
    [
        ("60", "piece id 60 is out of range: the model has 60 pieces (ids 0 to 59)"),
        ("99999999999999999999", "piece id 99999999999999999999 is out of range"),
        ("-1", "every token must be a piece id (a whole number from 0 to 59), not '-1'"),
        ("x", "not 'x'"),
        ("3.5", "not '3.5'"),
        ("+5", "not '+5'"),
        ("\u0663", "not '\u0663'"),  # an Arabic-Indic digit, which int() would take
    ],
)
def test_detokenize_ids_that_are_no_piece_ids_are_data_errors_at_their_line(models, tmp_path, token, says):
    model = str(models["unigram"])
    code, _out, err = cli("detokenize", "--spm", model, "--ids", stdin=f"5 6\n7 {token} 8\n".encode())
    assert code == 1
    assert one_error(err).startswith("textseq: error: <stdin>:2: ") and says in err
    path = tmp_path / "ids.txt"
    path.write_text(f"{token}\n")
    code, _, err = cli("detokenize", "--spm", model, "--ids", str(path))
    assert code == 1
    assert one_error(err).startswith(f"textseq: error: {path}:1: ") and says in err


def test_detokenize_ids_in_range_decode(models):
    model = str(models["unigram"])
    _, ids, _ = cli("tokenize", "--spm", model, "--ids", stdin=b"the cat .\n")
    code, out, err = cli("detokenize", "--spm", model, "--ids", stdin=ids)
    assert (code, out) == (0, b"the cat .\n"), err


def test_a_file_that_is_not_a_model_is_one_line_naming_it_once(tmp_path):
    path = tmp_path / "fake.model"
    path.write_text("hello")
    code, _, err = cli("tokenize", "--spm", str(path), stdin=b"x\n")
    assert code == 1
    assert one_error(err) == f"textseq: error: {path}: not a sentencepiece model (could not parse ModelProto)"


def test_check_sampling_refuses_nan_and_infinity_from_library_callers():
    for alpha in (float("nan"), float("inf"), -1e-9):
        with pytest.raises(ValueError, match="out of range"):
            check_sampling("unigram", alpha, -1)


def test_model_type_is_read_from_the_model(models):
    for kind, path in models.items():
        assert model_type_of(path.read_bytes()) == kind
    assert model_type_of(b"\x12\x03\x18") is None  # a truncated trainer_spec
    assert model_type_of(b"") == "unigram"  # the field's default


# --- 2. the trainer's errors, in one plain line ------------------------------------------------


@pytest.mark.parametrize("byte_fallback", [True, False])
def test_tiny_vocab_size_says_how_many_pieces_the_text_needs(tmp_path, byte_fallback):
    flag = [] if byte_fallback else ["--no-byte-fallback"]
    text = "\n".join(sentences()).encode()
    code, _, err = cli("tokenize", "train-spm", "-O", str(tmp_path / "m.model"), "--vocab-size", "2", *flag, stdin=text)
    assert code == 1
    line = one_error(err)
    assert "INTERNAL" not in line and ".cc(" not in line
    needed = len(set("".join(sentences()).replace(" ", "\u2581"))) + 3 + (256 if byte_fallback else 0)
    assert f"vocab_size 2 is too small: this text needs at least {needed} (" in line
    assert ("byte_fallback" in line) == byte_fallback
    assert not (tmp_path / "m.model").exists()
    # sentencepiece's own count, for a size above its special pieces, is the same
    code, _, err = cli("tokenize", "train-spm", "-O", str(tmp_path / "m.model"), "--vocab-size", "10", *flag, stdin=text)
    assert code == 1
    assert f"vocab_size 10 is too small: this text needs at least {needed} (" in one_error(err)


def test_tiny_vocab_size_for_char_and_word_models_counts_the_special_pieces(tmp_path):
    code, _, err = cli(
        "tokenize",
        "train-spm",
        "-O",
        str(tmp_path / "m.model"),
        "--model-type",
        "char",
        "--vocab-size",
        "4",
        "--user-symbols",
        "xy,zw",
        stdin=b"some text\n" * 20,
    )
    assert code == 1
    assert one_error(err).endswith("vocab_size 4 is too small: this text needs at least 5 (3 special pieces and 2 user symbols)")


def test_required_characters_counts_as_sentencepiece_does():
    assert required_characters(["ab a", "b"], 1.0) == 3  # a, b and ▁
    assert required_characters([], 1.0) == 0
    lines = ["a" * 9999 + "b"]  # b and the ▁ before the line are 2 in 10,001 characters: under 0.9995 coverage, no pieces
    assert required_characters(lines, 0.9995) == 1


@pytest.mark.parametrize(
    "raw,reason",
    [
        (
            "INTERNAL: src/trainer_interface.cc(829) [insert_id(trainer_spec_.eos_id(), trainer_spec_.eos_piece())] ",
            "an internal check failed: insert_id(trainer_spec_.eos_id(), trainer_spec_.eos_piece())",
        ),
        ("NOT_FOUND: No precompiled charsmap is found: bogus", "No precompiled charsmap is found: bogus"),
        (
            "INTERNAL: src/sentencepiece_processor.cc(456) [(nbest_size) <= (kMaxNBestSize)] nbest_size must be\n nbest_size <= 512",
            "nbest_size must be nbest_size <= 512",
        ),
        ("plain words", "plain words"),
        ("", "RuntimeError"),
    ],
)
def test_sentencepiece_reason_is_one_line_without_its_cpp_file(raw, reason):
    assert sentencepiece_reason(RuntimeError(raw)) == reason


def test_sentencepiece_reason_of_a_message_that_is_not_utf8():
    exc = UnicodeDecodeError("utf-8", b"INTERNAL: \xe2\x16\x81to is already defined.", 10, 11, "invalid continuation byte")
    assert sentencepiece_reason(exc) == "\ufffd\x16\ufffdto is already defined."


def test_any_trainer_failure_is_one_input_error_without_cpp_noise(tmp_path):
    with pytest.raises(InputError) as caught:
        train_spm(sentences(), tmp_path / "m.model", vocab_size=100, byte_fallback=False, character_coverage=0.5)
    message = str(caught.value)
    assert message.startswith("sentencepiece training failed: an internal check failed: ")
    assert ".cc(" not in message and "INTERNAL" not in message and "\n" not in message


@pytest.mark.parametrize(
    "option,value,says",
    [
        ("--character-coverage", "0.5", "0.98<=x<=1.0"),
        ("--normalization", "bogus", "'bogus' is not one of"),
        ("--max-sentence-length", "0", "x>=1"),
    ],
)
def test_training_options_sentencepiece_refuses_are_usage_errors(tmp_path, option, value, says):
    code, _, err = cli("tokenize", "train-spm", "-O", str(tmp_path / "m.model"), option, value, stdin=b"some text\n")
    assert code == 2
    assert says in one_error(err)


# --- 3. long lines: split for training, not skipped -------------------------------------------


def test_a_long_single_line_is_split_and_trained_on(tmp_path):
    words = ["zebra", "quokka", "axolotl", "pangolin", "narwhal"]
    rng = random.Random(1)
    long_line = " ".join(rng.choice(words) for _ in range(40_000))  # about 280 KB, one line
    model = tmp_path / "m.model"
    code, _, err = cli(
        "tokenize",
        "train-spm",
        "-O",
        str(model),
        "--vocab-size",
        "60",
        "--no-byte-fallback",
        "--model-type",
        "bpe",
        stdin=long_line.encode(),
    )
    assert code == 0, err
    assert "warning: split 1 line longer than 4,192 bytes at spaces to train on them (--max-sentence-length raises the limit)" in err
    pieces = cli("tokenize", "--spm", str(model), stdin=b"zebra axolotl\n")[1].decode().split()
    assert pieces == ["\u2581zebra", "\u2581axolotl"]  # learned from the long line, the only text there is


def test_max_sentence_length_raises_the_limit(tmp_path):
    text = ("word " * 2000 + "\n").encode() + b"short line\n" * 10  # a 10,000-byte line
    code, _, err = cli(
        "tokenize",
        "train-spm",
        "-O",
        str(tmp_path / "m.model"),
        "--vocab-size",
        "30",
        "--no-byte-fallback",
        "--max-sentence-length",
        "20000",
        stdin=text,
    )
    assert code == 0, err
    assert "split" not in err


def test_lines_sentencepiece_skips_for_its_reserved_character_are_counted(tmp_path):
    text = "\n".join(sentences(100) + ["a \u2585 b"] * 3).encode()
    code, _, err = cli("tokenize", "train-spm", "-O", str(tmp_path / "m.model"), "--vocab-size", "60", "--no-byte-fallback", stdin=text)
    assert code == 0, err
    assert "warning: sentencepiece skipped 3 lines holding \u2585 (U+2585), a character it reserves" in err


@pytest.mark.parametrize(
    "line,limit,pieces",
    [
        ("aaa bbb ccc", 7, ["aaa bbb", "ccc"]),
        ("aaa bbb ccc", 3, ["aaa", "bbb", "ccc"]),
        ("abcdefgh", 3, ["abc", "def", "gh"]),
        ("ééé", 3, ["é", "é", "é"]),  # two bytes each: never half a character
        ("中文字", 2, ["中", "文", "字"]),  # a limit below one character's bytes keeps the character whole
        ("a   b", 2, ["a ", " b"]),  # a cut at the last space that fits: one space goes
        ("a       b", 2, ["a ", "b"]),  # pieces of spaces alone are left out
    ],
)
def test_split_long_line(line, limit, pieces):
    assert split_long_line(line, limit) == pieces


@settings(max_examples=300, deadline=None)
@given(st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\n"), max_size=200), st.integers(4, 40))
def test_split_long_line_keeps_every_character_in_pieces_under_the_limit(line, limit):
    pieces = split_long_line(line, limit)
    assert all(len(piece.encode()) <= limit and piece.strip() for piece in pieces)
    assert "".join("".join(piece.split()) for piece in pieces) == "".join(line.split())


# --- 4. stdin is <stdin>; each file has its own line numbers -----------------------------------


def test_detokenize_names_stdin_as_every_command_does():
    code, _, err = cli("detokenize", "-t", "char", stdin=b"a b\nab c\n")
    assert code == 1
    assert one_error(err) == "textseq: error: <stdin>:2: not a char token: 'ab'"


def test_detokenize_names_the_file_and_its_own_line(tmp_path):
    good, bad = tmp_path / "good.tok", tmp_path / "bad.tok"
    good.write_text("a b\nc d\ne\n")
    bad.write_text("x\nyz\n")
    code, _out, err = cli("detokenize", "-t", "char", str(good), str(bad))
    assert code == 1
    assert one_error(err) == f"textseq: error: {bad}:2: not a char token: 'yz'"
    code, _out, err = cli("detokenize", "-t", "char", str(good), "-", stdin=b"pq\n")
    assert one_error(err) == "textseq: error: <stdin>:1: not a char token: 'pq'"


# --- 5. the char (and spm) round trip is exact without a final newline -------------------------


@pytest.mark.parametrize("text", ["ab", "ab\ncd", "a b\t\n\nlast", "", "\n", "x\n", "\n\n", "  ", "tail \u2581 "])
def test_char_round_trip_is_exact_with_or_without_a_final_newline(text):
    data = text.encode()
    code, tokens, err = cli("tokenize", "-t", "char", stdin=data)
    assert code == 0, err
    assert tokens.endswith(b"\n") == data.endswith(b"\n")
    code, back, err = cli("detokenize", "-t", "char", stdin=tokens)
    assert (code, back) == (0, data), err


def test_char_tokens_of_a_line_without_newline_end_without_one():
    assert cli("tokenize", "-t", "char", stdin=b"ab")[1] == b"a b"
    assert cli("tokenize", "-t", "char", stdin=b"ab\n")[1] == b"a b\n"


def test_spm_round_trip_is_exact_without_a_final_newline(models):
    for options in (["--spm", str(models["unigram"])], ["--spm", str(models["bpe"]), "--ids"]):
        text = b"the cat sat .\nthe dog ran"
        _, tokens, _ = cli("tokenize", *options, stdin=text)
        assert not tokens.endswith(b"\n")
        assert cli("detokenize", *options, stdin=tokens)[1] == text


def test_word_tokenizer_still_ends_every_line_and_detokenize_follows_its_input():
    assert cli("tokenize", stdin=b"Hello, world")[1] == b"Hello , world\n"
    assert cli("detokenize", stdin=b"Hello , world")[1] == b"Hello, world"
    assert cli("detokenize", stdin=b"Hello , world\n")[1] == b"Hello, world\n"


def test_char_round_trip_over_files_without_final_newlines(tmp_path):
    first, second = tmp_path / "a.txt", tmp_path / "b.txt"
    first.write_bytes(b"ab")
    second.write_bytes(b"cd")
    code, tokens, err = cli("tokenize", "-t", "char", str(first), str(second))
    assert (code, tokens) == (0, b"a b\nc d"), err  # files joined as always (each but the last line completed)
    assert cli("detokenize", "-t", "char", stdin=tokens)[1] == b"ab\ncd"
    first.write_bytes(b"a b")
    second.write_bytes(b"c d")
    assert cli("detokenize", "-t", "char", str(first), str(second))[1] == b"ab\ncd"  # no newline after the last file


@settings(max_examples=100, deadline=None)
@given(st.lists(st.text(st.sampled_from("ab \n"), max_size=12), min_size=1, max_size=4))
def test_keeping_a_missing_final_newline_completes_every_line_but_the_very_last(tmp_path_factory, contents):
    folder = tmp_path_factory.mktemp("inputs")
    paths = []
    for i, content in enumerate(contents):
        path = folder / f"{i}.txt"
        path.write_bytes(content.encode())
        paths.append(str(path))
    expected = "".join(c + ("\n" if c and not c.endswith("\n") else "") for c in contents)
    last = next((c for c in reversed(contents) if c), "")
    if last and not last.endswith("\n"):  # the very last line of all keeps its missing newline
        expected = expected[:-1]
    assert "".join(keeping_a_missing_final_newline(read_text_blocks(paths))) == expected


# --- 6. empty input; word tokens are never empty and never hold whitespace ---------------------


@pytest.mark.parametrize("content", [b"", b"\n\n\n"])
def test_vocab_and_tokenize_of_an_empty_file(tmp_path, content):
    path = tmp_path / "empty.txt"
    path.write_bytes(content)
    code, out, err = cli("vocab", str(path))
    assert (code, out) == (0, b""), err
    assert "types       0" in err and "tokens      0" in err
    code, out, err = cli("vocab", "--json", "-q", str(path))
    assert code == 0 and err == ""
    assert json.loads(out)["tokens"] == {} and json.loads(out)["summary"]["tokens"] == 0
    for tokenizer in ("word", "char", "whitespace"):
        code, out, err = cli("tokenize", "-t", tokenizer, str(path))
        assert (code, out, err) == (0, content, ""), tokenizer


def test_tokenize_spm_and_train_spm_of_an_empty_file(models, tmp_path):
    path = tmp_path / "empty.txt"
    path.write_bytes(b"")
    assert cli("tokenize", "--spm", str(models["unigram"]), str(path))[:2] == (0, b"")
    code, _, err = cli("tokenize", "train-spm", "-O", str(tmp_path / "m.model"), str(path))
    assert code == 1
    assert one_error(err) == "textseq: error: no text to train on (the input is empty)"
    code, _, err = cli("tokenize", "train-spm", "-O", str(tmp_path / "m.model"), "--vocab-size", "2", str(path))
    assert one_error(err) == "textseq: error: no text to train on (the input is empty)"


any_text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=120)


@settings(max_examples=400, deadline=None)
@given(any_text, st.booleans(), st.sampled_from(["nfc", "nfkc", "none"]))
def test_word_tokens_are_never_empty_and_never_hold_whitespace(text, lower, form):
    block = "".join(tokenize_blocks([text], WordTokenizer(), lower=lower, normalize=form))
    assert block.count("\n") == text.count("\n")
    for line in block.split("\n"):
        if line:
            tokens = line.split(" ")
            assert all(token and not any(c.isspace() for c in token) for token in tokens), tokens
            assert line.split() == tokens  # str.split (what vocab and the n-gram commands use) agrees


def test_spm_tokens_never_hold_whitespace(models):
    tok = SpmTokenizer(models["unigram"])
    tokens = tok.tokenize("the\tcat\u3000sat\u2028on\x0bthe mat")
    assert all(token and not any(c.isspace() for c in token) for token in tokens), tokens


@pytest.mark.parametrize(("signum", "status"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_ends_spm_training_at_once_even_inside_its_cpp_code(tmp_path, signum, status):
    """The trainer is replaced by compiled code that holds no GIL and does not return to Python for
    about a minute, as sentencepiece's C++ training does on a large corpus."""
    script = tmp_path / "slow_trainer.py"
    script.write_text(
        "import sys, time\n"
        "import numba, sentencepiece\n"
        "@numba.njit(nogil=True, cache=False)\n"
        "def spin(seconds):\n"
        "    end = seconds * 1e9\n"
        "    x = 0.0\n"
        "    i = 0\n"
        "    while i < end:\n"
        "        x += i * 1e-9\n"
        "        i += 1\n"
        "    return x\n"
        "spin(1e-6)\n"
        "def train(sentence_iterator, model_writer, **options):\n"
        "    list(sentence_iterator)\n"
        "    print('training', flush=True)\n"
        "    spin(60.0)\n"
        "sentencepiece.SentencePieceTrainer.train = train\n"
        "from textseq.cli import main\n"
        "sys.argv = ['textseq'] + sys.argv[1:]\n"
        "main()\n"
    )
    text = tmp_path / "text.txt"
    text.write_text("the cat sat on the mat\n" * 50)
    process = subprocess.Popen(
        [sys.executable, str(script), "tokenize", "train-spm", "--vocab-size", "400", "-O", str(tmp_path / "m.model"), str(text)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=SUBPROCESS_ENV,
    )
    assert process.stdout.readline() == b"training\n"
    time.sleep(0.3)
    process.send_signal(signum)
    started = time.monotonic()
    try:
        _, err = process.communicate(timeout=10)
    finally:
        process.kill()
    assert process.returncode == status, err
    assert time.monotonic() - started < 5
    assert err == b""
    assert sorted(path.name for path in tmp_path.iterdir()) == ["slow_trainer.py", "text.txt"]
