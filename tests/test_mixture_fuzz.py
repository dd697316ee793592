"""Mutation fuzzing of the mixture file reader: a mutated mixture file either opens as a mixture
that scores and steps with finite numbers, or fails with textseq's one-line error; never another
exception, a hang, or a runaway allocation."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from fuzzing import check_reader, fuzz_settings, mutations
from textseq.lm import NgramLM
from textseq.mixture import MixtureLM
from textseq.mixture_file import load_mixture, save_mixture
from textseq.ngram.build import build_model
from textseq.ngram.files import save_model

TEXT = "the cat sat on the mat\nthe dog sat on the log\na cat and a dog\n"


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    """Two small n-gram models and a valid mixture of them (valid.tsmix), side by side: a fuzzed
    mixture file is written beside them, so that its parts' relative paths still resolve."""
    path = tmp_path_factory.mktemp("mixture")
    save_model(build_model([TEXT * 3], 2).model, str(path / "a.arpa"))
    save_model(build_model([TEXT * 2 + "the bird sat\n"], 3).model, str(path / "b.arpa"))
    save_mixture(str(path / "valid.tsmix"), [str(path / "a.arpa"), str(path / "b.arpa")], [0.375, 0.625], ["mkn", "mkn"], tuned_on="v.txt")
    return path


def open_and_use(path: str) -> MixtureLM:
    """Open a mixture and use it a little: scoring, a step, a sample's first tokens."""
    mixture = load_mixture(path)
    assert isinstance(mixture.parts[0], NgramLM)
    report, per_line = mixture.evaluate(["the cat sat\na bird and a zebra\n"])
    assert report["tokens"] == 10 and np.isfinite(per_line).all()
    assert report["perplexity"] is not None and math.isfinite(report["perplexity"])
    logprobs, _ = mixture.step(mixture.initial_state(mixture.encode_prime("the")), None)
    assert np.exp(logprobs).sum() == pytest.approx(1.0, abs=1e-3)
    return mixture


def test_the_valid_file_opens(folder):
    opened = check_reader(open_and_use, (folder / "valid.tsmix").read_bytes(), folder, ".tsmix")
    assert isinstance(opened, MixtureLM) and opened.weights.tolist() == [0.375, 0.625]


@fuzz_settings
@given(data=st.data())
def test_mutated_mixture_files_open_or_fail_cleanly(folder, data):
    check_reader(open_and_use, data.draw(mutations((folder / "valid.tsmix").read_bytes())), folder, ".tsmix")


@fuzz_settings
@given(
    document=st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
        lambda inner: (
            st.lists(inner, max_size=4) | st.dictionaries(st.sampled_from(["format", "version", "parts", "path", "weight", "x"]), inner)
        ),
        max_leaves=12,
    )
)
def test_any_json_value_opens_or_fails_cleanly(folder, document):
    text = json.dumps({"format": "textseq-mixture", "version": 1, "parts": document})
    check_reader(open_and_use, text.encode(), folder, ".tsmix")
