"""Man pages (groff ``man`` macros) generated from the click definitions, one per command.

``python tools/make_man.py`` writes them to man/; a test fails when man/ differs from what the
current command line would generate.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterator

import click

from textseq import __version__

MANUAL = "textseq manual"


def _escape(text: str) -> str:
    text = text.replace("\\", "\\e").replace("-", "\\-")
    return "\n".join(("\\&" + line) if line.startswith((".", "'")) else line for line in text.split("\n"))


def _paragraphs(text: str) -> Iterator[tuple[bool, str]]:
    """(preformatted, text) for each paragraph of a click help text; ``\\b`` marks a paragraph
    that must not be re-wrapped."""
    for paragraph in inspect.cleandoc(text).split("\n\n"):
        if paragraph.startswith("\b"):
            yield True, paragraph[1:].strip("\n")
        elif paragraph.strip():
            yield False, " ".join(line.strip() for line in paragraph.split("\n"))


def _render_text(text: str) -> list[str]:
    out: list[str] = []
    for preformatted, paragraph in _paragraphs(text):
        if preformatted:
            out += [".PP", ".nf", ".RS 4", _escape(paragraph), ".RE", ".fi"]
        else:
            out += [".PP", _escape(paragraph)]
    return out


def _page_name(path: list[str]) -> str:
    return "-".join(path)


def render(command: click.Command, path: list[str]) -> str:
    """The man page of ``command``, reached as ``path`` (e.g. ['textseq', 'tokenize'])."""
    from textseq.cli.common import DefaultGroup

    documented = command.default if isinstance(command, DefaultGroup) else command
    ctx = click.Context(documented, info_name=" ".join(path), parent=None)
    name = _page_name(path)
    short = documented.get_short_help_str(limit=200).rstrip(".")
    lines = [
        f'.TH "{name.upper()}" "1" "" "textseq {__version__}" "{MANUAL}"',
        ".SH NAME",
        f"{_escape(name)} \\- {_escape(short)}",
        ".SH SYNOPSIS",
        f".B {_escape(' '.join(path))}",
        _escape(" ".join(documented.collect_usage_pieces(ctx))),
    ]
    if documented.help:
        lines.append(".SH DESCRIPTION")
        lines += _render_text(documented.help)
    found = [p.get_help_record(ctx) for p in documented.get_params(ctx) if isinstance(p, click.Option)]
    records = [r for r in found if r is not None]
    if records:
        lines.append(".SH OPTIONS")
        for opts, help_text in records:
            lines += [".TP", f"\\fB{_escape(opts)}\\fR", _escape(help_text) if help_text else ""]
    subcommands = _subcommands(command)
    if subcommands:
        lines.append(".SH COMMANDS")
        for sub_name, sub in subcommands:
            lines += [".TP", f"\\fB{_escape(sub_name)}\\fR", _escape(sub.get_short_help_str(limit=200))]
    epilog = documented.epilog
    if epilog:
        lines.append(".SH EXAMPLES" if "Examples:" in epilog else ".SH NOTES")
        lines += _render_text(epilog.replace("Examples:\n", "", 1))
    see_also = [_page_name([*path, n]) for n, _ in subcommands]
    if len(path) > 1:
        see_also.insert(0, _page_name(path[:-1]))
    if see_also:
        lines += [".SH SEE ALSO", ", ".join(f"\\fB{_escape(s)}\\fR(1)" for s in see_also)]
    return "\n".join(line for line in lines if line is not None) + "\n"


def _subcommands(command: click.Command) -> list[tuple[str, click.Command]]:
    if not isinstance(command, click.Group):
        return []
    return [(n, c) for n, c in sorted(command.commands.items()) if not c.hidden]


def all_pages(root: click.Command, prog: str = "textseq") -> dict[str, str]:
    """File name -> man page text, for ``root`` and every command under it."""
    pages: dict[str, str] = {}

    def visit(command: click.Command, path: list[str]) -> None:
        pages[_page_name(path) + ".1"] = render(command, path)
        for sub_name, sub in _subcommands(command):
            visit(sub, [*path, sub_name])

    visit(root, [prog])
    return pages
