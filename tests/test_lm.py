"""open_model and the LanguageModel interface over every kind of model file, no command line."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from helpers import cli
from textseq.errors import ParameterError
from textseq.lm import NgramLM, open_model
from textseq.ngram.build import build_model
from textseq.ngram.evaluate import evaluate
from textseq.ngram.files import save_model
from textseq.sampling import SamplingOptions, sample, stream_samples

TEXT = "the cat sat on the mat\nthe dog sat on the log\na cat and a dog\nthe cat ran\n"
TINY = [
    "-c",
    "embedding_size=8",
    "-c",
    "hidden_size=8",
    "-c",
    "layers=1",
    "--batch-size",
    "4",
    "--bptt",
    "16",
    "--max-steps",
    "3",
    "--threads",
    "1",
]


@pytest.fixture(scope="module")
def ngram_files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("ngram")
    model = build_model([TEXT * 3], 3).model
    save_model(model, str(folder / "m.arpa"))
    save_model(model, str(folder / "m.tsbin"), binary=True)
    return folder / "m.arpa", folder / "m.tsbin"


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory):
    pytest.importorskip("torch")
    folder = tmp_path_factory.mktemp("neural")
    (folder / "t.txt").write_text(TEXT * 20)
    paths = {}
    for level in ("char", "word"):
        paths[level] = folder / f"{level}.pt"
        code, _, err = cli("train", "-q", "--level", level, *TINY, "-O", str(paths[level]), str(folder / "t.txt"))
        assert code == 0, err
    return paths


def test_an_ngram_file_opens_as_an_ngram_lm_arpa_or_binary(ngram_files):
    arpa, binary = ngram_files
    for path in (arpa, binary):
        lm = open_model(str(path))
        assert isinstance(lm, NgramLM)
        assert lm.scores_are_probabilities and lm.kind == "modified-kneser-ney"
        report, per_line = lm.evaluate([TEXT])
        expected, expected_lines = evaluate(lm.model, [TEXT])
        assert report == expected.as_dict() and np.array_equal(per_line, expected_lines)


def test_ngram_samples_are_words_separated_by_spaces_after_the_prime_as_printed(ngram_files):
    lm = open_model(str(ngram_files[0]))
    options = SamplingOptions(max_tokens=8)
    prime = lm.encode_prime("  the   cat ")
    assert prime == [lm.model.word_index["the"], lm.model.word_index["cat"]]
    assert lm.encode_prime("zebra") == [0]  # <unk>
    text = "".join(stream_samples(lm, "  the   cat ", options, samples=3, seed=4))
    rng = np.random.default_rng(4)
    expected = "".join(" ".join(["the", "cat", *(lm.words[t] for t in sample(lm, prime, options, rng))]) + "\n" for _ in range(3))
    assert text == expected
    stopped = "".join(stream_samples(lm, "the", options, samples=5, seed=1, stop="cat"))
    assert all(line.endswith("cat") or len(line.split()) <= 9 for line in stopped.splitlines())
    beams = "".join(stream_samples(lm, "the", options, samples=2, beam=3)).splitlines()
    assert len(beams) == 2 and all(line.startswith("the ") for line in beams)


def test_opening_an_ngram_model_never_imports_torch(ngram_files):
    script = (
        "import sys\nfrom textseq.lm import open_model\n"
        f"lm = open_model({str(ngram_files[0])!r}, device='no such device')\nlm.evaluate(['the cat\\n'])\n"
        "print('torch' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"


def test_a_checkpoint_opens_as_a_neural_lm(checkpoints):
    from textseq.neural.loading import NeuralLM

    for level, path in checkpoints.items():
        lm = open_model(str(path), "cpu", threads=1)
        assert isinstance(lm, NeuralLM) and lm.kind == "lstm" and lm.scores_are_probabilities
        report, per_line = lm.evaluate([TEXT])
        assert report["level"] == level and report["tokens"] > 0 and report["sentences"] == 4
        assert len(per_line) == 4 and np.isclose(per_line.sum(), report["log10_prob"])
        assert ("bits_per_character" in report) is (level == "char")


def test_checkpoint_samples_print_as_their_level_does(checkpoints):
    options = SamplingOptions(max_tokens=30)
    char = open_model(str(checkpoints["char"]), threads=1)
    text = "".join(stream_samples(char, "the c", options, seed=1))
    drawn = list(sample(char, char.encode_prime("the c"), options, np.random.default_rng(1)))
    assert text.rstrip("\n") == "the c" + "".join(char.codec.piece(t) for t in drawn).rstrip("\n")
    word = open_model(str(checkpoints["word"]), threads=1)
    text = "".join(stream_samples(word, "the", options, samples=2, seed=2))
    rng = np.random.default_rng(2)
    prime = word.encode_prime("the")
    expected = "".join(" ".join(["the", *(word.codec.piece(t) for t in sample(word, prime, options, rng))]) + "\n" for _ in range(2))
    assert text == expected


def test_a_device_this_machine_lacks_is_a_parameter_error_naming_device(checkpoints):
    for name in ("nope", "cuda:99"):
        with pytest.raises(ParameterError) as info:
            open_model(str(checkpoints["char"]), name)
        assert info.value.parameter == "device"
