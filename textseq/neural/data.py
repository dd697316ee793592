"""Token streams cut for truncated backpropagation through time.

The stream is laid out in ``batch_size`` parallel columns (the tail that does not fill a row is
dropped, as PyTorch's word_language_model does), and read ``bptt`` rows at a time: each window's
targets are its inputs shifted by one, and the hidden state flows from one window to the next
(detached), so every column is one long sequence.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import torch


def batchify(ids: np.ndarray, batch_size: int, device: torch.device | str = "cpu") -> torch.Tensor:
    """``ids`` as a LongTensor [rows, batch_size], column after column of the stream."""
    import torch

    rows = len(ids) // batch_size
    if rows < 2:
        raise ValueError(f"too little text: {len(ids):,} tokens for batches of {batch_size} columns")
    data = torch.from_numpy(np.ascontiguousarray(ids[: rows * batch_size], dtype=np.int64))
    return data.view(batch_size, rows).t().contiguous().to(device)


def windows(data: torch.Tensor, bptt: int, start: int = 0) -> Iterator[tuple[int, torch.Tensor, torch.Tensor]]:
    """(row, inputs [T, B], targets [T, B]) for consecutive windows of at most ``bptt`` rows,
    from row ``start`` on."""
    for row in range(start, data.size(0) - 1, bptt):
        length = min(bptt, data.size(0) - 1 - row)
        yield row, data[row : row + length], data[row + 1 : row + 1 + length]


def window_count(data: torch.Tensor, bptt: int) -> int:
    return -(-(data.size(0) - 1) // bptt)
