#!/usr/bin/env python3
"""The transformer plugin against the LSTM preset for the same CPU time (issue 6): tinyshakespeare,
nanoGPT's 90/10 split, each trained for --minutes and scored on the validation text, side by side.

    bench/transformer.py [--minutes 5] [--device cpu] [--target 1.47]

Both runs are bench/neural-char.py's (the warm-up that sizes a cosine schedule to the budget, then
``textseq train --time-budget``, then ``textseq eval`` of the last checkpoint):

* lstm: char-medium with bench/neural-char.py's settings (batch 32, bptt 64, AdamW lr 0.002);
* transformer: ``--arch transformer`` with the config in TRANSFORMER (a CPU-sized model: 4 layers,
  4 heads, 192 wide, 128 tokens of context) and its own training settings (batch 32, bptt 128,
  AdamW lr 0.001, clip 1.0).

On a GPU (``--device cuda``) the transformer runs as nanoGPT's model (``transformer-char``, batch
64, bptt 256) and the figure is the time to --target (1.47 nats/char: nanoGPT's 1.4697). Needs
textseq-transformer installed (``pip install -e plugins/textseq-transformer``). Results go to
bench/out/transformer.json. A measurement, not a test: run it alone.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

from bench_scripts import load_script

CPU_TRANSFORMER = [
    "--arch",
    "transformer",
    "-c",
    "layers=4",
    "-c",
    "heads=4",
    "-c",
    "embedding_size=192",
    "-c",
    "block_size=128",
    "--batch-size",
    "32",
    "--bptt",
    "128",
    "--lr",
    "0.001",
    "--clip",
    "1.0",
]
GPU_TRANSFORMER = ["--arch", "transformer-char", "--batch-size", "64", "--bptt", "256", "--lr", "0.001", "--clip", "1.0", "--bf16"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=5.0)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--target", type=float, default=1.47)
    args = parser.parse_args()
    bench = load_script("neural-char")
    transformer = CPU_TRANSFORMER if args.device == "cpu" else GPU_TRANSFORMER
    # -c options repeat, so they go after the --key value pairs that neural-char merges
    options = [o for pair in zip(transformer[::2], transformer[1::2]) if pair[0] != "-c" for o in pair]
    configs = [o for pair in zip(transformer[::2], transformer[1::2]) if pair[0] == "-c" for o in pair]
    runs = {
        "lstm": bench.measure("char-medium", args.minutes, args.device, [], args.target, stem="bench-lstm"),
        "transformer": bench.measure(options[1], args.minutes, args.device, options[2:] + configs, args.target, stem="bench-transformer"),
    }
    out = sys.stdout
    out.write(f"tinyshakespeare, nanoGPT's split, {args.minutes:g} minutes of training each on {args.device}\n")
    out.write(f"{'':12} {'valid loss':>10} {'bits/char':>9} {'steps':>6} {'chars/s':>9}  first <= {args.target}\n")
    for name, run in runs.items():
        reached = run["reached"]
        when = f"epoch {reached['epoch']}, {reached['train_s']:,.0f} s" if reached else "not reached"
        out.write(
            f"{name:12} {run['final_valid_loss']:10.4f} {run['final_valid_loss'] / 0.6931471805599453:9.4f} {run['steps']:6,} "
            f"{run['chars_per_s']:9,.0f}  {when}\n"
        )
    ratio = runs["transformer"]["final_valid_loss"] / runs["lstm"]["final_valid_loss"]
    out.write(f"transformer / lstm validation loss: {ratio:.3f}\n")
    bench.OUT.mkdir(parents=True, exist_ok=True)
    (bench.OUT / "transformer.json").write_text(json.dumps({**runs, "date": time.strftime("%Y-%m-%d")}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
