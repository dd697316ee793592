"""What every command shares: its streams, common options, and reading its inputs."""

from __future__ import annotations

import functools
import json
import math
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, BinaryIO, TextIO, TypeVar

import click

from textseq.console import Console
from textseq.errors import OutputError, ParameterError
from textseq.streams import (
    ERROR_POLICIES,
    ByteSink,
    as_regular_file,
    isatty,
    iter_lines,
    open_input,
    read_text_blocks,
    standard_output,
    total_size,
)

F = TypeVar("F", bound=Callable[..., Any])


@dataclass
class App:
    """The streams a command uses; tests inject their own (the csvkit habit)."""

    stdin: BinaryIO = field(default_factory=lambda: sys.stdin.buffer)
    stdout: ByteSink = field(default_factory=standard_output)
    console: Console = field(default_factory=Console)

    def quiet(self, quiet: bool) -> App:
        if quiet:
            self.console.quiet = True
            self.console.show_progress = False
        return self


_pass_app_object = click.make_pass_decorator(App, ensure=True)


def pass_app(function: F) -> F:
    """Give the command its :class:`App` first, and report the library's
    :class:`~textseq.errors.ParameterError` as the usage error of the option it names."""

    @functools.wraps(function)
    def command(*args: Any, **kwargs: Any) -> Any:
        try:
            return function(*args, **kwargs)
        except ParameterError as exc:
            raise usage_error(exc) from None

    return _pass_app_object(command)  # type: ignore[return-value]


def usage_error(exc: ParameterError) -> click.UsageError:
    """``exc`` as click's usage error: 'Invalid value for '--NAME'' where the current command has a
    parameter of that name, a plain usage line otherwise."""
    context = click.get_current_context(silent=True)
    if context is not None and exc.parameter is not None:
        for param in context.command.params:
            if param.name == exc.parameter:
                return click.BadParameter(exc.message, ctx=context, param=param)
    return click.UsageError(exc.message, ctx=context)


class FiniteFloat(click.FloatRange):
    """A float option that refuses NaN and infinities, which ``click.FloatRange`` lets through
    (every comparison with NaN is false); bounds as ``click.FloatRange``'s."""

    name = "float"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        number = super().convert(value, param, ctx)
        if number is not None and not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number.", param, ctx)
        return number


class ModelFile(click.Path):
    """A model file's path; a FIFO or ``<(...)`` is copied once to a temporary file for the
    command's lifetime (see :func:`textseq.streams.as_regular_file`)."""

    def __init__(self) -> None:
        super().__init__(dir_okay=False)

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        path = super().convert(value, param, ctx)
        if ctx is None or ctx.resilient_parsing:
            return path
        return ctx.with_resource(as_regular_file(str(path)))


def input_files(function: F) -> F:
    """``[FILE]...``: paths, '-' for standard input, none for standard input."""
    return click.argument("files", nargs=-1, metavar="[FILE]...", type=click.Path(dir_okay=True, allow_dash=True))(function)


def errors_option(function: F) -> F:
    return click.option(
        "--errors",
        type=click.Choice(ERROR_POLICIES),
        default="strict",
        show_default=True,
        help="What to do with bytes that are not UTF-8: stop with an error, replace them with U+FFFD, or drop them.",
    )(function)


def quiet_option(function: F) -> F:
    return click.option("-q", "--quiet", is_flag=True, help="Say nothing on stderr but errors.")(function)


def output_option(function: F) -> F:
    return click.option(
        "-O",
        "--output",
        type=click.Path(dir_okay=False, allow_dash=True),
        default=None,
        help="Write to this file (atomically; .gz/.bz2/.xz compressed by name) instead of stdout.",
    )(function)


def json_option(function: F) -> F:
    return click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")(function)


def read_blocks(
    app: App, files: tuple[str, ...], errors: str, description: str = "reading", complete_last_line: bool = True
) -> Iterator[str]:
    """Blocks of whole lines from every input in turn (stdin when none), with a progress bar on a
    terminal and a hint when stdin is a terminal."""
    paths = list(files) or ["-"]
    if "-" in paths and isatty(app.stdin):
        app.console.info("reading text from the terminal: type it and end with Ctrl-D, or give a FILE (see --help)")
    with app.console.progress(description, total=total_size(paths)) as update:
        yield from read_text_blocks(paths, errors, app.stdin, progress=update, complete_last_line=complete_last_line)


def read_lines(app: App, paths: Sequence[str] = ("-",), errors: str = "strict", hint: str | None = None) -> Iterator[str]:
    """The lines (without their newline) of each input in turn, ``'-'`` standard input, each
    closed once read: the one reader of lines for queries and histories. ``hint`` is said first
    where standard input is a terminal."""
    if hint is not None and "-" in paths and isatty(app.stdin):
        app.console.info(hint)
    for path in paths:
        source = open_input(path, app.stdin)
        try:
            yield from iter_lines(source, errors)
        finally:
            source.close()


def parse_params(params: tuple[str, ...], option: str = "--param") -> dict[str, Any]:
    """``KEY=VALUE`` pairs given to ``option``; values that read as JSON (numbers, true/false,
    null) are converted."""
    options: dict[str, Any] = {}
    for param in params:
        key, sep, value = param.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"expected KEY=VALUE, got {param!r}", param_hint=option)
        if value.strip().lstrip("+-").lower() in _NOT_FINITE:
            raise click.BadParameter(f"{param!r}: {key} must be a finite number", param_hint=option)
        try:
            options[key.replace("-", "_")] = json.loads(value)
        except ValueError:
            options[key.replace("-", "_")] = value
    return options


_NOT_FINITE = {"nan", "inf", "infinity"}


def open_log(path: str | None) -> TextIO | None:
    """``--log PATH`` opened for appending JSON lines (None for none); one error line if it cannot be."""
    if path is None:
        return None
    try:
        return open(path, "a", encoding="utf-8")
    except OSError as exc:
        raise OutputError(f"cannot write the log ({exc.strerror})", source=path) from None


def echo_json(app: App, value: Any) -> None:
    app.stdout.write((json.dumps(value, indent=2, ensure_ascii=False) + "\n").encode("utf-8"))


class DefaultCommand(click.Command):
    """The command a :class:`DefaultGroup` runs when no subcommand is named; its help lists the
    group's subcommands too."""

    group: click.Group | None = None

    def format_epilog(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        super().format_epilog(ctx, formatter)
        if self.group is not None and self.group.commands:
            rows = [(name, cmd.get_short_help_str(60)) for name, cmd in sorted(self.group.commands.items()) if not cmd.hidden]
            with formatter.section("Commands"):
                formatter.write_dl(rows)


class _DefaultContext(click.Context):
    @property
    def command_path(self) -> str:
        return super().command_path.rstrip()


DefaultCommand.context_class = _DefaultContext

_DEFAULT = "\0default"


class DefaultGroup(click.Group):
    """A group that runs ``default`` when its first argument names no subcommand, so that
    ``textseq tokenize FILE`` and ``textseq tokenize train-spm ...`` both work."""

    def __init__(self, *args: Any, default: DefaultCommand, **kwargs: Any) -> None:
        kwargs.setdefault("help", default.help)
        kwargs.setdefault("short_help", default.short_help)
        super().__init__(*args, **kwargs)
        self.default = default
        default.group = self

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if not args or args[0] not in self.commands:
            args = [_DEFAULT, *args]
        return super().parse_args(ctx, args)

    def resolve_command(self, ctx: click.Context, args: list[str]) -> tuple[str | None, click.Command | None, list[str]]:
        if args and args[0] == _DEFAULT:
            return "", self.default, args[1:]
        return super().resolve_command(ctx, args)

    def get_help(self, ctx: click.Context) -> str:
        with self.default.make_context("", [], parent=ctx, resilient_parsing=True) as sub:
            return self.default.get_help(sub)
