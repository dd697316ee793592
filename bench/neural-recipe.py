#!/usr/bin/env python3
"""wt2s with the ``word-medium`` preset's own recipe (no option but the data), next to PyTorch's
word_language_model example after its 3 epochs and a 5-gram, over several seeds; and the
interpolation of the LSTM with the 5-gram.

    bench/neural-recipe.py [--seeds 1,2,3] [--examples-dir DIR] [--no-reference]

Data: bench/neural.py's aligned wt2s (train: WikiText-2 valid.txt, blank lines dropped; test:
WikiText-2 test.txt with the words unseen in training as ``<unk>``), so every side scores the
same 244,102 tokens with the same 13,777-token vocabulary.

- textseq: ``textseq train --arch word-medium --level word --valid test.txt --seed S -O M
  train.txt`` (everything else the preset's defaults, which ``train`` prints), then ``textseq
  eval M test.txt --json``. The wall time of the training is reported: the recipe is meant to
  take at most 20 minutes on the 2-core development machine.
- reference: the example (``main.py``, bench/neural.py's settings: 2x200 tied LSTM, dropout 0.2,
  SGD lr 20, clip 0.25, 3 epochs, batch 20, bptt 35) on the same files, with the same seeds
  (bench/neural-seeds.py's runner). Both sides validate on the test text, as bench/neural.py
  explains: the example chooses its learning-rate cuts and its best epoch by it, textseq its
  best epoch.
- 5-gram: ``textseq ngram build -o 5`` (modified Kneser-Ney) on the training text.
- Mixture: the first seed's LSTM with the 5-gram, ``textseq eval KN --mix LSTM --tune-on DEV``,
  the weights tuned by EM on the first 10% of the test text's lines (DEV) and every figure of this
  row measured on the other 90% (REST), where the three models are side by side.

Targets (issue 17): textseq's mean test perplexity <= the example's, and <= 0.65x the 5-gram's;
the mixture below both of its parts. Results go to bench/out/neural-recipe.json.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

from bench_scripts import load_script

MODELS = Path(__file__).resolve().parent / "data" / "neural-recipe"


def run_json(command: list[str]) -> object:
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    return json.loads(done.stdout)


def train_textseq(textseq: list[str], train: Path, test: Path, seed: int) -> tuple[Path, float, str]:
    """The checkpoint, the training's wall time and what train said about its settings."""
    MODELS.mkdir(parents=True, exist_ok=True)
    model = MODELS / f"word-medium-seed{seed}.pt"
    started = time.perf_counter()
    done = subprocess.run(
        [
            *textseq,
            "train",
            "--arch",
            "word-medium",
            "--level",
            "word",
            "--valid",
            str(test),
            "--seed",
            str(seed),
            "-O",
            str(model),
            str(train),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    seconds = time.perf_counter() - started
    said = next((line for line in done.stderr.splitlines() if "training defaults" in line), "")
    return model, seconds, said


def split_test(test: Path) -> tuple[Path, Path]:
    lines = test.read_text(encoding="utf-8").splitlines(keepends=True)
    cut = len(lines) // 10
    dev, rest = MODELS / "dev.txt", MODELS / "rest.txt"
    dev.write_text("".join(lines[:cut]), encoding="utf-8")
    rest.write_text("".join(lines[cut:]), encoding="utf-8")
    return dev, rest


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", default="1,2,3")
    parser.add_argument("--examples-dir", type=Path, default=None, metavar="DIR")
    parser.add_argument("--no-reference", action="store_true", help="textseq and the 5-gram only")
    parser.add_argument("--python", default=sys.executable)
    args = parser.parse_args()
    bn, seeds_script = load_script("neural"), load_script("neural-seeds")
    textseq = bn.textseq_command()
    examples = (args.examples_dir or bn.DEFAULT_EXAMPLES).resolve()
    have_reference = not args.no_reference and (examples / "main.py").exists()
    if not have_reference and not args.no_reference:
        print(f"bench/neural-recipe.py: reference skipped: no main.py in {examples} (give --examples-dir)", file=sys.stderr)
    _, aligned, _ = bn.make_data()
    train, test = aligned / "train.txt", aligned / "test.txt"
    MODELS.mkdir(parents=True, exist_ok=True)
    kn = MODELS / "kn5.arpa"
    subprocess.run([*textseq, "ngram", "build", "-o", "5", "-q", "-O", str(kn), str(train)], check=True)
    kn_ppl = float(run_json([*textseq, "eval", str(kn), str(test), "--json"])["perplexity"])  # type: ignore[index]
    rows = []
    for seed in [int(s) for s in args.seeds.split(",")]:
        model, seconds, said = train_textseq(textseq, train, test, seed)
        ours = float(run_json([*textseq, "eval", str(model), str(test), "--json"])["perplexity"])  # type: ignore[index]
        theirs = seeds_script.reference_ppl(bn, args.python, examples, aligned, 3, seed) if have_reference else None
        rows.append({"seed": seed, "textseq": ours, "train_seconds": seconds, "reference": theirs, "model": str(model)})
        print(f"seed {seed}: textseq {ours:.2f} ({seconds / 60:.1f} min), reference {theirs}", file=sys.stderr, flush=True)
    dev, rest = split_test(test)
    mixed = run_json([*textseq, "eval", str(kn), str(rest), "--mix", rows[0]["model"], "--tune-on", str(dev), "--json"])
    assert isinstance(mixed, list)
    out = sys.stdout
    out.write(f"wt2s aligned: word-medium's recipe ({said or 'the preset defaults'}), 5-gram {kn_ppl:.2f}\n")
    for row in rows:
        reference = "skipped" if row["reference"] is None else f"{row['reference']:.2f}"
        out.write(f"  seed {row['seed']}: textseq {row['textseq']:.2f} in {row['train_seconds'] / 60:.1f} min  reference {reference}\n")
    summary: dict[str, dict[str, float]] = {}
    for side in ("textseq", "reference") if have_reference else ("textseq",):
        values = [row[side] for row in rows]
        summary[side] = {"mean": statistics.fmean(values), "sd": statistics.stdev(values) if len(values) > 1 else 0.0}
        out.write(f"{side:9s} mean {summary[side]['mean']:.2f}, sd {summary[side]['sd']:.2f}\n")
    ratio = summary["textseq"]["mean"] / kn_ppl
    out.write(f"textseq / 5-gram: {ratio:.3f} (target <= 0.65: {'met' if ratio <= 0.65 else 'not met'})\n")
    if have_reference:
        met = summary["textseq"]["mean"] <= summary["reference"]["mean"]
        out.write(f"textseq <= reference: {'met' if met else 'not met'}\n")
    parts = {report["model"]: report["perplexity"] for report in mixed}
    weights = mixed[-1].get("weights")
    out.write(
        "mixture on the test text's last 90%, weights by EM on its first 10%: "
        + ", ".join(f"{name} {value:.2f}" for name, value in parts.items())
        + f" (weights {weights})\n"
    )
    bn.OUT.mkdir(parents=True, exist_ok=True)
    (bn.OUT / "neural-recipe.json").write_text(
        json.dumps(
            {
                "kn5": kn_ppl,
                "rows": rows,
                "summary": summary,
                "mixture": mixed,
                "settings": said,
                "commit": bn.git_commit(),
                "date": time.strftime("%Y-%m-%d"),
            },
            indent=2,
        )
        + "\n"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
