"""Mutation fuzzing of the n-gram model readers: ARPA (plain and gzip) and textseq's binary
format. A mutated model either opens and then scores text with finite numbers, or fails with
textseq's one-line error; never another exception, a hang, or a runaway allocation."""

from __future__ import annotations

import gzip
import io
import math
import re
import subprocess
import sys
from pathlib import Path
from unittest import mock

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from fuzzing import bounded, check_reader, fuzz_settings, mutations
from helpers import ROOT
from textseq.errors import InputError
from textseq.lm import NgramLM
from textseq.ngram import arpa
from textseq.ngram.arpa import write_arpa
from textseq.ngram.binary import write_binary
from textseq.ngram.classic import WittenBell
from textseq.ngram.corpus import BOS, corpus_from_blocks
from textseq.ngram.counts import count_ngrams
from textseq.ngram.evaluate import evaluate
from textseq.ngram.files import load_model
from textseq.ngram.model import BackoffModel
from textseq.ngram.smoothers import ModifiedKneserNey

SENTENCES = "i grew up in norway .\nthe ferry was late .\nzebra the of\n\nin norway the\n"


def _corpus_text(tokens: int = 300) -> str:
    """A few hundred tokens of the project's own corpus, lowercased, one sentence per line."""
    text = subprocess.run(
        [sys.executable, str(ROOT / "corpora" / "generate.py"), "--seed", "5", "--tokens", str(tokens)],
        capture_output=True,
        check=True,
        text=True,
    ).stdout
    return "".join(" ".join(re.findall(r"[a-z]+|[.,]", line.lower())) + "\n" for line in text.splitlines() if line.strip())


TEXT = _corpus_text()

MODELS = {
    "mkn-o2": (2, ModifiedKneserNey, ()),
    "mkn-o3-pruned": (3, ModifiedKneserNey, (0, 1)),
    "wb-o3": (3, WittenBell, ()),
    "wb-o2-pruned": (2, WittenBell, (0, 1)),
}


def _model(name: str) -> BackoffModel:
    order, smoother, prune = MODELS[name]
    corpus = corpus_from_blocks([TEXT])
    model = smoother().estimate(count_ngrams(corpus, order), prune=prune)
    model.words = corpus.words
    model.smoothing = smoother.__name__
    return model


def _arpa_bytes(model: BackoffModel) -> bytes:
    buffer = io.StringIO()
    write_arpa(model, buffer, comment="fuzzed")
    return buffer.getvalue().encode("utf-8")


def _binary_bytes(model: BackoffModel, folder: Path) -> bytes:
    path = folder / "valid.tsbin"
    write_binary(model, path)
    return path.read_bytes()


ARPA = {name: _arpa_bytes(_model(name)) for name in MODELS}
ARPA_GZ = {name: gzip.compress(data, mtime=0) for name, data in ARPA.items()}


def open_and_score(path: str) -> BackoffModel:
    """Open a model and use it a little: a file that opens but is inconsistent fails here."""
    model = load_model(path)
    report, per_line = evaluate(model, [SENTENCES])
    assert np.isfinite(per_line).all(), per_line
    assert report.perplexity is None or not math.isnan(report.perplexity)
    index = model.word_index
    for history in ([], [BOS], [BOS, index.get("the", 0)], [index.get("in", 0), index.get("norway", 0)]):
        logprob = model.next_logprobs(history)
        assert len(logprob) == model.vocab_size and not np.isnan(logprob).any()
    lm = NgramLM(model)
    step, _ = lm.step(lm.initial_state([index.get("the", 0)]), index.get("ferry", 0))
    assert not np.isnan(step).any()
    return model


@pytest.fixture(scope="module")
def binary_files(tmp_path_factory) -> dict[str, bytes]:
    folder = tmp_path_factory.mktemp("valid")
    return {name: _binary_bytes(_model(name), folder) for name in MODELS}


@pytest.mark.parametrize("name", list(MODELS))
def test_the_valid_files_open(name, binary_files, tmp_path):
    for suffix, data in ((".arpa", ARPA[name]), (".arpa.gz", ARPA_GZ[name]), (".tsbin", binary_files[name])):
        assert check_reader(open_and_score, data, tmp_path, suffix) is not None, suffix


@pytest.mark.parametrize("name", list(MODELS))
@fuzz_settings
@given(data=st.data())
def test_mutated_arpa_files_open_or_fail_cleanly(name, data, tmp_path_factory):
    check_reader(open_and_score, data.draw(mutations(ARPA[name])), tmp_path_factory.mktemp("x"), ".arpa")


@pytest.mark.parametrize("name", list(MODELS))
@fuzz_settings
@given(data=st.data())
def test_mutated_gzipped_arpa_files_open_or_fail_cleanly(name, data, tmp_path_factory):
    check_reader(open_and_score, data.draw(mutations(ARPA_GZ[name])), tmp_path_factory.mktemp("x"), ".arpa.gz")


@pytest.mark.parametrize("name", list(MODELS))
@fuzz_settings
@given(data=st.data())
def test_mutated_binary_files_open_or_fail_cleanly(name, data, binary_files, tmp_path_factory):
    check_reader(open_and_score, data.draw(mutations(binary_files[name])), tmp_path_factory.mktemp("x"), ".tsbin")


def _careful(text: str) -> BackoffModel:
    return arpa._model_from_sections(arpa._read_sections_by_line(text, "fuzzed.arpa"), "fuzzed.arpa")


def _same(a: BackoffModel, b: BackoffModel) -> bool:
    return a.words == b.words and all(
        np.array_equal(x.context, y.context)
        and np.array_equal(x.word, y.word)
        and np.array_equal(x.logprob, y.logprob)
        and np.array_equal(x.backoff, y.backoff)
        for x, y in zip(a.orders, b.orders, strict=True)
    )


@pytest.mark.parametrize("chunk", [arpa._BYTES_PER_CHUNK, 40])
@pytest.mark.parametrize("name", ["mkn-o3-pruned", "wb-o2-pruned"])
@fuzz_settings
@given(data=st.data())
def test_the_fast_arpa_reader_accepts_only_what_the_careful_one_accepts(name, chunk, data):
    """Whatever the fast reader (on bytes) makes of a mutated file, the line-by-line reader (on
    the text) makes too, whether the fast one splits a section at once or a few lines at a time
    (``chunk`` bytes); and a file it accepts is UTF-8."""
    mutated = data.draw(mutations(ARPA[name]))
    with bounded(), mock.patch.object(arpa, "_BYTES_PER_CHUNK", chunk):
        try:
            fast = arpa._read_model_fast(mutated, "fuzzed.arpa")
        except arpa._Irregular:
            return
        try:
            careful = _careful(mutated.decode("utf-8"))
        except (InputError, UnicodeDecodeError) as exc:
            pytest.fail(f"the fast reader accepts what the careful one refuses: {exc}")
    assert _same(fast, careful)


@pytest.mark.parametrize("chunk", [1, 40, 1000])
@pytest.mark.parametrize("name", list(MODELS))
def test_the_fast_reader_reads_a_section_in_chunks_as_it_reads_it_whole(name, chunk):
    data = ARPA[name]
    whole = arpa._read_model_fast(data, "valid.arpa")
    squeezed = re.sub(rb"\n\n(\\[2-9]-grams:|\\end\\)", rb"\n\1", data)  # no blank line between the sections
    assert squeezed.count(b"\n\n") < data.count(b"\n\n")
    with mock.patch.object(arpa, "_BYTES_PER_CHUNK", chunk):
        assert _same(arpa._read_model_fast(data, "valid.arpa"), whole)
        assert _same(arpa._read_model_fast(squeezed, "valid.arpa"), whole)
    assert _same(whole, _careful(data.decode("utf-8")))


VALID = "\\data\\\nngram 1=4\nngram 2=2\n\n\\1-grams:\n-1\t<s>\t-0.5\n-1\t</s>\t0\n-1\tcafé\t-0.3\n-1\tb\t-0.2\n\n\\2-grams:\n-0.5\t<s> café\n-0.4\tcafé b\n\n\\end\\\n"


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("café\t-0.3", "ca\u00a0fé\t-0.3"),  # a no-break space: two words to str.split, one to bytes.split
        ("café b", "café\u00a0b"),
        ("café b", "café\x1cb"),  # an ASCII separator str.split splits at and bytes.split does not
        ("-0.4\t", "-\u0661\t"),  # an Arabic-Indic digit, a number to float() but not in bytes
        ("-1\tb\t", "-1\t\u2028b\t"),  # a line separator
    ],
)
def test_the_fast_reader_leaves_unicode_whitespace_and_digits_to_the_careful_one(old, new):
    assert _same(arpa._read_model_fast(VALID.encode("utf-8"), "x.arpa"), _careful(VALID))  # the file the cases change is regular
    text = VALID.replace(old, new)
    assert text != VALID
    try:
        careful = _careful(text)
    except InputError:
        careful = None
    try:
        fast = arpa._read_model_fast(text.encode("utf-8"), "x.arpa")
    except arpa._Irregular:
        return  # the careful reader decides
    assert careful is not None and _same(fast, careful)
    assert _same(arpa.parse_arpa(text.encode("utf-8"), "x.arpa", lambda: text), careful)
