"""Labelled lines: the fastText and tsv formats, label sets and the stratified hold-out."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from helpers import require_shared
from textseq.classify.data import LabelledLine, LabelSet, fasttext_tokens, read_labelled, stratified_split
from textseq.errors import InputError, ParameterError
from textseq.streams import iter_lines, open_input


def _read(text: str, **options) -> list[LabelledLine]:
    return list(read_labelled(text.split("\n"), **options))


def _error(text: str, **options) -> str:
    with pytest.raises(InputError) as caught:
        _read(text, **options)
    return str(caught.value)


def test_fasttext_lines():
    examples = _read("__label__pos a fine  film\n__label__neg\tdull , long\n")
    assert examples == [LabelledLine(("pos",), "a fine film", 1), LabelledLine(("neg",), "dull , long", 2)]


def test_a_label_anywhere_on_the_line_as_fasttext_takes_it():
    assert _read("a fine __label__pos film __label__good") == [LabelledLine(("pos", "good"), "a fine film", 1)]


def test_multi_label_keeps_order_and_counts_a_repeat_once():
    [example] = _read("__label__b __label__a text __label__b")
    assert example.labels == ("b", "a")


def test_a_custom_prefix():
    [example] = _read("#topic=sport goals __label__x", label_prefix="#topic=")
    assert example == LabelledLine(("sport",), "goals __label__x", 1)


def test_blank_lines_are_skipped_and_numbers_stay_the_file_lines():
    examples = _read("\n__label__a x\n  \t \r\n__label__b y\n")
    assert [(e.labels, e.line) for e in examples] == [(("a",), 2), (("b",), 4)]


def test_crlf_and_lines_with_their_newline():
    assert _read("__label__a one two\r\n__label__b three\r") == [LabelledLine(("a",), "one two", 1), LabelledLine(("b",), "three", 2)]
    assert list(read_labelled(["__label__a x\n", "__label__b y\n"])) == [LabelledLine(("a",), "x", 1), LabelledLine(("b",), "y", 2)]


def test_unicode_text_and_labels():
    [example] = _read("__label__café naïve 東京 — ok")
    assert example == LabelledLine(("café",), "naïve 東京 — ok", 1)


def test_tokens_split_at_fasttext_whitespace_only():
    assert fasttext_tokens("a\tb\x0bc\x0cd\x00e\rf") == list("abcdef")
    assert fasttext_tokens("a\u00a0b\u3000c\x1cd") == ["a\u00a0b\u3000c\x1cd"]  # no-break and other spaces are inside a token
    [example] = _read("__label__x a\u00a0b")
    assert example.text == "a\u00a0b"


def test_a_line_without_a_label_names_its_place():
    assert _error("__label__a x\nno label here\n", source="train.txt") == (
        "train.txt:2: no label (a label is a token starting with '__label__')"
    )
    assert _error("x", label_prefix="@") == "<stdin>:1: no label (a label is a token starting with '@')"


def test_an_empty_label_is_an_error_at_its_line():
    assert _error("__label__a x\n__label__ y\n", source="f") == "f:2: an empty label: '__label__' with no name after it"


def test_without_required_labels_lines_may_lack_them():
    examples = _read("just text\n__label__a and a label\n", require_labels=False)
    assert examples == [LabelledLine((), "just text", 1), LabelledLine(("a",), "and a label", 2)]


def test_a_line_of_labels_only_has_empty_text():
    assert _read("__label__a __label__b") == [LabelledLine(("a", "b"), "", 1)]


def test_tsv_lines():
    examples = _read("pos\ta fine  film\nneg\tdull\tand long\r\n\n  sci-fi,drama \tfar out\n", format="tsv")
    assert examples == [
        LabelledLine(("pos",), "a fine film", 1),
        LabelledLine(("neg",), "dull and long", 2),
        LabelledLine(("sci-fi,drama",), "far out", 4),  # one label column: a comma is part of a name
    ]


def test_tsv_errors_and_unlabelled_lines():
    assert _error("pos\tok\nno tab here\n", format="tsv", source="t.tsv") == "t.tsv:2: no label (a tsv line is label<TAB>text)"
    assert _error("\ttext", format="tsv") == "<stdin>:1: no label (a tsv line is label<TAB>text)"
    assert _error("sci fi\ttext", format="tsv") == "<stdin>:1: a label with whitespace in it: 'sci fi'"
    assert _read("no tab here\npos\tok", format="tsv", require_labels=False) == [
        LabelledLine((), "no tab here", 1),
        LabelledLine(("pos",), "ok", 2),
    ]


def test_bad_parameters_are_refused_before_reading():
    with pytest.raises(ParameterError) as caught:
        read_labelled([], format="csv")  # type: ignore[arg-type]
    assert caught.value.parameter == "format"
    for prefix in ("", "__la bel__"):
        with pytest.raises(ParameterError) as caught:
            read_labelled([], label_prefix=prefix)
        assert caught.value.parameter == "label_prefix"


def test_label_set_most_frequent_first_ties_by_first_appearance():
    examples = _read("__label__c x\n__label__a x\n__label__b x\n__label__a __label__b x\n__label__d x")
    labels = LabelSet.from_examples(examples)
    assert labels.names == ("a", "b", "c", "d")
    assert len(labels) == 4 and list(labels) == ["a", "b", "c", "d"] and "c" in labels and "z" not in labels
    assert [labels.id_of(name) for name in "abcd"] == [0, 1, 2, 3]
    assert labels.name_of(2) == "c"
    assert LabelSet(labels.names).names == labels.names


def test_an_unknown_label_names_its_place():
    labels = LabelSet(["a", "b"])
    with pytest.raises(InputError) as caught:
        labels.id_of("z", source="test.txt", line=7)
    assert str(caught.value) == "test.txt:7: unknown label 'z': not one of the 2 labels of the training data"
    with pytest.raises(ValueError, match="distinct"):
        LabelSet(["a", "a"])


def _examples(sizes: dict[str, int]) -> list[LabelledLine]:
    """Examples of each label, interleaved as a shuffled file would have them."""
    rows = [(label, index) for label, size in sizes.items() for index in range(size)]
    random.Random(0).shuffle(rows)
    return [LabelledLine((label,), f"text {index}", line) for line, (label, index) in enumerate(rows, 1)]


def test_the_split_is_stratified():
    examples = _examples({"big": 500, "mid": 200, "small": 30, "pair": 2, "single": 1})
    train, held = stratified_split(examples, share=0.1, seed=3)
    assert len(held) == round(0.1 * len(examples))
    assert sorted(train + held, key=lambda e: e.line) == examples
    held_counts = Counter(e.labels[0] for e in held)
    assert held_counts["big"] == 50 and held_counts["mid"] == 20 and held_counts["small"] == 3
    train_counts = Counter(e.labels[0] for e in train)
    assert train_counts["pair"] >= 1 and train_counts["single"] == 1
    assert [e.line for e in train] == sorted(e.line for e in train)  # the input's order
    assert [e.line for e in held] == sorted(e.line for e in held)


def test_every_label_keeps_one_in_training_even_when_the_share_is_large():
    examples = _examples({"a": 2, "b": 2, "c": 3, "d": 1})
    train, held = stratified_split(examples, share=0.9)
    assert Counter(e.labels[0] for e in train) == {"a": 1, "b": 1, "c": 1, "d": 1}
    assert len(held) == 4


def test_the_split_is_deterministic_for_a_seed():
    examples = _examples({"x": 300, "y": 120, "z": 9})
    first = stratified_split(examples, seed=5)
    assert stratified_split(examples, seed=5) == first
    assert stratified_split(examples, seed=6)[1] != first[1]
    assert stratified_split(examples, share=0.0) == (examples, [])
    assert stratified_split([], share=0.5) == ([], [])


def test_multi_label_examples_go_with_their_first_label():
    examples = [LabelledLine(("a", "b"), str(i), i) for i in range(10)] + [LabelledLine(("b",), str(i), i) for i in range(10, 20)]
    _, held = stratified_split(examples, share=0.2)
    assert Counter(e.labels[0] for e in held) == {"a": 2, "b": 2}


def test_a_bad_share_is_refused():
    for share in (-0.1, 1.0, 2):
        with pytest.raises(ParameterError) as caught:
            stratified_split([], share=share)
        assert caught.value.parameter == "share"


def test_the_debian_packages_train_file():
    path = require_shared("corpora", "debian-packages", "train.txt")
    source = open_input(path)
    try:
        examples = list(read_labelled(iter_lines(source), source=source.name))
    finally:
        source.close()
    assert len(examples) == 43293
    labels = LabelSet.from_examples(examples)
    assert len(labels) == 58
    assert all(len(e.labels) == 1 and e.text for e in examples)
    counts = Counter(e.labels[0] for e in examples)
    assert [counts[name] for name in labels] == sorted(counts.values(), reverse=True)
    train, held = stratified_split(examples)
    assert len(held) == round(0.1 * len(examples)) and {e.labels[0] for e in train} == set(labels)
