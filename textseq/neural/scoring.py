"""Every token of a stream scored by a network, fast: the stream cut into parallel columns, each
primed with the text before it.

Scoring one stream token by token (batch 1) is exact but slow: each step is a matrix-vector
product. Here the stream is cut into ``columns`` consecutive segments that run side by side as one
batch. The first column starts where the stream starts, as batch 1 does; every other column first
reads the ``context`` tokens before its segment (scored by the column before it), from the
network's initial state, so that its first tokens are scored with that much history. A recurrent
network's state forgets where it started within a few dozen tokens, so the mean loss agrees with
batch 1's to far below 1e-3 nats at the default context (tests/neural/test_scoring.py checks it
on a trained model; bench/neural-eval.py measures it on char-medium); a fixed-window network
whose window fits in the context scores every token exactly as batch 1 does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from textseq.neural.settings import DEFAULT_CONTEXT

if TYPE_CHECKING:
    import torch
    from torch import nn

MAX_COLUMNS = 256
"""Beyond this many columns a CPU's matrix products gain little, and the warm-up grows."""

LOGITS_BUDGET = 1 << 24
"""At most this many logits (64 MiB of float32) at a time: the rows of a call are as many as keep
rows x columns x vocabulary size under it (a word vocabulary over 256 columns: a few rows)."""

SEGMENTS_PER_CONTEXT = 4
"""A column's segment is at least this many times its warm-up, so that warm-up costs at most a
quarter more work than the tokens scored."""


@dataclass(frozen=True)
class ColumnPlan:
    """Where each column starts reading, where its scored segment starts, and where it ends
    (positions in the stream; the first column's reading and segment start at 0)."""

    reads: np.ndarray
    starts: np.ndarray
    ends: np.ndarray

    @property
    def columns(self) -> int:
        return len(self.starts)

    @property
    def length(self) -> int:
        """Rows of the batch: the longest column's reading."""
        return int((self.ends - self.reads).max())


def plan_columns(tokens: int, context: int, columns: int | None = None) -> ColumnPlan:
    """The columns that score ``tokens`` tokens with ``context`` tokens of warm-up each (but the
    first). ``columns`` None: as many as keep each segment at least :data:`SEGMENTS_PER_CONTEXT`
    times the warm-up, at most :data:`MAX_COLUMNS`. All columns read about as many rows: the first,
    which needs no warm-up, scores ``context`` tokens more than the others."""
    if tokens < 0 or context < 0:
        raise ValueError("the token count and the context must be >= 0")
    limit = MAX_COLUMNS if columns is None else columns
    if columns is None:
        columns = (tokens - context) // (SEGMENTS_PER_CONTEXT * max(context, 1))
    columns = max(1, min(columns, limit, max(tokens, 1)))
    if columns == 1:
        return ColumnPlan(np.zeros(1, np.int64), np.zeros(1, np.int64), np.array([tokens], np.int64))
    segment = max(1, -(-(tokens - context) // columns))
    first_end = min(tokens, segment + context)
    starts = np.minimum(first_end + segment * np.arange(columns - 1, dtype=np.int64), tokens)
    starts = np.concatenate(([0], starts))
    ends = np.minimum(np.concatenate((starts[1:], [tokens])), tokens)
    keep = np.concatenate(([True], ends[1:] > starts[1:]))
    starts, ends = starts[keep], ends[keep]
    reads = np.maximum(starts - context, 0)
    reads[0] = 0
    return ColumnPlan(reads, starts, ends)


def score_tokens(
    model: nn.Module,
    ids: np.ndarray,
    device: torch.device | str,
    *,
    start_token: int,
    context: int | None = DEFAULT_CONTEXT,
    columns: int | None = None,
    bptt: int = 256,
    bf16: bool = False,
) -> np.ndarray:
    """Each token's negative log-likelihood in nats (float64, in stream order) under ``model``,
    the first token read after ``start_token``. ``context`` None scores the stream as one column
    (batch 1, exact); otherwise see the module's docstring. At most ``bptt`` rows go through the
    network at a time (fewer where the logits would pass :data:`LOGITS_BUDGET`). Runs in eval
    mode, without gradients; with ``bf16``, under torch's bfloat16 autocast (the losses from
    float32 log-normalizers of bfloat16 logits)."""
    from contextlib import nullcontext

    import torch

    from textseq.neural.loss import next_token_losses

    ids = np.asarray(ids, dtype=np.int64)
    if not len(ids):
        return np.zeros(0)
    plan = plan_columns(len(ids), 0, 1) if context is None else plan_columns(len(ids), context, columns)
    inputs = np.concatenate(([start_token], ids[:-1]))
    rows = plan.length
    step = max(1, min(bptt, LOGITS_BUDGET // (plan.columns * int(getattr(model, "vocab_size", 1)))))
    source = np.zeros((rows, plan.columns), dtype=np.int64)
    target = np.zeros((rows, plan.columns), dtype=np.int64)
    for column, (read, end) in enumerate(zip(plan.reads.tolist(), plan.ends.tolist())):
        source[: end - read, column] = inputs[read:end]
        target[: end - read, column] = ids[read:end]
    was_training = model.training
    model.eval()
    losses = []
    try:
        autocast = torch.autocast(torch.device(device).type, dtype=torch.bfloat16) if bf16 else nullcontext()
        with torch.no_grad(), autocast:
            x_all = torch.from_numpy(source).to(device)
            y_all = torch.from_numpy(target).to(device)
            state = None
            for row in range(0, rows, step):
                loss, state = next_token_losses(model, x_all[row : row + step], y_all[row : row + step], state)
                losses.append(loss.double().cpu().numpy())
    finally:
        model.train(was_training)
    table = np.concatenate(losses)
    return np.concatenate(
        [table[start - read : end - read, column] for column, (read, start, end) in enumerate(zip(plan.reads, plan.starts, plan.ends))]
    )
