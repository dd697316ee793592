"""``textseq classify train | predict | test``: text classification from the terminal, on fastText's
file format (``__label__NAME`` tokens, or ``label<TAB>text``).

Each command parses its options, opens its streams and calls the library
(:func:`textseq.classify.training.train_classifier`, :mod:`textseq.classify.predict`). torch is
imported only by a neural classifier; the linear one predicts with numpy alone.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, TextIO

import click

from textseq.cli.common import App, FiniteFloat, ModelFile, errors_option, json_option, pass_app, quiet_option
from textseq.progress import EpochReport, Monitor

if TYPE_CHECKING:
    from textseq.classify.metrics import ClassificationReport
    from textseq.classify.saved import SavedClassifier, TokenizerSpec

_FORMATS = click.Choice(["fasttext", "tsv"])


@click.group(
    "classify",
    epilog="""\b
Examples:
  textseq classify train train.txt --valid valid.txt -c word_ngrams=2 -O topics.tsc
  textseq classify test topics.tsc test.txt
  cut -d' ' -f2- new.txt | textseq classify predict topics.tsc --probs""",
)
def classify_group() -> None:
    """Text classification: lines to labels (sentiment, topic, language, spam), with fastText's
    linear model or a neural network (lstm, gru, rnn, cnn, cnn-lstm, char-cnn, or a plugin's).

    Data is fastText's: one example a line, its labels as __label__NAME tokens anywhere on the
    line (several: multi-label), the rest its text; or label<TAB>text with --format tsv."""


def _format_options(function: Any) -> Any:
    function = click.option("--label-prefix", default="__label__", show_default=True, help="What starts a label token.")(function)
    return click.option("--format", "line_format", type=_FORMATS, default="fasttext", show_default=True, help="How lines hold labels.")(
        function
    )


@classify_group.command(
    "train",
    epilog="""\b
Examples:
  textseq classify train train.txt --valid valid.txt --arch linear -c word_ngrams=2 -O model.tsc
  textseq classify train reviews.txt --arch cnn --vectors book.vec -c embeddings=non-static -O reviews.tsc
  textseq classify train train.txt --arch lstm -c pooling=attention --time-budget 10m -O model.tsc
  textseq classify train train.txt --arch lstm --resume model.last.tsc -O model.tsc""",
)
@click.argument("train_path", metavar="TRAIN", type=click.Path(dir_okay=False, allow_dash=True))
@click.option(
    "-O", "--output", required=True, type=click.Path(dir_okay=False), help="The model file; a resumable one goes to NAME.last.EXT."
)
@click.option(
    "-a",
    "--arch",
    default="linear",
    show_default=True,
    metavar="NAME",
    help="linear, lstm, gru, rnn, cnn, cnn-lstm, char-cnn or a plugin's.",
)
@click.option(
    "-c",
    "--config",
    "config_items",
    multiple=True,
    metavar="KEY=VALUE",
    help="An option of the classifier (dim, word_ngrams, hidden_size, ...); repeatable.",
)
@click.option(
    "--valid",
    "valid_path",
    type=click.Path(dir_okay=False, exists=True),
    default=None,
    help="Validation lines [default: a stratified 10% of TRAIN, held out].",
)
@click.option(
    "-t",
    "--tokenizer",
    default=None,
    metavar="NAME",
    help="word, whitespace (text tokenized already), char, spm or a plugin's [default: word].",
)
@click.option("-p", "--param", "params", multiple=True, metavar="KEY=VALUE", help="A tokenizer option; repeatable.")
@click.option(
    "--spm",
    "spm_path",
    type=click.Path(dir_okay=False, exists=True),
    default=None,
    help="A sentencepiece model (implies -t spm); it travels in the model file.",
)
@_format_options
@click.option(
    "--epochs",
    type=click.IntRange(min=1),
    default=None,
    help="Passes over the training lines [default: the classifier's; linear 5, networks 10].",
)
@click.option("--lr", type=FiniteFloat(min=0.0, min_open=True), default=None, help="Learning rate [default: linear 0.1, networks 0.001].")
@click.option("--batch-size", type=click.IntRange(min=1), default=None, help="Networks: examples per step [default: 32].")
@click.option("--max-steps", type=click.IntRange(min=1), default=None, help="Networks: stop after this many steps (resumable).")
@click.option(
    "--threads",
    type=click.IntRange(min=1),
    default=None,
    help="CPU threads (linear: Hogwild workers; 1 is exactly repeatable) [default: the idle cores].",
)
@click.option(
    "--seed", type=int, default=1, show_default=True, help="Random seed: the same seed, data and --threads 1 give the same model."
)
@click.option("--time-budget", default=None, metavar="DURATION", help="Stop after this much training time: 90s, 20m, 1.5h (resumable).")
@click.option("--device", default="auto", show_default=True, help="Networks: auto, cpu, cuda, cuda:N or mps.")
@click.option("--bf16", is_flag=True, help="Networks: bf16 autocast (CUDA only).")
@click.option(
    "--patience",
    type=click.IntRange(min=0),
    default=0,
    show_default=True,
    help="Stop after this many epochs without a better validation loss (0: never).",
)
@click.option(
    "--class-weight",
    default="none",
    show_default=True,
    metavar="none|balanced|FILE",
    help="Weigh each label's examples: by the inverse of its share, or by a file of 'label weight' lines.",
)
@click.option(
    "--vectors",
    "vectors_path",
    type=click.Path(dir_okay=False, exists=True),
    default=None,
    help="Word vectors (word2vec text/binary, GloVe, .vec) to start the embeddings from.",
)
@click.option("--no-calibrate", is_flag=True, help="Keep the raw probabilities (no temperature scaling, no tuned thresholds).")
@click.option(
    "--resume",
    "resume_path",
    type=ModelFile(),
    default=None,
    help="Continue a run from its model file (NAME.last.EXT), with its tokenizer and labels.",
)
@click.option("--log", "log_path", type=click.Path(dir_okay=False), default=None, help="Append each epoch's figures as a JSON line.")
@errors_option
@quiet_option
@pass_app
def train_command(
    app: App,
    train_path: str,
    output: str,
    arch: str,
    config_items: tuple[str, ...],
    valid_path: str | None,
    tokenizer: str | None,
    params: tuple[str, ...],
    spm_path: str | None,
    line_format: str,
    label_prefix: str,
    epochs: int | None,
    lr: float | None,
    batch_size: int | None,
    max_steps: int | None,
    threads: int | None,
    seed: int,
    time_budget: str | None,
    device: str,
    bf16: bool,
    patience: int,
    class_weight: str,
    vectors_path: str | None,
    no_calibrate: bool,
    resume_path: str | None,
    log_path: str | None,
    errors: str,
    quiet: bool,
) -> None:
    """Train a classifier on labelled lines and write one model file that `classify predict` and
    `classify test` use on any machine.

    Validation after every epoch; then temperature scaling fitted on the validation lines, so
    that probabilities mean what they say, and for multi-label data a threshold per label tuned
    for F1. Ctrl-C, SIGTERM and --time-budget leave a file that --resume continues."""
    app.quiet(quiet)
    from textseq.classify.classifier import FitSettings
    from textseq.classify.training import train_classifier
    from textseq.cli.common import open_log, parse_params
    from textseq.cli.progress import ConsoleMonitor
    from textseq.neural.lock import output_lock
    from textseq.neural.settings import parse_duration

    try:
        settings = FitSettings(
            epochs=epochs,
            lr=lr,
            batch_size=batch_size,
            threads=threads,
            seed=seed,
            time_budget=parse_duration(time_budget) if time_budget is not None else None,
            device=device,
            bf16=bf16,
            patience=patience,
            vectors=vectors_path,
            max_steps=max_steps,
        )
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    spec = _tokenizer_spec(tokenizer, params, spm_path)
    monitor: Monitor = ConsoleMonitor(app.console)
    log = open_log(log_path)
    if log is not None:
        monitor = _LoggingMonitor(monitor, log)
    try:
        with output_lock(output):
            result = train_classifier(
                _lines(app, train_path, errors),
                arch=arch,
                output=output,
                config=parse_params(config_items, "--config") if config_items else None,
                valid_lines=_lines(app, valid_path, errors) if valid_path is not None else None,
                tokenizer=spec,
                format=line_format,  # type: ignore[arg-type]  # click.Choice checked it
                label_prefix=label_prefix,
                settings=settings,
                class_weight=class_weight,
                calibrate=not no_calibrate,
                resume=resume_path,
                monitor=monitor,
                train_source=_name(train_path),
                valid_source=_name(valid_path) if valid_path is not None else "<valid>",
            )
    except KeyboardInterrupt:
        from textseq.classify.training import last_path

        app.console.info(f"interrupted: a resumable model is in {last_path(output)} (--resume {last_path(output)})")
        raise
    finally:
        if log is not None:
            log.close()
    figures = ", ".join(f"{key.replace('_', ' ')} {value:.4f}" for key, value in result.saved.metrics.items() if isinstance(value, float))
    app.console.info(f"{arch}: {len(result.saved.labels)} labels{', ' + figures if figures else ''}: {output}")
    if result.resumable is not None and not result.finished:
        app.console.info(f"stopped before the end: --resume {result.resumable} goes on")


def _tokenizer_spec(name: str | None, params: tuple[str, ...], spm_path: str | None) -> TokenizerSpec | None:
    """The tokenizer the user asked for; None where they asked for none (the classifier's default)."""
    from textseq.classify.saved import TokenizerSpec
    from textseq.cli.common import parse_params

    if name is None and spm_path is None and not params:
        return None
    name = name or ("spm" if spm_path else "word")
    options = parse_params(params) if params else {}
    if name == "spm":
        if spm_path is None:
            raise click.UsageError("the spm tokenizer needs a model: --spm MODEL (train one with 'textseq tokenize train-spm')")
        try:
            with open(spm_path, "rb") as handle:
                return TokenizerSpec("spm", options, handle.read())
        except OSError as exc:
            raise click.BadParameter(f"cannot read {spm_path}: {exc.strerror}", param_hint="--spm") from None
    if spm_path is not None:
        raise click.UsageError(f"--spm works only with the spm tokenizer, not '{name}'")
    return TokenizerSpec(name, options)


def _name(path: str) -> str:
    from textseq.streams import STDIN_NAME

    return STDIN_NAME if path == "-" else path


def _lines(app: App, path: str, errors: str) -> Iterator[str]:
    """The lines of ``path`` ('-': standard input), without their newline."""
    from textseq.cli.common import read_lines

    return read_lines(app, (path,), errors, hint="reading labelled lines from the terminal: end with Ctrl-D, or give a FILE")


class _LoggingMonitor(Monitor):
    """Passes everything on, and appends each epoch's figures to a log as a JSON line."""

    def __init__(self, inner: Monitor, log: TextIO) -> None:
        self.inner, self.log = inner, log

    def begin(self, description: str, total: float, unit: str) -> None:
        self.inner.begin(description, total, unit)

    def update(self, done: float) -> None:
        self.inner.update(done)

    def epoch_done(self, report: EpochReport) -> None:
        import math
        import time

        entry = {
            "epoch": report.epoch,
            "loss": report.loss,
            "seconds": round(report.seconds, 3),
            **report.metrics,
            "time": round(time.time(), 3),
        }
        finite = {key: None if isinstance(value, float) and not math.isfinite(value) else value for key, value in entry.items()}
        self.log.write(json.dumps(finite) + "\n")
        self.log.flush()
        self.inner.epoch_done(report)

    def note(self, message: str) -> None:
        self.inner.note(message)

    def end(self) -> None:
        self.inner.end()


def _open(path: str) -> SavedClassifier:
    from textseq.classify.saved import load_classifier

    return load_classifier(path)


@classify_group.command(
    "predict",
    epilog="""\b
Examples:
  textseq classify predict model.tsc new.txt
  cut -d' ' -f2- new.txt | textseq classify predict model.tsc --probs -k 3
  textseq classify predict model.tsc --json < new.txt | jq .labels""",
)
@click.argument("model", type=ModelFile())
@click.argument("path", metavar="[FILE|-]", default="-", type=click.Path(dir_okay=False, allow_dash=True))
@click.option(
    "-k",
    type=click.IntRange(min=1),
    default=None,
    help="At most K labels a line [default: 1; multi-label models: all that pass their thresholds].",
)
@click.option(
    "--threshold",
    type=FiniteFloat(min=0.0, max=1.0),
    default=None,
    help="Only labels at least this probable [default: 0; multi-label: the tuned thresholds].",
)
@click.option("--probs", is_flag=True, help="Each label followed by its probability.")
@json_option
@errors_option
@pass_app
def predict_command(
    app: App, model: str, path: str, k: int | None, threshold: float | None, probs: bool, as_json: bool, errors: str
) -> None:
    """The labels of each line of FILE (standard input by default), one output line each, in
    order and as they come (a program that writes a line and waits gets its answer at once).
    Labels on the lines are ignored; a blank line gets an empty line (or an empty JSON answer)."""
    from textseq.classify.predict import Choice, format_prediction, predict_blocks
    from textseq.gcpause import gc_paused
    from textseq.streams import iter_blocks, open_input

    saved = _open(model)
    choice = Choice(k, threshold)
    source = open_input(path, app.stdin)
    try:
        with gc_paused():
            for answers in predict_blocks(saved, iter_blocks(source, errors), choice):
                text = "".join(format_prediction(answer, saved, probabilities=probs, as_json=as_json) + "\n" for answer in answers)
                app.stdout.write(text.encode("utf-8"))
                app.stdout.flush()
    finally:
        source.close()


@classify_group.command(
    "test",
    epilog="""\b
Examples:
  textseq classify test model.tsc test.txt
  textseq classify test model.tsc test.txt -k 5 --json | jq .macro_f1
  textseq classify test model.tsc test.txt --plot confusion.png""",
)
@click.argument("model", type=ModelFile())
@click.argument("path", metavar="FILE", type=click.Path(dir_okay=False, allow_dash=True))
@click.option("-k", type=click.IntRange(min=1), default=1, show_default=True, help="P@k and R@k over the top K labels.")
@click.option(
    "--confusions", type=click.IntRange(min=0), default=10, show_default=True, help="How many of the most confused pairs to list."
)
@click.option(
    "--plot", "plot_path", type=click.Path(dir_okay=False), default=None, help="Draw the confusion matrix to this image (needs matplotlib)."
)
@json_option
@errors_option
@pass_app
def test_command(app: App, model: str, path: str, k: int, confusions: int, plot_path: str | None, as_json: bool, errors: str) -> None:
    """How well a classifier does on labelled lines: N, P@k and R@k as fastText's test prints them,
    then accuracy, micro and macro F1, the expected calibration error, a table of each label's
    precision, recall, F1 and support, and the most confused pairs."""
    from textseq.classify.predict import evaluate_classifier

    saved = _open(model)
    report = evaluate_classifier(saved, _lines(app, path, errors), k=k, source=_name(path))
    if plot_path is not None:
        from textseq.classify.plot import plot_confusion

        plot_confusion(report, plot_path)
    if as_json:
        value = report.as_dict()
        listed = value.get("confusions")
        if isinstance(listed, list):
            value["confusions"] = listed[:confusions]
        app.stdout.write((json.dumps(value, indent=2, ensure_ascii=False, allow_nan=False) + "\n").encode("utf-8"))
        return
    app.stdout.write(report_text(report, saved, confusions).encode("utf-8"))


def report_text(report: ClassificationReport, saved: SavedClassifier, confusions: int) -> str:
    """The test report as text: fastText's three lines first, so that scripts reading them keep working."""
    lines = [
        f"N\t{report.examples}",
        f"P@{report.k}\t{report.precision_at_k:.3f}",
        f"R@{report.k}\t{report.recall_at_k:.3f}",
        "",
        f"accuracy   {report.accuracy:.4f}",
        f"micro F1   {report.micro_f1:.4f}",
        f"macro F1   {report.macro_f1:.4f}",
    ]
    if report.ece is not None:
        lines.append(f"ECE        {report.ece:.4f}" + ("" if saved.calibration is not None else " (uncalibrated)"))
    lines.append("")
    width = max([5, *(len(scores.name) for scores in report.labels)])
    lines.append(f"{'label':<{width}}  precision  recall      F1  support")
    lines.extend(
        f"{s.name:<{width}}  {s.precision:9.4f}  {s.recall:6.4f}  {s.f1:6.4f}  {s.support:7d}"
        for s in sorted(report.labels, key=lambda s: -s.support)
    )
    shown = report.confusions[:confusions]
    if shown:
        lines += ["", "most confused (gold -> predicted: times)"]
        lines.extend(f"  {c.gold} -> {c.predicted}: {c.count}" for c in shown)
    return "\n".join(lines) + "\n"
