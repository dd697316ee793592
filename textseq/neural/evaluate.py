"""Perplexity and bits per character of a neural model on a text, in the n-gram report's terms.

Every token is scored, the first one after an end of line, so the counts are those of
``textseq eval`` on an n-gram model: words and ``</s>`` at the word level (``<unk>`` tokens are
the OOVs), characters at the character level (bits per character reported too).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import numpy as np

from textseq.neural.codec import Codec
from textseq.neural.scoring import score_tokens
from textseq.neural.settings import DEFAULT_CONTEXT

if TYPE_CHECKING:
    import torch
    from torch import nn


def evaluate(
    model: nn.Module,
    codec: Codec,
    blocks: Iterable[str],
    device: torch.device | str,
    context: int | None = DEFAULT_CONTEXT,
    *,
    bf16: bool = False,
) -> tuple[dict[str, Any], np.ndarray]:
    """(the report, each line's log10 probability): a line ends with its ``</s>`` (word and
    subword levels) or its newline (character level). ``context``, ``bf16``: see :func:`token_losses`."""
    ids, per_token = token_losses(model, codec, blocks, device, context, bf16=bf16)
    if not len(ids):
        return _empty_report(codec), np.zeros(0)
    total, count = float(per_token.sum()), len(per_token)
    line_ends = ids == codec.line_end_id
    oov = ids == 0
    oov_nats = float(per_token[oov].sum())
    in_vocab = count - int(oov.sum())
    report: dict[str, Any] = {
        "level": codec.level,
        "tokens": count,
        "oovs": int(oov.sum()),
        "sentences": int(line_ends.sum()),
        "log10_prob": -total / math.log(10.0),
        "log10_prob_oov": -oov_nats / math.log(10.0),
        "loss": total / count,
        "perplexity": math.exp(min(total / count, 700.0)),
        "perplexity_excluding_oovs": math.exp(min((total - oov_nats) / max(in_vocab, 1), 700.0)),
    }
    if codec.level == "char":
        report["bits_per_character"] = total / count / math.log(2.0)
    return report, line_log10_probs(per_token, line_ends)


def token_losses(
    model: nn.Module,
    codec: Codec,
    blocks: Iterable[str],
    device: torch.device | str,
    context: int | None = DEFAULT_CONTEXT,
    *,
    bf16: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """(the token ids of the text in ``blocks``, each one's negative log-likelihood in nats under
    ``model``): every token scored, the first one after an end of line. The stream is scored in
    parallel columns, each read after ``context`` tokens of warm-up; ``context`` None scores it
    token by token, exactly; ``bf16``, in bfloat16 (see :mod:`textseq.neural.scoring`)."""
    ids = codec.encode(blocks)
    per_token = score_tokens(model, ids, device, start_token=max(codec.line_end_id, 0), context=context, bf16=bf16)
    return ids, per_token


def _empty_report(codec: Codec) -> dict[str, Any]:
    """The report of a text with no tokens: the figures that divide by the count are undefined
    (None), as they are for an n-gram model."""
    report: dict[str, Any] = {
        "level": codec.level,
        "tokens": 0,
        "oovs": 0,
        "sentences": 0,
        "log10_prob": 0.0,
        "log10_prob_oov": 0.0,
        "loss": None,
        "perplexity": None,
        "perplexity_excluding_oovs": None,
    }
    if codec.level == "char":
        report["bits_per_character"] = None
    return report


def line_log10_probs(per_token_nll: np.ndarray, ends_line: np.ndarray) -> np.ndarray:
    """Sums of the tokens' log10 probabilities line by line; tokens after the last line end make a
    last line of their own."""
    cuts = np.flatnonzero(ends_line) + 1
    if not len(cuts) or cuts[-1] != len(per_token_nll):
        cuts = np.append(cuts, len(per_token_nll))
    totals = np.concatenate(([0.0], np.cumsum(per_token_nll)))[cuts]
    return -np.diff(np.concatenate(([0.0], totals))) / math.log(10.0)
