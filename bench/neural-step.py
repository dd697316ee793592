#!/usr/bin/env python3
"""A word model's CPU training step and scoring with the decoder fused into the softmax
(textseq/neural/loss.py) against torch's own way (logits, then ``F.cross_entropy``, as PyTorch's
word_language_model example does), in one process, on the same data.

    bench/neural-step.py [--threads 2] [--steps 20] [--repeats 5]

The network is ``word-medium`` (2x200 LSTM, tied, dropout 0.5) on bench/neural.py's aligned wt2s
(13,777 words, batch 20 x bptt 35). Training: two :class:`textseq.neural.train.Trainer` from the
same weights, one taking torch's way (``textseq.neural.loss.fuses`` patched to say no), taking
turns of STEPS steps, REPEATS turns each, each keeping its fastest turn (bench/peephole.py's
runner). Scoring: ``score_tokens`` of the 244,102 test tokens (256 columns, what each validation
and ``eval`` do) once each way, and the two mean losses. Both ways run with what ``textseq
train`` sets up on CPU (glibc keeping freed blocks: textseq/neural/allocator.py). Results go to
bench/out/neural-step.json. A measurement, not a test: run it alone.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from contextlib import nullcontext
from unittest import mock

from bench_scripts import load_script


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    import numpy as np
    import torch

    import textseq.neural.loss as loss
    from textseq.neural.allocator import keep_freed_memory
    from textseq.neural.codec import Codec
    from textseq.neural.config import resolve_config
    from textseq.neural.scoring import score_tokens

    torch.set_num_threads(args.threads)
    keep_freed_memory()
    bn, peephole = load_script("neural"), load_script("peephole")
    _, aligned, _ = bn.make_data()
    codec, ids = Codec.build("word", [(aligned / "train.txt").read_text(encoding="utf-8")])
    test_ids = codec.encode([(aligned / "test.txt").read_text(encoding="utf-8")])
    config = resolve_config("word-medium")
    size = {"batch": 20, "bptt": 35}
    device = torch.device("cpu")
    ways = {"fused": nullcontext, "torch": lambda: mock.patch.object(loss, "fuses", return_value=False)}
    runners = [peephole.Runner(name, dict(config), codec, ids, size, device, patch) for name, patch in ways.items()]
    for runner in runners:
        runner.steps(peephole.WARMUP)
    turns: dict[str, list[float]] = {runner.name: [] for runner in runners}
    for _ in range(args.repeats):
        for runner in runners:
            turns[runner.name].append(runner.steps(args.steps))
    best = {name: max(values) for name, values in turns.items()}
    scoring: dict[str, dict[str, float]] = {}
    model = runners[0].model
    for name, patch in ways.items():
        with patch():
            started = time.perf_counter()
            nll = score_tokens(model, np.asarray(test_ids), device, start_token=max(codec.line_end_id, 0))
            scoring[name] = {"seconds": time.perf_counter() - started, "mean_loss": float(nll.mean()), "tokens": len(nll)}
    print(f"word-medium on wt2s, {codec.vocab_size:,} words, {args.threads} threads")
    print(f"training tokens/s (best of {args.repeats} turns of {args.steps} steps): fused {best['fused']:,.0f}, torch {best['torch']:,.0f}")
    print(f"  fused / torch: {best['fused'] / best['torch']:.2f}x")
    print(
        f"scoring {scoring['fused']['tokens']:,} test tokens: fused {scoring['fused']['seconds']:.1f} s, torch {scoring['torch']['seconds']:.1f} s "
        f"({scoring['torch']['seconds'] / scoring['fused']['seconds']:.2f}x); mean losses differ by "
        f"{scoring['fused']['mean_loss'] - scoring['torch']['mean_loss']:+.2e} nats"
    )
    bn.OUT.mkdir(parents=True, exist_ok=True)
    (bn.OUT / "neural-step.json").write_text(
        json.dumps({"threads": args.threads, "turns": turns, "best": best, "scoring": scoring, "date": time.strftime("%Y-%m-%d")}, indent=2)
        + "\n"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
