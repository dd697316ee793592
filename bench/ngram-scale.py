"""N-grams at scale: an order-5 model of 100M+ tokens under a memory budget, textseq beside lmplz.

    bench/ngram-scale.py [--c-bytes 1000000000] [--memory 2G] [--order 5] [--lmplz PATH] [--keep]

The corpus is the Linux kernel's C source (Debian's linux-source-6.1: ``apt-get install
linux-source-6.1`` puts /usr/src/linux-source-6.1.tar.xz), its .c and .h files in path order up to
``--c-bytes`` bytes, tokenized by ``textseq tokenize`` (case kept, blank lines dropped), followed by
bench/ngram.py's natural English training text (built first where it is missing). With the
defaults that is about 163M tokens. Each tool builds the model once, at the same budget (``lmplz
-S`` and ``textseq ngram build --memory``, both with their temporary files in one directory),
and the two ARPA files are compared (the ``\\data\\`` counts and a sample of n-grams). Time and
peak RSS are the whole commands'. The ARPA files (about 7.5 GB each) are deleted afterwards
unless ``--keep``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

from bench_scripts import load_script

ngram = load_script("ngram")
HERE = Path(__file__).resolve().parent
DATA = HERE / "data"
OUT = HERE / "out"
SOURCE = Path("/usr/src/linux-source-6.1.tar.xz")


def linux_corpus(textseq: list[str], c_bytes: int, english: Path) -> Path:
    """The tokenized C source followed by ``english``: built once, then reused."""
    target = DATA / f"ngram-scale-{c_bytes}.tok"
    if target.exists():
        return target
    print(f"tokenizing {c_bytes:,} bytes of the Linux source ...", file=sys.stderr)
    partial = target.with_suffix(".partial")
    with tarfile.open(SOURCE) as archive, open(partial, "wb") as out:
        members = sorted((m for m in archive if m.isfile() and m.name.endswith((".c", ".h"))), key=lambda m: m.name)
        tokenizer = subprocess.Popen([*textseq, "tokenize"], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        dropper = subprocess.Popen(["grep", "-v", "^$"], stdin=tokenizer.stdout, stdout=out)
        assert tokenizer.stdin is not None and tokenizer.stdout is not None
        tokenizer.stdout.close()
        taken = 0
        for member in members:
            if taken >= c_bytes:
                break
            handle = archive.extractfile(member)
            if handle is not None:
                data = handle.read()
                tokenizer.stdin.write(data if data.endswith(b"\n") else data + b"\n")
                taken += len(data)
        tokenizer.stdin.close()
        if tokenizer.wait() != 0 or dropper.wait() not in (0, 1):
            raise SystemExit("bench/ngram-scale.py: tokenizing the Linux source failed")
        with open(english, "rb") as text:
            while block := text.read(1 << 24):
                out.write(block)
    partial.rename(target)
    return target


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--c-bytes", type=int, default=1_000_000_000)
    parser.add_argument("--memory", default="2G")
    parser.add_argument("--order", type=int, default=5)
    parser.add_argument("--lmplz", default=None)
    parser.add_argument("--keep", action="store_true", help="keep the two ARPA files")
    args = parser.parse_args()
    textseq = ngram.textseq_command()
    DATA.mkdir(exist_ok=True)
    OUT.mkdir(exist_ok=True)
    if not SOURCE.exists() and not (DATA / f"ngram-scale-{args.c_bytes}.tok").exists():
        print(f"bench/ngram-scale.py: {SOURCE} is missing (apt-get install linux-source-6.1): nothing measured", file=sys.stderr)
        return 0
    english, _, _ = ngram.make_natural(textseq, 1_000_000, 5_000_000)
    corpus = linux_corpus(textseq, args.c_bytes, english)
    tokens, sentences = ngram.count_tokens(corpus)
    print(f"corpus: {corpus} ({corpus.stat().st_size:,} bytes, {tokens:,} tokens, {sentences:,} lines)", file=sys.stderr)
    lmplz = ngram.find_lmplz(args.lmplz)
    ours, theirs = DATA / "ngram-scale-textseq.arpa", DATA / "ngram-scale-lmplz.arpa"
    results: dict[str, object] = {
        "tokens": tokens,
        "lines": sentences,
        "order": args.order,
        "memory": args.memory,
        "commit": ngram.git_commit(),
    }
    with tempfile.TemporaryDirectory(prefix="ngram-scale-", dir=DATA) as temp:
        if lmplz is not None:
            print("lmplz ...", file=sys.stderr)
            command = [str(lmplz), "-o", str(args.order), "-S", args.memory, "-T", temp]
            results["lmplz"] = ngram.measured(command, stdin=corpus, stdout=theirs)
        print("textseq ...", file=sys.stderr)
        command = [*textseq, "ngram", "build", "-o", str(args.order), "--memory", args.memory, "-T", temp, "-O", str(ours), str(corpus)]
        results["textseq"] = ngram.measured(command)
    if lmplz is not None:
        print("comparing the ARPA files ...", file=sys.stderr)
        started = time.perf_counter()
        results["check"] = ngram.compare_arpa(ours, theirs)
        print(f"  ({time.perf_counter() - started:.0f} s)", file=sys.stderr)
    if not args.keep:
        for path in (ours, theirs):
            path.unlink(missing_ok=True)
    (OUT / "ngram-scale.json").write_text(json.dumps(results, indent=2) + "\n")
    line = f"{tokens:,} tokens, order {args.order}, budget {args.memory}\n"
    for tool in ("textseq", "lmplz"):
        if tool in results:
            run = results[tool]
            assert isinstance(run, dict)
            line += f"  {tool:8} {run['seconds']:8.1f} s  peak {ngram.gb(run['peak_rss_bytes'])}\n"
    if "lmplz" in results:
        ours_run, theirs_run = results["textseq"], results["lmplz"]
        assert isinstance(ours_run, dict) and isinstance(theirs_run, dict)
        line += (
            f"  textseq/lmplz: {ours_run['seconds'] / theirs_run['seconds']:.2f}x the time, "
            f"{ours_run['peak_rss_bytes'] / theirs_run['peak_rss_bytes']:.2f}x the memory\n"
        )
        line += "  " + ngram.describe_check("ARPA files", results["check"]) + "\n"
    print(line, end="")
    return 0 if "check" not in results or results["check"]["agree"] else 1  # type: ignore[index]


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    raise SystemExit(main())
