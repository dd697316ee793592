#!/usr/bin/env python3
"""Text classification next to fastText on debian-packages, the same data and tokens, in one run.

    bench/classify.py [--repeat 3] [--threads 2] [--best-epochs 25] [--no-linear] [--fasttext PATH]
                [--neural ARCH [--neural-config KEY=VALUE ...] [--neural-budget 10m] [--neural-tokenizer word]
                 [--neural-epochs N] [--neural-device DEVICE]]

Prints, with ratios and PASS/FAIL against the targets of issue 16:
  - training at fastText's settings, ``fasttext supervised -epoch 5 -lr 0.5 -wordNgrams 2 -thread 2``
    against ``textseq classify train train.txt --valid valid.txt --arch linear -t whitespace -c
    word_ngrams=2 --epochs 5 --lr 0.5 --threads 2 -O m.tsc`` (whitespace tokens are fastText's own,
    so both read the same tokens): the wall time of each whole command (read, train, write the model;
    best of --repeat, the tools alternating; target textseq/fastText <= 1.0x) and its peak RSS (the
    largest of the runs; target <= 1.0x);
  - test P@1 of every one of those models, ``fasttext test`` against ``textseq classify test --json``
    (fastText prints three digits, so its P@1 is also scored here from ``fasttext predict``'s output,
    as its meter counts; that is the figure compared). Neither is deterministic with 2 threads
    (Hogwild), so the mean and spread over the repeats; target textseq >= fastText - 0.005;
  - ``predict`` throughput on the test file, ``fasttext predict m.bin test.txt > /dev/null`` against
    ``textseq classify predict m.tsc test.txt > /dev/null``: lines/s of the whole command (loading
    included), best of --repeat after one warm-up run of each; target >= 1.0x;
  - the model files' sizes;
  - fastText's best setting (``-epoch 25``, the issue's 0.730 in 55 s), once per repeat, and
    textseq's linear model at 25 epochs beside it: P@1 and time. It is the bar a neural model must beat;
  - with --neural ARCH: ``textseq classify train ... --arch ARCH --time-budget BUDGET --threads 2``
    (tokenizer word unless --neural-tokenizer), its test P@1 and time against fastText's best, and
    from its --log the first epoch whose validation accuracy reaches the fastText best model's.

The data is ../shared/corpora/debian-packages/{train,valid,test}.txt (fastText format, 58 labels).
Peak RSS is each command's own, read by a fresh Python parent with getrusage(RUSAGE_CHILDREN).
Without fastText (--fasttext, $FASTTEXT, ``fasttext`` on PATH, /usr/bin/fasttext) the reference is
skipped with a note and textseq runs alone. Models go to bench/data/classify/, results to
bench/out/classify.json.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "corpora"
DATA = ROOT / "bench" / "data"
OUT = ROOT / "bench" / "out"
CORPUS = SHARED / "debian-packages"
MODELS = DATA / "classify"
LABEL = "__label__"
ISSUE_BEST = "fastText -epoch 25 -lr 0.5 -wordNgrams 2: test P@1 0.730 in 55 s (issue 16)"

TIME_TARGET, RSS_TARGET, P_AT_1_MARGIN, PREDICT_TARGET = 1.0, 1.0, 0.005, 1.0

MEASURE = r"""
import json, resource, subprocess, sys, time
timeout, target = float(sys.argv[1]) or None, sys.argv[2]
sink = subprocess.PIPE if target == "-" else open(target, "wb")
start = time.perf_counter()
try:
    done = subprocess.run(sys.argv[3:], stdout=sink, stderr=subprocess.PIPE, timeout=timeout)
except subprocess.TimeoutExpired:
    sys.stdout.write(json.dumps({"timeout": True}))
    sys.exit(0)
seconds = time.perf_counter() - start
peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
sys.stdout.write(json.dumps({"seconds": seconds, "peak_rss": peak, "rc": done.returncode,
                             "stdout": (done.stdout or b"").decode(), "stderr": done.stderr.decode()[-20000:]}))
"""


@dataclass
class Run:
    seconds: float
    peak_rss: int
    stdout: str
    stderr: str


def measure(command: list[str], stdout_to: Path | None = None, timeout: float | None = None) -> Run:
    """``command`` run by a small Python parent that reads its own child's peak RSS, so that each figure
    is of that one process; its standard output captured, or written to ``stdout_to`` (/dev/null)."""
    done = subprocess.run(
        [sys.executable, "-c", MEASURE, str(timeout or 0), str(stdout_to) if stdout_to else "-", *command], capture_output=True
    )
    if done.returncode != 0:
        raise SystemExit(f"bench/classify.py: measuring {' '.join(command)} failed:\n{done.stderr.decode()[-2000:]}")
    result = json.loads(done.stdout)
    if result.get("timeout"):
        raise SystemExit(f"bench/classify.py: {' '.join(command)} ran past {timeout} s")
    if result["rc"] != 0:
        raise SystemExit(f"bench/classify.py: {' '.join(command)} failed (exit {result['rc']}):\n{result['stderr'][-4000:]}")
    return Run(result["seconds"], result["peak_rss"], result["stdout"], result["stderr"])


def textseq_command() -> list[str]:
    script = shutil.which("textseq")
    return [script] if script else [sys.executable, "-m", "textseq"]


def find_fasttext(option: str | None) -> str | None:
    for candidate in (option, os.environ.get("FASTTEXT"), shutil.which("fasttext"), "/usr/bin/fasttext"):
        if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return candidate
    return None


def fasttext_version() -> str:
    done = subprocess.run(["dpkg-query", "-W", "-f", "${Version}", "fasttext"], capture_output=True, text=True)
    return done.stdout.strip() if done.returncode == 0 and done.stdout.strip() else "unknown (not from a Debian package)"


def git_commit() -> str | None:
    done = subprocess.run(["git", "-C", str(ROOT), "describe", "--always", "--dirty"], capture_output=True, text=True)
    return done.stdout.strip() or None


def fasttext_settings(epochs: int, threads: int) -> list[str]:
    return f"-epoch {epochs} -lr 0.5 -wordNgrams 2 -thread {threads}".split()


def gold_labels(path: Path) -> list[set[str]]:
    with open(path, encoding="utf-8") as handle:
        return [{token for token in line.split() if token.startswith(LABEL)} for line in handle]


def precision_at_1(gold: list[set[str]], predictions: str) -> float:
    """P@1 as fastText's meter counts it: over the lines that have labels, correct first predictions
    over predictions made (``fasttext predict`` prints one line per input line, empty for none)."""
    lines = predictions.split("\n")
    predicted = correct = 0
    for index, labels in enumerate(gold):
        if not labels:
            continue
        first = lines[index].split(maxsplit=1)[:1] if index < len(lines) else []
        if first:
            predicted += 1
            correct += first[0] in labels
    return correct / predicted if predicted else math.nan


def fasttext_printed_p_at_1(stdout: str) -> float:
    for line in stdout.splitlines():
        if line.startswith("P@1"):
            return float(line.split()[1])
    raise SystemExit(f"bench/classify.py: no P@1 in fasttext test's output:\n{stdout}")


@dataclass
class Bench:
    """What every measurement needs: the tools, the data, the settings."""

    textseq: list[str]
    fasttext: str | None
    threads: int
    train: Path
    valid: Path
    test: Path
    gold_test: list[set[str]]
    gold_valid: list[set[str]]

    def fasttext_train(self, epochs: int, prefix: Path) -> dict[str, float]:
        assert self.fasttext is not None
        run = measure(
            [self.fasttext, "supervised", "-input", str(self.train), "-output", str(prefix), *fasttext_settings(epochs, self.threads)]
        )
        model = prefix.with_suffix(".bin")
        predicted = measure([self.fasttext, "predict", str(model), str(self.test)])
        printed = measure([self.fasttext, "test", str(model), str(self.test)])
        return {
            "seconds": run.seconds,
            "peak_rss": run.peak_rss,
            "p_at_1": precision_at_1(self.gold_test, predicted.stdout),
            "p_at_1_printed": fasttext_printed_p_at_1(printed.stdout),
            "test_seconds": printed.seconds,
            "model_bytes": model.stat().st_size,
            "vec_bytes": prefix.with_suffix(".vec").stat().st_size if prefix.with_suffix(".vec").exists() else 0,
        }

    def fasttext_valid_p_at_1(self, prefix: Path) -> float:
        assert self.fasttext is not None
        return precision_at_1(self.gold_valid, measure([self.fasttext, "predict", str(prefix.with_suffix(".bin")), str(self.valid)]).stdout)

    def textseq_train(self, arguments: list[str], model: Path) -> tuple[Run, dict[str, float]]:
        run = measure([*self.textseq, "classify", "train", str(self.train), "--valid", str(self.valid), *arguments, "-O", str(model)])
        return run, self.textseq_test(model)

    def textseq_test(self, model: Path) -> dict[str, float]:
        run = measure([*self.textseq, "classify", "test", str(model), str(self.test), "--json"])
        report = json.loads(run.stdout)
        return {key: report[key] for key in ("precision_at_1", "accuracy", "macro_f1", "micro_f1", "ece")} | {"test_seconds": run.seconds}

    def linear_arguments(self, epochs: int) -> list[str]:
        return f"--arch linear -t whitespace -c word_ngrams=2 --epochs {epochs} --lr 0.5 --threads {self.threads}".split()

    def textseq_linear(self, epochs: int, model: Path) -> dict[str, float]:
        run, report = self.textseq_train(self.linear_arguments(epochs), model)
        return {
            "seconds": run.seconds,
            "peak_rss": run.peak_rss,
            "p_at_1": report["precision_at_1"],
            "model_bytes": model.stat().st_size,
            **{key: value for key, value in report.items() if key != "precision_at_1"},
        }


def spread(values: list[float], digits: int = 4) -> str:
    if not values:
        return "-"
    text = f"{statistics.fmean(values):.{digits}f}"
    if len(values) > 1:
        text += f" ± {statistics.stdev(values):.{digits}f} ({min(values):.{digits}f}-{max(values):.{digits}f})"
    return text


def summary(values: Iterable[float]) -> dict[str, float]:
    items = list(values)
    return {
        "mean": statistics.fmean(items),
        "stdev": statistics.stdev(items) if len(items) > 1 else 0.0,
        "min": min(items),
        "max": max(items),
        "n": len(items),
    }


def compare_training(bench: Bench, epochs: int, repeat: int, tag: str, valid: bool = False) -> dict:
    """--repeat runs of both tools at ``epochs``, alternating which goes first; with ``valid``, also
    fastText's P@1 on the validation lines (the bar a network's validation accuracy is held to)."""
    runs: list[dict] = []
    for index in range(repeat):
        order = ["fasttext", "textseq"] if index % 2 == 0 else ["textseq", "fasttext"]
        entry: dict = {"repeat": index + 1, "order": order}
        for tool in order:
            if tool == "fasttext" and bench.fasttext is None:
                continue
            print(f"{tag} {index + 1}/{repeat}: {tool} ...", file=sys.stderr)
            if tool == "fasttext":
                prefix = MODELS / f"fasttext-e{epochs}"
                entry["fasttext"] = bench.fasttext_train(epochs, prefix)
                if valid:
                    entry["fasttext_valid_p_at_1"] = bench.fasttext_valid_p_at_1(prefix)
            else:
                entry["textseq"] = bench.textseq_linear(epochs, MODELS / f"textseq-e{epochs}.tsc")
        runs.append(entry)
    result: dict = {"epochs": epochs, "runs": runs}
    for tool in ("textseq", "fasttext"):
        sides = [run[tool] for run in runs if tool in run]
        if sides:
            result[tool] = {
                "best_seconds": min(side["seconds"] for side in sides),
                "max_peak_rss": max(side["peak_rss"] for side in sides),
                "p_at_1": summary(side["p_at_1"] for side in sides),
                "model_bytes": sides[-1]["model_bytes"],
            }
    if valid and bench.fasttext is not None:
        result["fasttext_valid_p_at_1"] = summary(run["fasttext_valid_p_at_1"] for run in runs)
    return result


def predict_commands(bench: Bench, text: Path) -> dict[str, list[str]]:
    commands = {"textseq": [*bench.textseq, "classify", "predict", str(MODELS / "textseq-e5.tsc"), str(text)]}
    if bench.fasttext is not None:
        commands["fasttext"] = [bench.fasttext, "predict", str(MODELS / "fasttext-e5.bin"), str(text)]
    return commands


def time_predict(commands: dict[str, list[str]], repeat: int, lines: int) -> dict:
    """The best of ``repeat`` runs of each command, output to /dev/null, alternating which goes first."""
    seconds: dict[str, list[float]] = {tool: [] for tool in commands}
    peaks: dict[str, int] = dict.fromkeys(commands, 0)
    for index in range(repeat):
        for tool in sorted(commands, reverse=index % 2 == 1):
            run = measure(commands[tool], stdout_to=Path(os.devnull))
            seconds[tool].append(run.seconds)
            peaks[tool] = max(peaks[tool], run.peak_rss)
    return {
        tool: {
            "seconds": seconds[tool],
            "best_seconds": min(seconds[tool]),
            "lines_per_s": lines / min(seconds[tool]),
            "peak_rss": peaks[tool],
        }
        for tool in commands
    }


def compare_predict(bench: Bench, repeat: int, copies: int) -> dict:
    """Lines/s of each whole predict command on the test file: one warm-up run of each (the page
    cache), then the best of --repeat. Then the same on the test file repeated ``copies`` times: the
    difference of the two is the rate once the model is loaded, what a long pipe sees."""
    lines = len(bench.gold_test)
    commands = predict_commands(bench, bench.test)
    for tool, command in commands.items():
        print(f"predict: warm-up {tool} ...", file=sys.stderr)
        measure(command, stdout_to=Path(os.devnull))
    result: dict = {"lines": lines, **time_predict(commands, repeat, lines)}
    if copies > 1:
        longer = MODELS / f"test-x{copies}.txt"
        longer.write_bytes(bench.test.read_bytes() * copies)
        print(f"predict: the test file x{copies} ...", file=sys.stderr)
        timed = time_predict(predict_commands(bench, longer), repeat, lines * copies)
        for tool, entry in timed.items():
            extra = entry["best_seconds"] - result[tool]["best_seconds"]
            entry["loaded_lines_per_s"] = lines * (copies - 1) / extra if extra > 0 else math.nan
        result["copies"] = {"copies": copies, "lines": lines * copies, **timed}
    return result


def neural_arguments(args: argparse.Namespace) -> list[str]:
    arguments = ["--arch", args.neural, "-t", args.neural_tokenizer, "--time-budget", args.neural_budget, "--threads", str(args.threads)]
    for item in args.neural_config:
        arguments += ["-c", item]
    if args.neural_epochs:
        arguments += ["--epochs", str(args.neural_epochs)]
    if args.neural_device:
        arguments += ["--device", args.neural_device]
    return arguments


def first_epoch_reaching(log: Path, accuracy: float, started: float) -> dict[str, float] | None:
    """The first --log entry whose validation accuracy is at least ``accuracy``: its epoch and the
    seconds from the command's start to the end of that epoch."""
    if not log.exists():
        return None
    for line in log.read_text(encoding="utf-8").splitlines():
        entry = json.loads(line)
        if (entry.get("valid_accuracy") or 0.0) >= accuracy:
            return {"epoch": entry["epoch"], "seconds": entry["time"] - started, "valid_accuracy": entry["valid_accuracy"]}
    return None


def run_neural(bench: Bench, args: argparse.Namespace, best: dict | None) -> dict:
    model, log = MODELS / f"neural-{args.neural}.tsc", MODELS / f"neural-{args.neural}.log.jsonl"
    log.unlink(missing_ok=True)
    arguments = [*neural_arguments(args), "--log", str(log)]
    print(f"neural: textseq classify train {' '.join(arguments)} ...", file=sys.stderr)
    started = time.time()
    run, report = bench.textseq_train(arguments, model)
    epochs = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()] if log.exists() else []
    result: dict = {
        "command": ["textseq", "classify", "train", "TRAIN", "--valid", "VALID", *arguments, "-O", str(model)],
        "seconds": run.seconds,
        "peak_rss": run.peak_rss,
        "p_at_1": report["precision_at_1"],
        "report": report,
        "epochs": epochs,
        "model_bytes": model.stat().st_size,
        "stderr_tail": run.stderr[-3000:],
    }
    valid = best.get("fasttext_valid_p_at_1") if best else None
    if isinstance(valid, dict):
        result["reached_fasttext_best_valid"] = first_epoch_reaching(log, valid["mean"], started)
    return result


def ratio(ours: float, theirs: float) -> float:
    return ours / theirs if theirs else math.nan


def runs_each(count: int) -> str:
    return f"{count} run{'s' if count > 1 else ''} each"


def verdict(passed: bool) -> str:
    return "PASS" if passed else "FAIL"


def mib(size: float) -> str:
    return f"{size / 2**20:,.0f} MiB"


def predict_rows(predict: dict) -> list[tuple[str, str, str, str, str]]:
    rows = []
    copies = predict.get("copies")
    for name, entry, key in (
        (f"predict {predict['lines']:,} lines, whole command, best", predict, "lines_per_s"),
        (f"predict the test file x{copies['copies']} ({copies['lines']:,} lines), best" if copies else "", copies, "lines_per_s"),
        ("the same, loading left out (the difference of the two)", copies, "loaded_lines_per_s"),
    ):
        if not entry:
            continue
        ours, theirs = entry["textseq"], entry.get("fasttext")
        seconds = key == "lines_per_s"
        cells = [f"{side[key]:,.0f} lines/s" + (f" ({side['best_seconds']:.2f} s)" if seconds else "") for side in (ours, theirs) if side]
        share = ratio(ours[key], theirs[key]) if theirs else math.nan
        target = f">= {PREDICT_TARGET:.1f}x {verdict(share >= PREDICT_TARGET)}" if theirs and entry is predict else ""
        rows.append((name, cells[0], cells[1] if theirs else "skipped", f"{share:.2f}x" if theirs else "", target))
    return rows


def print_linear(out: list[str], linear: dict, predict: dict | None) -> None:
    ours, theirs = linear["textseq"], linear.get("fasttext")
    rows: list[tuple[str, str, str, str, str]] = []
    if theirs:
        time_ratio = ratio(ours["best_seconds"], theirs["best_seconds"])
        rss_ratio = ratio(ours["max_peak_rss"], theirs["max_peak_rss"])
        gap = ours["p_at_1"]["mean"] - theirs["p_at_1"]["mean"]
        rows += [
            (
                "train, whole command, best",
                f"{ours['best_seconds']:.2f} s",
                f"{theirs['best_seconds']:.2f} s",
                f"{time_ratio:.2f}x",
                f"<= {TIME_TARGET:.1f}x {verdict(time_ratio <= TIME_TARGET)}",
            ),
            (
                "train, peak RSS, max",
                mib(ours["max_peak_rss"]),
                mib(theirs["max_peak_rss"]),
                f"{rss_ratio:.2f}x",
                f"<= {RSS_TARGET:.1f}x {verdict(rss_ratio <= RSS_TARGET)}",
            ),
            (
                "test P@1, mean ± sd (min-max)",
                spread([r["textseq"]["p_at_1"] for r in linear["runs"]]),
                spread([r["fasttext"]["p_at_1"] for r in linear["runs"] if "fasttext" in r]),
                f"{gap:+.4f}",
                f">= -{P_AT_1_MARGIN} {verdict(gap >= -P_AT_1_MARGIN)}",
            ),
        ]
    else:
        rows += [
            ("train, whole command, best", f"{ours['best_seconds']:.2f} s", "skipped", "", ""),
            ("train, peak RSS, max", mib(ours["max_peak_rss"]), "skipped", "", ""),
            ("test P@1, mean ± sd (min-max)", spread([r["textseq"]["p_at_1"] for r in linear["runs"]]), "skipped", "", ""),
        ]
    if predict:
        rows += predict_rows(predict)
    sizes = f"{mib(theirs['model_bytes'])} .bin" if theirs else "skipped"
    vec = [r["fasttext"]["vec_bytes"] for r in linear["runs"] if "fasttext" in r]
    if vec and vec[-1]:
        sizes += f" (+ {mib(vec[-1])} .vec)"
    rows.append(
        ("model file", mib(ours["model_bytes"]), sizes, f"{ratio(ours['model_bytes'], theirs['model_bytes']):.2f}x" if theirs else "", "")
    )
    out.append(f"fastText's settings (-epoch 5 -lr 0.5 -wordNgrams 2), {runs_each(len(linear['runs']))}, alternating")
    out.extend(table(("measured", "textseq linear", "fastText", "ratio", "target"), rows))


def print_best(out: list[str], best: dict) -> None:
    ours, theirs = best["textseq"], best.get("fasttext")
    runs = best["runs"]
    rows = [
        (
            "train, whole command, best",
            f"{ours['best_seconds']:.2f} s",
            f"{theirs['best_seconds']:.2f} s" if theirs else "skipped",
            f"{ratio(ours['best_seconds'], theirs['best_seconds']):.2f}x" if theirs else "",
        ),
        (
            "test P@1, mean ± sd (min-max)",
            spread([r["textseq"]["p_at_1"] for r in runs]),
            spread([r["fasttext"]["p_at_1"] for r in runs if "fasttext" in r]) if theirs else "skipped",
            f"{ours['p_at_1']['mean'] - theirs['p_at_1']['mean']:+.4f}" if theirs else "",
        ),
    ]
    if "fasttext_valid_p_at_1" in best:
        rows.append(
            (
                "valid P@1 (fastText: the bar for --neural)",
                "",
                spread([r["fasttext_valid_p_at_1"] for r in runs if "fasttext_valid_p_at_1" in r]),
                "",
            )
        )
    out.append(f"fastText's best setting (-epoch {best['epochs']} -lr 0.5 -wordNgrams 2), {runs_each(len(runs))}; the issue: {ISSUE_BEST}")
    out.extend(table(("measured", f"textseq linear -epoch {best['epochs']}", "fastText", "ratio / difference"), rows))


def print_neural(out: list[str], neural: dict, best: dict | None) -> None:
    theirs = best.get("fasttext") if best else None
    bar = theirs["p_at_1"]["mean"] if theirs else None
    rows = [
        (
            "whole command (budget " + neural["budget"] + ")",
            f"{neural['seconds']:.1f} s",
            f"{theirs['best_seconds']:.1f} s" if theirs else "not run",
            "",
        ),
        ("peak RSS", mib(neural["peak_rss"]), mib(theirs["max_peak_rss"]) if theirs else "", ""),
        ("epochs finished", str(len(neural["epochs"])), "", ""),
        (
            "test P@1",
            f"{neural['p_at_1']:.4f}",
            spread([r["fasttext"]["p_at_1"] for r in best["runs"] if "fasttext" in r]) if theirs and best else "not run",
            f"{neural['p_at_1'] - bar:+.4f} {verdict(neural['p_at_1'] > bar)}" if bar is not None else "",
        ),
    ]
    reached = neural.get("reached_fasttext_best_valid")
    if "reached_fasttext_best_valid" in neural:
        rows.append(
            (
                "reaches fastText's best valid P@1",
                f"epoch {reached['epoch']}, {reached['seconds']:.0f} s ({reached['valid_accuracy']:.4f})" if reached else "not reached",
                "",
                "",
            )
        )
    out.append(f"neural: {' '.join(neural['command'])}")
    out.extend(table(("measured", f"textseq {neural['arch']}", "fastText best", "difference / target: beat it"), rows))


def table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> list[str]:
    widths = [max(len(row[column]) for row in [header, *rows]) for column in range(len(header))]
    lines = ["  " + "  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() for row in [header, *rows]]
    lines.insert(1, "  " + "  ".join("-" * width for width in widths))
    return lines


def parse_arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=3, help="runs of each tool and setting (default 3)")
    parser.add_argument("--threads", type=int, default=2, help="training threads on both sides (default 2)")
    parser.add_argument("--best-epochs", type=int, default=25, help="epochs of the best setting (default 25; 0 skips it)")
    parser.add_argument("--no-linear", action="store_true", help="skip the comparison at fastText's settings (train, test, predict)")
    parser.add_argument(
        "--predict-copies", type=int, default=10, help="also predict the test file repeated N times (default 10; 1 skips it)"
    )
    parser.add_argument("--data", type=Path, default=CORPUS, help="folder of train.txt, valid.txt, test.txt (default debian-packages)")
    parser.add_argument("--fasttext", metavar="PATH", help="the fasttext binary (default: $FASTTEXT, fasttext on PATH, /usr/bin/fasttext)")
    parser.add_argument("--neural", metavar="ARCH", help="also train this network (lstm, gru, cnn, cnn-lstm, char-cnn, ...)")
    parser.add_argument("--neural-config", action="append", default=[], metavar="KEY=VALUE", help="a -c option of the network; repeatable")
    parser.add_argument("--neural-budget", default="10m", metavar="DURATION", help="its --time-budget (default 10m)")
    parser.add_argument(
        "--neural-tokenizer", default="word", metavar="NAME", help="its tokenizer (default word; whitespace: fastText's tokens)"
    )
    parser.add_argument("--neural-epochs", type=int, metavar="N", help="its --epochs (default: the network's)")
    parser.add_argument("--neural-device", metavar="DEVICE", help="its --device (default: textseq's, auto)")
    args = parser.parse_args()
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    if args.no_linear and not args.best_epochs and not args.neural:
        parser.error("--no-linear and --best-epochs 0 leave nothing to run without --neural")
    return args


def make_bench(args: argparse.Namespace) -> Bench:
    train, valid, test = (args.data / f"{name}.txt" for name in ("train", "valid", "test"))
    missing = [str(path) for path in (train, valid, test) if not path.exists()]
    if missing:
        raise SystemExit(f"bench/classify.py: no {', '.join(missing)} (the debian-packages corpus lives in ../shared/corpora)")
    return Bench(textseq_command(), find_fasttext(args.fasttext), args.threads, train, valid, test, gold_labels(test), gold_labels(valid))


def main() -> int:
    args = parse_arguments()
    bench = make_bench(args)
    MODELS.mkdir(parents=True, exist_ok=True)
    results: dict = {
        "data": {"train": str(bench.train), "valid": str(bench.valid), "test": str(bench.test), "test_lines": len(bench.gold_test)},
        "settings": {
            "repeat": args.repeat,
            "threads": args.threads,
            "best_epochs": args.best_epochs,
            "predict_copies": args.predict_copies,
        },
        "commands": {
            "fasttext": ["fasttext", "supervised", "-input", "TRAIN", "-output", "PREFIX", *fasttext_settings(5, args.threads)],
            "textseq": ["textseq", "classify", "train", "TRAIN", "--valid", "VALID", *bench.linear_arguments(5), "-O", "MODEL"],
        },
        "commit": git_commit(),
        "python": sys.version.split()[0],
        "cpus": os.cpu_count(),
        "load_average_start": os.getloadavg(),
    }
    notes: list[str] = []
    if bench.fasttext is None:
        notes.append("reference skipped: no fasttext (apt-get install fasttext, 0.9.2; or --fasttext PATH, $FASTTEXT): textseq runs alone")
        results["fasttext"] = {"skipped": notes[-1]}
    else:
        results["fasttext"] = {"path": bench.fasttext, "version": fasttext_version()}
    for note in notes:
        print(f"bench/classify.py: {note}", file=sys.stderr)
    print(f"data {args.data}; {os.cpu_count()} CPUs; load average {os.getloadavg()[0]:.2f}", file=sys.stderr)

    linear = predict = best = neural = None
    if not args.no_linear:
        linear = results["linear"] = compare_training(bench, 5, args.repeat, "linear -epoch 5")
        predict = results["predict"] = compare_predict(bench, args.repeat, args.predict_copies)
    if args.best_epochs:
        best = results["best"] = compare_training(bench, args.best_epochs, args.repeat, f"best -epoch {args.best_epochs}", valid=True)
    if args.neural:
        neural = run_neural(bench, args, best)
        neural |= {"arch": args.neural, "budget": args.neural_budget}
        results["neural"] = neural
    results["load_average_end"] = os.getloadavg()

    out = [
        f"debian-packages: {len(bench.gold_test):,} test lines; textseq {results['commit']}; "
        + (f"fastText {results['fasttext']['version']}" if bench.fasttext else "fastText skipped")
        + f"; {os.cpu_count()} CPUs, load average {results['load_average_start'][0]:.2f} at the start, {os.getloadavg()[0]:.2f} at the end",
        *notes,
    ]
    if linear:
        print_linear(out, linear, predict)
    if best:
        print_best(out, best)
    if neural:
        print_neural(out, neural, best)
    sys.stdout.write("\n".join(out) + "\n")
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "classify.json").write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
