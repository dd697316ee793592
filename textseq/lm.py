"""The LanguageModel interface that ``eval``, ``sample`` and next-word tables share, and
:func:`open_model`, which opens any model file as one.

An n-gram model and a neural checkpoint both answer it: a vocabulary, a start state, and one
step at a time the distribution of the next token (natural-log probabilities over the
vocabulary) with the state after it. An n-gram state is its last n-1 ids; an RNN state is its
hidden tensors. Around that core, what the commands need so that they never ask which kind of
model they hold: a prime's ids, the text that drawn tokens print as, the model's own way of
drawing (a compiled loop for a long LSTM sample), and its evaluation report.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any, Protocol, cast

import numpy as np

from textseq.neural.settings import DEFAULT_CONTEXT

if TYPE_CHECKING:
    from textseq.ngram.model import BackoffModel
    from textseq.sampling import SamplingOptions

Report = dict[str, Any]
"""An evaluation's figures by name (JSON-ready values; see :meth:`LanguageModel.evaluate`)."""


class LanguageModel(Protocol):
    words: list[str]
    """id -> token."""
    end_id: int
    """The id of the end of a sequence (``</s>``)."""
    scores_are_probabilities: bool
    """False for a model whose scores do not sum to 1 (stupid backoff): its perplexity is not
    comparable with other models'."""
    kind: str
    """What made the model: an n-gram model's smoothing, a checkpoint's architecture."""
    level: str
    """What its tokens are: "word" (an n-gram model, a word-level checkpoint, a mixture), "char"
    or "spm"."""

    def initial_state(self, prime: list[int]) -> Any:
        """The state after the start of a sequence followed by ``prime``."""

    def step(self, state: Any, token: int | None) -> tuple[np.ndarray, Any]:
        """Feed ``token`` (None: nothing, just read the state) and return the natural-log
        probabilities of the next token and the new state."""

    def encode_prime(self, text: str) -> list[int]:
        """The ids of ``text``, the start of a sequence (not a whole line: no end token)."""

    def prime_text(self, prime: str) -> str:
        """How a sample that starts with ``prime`` prints it."""

    def piece(self, text: str, prime: list[int], drawn: list[int]) -> str:
        """The text that the last of ``drawn`` adds to ``text``, the text of the sample so far
        (``prime`` the prime's ids, ``drawn`` the tokens drawn after it)."""

    def sample(self, prime: list[int], options: SamplingOptions, rng: np.random.Generator) -> Iterator[int]:
        """Token ids drawn after ``prime`` as :func:`textseq.sampling.sample` draws them, by the
        model's fastest means."""

    def evaluate(self, blocks: Iterable[str]) -> tuple[Report, np.ndarray]:
        """(the report: sentences, tokens, oovs, log10_prob, log10_prob_oov, perplexity,
        perplexity_excluding_oovs and what else the model measures; each line's log10
        probability) of the text in ``blocks``."""

    def token_logprobs(self, blocks: Iterable[str]) -> tuple[np.ndarray, np.ndarray]:
        """(the id of each token of the text in ``blocks``, its natural-log probability): the
        tokens :meth:`evaluate` counts (at the word level every word and every ``</s>``, a word
        the model does not know as ``<unk>``), scored as it scores them."""


def open_model(
    path: str, device: str = "cpu", threads: int | None = None, *, context: int | None = DEFAULT_CONTEXT, bf16: bool = False
) -> LanguageModel:
    """The model in file ``path`` (an ARPA or binary n-gram model, a neural checkpoint, or a
    mixture file: see :mod:`textseq.mixture_file`) as a :class:`LanguageModel`. ``device`` and
    ``threads`` (for the CPU's math; default: the idle cores) apply to a checkpoint, and so do
    ``context`` and ``bf16``: how a checkpoint's evaluation scores the text (tokens of warm-up
    before each parallel column, None: token by token; in bfloat16 where the device computes it
    natively, see :func:`textseq.neural.device.check_bf16`; :mod:`textseq.neural.scoring`).
    Opening an n-gram model never imports torch."""
    from textseq.mixture_file import is_mixture_file, load_mixture
    from textseq.neural.checkpoint import is_checkpoint

    if is_mixture_file(path):
        return load_mixture(path, device, threads, context=context, bf16=bf16)
    if is_checkpoint(path):
        from textseq.neural.device import check_bf16, resolve_device
        from textseq.neural.loading import NeuralLM
        from textseq.neural.loading import load_model as load_checkpoint_model

        where, used = resolve_device(device, threads)
        if bf16:
            check_bf16(where)
        network, codec, payload = load_checkpoint_model(path, where)
        return NeuralLM(network, codec, where, threads=used, kind=str(payload["arch"]), context=context, bf16=bf16)
    from textseq.ngram.files import load_model

    return NgramLM(load_model(path, check_later=True), threads=threads)


class WordText:
    """What a word-level model's samples print and how they are drawn: words separated by
    spaces, drawn token by token through the model's :meth:`LanguageModel.step` (an n-gram model
    and a mixture have no faster way)."""

    words: list[str]

    def prime_text(self, prime: str) -> str:
        return " ".join(prime.split())

    def piece(self, text: str, prime: list[int], drawn: list[int]) -> str:
        return (" " if text else "") + self.words[drawn[-1]]

    def sample(self, prime: list[int], options: SamplingOptions, rng: np.random.Generator) -> Iterator[int]:
        from textseq.sampling import sample

        return sample(cast("LanguageModel", self), prime, options, rng)


class NgramLM(WordText):
    """A backoff n-gram model as a :class:`LanguageModel`: its tokens are words, printed
    separated by spaces. The model may still be checking its file (see
    :meth:`BackoffModel.settle`): every answer waits for that check."""

    level = "word"

    def __init__(self, model: BackoffModel, threads: int | None = None) -> None:
        """``threads``: how many score a text (default: :func:`textseq.threads.default_threads`)."""
        from textseq.ngram.corpus import EOS

        self.model = model
        self.threads = threads
        self.words = model.words
        self.end_id = EOS
        self.scores_are_probabilities = model.scores_are_probabilities
        self.kind = model.smoothing or "backoff"
        self._keep = max(model.order - 1, 0)

    def initial_state(self, prime: list[int]) -> tuple[int, ...]:
        from textseq.ngram.corpus import BOS

        self.model.settle()
        return tuple([BOS, *prime][-self._keep :]) if self._keep else ()

    def step(self, state: tuple[int, ...], token: int | None) -> tuple[np.ndarray, tuple[int, ...]]:
        if token is not None and self._keep:
            state = (*state, token)[-self._keep :]
        log10 = self.model.next_logprobs(list(state))
        self.model.settle()
        return log10 * math.log(10.0), state

    def encode_prime(self, text: str) -> list[int]:
        """Each word's id, ``<unk>``'s for a word the model does not know."""
        from textseq.ngram.corpus import UNK

        index = self.model.word_index
        return [index.get(word, UNK) for word in text.split()]

    def evaluate(self, blocks: Iterable[str]) -> tuple[Report, np.ndarray]:
        """KenLM's ``query`` figures (see :mod:`textseq.ngram.evaluate`)."""
        from textseq.ngram.evaluate import evaluate
        from textseq.threads import default_threads

        report, per_sentence = evaluate(self.model, blocks, self.threads or default_threads())
        self.model.settle()
        return report.as_dict(), per_sentence

    def token_logprobs(self, blocks: Iterable[str]) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`evaluate`'s tokens and their scores (see :func:`textseq.ngram.evaluate.token_logprobs`)."""
        from textseq.ngram.evaluate import token_logprobs

        scores = token_logprobs(self.model, blocks)
        self.model.settle()
        return scores
