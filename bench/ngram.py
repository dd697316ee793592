#!/usr/bin/env python3
"""N-gram model building and evaluation next to KenLM, on the same natural text, in one run.

    bench/ngram.py [--corpus natural|repeated] [--tokens 6000000] [--repeat 1] [--eval-repeat 3]
                   [--lmplz PATH] [--lmplz-memory 80%,1G] [--budgets 8G,700M] [--nltk-python PYTHON]

Prints, with ratios (textseq / reference for times: lower is better for textseq):
  - order-5 modified Kneser-Ney to ARPA, ``textseq ngram build -o 5`` vs KenLM's
    ``lmplz -o 5 -S 80% -T /tmp``: wall time and peak RSS (issue 18's targets: <= 1.0x the time and
    <= 1.2x the memory at the same budget); lmplz again with the other --lmplz-memory budgets (1G:
    the memory it needs here), for scale;
  - with --budgets, each budget B both ways: ``textseq ngram build --memory B`` and ``lmplz -S B``
    (issue 18 asks for one larger than the job and one a quarter of textseq's in-memory peak);
  - counting alone, ``textseq ngram count -o 5 CORPUS > /dev/null``;
  - evaluation, ``textseq eval MODEL TEST`` vs ``query -v summary MODEL < TEST`` on the same ARPA
    file and ~1M test tokens, and each one's loading time alone (the same command on one line);
    then the same from the binary formats (``textseq ngram convert`` to .tsbin, KenLM's
    ``build_binary`` to its probing format), where they exist;
  - that the two ARPA files agree: the \\data\\ counts, and 10,000 sampled n-grams' log10
    probabilities and backoffs within 1e-4 (also on the unrepeated seed text, whose discounts are
    real estimates);
  - NLTK's KneserNeyInterpolated on a 50k-token slice, for scale, where nltk is importable.

The corpus (``--corpus natural``, the default) is natural text: Debian's English dictionaries
(``apt-get install dict-gcide dict-foldoc dict-jargon dict-devil``, one entry's paragraph a line)
and ../shared/corpora (tinyshakespeare, WikiText-2 and PTB valid+test, the debian-packages
descriptions), lowercased and tokenized by ``textseq tokenize --lower``, blank lines dropped, about
16M tokens, of which every 8th line goes to the test text until it has --eval-tokens; it says so
where it has fewer than --tokens. ``--corpus repeated`` is the earlier bench: ../shared/corpora's
LM text (tinyshakespeare, WikiText-2 valid+test, PTB valid+test) tokenized the same way, repeated
whole until it has --tokens tokens (the project's generated corpus where ../shared is absent). Every
n-gram of the top order is then seen a multiple of the copies times, so no 5-gram has a count of
1 or 2 and Kneser-Ney's discounts cannot be estimated for that order: both tools use the fallback
discounts 0.5, 1, 1.5 there (lmplz with --discount_fallback; textseq falls back by itself).

lmplz and query are found by --lmplz, else $LMPLZ, else ``lmplz`` on PATH, else
/tmp/kenlm-build/bin/lmplz (query and build_binary next to lmplz). Without them the textseq parts still run.
Build times are the best of --repeat runs, textseq and lmplz alternating; peak RSS comes from
/usr/bin/time -v (or getrusage of a fresh child). Results also go to bench/out/ngram.json.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "corpora"
DATA = ROOT / "bench" / "data"
OUT = ROOT / "bench" / "out"
GNU_TIME = Path("/usr/bin/time")
SAMPLE = 10_000
TOLERANCE = 1e-4

BUILD_LMPLZ = """\
  lmplz not found: give --lmplz PATH or set LMPLZ, or build KenLM outside the repository:
    apt-get install -y build-essential cmake libboost-program-options-dev libboost-system-dev \\
        libboost-thread-dev libboost-test-dev zlib1g-dev libbz2-dev liblzma-dev
    git clone https://github.com/kpu/kenlm /tmp/kenlm-src
    cmake -S /tmp/kenlm-src -B /tmp/kenlm-build -DCMAKE_BUILD_TYPE=Release
    cmake --build /tmp/kenlm-build -j2 --target lmplz query build_binary
  Running the textseq parts only."""

# Peak RSS of a command where GNU time is missing: the children's getrusage of a fresh process.
RUSAGE_WRAPPER = r"""
import resource, subprocess, sys
code = subprocess.call(sys.argv[2:])
with open(sys.argv[1], "w") as out:
    out.write(str(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss))
sys.exit(code)
"""

NLTK_KN = r"""
import json, sys, time
from nltk.lm import KneserNeyInterpolated
from nltk.lm.preprocessing import pad_both_ends, padded_everygram_pipeline
order = int(sys.argv[3])
with open(sys.argv[1], encoding="utf-8") as handle:
    train = [line.split() for line in handle if line.strip()]
with open(sys.argv[2], encoding="utf-8") as handle:
    test = [line.split() for line in handle if line.strip()]
start = time.perf_counter()
grams, vocabulary = padded_everygram_pipeline(order, train)
lm = KneserNeyInterpolated(order)
lm.fit(grams, vocabulary)
fit = time.perf_counter() - start
start = time.perf_counter()
scored = 0
for sentence in test:
    padded = list(pad_both_ends(sentence, n=order))
    for i in range(order - 1, len(padded) - order + 2):  # every word and one </s>
        lm.logscore(padded[i], padded[i - order + 1 : i])
        scored += 1
print(json.dumps({"fit_s": fit, "score_s": time.perf_counter() - start, "scored": scored}))
"""


def textseq_command() -> list[str]:
    script = shutil.which("textseq")
    return [script] if script else [sys.executable, "-m", "textseq"]


def count_tokens(path: Path) -> tuple[int, int]:
    """(tokens, lines) of a token file, KenLM's way: words only, no </s>."""
    tokens = lines = 0
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            tokens += len(line.split())
            lines += 1
    return tokens, lines


def make_seed(textseq: list[str]) -> tuple[Path, str]:
    """The seed text, lowercased and tokenized by textseq, blank lines dropped."""
    target = DATA / "ngram-seed.tok"
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


DICTIONARIES = Path("/usr/share/dictd")
DICTIONARY_NAMES = ("gcide", "foldoc", "jargon", "devil")
GET_DICTIONARIES = "apt-get install dict-gcide dict-foldoc dict-jargon dict-devil"


def natural_sources() -> tuple[list[str], str]:
    """The natural text: the Debian dictionaries' entries (one paragraph a line) and
    ../shared/corpora (its lines; the package descriptions without their labels)."""
    import gzip

    texts, names = [], []
    for name in DICTIONARY_NAMES:
        path = DICTIONARIES / f"{name}.dict.dz"  # dictzip is gzip with an index in its header
        if path.exists():
            paragraphs = gzip.decompress(path.read_bytes()).decode("utf-8", "replace").split("\n\n")
            texts.append("\n".join(" ".join(paragraph.split()) for paragraph in paragraphs))
            names.append(f"dict-{name}")
    shared = [
        SHARED / "tinyshakespeare" / "input.txt",
        *(SHARED / "wikitext-2" / f"{part}.txt" for part in ("valid", "test")),
        *(SHARED / "ptb" / f"{part}.txt" for part in ("valid", "test")),
    ]
    for path in shared:
        if path.exists():
            texts.append(path.read_text(encoding="utf-8"))
            names.append(str(path.relative_to(SHARED.parent.parent)))
    for part in ("train", "valid", "test"):
        path = SHARED / "debian-packages" / f"{part}.txt"
        if path.exists():
            texts.append("\n".join(line.split(" ", 1)[-1] for line in path.read_text(encoding="utf-8").splitlines()))
            names.append(str(path.relative_to(SHARED.parent.parent)))
    return texts, ", ".join(names)


def make_natural(textseq: list[str], eval_tokens: int, least_tokens: int) -> tuple[Path, Path, str]:
    """(training text, test text, where they come from): the natural sources lowercased and
    tokenized by textseq, blank lines dropped; every 8th line goes to the test text until it has
    ``eval_tokens`` tokens (</s> counted), the rest is for training."""
    train, test = DATA / "ngram-natural-train.tok", DATA / "ngram-natural-test.tok"
    texts, origin = natural_sources()
    if not train.exists() or not test.exists():
        raw = "\n".join(texts).encode("utf-8")
        done = subprocess.run([*textseq, "tokenize", "--lower", "-q"], input=raw, capture_output=True, check=True)
        lines = [line for line in done.stdout.decode("utf-8").split("\n") if line.strip()]
        held, taken = [], 0
        for index in range(0, len(lines), 8):
            if taken >= eval_tokens:
                break
            held.append(index)
            taken += len(lines[index].split()) + 1
        out = set(held)
        test.write_text("".join(lines[i] + "\n" for i in held), encoding="utf-8")
        train.write_text("".join(line + "\n" for i, line in enumerate(lines) if i not in out), encoding="utf-8")
    tokens, _ = count_tokens(train)
    if tokens < least_tokens:
        print(f"the natural corpus has {tokens:,} tokens, fewer than {least_tokens:,}: {GET_DICTIONARIES} adds ~7M", file=sys.stderr)
    return train, test, origin


def make_corpus(seed: Path, tokens: int) -> tuple[Path, int]:
    """The seed repeated whole until it has at least ``tokens`` tokens; (path, copies)."""
    seed_tokens, _ = count_tokens(seed)
    copies = -(-tokens // seed_tokens)
    target = DATA / f"ngram-{copies}x.tok"
    if not target.exists():
        text = seed.read_bytes()
        with open(target, "wb") as handle:
            for _ in range(copies):
                handle.write(text)
    return target, copies


def head_tokens(source: Path, target: Path, tokens: int, skip_tokens: int = 0, end_of_sentence: bool = True) -> Path:
    """Whole lines of ``source`` (after the first ``skip_tokens`` words) up to ``tokens`` tokens,
    counting each line's </s> as KenLM's query does unless ``end_of_sentence`` is false."""
    taken = skipped = 0
    with open(source, encoding="utf-8") as handle, open(target, "w", encoding="utf-8") as out:
        for line in handle:
            words = len(line.split())
            if skipped < skip_tokens:
                skipped += words
                continue
            out.write(line)
            taken += words + end_of_sentence
            if taken >= tokens:
                break
    return target


def measured(command: list[str], stdin: Path | None = None, stdout: Path | None = None) -> dict[str, object]:
    """Run ``command``; its wall time, peak RSS (bytes) and stderr. Fails loudly on an error."""
    with tempfile.NamedTemporaryFile(prefix="bench-ngram-", suffix=".rss", delete=False) as note:
        note_path = note.name
    if GNU_TIME.exists():
        wrapped = [str(GNU_TIME), "-v", "-o", note_path, *command]
    else:
        wrapped = [sys.executable, "-c", RUSAGE_WRAPPER, note_path, *command]
    try:
        with open(stdin or os.devnull, "rb") as source, open(stdout or os.devnull, "wb") as sink:
            start = time.perf_counter()
            done = subprocess.run(wrapped, stdin=source, stdout=sink, stderr=subprocess.PIPE)
            seconds = time.perf_counter() - start
        report = Path(note_path).read_text()
    finally:
        os.unlink(note_path)
    stderr = done.stderr.decode("utf-8", "replace")
    if done.returncode != 0:
        raise SystemExit(f"bench/ngram.py: {' '.join(command)} failed (exit {done.returncode}):\n{stderr[-2000:]}")
    if GNU_TIME.exists():
        kilobytes = next(int(line.split(":")[1]) for line in report.splitlines() if "Maximum resident set size" in line)
    else:
        kilobytes = int(report)
    return {"seconds": seconds, "peak_rss_bytes": kilobytes * 1024, "stderr": stderr}


def best_of(commands: dict[str, dict], repeat: int) -> dict[str, dict[str, object]]:
    """Each command run ``repeat`` times, all of them alternating: best time, greatest peak RSS."""
    runs: dict[str, list[dict]] = {name: [] for name in commands}
    for _ in range(repeat):
        for name, spec in commands.items():
            runs[name].append(measured(**spec))
    return {
        name: {
            "seconds": min(r["seconds"] for r in results),
            "peak_rss_bytes": max(r["peak_rss_bytes"] for r in results),
            "stderr": results[-1]["stderr"],
        }
        for name, results in runs.items()
    }


def find_lmplz(option: str | None) -> Path | None:
    for candidate in (option, os.environ.get("LMPLZ"), shutil.which("lmplz"), "/tmp/kenlm-build/bin/lmplz"):
        if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return Path(candidate).resolve()
    if option:
        raise SystemExit(f"bench/ngram.py: --lmplz {option}: no such executable")
    return None


def arpa_counts(path: Path) -> dict[int, int]:
    counts: dict[int, int] = {}
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            if line.startswith("ngram "):
                n, count = line[6:].split("=")
                counts[int(n)] = int(count)
            elif line.startswith("\\1-grams:"):
                break
    return counts


def arpa_entries(path: Path, wanted: dict[int, set]) -> dict[int, dict[str, tuple[float, float]]]:
    """(log10 prob, log10 backoff) of the wanted n-grams (by line index within each section when
    ``wanted`` holds ints, by the n-gram itself when it holds strings)."""
    found: dict[int, dict[str, tuple[float, float]]] = {n: {} for n in wanted}
    order, index = 0, 0
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            if line.startswith("\\"):
                if line.endswith("-grams:\n"):
                    order, index = int(line[1 : line.index("-")]), 0
                continue
            if not order or line == "\n":
                continue
            fields = line.rstrip("\n").split("\t")
            targets = wanted.get(order)
            if targets and (index in targets or fields[1] in targets):
                found[order][fields[1]] = (float(fields[0]), float(fields[2]) if len(fields) > 2 else 0.0)
            index += 1
    return found


def compare_arpa(ours: Path, theirs: Path, sample: int = SAMPLE) -> dict[str, object]:
    """Same \\data\\ counts, and a sample of n-grams (equal shares per order) with the same numbers."""
    counts_ours, counts_theirs = arpa_counts(ours), arpa_counts(theirs)
    result: dict[str, object] = {"counts_textseq": counts_ours, "counts_lmplz": counts_theirs, "counts_agree": counts_ours == counts_theirs}
    rng = random.Random(1)
    share = sample // len(counts_ours)
    picks = {n: set(rng.sample(range(c), min(share, c))) for n, c in counts_ours.items()}
    mine = arpa_entries(ours, picks)
    other = arpa_entries(theirs, {n: set(entries) for n, entries in mine.items()})
    checked = missing = outside = 0
    worst_prob = worst_backoff = 0.0
    for n, entries in mine.items():
        for gram, (prob, backoff) in entries.items():
            checked += 1
            if gram not in other[n]:
                missing += 1
                continue
            their_prob, their_backoff = other[n][gram]
            d_prob, d_backoff = abs(prob - their_prob), abs(backoff - their_backoff)
            worst_prob, worst_backoff = max(worst_prob, d_prob), max(worst_backoff, d_backoff)
            outside += d_prob > TOLERANCE or d_backoff > TOLERANCE
    result.update(
        {
            "sampled": checked,
            "missing_in_lmplz": missing,
            "outside_tolerance": outside,
            "max_abs_diff_log10_prob": worst_prob,
            "max_abs_diff_log10_backoff": worst_backoff,
            "agree": counts_ours == counts_theirs and missing == 0 and outside == 0,
        }
    )
    return result


def describe_check(name: str, check: dict) -> str:
    counts = (
        "same \\data\\ counts" if check["counts_agree"] else f"\\data\\ counts DIFFER: {check['counts_textseq']} vs {check['counts_lmplz']}"
    )
    verdict = "agree" if check["agree"] else "DISAGREE"
    return (
        f"{name:15s} {verdict}: {counts}; {check['sampled']:,} sampled n-grams, {check['missing_in_lmplz']} missing, "
        f"{check['outside_tolerance']} beyond {TOLERANCE:g} (max |diff| log10 prob {check['max_abs_diff_log10_prob']:.1e}, "
        f"backoff {check['max_abs_diff_log10_backoff']:.1e})"
    )


def query_summary(stdout: str) -> dict[str, float]:
    values = {}
    for line in stdout.splitlines():
        if ":" in line and not line.startswith("Name:"):
            key, _, value = line.partition(":")
            with contextlib.suppress(ValueError):
                values[key.strip()] = float(value)
    return values


def git_commit() -> str | None:
    done = subprocess.run(["git", "-C", str(ROOT), "describe", "--always", "--dirty"], capture_output=True, text=True)
    return done.stdout.strip() or None


def has_subcommand(group: list[str], name: str) -> bool:
    """Whether ``group --help`` lists the subcommand ``name`` (an unknown name would be taken
    for the default command's FILE argument, so trying it tells nothing)."""
    done = subprocess.run([*group, "--help"], capture_output=True, text=True)
    return any(line.split()[:1] == [name] for line in done.stdout.split("Commands:")[-1].splitlines())


def gb(size: float) -> str:
    return f"{size / 1e9:.2f} GB"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--corpus",
        choices=("natural", "repeated"),
        default="natural",
        help="natural: dictionaries and ../shared/corpora, ~16M tokens, 1M held out for eval; repeated: ../shared's LM text repeated (the old bench)",
    )
    parser.add_argument("--tokens", type=int, default=6_000_000, help="least tokens in the corpus (default 6,000,000)")
    parser.add_argument("--order", type=int, default=5, help="n-gram order of the builds (default 5)")
    parser.add_argument("--repeat", type=int, default=1, help="runs of the builds and of counting; the best counts (default 1)")
    parser.add_argument("--eval-repeat", type=int, default=3, help="runs of the evaluation timings (default 3)")
    parser.add_argument(
        "--eval-tokens", type=int, default=1_000_000, help="tokens of the evaluation text, </s> included (default 1,000,000)"
    )
    parser.add_argument("--lmplz", metavar="PATH", help="KenLM's lmplz (default: $LMPLZ, lmplz on PATH, /tmp/kenlm-build/bin/lmplz)")
    parser.add_argument(
        "--lmplz-memory",
        default="80%,1G",
        metavar="S1,S2,...",
        help="lmplz -S budgets: the first is the reference for the ratio, the others are timed for scale (default 80%%,1G)",
    )
    parser.add_argument(
        "--budgets",
        default="",
        metavar="B1,B2,...",
        help="memory budgets to build at both ways, textseq --memory B and lmplz -S B (default: none)",
    )
    parser.add_argument(
        "--nltk-python",
        default=sys.executable,
        metavar="PYTHON",
        help="the Python to run NLTK with, e.g. a virtual environment outside the project (default: this one)",
    )
    parser.add_argument("--nltk-tokens", type=int, default=50_000, help="training tokens for the NLTK comparison (default 50,000)")
    args = parser.parse_args()

    textseq = textseq_command()
    lmplz = find_lmplz(args.lmplz)
    query = lmplz.parent / "query" if lmplz else None
    memories = [m.strip() for m in args.lmplz_memory.split(",") if m.strip()]
    DATA.mkdir(parents=True, exist_ok=True)
    natural = args.corpus == "natural"
    if natural:
        corpus, test, origin = make_natural(textseq, args.eval_tokens, args.tokens)
        seed, copies = corpus, 1
    else:
        seed, origin = make_seed(textseq)
        corpus, copies = make_corpus(seed, args.tokens)
        test = head_tokens(corpus, DATA / "ngram-test.tok", args.eval_tokens)
    tokens, sentences = count_tokens(corpus)
    seed_tokens, _ = count_tokens(seed)
    one_line = head_tokens(corpus, DATA / "ngram-one-line.tok", 1)
    order = args.order
    results: dict[str, object] = {
        "corpus": str(corpus),
        "natural": natural,
        "test": str(test),
        "origin": origin,
        "tokenized_with": "textseq tokenize --lower, blank lines dropped",
        "tokens": tokens,
        "sentences": sentences,
        "copies": copies,
        "seed_tokens": seed_tokens,
        "order": order,
        "commit": git_commit(),
        "python": sys.version.split()[0],
        "cpus": os.cpu_count(),
        "lmplz": str(lmplz) if lmplz else None,
        "lmplz_memory": memories,
        "peak_rss_from": "/usr/bin/time -v" if GNU_TIME.exists() else "getrusage(RUSAGE_CHILDREN)",
    }
    size = f"{tokens:,} tokens" if natural else f"{seed_tokens:,} tokens repeated {copies} times = {tokens:,} tokens"
    held_out = f"; every 8th line held out for eval ({test.name})" if natural else ""
    print(
        f"corpus: {corpus.name}: {origin}; tokenized with textseq tokenize --lower, blank lines dropped; {size}, {sentences:,} lines{held_out}",
        file=sys.stderr,
    )
    print(
        f"order {order}; builds best of {args.repeat}, evaluation best of {args.eval_repeat}; "
        f"peak RSS from {results['peak_rss_from']}; {os.cpu_count()} CPUs",
        file=sys.stderr,
    )
    if lmplz is None:
        print(BUILD_LMPLZ, file=sys.stderr)
    else:
        print(f"lmplz: {lmplz} with -S {', '.join(memories)} -T /tmp --discount_fallback", file=sys.stderr)

    ours_arpa = DATA / f"ngram-textseq.o{order}.arpa"
    theirs_arpa = DATA / f"ngram-lmplz.o{order}.arpa"

    def lmplz_spec(memory: str, source: Path, target: Path) -> dict:
        # --discount_fallback only acts where the discounts cannot be estimated, as textseq does
        return {
            "command": [str(lmplz), "-o", str(order), "-S", memory, "-T", tempfile.gettempdir(), "--discount_fallback"],
            "stdin": source,
            "stdout": target,
        }

    # 1. the build
    print(f"building order {order} ...", file=sys.stderr)
    builds = {"textseq": {"command": [*textseq, "ngram", "build", "-o", str(order), "-O", str(ours_arpa), str(corpus)]}}
    if lmplz:
        for k, memory in enumerate(memories):
            builds[f"lmplz -S {memory}"] = lmplz_spec(memory, corpus, theirs_arpa if k == 0 else Path(os.devnull))
    budgets = [b.strip() for b in args.budgets.split(",") if b.strip()]
    for budget in budgets:
        builds[f"textseq --memory {budget}"] = {
            "command": [*textseq, "ngram", "build", "-q", "-o", str(order), "--memory", budget, "-O", os.devnull, str(corpus)]
        }
        if lmplz:
            builds[f"lmplz -S {budget} (budget)"] = lmplz_spec(budget, corpus, Path(os.devnull))
    built = best_of(builds, args.repeat)
    build_rows = {
        name: {"seconds": b["seconds"], "peak_rss_bytes": b["peak_rss_bytes"], "tokens_per_s": tokens / b["seconds"]}
        for name, b in built.items()
    }
    results["build"] = build_rows
    fallback_notes = [
        line.strip() for b in built.values() for line in b["stderr"].splitlines() if "fallback" in line.lower() or "too little data" in line
    ]
    results["discount_notes"] = fallback_notes

    # 2. counting alone
    print("counting ...", file=sys.stderr)
    counted = best_of({"textseq": {"command": [*textseq, "ngram", "count", "-o", str(order), str(corpus)]}}, args.repeat)["textseq"]
    results["count"] = {
        "seconds": counted["seconds"],
        "peak_rss_bytes": counted["peak_rss_bytes"],
        "tokens_per_s": tokens / counted["seconds"],
    }

    # 3. evaluation, on the same ARPA file (textseq's), and loading alone
    print("evaluating ...", file=sys.stderr)
    ours_report_path, query_report_path = DATA / "ngram-eval.json", DATA / "ngram-query.txt"
    evals = {
        "textseq": {"command": [*textseq, "eval", "--json", str(ours_arpa), str(test)], "stdout": ours_report_path},
        "textseq load": {"command": [*textseq, "eval", "--json", str(ours_arpa), str(one_line)]},
    }
    if query and query.exists():
        evals["query"] = {"command": [str(query), "-v", "summary", str(ours_arpa)], "stdin": test, "stdout": query_report_path}
        evals["query load"] = {"command": [str(query), "-v", "summary", str(ours_arpa)], "stdin": one_line}
    # and from the binary formats, where they exist: textseq's memory-mapped one, KenLM's probing one
    ours_binary, theirs_binary = DATA / f"ngram-textseq.o{order}.tsbin", DATA / f"ngram-kenlm.o{order}.binary"
    build_binary = lmplz.parent / "build_binary" if lmplz else None
    binary_times: dict[str, float] = {}
    if has_subcommand([*textseq, "ngram"], "convert"):
        binary_times["textseq ngram convert"] = measured([*textseq, "ngram", "convert", "-q", "-O", str(ours_binary), str(ours_arpa)])[
            "seconds"
        ]
        evals["textseq binary"] = {"command": [*textseq, "eval", "--json", str(ours_binary), str(test)]}
        evals["textseq binary load"] = {"command": [*textseq, "eval", "--json", str(ours_binary), str(one_line)]}
    if build_binary and build_binary.exists() and "query" in evals:
        binary_times["build_binary"] = measured([str(build_binary), str(ours_arpa), str(theirs_binary)])["seconds"]
        evals["query binary"] = {"command": [str(query), "-v", "summary", str(theirs_binary)], "stdin": test}
        evals["query binary load"] = {"command": [str(query), "-v", "summary", str(theirs_binary)], "stdin": one_line}
    evaluated = best_of(evals, args.eval_repeat)
    ours_report = json.loads(ours_report_path.read_text())
    eval_tokens = int(ours_report["tokens"])
    evaluation: dict[str, object] = {
        "test_tokens": eval_tokens,
        "test": str(test),
        "model": str(ours_arpa),
        "textseq_perplexity": ours_report["perplexity"],
    }
    evaluation["conversion_seconds"] = binary_times
    for tool in ("textseq", "query", "textseq binary", "query binary"):
        if tool not in evaluated:
            continue
        whole, load = evaluated[tool]["seconds"], evaluated[f"{tool} load"]["seconds"]
        evaluation[tool] = {
            "seconds": whole,
            "load_seconds": load,
            "peak_rss_bytes": evaluated[tool]["peak_rss_bytes"],
            "tokens_per_s": eval_tokens / whole,
            "scoring_tokens_per_s": eval_tokens / (whole - load) if whole > load else None,
        }
    if "query" in evaluated:
        summary = query_summary(query_report_path.read_text())
        evaluation["query_perplexity"] = summary.get("Perplexity including OOVs")
        evaluation["query_tokens"] = summary.get("Tokens")
    results["eval"] = evaluation

    # 4. do the two models agree? (the big one, and one built on the unrepeated seed)
    if lmplz:
        print("comparing the ARPA files ...", file=sys.stderr)
        results["agreement"] = compare_arpa(ours_arpa, theirs_arpa)
    if lmplz and not natural:
        seed_ours, seed_theirs = DATA / f"ngram-seed-textseq.o{order}.arpa", DATA / f"ngram-seed-lmplz.o{order}.arpa"
        subprocess.run([*textseq, "ngram", "build", "-q", "-o", str(order), "-O", str(seed_ours), str(seed)], check=True)
        measured(**lmplz_spec(memories[-1], seed, seed_theirs))
        results["agreement_seed"] = compare_arpa(seed_ours, seed_theirs)

    # 5. NLTK, for scale
    nltk = subprocess.run([args.nltk_python, "-c", "import nltk; print(nltk.__version__)"], capture_output=True, text=True)
    if nltk.returncode == 0:
        print("NLTK ...", file=sys.stderr)
        train = head_tokens(seed, DATA / "ngram-nltk-train.tok", args.nltk_tokens, end_of_sentence=False)
        score = head_tokens(seed, DATA / "ngram-nltk-score.tok", 200, skip_tokens=args.nltk_tokens * 2)
        with tempfile.TemporaryDirectory() as folder:
            small = Path(folder) / "small.arpa"
            ours_fit = measured([*textseq, "ngram", "build", "-q", "-o", "3", "-O", str(small), str(train)])["seconds"]
            ours_score = measured([*textseq, "eval", str(small), str(score)])["seconds"]
        theirs = json.loads(
            subprocess.run([args.nltk_python, "-c", NLTK_KN, str(train), str(score), "3"], capture_output=True, check=True).stdout
        )
        results["nltk"] = {
            "version": nltk.stdout.strip(),
            "train_tokens": count_tokens(train)[0],
            "scored_tokens": theirs["scored"],
            "order": 3,
            "nltk_fit_s": theirs["fit_s"],
            "nltk_score_s": theirs["score_s"],
            "textseq_build_s": ours_fit,
            "textseq_eval_s": ours_score,
        }
    else:
        results["nltk"] = None

    # the report
    out = sys.stdout
    ours = build_rows["textseq"]
    shape = "natural" if natural else f"{seed_tokens:,} repeated {copies}x"
    out.write(f"corpus          {tokens:,} tokens ({shape}), order {order}; textseq {results['commit']}\n")
    out.write(
        f"build           textseq {ours['seconds']:6.1f} s  {ours['tokens_per_s'] / 1e6:5.2f}M tokens/s  peak RSS {gb(ours['peak_rss_bytes'])}\n"
    )
    if lmplz:
        reference = build_rows[f"lmplz -S {memories[0]}"]
        for k, memory in enumerate(memories):
            row = build_rows[f"lmplz -S {memory}"]
            target = " (target <= 1.0)" if k == 0 else ""
            out.write(
                f"                lmplz -S {memory:4s} {row['seconds']:5.1f} s  {row['tokens_per_s'] / 1e6:5.2f}M tokens/s  peak RSS {gb(row['peak_rss_bytes'])}"
                f"  time ratio textseq/lmplz {ours['seconds'] / row['seconds']:.2f}x{target}\n"
            )
        results["build_time_ratio"] = ours["seconds"] / reference["seconds"]
    for budget in budgets:
        mine = build_rows[f"textseq --memory {budget}"]
        line = f"  at {budget:5s}     textseq --memory {mine['seconds']:6.1f} s  peak RSS {gb(mine['peak_rss_bytes'])}"
        theirs = build_rows.get(f"lmplz -S {budget} (budget)")
        if theirs:
            line += (
                f";  lmplz -S {theirs['seconds']:6.1f} s  peak RSS {gb(theirs['peak_rss_bytes'])};  "
                f"ratios {mine['seconds'] / theirs['seconds']:.2f}x the time (target <= 1.0), "
                f"{mine['peak_rss_bytes'] / theirs['peak_rss_bytes']:.2f}x the memory (target <= 1.2)"
            )
        out.write(line + "\n")
    for note in dict.fromkeys(fallback_notes):
        out.write(f"                note: {note}\n")
    counting = results["count"]
    out.write(
        f"count           textseq ngram count -o {order} > /dev/null: {counting['seconds']:.1f} s, "
        f"{counting['tokens_per_s'] / 1e6:.2f}M tokens/s, peak RSS {gb(counting['peak_rss_bytes'])}\n"
    )
    ev = results["eval"]
    line = f"eval            {ev['test_tokens']:,} tokens (</s> included), the same model (textseq's ARPA, and it converted to each binary format)\n"
    for tool, label in (
        ("textseq", "textseq ARPA"),
        ("query", "query ARPA"),
        ("textseq binary", "textseq .tsbin"),
        ("query binary", "query probing"),
    ):
        if tool in ev:
            e = ev[tool]
            scoring = f"{e['scoring_tokens_per_s'] / 1e6:5.2f}M" if e["scoring_tokens_per_s"] else "  n/a"
            line += (
                f"                {label:14s} {e['seconds']:6.2f} s  {e['tokens_per_s'] / 1e6:5.2f}M tokens/s  "
                f"loading alone {e['load_seconds']:5.2f} s  scoring after loading {scoring} tokens/s  peak RSS {gb(e['peak_rss_bytes'])}\n"
            )
    for ours_key, theirs_key, what in (("textseq", "query", "arpa"), ("textseq binary", "query binary", "binary")):
        if ours_key in ev and theirs_key in ev:
            ratio = ev[ours_key]["seconds"] / ev[theirs_key]["seconds"]
            results[f"eval_time_ratio_{what}"] = ratio
            line += (
                f"                from {what}: time ratio textseq/query {ratio:.1f}x "
                f"(loading alone {ev[ours_key]['load_seconds'] / ev[theirs_key]['load_seconds']:.1f}x)\n"
            )
    if "query" in ev:
        line += f"                perplexity: textseq {ev['textseq_perplexity']:.4f}, query {ev['query_perplexity']:.4f}\n"
    for name, seconds in ev["conversion_seconds"].items():
        line += f"                conversion ARPA -> binary: {name} {seconds:.2f} s\n"
    out.write(line)
    if lmplz:
        out.write(describe_check("agreement", results["agreement"]) + "\n")
        if "agreement_seed" in results:
            out.write(
                describe_check("  seed only", results["agreement_seed"]) + f" (the {seed_tokens:,}-token seed, estimated discounts)\n"
            )
    if results["nltk"]:
        n = results["nltk"]
        out.write(
            f"nltk {n['version']:10s} KneserNeyInterpolated(3) on {n['train_tokens']:,} tokens: fit {n['nltk_fit_s']:.2f} s "
            f"(textseq ngram build {n['textseq_build_s']:.2f} s, {n['nltk_fit_s'] / n['textseq_build_s']:.1f}x faster); "
            f"score {n['scored_tokens']} tokens {n['nltk_score_s']:.2f} s (textseq eval {n['textseq_eval_s']:.2f} s, "
            f"{n['nltk_score_s'] / n['textseq_eval_s']:.1f}x faster); whole commands for textseq\n"
        )
    else:
        out.write(f"nltk            skipped: not importable by {args.nltk_python} (try --nltk-python with a venv that has nltk)\n")
    results["commit_at_end"] = git_commit()
    if results["commit_at_end"] != results["commit"]:
        out.write(
            f"warning: the checkout changed during the run ({results['commit']} -> {results['commit_at_end']}): run again for figures of one version\n"
        )
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "ngram.json").write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
