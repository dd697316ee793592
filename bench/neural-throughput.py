#!/usr/bin/env python3
"""Training throughput with and without bf16 autocast (issue 5: "tokens/s with and without bf16").

    bench/neural-throughput.py [--device cuda] [--steps 200] [--repeats 3]

For each model, ``textseq train --max-steps STEPS --log FILE`` on tinyshakespeare's training part
(nanoGPT's split, as bench/neural-char.py writes it), in float32 and with ``--bf16`` by turns, REPEATS
times each, and the median tokens per second over the steps after the first 10 (start-up, cuDNN's
planning and the allocator's first growth left out). Runs of a few hundred milliseconds on a shared
machine moved by 2x from one call to the next, hence the turns and the median. The models: char-medium (2x512 LSTM, batch 32 x bptt 64, its recipe),
char-large (3x1024 LSTM, batch 64 x bptt 128) and, where textseq-transformer is installed,
transformer-char (nanoGPT's 6x384, batch 32 x bptt 256). Prints one row a model with the ratio
bf16 / float32. Needs a CUDA device (bf16 autocast is CUDA-only): where torch sees none, it says so
and measures nothing. A measurement, not a test: run it alone. Results go to
bench/out/neural-throughput.json.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench_scripts import load_script

MODELS: list[tuple[str, list[str]]] = [
    ("char-medium", ["--arch", "char-medium", "--batch-size", "32", "--bptt", "64"]),
    ("char-large", ["--arch", "char-large", "--batch-size", "64", "--bptt", "128"]),
    ("transformer-char", ["--arch", "transformer-char", "--batch-size", "32", "--bptt", "256", "--lr", "0.001", "--clip", "1"]),
]
SKIPPED = 10


def tokens_per_second(textseq: list[str], options: list[str], train: Path, steps: int, device: str, bf16: bool) -> float:
    with tempfile.TemporaryDirectory(prefix="bench-throughput-") as scratch:
        log = Path(scratch) / "log.jsonl"
        command = [
            *textseq,
            "train",
            "--level",
            "char",
            *options,
            "--max-steps",
            str(steps),
            "--device",
            device,
            "--seed",
            "1",
            *(["--bf16"] if bf16 else []),
            "--log",
            str(log),
            "-q",
            "-O",
            str(Path(scratch) / "m.pt"),
            str(train),
        ]
        subprocess.run(command, check=True)
        times = [entry["time"] for entry in map(json.loads, log.read_text().splitlines()) if "loss" in entry]
    batch, bptt = int(options[options.index("--batch-size") + 1]), int(options[options.index("--bptt") + 1])
    return (len(times) - 1 - SKIPPED) * batch * bptt / (times[-1] - times[SKIPPED])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    if args.steps <= SKIPPED + 1:
        parser.error(f"--steps must be more than {SKIPPED + 1}")
    import torch

    if args.device.startswith("cuda") and not torch.cuda.is_available():
        print("bench/neural-throughput.py: skipped: torch sees no CUDA device (bf16 autocast is CUDA-only)", file=sys.stderr)
        return 0
    bench = load_script("neural-char")
    textseq = bench.textseq_command()
    train = bench.split()[0]
    known = subprocess.run([*textseq, "plugins", "--json"], capture_output=True, text=True).stdout
    rows = []
    for name, options in MODELS:
        if name not in known:
            print(f"{name}: not installed, skipped", file=sys.stderr)
            continue
        runs: dict[bool, list[float]] = {False: [], True: []}
        for _ in range(args.repeats):
            for bf16 in (False, True):
                runs[bf16].append(tokens_per_second(textseq, options, train, args.steps, args.device, bf16))
        fp32, bf16 = statistics.median(runs[False]), statistics.median(runs[True])
        rows.append(
            {
                "model": name,
                "options": options,
                "fp32_tokens_per_s": fp32,
                "bf16_tokens_per_s": bf16,
                "ratio": bf16 / fp32,
                "runs": {"fp32": runs[False], "bf16": runs[True]},
            }
        )
        print(
            f"{name:18} {' '.join(options[2:]):45} float32 {fp32:>10,.0f} tok/s   bf16 {bf16:>10,.0f} tok/s   bf16/float32 {bf16 / fp32:.2f}"
        )
    bench.OUT.mkdir(parents=True, exist_ok=True)
    (bench.OUT / "neural-throughput.json").write_text(
        json.dumps({"device": args.device, "steps": args.steps, "date": time.strftime("%Y-%m-%d"), "rows": rows}, indent=2) + "\n"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
