"""Sampling from any :class:`~textseq.lm.LanguageModel`: temperature, top-k, top-p, greedy,
beam search, and :func:`stream_samples`, the text of samples as it is drawn.

Written once over the interface, so n-gram and neural models sample alike. Tokens are produced
one at a time (a generator), so the command prints them as they come.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from textseq.lm import LanguageModel


@dataclass(frozen=True)
class SamplingOptions:
    temperature: float = 1.0
    top_k: int = 0
    top_p: float = 1.0
    max_tokens: int = 100

    def __post_init__(self) -> None:
        if self.temperature < 0:
            raise ValueError("temperature must be >= 0 (0 is greedy)")
        if self.top_k < 0:
            raise ValueError("top_k must be >= 0 (0 keeps all)")
        if not 0.0 < self.top_p <= 1.0:
            raise ValueError("top_p must be in (0, 1]")


def next_distribution(logprobs: np.ndarray, options: SamplingOptions) -> np.ndarray:
    """Probabilities to draw the next token from: temperature, then top-k, then top-p."""
    logits = np.asarray(logprobs, dtype=np.float64)
    if options.temperature == 0:
        probs = np.zeros_like(logits)
        probs[int(np.argmax(logits))] = 1.0
        return probs
    scaled = logits - logits.max()
    if options.temperature != 1.0:
        scaled /= options.temperature
    if options.top_k and options.top_k < np.isfinite(scaled).sum():
        cut = np.partition(scaled, -options.top_k)[-options.top_k]
        scaled[scaled < cut] = -np.inf
    probs = np.exp(scaled)
    probs /= probs.sum()
    if options.top_p < 1.0:
        order = np.argsort(-probs, kind="stable")
        cumulative = np.cumsum(probs[order])
        probs[order[int(np.searchsorted(cumulative, options.top_p)) + 1 :]] = 0.0
        probs /= probs.sum()
    return probs


def draw(probs: np.ndarray, rng: np.random.Generator) -> int:
    """One index drawn with probabilities proportional to ``probs`` (by the inverse of their
    running sum, taken in float64: a token of probability 0 is never drawn; a few times faster
    than ``rng.choice``)."""
    cumulative = probs.cumsum(dtype=np.float64)
    return min(int(cumulative.searchsorted(rng.random() * cumulative[-1], side="right")), len(probs) - 1)


def next_token(logprobs: np.ndarray, options: SamplingOptions, rng: np.random.Generator) -> int:
    """The next token, drawn as from :func:`next_distribution`. Without a top-k or top-p cut (the
    common case) the weights are left unnormalized, since :func:`draw` divides by their sum
    anyway, and at temperature 1 they are the probabilities themselves (log-probabilities are at
    most 0, and the largest is not far below): a few numpy calls a token, not a dozen, which shows
    beside a fast model."""
    if options.top_k or options.top_p < 1.0 or options.temperature == 0:
        return draw(next_distribution(logprobs, options), rng)
    if options.temperature == 1.0:
        return draw(np.exp(logprobs), rng)
    scaled = np.asarray(logprobs, dtype=np.float64) - np.max(logprobs)
    scaled /= options.temperature
    return draw(np.exp(scaled, out=scaled), rng)


def sample(lm: LanguageModel, prime: list[int], options: SamplingOptions, rng: np.random.Generator) -> Iterator[int]:
    """Token ids after ``prime``, up to ``max_tokens`` or the end token (not yielded)."""
    for token, _ in sample_states(lm, prime, options, rng):
        yield token


def sample_states(lm: LanguageModel, prime: list[int], options: SamplingOptions, rng: np.random.Generator) -> Iterator[tuple[int, Any]]:
    """:func:`sample`'s tokens, each with the model state it was drawn from (the token not yet
    fed), for a caller that goes on from there by other means."""
    state = lm.initial_state(prime)
    logprobs, state = lm.step(state, None)
    for _ in range(options.max_tokens):
        token = next_token(logprobs, options, rng)
        if token == lm.end_id:
            return
        yield token, state
        logprobs, state = lm.step(state, token)


def beam_search(lm: LanguageModel, prime: list[int], width: int, max_tokens: int, results: int = 1) -> list[tuple[list[int], float]]:
    """The ``results`` most probable continuations of ``prime`` found by a beam of ``width``:
    (token ids, natural-log probability), best first. A hypothesis ends at the end token (not
    included) or after ``max_tokens``; each hypothesis keeps its own model state, so a step costs
    one model call per live hypothesis."""
    if width < 1 or results < 1:
        raise ValueError("the beam width and the number of results must be >= 1")
    state = lm.initial_state(prime)
    logprobs, state = lm.step(state, None)
    live: list[tuple[float, list[int], object, np.ndarray]] = [(0.0, [], state, logprobs)]
    finished: list[tuple[float, list[int]]] = []
    for _ in range(max_tokens):
        candidates: list[tuple[float, int, int]] = []
        for index, (score, _, _, logprobs) in enumerate(live):
            finite = np.where(np.isfinite(logprobs), logprobs, -np.inf)
            best = np.argpartition(-finite, min(width, len(finite) - 1))[:width]
            candidates += [(score + float(finite[token]), index, int(token)) for token in best if np.isfinite(finite[token])]
        candidates.sort(key=lambda c: -c[0])
        next_live: list[tuple[float, list[int], object, np.ndarray]] = []
        for score, index, token in candidates:
            if len(next_live) >= width:
                break
            _, tokens, state, _ = live[index]
            if token == lm.end_id:
                finished.append((score, tokens))
                continue
            logprobs, new_state = lm.step(state, token)
            next_live.append((score, [*tokens, token], new_state, logprobs))
        live = next_live
        if not live or (len(finished) >= results and finished_best(finished, results) >= live[0][0]):
            break
    finished += [(score, tokens) for score, tokens, _, _ in live]
    finished.sort(key=lambda f: -f[0])
    return [(tokens, score) for score, tokens in finished[:results]]


def finished_best(finished: list[tuple[float, list[int]]], results: int) -> float:
    """The score of the ``results``-th best finished hypothesis (scores only fall as a hypothesis grows)."""
    return sorted((score for score, _ in finished), reverse=True)[results - 1]


def stream_samples(
    lm: LanguageModel,
    prime: str,
    options: SamplingOptions,
    *,
    samples: int = 1,
    stop: str | None = None,
    seed: int | None = None,
    beam: int | None = None,
) -> Iterator[str]:
    """The text of ``samples`` samples after ``prime``, one a line, in pieces as they are drawn:
    the prime, then what each token adds, then the line's end. A sample ends at the end token,
    after ``options.max_tokens`` tokens, or once its text ends with ``stop`` (kept). ``seed``: the
    same seed on the same device gives the same text. With ``beam``, the ``samples`` most probable
    continuations a beam of that width finds, a line each, instead of drawing.

    A model whose (finite) weights overflow float32 on the way draws what it draws, without
    numpy's overflow warnings."""
    prime_ids = lm.encode_prime(prime)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        if beam is not None:
            for tokens, _ in beam_search(lm, prime_ids, beam, options.max_tokens, samples):
                yield "".join(sample_text(lm, prime, prime_ids, tokens))
            return
        rng = np.random.default_rng(seed)
        for _ in range(samples):
            yield from sample_text(lm, prime, prime_ids, lm.sample(prime_ids, options, rng), stop)


def sample_text(lm: LanguageModel, prime: str, prime_ids: list[int], tokens: Iterable[int], stop: str | None = None) -> Iterator[str]:
    """The text of one sample in pieces: the prime as the model prints it, what each of
    ``tokens`` adds (until the text ends with ``stop``), and a newline unless the text ends
    with one. ``tokens`` is closed at the stop, so that a generator of them leaves its random
    generator where the tokens taken left it."""
    text = lm.prime_text(prime)
    yield text
    drawn: list[int] = []
    remaining = iter(tokens)
    try:
        for token in remaining:
            drawn.append(token)
            piece = lm.piece(text, prime_ids, drawn)
            text += piece
            yield piece
            if stop is not None and text.endswith(stop):
                break
    finally:
        close = getattr(remaining, "close", None)
        if close is not None:
            close()
    if not text.endswith("\n"):
        yield "\n"
