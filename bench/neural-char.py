#!/usr/bin/env python3
"""A character-level preset against the clock: tinyshakespeare, how low the validation loss gets
in a fixed training time on this machine (issue 5: <= 1.50 nats/char within 20 minutes on CPU).

    bench/neural-char.py [--arch char-medium] [--minutes 20] [--device cpu] [-- EXTRA TRAIN OPTIONS]

The split is nanoGPT's (data/shakespeare_char/prepare.py): the first 90% of the characters of
../shared/corpora/tinyshakespeare/input.txt to train on, the last 10% to validate on, written to
bench/data/shakespeare-{train,valid}.txt. The script runs

    textseq train --arch ARCH --level char --valid valid.txt --time-budget MINUTES
                  --batch-size 32 --bptt 64 --optimizer adamw --lr 0.002 --schedule cosine
                  --epochs EPOCHS --seed 1 --device DEVICE --log FILE -O bench/data/neural-char.pt train.txt

with EPOCHS worked out from a short measured warm-up so that the cosine schedule ends when the
time does, at most MAX_EPOCHS (--epochs given after -- overrides it), then scores the last checkpoint on the
validation text with ``textseq eval --json``. It prints the validation loss after each epoch with
the training time it took to get there, the first time the loss went under the target, and the
final figure. The reference is nanoGPT's own: its character-level Shakespeare baseline (a 6-layer
transformer on a GPU) reports 1.4697 on the same split; on CPU its README's small configuration
reports about 1.88 after ~3 minutes. Results go to bench/out/neural-char.json.

This is a measurement, not a test: the time is the machine's, so run it alone (nothing else
using the CPU).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT.parent / "shared" / "corpora" / "tinyshakespeare" / "input.txt"
DATA = ROOT / "bench" / "data"
OUT = ROOT / "bench" / "out"
TRAIN_DEFAULTS = ["--batch-size", "32", "--bptt", "64", "--optimizer", "adamw", "--lr", "0.002", "--schedule", "cosine", "--seed", "1"]


def textseq_command() -> list[str]:
    script = shutil.which("textseq")
    return [script] if script else [sys.executable, "-m", "textseq"]


def split() -> tuple[Path, Path, int, int]:
    text = SOURCE.read_text(encoding="utf-8")
    cut = int(len(text) * 0.9)
    train, valid = DATA / "shakespeare-train.txt", DATA / "shakespeare-valid.txt"
    DATA.mkdir(parents=True, exist_ok=True)
    for path, part in ((train, text[:cut]), (valid, text[cut:])):
        if not path.exists() or path.read_text(encoding="utf-8") != part:
            path.write_text(part, encoding="utf-8")
    return train, valid, cut, len(text) - cut


def read_log(path: Path) -> tuple[list[dict], list[dict]]:
    steps, validations = [], []
    for line in path.read_text().splitlines():
        entry = json.loads(line)
        (steps if "loss" in entry else validations).append(entry)
    return steps, validations


def warm_up_rate(textseq: list[str], base: list[str], train: Path) -> float:
    """Training characters per second over 20 steps after 3 (the cosine schedule's length is set from it)."""
    with tempfile.TemporaryDirectory(prefix="bench-char-") as scratch:
        log = Path(scratch) / "log.jsonl"
        subprocess.run(
            [*textseq, "train", *base, "--max-steps", "23", "--log", str(log), "-q", "-O", str(Path(scratch) / "m.pt"), str(train)],
            check=True,
        )
        steps, _ = read_log(log)
    return 20 * batch_chars(base) / (steps[-1]["time"] - steps[2]["time"])


def batch_chars(base: list[str]) -> int:
    return int(base[base.index("--batch-size") + 1]) * int(base[base.index("--bptt") + 1])


def merged(options: list[str]) -> list[str]:
    """``--key value`` pairs and ``--flag`` switches, a later value of a key replacing an earlier
    one (in its place); ``-c KEY=VALUE`` pairs, which repeat, all kept."""
    pairs: dict[str, str | None] = {}
    configs: list[str] = []
    i = 0
    while i < len(options):
        key = options[i]
        value = options[i + 1] if i + 1 < len(options) and not options[i + 1].startswith("--") else None
        if key == "-c" and value is not None:
            configs += [key, value]
        else:
            pairs[key] = value
        i += 1 if value is None else 2
    return [part for key, value in pairs.items() for part in ((key,) if value is None else (key, value))] + configs


MAX_EPOCHS = 20
"""The most epochs the warm-up sizes a run to: on a GPU five minutes hold about 80 passes over
tinyshakespeare, and every model measured overfits it long before (bench/README.md)."""


def measure(arch: str, minutes: float, device: str, extra: list[str], target: float, stem: str = "neural-char") -> dict:
    """Train ``arch`` for ``minutes`` on nanoGPT's split and score the last checkpoint: the curve,
    the final validation loss and the speed; the checkpoints are bench/data/STEM.pt and STEM.last.pt."""
    textseq = textseq_command()
    train, valid, train_chars, valid_chars = split()
    model = DATA / f"{stem}.pt"
    last = DATA / f"{stem}.last.pt"
    for stale in (model, last):
        stale.unlink(missing_ok=True)
    base = merged(["--arch", arch, "--level", "char", "--valid", str(valid), *TRAIN_DEFAULTS, "--device", device, *extra])
    if "--epochs" not in extra:
        rate = warm_up_rate(textseq, base, train)
        epoch_seconds = train_chars / rate * 1.02 + valid_chars / (3 * rate)
        fit = max(1, int(minutes * 60 / epoch_seconds))
        epochs = min(fit, MAX_EPOCHS)
        print(
            f"warm-up: {rate:,.0f} chars/s -> {fit} epochs fit in {minutes:g} minutes"
            + (f"; {epochs} run (more overfit)" if epochs < fit else ""),
            file=sys.stderr,
        )
        base += ["--epochs", str(epochs)]
    with tempfile.TemporaryDirectory(prefix="bench-char-") as scratch:
        log = Path(scratch) / "log.jsonl"
        command = [*textseq, "train", *base, "--time-budget", f"{minutes * 60:g}s", "--log", str(log), "-O", str(model), str(train)]
        print(" ".join(command), file=sys.stderr)
        started = time.perf_counter()
        subprocess.run(command, check=True)
        wall = time.perf_counter() - started
        steps, validations = read_log(log)
    scored = subprocess.run([*textseq, "eval", str(last), str(valid), "--json"], capture_output=True, text=True, check=True)
    report = json.loads(scored.stdout)
    start = steps[0]["time"]
    curve = [{"epoch": v["epoch"], "train_s": round(v["time"] - start, 1), "valid_loss": v["valid_loss"]} for v in validations]
    trained = steps[-1]["time"] - start
    best = min([report["loss"]] + [c["valid_loss"] for c in curve])
    return {
        "arch": arch,
        "command": command,
        "curve": curve,
        "final_valid_loss": report["loss"],
        "steps": len(steps),
        "train_s": trained,
        "chars_per_s": (len(steps) - 1) * batch_chars(base) / trained if len(steps) > 1 else float("nan"),
        "wall_s": wall,
        "target": target,
        "met": best <= target,
        "reached": next((c for c in curve if c["valid_loss"] <= target), None),
        "train_chars": train_chars,
        "valid_chars": valid_chars,
        "minutes": minutes,
        "device": device,
        "cpus": os.cpu_count(),
        "date": time.strftime("%Y-%m-%d"),
        "eval": report,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--arch", default="char-medium")
    parser.add_argument("--minutes", type=float, default=20.0)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--target", type=float, default=1.50, help="nats/char (default 1.50)")
    parser.add_argument("extra", nargs="*", help="more textseq train options, after --")
    args = parser.parse_args()

    result = measure(args.arch, args.minutes, args.device, args.extra, args.target)
    final, reached = result["final_valid_loss"], result["reached"]
    out = sys.stdout
    out.write(
        f"tinyshakespeare, nanoGPT's split: {result['train_chars']:,} chars to train on, {result['valid_chars']:,} to validate on; "
        f"{args.arch}, {args.device}, {os.cpu_count()} CPUs, budget {args.minutes:g} min\n"
    )
    for c in result["curve"]:
        out.write(f"  epoch {c['epoch']}: valid loss {c['valid_loss']:.4f} nats/char after {c['train_s']:,.0f} s\n")
    out.write(
        f"final     valid loss {final:.4f} nats/char ({final / 0.6931471805599453:.4f} bits/char) of the last checkpoint, "
        f"{result['steps']:,} steps in {result['train_s']:,.0f} s, {result['chars_per_s']:,.0f} chars/s, wall {result['wall_s']:,.0f} s\n"
    )
    out.write(
        f"target    <= {args.target:.2f} nats/char within {args.minutes:g} minutes: {'met' if result['met'] else 'not met'}"
        + (f" (first under it at epoch {reached['epoch']}, {reached['train_s']:,.0f} s)" if reached else "")
        + "\n"
    )
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "neural-char.json").write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
