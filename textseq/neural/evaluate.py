"""Perplexity and bits per character of a neural model on a text, in the n-gram report's terms.

Every token is scored, the first one after an end of line, so the counts are those of
``textseq eval`` on an n-gram model: words and ``</s>`` at the word level (``<unk>`` tokens are
the OOVs), characters at the character level (bits per character reported too).
"""

from __future__ import annotations

import math
from typing import Any

from textseq.neural.codec import Codec
from textseq.neural.train import stream_loss


def evaluate(model: Any, codec: Codec, blocks: Any, device: Any) -> dict[str, Any]:
    ids = codec.encode(blocks)
    if not len(ids):
        raise ValueError("no tokens to score")
    start = codec.eos_id if codec.eos_id >= 0 else codec.index.get("\n", 0)
    total, count, per_token = stream_loss(model, ids, device, batch_size=1, start_token=start)
    oov = ids == 0
    oov_nats = float(per_token[oov].sum())
    in_vocab = count - int(oov.sum())
    report: dict[str, Any] = {
        "level": codec.level,
        "tokens": count,
        "oovs": int(oov.sum()),
        "sentences": int((ids == codec.eos_id).sum()) if codec.eos_id >= 0 else int((ids == codec.index.get("\n", -1)).sum()),
        "log10_prob": -total / math.log(10.0),
        "log10_prob_oov": -oov_nats / math.log(10.0),
        "loss": total / count,
        "perplexity": math.exp(min(total / count, 700.0)),
        "perplexity_excluding_oovs": math.exp(min((total - oov_nats) / max(in_vocab, 1), 700.0)),
    }
    if codec.level == "char":
        report["bits_per_character"] = total / count / math.log(2.0)
    return report
