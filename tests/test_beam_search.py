"""Beam search over the LanguageModel interface (textseq.sampling.beam_search)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from textseq.sampling import beam_search

WORDS = ["</s>", "A", "B", "x", "y", "z", "w"]
END = 0
TABLE = {  # after this last token, the next token's probabilities
    None: {"A": 0.6, "B": 0.4},
    "A": {"x": 0.3, "y": 0.3, "z": 0.4},
    "B": {"w": 0.9, "x": 0.1},
}


class ToyLM:
    words = WORDS
    end_id = END

    def initial_state(self, prime):
        return WORDS[prime[-1]] if prime else None

    def step(self, state, token):
        if token is not None:
            state = WORDS[token]
        table = TABLE.get(state, {"</s>": 1.0})
        logprobs = np.full(len(WORDS), -np.inf)
        for word, p in table.items():
            logprobs[WORDS.index(word)] = math.log(p)
        return logprobs, state


def test_a_wider_beam_finds_what_greedy_misses():
    ((greedy, greedy_score),) = beam_search(ToyLM(), [], width=1, max_tokens=5)
    assert [WORDS[t] for t in greedy] == ["A", "z"] and greedy_score == pytest.approx(math.log(0.6 * 0.4))
    best = beam_search(ToyLM(), [], width=2, max_tokens=5, results=3)
    assert [[WORDS[t] for t in tokens] for tokens, _ in best] == [["B", "w"], ["A", "z"]]  # a beam of 2 keeps 2
    assert [score for _, score in best] == pytest.approx([math.log(0.36), math.log(0.24)])


def test_beam_respects_the_prime_and_the_length_limit():
    ((tokens, score),) = beam_search(ToyLM(), [WORDS.index("B")], width=3, max_tokens=5)
    assert [WORDS[t] for t in tokens] == ["w"] and score == pytest.approx(math.log(0.9))
    ((cut, _),) = beam_search(ToyLM(), [], width=2, max_tokens=1)
    assert len(cut) == 1
    with pytest.raises(ValueError, match="the beam width and the number of results must be >= 1"):
        beam_search(ToyLM(), [], width=0, max_tokens=3)
