"""The LanguageModel interface that ``eval``, ``sample`` and next-word tables share.

An n-gram model and a neural checkpoint both answer it: a vocabulary, a start state, and one
step at a time the distribution of the next token (natural-log probabilities over the
vocabulary) with the state after it. An n-gram state is its last n-1 ids; an RNN state is its
hidden tensors.
"""

from __future__ import annotations

import math
from typing import Any, Protocol

import numpy as np


class LanguageModel(Protocol):
    words: list[str]
    """id -> token."""
    end_id: int
    """The id of the end of a sequence (``</s>``)."""

    def initial_state(self, prime: list[int]) -> Any:
        """The state after the start of a sequence followed by ``prime``."""

    def step(self, state: Any, token: int | None) -> tuple[np.ndarray, Any]:
        """Feed ``token`` (None: nothing, just read the state) and return the natural-log
        probabilities of the next token and the new state."""


class NgramLM:
    """A backoff n-gram model as a :class:`LanguageModel`."""

    def __init__(self, model: Any) -> None:
        from textseq.ngram.corpus import EOS

        self.model = model
        self.words = model.words
        self.end_id = EOS
        self._keep = max(model.order - 1, 0)

    def initial_state(self, prime: list[int]) -> tuple[int, ...]:
        from textseq.ngram.corpus import BOS

        return tuple([BOS, *prime][-self._keep :]) if self._keep else ()

    def step(self, state: tuple[int, ...], token: int | None) -> tuple[np.ndarray, tuple[int, ...]]:
        if token is not None and self._keep:
            state = (*state, token)[-self._keep :]
        log10 = self.model.next_logprobs(list(state))
        return log10 * math.log(10.0), state
