#!/usr/bin/env python3
"""GloVe training next to Stanford's reference GloVe (C), on the same >= 5M tokens, in one run.

    bench/glove.py [--glove-dir DIR] [--tokens 5000000] [--epochs 15] [--threads 2] [--seeds 3]
                [--gensim-python PYTHON]

Both sides get the same settings: vocabulary min-count 5, a symmetric window of 5 with 1/distance
weights, 100 dimensions, x_max 100, power 0.75 (glove.c's -alpha), AdaGrad rate 0.05 (glove.c's
-eta), --epochs iterations, --threads threads, and write W + W~ (glove.c's -model 2). For seeds
1..--seeds it prints:
  - the wall time of each whole pipeline, each in subprocesses: ``textseq embed train --method
    glove`` (reading, vocabulary, co-occurrences, training, writing word2vec text) against
    Stanford's ``vocab_count | cooccur | shuffle | glove`` (each stage timed; their sum, writing
    GloVe text included), and the ratio Stanford/textseq (median over seeds; > 1: textseq faster);
    textseq's own split into co-occurrence counting and training (from its epoch lines) next to
    the reference's stages; the peak resident memory of each side (the largest of its processes);
  - the mean cost per co-occurrence of the last epoch as each tool prints it (the same quantity,
    0.5 f(X) diff**2 per nonzero entry, on the same co-occurrence matrix);
  - the quality of both through the same ``textseq embed eval``: analogy accuracy (total,
    questions-words.txt) and WordSim-353 Spearman, mean ± stdev over the seeds. Stanford's
    vectors.txt is GloVe text without a header (read with --format glove), with glove.c's extra
    ``<unk>`` row (the mean of the rarest words' vectors) at the end.

--glove-dir is the build/ folder of a Stanford GloVe checkout built with ``make`` outside this
repository (https://github.com/stanfordnlp/GloVe; also taken from $GLOVE_DIR). Without it the
reference is skipped with a note and textseq runs alone.

The corpus is bench/embed.py's (its code builds it: ../shared/corpora tokenized by ``textseq tokenize
--lower``, blank lines dropped, repeated whole to --tokens tokens), in bench/data. Repetition
changes nothing for speed, but the quality figures are not comparable with those of ordinary
corpora: only textseq vs the reference on this corpus means anything. The evaluation files are
gensim's test data (questions-words.txt, wordsim353.tsv), found through --gensim-python.
Results also go to bench/out/glove.json.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
from pathlib import Path

from bench_scripts import load_script

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "bench" / "data"
OUT = ROOT / "bench" / "out"
STAGES = ("vocab_count", "cooccur", "shuffle", "glove")

MEASURE = r"""
import json, resource, subprocess, sys, time
stdin = open(sys.argv[1], "rb") if sys.argv[1] != "-" else None
stdout = open(sys.argv[2], "wb") if sys.argv[2] != "-" else subprocess.PIPE
start = time.perf_counter()
done = subprocess.run(sys.argv[3:], stdin=stdin, stdout=stdout, stderr=subprocess.PIPE)
seconds = time.perf_counter() - start
peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
sys.stdout.write(json.dumps({"seconds": seconds, "peak_rss": peak, "rc": done.returncode,
                             "stdout": done.stdout.decode() if done.stdout else "", "stderr": done.stderr.decode()}))
"""


def measure(command: list[str], stdin: Path | None = None, stdout: Path | None = None) -> dict:
    """Wall seconds, peak resident memory (bytes), stdout and stderr of ``command``, run by a small
    Python parent that reads its child's peak RSS (so each measurement is of that one process)."""
    done = subprocess.run([sys.executable, "-c", MEASURE, str(stdin or "-"), str(stdout or "-"), *command], capture_output=True)
    if done.returncode != 0:
        raise SystemExit(f"bench/glove.py: measuring {' '.join(command)} failed:\n{done.stderr.decode()[-2000:]}")
    result = json.loads(done.stdout)
    if result["rc"] != 0:
        raise SystemExit(f"bench/glove.py: {' '.join(command)} failed (exit {result['rc']}):\n{result['stderr'][-3000:]}")
    return result


def evaluate(textseq: list[str], vectors: Path, file_format: str, analogies: Path, pairs: Path) -> dict[str, float]:
    done = measure(
        [
            *textseq,
            "embed",
            "eval",
            str(vectors),
            "--format",
            file_format,
            "--analogies",
            str(analogies),
            "--pairs",
            str(pairs),
            "--json",
            "-q",
        ]
    )
    report = json.loads(done["stdout"])
    total = next(iter(report["analogies"].values()))["total"]
    pair = next(iter(report["pairs"].values()))
    return {
        "analogy_total": 100 * total["accuracy"],
        "analogy_correct": total["correct"],
        "analogy_questions": total["total"],
        "ws353_spearman": 100 * pair["spearman"],
        "ws353_pairs": pair["pairs"],
        "ws353_oov_pct": 100 * pair["oov_ratio"],
    }


def run_textseq(textseq: list[str], corpus: Path, output: Path, seed: int, args: argparse.Namespace) -> dict:
    done = measure(
        [
            *textseq,
            "embed",
            "train",
            "--method",
            "glove",
            "--dim",
            "100",
            "--window",
            "5",
            "--min-count",
            "5",
            "--epochs",
            str(args.epochs),
            "--threads",
            str(args.threads),
            "--seed",
            str(seed),
            "-p",
            "x_max=100",
            "-p",
            "power=0.75",
            "-p",
            "alpha=0.05",
            "-O",
            str(output),
            str(corpus),
        ]
    )
    epochs = re.findall(r"epoch (\d+)/\d+: loss ([0-9.]+), ([0-9,]+) pairs in ([0-9.]+) s", done["stderr"])
    if len(epochs) != args.epochs:
        raise SystemExit(f"bench/glove.py: expected {args.epochs} epoch lines from textseq:\n{done['stderr'][-2000:]}")
    read = re.search(r"tokens, [0-9,]+ words seen \d+ times or more \(([0-9.]+) s\)", done["stderr"])
    training = sum(float(e[3]) for e in epochs)
    return {
        "seconds": done["seconds"],
        "peak_rss": done["peak_rss"],
        "final_cost": float(epochs[-1][1]),
        "pairs": int(epochs[-1][2].replace(",", "")),
        "training_seconds": training,
        "reading_seconds": float(read.group(1)) if read else None,
    }


def run_stanford(glove_dir: Path, corpus: Path, work: Path, seed: int, args: argparse.Namespace) -> dict:
    vocab, cooc, shuffled, save = work / "vocab.txt", work / "cooccurrence.bin", work / "cooccurrence.shuf.bin", work / "vectors"
    stages = {
        "vocab_count": (measure([str(glove_dir / "vocab_count"), "-min-count", "5", "-verbose", "0"], corpus, vocab)),
        "cooccur": (
            measure(
                [
                    str(glove_dir / "cooccur"),
                    "-memory",
                    "4.0",
                    "-vocab-file",
                    str(vocab),
                    "-verbose",
                    "0",
                    "-window-size",
                    "5",
                    "-symmetric",
                    "1",
                    "-distance-weighting",
                    "1",
                    "-overflow-file",
                    str(work / "overflow"),
                ],
                corpus,
                cooc,
            )
        ),
        "shuffle": (
            measure(
                [
                    str(glove_dir / "shuffle"),
                    "-memory",
                    "4.0",
                    "-verbose",
                    "0",
                    "-seed",
                    str(seed),
                    "-temp-file",
                    str(work / "temp_shuffle"),
                ],
                cooc,
                shuffled,
            )
        ),
        "glove": (
            measure(
                [
                    str(glove_dir / "glove"),
                    "-save-file",
                    str(save),
                    "-threads",
                    str(args.threads),
                    "-input-file",
                    str(shuffled),
                    "-x-max",
                    "100",
                    "-iter",
                    str(args.epochs),
                    "-vector-size",
                    "100",
                    "-binary",
                    "0",
                    "-model",
                    "2",
                    "-vocab-file",
                    str(vocab),
                    "-verbose",
                    "2",
                    "-alpha",
                    "0.75",
                    "-eta",
                    "0.05",
                    "-seed",
                    str(seed),
                ]
            )
        ),
    }
    costs = re.findall(r"iter: (\d+), cost: ([0-9.]+)", stages["glove"]["stderr"])
    if len(costs) != args.epochs:
        raise SystemExit(f"bench/glove.py: expected {args.epochs} iterations from glove:\n{stages['glove']['stderr'][-2000:]}")
    with open(vocab, encoding="utf-8") as handle:
        vocabulary = sum(1 for _ in handle)
    return {
        "seconds": sum(s["seconds"] for s in stages.values()),
        "peak_rss": max(s["peak_rss"] for s in stages.values()),
        "stages": {name: s["seconds"] for name, s in stages.items()},
        "final_cost": float(costs[-1][1]),
        "pairs": cooc.stat().st_size // 16,
        "vocabulary": vocabulary,
        "vectors": str(save.with_suffix(".txt")),
    }


def git_commit(folder: Path) -> str | None:
    done = subprocess.run(["git", "-C", str(folder), "describe", "--always", "--dirty"], capture_output=True, text=True)
    return done.stdout.strip() or None


def spread(values: list[float], digits: int = 2) -> str:
    mean = statistics.fmean(values)
    return f"{mean:.{digits}f}" + (f" ± {statistics.stdev(values):.{digits}f}" if len(values) > 1 else "")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--glove-dir",
        type=Path,
        default=os.environ.get("GLOVE_DIR") or None,
        metavar="DIR",
        help="Stanford GloVe's build/ folder (vocab_count, cooccur, shuffle, glove); default $GLOVE_DIR",
    )
    parser.add_argument("--tokens", type=int, default=5_000_000, help="least tokens in the corpus (default 5,000,000)")
    parser.add_argument("--epochs", type=int, default=15, help="iterations on both sides (default 15)")
    parser.add_argument("--threads", type=int, default=2, help="training threads on both sides (default 2)")
    parser.add_argument("--seeds", type=int, default=3, help="train with seeds 1..N (default 3): quality as mean ± stdev")
    parser.add_argument(
        "--gensim-python",
        default=sys.executable,
        metavar="PYTHON",
        help="a Python with gensim, for its evaluation files (default: this one)",
    )
    args = parser.parse_args()

    embed = load_script("embed")
    textseq = embed.textseq_command()
    found = subprocess.run(
        [args.gensim_python, "-c", "import gensim, os; print(os.path.dirname(gensim.__file__))"], capture_output=True, text=True
    )
    if found.returncode != 0:
        raise SystemExit(f"bench/glove.py: gensim is not importable by {args.gensim_python} (give --gensim-python)")
    test_data = Path(found.stdout.strip()) / "test" / "test_data"
    analogies, pairs = test_data / "questions-words.txt", test_data / "wordsim353.tsv"

    glove_dir = args.glove_dir
    note = None
    if glove_dir is None or not all((glove_dir / tool).is_file() for tool in STAGES):
        note = (
            f"reference skipped: no Stanford GloVe build at {glove_dir or '(none given)'}; build one outside the "
            f"repository (git clone https://github.com/stanfordnlp/GloVe /tmp/glove-src && make -C /tmp/glove-src) "
            f"and give --glove-dir /tmp/glove-src/build"
        )
        print(f"bench/glove.py: {note}", file=sys.stderr)
        glove_dir = None

    DATA.mkdir(parents=True, exist_ok=True)
    seed_text, origin = embed.make_seed(textseq)
    corpus, copies = embed.make_corpus(seed_text, args.tokens)
    tokens, lines = embed.count_tokens(corpus)
    seed_tokens, _ = embed.count_tokens(seed_text)
    settings = {
        "dim": 100,
        "window": 5,
        "symmetric": True,
        "distance_weighting": True,
        "min_count": 5,
        "x_max": 100.0,
        "power": 0.75,
        "learning_rate": 0.05,
        "epochs": args.epochs,
        "threads": args.threads,
        "seeds": list(range(1, args.seeds + 1)),
        "output": "W + W~ (glove.c -model 2)",
    }
    print(
        f"corpus: {corpus.name}: {origin}; {seed_tokens:,} tokens repeated {copies} times = {tokens:,} tokens, {lines:,} lines",
        file=sys.stderr,
    )
    results: dict[str, object] = {
        "corpus": str(corpus),
        "origin": origin,
        "tokens": tokens,
        "lines": lines,
        "copies": copies,
        "settings": settings,
        "commit": git_commit(ROOT),
        "python": sys.version.split()[0],
        "cpus": os.cpu_count(),
        "analogies": str(analogies),
        "pairs": str(pairs),
        "reference": {
            "glove_dir": str(glove_dir) if glove_dir else None,
            "commit": git_commit(glove_dir.parent) if glove_dir else None,
            "note": note,
        },
    }
    runs: list[dict] = []
    work = DATA / "glove-reference"
    work.mkdir(exist_ok=True)
    for seed in settings["seeds"]:
        ours_vec = DATA / "glove-textseq.vec"
        print(f"seed {seed}: textseq ...", file=sys.stderr)
        ours = run_textseq(textseq, corpus, ours_vec, seed, args)
        ours.update(evaluate(textseq, ours_vec, "word2vec", analogies, pairs))
        entry: dict = {"seed": seed, "textseq": ours}
        if glove_dir is not None:
            print(f"seed {seed}: Stanford GloVe ...", file=sys.stderr)
            theirs = run_stanford(glove_dir, corpus, work, seed, args)
            theirs.update(evaluate(textseq, Path(theirs["vectors"]), "glove", analogies, pairs))
            entry["reference"] = theirs
            entry["speed_ratio"] = theirs["seconds"] / ours["seconds"]
        runs.append(entry)
    results["runs"] = runs

    out = sys.stdout
    out.write(f"corpus    {tokens:,} tokens ({seed_tokens:,} repeated {copies}x); textseq {results['commit']}; {os.cpu_count()} CPUs\n")
    out.write(
        f"settings  dim 100, window 5 (symmetric, 1/distance), min-count 5, x_max 100, power 0.75, rate 0.05, "
        f"{args.epochs} iterations, {args.threads} threads, W + W~, seeds {settings['seeds']}\n"
    )
    ours_runs = [r["textseq"] for r in runs]
    out.write(
        f"textseq    whole command {spread([r['seconds'] for r in ours_runs])} s (co-occurrence pairs "
        f"{ours_runs[0]['pairs']:,}; reading + vocabulary {spread([r['reading_seconds'] or 0.0 for r in ours_runs])} s, "
        f"training {spread([r['training_seconds'] for r in ours_runs])} s, the rest (start-up, co-occurrence "
        f"counting, writing) {spread([r['seconds'] - r['training_seconds'] - (r['reading_seconds'] or 0.0) for r in ours_runs])} s); "
        f"peak RSS {ours_runs[0]['peak_rss'] / 2**20:.0f} MiB; last cost {spread([r['final_cost'] for r in ours_runs], 6)}\n"
    )
    if glove_dir is not None:
        theirs_runs = [r["reference"] for r in runs]
        stages = ", ".join(f"{name} {spread([r['stages'][name] for r in theirs_runs])}" for name in STAGES)
        ratio = statistics.median(r["speed_ratio"] for r in runs)
        results["speed_ratio_median"] = ratio
        out.write(
            f"reference  whole pipeline {spread([r['seconds'] for r in theirs_runs])} s ({stages}); co-occurrence "
            f"pairs {theirs_runs[0]['pairs']:,}; peak RSS {theirs_runs[0]['peak_rss'] / 2**20:.0f} MiB; "
            f"last cost {spread([r['final_cost'] for r in theirs_runs], 6)}\n"
        )
        out.write(f"ratio      reference time / textseq time, median of {len(runs)}: {ratio:.2f}x (> 1: textseq faster)\n")
    for key, label in (("analogy_total", "analogy total %"), ("ws353_spearman", "WS-353 Spearman")):
        line = f"{label:16s} textseq {spread([r['textseq'][key] for r in runs])}"
        if glove_dir is not None:
            ours_mean = statistics.fmean(r["textseq"][key] for r in runs)
            theirs_mean = statistics.fmean(r["reference"][key] for r in runs)
            line += (
                f" | reference {spread([r['reference'][key] for r in runs])} | difference of means {ours_mean - theirs_mean:+.2f} points"
            )
        out.write(line + "\n")
    if note:
        out.write(f"note       {note}\n")
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "glove.json").write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
