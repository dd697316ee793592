"""Mutation fuzzing of the labelled-line reader, as ``classify train`` and ``test`` read a file: a
mutated valid file gives valid examples or textseq's one-line error, never another exception."""

from __future__ import annotations

import pytest
from hypothesis import given

from fuzzing import check_reader, fuzz_settings, mutations
from textseq.classify.data import FASTTEXT_SPACE, LabelledLine, LabelSet, read_labelled
from textseq.streams import iter_lines, open_input

FASTTEXT = (
    "__label__pos a fine film , well acted\n"
    "__label__neg dull\tand far too long\r\n"
    "\n"
    "the plot __label__neg __label__boring never moves\n"
    "__label__café naïve 東京 — 12 stars\n"
    "__label__pos __label__pos 7 out of 10\n"
).encode()
TSV = "pos\ta fine film , well acted\nneg\tdull\tand far too long\r\n\ncafé\tnaïve 東京 — 12 stars\nsci-fi,drama\tfar out\n".encode()

READERS = {
    "fasttext": (FASTTEXT, {"format": "fasttext"}, 5),
    "fasttext-unlabelled": (FASTTEXT, {"format": "fasttext", "require_labels": False}, 5),
    "tsv": (TSV, {"format": "tsv"}, 4),
    "tsv-unlabelled": (TSV, {"format": "tsv", "require_labels": False}, 4),
}


def _reader(options: dict[str, object]):
    def read(path: str) -> list[LabelledLine]:
        source = open_input(path)
        try:
            examples = list(read_labelled(iter_lines(source), source=source.name, **options))
        finally:
            source.close()
        for example in examples:
            _check(example, bool(options.get("require_labels", True)))
        LabelSet.from_examples(examples)
        return examples

    return read


def _check(example: LabelledLine, labelled: bool) -> None:
    """What every example promises: labels that are distinct non-empty tokens, and text made of
    tokens joined by single spaces."""
    assert not labelled or example.labels
    assert len(set(example.labels)) == len(example.labels)
    assert all(label and not any(char in FASTTEXT_SPACE for char in label) for label in example.labels)
    assert not any(char in FASTTEXT_SPACE[1:] for char in example.text)
    assert example.text == " ".join(filter(None, example.text.split(" ")))
    assert example.line >= 1


@pytest.mark.parametrize("name", READERS)
def test_valid_files_read(name, tmp_path):
    data, options, count = READERS[name]
    examples = check_reader(_reader(options), data, tmp_path, ".txt")
    assert isinstance(examples, list) and len(examples) == count


@pytest.mark.parametrize("name", READERS)
def test_mutated_files_read_or_fail_cleanly(name, tmp_path_factory):
    data, options, _ = READERS[name]

    @fuzz_settings
    @given(data=mutations(data))
    def run(data):
        check_reader(_reader(options), data, tmp_path_factory.mktemp("fuzzed"), ".txt")

    run()
