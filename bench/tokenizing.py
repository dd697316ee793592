#!/usr/bin/env python3
"""Tokenization throughput next to its references, on the same 50 MB of English, in one run.

    bench/tokenizing.py [--mb 50] [--repeat 3]

Prints, as ratios (higher is better for textseq):
  - textseq word tokenize (the whole command: read, tokenize, write) vs a bare ``re.findall``
    loop over the lines of the same file (no output at all); target >= 0.8x;
  - textseq --spm encode (the whole command) vs sentencepiece's own batch ``encode`` of the same
    lines (no output); target >= 0.8x;
  - sacremoses on a slice, for scale, when it is installed (pip install -e .[bench]);
  - start-up of ``textseq --help`` and ``echo hi | textseq tokenize`` (median of 15; target < 0.3 s).

Each timing is the best of --repeat runs, textseq and reference alternating, so that a noisy
neighbour hurts both. The text is ../shared/corpora (tinyshakespeare, WikiText-2, PTB) repeated
to the size asked for, or the project's generated corpus where ../shared is absent.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "corpora"
DATA = ROOT / "bench" / "data"
OUT = ROOT / "bench" / "out"

BARE_REGEX_LOOP = r"""
import re, sys
pattern = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?|\d+|[^\w\s]")
findall = pattern.findall
with open(sys.argv[1], encoding="utf-8") as handle:
    for line in handle:
        findall(line)
"""

SPM_BATCH_ENCODE = r"""
import sys
import sentencepiece
processor = sentencepiece.SentencePieceProcessor(model_file=sys.argv[1])
with open(sys.argv[2], encoding="utf-8") as handle:
    lines = handle.read().split("\n")
for start in range(0, len(lines), 100_000):
    processor.encode(lines[start:start + 100_000], out_type=str)
"""

SACREMOSES = r"""
import sys
from sacremoses import MosesTokenizer
tokenizer = MosesTokenizer(lang="en")
with open(sys.argv[1], encoding="utf-8") as handle:
    for line in handle:
        tokenizer.tokenize(line, escape=False)
"""


def textseq_command() -> list[str]:
    script = shutil.which("textseq")
    return [script] if script else [sys.executable, "-m", "textseq"]


def make_text(megabytes: int) -> Path:
    target = DATA / f"english-{megabytes}mb.txt"
    if target.exists():
        return target
    DATA.mkdir(parents=True, exist_ok=True)
    sources = [
        SHARED / "tinyshakespeare" / "input.txt",
        SHARED / "wikitext-2" / "valid.txt",
        SHARED / "wikitext-2" / "test.txt",
        SHARED / "ptb" / "valid.txt",
        SHARED / "ptb" / "test.txt",
    ]
    if all(s.exists() for s in sources):
        seed_text = "".join(s.read_text(encoding="utf-8") for s in sources)
    else:
        done = subprocess.run(
            [sys.executable, str(ROOT / "corpora" / "generate.py"), "--tokens", "1000000"], capture_output=True, check=True
        )
        seed_text = done.stdout.decode("utf-8")
    size = megabytes * 1_000_000
    with open(target, "w", encoding="utf-8") as handle:
        written = 0
        while written < size:
            handle.write(seed_text)
            written += len(seed_text.encode("utf-8"))
    return target


def timed(command: list[str], stdin: Path | None = None) -> float:
    start = time.perf_counter()
    with open(stdin or os.devnull, "rb") as source:
        subprocess.run(command, stdin=source, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - start


def best_pair(ours: list[str], reference: list[str], repeat: int) -> tuple[float, float]:
    mine, theirs = [], []
    for _ in range(repeat):
        mine.append(timed(ours))
        theirs.append(timed(reference))
    return min(mine), min(theirs)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mb", type=int, default=50, help="size of the English text in MB (default 50)")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each timing; the best counts (default 3)")
    args = parser.parse_args()
    text = make_text(args.mb)
    megabytes = text.stat().st_size / 1e6
    textseq = textseq_command()
    results: dict[str, object] = {"input": str(text), "megabytes": round(megabytes, 1), "python": sys.version.split()[0]}
    print(f"input: {text.name}, {megabytes:.1f} MB; best of {args.repeat}", file=sys.stderr)

    ours, bare = best_pair([*textseq, "tokenize", str(text)], [sys.executable, "-c", BARE_REGEX_LOOP, str(text)], args.repeat)
    results["word"] = {"textseq_mb_s": megabytes / ours, "bare_regex_loop_mb_s": megabytes / bare, "ratio": bare / ours}

    with tempfile.TemporaryDirectory() as folder:
        model = Path(folder) / "bench.model"
        subprocess.run(
            [
                *textseq,
                "tokenize",
                "train-spm",
                "-q",
                "-O",
                str(model),
                "--vocab-size",
                "8000",
                "--input-sentence-size",
                "200000",
                "--seed",
                "1",
                str(text),
            ],
            check=True,
        )
        ours_spm, spm = best_pair(
            [*textseq, "tokenize", "--spm", str(model), str(text)],
            [sys.executable, "-c", SPM_BATCH_ENCODE, str(model), str(text)],
            args.repeat,
        )
    results["spm"] = {"textseq_mb_s": megabytes / ours_spm, "sentencepiece_batch_mb_s": megabytes / spm, "ratio": spm / ours_spm}

    try:
        import sacremoses  # noqa: F401

        slice_path = DATA / "english-2mb.txt"
        slice_path.write_bytes(text.read_bytes()[:2_000_000].rsplit(b"\n", 1)[0] + b"\n")
        moses = timed([sys.executable, "-c", SACREMOSES, str(slice_path)])
        results["sacremoses_mb_s"] = 2.0 / moses
    except ImportError:
        results["sacremoses_mb_s"] = None

    startup = {}
    for name, command, stdin in (
        ("textseq --help", [*textseq, "--help"], None),
        ("echo hi | textseq tokenize", [*textseq, "tokenize"], "hi"),
        ("python -c pass", [sys.executable, "-c", "pass"], None),
    ):
        times = []
        for _ in range(15):
            start = time.perf_counter()
            subprocess.run(command, input=(stdin or "").encode(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
            times.append(time.perf_counter() - start)
        startup[name] = statistics.median(times)
    results["startup_s"] = startup

    word, sp = results["word"], results["spm"]
    print(
        f"word tokenize   textseq {word['textseq_mb_s']:6.1f} MB/s   bare re.findall loop {word['bare_regex_loop_mb_s']:6.1f} MB/s   ratio {word['ratio']:.2f}x (target >= 0.8)"
    )
    print(
        f"spm encode      textseq {sp['textseq_mb_s']:6.1f} MB/s   sentencepiece batch  {sp['sentencepiece_batch_mb_s']:6.1f} MB/s   ratio {sp['ratio']:.2f}x (target >= 0.8)"
    )
    if results["sacremoses_mb_s"]:
        print(
            f"sacremoses      {results['sacremoses_mb_s']:6.2f} MB/s (2 MB slice; textseq word is {word['textseq_mb_s'] / results['sacremoses_mb_s']:.0f}x faster)"
        )
    for name, seconds in startup.items():
        print(f"start-up        {name:28s} {seconds * 1000:6.0f} ms (median of 15)")
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "tokenize.json").write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
