"""Mutation fuzzing of the word-vector readers and the evaluation-file readers: a mutated valid
file opens (and a query on what it opened works) or fails with one InputError line, within
bounded time and memory."""

from __future__ import annotations

import io

import numpy as np
import pytest
from hypothesis import given

from fuzzing import check_reader, fuzz_settings, mutations
from textseq.embed.evaluate import evaluate_analogies, evaluate_pairs
from textseq.embed.io import load_vectors, write_vectors
from textseq.embed.vectors import Vectors

WORDS = [
    "the",
    "of",
    "and",
    "king",
    "queen",
    "man",
    "woman",
    "prince",
    "apple",
    "pear",
    "paris",
    "france",
    "rome",
    "italy",
    "berlin",
    "germany",
    "café",
    "naïve",
    "big",
    "bigger",
    "small",
    "smaller",
    "run",
    "running",
    "walk",
    "walking",
    "dog",
    "dogs",
    "cat",
    "cats",
    "one",
    "two",
]


def _vectors(dim: int) -> Vectors:
    rng = np.random.default_rng(dim)
    return Vectors(WORDS, rng.standard_normal((len(WORDS), dim)).astype(np.float32))


def _word2vec(dim: int, binary: bool) -> bytes:
    out = io.BytesIO()
    write_vectors(_vectors(dim), out, binary=binary, precision=6)
    return out.getvalue()


WORD2VEC_TEXT = _word2vec(6, binary=False)
WORD2VEC_BINARY = _word2vec(5, binary=True)
GLOVE_TEXT = WORD2VEC_TEXT.split(b"\n", 1)[1]
_FASTTEXT_HEADER, _FASTTEXT_BODY = _word2vec(4, binary=False).split(b"\n", 1)
FASTTEXT_VEC = _FASTTEXT_HEADER + b"\n" + _FASTTEXT_BODY.replace(b"\n", b" \n")
"""fastText's .vec: word2vec text with a space after every vector."""

PAIRS = (
    b"# word pairs with human scores\n# Word 1\tWord 2\tHuman (mean)\n"
    b"king\tqueen\t8.5\nman\twoman\t8.3\nking\tapple\t0.9\nparis\tfrance\t7.2\nbig\tbigger\t7.9\ndog\tcat\t6.1\n"
    b"run\twalk\t5.5\none\ttwo\t6.0\nunicorn\tdragon\t6.4\n"
)
ANALOGIES = (
    b": capital-common-countries\nparis france rome italy\nberlin germany paris france\nrome italy berlin germany\n"
    b": family\nking queen man woman\nprince queen king woman\n"
    b": gram3-comparative\nbig bigger small smaller\nsmall smaller big bigger\n"
    b": gram9-plural-verbs\nrun running walk walking\ndog dogs cat cats\nunicorn unicorns dragon dragons\n"
)
EVALUATED = _vectors(8)


def _query(vectors: Vectors) -> Vectors:
    """What a user does next: neighbors, a similarity, an analogy."""
    if len(vectors):
        first, last = vectors.words[0], vectors.words[-1]
        vectors.neighbors(first, 5)
        vectors.similarity(first, last)
        vectors.analogy(first, last, vectors.words[len(vectors) // 2], 3)
        vectors.analogy(first, last, vectors.words[len(vectors) // 2], 3, cosmul=True)
    return vectors


def _open_vectors(format: str = "auto"):
    return lambda path: _query(load_vectors(path, format=format))


def _open_pairs(path: str) -> object:
    return evaluate_pairs(EVALUATED, path).as_dict()


def _open_analogies(path: str) -> object:
    result = evaluate_analogies(EVALUATED, path)
    return result.as_dict()


def test_valid_files_open(tmp_path):
    def write(name: str, data: bytes) -> str:
        (tmp_path / name).write_bytes(data)
        return str(tmp_path / name)

    assert len(_open_vectors()(write("v.vec", WORD2VEC_TEXT))) == len(WORDS)
    assert len(_open_vectors()(write("v.bin", WORD2VEC_BINARY))) == len(WORDS)
    assert _open_vectors()(write("g.txt", GLOVE_TEXT)).dim == 6
    assert _open_vectors()(write("f.vec", FASTTEXT_VEC)).dim == 4
    assert FASTTEXT_VEC.splitlines()[1].endswith(b" ")
    assert _open_pairs(write("p.tsv", PAIRS))["pairs"] == 8
    assert _open_analogies(write("q.txt", ANALOGIES))["questions"] == 10


READERS = {
    "word2vec text": (WORD2VEC_TEXT, _open_vectors(), ".vec"),
    "word2vec text, told the format": (WORD2VEC_TEXT, _open_vectors("word2vec"), ".vec"),
    "word2vec binary": (WORD2VEC_BINARY, _open_vectors(), ".bin"),
    "word2vec binary, told the format": (WORD2VEC_BINARY, _open_vectors("word2vec-binary"), ".bin"),
    "glove text": (GLOVE_TEXT, _open_vectors(), ".txt"),
    "fasttext vec": (FASTTEXT_VEC, _open_vectors(), ".vec"),
    "pairs": (PAIRS, _open_pairs, ".tsv"),
    "analogies": (ANALOGIES, _open_analogies, ".txt"),
}
"""Each reader by name: (a valid file, how to open and use it, its file name's suffix)."""


@pytest.mark.parametrize("reader", sorted(READERS))
def test_mutated_files_open_or_fail_cleanly(reader, tmp_path_factory):
    valid, open_file, suffix = READERS[reader]

    @fuzz_settings
    @given(data=mutations(valid))
    def fuzz(data):
        check_reader(open_file, data, tmp_path_factory.mktemp("fuzzed"), suffix)

    fuzz()
