"""``textseq tokenize``, ``textseq tokenize train-spm`` and ``textseq detokenize``."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import click

from textseq.cli.common import (
    App,
    DefaultCommand,
    DefaultGroup,
    FiniteFloat,
    errors_option,
    input_files,
    output_option,
    parse_params,
    pass_app,
    quiet_option,
    read_blocks,
)
from textseq.errors import InputError
from textseq.streams import STDIN_NAME, open_output
from textseq.tokenize.base import NORMALIZATIONS, Tokenizer, tokenize_blocks
from textseq.tokenize.spm import MAX_NBEST, MAX_SENTENCE_LENGTH, MODEL_TYPES, NORMALIZATION_RULES


def make_tokenizer(name: str, options: dict[str, Any]) -> Tokenizer:
    """The registered tokenizer ``name`` built with ``options`` (a bad name or option is a
    :class:`~textseq.errors.ParameterError`, which the command reports as a usage error)."""
    from textseq.plugins import get_plugins

    tokenizer: Tokenizer = get_plugins().registry("tokenizer").build(name, options)
    return tokenizer


def _tokenizer_options(
    tokenizer: str | None, spm_model: str | None, ids: bool, alpha: float | None, nbest: int, params: tuple[str, ...]
) -> tuple[str, dict[str, Any]]:
    name = tokenizer or ("spm" if spm_model else "word")
    options = parse_params(params)
    if name == "spm":
        if not spm_model:
            raise click.UsageError("the spm tokenizer needs a model: --spm MODEL (train one with 'textseq tokenize train-spm')")
        options.update(model=spm_model, ids=ids, alpha=alpha, nbest=nbest)
    else:
        for flag, value in (("--spm", spm_model), ("--ids", ids or None), ("--sample", alpha), ("--nbest", None if nbest == -1 else nbest)):
            if value is not None:
                raise click.UsageError(f"{flag} works only with the spm tokenizer, not '{name}'")
    return name, options


def keeping_a_missing_final_newline(blocks: Iterable[str]) -> Iterator[str]:
    """``blocks`` as :func:`read_blocks` gives them (every input's last line completed), less the
    newline it added after the very last line of an input that ended without one: that newline
    comes as a block of its own ("\\n") after a block that does not end in one."""
    previous: str | None = None
    before_previous_ends_line = True
    for block in blocks:
        if previous is not None:
            yield previous
            before_previous_ends_line = previous.endswith("\n")
        previous = block
    if previous is not None and (previous != "\n" or before_previous_ends_line):
        yield previous


_tokenizer_choice = click.option(
    "-t",
    "--tokenizer",
    metavar="NAME",
    default=None,
    help="Tokenizer to use: word (default), whitespace, char, spm, or one a plugin registered (see 'textseq plugins').",
)
_spm_model = click.option(
    "--spm", "spm_model", metavar="MODEL", type=click.Path(dir_okay=False), help="A sentencepiece .model file (implies -t spm)."
)
_ids = click.option("--ids", is_flag=True, help="spm: integer piece ids instead of pieces.")
_param = click.option(
    "-p", "--param", "params", multiple=True, metavar="KEY=VALUE", help="An option for the tokenizer (for plugins' tokenizers); repeatable."
)


@click.command(
    cls=DefaultCommand,
    epilog="""\b
Examples:
  cat book.txt | textseq tokenize | textseq vocab --top 10
  textseq tokenize --lower --sentences book.txt > book.tok
  textseq tokenize -t char book.txt | textseq detokenize -t char   # the same text back
  textseq tokenize --spm book.model --ids book.txt""",
)
@input_files
@_tokenizer_choice
@_spm_model
@click.option("--lower", is_flag=True, help="Lower-case the text first.")
@click.option(
    "--normalize",
    type=click.Choice(NORMALIZATIONS),
    default=None,
    help="Unicode normalization first [default: nfc for word, none for the others].",
)
@click.option(
    "--sentences", is_flag=True, help="Split running text into one sentence per line first (paragraphs are runs of non-blank lines)."
)
@_ids
@click.option(
    "--sample",
    "alpha",
    type=FiniteFloat(min=0.0),
    default=None,
    metavar="ALPHA",
    help="spm: sample a segmentation (subword regularization): for unigram models ALPHA is a smoothing (0: every "
    "segmentation alike; larger: nearer the best one), for bpe models the probability of dropping a merge (0 to 1). "
    "Differs from run to run.",
)
@click.option(
    "--nbest",
    type=int,
    default=-1,
    show_default=True,
    metavar="N",
    help=f"spm with --sample, unigram models: sample from the N best segmentations (2 to {MAX_NBEST}; -1: from all).",
)
@_param
@output_option
@errors_option
@quiet_option
@pass_app
def tokenize_command(
    app: App,
    files: tuple[str, ...],
    tokenizer: str | None,
    spm_model: str | None,
    lower: bool,
    normalize: str | None,
    sentences: bool,
    ids: bool,
    alpha: float | None,
    nbest: int,
    params: tuple[str, ...],
    output: str | None,
    errors: str,
    quiet: bool,
) -> None:
    """Split text into tokens: one line of space-separated tokens per line of text.

    The word tokenizer keeps words of any script whole (with their apostrophes and hyphens, as in
    don't and well-known), numbers (3.14, 1,000), URLs and e-mail addresses; it makes every other
    symbol, and each CJK ideograph, a token of its own. Blank lines stay blank, so the output lines
    up with the input. Reversible tokenizers (char, spm) leave a last line that has no newline
    without one, so that 'textseq detokenize' gives back exactly the input.
    """
    app.quiet(quiet)
    name, options = _tokenizer_options(tokenizer, spm_model, ids, alpha, nbest, params)
    if normalize is not None and name == "spm":
        raise click.UsageError("--normalize does not apply to spm: the model carries its own normalization")
    tok = make_tokenizer(name, options)
    blocks = read_blocks(app, files, errors, "tokenizing")
    if tok.reversible and not sentences:
        blocks = keeping_a_missing_final_newline(blocks)
    with open_output(output, app.stdout) as out:
        for text in tokenize_blocks(blocks, tok, lower=lower, normalize=normalize, sentences=sentences):
            out.write(text)


@click.command(
    "train-spm",
    epilog="""\b
Examples:
  textseq tokenize train-spm -O book.model --vocab-size 8000 book.txt
  cat *.txt | textseq tokenize train-spm -O bpe.model --model-type bpe --vocab-size 16000
  textseq tokenize --spm book.model book.txt | textseq detokenize --spm book.model""",
)
@input_files
@click.option("-O", "--output", required=True, type=click.Path(dir_okay=False), help="Where to write the .model file (atomically).")
@click.option("--model-type", type=click.Choice(MODEL_TYPES), default="unigram", show_default=True, help="Segmentation algorithm.")
@click.option("--vocab-size", type=click.IntRange(min=2), default=8000, show_default=True, help="Number of pieces.")
@click.option("--input-sentence-size", type=click.IntRange(min=0), default=0, help="Train on a random sample of this many lines (0: all).")
@click.option("--user-symbols", default="", metavar="A,B,...", help="Comma-separated symbols that are always single pieces.")
@click.option(
    "--normalization",
    type=click.Choice(NORMALIZATION_RULES),
    default="identity",
    show_default=True,
    help="sentencepiece normalization rule (identity keeps text exactly; nmt_nfkc is sentencepiece's default).",
)
@click.option(
    "--byte-fallback/--no-byte-fallback",
    default=True,
    show_default=True,
    help="Spell unknown characters as UTF-8 byte pieces (bpe, unigram), so every text round-trips.",
)
@click.option(
    "--character-coverage",
    type=FiniteFloat(0.98, 1.0),
    default=0.9995,
    show_default=True,
    help="Share of characters the model covers with pieces of their own (sentencepiece takes 0.98 to 1).",
)
@click.option(
    "--max-sentence-length",
    type=click.IntRange(min=1),
    default=MAX_SENTENCE_LENGTH,
    show_default=True,
    metavar="BYTES",
    help="Longest training line, in UTF-8 bytes: longer lines are split at spaces (sentencepiece would skip them).",
)
@click.option("--seed", type=int, default=None, help="Random seed of the --input-sentence-size sample (same seed, same model).")
@click.option("--threads", type=click.IntRange(min=0), default=0, help="Training threads (0: sentencepiece's default).")
@click.option("-v", "--verbose", is_flag=True, help="Show sentencepiece's own training log.")
@errors_option
@quiet_option
@pass_app
def train_spm_command(
    app: App,
    files: tuple[str, ...],
    output: str,
    model_type: str,
    vocab_size: int,
    input_sentence_size: int,
    user_symbols: str,
    normalization: str,
    byte_fallback: bool,
    character_coverage: float,
    max_sentence_length: int,
    seed: int | None,
    threads: int,
    verbose: bool,
    errors: str,
    quiet: bool,
) -> None:
    """Train a sentencepiece subword model on text streamed from FILE or stdin.

    The text is streamed to sentencepiece, never copied to disk; the model is written to OUTPUT
    only when training succeeds. By default nothing is normalized and unknown characters fall
    back to bytes, so that 'textseq detokenize' gives back exactly the text that was tokenized.
    """
    from textseq.tokenize.spm import train_spm

    app.quiet(quiet)
    lines = (line for block in read_blocks(app, files, errors, "reading") for line in block.split("\n"))
    trained = train_spm(
        lines,
        output,
        vocab_size=vocab_size,
        model_type=model_type,
        input_sentence_size=input_sentence_size,
        user_symbols=[s for s in user_symbols.split(",") if s],
        normalization=normalization,
        byte_fallback=byte_fallback,
        character_coverage=character_coverage,
        max_sentence_length=max_sentence_length,
        seed=seed,
        threads=threads,
        verbose=verbose,
    )
    if trained.split_lines:
        app.console.warn(
            f"split {_lines(trained.split_lines)} longer than {max_sentence_length:,} bytes at spaces to train on them "
            "(--max-sentence-length raises the limit)"
        )
    if trained.reserved_lines:
        app.console.warn(f"sentencepiece skipped {_lines(trained.reserved_lines)} holding \u2585 (U+2585), a character it reserves")
    app.console.info(f"wrote {output}: {model_type} model, {trained.pieces} pieces")


def _lines(count: int) -> str:
    return f"{count:,} line" if count == 1 else f"{count:,} lines"


tokenize_group = DefaultGroup(
    "tokenize", default=tokenize_command, commands={"train-spm": train_spm_command}, epilog=tokenize_command.epilog
)


@click.command(
    "detokenize",
    epilog="""\b
Examples:
  textseq tokenize -t char book.txt | textseq detokenize -t char
  textseq tokenize --spm m.model --ids book.txt | textseq detokenize --spm m.model --ids
  textseq sample model.arpa | textseq detokenize""",
)
@input_files
@_tokenizer_choice
@_spm_model
@_ids
@_param
@output_option
@errors_option
@quiet_option
@pass_app
def detokenize_command(
    app: App,
    files: tuple[str, ...],
    tokenizer: str | None,
    spm_model: str | None,
    ids: bool,
    params: tuple[str, ...],
    output: str | None,
    errors: str,
    quiet: bool,
) -> None:
    """Join tokens back into text, one line per line.

    Exact for char and spm (what 'textseq tokenize' made comes back byte for byte); best effort
    for word (no space before closing punctuation or after opening brackets). The output ends
    with a newline when the input does.
    """
    app.quiet(quiet)
    name, options = _tokenizer_options(tokenizer, spm_model, ids, None, -1, params)
    tok = make_tokenizer(name, options)
    with open_output(output, app.stdout) as out:
        line_ended = True
        for path in files or ("-",):
            source = STDIN_NAME if path == "-" else path
            blocks = keeping_a_missing_final_newline(read_blocks(app, (path,), errors, "detokenizing"))
            for text, ends_line in _detokenized_blocks(tok, blocks, source):
                if not line_ended:
                    out.write("\n")
                out.write(text)
                line_ended = ends_line


def _detokenized_blocks(tok: Tokenizer, blocks: Iterable[str], source: str) -> Iterator[tuple[str, bool]]:
    """(text, whether it ends a line) for each block of token lines of ``source``;
    a line that ``tok`` cannot read is an error at its line number."""
    number = 0
    for block in blocks:
        if not block:
            continue
        lines = block.split("\n")
        ends_line = lines[-1] == ""
        if ends_line:
            lines.pop()
        texts = []
        for line in lines:
            number += 1
            try:
                texts.append(tok.detokenize(line.split()))
            except ValueError as exc:
                raise InputError(str(exc), source=source, line=number) from None
        yield "\n".join(texts) + ("\n" if ends_line else ""), ends_line
