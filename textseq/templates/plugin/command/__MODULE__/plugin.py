"""A command: the most frequent tokens of tokenized text, with their share of all tokens."""

from __future__ import annotations

from typing import Any

from textseq import hookimpl


@hookimpl
def register_commands(cli: Any) -> None:
    import click

    @cli.command("__PART__")
    @click.argument("files", nargs=-1, type=click.File("r", encoding="utf-8"))
    @click.option("--top", type=click.IntRange(min=1), default=10, show_default=True, help="How many tokens.")
    def top_tokens(files: tuple[Any, ...], top: int) -> None:
        """The most frequent tokens of FILES (or stdin), one per line: token, count, share."""
        from collections import Counter

        counts: Counter[str] = Counter()
        for handle in files or (click.get_text_stream("stdin"),):
            for line in handle:
                counts.update(line.split())
        total = sum(counts.values()) or 1
        for token, count in counts.most_common(top):
            click.echo(f"{token}\t{count}\t{count / total:.4f}")
