"""Linear interpolation of word-level language models: ``p(w | h) = sum_k weight_k p_k(w | h)``,
the weights tuned by EM on a held-out text (Jelinek and Mercer; SRILM's ``ngram -mix-lm`` and
``compute-best-mix``, the RNNLM toolkit's ``-lm-prob`` with ``-lambda``).

The text every part scores. Each part reads the same token stream, made here from the text
(:func:`mixture_text`): lines end at ``\\n``; tokens are whitespace-separated; blank lines are
skipped; ``<s>`` and ``</s>`` written inside a line are dropped (as the n-gram reader drops them,
where a word-level checkpoint would read ``</s>`` as an end of line); every line, the last one too,
ends with ``</s>``. On such text an n-gram model and a word-level checkpoint count the same
tokens, and each part scores each token as its own ``textseq eval`` does: a word it does not know
gets its ``<unk>`` probability.

OOVs. A token is an OOV of the mixture when every part sees it as ``<unk>`` (the word ``<unk>``
of the text included); a word that only some parts know is scored by those parts' probabilities
and the others' ``<unk>`` probabilities. Where the parts' vocabularies differ the mixture is
therefore not exactly normalized over any one vocabulary (its perplexity is a close, not an exact,
comparison with its parts'); :meth:`MixtureLM.vocabulary_note` says by how much they differ.

Sampling and beam search (:meth:`MixtureLM.step`) work over the first part's vocabulary: each
part's next-token distribution is mapped onto it by word (a word of the part that the first part
lacks adds its probability to ``<unk>``; a word of the first part that the part lacks gets 0 from
it), so the mixed distribution sums to 1. The tokens fed to each part are the first part's words
(one the part lacks as its ``<unk>``).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from textseq.errors import InputError, ParameterError
from textseq.lm import LanguageModel, Report, WordText

if TYPE_CHECKING:
    pass

UNK = "<unk>"
_MARKERS = frozenset(("<s>", "</s>"))
WEIGHT_SUM_TOLERANCE = 1e-3
"""How far from 1 given weights may sum (rounded decimals: 0.333,0.333,0.333); they are then
scaled to sum to exactly 1."""


def mixture_text(blocks: Iterable[str]) -> Iterator[str]:
    """The text of ``blocks`` as every part of a mixture reads it (see the module's docstring):
    one line of single-space-separated words per non-blank line, each ending with ``\\n``."""
    for block in blocks:
        lines = []
        for line in block.replace("\0", " ").split("\n"):
            words = [word for word in line.split() if word not in _MARKERS]
            if words:
                lines.append(" ".join(words) + "\n")
        if lines:
            yield "".join(lines)


def check_weights(weights: Sequence[float], count: int) -> np.ndarray:
    """``weights`` as an array that sums to exactly 1, after checking that there is one per
    part, each finite and >= 0, and that they sum to 1 (within :data:`WEIGHT_SUM_TOLERANCE`)."""
    values = np.asarray([float(weight) for weight in weights], dtype=np.float64)
    if len(values) != count:
        raise ParameterError(f"{len(values)} weights for {count} models: give one weight per model", parameter="weights")
    if not np.isfinite(values).all() or (values < 0).any():
        raise ParameterError("every weight must be a finite number >= 0", parameter="weights")
    total = float(values.sum())
    if abs(total - 1.0) > WEIGHT_SUM_TOLERANCE:
        raise ParameterError(f"the weights sum to {total:g}, not 1", parameter="weights")
    return values / total


def mix_logprobs(logprobs: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """log sum_k weights[k] exp(logprobs[:, k]) for each row of ``logprobs`` (tokens x parts),
    computed stably (log-sum-exp); a part of weight 0 adds nothing, a row of -inf stays -inf."""
    with np.errstate(divide="ignore"):
        shifted = logprobs + np.log(weights)
    top = shifted.max(axis=1)
    top = np.where(np.isfinite(top), top, 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        mixed: np.ndarray = top + np.log(np.exp(shifted - top[:, None]).sum(axis=1))
    return mixed


@dataclass(frozen=True)
class Tuning:
    """What EM found on a tuning text."""

    weights: np.ndarray
    iterations: int
    tokens: int
    log_likelihood: float
    """Mean natural-log probability of a token of the tuning text under the tuned mixture."""
    converged: bool

    @property
    def perplexity(self) -> float:
        return math.exp(min(-self.log_likelihood, 700.0))


def tune_weights(logprobs: np.ndarray, *, tolerance: float = 1e-6, max_iterations: int = 100) -> Tuning:
    """The weights that maximize the likelihood of the tokens whose per-part natural-log
    probabilities are the rows of ``logprobs`` (tokens x parts), by EM from uniform weights:
    ``w_k <- mean over tokens of w_k p_k / sum_j w_j p_j``, until the mean log-likelihood changes
    by less than ``tolerance`` or after ``max_iterations``. A token no part gives any probability
    is left out (it says nothing about the weights)."""
    rows = logprobs[np.isfinite(logprobs).any(axis=1)]
    parts = logprobs.shape[1]
    weights = np.full(parts, 1.0 / parts)
    if not len(rows):
        raise ValueError("no tokens to tune the weights on")
    likelihood = float(mix_logprobs(rows, weights).mean())
    iterations, converged = 0, parts == 1
    while not converged and iterations < max_iterations:
        with np.errstate(divide="ignore"):
            joint = rows + np.log(weights)
        total = mix_logprobs(rows, weights)
        weights = np.exp(joint - total[:, None]).mean(axis=0)
        weights /= weights.sum()
        iterations += 1
        previous, likelihood = likelihood, float(mix_logprobs(rows, weights).mean())
        converged = abs(likelihood - previous) < tolerance
    return Tuning(weights=weights, iterations=iterations, tokens=len(rows), log_likelihood=likelihood, converged=converged)


@dataclass(frozen=True)
class Columns:
    """Every part's view of one text's tokens."""

    logprobs: np.ndarray
    """tokens x parts: each part's natural-log probability of each token."""
    oov: np.ndarray
    """tokens x parts: whether the part sees the token as ``<unk>``."""
    ends: np.ndarray
    """Whether each token is a ``</s>``."""
    base_ids: np.ndarray
    """Each token's id in the first part's vocabulary."""


def scores_report(logprobs: np.ndarray, oov: np.ndarray, ends: np.ndarray) -> Report:
    """The evaluation report's figures (those of :func:`textseq.ngram.evaluate.evaluate`) of
    tokens with natural-log probabilities ``logprobs``, ``oov`` the OOVs among them."""
    from textseq.ngram.evaluate import perplexity

    ln10 = math.log(10.0)
    tokens, oovs = len(logprobs), int(oov.sum())
    total = float(logprobs.sum()) / ln10
    oov_total = float(logprobs[oov].sum()) / ln10
    return {
        "sentences": int(ends.sum()),
        "tokens": tokens,
        "oovs": oovs,
        "log10_prob": total,
        "log10_prob_oov": oov_total,
        "perplexity": perplexity(total, tokens),
        "perplexity_excluding_oovs": perplexity(total - oov_total, tokens - oovs),
    }


def _unk_id(words: list[str]) -> int:
    try:
        return words.index(UNK)
    except ValueError:
        return -1


MixtureState = tuple[Any, ...]
"""A :class:`MixtureLM`'s state: each part's."""


class MixtureLM(WordText):
    """The linear interpolation of word-level language models (``parts``) with ``weights`` (one
    per part, >= 0, summing to 1; None: uniform, SRILM's default), as a
    :class:`~textseq.lm.LanguageModel` over the first part's vocabulary (see the module's
    docstring for the token stream, the OOV rule and how the vocabularies are mapped).

    ``names`` name the parts in reports and errors; ``sources`` are their files, for
    :func:`textseq.mixture_file.save_mixture`. A part must be a word-level model (an n-gram model, a
    word-level checkpoint) and not itself a mixture (mix its parts instead)."""

    level = "word"
    kind = "mixture"

    def __init__(
        self,
        parts: Sequence[LanguageModel],
        weights: Sequence[float] | None = None,
        *,
        names: Sequence[str] | None = None,
        sources: Sequence[str] | None = None,
    ) -> None:
        if not parts:
            raise ParameterError("a mixture needs at least one model", parameter="parts")
        self.names = list(names) if names is not None else [f"model {i + 1}" for i in range(len(parts))]
        if len(self.names) != len(parts) or (sources is not None and len(sources) != len(parts)):
            raise ValueError("one name and one source per part")
        for part, name in zip(parts, self.names):
            if isinstance(part, MixtureLM):
                raise ParameterError(f"{name} is a mixture: a mixture's parts are single models (mix its parts instead)", parameter="parts")
            if part.level != "word":
                raise ParameterError(
                    f"{name} is a {part.level}-level model: a mixture mixes word-level models only (n-gram models, word-level checkpoints)",
                    parameter="parts",
                )
        self.parts = list(parts)
        self.sources = list(sources) if sources is not None else None
        self.weights = check_weights(weights, len(parts)) if weights is not None else np.full(len(parts), 1.0 / len(parts))
        self.tuning: Tuning | None = None
        self.tuned_on: str | None = None
        base = self.parts[0]
        self.words = base.words
        self.end_id = base.end_id
        self.scores_are_probabilities = all(part.scores_are_probabilities for part in self.parts)

    def set_weights(self, weights: Sequence[float]) -> None:
        """Use ``weights`` (checked as the constructor's)."""
        self.weights = check_weights(weights, len(self.parts))
        self.tuning = self.tuned_on = None

    def tune(self, blocks: Iterable[str], source: str | None = None) -> Tuning:
        """Tune the weights by EM (:func:`tune_weights`) on the text in ``blocks`` (``source``:
        its name, for the report and an error), use them, and return what EM found."""
        columns = self.columns(blocks)
        if not len(columns.ends):
            raise InputError("holds no tokens to tune the mixture's weights on", source=source)
        tuning = tune_weights(columns.logprobs)
        self.weights, self.tuning, self.tuned_on = tuning.weights, tuning, source
        return tuning

    # -- scoring -----------------------------------------------------------------------------

    def columns(self, blocks: Iterable[str]) -> Columns:
        """Each part's scores of each token of the text (read as :func:`mixture_text` says)."""
        text = list(mixture_text(blocks))
        logprobs, oov, ends, base_ids = [], [], None, None
        for part, name in zip(self.parts, self.names):
            ids, scores = part.token_logprobs(text)
            part_ends = ids == part.end_id
            if ends is None:
                ends, base_ids = part_ends, ids
            elif len(part_ends) != len(ends) or not np.array_equal(part_ends, ends):
                raise AssertionError(f"{name} reads the text as other tokens than {self.names[0]}")
            logprobs.append(np.asarray(scores, dtype=np.float64))
            oov.append(ids == _unk_id(part.words))
        assert ends is not None and base_ids is not None
        return Columns(logprobs=np.stack(logprobs, axis=1), oov=np.stack(oov, axis=1), ends=ends, base_ids=base_ids)

    def token_logprobs(self, blocks: Iterable[str]) -> tuple[np.ndarray, np.ndarray]:
        """(each token's id in the first part's vocabulary, its natural-log probability under the
        mixture)."""
        columns = self.columns(blocks)
        return columns.base_ids, mix_logprobs(columns.logprobs, self.weights)

    def evaluate(self, blocks: Iterable[str]) -> tuple[Report, np.ndarray]:
        """The mixture's report (with its weights and its parts' names) and each line's log10
        probability."""
        _, report, per_line = self.evaluate_with_parts(blocks)
        return report, per_line

    def evaluate_with_parts(self, blocks: Iterable[str]) -> tuple[list[Report], Report, np.ndarray]:
        """(each part's report, with its weight; the mixture's report; each line's log10
        probability under the mixture), every part scoring the text once."""
        columns = self.columns(blocks)
        parts = [
            {**scores_report(columns.logprobs[:, k], columns.oov[:, k], columns.ends), "kind": part.kind, "weight": float(weight)}
            for k, (part, weight) in enumerate(zip(self.parts, self.weights))
        ]
        mixed = mix_logprobs(columns.logprobs, self.weights)
        report = {**scores_report(mixed, np.asarray(columns.oov.all(axis=1)), columns.ends), **self.description()}
        from textseq.neural.evaluate import line_log10_probs

        return parts, report, line_log10_probs(-mixed, columns.ends)

    def description(self) -> Report:
        """What the report says of the mixture itself: kind, weights, parts, and the tuning."""
        report: Report = {"kind": self.kind, "weights": [float(w) for w in self.weights], "parts": list(self.names)}
        if self.tuning is not None:
            report["tuning"] = {
                "text": self.tuned_on,
                "tokens": self.tuning.tokens,
                "iterations": self.tuning.iterations,
                "converged": self.tuning.converged,
                "perplexity": self.tuning.perplexity,
            }
        elif self.tuned_on is not None:
            report["tuning"] = {"text": self.tuned_on}
        return report

    def vocabulary_note(self) -> str | None:
        """A sentence on how the parts' vocabularies differ (None where they agree)."""
        base = set(self.words) - _MARKERS
        gaps = []
        for part, name in zip(self.parts[1:], self.names[1:]):
            other = set(part.words) - _MARKERS
            if other != base:
                gaps.append(
                    f"{name} lacks {len(base - other):,} of {self.names[0]}'s {len(base):,} words, "
                    f"{self.names[0]} lacks {len(other - base):,} of {name}'s {len(other):,}"
                )
        if not gaps:
            return None
        return (
            "the models' vocabularies differ: "
            + "; ".join(gaps)
            + ". A word a model lacks gets its <unk> probability, so the mixture is not exactly normalized"
        )

    # -- stepping and sampling ---------------------------------------------------------------

    @functools.cached_property
    def _maps(self) -> list[tuple[np.ndarray, np.ndarray | None]]:
        """For each part: the part's id of each of the first part's words (its ``<unk>`` where it
        lacks one), and the first part's id of each of the part's words (None where the
        vocabularies are the same list; ``len(words)``, a bin that is dropped, where the first
        part lacks both the word and ``<unk>``)."""
        size = len(self.words)
        base_index = {word: i for i, word in enumerate(self.words)}
        base_unk = base_index.get(UNK, size)
        maps: list[tuple[np.ndarray, np.ndarray | None]] = []
        for part in self.parts:
            if part.words == self.words:
                maps.append((np.arange(size), None))
                continue
            part_index = {word: i for i, word in enumerate(part.words)}
            part_unk = max(part_index.get(UNK, 0), 0)
            feed = np.fromiter((part_index.get(word, part_unk) for word in self.words), dtype=np.int64, count=size)
            gather = np.fromiter((base_index.get(word, base_unk) for word in part.words), dtype=np.int64, count=len(part.words))
            maps.append((feed, gather))
        return maps

    def initial_state(self, prime: list[int]) -> MixtureState:
        return tuple(part.initial_state([int(feed[t]) for t in prime]) for part, (feed, _) in zip(self.parts, self._maps))

    def step(self, state: MixtureState, token: int | None) -> tuple[np.ndarray, MixtureState]:
        size = len(self.words)
        mixed = np.zeros(size)
        states = []
        for part, part_state, weight, (feed, gather) in zip(self.parts, state, self.weights, self._maps):
            logprobs, part_state = part.step(part_state, None if token is None else int(feed[token]))
            states.append(part_state)
            probs = np.exp(np.asarray(logprobs, dtype=np.float64))
            if gather is None:
                mixed += weight * probs
            else:
                mixed += weight * np.bincount(gather, weights=probs, minlength=size + 1)[:size]
        with np.errstate(divide="ignore"):
            return np.log(mixed), tuple(states)

    def encode_prime(self, text: str) -> list[int]:
        """The first part's ids of the words of ``text`` (``<unk>``'s for one it does not know)."""
        return self.parts[0].encode_prime(" ".join(text.split()))
