"""The n-gram pipeline as a library call (textseq.ngram.build), no command line."""

from __future__ import annotations

import numpy as np
import pytest

from textseq.errors import InputError, ParameterError
from textseq.ngram.build import build_model, count_text, memory_budget, parse_discounts, prune_thresholds
from textseq.ngram.corpus import corpus_from_blocks
from textseq.ngram.counts import count_ngrams
from textseq.ngram.smoothers import ModifiedKneserNey

TEXT = "the cat sat on the mat\nthe dog sat on the log\na cat and a dog\nthe cat ran\n" * 3


def test_build_model_is_the_smoother_over_the_counts():
    built = build_model([TEXT], 3)
    expected = ModifiedKneserNey().estimate(count_ngrams(corpus_from_blocks([TEXT]), 3))
    assert (built.sentences, built.tokens) == (12, 60)
    assert built.model.smoothing == "modified-kneser-ney"
    assert built.model.words == corpus_from_blocks([TEXT]).words
    for got, want in zip(built.model.orders, expected.orders):
        assert np.array_equal(got.logprob, want.logprob) and np.array_equal(got.backoff, want.backoff)


def test_a_memory_budget_counts_in_chunks_to_the_same_model():
    whole = build_model([TEXT] * 50, 3)
    chunked = build_model([TEXT] * 50, 3, memory=1)
    assert (chunked.sentences, chunked.tokens) == (whole.sentences, whole.tokens)
    for got, want in zip(chunked.model.orders, whole.model.orders):
        assert np.allclose(got.logprob, want.logprob)


def test_options_pruning_and_the_vocabulary_reach_the_model():
    add_k = build_model([TEXT], 1, "add-k", {"k": 0.5})
    assert add_k.model.smoothing == "add-k"
    once = TEXT + "the cat sat on a log\n"
    full = [len(t) for t in build_model([once], 3).model.orders]
    pruned = [len(t) for t in build_model([once], 3, prune="0 1 1").model.orders]
    assert pruned[0] == full[0] and pruned[1:] < full[1:]
    assert [len(t) for t in build_model([once], 3, prune=[0, 1]).model.orders] == pruned  # the last threshold repeats
    smaller = build_model([TEXT], 3, prune_entropy=1e-2)
    assert sum(map(len, smaller.model.orders)) < sum(map(len, build_model([TEXT], 3).model.orders))
    fixed = build_model([TEXT], 2, vocabulary=["the", "cat"])
    assert fixed.model.words == ["<unk>", "<s>", "</s>", "the", "cat"]
    rare = build_model([TEXT], 2, min_count=10)
    assert rare.model.words == ["<unk>", "<s>", "</s>", "the"]


def test_the_smoothers_warnings_and_dropped_markers_reach_warn():
    said: list[str] = []
    build_model(["a b </s> c\n"], 3, warn=said.append)
    assert any("dropped 1 <s>/</s>" in line for line in said)
    assert any("too little data" in line for line in said)


@pytest.mark.parametrize(
    ("call", "parameter"),
    [
        (lambda: build_model([TEXT], 0), "order"),
        (lambda: build_model([TEXT], 3, prune="0,x"), "prune"),
        (lambda: build_model([TEXT], 3, prune=[0, 2, 1]), "prune"),
        (lambda: build_model([TEXT], 2, prune=[0, 1, 1]), "prune"),
        (lambda: build_model([TEXT], 3, prune=[1]), "prune"),
        (lambda: build_model([TEXT], 3, prune_entropy=-1.0), "prune_entropy"),
        (lambda: build_model([TEXT], 3, "stupid-backoff", prune_entropy=1e-3), "prune_entropy"),
        (lambda: build_model([TEXT], 3, min_count=0, memory=1 << 20), "min_count"),
        (lambda: memory_budget("lots"), "memory"),
        (lambda: parse_discounts("0.5,x"), "discounts"),
    ],
)
def test_a_value_the_pipeline_cannot_use_names_its_parameter(call, parameter):
    with pytest.raises(ParameterError) as info:
        call()
    assert info.value.parameter == parameter
    assert "--" not in info.value.message  # a library names parameters, never command-line flags


def test_a_smoothers_complaints_are_parameter_errors_before_any_text_is_read():
    def never():
        raise AssertionError("read")
        yield ""

    for smoothing, options in [("nope", {}), ("mle", {"k": 1}), ("add-k", {"k": -1}), ("modified-kneser-ney", {"discounts": [5, 5, 5]})]:
        with pytest.raises(ParameterError, match="smoother"):
            build_model(never(), 3, smoothing, options)


def test_an_empty_text_is_an_input_error_naming_its_source():
    with pytest.raises(InputError, match="no text to build a model from") as info:
        build_model(["\n\n"], 3, source="empty.txt")
    assert info.value.source == "empty.txt"


def test_count_text_and_the_parsers():
    counted = count_text([TEXT], 2)
    assert (counted.sentences, counted.tokens) == (12, 60)
    assert [len(t) for t in counted.counts.orders] == [len(t) for t in count_ngrams(corpus_from_blocks([TEXT]), 2).orders]
    assert prune_thresholds("0,1", 4) == [0, 1, 1, 1] == prune_thresholds(" 0, 1 ", 4)
    assert prune_thresholds(None, 3) == [] == prune_thresholds([], 3)
    assert memory_budget("1.5k") == 1536
    assert parse_discounts("0.5,1,1.5") == [0.5, 1.0, 1.5]
