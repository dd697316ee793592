#!/usr/bin/env python3
"""Test perplexity on wt2s over several seeds: textseq's word-medium next to PyTorch's
word_language_model example on the aligned text (the same token stream and vocabulary).

    bench/neural-seeds.py [--seeds 1,2,3] [--epochs 3] [--examples-dir DIR]

bench/neural.py measures speed and one seed's perplexity; one seed cannot tell a real difference
from the spread that dropout masks and initial weights give, so this script trains both sides
with each seed (the same settings as bench/neural.py: 2-layer LSTM 200/200, tied, dropout 0.2, bptt
35, batch 20, SGD lr 20, clip 0.25, lr / 4 on a plateau) and prints each seed's test perplexity,
then each side's mean and standard deviation and the difference of the means. Only perplexity is
measured, so the runs may share the machine with other work. Without the example (--examples-dir)
the reference is skipped with a note and textseq's seeds run alone. Results go to
bench/out/neural-seeds.json.
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


def textseq_ppl(bn, train: Path, test: Path, epochs: int, seed: int) -> float:
    with tempfile.TemporaryDirectory(prefix="bench-seeds-") as scratch:
        model = Path(scratch) / "m.pt"
        subprocess.run(
            [
                *bn.textseq_command(),
                "train",
                "--arch",
                "word-medium",
                "-c",
                "dropout=0.2",
                "--level",
                "word",
                "--valid",
                str(test),
                "--epochs",
                str(epochs),
                "--batch-size",
                str(bn.BATCH),
                "--bptt",
                str(bn.BPTT),
                "--optimizer",
                "sgd",
                "--lr",
                "20",
                "--clip",
                "0.25",
                "--schedule",
                "plateau",
                "--patience",
                "0",
                "--seed",
                str(seed),
                "--device",
                "cpu",
                "-q",
                "-O",
                str(model),
                str(train),
            ],
            check=True,
        )
        done = subprocess.run([*bn.textseq_command(), "eval", str(model), str(test), "--json"], capture_output=True, text=True, check=True)
    return float(json.loads(done.stdout)["perplexity"])


def reference_ppl(bn, python: str, examples: Path, folder: Path, epochs: int, seed: int) -> float:
    with tempfile.TemporaryDirectory(prefix="bench-seeds-ref-") as scratch:
        done = subprocess.run(
            [
                python,
                "-u",
                str(examples / "main.py"),
                "--data",
                str(folder),
                "--model",
                "LSTM",
                "--emsize",
                "200",
                "--nhid",
                "200",
                "--nlayers",
                "2",
                "--dropout",
                "0.2",
                "--tied",
                "--epochs",
                str(epochs),
                "--bptt",
                str(bn.BPTT),
                "--batch_size",
                str(bn.BATCH),
                "--lr",
                "20",
                "--clip",
                "0.25",
                "--seed",
                str(seed),
                "--save",
                str(Path(scratch) / "model.pt"),
            ],
            cwd=scratch,
            capture_output=True,
            text=True,
            check=True,
        )
    match = bn.REF_TEST.search(done.stdout)
    if not match:
        raise SystemExit(f"bench/neural-seeds.py: no test perplexity in the example's output:\n{done.stdout[-2000:]}")
    return float(match.group(2))


def _ppl(value: float | None) -> str:
    return "skipped" if value is None else f"{value:.2f}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", default="1,2,3", help="comma-separated seeds (default 1,2,3)")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument(
        "--examples-dir",
        type=Path,
        default=None,
        metavar="DIR",
        help="pytorch/examples' word_language_model folder (default: bench/neural.py's)",
    )
    parser.add_argument("--python", default=sys.executable)
    args = parser.parse_args()
    bn = load_script("neural")
    examples = (args.examples_dir or bn.DEFAULT_EXAMPLES).resolve()
    have_reference = (examples / "main.py").exists()
    if not have_reference:
        print(
            f"bench/neural-seeds.py: reference skipped: no main.py in {examples} (give --examples-dir); textseq runs alone", file=sys.stderr
        )
    seeds = [int(s) for s in args.seeds.split(",")]
    _, aligned, _ = bn.make_data()
    train, test = aligned / "train.txt", aligned / "test.txt"
    rows = []
    for seed in seeds:
        ours = textseq_ppl(bn, train, test, args.epochs, seed)
        theirs = reference_ppl(bn, args.python, examples, aligned, args.epochs, seed) if have_reference else None
        rows.append({"seed": seed, "textseq": ours, "reference": theirs})
        print(f"seed {seed}: textseq {ours:.2f}, reference {_ppl(theirs)}", file=sys.stderr, flush=True)
    out = sys.stdout
    out.write(f"wt2s aligned, {args.epochs} epochs, word-medium vs word_language_model, seeds {args.seeds}\n")
    for row in rows:
        out.write(f"  seed {row['seed']}: textseq {row['textseq']:.2f}  reference {_ppl(row['reference'])}\n")
    summary = {}
    for side in ("textseq", "reference") if have_reference else ("textseq",):
        values = [row[side] for row in rows]
        summary[side] = {"mean": statistics.fmean(values), "sd": statistics.stdev(values) if len(values) > 1 else 0.0}
        out.write(f"{side:9s} mean {summary[side]['mean']:.2f}, sd {summary[side]['sd']:.2f}\n")
    if have_reference:
        difference = summary["textseq"]["mean"] - summary["reference"]["mean"]
        out.write(
            f"difference of the means {difference:+.2f} ({difference / summary['reference']['mean']:+.1%}); "
            f"target (textseq no worse): {'met' if difference <= 0 else 'not met'}\n"
        )
    bn.OUT.mkdir(parents=True, exist_ok=True)
    (bn.OUT / "neural-seeds.json").write_text(
        json.dumps(
            {"epochs": args.epochs, "rows": rows, "summary": summary, "commit": bn.git_commit(), "date": time.strftime("%Y-%m-%d")},
            indent=2,
        )
        + "\n"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
