"""``textseq ngram`` (count, build) and ``textseq eval``."""

from __future__ import annotations

import json
import math
from typing import Any

import click

from textseq.cli.common import (
    App,
    FiniteFloat,
    ModelFile,
    DefaultCommand,
    DefaultGroup,
    errors_option,
    input_files,
    json_option,
    output_option,
    parse_params,
    pass_app,
    quiet_option,
    read_blocks,
)
from textseq.errors import InputError
from textseq.ngram.smoothers import MAX_ORDER
from textseq.streams import display_name, open_output

_order_option = click.option("-o", "--order", type=click.IntRange(1, MAX_ORDER), default=3, show_default=True, help="N-gram order (1-10).")
_memory_option = click.option("--memory", default=None, metavar="SIZE", help="Count a chunk of about SIZE (e.g. 500M, 2G) at a time and merge, so that memory follows the number of distinct n-grams, not the length of the corpus.")


def _count(app: App, files: tuple[str, ...], errors: str, order: int, memory: str | None, vocabulary: list[str] | None = None) -> tuple[Any, list[str], int, int]:
    """(counts, words, sentences, tokens) of the input, in memory or a chunk at a time."""
    from textseq.ngram.counts import count_ngrams

    if memory is None:
        corpus = _corpus(app, files, errors, vocabulary)
        return count_ngrams(corpus, order), corpus.words, corpus.sentences, corpus.tokens
    from textseq.ngram.chunked import count_in_chunks, parse_size

    try:
        budget = parse_size(memory)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--memory") from None
    blocks = read_blocks(app, files, errors, "counting", complete_last_line=False)
    return count_in_chunks(blocks, order, budget, vocabulary)


def _corpus(app: App, files: tuple[str, ...], errors: str, vocabulary: list[str] | None = None) -> Any:
    from textseq.ngram.corpus import corpus_from_blocks

    corpus = corpus_from_blocks(read_blocks(app, files, errors, "reading", complete_last_line=False), vocabulary)
    if corpus.dropped_markers:
        app.console.warn(f"dropped {corpus.dropped_markers} <s>/</s> tokens found inside lines (sentences are lines)")
    return corpus


@click.command(
    "count",
    cls=DefaultCommand,
    epilog="""\b
Examples:
  cat book.txt | textseq tokenize | textseq ngram
  textseq ngram count -o 2 --top 10 book.tok
  textseq ngram count -o 3 --all-orders --min-count 2 book.tok > counts.tsv""",
)
@input_files
@_order_option
@click.option("--top", type=click.IntRange(min=0), default=None, metavar="K", help="Only the K most frequent.")
@click.option("--min-count", type=click.IntRange(min=1), default=1, show_default=True, help="Only n-grams seen at least this often.")
@click.option("--all-orders", is_flag=True, help="Orders 1..N, not only N.")
@_memory_option
@output_option
@errors_option
@quiet_option
@pass_app
def count_command(app: App, files: tuple[str, ...], order: int, top: int | None, min_count: int, all_orders: bool,
                  memory: str | None, output: str | None, errors: str, quiet: bool) -> None:
    """Count the n-grams of a token stream: TSV lines 'w1 ... wn<TAB>count', most frequent first.

    Each line is a sentence; <s> and </s> are added around it the way KenLM adds them, so
    '<s> the' counts sentences that start with 'the'. Ties keep the order in which their words
    first appear.
    """
    import numpy as np

    from textseq.ngram.counts import sort_with_order

    app.quiet(quiet)
    counts, vocabulary, sentences, tokens = _count(app, files, errors, order, memory)
    words = np.array(vocabulary, dtype=object)
    with open_output(output, app.stdout) as out:
        for n in range(1 if all_orders else order, order + 1):
            table = counts.orders[n - 1]
            matrix = counts.words_of(n)
            keep = np.flatnonzero(table.count >= min_count)
            # rows are in lexicographic order of word ids already, so ties stay in first-appearance order
            ranked = keep[sort_with_order(table.count.max(initial=0) - table.count[keep])[1]]
            if top is not None:
                ranked = ranked[:top]
            for start in range(0, len(ranked), 100_000):
                chunk = ranked[start : start + 100_000]
                columns = [words[matrix[chunk, column]].tolist() for column in range(n)]
                values: list[object] = [None] * (2 * len(chunk))
                values[0::2] = columns[0] if n == 1 else list(map(" ".join, zip(*columns)))
                values[1::2] = table.count[chunk].tolist()
                out.write(("%s\t%d\n" * len(chunk)) % tuple(values))
    app.console.info(f"{sentences:,} sentences, {tokens:,} tokens, " + ", ".join(
        f"{len(t):,} {t.order}-grams" for t in counts.orders))


def _parse_prune(value: str | None, order: int) -> list[int]:
    """``--prune``'s thresholds, one per order (the last repeats): whole numbers separated by
    commas or spaces, one for every separator."""
    if value is None:
        return []
    pieces = value.split(",") if "," in value else value.split()
    if not pieces or not all(piece.strip().isdigit() and piece.strip().isascii() for piece in pieces):
        raise click.BadParameter(f"expected whole numbers, one per order, e.g. --prune 0,1,1; got {value!r}", param_hint="--prune")
    thresholds = [int(piece) for piece in pieces]
    if any(t < 0 for t in thresholds) or any(b < a for a, b in zip(thresholds, thresholds[1:])):
        raise click.BadParameter("thresholds must be non-negative and must not decrease with the order", param_hint="--prune")
    if len(thresholds) > order:
        raise click.BadParameter(f"{len(thresholds)} thresholds for a model of order {order}", param_hint="--prune")
    if thresholds[0] > 0:
        raise click.BadParameter("pruning unigrams is not supported; start with 0 (e.g. --prune 0,1,1)", param_hint="--prune")
    return thresholds + [thresholds[-1]] * (order - len(thresholds))


@click.command(
    "build",
    epilog="""\b
Examples:
  textseq tokenize --lower book.txt | textseq ngram build -o 5 -O book.arpa
  textseq ngram build -o 3 --prune 0,1,1 -O small.arpa.gz book.tok
  textseq ngram build -o 4 --prune-entropy 1e-7 --binary -O book.tsbin book.tok
  textseq eval book.arpa test.tok""",
)
@input_files
@_order_option
@click.option("-O", "--output", required=True, type=click.Path(dir_okay=False, allow_dash=True), help="The model file to write (ARPA; .gz/.bz2/.xz compressed by name; '-' for stdout).")
@click.option("-s", "--smoothing", default="modified-kneser-ney", show_default=True, metavar="NAME", help="Estimator (see 'textseq plugins').")
@click.option("--prune", default=None, metavar="T1,T2,...", help="Drop n-grams seen at most Ti times in order i (KenLM's --prune: 0,1,1 or 0 1 1 drops singleton bigrams and trigrams; the last value repeats).")
@click.option("--prune-entropy", type=FiniteFloat(min=0.0), default=None, metavar="THETA", help="Then drop every n-gram whose removal raises perplexity by less than THETA, relatively (Stolcke 1998; e.g. 1e-7), renormalizing the backoffs.")
@click.option("--discounts", default=None, metavar="D1,D2,D3", help="Fixed discounts instead of estimated ones: three (D1,D2,D3+) for modified-kneser-ney, one (or one per order) for kneser-ney and absolute-discounting.")
@click.option("--vocab", "vocab_file", default=None, type=click.Path(dir_okay=False), help="Only these words (one per line, or 'textseq vocab' TSV); every other word becomes <unk>.")
@click.option("--min-count", type=click.IntRange(min=1), default=1, show_default=True, help="Words seen fewer times become <unk>.")
@click.option("--binary", is_flag=True, help="Write textseq's binary format (memory-mapped, loads in milliseconds) instead of ARPA.")
@_memory_option
@click.option("-p", "--param", "params", multiple=True, metavar="KEY=VALUE", help="An option for the estimator (for plugins' estimators); repeatable.")
@errors_option
@quiet_option
@pass_app
def build_command(app: App, files: tuple[str, ...], order: int, output: str, smoothing: str, prune: str | None,
                  prune_entropy: float | None, discounts: str | None, vocab_file: str | None, min_count: int, binary: bool, memory: str | None,
                  params: tuple[str, ...],
                  errors: str, quiet: bool) -> None:
    """Estimate an n-gram language model from a token stream and write it as ARPA.

    The default, modified Kneser-Ney, is numerically identical to KenLM's lmplz: the same n-grams,
    probabilities and backoffs. Where the data are too few for its discounts, it falls back to
    D1=0.5, D2=1, D3+=1.5 with a warning (lmplz's --discount_fallback) instead of failing.
    """
    from textseq.ngram.counts import count_ngrams
    from textseq.ngram.files import save_model
    from textseq.plugins import get_plugins
    from textseq.streams import check_writable

    app.quiet(quiet)
    thresholds = _parse_prune(prune, order)
    check_writable(output)
    options = parse_params(params)
    if discounts:
        try:
            options["discounts"] = [float(d) for d in discounts.split(",")]
        except ValueError:
            raise click.BadParameter("expected three numbers, e.g. 0.5,1,1.5", param_hint="--discounts") from None
    factory = get_plugins().registry("smoother").get(smoothing).implementation
    try:
        smoother = factory(**options)
    except (TypeError, ValueError) as exc:
        raise click.UsageError(f"smoothing '{smoothing}': {exc}") from None
    vocabulary = _read_vocabulary(vocab_file) if vocab_file else None
    if memory is not None and min_count > 1:
        raise click.UsageError("--min-count needs the whole corpus in memory; with --memory, give --vocab instead")
    if memory is None:
        corpus = _corpus(app, files, errors, vocabulary)
        if min_count > 1:
            from textseq.ngram.corpus import rare_words_to_unk

            corpus = rare_words_to_unk(corpus, min_count)
        counts, words, sentences, tokens = count_ngrams(corpus, order), corpus.words, corpus.sentences, corpus.tokens
    else:
        counts, words, sentences, tokens = _count(app, files, errors, order, memory, vocabulary)
    if tokens == 0:
        raise InputError("no text to build a model from (the input is empty)", source=", ".join(files) or "<stdin>")
    try:
        model = smoother.estimate(counts, prune=thresholds, warn=app.console.warn)
    except ValueError as exc:  # what an estimator finds wrong with its options only once it sees the counts
        raise click.UsageError(f"smoothing '{smoothing}': {exc}") from None
    model.words = words
    model.smoothing = smoothing
    if prune_entropy is not None:
        from textseq.ngram.prune import prune_entropy as prune_by_entropy

        if not model.scores_are_probabilities:
            raise click.UsageError(f"--prune-entropy needs probabilities, and {smoothing} gives scores")
        model = prune_by_entropy(model, prune_entropy)
    save_model(model, output, binary=binary, comment=f"textseq ngram build -o {order} --smoothing {smoothing}" + (f" --prune {','.join(map(str, thresholds))}" if thresholds else "")
               + (f" --prune-entropy {prune_entropy:g}" if prune_entropy is not None else ""))
    sizes = ", ".join(f"{len(t):,} {n}-grams" for n, t in enumerate(model.orders, start=1))
    app.console.info(f"wrote {output}: {sentences:,} sentences, {tokens:,} tokens; {sizes}")
    if not model.scores_are_probabilities:
        app.console.warn(f"{smoothing} gives scores, not probabilities: they do not sum to 1, so perplexities from it are not comparable")


def _read_vocabulary(path: str) -> list[str]:
    """Words from a file with one word per line (a first TSV column is fine)."""
    from textseq.streams import iter_lines, open_input

    source = open_input(path)
    try:
        return [line.split("\t", 1)[0].strip() for line in iter_lines(source) if line.strip()]
    finally:
        source.close()


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
    histories = [history] if history is not None else _stdin_lines(app, errors)
    column = "probability" if lm.scores_are_probabilities else "score"
    results = []
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


def _stdin_lines(app: App, errors: str) -> list[str]:
    from textseq.streams import iter_lines, open_input

    return list(iter_lines(open_input("-", app.stdin), errors))


@click.command(
    "convert",
    epilog="""\b
Examples:
  textseq ngram convert book.arpa -O book.tsbin      # ARPA to binary
  textseq ngram convert book.tsbin -O book.arpa.gz   # and back""",
)
@click.argument("model", type=ModelFile())
@click.option("-O", "--output", required=True, type=click.Path(dir_okay=False, allow_dash=True), help="The file to write; binary unless its name ends in .arpa (optionally .gz/.bz2/.xz).")
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


ngram_group = DefaultGroup("ngram", default=count_command,
                           commands={"count": count_command, "build": build_command, "next": next_command, "convert": convert_command},
                           epilog=count_command.epilog)


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


An LSTM sample of 10,000 tokens or more on CPU (no --top-k or --top-p) is drawn, after its first
1,000 tokens, by a compiled loop (numba: about 0.8 s to load, compiled once on first use), about
1.6x as fast on two cores; its arithmetic differs from the default path's in the last bits.""",
)
@click.argument("model", type=ModelFile())
@click.option("--prime", default="", help="Tokens that start every sample (printed too).")
@click.option("-n", "--max-tokens", type=click.IntRange(min=1), default=100, show_default=True, help="At most this many tokens per sample (a sample also ends at </s>).")
@click.option("--num-samples", type=click.IntRange(min=1), default=1, show_default=True, help="How many samples, one per line.")
@click.option("-t", "--temperature", type=FiniteFloat(min=0.0), default=1.0, show_default=True, help="Below 1 more likely tokens, above 1 more varied; 0 is greedy.")
@click.option("--top-k", type=click.IntRange(min=0), default=0, help="Draw only from the K most likely tokens (0: all).")
@click.option("--top-p", type=FiniteFloat(0.0, 1.0, min_open=True), default=1.0, help="Draw only from the most likely tokens that together have probability P.")
@click.option("--greedy", is_flag=True, help="Always the most likely token (same as --temperature 0).")
@click.option("--beam", type=click.IntRange(min=1), default=None, metavar="K", help="Beam search of width K instead of drawing: the most probable continuations (--num-samples of them).")
@click.option("--stop", default=None, metavar="STRING", help="End a sample when its text ends with STRING (kept).")
@click.option("--seed", type=click.IntRange(min=0), default=None, help="Random seed, a whole number from 0: the same seed (on the same device) gives the same text.")
@click.option("--device", default="cpu", show_default=True, help="Neural checkpoints: cpu, cuda, cuda:N, mps or auto.")
@click.option("--threads", type=click.IntRange(min=1), default=None,
              help="Neural checkpoints on CPU: threads for the matrix products and the compiled loop [default: the cores not busy with other work].")
@pass_app
def sample_command(app: App, model: str, prime: str, max_tokens: int, num_samples: int, temperature: float, top_k: int,
                   top_p: float, greedy: bool, beam: int | None, stop: str | None, seed: int | None, device: str,
                   threads: int | None) -> None:
    """Generate text from a language model (n-gram model or neural checkpoint), token by token,
    printed as it is drawn."""
    import numpy as np

    from textseq.neural.checkpoint import is_checkpoint

    if is_checkpoint(model):
        from textseq.cli.neural import sample_checkpoint

        sample_checkpoint(app, model, prime, max_tokens, num_samples, 0.0 if greedy else temperature, top_k, top_p, stop, seed,
                          device, beam, threads)
        return

    from textseq.lm import NgramLM
    from textseq.ngram.corpus import UNK
    from textseq.ngram.files import load_model
    from textseq.sampling import SamplingOptions, sample

    lm = NgramLM(load_model(model))
    options = SamplingOptions(temperature=0.0 if greedy else temperature, top_k=top_k, top_p=top_p, max_tokens=max_tokens)
    index = lm.model.word_index
    prime_tokens = prime.split()
    prime_ids = [index.get(word, UNK) for word in prime_tokens]
    if beam is not None:
        from textseq.sampling import beam_search

        for tokens, _ in beam_search(lm, prime_ids, beam, max_tokens, num_samples):
            app.stdout.write((" ".join([*prime_tokens, *(lm.words[t] for t in tokens)]) + "\n").encode("utf-8"))
        return
    rng = np.random.default_rng(seed)
    interactive = app.stdout.isatty() if hasattr(app.stdout, "isatty") else False
    for _ in range(num_samples):
        pieces = list(prime_tokens)
        app.stdout.write(" ".join(pieces).encode("utf-8"))
        for token in sample(lm, prime_ids, options, rng):
            app.stdout.write(((" " if pieces else "") + lm.words[token]).encode("utf-8"))
            pieces.append(lm.words[token])
            if interactive:
                app.stdout.flush()
            if stop is not None and " ".join(pieces).endswith(stop):
                break
        app.stdout.write(b"\n")
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
@click.option("--also", multiple=True, metavar="MODEL", type=ModelFile(), help="Another model to score on the same text, in a column of its own; repeatable.")
@click.option("--device", default="cpu", show_default=True, help="Neural checkpoints: cpu, cuda, cuda:N, mps or auto.")
@click.option("--threads", type=click.IntRange(min=1), default=None,
              help="Neural checkpoints on CPU: threads for the matrix products [default: the cores not busy with other work].")
@json_option
@errors_option
@quiet_option
@pass_app
def eval_command(app: App, model: str, files: tuple[str, ...], per_line: bool, also: tuple[str, ...], device: str, threads: int | None,
                 as_json: bool, errors: str, quiet: bool) -> None:
    """Perplexity of a language model (n-gram model or neural checkpoint) on a token stream;
    bits per character too for a character-level checkpoint. With --also, several models on the
    same text, side by side.

    Counts as KenLM's query does: every word and every </s> is a token, a word the model does not
    know is an OOV scored as <unk>, and perplexity is given with and without the OOVs.
    """
    app.quiet(quiet)
    if per_line and also:
        raise click.UsageError("--per-line scores one model")
    blocks: Any = read_blocks(app, files, errors, "scoring")
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
            names = [name for name, _ in _report_rows(reports[0])]
            for report in reports[1:]:
                names += [name for name, _ in _report_rows(report) if name not in names]
            columns = [dict(_report_rows(report)) for report in reports]
            width = max(len(name) for name in names)
            if also:
                widths = [max(len(r["model"]), *(len(c.get(n, "")) for n in names)) for r, c in zip(reports, columns)]
                out.write(f"{'':<{width}}" + "".join(f"  {r['model']:>{w}}" for r, w in zip(reports, widths)) + "\n")
                out.write("".join(f"{name:<{width}}" + "".join(f"  {c.get(name, '-'):>{w}}" for c, w in zip(columns, widths)) + "\n"
                                  for name in names))
            else:
                out.write("".join(f"{name:<{width}}  {columns[0][name]}\n" for name in names))


def _model_report(app: App, path: str, blocks: Any, device: str, per_line: bool, threads: int | None = None) -> dict[str, Any]:
    """The evaluation of one model (n-gram or neural) as a dict, 'model' first."""
    from textseq.neural.checkpoint import is_checkpoint

    if is_checkpoint(path):
        from textseq.cli.neural import checkpoint_report

        report, per_sentence = checkpoint_report(app, path, blocks, device, threads)
        return {"model": display_name(path), **report, **({"per_line": per_sentence} if per_line else {})}
    from textseq.ngram.evaluate import evaluate
    from textseq.ngram.files import load_model

    lm = load_model(path)
    if not lm.scores_are_probabilities:
        app.console.warn(f"{path} holds {lm.smoothing or 'backoff'} scores, not probabilities: this 'perplexity' is not comparable with other models'")
    report, per_sentence = evaluate(lm, blocks)
    result: dict[str, Any] = {"model": display_name(path), **report.as_dict()}
    if per_line:
        result["per_line"] = per_sentence
    return result


def _json_safe(value: Any) -> Any:
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
    rows = [("perplexity", _figure(report["perplexity"], 3)), ("perplexity excluding OOVs", _figure(report["perplexity_excluding_oovs"], 3))]
    if "bits_per_character" in report:
        rows.append(("bits per character", _figure(report["bits_per_character"], 4)))
    rows += [("log10 probability", _figure(report["log10_prob"], 4)), ("tokens", f"{report['tokens']:,}"),
             ("OOVs", f"{report['oovs']:,}"), ("sentences", f"{report['sentences']:,}")]
    return rows
