#!/usr/bin/env python3
"""Neural classifiers on debian-packages against fastText's best setting, one candidate at a time.

    bench/classify-neural.py [--budget 10m] [--threads 1] [--name NAME] -- ARCH [classify train options ...]
    bench/classify-neural.py --table
    bench/classify-neural.py --recipe [--threads 1] [--epochs 6]

Each run is ``textseq classify train train.txt --valid valid.txt --arch ARCH --time-budget BUDGET
--threads N --log LOG -O MODEL [options]`` then ``textseq classify test MODEL test.txt --json``;
it prints and appends to bench/out/classify-neural.jsonl one row: the options, the epochs done
(whole and the partial one), the best validation accuracy, test P@1, the training command's wall
time (reading and tokenizing included; the budget counts the epochs and their validations only),
and the load average before and after (the machine is shared: a figure means little without it).
``--table`` prints the rows gathered so far as a markdown table.

``--recipe`` is the best found, timed whole within 10 minutes (the vectors' training counted):

    sed -E 's/(^| )__label__[^ ]+//g' train.txt | textseq tokenize > train.tok
    textseq embed train --dim 128 --epochs 5 --min-count 2 --threads 1 -O train-128.vec train.tok
    textseq classify train train.txt --valid valid.txt --arch lstm --vectors train-128.vec \
        --epochs 6 --threads 1 --time-budget REST -O lstm.tsc
    textseq classify test lstm.tsc test.txt

(REST: what is left of the 10 minutes after the vectors, less 30 s for reading and tokenizing:
a guard that a loaded machine may reach; the run then keeps the best validated weights.) The bar is fastText's best
setting, ``-epoch 25 -lr 0.5 -wordNgrams 2``: test P@1 0.730 in 55 s on 2 threads (issue 16).

The data is ../shared/corpora/debian-packages/{train,valid,test}.txt; models go to
bench/data/classify-neural/.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT.parent / "shared" / "corpora" / "debian-packages"
MODELS = ROOT / "bench" / "data" / "classify-neural"
RESULTS = ROOT / "bench" / "out" / "classify-neural.jsonl"
FASTTEXT_BEST = 0.730


def _textseq(*args: str) -> list[str]:
    return [sys.executable, "-m", "textseq", *args]


def run(arch: str, options: list[str], budget: str, threads: int, name: str) -> dict[str, object]:
    MODELS.mkdir(parents=True, exist_ok=True)
    model, log = MODELS / f"{name}.tsc", MODELS / f"{name}.log"
    log.unlink(missing_ok=True)
    train = _textseq(
        "classify", "train", str(CORPUS / "train.txt"), "--valid", str(CORPUS / "valid.txt"), "--arch", arch,
        "--time-budget", budget, "--threads", str(threads), "--log", str(log), "-O", str(model), "-q", *options,
    )  # fmt: skip
    load_before = os.getloadavg()[0]
    started = time.monotonic()
    subprocess.run(train, check=True, cwd=ROOT)
    seconds = time.monotonic() - started
    load_after = os.getloadavg()[0]
    epochs = _epochs(log)
    best = min(epochs, key=lambda entry: float(entry.get("valid_loss", entry["loss"])), default=None)
    tested = subprocess.run(
        _textseq("classify", "test", str(model), str(CORPUS / "test.txt"), "--json"), check=True, capture_output=True, text=True
    )
    report = json.loads(tested.stdout)
    row: dict[str, object] = {
        "name": name,
        "arch": arch,
        "options": " ".join(options),
        "budget": budget,
        "threads": threads,
        "epochs": len(epochs),
        "best_epoch": None if best is None else best["epoch"],
        "valid_accuracy": None if best is None else best.get("valid_accuracy"),
        "seconds_to_best": None if best is None else round(sum(float(e["seconds"]) for e in epochs[: best["epoch"]]), 1),
        "test_p_at_1": report["precision_at_1"],
        "seconds": round(seconds, 1),
        "load": [round(load_before, 2), round(load_after, 2)],
        "when": time.strftime("%Y-%m-%d %H:%M"),
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    with RESULTS.open("a") as out:
        out.write(json.dumps(row) + "\n")
    return row


def recipe(threads: int, epochs: int) -> dict[str, object]:
    """The tokenized training text, 128-dimensional skip-gram vectors on it, a BiLSTM from them
    (the recurrent defaults otherwise), its test P@1: each stage timed, and the whole."""
    import re

    MODELS.mkdir(parents=True, exist_ok=True)
    tokens, vectors, model, log = (MODELS / name for name in ("recipe.tok", "recipe-128.vec", "recipe.tsc", "recipe.log"))
    log.unlink(missing_ok=True)
    load_before = os.getloadavg()[0]
    started = time.monotonic()
    text = re.sub(r"(^| )__label__\S+", "", (CORPUS / "train.txt").read_text(), flags=re.MULTILINE)
    with tokens.open("w") as out:
        subprocess.run(_textseq("tokenize"), input=text, stdout=out, check=True, text=True)
    tokenized = time.monotonic()
    embed = ("embed", "train", "--dim", "128", "--epochs", "5", "--min-count", "2", "--threads", str(threads), "-O", str(vectors))
    subprocess.run(_textseq(*embed, "-q", str(tokens)), check=True)
    embedded = time.monotonic()
    rest = max(60, int(600 - (embedded - started) - 30))
    train = _textseq(
        "classify", "train", str(CORPUS / "train.txt"), "--valid", str(CORPUS / "valid.txt"), "--arch", "lstm",
        "--vectors", str(vectors), "--epochs", str(epochs), "--threads", str(threads), "--time-budget", f"{rest}s",
        "--log", str(log), "-O", str(model), "-q",
    )  # fmt: skip
    subprocess.run(train, check=True, cwd=ROOT)
    trained = time.monotonic()
    tested = subprocess.run(
        _textseq("classify", "test", str(model), str(CORPUS / "test.txt"), "--json"), check=True, capture_output=True, text=True
    )
    figures = _epochs(log)
    best = min(figures, key=lambda entry: float(entry["valid_loss"]))
    row: dict[str, object] = {
        "name": "recipe",
        "arch": "lstm",
        "options": f"--vectors recipe-128.vec --epochs {epochs} --time-budget {rest}s (vectors: --dim 128 --epochs 5 --min-count 2)",
        "budget": f"{rest}s",
        "threads": threads,
        "epochs": len(figures),
        "best_epoch": best["epoch"],
        "valid_accuracy": best["valid_accuracy"],
        "seconds_to_best": round(sum(float(e["seconds"]) for e in figures[: best["epoch"]]), 1),
        "test_p_at_1": json.loads(tested.stdout)["precision_at_1"],
        "seconds": round(trained - started, 1),
        "stages": {
            "tokenize": round(tokenized - started, 1),
            "vectors": round(embedded - tokenized, 1),
            "classify train": round(trained - embedded, 1),
        },
        "load": [round(load_before, 2), round(os.getloadavg()[0], 2)],
        "when": time.strftime("%Y-%m-%d %H:%M"),
    }
    with RESULTS.open("a") as out:
        out.write(json.dumps(row) + "\n")
    return row


def _epochs(log: Path) -> list[dict[str, float]]:
    return [json.loads(line) for line in log.read_text().splitlines() if line.strip()]


def table() -> str:
    rows = [json.loads(line) for line in RESULTS.read_text().splitlines() if line.strip()] if RESULTS.exists() else []
    lines = [
        "| name | arch | options | budget | threads | epochs | best epoch (its step s) | its valid acc | test P@1 | vs 0.730 | wall s | load |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        if "best_epoch" not in row:  # a row of an earlier version of this script: its figures from its log
            epochs = _epochs(MODELS / f"{row['name']}.log")
            best = min(epochs, key=lambda entry: float(entry["valid_loss"]))
            seconds = round(sum(float(e["seconds"]) for e in epochs[: best["epoch"]]), 1)
            row = {**row, "best_epoch": best["epoch"], "valid_accuracy": best["valid_accuracy"], "seconds_to_best": seconds}
        valid = "" if row["valid_accuracy"] is None else f"{row['valid_accuracy']:.3f}"
        p = float(row["test_p_at_1"])
        lines.append(
            f"| {row['name']} | {row['arch']} | `{row['options']}` | {row['budget']} | {row['threads']} | {row['epochs']} "
            f"| {row['best_epoch']} ({row['seconds_to_best']}) | {valid} | {p:.3f} | {p - FASTTEXT_BEST:+.3f} | {row['seconds']} "
            f"| {row['load'][0]}-{row['load'][1]} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--budget", default="10m", help="--time-budget of the training [10m]")
    parser.add_argument("--threads", type=int, default=1, help="--threads of the training [1]")
    parser.add_argument("--name", default=None, help="the run's name (model and log files) [arch and time]")
    parser.add_argument("--table", action="store_true", help="print the rows so far and stop")
    parser.add_argument("--recipe", action="store_true", help="time the best recipe whole: vectors, then the BiLSTM")
    parser.add_argument("--epochs", type=int, default=6, help="--epochs of the recipe's BiLSTM [6]")
    parser.add_argument("train", nargs="*", help="ARCH, then options of classify train")
    args = parser.parse_args()
    if args.recipe:
        print(json.dumps(recipe(args.threads, args.epochs)))
        return
    if args.table or not args.train:
        print(table())
        return
    arch, *options = args.train
    name = args.name or f"{arch}-{time.strftime('%H%M%S')}"
    row = run(arch, options, args.budget, args.threads, name)
    print(json.dumps(row))


if __name__ == "__main__":
    main()
