"""``textseq vocab``: token counts of a token stream."""

from __future__ import annotations

import click

from textseq.cli.common import App, errors_option, input_files, json_option, output_option, pass_app, quiet_option, read_blocks
from textseq.streams import open_output
from textseq.vocab import count_tokens, most_frequent, summarize


@click.command(
    "vocab",
    epilog="""\b
Examples:
  textseq tokenize book.txt | textseq vocab --top 20
  textseq tokenize --lower book.txt | textseq vocab --min-count 2 -O vocab.tsv
  textseq vocab --max-size 10000 corpus.tok > vocab.tsv""",
)
@input_files
@click.option("--min-count", type=click.IntRange(min=1), default=1, show_default=True, help="Keep tokens seen at least this often.")
@click.option("--max-size", type=click.IntRange(min=1), default=None, help="Keep at most this many of the most frequent tokens.")
@click.option(
    "--top",
    type=click.IntRange(min=0),
    default=None,
    metavar="K",
    help="Print only the K most frequent tokens (the summary still describes the whole vocabulary).",
)
@json_option
@output_option
@errors_option
@quiet_option
@pass_app
def vocab_command(
    app: App,
    files: tuple[str, ...],
    min_count: int,
    max_size: int | None,
    top: int | None,
    as_json: bool,
    output: str | None,
    errors: str,
    quiet: bool,
) -> None:
    """Count the tokens of a token stream: TSV lines token<TAB>count, most frequent first.

    Ties keep the order in which the tokens first appear. The vocabulary is what --min-count and
    --max-size keep; a summary of it (types, tokens, hapaxes, the share of running tokens it
    covers) goes to stderr.
    """
    app.quiet(quiet)
    counts = count_tokens(read_blocks(app, files, errors, "counting"))
    kept = most_frequent(counts, min_count=min_count, max_size=max_size)
    shown = kept if top is None else kept[:top]
    summary = summarize(counts, kept)
    with open_output(output, app.stdout) as out:
        if as_json:
            import json

            out.write(
                json.dumps(
                    {
                        "tokens": dict(shown),
                        "summary": {
                            "types": summary.types,
                            "tokens": summary.tokens,
                            "hapaxes": summary.hapaxes,
                            "kept_types": summary.kept_types,
                            "coverage": summary.coverage,
                        },
                    },
                    ensure_ascii=False,
                    indent=2,
                )
                + "\n"
            )
        else:
            for start in range(0, len(shown), 65536):
                out.write("".join(f"{token}\t{count}\n" for token, count in shown[start : start + 65536]))
    app.console.table(
        "vocabulary",
        [
            ("types", f"{summary.types:,}"),
            ("tokens", f"{summary.tokens:,}"),
            ("hapaxes", f"{summary.hapaxes:,} ({summary.hapax_share:.1%} of types)"),
            ("kept types", f"{summary.kept_types:,}"),
            ("coverage", f"{summary.coverage:.2%} of tokens"),
        ],
    )
