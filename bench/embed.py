#!/usr/bin/env python3
"""Word-vector training next to gensim's Word2Vec, on the same >= 5M tokens, in one run.

    bench/embed.py [--tokens 5000000] [--epochs 1] [--threads 2] [--seeds 3]
                [--variants skipgram,cbow,skipgram-hs,cbow-hs] [--gensim-python PYTHON] [--ppmi-limit 120]

With the settings of the issue (100 dimensions, window 5, 5 negatives, min-count 5, sample 1e-3,
1 epoch, 2 threads), for seeds 1..--seeds, prints for skip-gram and CBOW, each with negative
sampling and with hierarchical softmax (hs=1, negative=0 on both sides):
  - words/s of ``textseq embed train`` (the whole command as a subprocess: reading, vocabulary,
    training, writing the vectors; words/s = corpus tokens / wall time) and of gensim's
    ``Word2Vec`` (sg=1 / sg=0, workers=--threads) in a subprocess of --gensim-python, timed from
    the start of the fit (vocabulary building included) to its end, the vectors' writing left
    out; gensim's own ``train()`` time is recorded too. Ratio textseq/gensim (median over seeds):
    target >= 1.0x; the peak resident memory of both processes;
  - the quality of every model's vectors, all through the same ``textseq embed eval`` (gensim's
    written with ``save_word2vec_format``): analogy accuracy (total, questions-words.txt) and
    WordSim-353 Spearman, as mean ± stdev over the seeds, and the difference of the means in points
    (target: within 1);
  - textseq's peak memory on the seed text alone and on the whole corpus (the same vocabulary,
    several times the tokens): the spooled corpus keeps memory bounded by the vocabulary;
  - ppmi-svd for scale (time and quality), skipped with a note when it runs past --ppmi-limit s.

The corpus is ../shared/corpora (tinyshakespeare, WikiText-2 valid+test, PTB valid+test)
tokenized by ``textseq tokenize --lower``, blank lines dropped, repeated whole until it has
--tokens tokens (the project's generated corpus where ../shared is absent). Repetition changes
nothing for speed, but each sentence is seen many times per epoch, so quality figures are not
comparable with those of ordinary corpora (only textseq vs gensim on this corpus means anything).
The evaluation files are gensim's test data (questions-words.txt, wordsim353.tsv).
Results also go to bench/out/embed.json.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "corpora"
DATA = ROOT / "bench" / "data"
OUT = ROOT / "bench" / "out"

GENSIM_TRAIN = r"""
import json, logging, sys, time
from gensim.models import Word2Vec
from gensim.models.word2vec import LineSentence
corpus, output, sg, hs, dim, window, negative, min_count, sample, epochs, workers, seed, alpha = sys.argv[1:14]
start = time.perf_counter()
model = Word2Vec(vector_size=int(dim), window=int(window), negative=int(negative), min_count=int(min_count),
                 sample=float(sample), epochs=int(epochs), workers=int(workers), seed=int(seed), sg=int(sg), hs=int(hs),
                 alpha=float(alpha))
sentences = LineSentence(corpus)
model.build_vocab(sentences)
vocab_s = time.perf_counter() - start
train_start = time.perf_counter()
model.train(sentences, total_examples=model.corpus_count, epochs=model.epochs)
train_s = time.perf_counter() - train_start
fit_s = time.perf_counter() - start
model.wv.save_word2vec_format(output)
save_s = time.perf_counter() - start - fit_s
import gensim
print(json.dumps({"fit_s": fit_s, "vocab_s": vocab_s, "train_s": train_s, "save_s": save_s, "words": len(model.wv),
                  "corpus_total_words": model.corpus_total_words, "version": gensim.__version__}))
"""


def textseq_command() -> list[str]:
    script = shutil.which("textseq")
    return [script] if script else [sys.executable, "-m", "textseq"]


def count_tokens(path: Path) -> tuple[int, int]:
    tokens = lines = 0
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            tokens += len(line.split())
            lines += 1
    return tokens, lines


def make_seed(textseq: list[str]) -> tuple[Path, str]:
    """The seed text, lowercased and tokenized by textseq, blank lines dropped."""
    target = DATA / "embed-seed.tok"
    sources = [
        SHARED / "tinyshakespeare" / "input.txt",
        SHARED / "wikitext-2" / "valid.txt",
        SHARED / "wikitext-2" / "test.txt",
        SHARED / "ptb" / "valid.txt",
        SHARED / "ptb" / "test.txt",
    ]
    if all(s.exists() for s in sources):
        origin = "../shared/corpora: tinyshakespeare, WikiText-2 valid+test, PTB valid+test"
        raw = b"".join(s.read_bytes() for s in sources)
    else:
        origin = "corpora/generate.py --tokens 1000000 (../shared/corpora is absent)"
        raw = subprocess.run(
            [sys.executable, str(ROOT / "corpora" / "generate.py"), "--tokens", "1000000"], capture_output=True, check=True
        ).stdout
    if not target.exists():
        DATA.mkdir(parents=True, exist_ok=True)
        done = subprocess.run([*textseq, "tokenize", "--lower", "-q"], input=raw, capture_output=True, check=True)
        lines = [line for line in done.stdout.decode("utf-8").split("\n") if line.strip()]
        target.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return target, origin


def make_corpus(seed: Path, tokens: int) -> tuple[Path, int]:
    seed_tokens, _ = count_tokens(seed)
    copies = -(-tokens // seed_tokens)
    target = DATA / f"embed-{copies}x.tok"
    if not target.exists():
        text = seed.read_bytes()
        with open(target, "wb") as handle:
            for _ in range(copies):
                handle.write(text)
    return target, copies


MEASURE = r"""
import json, resource, subprocess, sys, time
start = time.perf_counter()
try:
    done = subprocess.run(sys.argv[2:], stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=float(sys.argv[1]) or None)
except subprocess.TimeoutExpired:
    sys.stdout.write(json.dumps({"timeout": True}))
    sys.exit(0)
seconds = time.perf_counter() - start
peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
sys.stdout.write(json.dumps({"seconds": seconds, "peak_rss": peak, "rc": done.returncode,
                             "stdout": done.stdout.decode(), "stderr": done.stderr.decode()[-20000:]}))
"""


def run(command: list[str], timeout: float | None = None) -> tuple[float, str]:
    seconds, stdout, _, _ = measure(command, timeout)
    return seconds, stdout


def training_rate(stderr: str) -> float:
    """Words/s of training alone, from textseq's epoch lines ('..., 5,678,316 words in 7.3 s
    (782,640 words/s)'): all epochs' words over their summed time."""
    words = seconds = 0.0
    for line in stderr.splitlines():
        if ": epoch " in line and " words/s)" in line:
            count = float(line.split(", ", 1)[1].split(" words in ")[0].replace(",", ""))
            rate = float(line.rsplit("(", 1)[1].split(" words/s")[0].replace(",", ""))
            words += count
            seconds += count / rate
    return words / seconds if seconds else float("nan")


def measure(command: list[str], timeout: float | None = None) -> tuple[float, str, int, str]:
    """(wall seconds, stdout, peak resident memory in bytes, stderr) of ``command``, run by a small
    Python parent that reads its child's peak RSS (so each measurement is of that one process)."""
    done = subprocess.run([sys.executable, "-c", MEASURE, str(timeout or 0), *command], capture_output=True)
    if done.returncode != 0:
        raise SystemExit(f"bench/embed.py: measuring {' '.join(command)} failed:\n{done.stderr.decode()[-2000:]}")
    result = json.loads(done.stdout)
    if result.get("timeout"):
        raise subprocess.TimeoutExpired(command, timeout or 0)
    if result["rc"] != 0:
        raise SystemExit(f"bench/embed.py: {' '.join(command)} failed (exit {result['rc']}):\n{result['stderr']}")
    return result["seconds"], result["stdout"], result["peak_rss"], result["stderr"]


def evaluate(textseq: list[str], vectors: Path, analogies: Path, pairs: Path) -> dict[str, float]:
    _, stdout = run([*textseq, "embed", "eval", str(vectors), "--analogies", str(analogies), "--pairs", str(pairs), "--json", "-q"])
    report = json.loads(stdout)
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


def git_commit() -> str | None:
    done = subprocess.run(["git", "-C", str(ROOT), "describe", "--always", "--dirty"], capture_output=True, text=True)
    return done.stdout.strip() or None


VARIANTS = {"skipgram": (1, 0), "cbow": (0, 0), "skipgram-hs": (1, 1), "cbow-hs": (0, 1)}
"""name: (gensim sg, gensim hs); the -hs variants train with hierarchical softmax and no negatives."""


def spread(values: list[float]) -> str:
    mean = statistics.fmean(values)
    return f"{mean:.2f}" + (f" ± {statistics.stdev(values):.2f}" if len(values) > 1 else "")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tokens", type=int, default=5_000_000, help="least tokens in the corpus (default 5,000,000)")
    parser.add_argument("--epochs", type=int, default=1, help="word2vec passes (default 1)")
    parser.add_argument("--threads", type=int, default=2, help="training threads / gensim workers (default 2)")
    parser.add_argument("--seeds", type=int, default=3, help="train each model with seeds 1..N (default 3): quality as mean ± stdev")
    parser.add_argument("--variants", default=",".join(VARIANTS), help=f"which of {','.join(VARIANTS)} (default all)")
    parser.add_argument("--gensim-python", default=sys.executable, metavar="PYTHON", help="the Python with gensim (default: this one)")
    parser.add_argument("--ppmi-limit", type=float, default=120.0, help="skip ppmi-svd when it runs longer (s, default 120)")
    args = parser.parse_args()
    variants = [v.strip() for v in args.variants.split(",") if v.strip()]
    unknown = set(variants) - set(VARIANTS)
    if unknown:
        raise SystemExit(f"bench/embed.py: unknown variants {sorted(unknown)}")
    settings = {
        "dim": 100,
        "window": 5,
        "negative": 5,
        "min_count": 5,
        "sample": 1e-3,
        "epochs": args.epochs,
        "threads": args.threads,
        "seeds": list(range(1, args.seeds + 1)),
    }

    textseq = textseq_command()
    found = subprocess.run(
        [args.gensim_python, "-c", "import gensim, os; print(os.path.dirname(gensim.__file__))"], capture_output=True, text=True
    )
    if found.returncode != 0:
        raise SystemExit(f"bench/embed.py: gensim is not importable by {args.gensim_python} (give --gensim-python)")
    test_data = Path(found.stdout.strip()) / "test" / "test_data"
    analogies, pairs = test_data / "questions-words.txt", test_data / "wordsim353.tsv"

    DATA.mkdir(parents=True, exist_ok=True)
    seed_text, origin = make_seed(textseq)
    corpus, copies = make_corpus(seed_text, args.tokens)
    tokens, lines = count_tokens(corpus)
    seed_tokens, _ = count_tokens(seed_text)
    print(
        f"corpus: {corpus.name}: {origin}; tokenized with textseq tokenize --lower, blank lines dropped; "
        f"{seed_tokens:,} tokens repeated {copies} times = {tokens:,} tokens, {lines:,} lines",
        file=sys.stderr,
    )
    print(f"settings: {settings}; {os.cpu_count()} CPUs", file=sys.stderr)
    results: dict[str, object] = {
        "corpus": str(corpus),
        "origin": origin,
        "tokenized_with": "textseq tokenize --lower, blank lines dropped",
        "tokens": tokens,
        "lines": lines,
        "copies": copies,
        "seed_tokens": seed_tokens,
        "settings": settings,
        "commit": git_commit(),
        "python": sys.version.split()[0],
        "cpus": os.cpu_count(),
        "analogies": str(analogies),
        "pairs": str(pairs),
        "words_per_s": "corpus tokens x epochs / wall time (textseq: whole command; gensim: whole fit incl. vocabulary)",
    }
    words = tokens * args.epochs
    methods: dict[str, dict] = {}
    for variant in variants:
        sg, hs = VARIANTS[variant]
        method = "skipgram" if sg else "cbow"
        runs: list[dict] = []
        for seed in settings["seeds"]:
            ours_vec, theirs_vec = DATA / f"embed-textseq-{variant}.vec", DATA / f"embed-gensim-{variant}.vec"
            print(f"{variant} seed {seed}: textseq ...", file=sys.stderr)
            negatives = ["--hs", "--negative", "0"] if hs else ["--negative", "5"]
            ours_s, _, ours_rss, ours_err = measure(
                [
                    *textseq,
                    "embed",
                    "train",
                    "--method",
                    method,
                    "--dim",
                    "100",
                    "--window",
                    "5",
                    "--min-count",
                    "5",
                    *negatives,
                    "--sample",
                    "1e-3",
                    "--epochs",
                    str(args.epochs),
                    "--threads",
                    str(args.threads),
                    "--seed",
                    str(seed),
                    "-O",
                    str(ours_vec),
                    str(corpus),
                ]
            )
            print(f"{variant} seed {seed}: gensim ...", file=sys.stderr)
            alpha = "0.025" if sg else "0.05"  # word2vec.c's defaults, textseq's too (gensim's is 0.025 for both)
            wall_s, stdout, theirs_rss, _ = measure(
                [
                    args.gensim_python,
                    "-c",
                    GENSIM_TRAIN,
                    str(corpus),
                    str(theirs_vec),
                    str(sg),
                    str(hs),
                    "100",
                    "5",
                    "0" if hs else "5",
                    "5",
                    "1e-3",
                    str(args.epochs),
                    str(args.threads),
                    str(seed),
                    alpha,
                ]
            )
            theirs = json.loads(stdout.strip().splitlines()[-1])
            print(f"{variant} seed {seed}: evaluating ...", file=sys.stderr)
            runs.append(
                {
                    "seed": seed,
                    "textseq": {
                        "seconds": ours_s,
                        "words_per_s": words / ours_s,
                        "peak_rss": ours_rss,
                        "train_words_per_s": training_rate(ours_err),
                        **evaluate(textseq, ours_vec, analogies, pairs),
                    },
                    "gensim": {
                        "fit_seconds": theirs["fit_s"],
                        "vocab_seconds": theirs["vocab_s"],
                        "train_seconds": theirs["train_s"],
                        "save_seconds": theirs["save_s"],
                        "whole_seconds": theirs["fit_s"] + theirs["save_s"],
                        "alpha": float(alpha),
                        "subprocess_seconds": wall_s,
                        "words_per_s": words / theirs["fit_s"],
                        "train_words_per_s": words / theirs["train_s"],
                        "peak_rss": theirs_rss,
                        "vocabulary": theirs["words"],
                        "version": theirs["version"],
                        **evaluate(textseq, theirs_vec, analogies, pairs),
                    },
                    "speed_ratio": (theirs["fit_s"] + theirs["save_s"]) / ours_s,
                    "train_speed_ratio": training_rate(ours_err) / (words / theirs["train_s"]),
                }
            )
        methods[variant] = {
            "runs": runs,
            "speed_ratio_median": statistics.median(r["speed_ratio"] for r in runs),
            "train_speed_ratio_median": statistics.median(r["train_speed_ratio"] for r in runs),
        }
        for key in ("analogy_total", "ws353_spearman"):
            ours = [r["textseq"][key] for r in runs]
            theirs = [r["gensim"][key] for r in runs]
            methods[variant][key] = {
                "textseq_mean": statistics.fmean(ours),
                "gensim_mean": statistics.fmean(theirs),
                "diff_points": statistics.fmean(ours) - statistics.fmean(theirs),
            }
    results["methods"] = methods

    half_copies = max(1, copies // 2)
    half, _ = make_corpus(seed_text, seed_tokens * half_copies)
    half_tokens, _ = count_tokens(half)
    print(f"memory: textseq skipgram on {half_copies}x the seed text ...", file=sys.stderr)
    _, _, half_rss, _ = measure(
        [
            *textseq,
            "embed",
            "train",
            "-q",
            "--dim",
            "100",
            "--threads",
            str(args.threads),
            "-O",
            str(DATA / "embed-textseq-half.vec"),
            str(half),
        ]
    )
    full_min_count = 5 * copies // half_copies  # the same vocabulary as the half corpus at min-count 5
    _, _, full_rss, _ = measure(
        [
            *textseq,
            "embed",
            "train",
            "-q",
            "--dim",
            "100",
            "--threads",
            str(args.threads),
            "--min-count",
            str(full_min_count),
            "-O",
            str(DATA / "embed-textseq-full.vec"),
            str(corpus),
        ]
    )
    results["memory"] = {
        "half_tokens": half_tokens,
        "half_peak_rss": half_rss,
        "half_min_count": 5,
        "corpus_tokens": tokens,
        "corpus_peak_rss": full_rss,
        "corpus_min_count": full_min_count,
    }

    print("ppmi-svd ...", file=sys.stderr)
    ppmi_vec = DATA / "embed-textseq-ppmi-svd.vec"
    try:
        ppmi_s, _, ppmi_rss, _ = measure(
            [
                *textseq,
                "embed",
                "train",
                "-q",
                "--method",
                "ppmi-svd",
                "--dim",
                "100",
                "--window",
                "5",
                "--min-count",
                "5",
                "--seed",
                "1",
                "-O",
                str(ppmi_vec),
                str(corpus),
            ],
            timeout=args.ppmi_limit,
        )
        results["ppmi_svd"] = {
            "seconds": ppmi_s,
            "words_per_s": tokens / ppmi_s,
            "peak_rss": ppmi_rss,
            **evaluate(textseq, ppmi_vec, analogies, pairs),
        }
    except subprocess.TimeoutExpired:
        results["ppmi_svd"] = {"skipped": f"ran past {args.ppmi_limit:g} s"}

    out = sys.stdout
    out.write(
        f"corpus    {tokens:,} tokens ({seed_tokens:,} repeated {copies}x: repetition inflates nothing for speed, "
        f"but makes the quality figures unusual); textseq {results['commit']}; {os.cpu_count()} CPUs\n"
    )
    out.write(
        f"settings  dim 100, window 5, negative 5 (0 with hs), alpha 0.025 skip-gram / 0.05 CBOW on both sides, min-count 5, "
        f"sample 1e-3, epochs {args.epochs}, "
        f"threads {args.threads}, seeds {settings['seeds']}\n"
    )
    for variant, m in methods.items():
        runs = m["runs"]
        gensim_version = runs[0]["gensim"]["version"]
        ours_speed = [r["textseq"]["words_per_s"] / 1e3 for r in runs]
        theirs_speed = [r["gensim"]["words_per_s"] / 1e3 for r in runs]
        train_speed = [r["gensim"]["train_words_per_s"] / 1e3 for r in runs]
        ours_train = [r["textseq"]["train_words_per_s"] / 1e3 for r in runs]
        whole = [words / r["gensim"]["whole_seconds"] / 1e3 for r in runs]
        out.write(
            f"{variant:11s} whole  textseq {spread(ours_speed)}k words/s (command: read, train, write) | gensim {gensim_version} "
            f"{spread(whole)}k (vocabulary, train, save; fit alone {spread(theirs_speed)}k) | "
            f"ratio, median of {len(runs)}: {m['speed_ratio_median']:.2f}x (target >= 1.0x)\n"
        )
        out.write(
            f"{'':11s} train  textseq {spread(ours_train)}k words/s (epoch lines) | gensim train() {spread(train_speed)}k | "
            f"ratio, median of {len(runs)}: {m['train_speed_ratio_median']:.2f}x\n"
        )
        for key, label in (("analogy_total", "analogy total %"), ("ws353_spearman", "WS-353 Spearman")):
            ours = [r["textseq"][key] for r in runs]
            theirs = [r["gensim"][key] for r in runs]
            out.write(
                f"{'':11s} {label:16s} textseq {spread(ours)} | gensim {spread(theirs)} | "
                f"difference of means {m[key]['diff_points']:+.2f} points (target: within 1)\n"
            )
        out.write(
            f"{'':11s} peak RSS         textseq {runs[0]['textseq']['peak_rss'] / 2**20:.0f} MiB | "
            f"gensim {runs[0]['gensim']['peak_rss'] / 2**20:.0f} MiB\n"
        )
    memory = results["memory"]
    out.write(
        f"memory      textseq skipgram peak RSS {memory['half_peak_rss'] / 2**20:.0f} MiB on {half_tokens:,} tokens, "
        f"{memory['corpus_peak_rss'] / 2**20:.0f} MiB on {tokens:,} (min-count {memory['half_min_count']} and "
        f"{memory['corpus_min_count']}: the same vocabulary, {copies // half_copies}x the text)\n"
    )
    p = results["ppmi_svd"]
    if "skipped" in p:
        out.write(f"ppmi-svd    skipped: {p['skipped']}\n")
    else:
        out.write(
            f"ppmi-svd    textseq {p['seconds']:6.1f} s {p['words_per_s'] / 1e3:7.0f}k words/s, peak RSS "
            f"{p['peak_rss'] / 2**20:.0f} MiB; analogy total {p['analogy_total']:.2f}%, WS-353 Spearman {p['ws353_spearman']:.2f} (for scale)\n"
        )
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "embed.json").write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
