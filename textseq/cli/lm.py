"""``textseq sample`` and ``textseq eval``: one code path for every kind of model, over the
:class:`~textseq.lm.LanguageModel` that :func:`textseq.lm.open_model` opens."""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from typing import Any

import click

from textseq.cli.common import (
    App,
    FiniteFloat,
    ModelFile,
    errors_option,
    input_files,
    json_option,
    pass_app,
    quiet_option,
    read_blocks,
)
from textseq.streams import display_name, isatty, open_output

_device_option = click.option("--device", default="cpu", show_default=True, help="Neural checkpoints: cpu, cuda, cuda:N, mps or auto.")


@click.command(
    "sample",
    epilog="""\b
Examples:
  textseq sample book.arpa -n 30 --num-samples 5
  textseq sample book.arpa --prime "the king" --temperature 0.8 --seed 1
  textseq sample book.arpa --top-p 0.9 | textseq detokenize
  textseq sample book.pt --prime "ROMEO:" --temperature 0.8 -n 500 --stop JULIET:
  textseq sample book.arpa --prime "the king" --beam 5 --num-samples 3    # the 3 most probable
  textseq sample book.pt -n 2000 --threads 1     # one core, while a training run keeps the others busy

\b
An LSTM sample of 10,000 tokens or more on CPU (no --top-k or --top-p) is drawn, after its first
1,000 tokens, by a compiled loop (numba: about 0.8 s to load, compiled once on first use), about
1.6x as fast on two cores; its arithmetic differs from the default path's in the last bits.""",
)
@click.argument("model", type=ModelFile())
@click.option("--prime", default="", help="Tokens that start every sample (printed too).")
@click.option(
    "-n",
    "--max-tokens",
    type=click.IntRange(min=1),
    default=100,
    show_default=True,
    help="At most this many tokens per sample (a sample also ends at </s>).",
)
@click.option("--num-samples", type=click.IntRange(min=1), default=1, show_default=True, help="How many samples, one per line.")
@click.option(
    "-t",
    "--temperature",
    type=FiniteFloat(min=0.0),
    default=1.0,
    show_default=True,
    help="Below 1 more likely tokens, above 1 more varied; 0 is greedy.",
)
@click.option("--top-k", type=click.IntRange(min=0), default=0, help="Draw only from the K most likely tokens (0: all).")
@click.option(
    "--top-p",
    type=FiniteFloat(0.0, 1.0, min_open=True),
    default=1.0,
    help="Draw only from the most likely tokens that together have probability P.",
)
@click.option("--greedy", is_flag=True, help="Always the most likely token (same as --temperature 0).")
@click.option(
    "--beam",
    type=click.IntRange(min=1),
    default=None,
    metavar="K",
    help="Beam search of width K instead of drawing: the most probable continuations (--num-samples of them).",
)
@click.option("--stop", default=None, metavar="STRING", help="End a sample when its text ends with STRING (kept).")
@click.option(
    "--seed",
    type=click.IntRange(min=0),
    default=None,
    help="Random seed, a whole number from 0: the same seed (on the same device) gives the same text.",
)
@_device_option
@click.option(
    "--threads",
    type=click.IntRange(min=1),
    default=None,
    help="Neural checkpoints on CPU: threads for the matrix products and the compiled loop [default: the cores not busy with other work].",
)
@pass_app
def sample_command(
    app: App,
    model: str,
    prime: str,
    max_tokens: int,
    num_samples: int,
    temperature: float,
    top_k: int,
    top_p: float,
    greedy: bool,
    beam: int | None,
    stop: str | None,
    seed: int | None,
    device: str,
    threads: int | None,
) -> None:
    """Generate text from a language model (n-gram model or neural checkpoint), token by token,
    printed as it is drawn."""
    from textseq.lm import open_model
    from textseq.sampling import SamplingOptions, stream_samples

    lm = open_model(model, device, threads)
    options = SamplingOptions(temperature=0.0 if greedy else temperature, top_k=top_k, top_p=top_p, max_tokens=max_tokens)
    interactive = isatty(app.stdout)
    for piece in stream_samples(lm, prime, options, samples=num_samples, stop=stop, seed=seed, beam=beam):
        app.stdout.write(piece.encode("utf-8"))
        if interactive or piece.endswith("\n"):
            app.stdout.flush()


@click.command(
    "eval",
    epilog="""\b
Examples:
  textseq eval book.arpa test.tok
  textseq tokenize --lower test.txt | textseq eval book.arpa --json
  textseq eval book.arpa --per-line test.tok | sort -g | head
  textseq eval book.pt test.txt                       # a neural checkpoint: the same report
  textseq eval book.arpa test.tok --also book.pt      # side by side""",
)
@click.argument("model", type=ModelFile())
@input_files
@click.option("--per-line", is_flag=True, help="Print each line's log10 probability (the report then goes to stderr).")
@click.option(
    "--also",
    multiple=True,
    metavar="MODEL",
    type=ModelFile(),
    help="Another model to score on the same text, in a column of its own; repeatable.",
)
@_device_option
@click.option(
    "--threads",
    type=click.IntRange(min=1),
    default=None,
    help="Neural checkpoints on CPU: threads for the matrix products [default: the cores not busy with other work].",
)
@json_option
@errors_option
@quiet_option
@pass_app
def eval_command(
    app: App,
    model: str,
    files: tuple[str, ...],
    per_line: bool,
    also: tuple[str, ...],
    device: str,
    threads: int | None,
    as_json: bool,
    errors: str,
    quiet: bool,
) -> None:
    """Perplexity of a language model (n-gram model or neural checkpoint) on a token stream;
    bits per character too for a character-level checkpoint. With --also, several models on the
    same text, side by side.

    Counts as KenLM's query does: every word and every </s> is a token, a word the model does not
    know is an OOV scored as <unk>, and perplexity is given with and without the OOVs.
    """
    app.quiet(quiet)
    if per_line and also:
        raise click.UsageError("--per-line scores one model")
    blocks: Iterable[str] = read_blocks(app, files, errors, "scoring")
    if also:
        blocks = list(blocks)
    reports = [_model_report(app, path, blocks, device, per_line, threads) for path in (model, *also)]
    with open_output(None, app.stdout) as out:
        if per_line:
            per_sentence = reports[0].pop("per_line")
            out.write("".join(f"{s:.6f}\n" for s in per_sentence.tolist()))
            app.console.table(model, [(name, value) for name, value in _report_rows(reports[0])])
        elif as_json:
            value = reports[0] if not also else reports
            out.write(json.dumps(_json_safe(value), indent=2, allow_nan=False) + "\n")
        else:
            out.write(_report_table(reports, side_by_side=bool(also)))


def _report_table(reports: list[dict[str, Any]], side_by_side: bool) -> str:
    """The reports as a table: a figure per line, and with ``side_by_side`` a column per model
    under its name ('-' where a model has no such figure)."""
    names = [name for name, _ in _report_rows(reports[0])]
    for report in reports[1:]:
        names += [name for name, _ in _report_rows(report) if name not in names]
    columns = [dict(_report_rows(report)) for report in reports]
    width = max(len(name) for name in names)
    if not side_by_side:
        return "".join(f"{name:<{width}}  {columns[0][name]}\n" for name in names)
    widths = [max(len(r["model"]), *(len(c.get(n, "")) for n in names)) for r, c in zip(reports, columns)]
    header = f"{'':<{width}}" + "".join(f"  {r['model']:>{w}}" for r, w in zip(reports, widths)) + "\n"
    return header + "".join(
        f"{name:<{width}}" + "".join(f"  {c.get(name, '-'):>{w}}" for c, w in zip(columns, widths)) + "\n" for name in names
    )


def _model_report(app: App, path: str, blocks: Iterable[str], device: str, per_line: bool, threads: int | None = None) -> dict[str, Any]:
    """The evaluation of one model (any kind) as a dict, 'model' first."""
    from textseq.lm import open_model

    lm = open_model(path, device, threads)
    if not lm.scores_are_probabilities:
        app.console.warn(f"{path} holds {lm.kind} scores, not probabilities: this 'perplexity' is not comparable with other models'")
    report, per_sentence = lm.evaluate(blocks)
    result: dict[str, Any] = {"model": display_name(path), **report}
    if per_line:
        result["per_line"] = per_sentence
    return result


def _json_safe(value: object) -> object:
    """``value`` with every figure that is not a finite number (undefined: no tokens; too large
    for a float) as null, which JSON has, where NaN and Infinity are not JSON."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: _json_safe(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_json_safe(item) for item in value]
    return value


def _figure(value: float | None, digits: int) -> str:
    """A report's number for the table: 'n/a' where it is undefined (no tokens), 'inf' beyond a
    float, and a large one in exponent notation rather than 100 digits."""
    if value is None or math.isnan(value):
        return "n/a"
    if math.isinf(value):
        return "inf"
    return f"{value:.{digits}f}" if abs(value) < 1e12 else f"{value:.{digits}e}"


def _report_rows(report: dict[str, Any]) -> list[tuple[str, str]]:
    rows = [
        ("perplexity", _figure(report["perplexity"], 3)),
        ("perplexity excluding OOVs", _figure(report["perplexity_excluding_oovs"], 3)),
    ]
    if "bits_per_character" in report:
        rows.append(("bits per character", _figure(report["bits_per_character"], 4)))
    rows += [
        ("log10 probability", _figure(report["log10_prob"], 4)),
        ("tokens", f"{report['tokens']:,}"),
        ("OOVs", f"{report['oovs']:,}"),
        ("sentences", f"{report['sentences']:,}"),
    ]
    return rows
