"""``textseq sample`` and ``textseq eval``: one code path for every kind of model, over the
:class:`~textseq.lm.LanguageModel` that :func:`textseq.lm.open_model` opens."""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

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
from textseq.neural.settings import DEFAULT_CONTEXT
from textseq.streams import display_name, isatty, open_output

if TYPE_CHECKING:
    from textseq.lm import LanguageModel
    from textseq.mixture import MixtureLM

_device_option = click.option("--device", default="cpu", show_default=True, help="Neural checkpoints: cpu, cuda, cuda:N, mps or auto.")
_mix_option = click.option(
    "--mix",
    multiple=True,
    metavar="MODEL",
    type=ModelFile(),
    help="Interpolate MODEL with the first (word-level models: n-gram models, word checkpoints); repeatable.",
)
_weights_option = click.option(
    "--weights",
    metavar="W1,W2,...",
    default=None,
    help="The mixture's weights, one per model in order, >= 0, summing to 1 [default: uniform, as SRILM's].",
)
_tune_on_option = click.option(
    "--tune-on",
    metavar="FILE",
    type=click.Path(dir_okay=False),
    default=None,
    help="Tune the mixture's weights by EM on this held-out text (not the text scored).",
)


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
  textseq sample book.arpa --mix book.pt --tune-on valid.tok -n 30    # from the interpolated models
  textseq sample book.tsmix --prime "the king"   # a mixture saved by 'textseq eval --save-mix'

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
@_mix_option
@_weights_option
@_tune_on_option
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
    mix: tuple[str, ...],
    weights: str | None,
    tune_on: str | None,
) -> None:
    """Generate text from a language model (n-gram model, neural checkpoint or mixture), token by
    token, printed as it is drawn.

    With --mix, from the linear interpolation of word-level models, over the first model's
    vocabulary (see 'textseq eval --help')."""
    from textseq.sampling import SamplingOptions, stream_samples

    lm, _ = _open_models(app, model, mix, weights, tune_on, device, threads, "strict")
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
  textseq eval book.pt test.txt --exact               # token by token, slow; the default agrees to 1e-3
  textseq eval book.pt test.txt --bf16                # bfloat16 where the CPU or GPU has it: faster, a little less exact
  textseq eval book.arpa test.tok --also book.pt      # side by side
  textseq eval book.arpa test.tok --mix book.pt --tune-on valid.tok   # interpolated, weights by EM
  textseq eval book.arpa test.tok --mix book.pt --weights 0.4,0.6 --save-mix book.tsmix
  textseq eval book.tsmix test.tok --also book.arpa   # a saved mixture opens like any model""",
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
    help="Threads that score: for a neural checkpoint on CPU, its matrix products [default: the cores not busy with other work]; for an n-gram model, its lookups [default: the cores, at most 4].",
)
@_mix_option
@_weights_option
@_tune_on_option
@click.option(
    "--save-mix",
    metavar="FILE",
    type=click.Path(dir_okay=False),
    default=None,
    help="Write the mixture (its models' paths and weights) to FILE (e.g. NAME.tsmix), which eval and sample open as a model.",
)
@click.option(
    "--context",
    type=click.IntRange(min=0),
    default=None,
    metavar="N",
    help=f"Neural checkpoints: the text is scored in parallel columns, each after N tokens of warm-up [default: {DEFAULT_CONTEXT}].",
)
@click.option("--exact", is_flag=True, help="Neural checkpoints: score the text token by token in one stream (slow).")
@click.option(
    "--bf16",
    is_flag=True,
    help="Neural checkpoints: score in bfloat16 where the CPU (avx512_bf16, AMX) or GPU computes it natively: "
    "char-medium scores 2x (avx512_bf16) to 3.6x (AMX) as fast, its mean loss 5e-6 nats off, single tokens up to 0.1.",
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
    mix: tuple[str, ...],
    weights: str | None,
    tune_on: str | None,
    save_mix: str | None,
    context: int | None,
    exact: bool,
    bf16: bool,
    as_json: bool,
    errors: str,
    quiet: bool,
) -> None:
    """Perplexity of a language model (n-gram model, neural checkpoint or mixture) on a token
    stream; bits per character too for a character-level checkpoint. With --also, several models
    on the same text, side by side.

    Counts as KenLM's query does: every word and every </s> is a token, a word the model does not
    know is an OOV scored as <unk>, and perplexity is given with and without the OOVs.

    With --mix, the linear interpolation of word-level models, p = w1 p1 + w2 p2 + ..., beside
    each model on its own (a column each, and a row of weights). The weights: --weights, or tuned
    by EM on a held-out text (--tune-on), or uniform. Every model reads the same tokens: lines end
    at newlines, blank lines are skipped, <s> and </s> inside a line are dropped. A word a model
    does not know gets its <unk> probability; the mixture's OOVs are the tokens that every model
    sees as <unk>. Where the vocabularies differ (said on stderr) the mixture is not exactly
    normalized. --save-mix writes the mixture to a small file that eval and sample open as a model.
    """
    app.quiet(quiet)
    if per_line and also:
        raise click.UsageError("--per-line scores one model")
    if exact and context is not None:
        raise click.UsageError("--exact scores token by token, with no columns to warm up: give --context or --exact")
    context = None if exact else DEFAULT_CONTEXT if context is None else context
    lm, mixture = _open_models(app, model, mix, weights, tune_on, device, threads, errors, context, bf16)
    if save_mix is not None:
        if mixture is None:
            raise click.UsageError("--save-mix saves a mixture: give --mix MODEL")
        _save_mixture(app, save_mix, mixture)
    blocks: Iterable[str] = read_blocks(app, files, errors, "scoring")
    if also or mix:
        blocks = list(blocks)
    if mixture is not None and mix:
        part_reports, mixture_report, per_sentence = mixture.evaluate_with_parts(blocks)
        reports = [{"model": name, **report} for name, report in zip(mixture.names, part_reports)]
        reports.append({"model": "mixture", **mixture_report, "per_line": per_sentence})
        if per_line:
            reports = [reports[-1]]
    else:
        reports = [_lm_report(app, display_name(model), lm, blocks, per_line)]
    reports += [_model_report(app, path, blocks, device, per_line, threads, context, bf16) for path in also]
    with open_output(None, app.stdout) as out:
        if per_line:
            per_sentence = reports[0].pop("per_line")
            out.write("".join(f"{s:.6f}\n" for s in per_sentence.tolist()))
            app.console.table(reports[0]["model"], [(name, value) for name, value in _report_rows(reports[0])])
            return
        for report in reports:
            report.pop("per_line", None)
        if as_json:
            value = reports[0] if len(reports) == 1 else reports
            out.write(json.dumps(_json_safe(value), indent=2, allow_nan=False) + "\n")
        else:
            out.write(_report_table(reports, side_by_side=len(reports) > 1))


def _open_models(
    app: App,
    model: str,
    mix: tuple[str, ...],
    weights: str | None,
    tune_on: str | None,
    device: str,
    threads: int | None,
    errors: str,
    context: int | None = DEFAULT_CONTEXT,
    bf16: bool = False,
) -> tuple[LanguageModel, MixtureLM | None]:
    """(the model to use, the mixture where it is one): ``model`` alone, or mixed with the
    models of ``mix``, or a mixture file; its weights ``weights``, tuned on ``tune_on``, or left
    as they are (uniform for --mix, the file's for a mixture file); ``context``, ``bf16``: how checkpoints score."""
    from textseq.lm import open_model
    from textseq.mixture import MixtureLM

    if weights is not None and tune_on is not None:
        raise click.UsageError("--weights and --tune-on both choose the weights: give one")
    first = open_model(model, device, threads, context=context, bf16=bf16)
    if mix:
        paths = (model, *mix)
        parts = [first, *(open_model(path, device, threads, context=context, bf16=bf16) for path in mix)]
        mixture = MixtureLM(parts, names=[display_name(path) for path in paths], sources=list(paths))
        note = mixture.vocabulary_note()
        if note is not None:
            app.console.warn(note)
    elif isinstance(first, MixtureLM):
        mixture = first
    elif weights is not None or tune_on is not None:
        raise click.UsageError("--weights and --tune-on go with a mixture: give --mix MODEL")
    else:
        return first, None
    for part, name in zip(mixture.parts, mixture.names):
        if not part.scores_are_probabilities:
            app.console.warn(f"{name} holds {part.kind} scores, not probabilities: the mixture's 'perplexity' is not comparable")
    if weights is not None:
        mixture.set_weights(_parse_weights(weights))
    elif tune_on is not None:
        tuning = mixture.tune(read_blocks(app, (tune_on,), errors, "tuning"), source=display_name(tune_on))
        stopped = "" if tuning.converged else f", stopped after {tuning.iterations}"
        app.console.info(
            f"weights tuned by EM on {display_name(tune_on)} ({tuning.tokens:,} tokens, {tuning.iterations} iterations{stopped}; "
            f"perplexity there {tuning.perplexity:.3f}): " + ", ".join(f"{name} {w:.4f}" for name, w in zip(mixture.names, tuning.weights))
        )
    elif mix:
        app.console.info("weights: uniform (--weights or --tune-on FILE chooses them)")
    return mixture, mixture


def _parse_weights(text: str) -> list[float]:
    try:
        return [float(item) for item in text.split(",")]
    except ValueError:
        raise click.BadParameter(f"{text!r} is not a list of numbers such as 0.3,0.7", param_hint="'--weights'") from None


def _save_mixture(app: App, path: str, mixture: MixtureLM) -> None:
    from textseq.mixture_file import save_mixture

    if mixture.sources is None:
        raise click.UsageError("--save-mix: this mixture has no files to name")
    save_mixture(path, mixture.sources, mixture.weights.tolist(), [part.kind for part in mixture.parts], tuned_on=mixture.tuned_on)
    app.console.info(f"wrote {path}: " + ", ".join(f"{name} {w:.4f}" for name, w in zip(mixture.names, mixture.weights)))


def _report_table(reports: list[dict[str, Any]], side_by_side: bool) -> str:
    """The reports as a table: a figure per line, and with ``side_by_side`` a column per model
    under its name ('-' where a model has no such figure)."""
    with_weights = not any("weight" in report for report in reports)
    names = [name for name, _ in _report_rows(reports[0], with_weights)]
    for report in reports[1:]:
        names += [name for name, _ in _report_rows(report, with_weights) if name not in names]
    columns = [dict(_report_rows(report, with_weights)) for report in reports]
    ranks = _ranks(reports)
    if side_by_side and ranks is not None:
        names.append(RANK_ROW)
        for column, rank in zip(columns, ranks):
            column[RANK_ROW] = "best" if rank == 1 else str(rank)
    width = max(len(name) for name in names)
    if not side_by_side:
        return "".join(f"{name:<{width}}  {columns[0][name]}\n" for name in names)
    widths = [max(len(r["model"]), *(len(c.get(n, "")) for n in names)) for r, c in zip(reports, columns)]
    header = f"{'':<{width}}" + "".join(f"  {r['model']:>{w}}" for r, w in zip(reports, widths)) + "\n"
    return header + "".join(
        f"{name:<{width}}" + "".join(f"  {c.get(name, '-'):>{w}}" for c, w in zip(columns, widths)) + "\n" for name in names
    )


RANK_ROW = "rank by perplexity"


def _ranks(reports: list[dict[str, Any]]) -> list[int] | None:
    """Each model's place by perplexity (1: the lowest; ties share a place), where the models
    scored the same tokens; None where their perplexities do not compare (different token counts:
    characters against words) or one is undefined."""
    values: list[float] = []
    for report in reports:
        value = report.get("perplexity")
        if value is None or not math.isfinite(value):
            return None
        values.append(float(value))
    if len({report["tokens"] for report in reports}) != 1:
        return None
    return [1 + sum(other < value for other in values) for value in values]


def _model_report(
    app: App, path: str, blocks: Iterable[str], device: str, per_line: bool, threads: int | None, context: int | None, bf16: bool
) -> dict[str, Any]:
    """The evaluation of one model (any kind) as a dict, 'model' first."""
    from textseq.lm import open_model

    return _lm_report(app, display_name(path), open_model(path, device, threads, context=context, bf16=bf16), blocks, per_line)


def _lm_report(app: App, name: str, lm: LanguageModel, blocks: Iterable[str], per_line: bool) -> dict[str, Any]:
    if not lm.scores_are_probabilities and lm.kind != "mixture":
        app.console.warn(f"{name} holds {lm.kind} scores, not probabilities: this 'perplexity' is not comparable with other models'")
    report, per_sentence = lm.evaluate(blocks)
    result: dict[str, Any] = {"model": name, **report}
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


def _report_rows(report: dict[str, Any], with_weights: bool = True) -> list[tuple[str, str]]:
    """The table's rows of a report: a mixture's weights too (``with_weights``), a part's weight."""
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
    if "weight" in report:
        rows.append(("weight", f"{report['weight']:.4f}"))
    elif "weights" in report and with_weights:
        rows.append(("weights", ", ".join(f"{name} {w:.4f}" for name, w in zip(report["parts"], report["weights"]))))
    return rows
