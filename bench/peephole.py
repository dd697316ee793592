#!/usr/bin/env python3
"""Training throughput of the peephole LSTM against torch's fused LSTM (issue 17: "training tokens/s
on CPU >= 0.5x the fused lstm's at the same size").

    bench/peephole.py [--threads 2] [--steps 20] [--repeats 3] [--device cpu] [--sizes char-256,char-512,word-200] [--addmm]

For each size, two networks of the same config, ``lstm`` and ``lstm -c peephole=true``, each with
its own :class:`textseq.neural.train.Trainer` (textseq's training step: forward, cross-entropy,
backward, clipping, AdamW) over the same batched stream of tinyshakespeare's training part
(nanoGPT's split, as bench/neural-char.py writes it). After a few warm-up steps each, the two take
turns: STEPS timed steps of one, then STEPS of the other, REPEATS times, and each keeps its
fastest turn (tokens per second). On a shared machine a turn's speed moves by 2x from one second to
the next; turns side by side and the best of them make the ratio mean something. The sizes:

* ``char-256``, ``char-512``: 2 layers of 256 or 512, embedding 128, batch 32 x bptt 64, characters
  (char-small and char-medium's shapes);
* ``word-200``: 2 layers of 200, embedding 200, tied, batch 20 x bptt 35, words, the 10,000 most
  frequent (word-medium's shape, with a 10k softmax).

``--addmm`` adds a third network, the peephole LSTM with its products (and its decoder's) through
torch's general matrix product instead of oneDNN's (what it does off CPU). Prints one row a size with the ratio
peephole / lstm; results go to bench/out/peephole.json. A measurement, not a test.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Any
from unittest import mock

from bench_scripts import load_script

SIZES: dict[str, dict[str, Any]] = {
    "char-256": {
        "level": "char",
        "config": {"embedding_size": 128, "hidden_size": 256, "layers": 2, "dropout": 0.1},
        "batch": 32,
        "bptt": 64,
    },
    "char-512": {
        "level": "char",
        "config": {"embedding_size": 128, "hidden_size": 512, "layers": 2, "dropout": 0.2},
        "batch": 32,
        "bptt": 64,
    },
    "word-200": {
        "level": "word",
        "config": {"embedding_size": 200, "hidden_size": 200, "layers": 2, "dropout": 0.2, "tie_weights": True},
        "batch": 20,
        "bptt": 35,
        "vocab": 10_000,
    },
}
WARMUP = 3


class Runner:
    """One network and its trainer, stepping through the stream window after window."""

    def __init__(
        self,
        name: str,
        config: dict[str, Any],
        codec: Any,
        ids: Any,
        size: dict[str, Any],
        device: Any,
        patch: Callable[[], AbstractContextManager[Any]],
    ) -> None:
        import numpy as np
        import torch

        from textseq.neural.data import windows
        from textseq.neural.models import build
        from textseq.neural.settings import TrainSettings
        from textseq.neural.train import Trainer

        torch.manual_seed(1)
        self.name, self.patch = name, patch
        self.model = build("lstm", config, codec.vocab_size).to(device)
        settings = TrainSettings(
            batch_size=size["batch"], bptt=size["bptt"], epochs=1, optimizer="adamw", lr=0.002, schedule="none", seed=1
        )
        self.scratch = tempfile.TemporaryDirectory(prefix="bench-peephole-")
        self.trainer = Trainer(
            self.model,
            codec,
            ids,
            np.empty(0, np.int64),
            settings,
            arch="lstm",
            config=config,
            output=str(Path(self.scratch.name) / "m.pt"),
            device=device,
        )
        self.tokens = size["batch"] * size["bptt"]

        def cycle() -> Iterator[tuple[int, Any, Any]]:
            while True:
                for row, x, y in windows(self.trainer.data, size["bptt"]):
                    if x.size(0) == size["bptt"]:
                        yield row, x, y

        self.windows = cycle()
        self.model.train()

    def steps(self, count: int) -> float:
        """Tokens per second over ``count`` steps."""
        with self.patch():
            started = time.perf_counter()
            for _ in range(count):
                self.trainer.step(*next(self.windows))
            return count * self.tokens / (time.perf_counter() - started)


def measure(size_name: str, args: argparse.Namespace, train_text: str) -> dict[str, Any]:
    import torch

    import textseq.neural.onednn as onednn
    from textseq.neural.codec import Codec

    size = SIZES[size_name]
    codec, ids = Codec.build(size["level"], [train_text], max_size=size.get("vocab"))
    device = torch.device(args.device)
    plain: Callable[[], AbstractContextManager[Any]] = nullcontext
    runners = [
        Runner("lstm", dict(size["config"]), codec, ids, size, device, plain),
        Runner("peephole", {**size["config"], "peephole": True}, codec, ids, size, device, plain),
    ]
    if args.addmm:
        runners.append(
            Runner(
                "peephole-addmm",
                {**size["config"], "peephole": True},
                codec,
                ids,
                size,
                device,
                lambda: mock.patch.object(onednn, "applies", return_value=False),
            )
        )
    for runner in runners:
        runner.steps(WARMUP)
    turns: dict[str, list[float]] = {runner.name: [] for runner in runners}
    for _ in range(args.repeats):
        for runner in runners:
            turns[runner.name].append(runner.steps(args.steps))
    best = {name: max(values) for name, values in turns.items()}
    return {
        "size": size_name,
        "level": size["level"],
        "vocab": codec.vocab_size,
        "config": size["config"],
        "batch_size": size["batch"],
        "bptt": size["bptt"],
        "tokens_per_s": best,
        "ratio": best["peephole"] / best["lstm"],
        "turns": turns,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=2, help="torch's threads (default 2)")
    parser.add_argument("--steps", type=int, default=20, help="timed training steps a turn (default 20)")
    parser.add_argument("--repeats", type=int, default=3, help="turns of each network (default 3; each keeps its best)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--sizes", default=",".join(SIZES), help=f"comma-separated, of {', '.join(SIZES)}")
    parser.add_argument("--addmm", action="store_true", help="also the peephole LSTM without oneDNN's products")
    args = parser.parse_args()
    sizes = [name.strip() for name in args.sizes.split(",") if name.strip()]
    unknown = [name for name in sizes if name not in SIZES]
    if unknown or args.steps < 1 or args.repeats < 1 or args.threads < 1:
        parser.error(f"unknown size {unknown[0]!r}" if unknown else "--steps, --repeats and --threads must be >= 1")
    import torch

    if args.device.startswith("cuda") and not torch.cuda.is_available():
        print("bench/peephole.py: skipped: torch sees no CUDA device", file=sys.stderr)
        return 0
    torch.set_num_threads(args.threads)
    bench = load_script("neural-char")
    train_text = bench.split()[0].read_text(encoding="utf-8")
    rows = []
    header = (
        f"{'size':9} {'shape':34} {'lstm tok/s':>11} {'peephole tok/s':>15}"
        + (f" {'addmm tok/s':>12}" if args.addmm else "")
        + "  peephole/lstm"
    )
    print(header)
    for name in sizes:
        row = measure(name, args, train_text)
        rows.append(row)
        config, speeds = row["config"], row["tokens_per_s"]
        shape = (
            f"{config['layers']}x{config['hidden_size']} E{config['embedding_size']} V{row['vocab']:,} B{row['batch_size']}xT{row['bptt']}"
        )
        addmm = f" {speeds['peephole-addmm']:>12,.0f}" if args.addmm else ""
        print(f"{name:9} {shape:34} {speeds['lstm']:>11,.0f} {speeds['peephole']:>15,.0f}{addmm}  {row['ratio']:.2f}", flush=True)
    bench.OUT.mkdir(parents=True, exist_ok=True)
    summary = {
        "device": args.device,
        "threads": args.threads,
        "steps": args.steps,
        "repeats": args.repeats,
        "torch": torch.__version__,
        "date": time.strftime("%Y-%m-%d"),
        "rows": rows,
    }
    (bench.OUT / "peephole.json").write_text(json.dumps(summary, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
