#!/usr/bin/env python3
"""``textseq eval`` of a character checkpoint: the stream scored in parallel columns (the default)
next to token by token (``--exact``, batch 1), in one run: the speed-up and the difference in the
mean loss.

    bench/neural-eval.py [--model bench/data/neural-char.pt] [--contexts 50,100,200,400] [--threads N] [--bf16]

The model is bench/neural-char.py's char-medium checkpoint if it exists, else one trained here
for ``--train-minutes`` (5) on the same split (the first 90% of tinyshakespeare; a trained model,
because how much history a column's warm-up must give depends on how much the model uses). The
text is the split's last 10% (111,540 characters), written to bench/data/shakespeare-valid.txt as
bench/neural-char.py writes it.

Each figure is one ``textseq eval MODEL TEXT --json`` process, timed from start to exit, and the
scoring's share of it: that time less the start-up (torch's import, the checkpoint), the best of 3
runs of the same command on the text's first 100 characters. ``--exact`` runs once, then the
default, each ``--context N`` and, with ``--bf16``, the default under ``--bf16``. The target
(issue 17): the default at least 10x as fast as ``--exact`` on CPU, its mean loss within 1e-3
nats. Results go to bench/out/neural-eval.json.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "bench" / "data"
OUT = ROOT / "bench" / "out"
SHAKESPEARE = ROOT.parent / "shared" / "corpora" / "tinyshakespeare" / "input.txt"


def textseq_command() -> list[str]:
    script = shutil.which("textseq")
    return [script] if script else [sys.executable, "-m", "textseq"]


def split() -> tuple[Path, Path]:
    text = SHAKESPEARE.read_text(encoding="utf-8")
    cut = int(len(text) * 0.9)
    DATA.mkdir(parents=True, exist_ok=True)
    train, valid = DATA / "shakespeare-train.txt", DATA / "shakespeare-valid.txt"
    for path, part in ((train, text[:cut]), (valid, text[cut:])):
        if not path.exists() or path.read_text(encoding="utf-8") != part:
            path.write_text(part, encoding="utf-8")
    return train, valid


def trained_model(textseq: list[str], train: Path, valid: Path, minutes: float) -> Path:
    model = DATA / "neural-eval.pt"
    if not model.exists():
        subprocess.run(
            [
                *textseq,
                "train",
                "--arch",
                "char-medium",
                "--level",
                "char",
                "--valid",
                str(valid),
                "--time-budget",
                f"{minutes}m",
                "-q",
                "-O",
                str(model),
                str(train),
            ],
            check=True,
        )
    return model


def timed_eval(textseq: list[str], model: Path, text: Path, options: list[str], threads: int | None) -> tuple[float, dict[str, float]]:
    extra = ["--threads", str(threads)] if threads else []
    started = time.perf_counter()
    done = subprocess.run([*textseq, "eval", str(model), str(text), "--json", *extra, *options], capture_output=True, text=True, check=True)
    return time.perf_counter() - started, json.loads(done.stdout)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, default=None)
    parser.add_argument("--contexts", default="50,100,200,400", help="--context values to measure besides the default")
    parser.add_argument("--threads", type=int, default=None, help="textseq eval --threads (default: its own, the idle cores)")
    parser.add_argument("--train-minutes", type=float, default=5.0)
    parser.add_argument("--bf16", action="store_true", help="also the default under --bf16 (a CPU with native bfloat16)")
    args = parser.parse_args()
    if not SHAKESPEARE.exists():
        print(f"no {SHAKESPEARE}: nothing to measure", file=sys.stderr)
        return 0
    textseq = textseq_command()
    train, valid = split()
    model = args.model or (
        DATA / "neural-char.pt" if (DATA / "neural-char.pt").exists() else trained_model(textseq, train, valid, args.train_minutes)
    )
    tiny = DATA / "shakespeare-valid-100.txt"
    tiny.write_text(valid.read_text(encoding="utf-8")[:100], encoding="utf-8")
    start_up = min(timed_eval(textseq, model, tiny, [], args.threads)[0] for _ in range(3))
    exact_time, exact = timed_eval(textseq, model, valid, ["--exact"], args.threads)
    exact_scoring = exact_time - start_up
    rows = [
        {
            "setting": "--exact (batch 1)",
            "seconds": exact_time,
            "loss": exact["loss"],
            "speedup": 1.0,
            "scoring": exact_scoring,
            "scoring_speedup": 1.0,
            "difference": 0.0,
        }
    ]
    runs: list[tuple[str, list[str]]] = [("default", [])]
    runs += [(f"--context {n}", ["--context", n]) for n in args.contexts.split(",") if n]
    if args.bf16:
        runs.append(("--bf16", ["--bf16"]))
    for name, options in runs:
        seconds, report = timed_eval(textseq, model, valid, options, args.threads)
        rows.append(
            {
                "setting": name,
                "seconds": seconds,
                "loss": report["loss"],
                "speedup": exact_time / seconds,
                "scoring": seconds - start_up,
                "scoring_speedup": exact_scoring / max(seconds - start_up, 1e-9),
                "difference": report["loss"] - exact["loss"],
            }
        )
    print(f"{model} on {valid} ({exact['tokens']:,} characters); start-up (the same command on 100 characters) {start_up:.2f} s")
    print(f"{'setting':<20} {'seconds':>8} {'speed-up':>9} {'scoring':>8} {'speed-up':>9} {'loss (nats)':>12} {'difference':>11}")
    for row in rows:
        print(
            f"{row['setting']:<20} {row['seconds']:>8.2f} {row['speedup']:>8.1f}x {row['scoring']:>8.2f} {row['scoring_speedup']:>8.1f}x"
            f" {row['loss']:>12.6f} {row['difference']:>+11.2e}"
        )
    OUT.mkdir(parents=True, exist_ok=True)
    report = {"model": str(model), "tokens": exact["tokens"], "start_up": start_up, "rows": rows}
    (OUT / "neural-eval.json").write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
