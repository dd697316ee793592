"""``textseq ngram``: count, build, next, convert (the n-gram pipeline is :mod:`textseq.ngram.build`)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import click

from textseq.cli.common import (
    App,
    DefaultCommand,
    DefaultGroup,
    FiniteFloat,
    ModelFile,
    errors_option,
    input_files,
    json_option,
    output_option,
    parse_params,
    pass_app,
    quiet_option,
    read_blocks,
    read_lines,
)
from textseq.ngram.smoothers import MAX_ORDER
from textseq.streams import open_output, total_size

_order_option = click.option("-o", "--order", type=click.IntRange(1, MAX_ORDER), default=3, show_default=True, help="N-gram order (1-10).")
_memory_option = click.option(
    "--memory",
    default=None,
    metavar="SIZE",
    help="Count a chunk of about SIZE (e.g. 500M, 2G) at a time and merge, so that memory follows the number of distinct n-grams, not the length of the corpus (with --dask: each worker's shard).",
)
_build_memory_option = click.option(
    "--memory",
    default=None,
    metavar="SIZE",
    help="Build in about SIZE of memory (e.g. 700M, 2G), as lmplz -S does: count a chunk at a time into sorted runs in -T, merge them a range of words at a time, and estimate and write the model a slice at a time from the counts on disk (modified Kneser-Ney; other smoothers and --prune-entropy estimate in memory). With --dask: each worker's shard.",
)
_dask_option = click.option(
    "--dask",
    default=None,
    metavar="ADDRESS",
    help="Count on the Dask cluster whose scheduler is at ADDRESS (tcp://host:8786), or on N local worker processes (local:N); needs the dask extra.",
)


@click.command(
    "count",
    cls=DefaultCommand,
    epilog="""\b
Examples:
  cat book.txt | textseq tokenize | textseq ngram
  textseq ngram count -o 2 --top 10 book.tok
  textseq ngram count -o 3 --all-orders --min-count 2 book.tok > counts.tsv
  textseq ngram count -o 5 --dask local:4 --top 20 web.tok""",
)
@input_files
@_order_option
@click.option("--top", type=click.IntRange(min=0), default=None, metavar="K", help="Only the K most frequent.")
@click.option("--min-count", type=click.IntRange(min=1), default=1, show_default=True, help="Only n-grams seen at least this often.")
@click.option("--all-orders", is_flag=True, help="Orders 1..N, not only N.")
@_memory_option
@_dask_option
@output_option
@errors_option
@quiet_option
@pass_app
def count_command(
    app: App,
    files: tuple[str, ...],
    order: int,
    top: int | None,
    min_count: int,
    all_orders: bool,
    memory: str | None,
    dask: str | None,
    output: str | None,
    errors: str,
    quiet: bool,
) -> None:
    """Count the n-grams of a token stream: TSV lines 'w1 ... wn<TAB>count', most frequent first.

    Each line is a sentence; <s> and </s> are added around it the way KenLM adds them, so
    '<s> the' counts sentences that start with 'the'. Ties keep the order in which their words
    first appear.
    """
    from textseq.ngram.build import count_text, memory_budget
    from textseq.ngram.count_table import count_summary, write_count_table

    app.quiet(quiet)
    budget = memory_budget(memory) if memory is not None else None
    counted = count_text(_blocks(app, files, errors, budget), order, memory=budget, dask=dask, warn=app.console.warn)
    with open_output(output, app.stdout) as out:
        write_count_table(counted, out, order, all_orders=all_orders, min_count=min_count, top=top)
    app.console.info(count_summary(counted))


def _blocks(app: App, files: tuple[str, ...], errors: str, memory: int | None) -> Iterator[str]:
    """The token stream to count, as the n-gram library reads it (a last line without its
    newline gets no ``</s>``, as in lmplz)."""
    return read_blocks(app, files, errors, "reading" if memory is None else "counting", complete_last_line=False)


@click.command(
    "build",
    epilog="""\b
Examples:
  textseq tokenize --lower book.txt | textseq ngram build -o 5 -O book.arpa
  textseq ngram build -o 3 --prune 0,1,1 -O small.arpa.gz book.tok
  textseq ngram build -o 4 --prune-entropy 1e-7 --binary -O book.tsbin book.tok
  textseq ngram build -o 5 --memory 2G --min-count 2 -T /scratch -O web.arpa web.tok
  textseq ngram build -o 5 --dask tcp://scheduler:8786 -O web.arpa web.tok
  textseq eval book.arpa test.tok""",
)
@input_files
@_order_option
@click.option(
    "-O",
    "--output",
    required=True,
    type=click.Path(dir_okay=False, allow_dash=True),
    help="The model file to write (ARPA; .gz/.bz2/.xz compressed by name; '-' for stdout).",
)
@click.option(
    "-s",
    "--smoothing",
    default="modified-kneser-ney",
    show_default=True,
    metavar="NAME",
    help="Smoother: how the counts become probabilities (see 'textseq plugins').",
)
@click.option(
    "--prune",
    default=None,
    metavar="T1,T2,...",
    help="Drop n-grams seen at most Ti times in order i (KenLM's --prune: 0,1,1 or 0 1 1 drops singleton bigrams and trigrams; the last value repeats).",
)
@click.option(
    "--prune-entropy",
    type=FiniteFloat(min=0.0),
    default=None,
    metavar="THETA",
    help="Then drop every n-gram whose removal raises perplexity by less than THETA, relatively (Stolcke 1998; e.g. 1e-7), renormalizing the backoffs.",
)
@click.option(
    "--discounts",
    default=None,
    metavar="D1,D2,D3",
    help="Fixed discounts instead of estimated ones: three (D1,D2,D3+) for modified-kneser-ney, one (or one per order) for kneser-ney and absolute-discounting.",
)
@click.option(
    "--vocab",
    "vocab_file",
    default=None,
    type=click.Path(dir_okay=False),
    help="Only these words (one per line, or 'textseq vocab' TSV); every other word becomes <unk>.",
)
@click.option("--min-count", type=click.IntRange(min=1), default=1, show_default=True, help="Words seen fewer times become <unk>.")
@click.option("--binary", is_flag=True, help="Write textseq's binary format (memory-mapped, loads in milliseconds) instead of ARPA.")
@_build_memory_option
@_dask_option
@click.option(
    "-T",
    "--temp-dir",
    default=None,
    type=click.Path(exists=True, file_okay=False, writable=True),
    help="Where --memory keeps its runs of counts and the counts' statistics (about 50 bytes an n-gram), and with --min-count the text while its words are counted; the room it needs is checked first [default: the system's temporary directory].",
)
@click.option(
    "-p", "--param", "params", multiple=True, metavar="KEY=VALUE", help="An option for the smoother (for plugins' smoothers); repeatable."
)
@errors_option
@quiet_option
@pass_app
def build_command(
    app: App,
    files: tuple[str, ...],
    order: int,
    output: str,
    smoothing: str,
    prune: str | None,
    prune_entropy: float | None,
    discounts: str | None,
    vocab_file: str | None,
    min_count: int,
    binary: bool,
    memory: str | None,
    dask: str | None,
    temp_dir: str | None,
    params: tuple[str, ...],
    errors: str,
    quiet: bool,
) -> None:
    """Estimate an n-gram language model from a token stream and write it as ARPA.

    The default, modified Kneser-Ney, is numerically identical to KenLM's lmplz: the same n-grams,
    probabilities and backoffs. Where the data are too few for its discounts, it falls back to
    D1=0.5, D2=1, D3+=1.5 with a warning (lmplz's --discount_fallback) instead of failing.
    """
    from textseq.ngram.build import build_model, memory_budget, parse_discounts, prune_thresholds
    from textseq.streams import check_writable

    app.quiet(quiet)
    thresholds = prune_thresholds(prune, order)
    check_writable(output)
    budget = memory_budget(memory) if memory is not None else None
    built = build_model(
        _blocks(app, files, errors, budget),
        order,
        smoothing,
        parse_params(params),
        prune=thresholds,
        prune_entropy=prune_entropy,
        discounts=parse_discounts(discounts) if discounts else None,
        vocabulary=_read_vocabulary(app, vocab_file) if vocab_file else None,
        min_count=min_count,
        memory=budget,
        temp_dir=temp_dir,
        dask=dask,
        text_bytes=total_size(files or ["-"]),
        warn=app.console.warn,
        stages=app.console.info,
        source=", ".join(files) or "<stdin>",
    )
    started = time.perf_counter()
    with built:
        built.save(
            output,
            binary=binary,
            comment=f"textseq ngram build -o {order} --smoothing {smoothing}"
            + (f" --prune {','.join(map(str, thresholds))}" if thresholds else "")
            + (f" --prune-entropy {prune_entropy:g}" if prune_entropy is not None else ""),
        )
    sizes = ", ".join(f"{size:,} {n}-grams" for n, size in enumerate(built.sizes, start=1))
    seconds = time.perf_counter() - started
    app.console.info(f"wrote {output} in {seconds:.1f} s: {built.sentences:,} sentences, {built.tokens:,} tokens; {sizes}")
    if not built.scores_are_probabilities:
        app.console.warn(f"{smoothing} gives scores, not probabilities: they do not sum to 1, so perplexities from it are not comparable")


def _read_vocabulary(app: App, path: str) -> list[str]:
    """Words from a file with one word per line (a first TSV column is fine)."""
    return [line.split("\t", 1)[0].strip() for line in read_lines(app, (path,)) if line.strip()]


@click.command(
    "next",
    epilog="""\b
Examples:
  textseq ngram next book.arpa "today the"
  textseq ngram next book.arpa --sentence-start "" -k 5     # how sentences begin
  echo "my lord" | textseq ngram next book.arpa --json""",
)
@click.argument("model", type=ModelFile())
@click.argument("history", required=False)
@click.option("-k", "--top", type=click.IntRange(min=1), default=10, show_default=True, help="How many words.")
@click.option("--sentence-start", is_flag=True, help="The history begins a sentence (prepend <s>).")
@json_option
@errors_option
@pass_app
def next_command(app: App, model: str, history: str | None, top: int, sentence_start: bool, as_json: bool, errors: str) -> None:
    """The distribution of the next word after HISTORY (tokens separated by spaces), most likely
    first: the table of the lecture slide. With no HISTORY, one history per line of stdin."""
    import numpy as np

    from textseq.ngram.corpus import BOS, UNK
    from textseq.ngram.files import load_model

    lm = load_model(model)
    index = lm.word_index
    histories = [history] if history is not None else list(read_lines(app, errors=errors))
    column = "probability" if lm.scores_are_probabilities else "score"
    results: list[dict[str, Any]] = []
    for text in histories:
        ids = [index.get(word, UNK) for word in text.split()]
        logprob = lm.next_logprobs(([BOS] if sentence_start else []) + ids)
        best = np.argsort(-logprob, kind="stable")[:top]
        results.append({"history": text, "next": [{"word": lm.words[i], column: float(10 ** logprob[i])} for i in best]})
    with open_output(None, app.stdout) as out:
        if as_json:
            out.write(json.dumps(results if history is None else results[0], ensure_ascii=False, indent=2) + "\n")
            return
        for result in results:
            if len(results) > 1:
                out.write(f"# {result['history']}\n")
            out.write("".join(f"{row['word']}\t{row[column]:.6g}\n" for row in result["next"]))


@click.command(
    "convert",
    epilog="""\b
Examples:
  textseq ngram convert book.arpa -O book.tsbin      # ARPA to binary
  textseq ngram convert book.tsbin -O book.arpa.gz   # and back""",
)
@click.argument("model", type=ModelFile())
@click.option(
    "-O",
    "--output",
    required=True,
    type=click.Path(dir_okay=False, allow_dash=True),
    help="The file to write; binary unless its name ends in .arpa (optionally .gz/.bz2/.xz).",
)
@quiet_option
@pass_app
def convert_command(app: App, model: str, output: str, quiet: bool) -> None:
    """Convert an n-gram model between ARPA and textseq's binary format (which loads in
    milliseconds: it is memory-mapped, not parsed)."""
    from textseq.ngram.files import load_model, save_model

    app.quiet(quiet)
    lm = load_model(model)
    name = output.lower()
    for suffix in (".gz", ".bz2", ".xz"):
        name = name.removesuffix(suffix)
    save_model(lm, output, binary=not (name.endswith(".arpa") or output == "-"))
    app.console.info(f"wrote {output}")


ngram_group = DefaultGroup(
    "ngram",
    default=count_command,
    commands={"count": count_command, "build": build_command, "next": next_command, "convert": convert_command},
    epilog=count_command.epilog,
)
