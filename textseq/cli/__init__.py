"""The ``textseq`` command line: a thin layer of click commands over the library.

Private, every module of it: the commands are the interface, not their code. :func:`build_cli`
alone is public, as ``textseq.build_cli``, for a plugin's tests to run commands in-process.

:func:`run` turns every way a command can end into an exit code and at most one line on stderr:
usage errors 2, data errors 1, Ctrl-C 130, a closed pipe (``| head``) quietly.
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Sequence

import click

from textseq import __version__
from textseq.cli.common import App
from textseq.console import Console
from textseq.errors import Terminated, TextseqError
from textseq.streams import ByteSink, standard_output

EXIT_INTERRUPTED = 130
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE, what `cat` reports when its reader goes away

CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


HELP = """Classic sequence models of text, as commands for Unix pipes.

Every command reads text from FILE arguments or stdin ('-' or none; .gz, .bz2 and .xz
transparently), writes data to stdout and everything else to stderr. Between commands the
data is one sequence per line, tokens separated by single spaces.
"""

EPILOG = """\b
Examples:
  cat book.txt | textseq tokenize | textseq vocab --top 20
  textseq tokenize --lower --sentences book.txt.gz > book.tok
  textseq tokenize train-spm -O book.model --vocab-size 8000 book.txt
  textseq tokenize --lower book.txt | textseq ngram build -o 5 -O book.arpa
  textseq eval book.arpa test.tok
  textseq plugins
"""


class _StdoutClosed(Exception):
    """Stdout's reader went away; raised in place of BrokenPipeError, which click would turn
    into exit 1 before :func:`run` could see it."""


class _Stopped(Exception):
    """Ctrl-C or SIGTERM during a command, raised in place of the KeyboardInterrupt, which click
    would answer with a blank line on stderr before :func:`run` could see it."""

    def __init__(self, terminated: bool) -> None:
        super().__init__()
        self.exit_code = Terminated.exit_code if terminated else EXIT_INTERRUPTED


class TextseqGroup(click.Group):
    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except BrokenPipeError:
            raise _StdoutClosed from None
        except KeyboardInterrupt as exc:
            raise _Stopped(isinstance(exc, Terminated)) from None


def build_cli(console: Console | None = None) -> click.Group:
    """The ``textseq`` group with the built-in commands and every plugin's commands."""
    from textseq.cli.classify import classify_group
    from textseq.cli.embed import embed_group
    from textseq.cli.lm import eval_command, sample_command
    from textseq.cli.neural import train_command
    from textseq.cli.ngram import ngram_group
    from textseq.cli.plot import plot_command
    from textseq.cli.plugins import plugins_group
    from textseq.cli.tokenize import detokenize_command, tokenize_group
    from textseq.cli.vocab import vocab_command
    from textseq.plugins import get_plugins

    @click.group(name="textseq", cls=TextseqGroup, help=HELP, epilog=EPILOG, context_settings=CONTEXT_SETTINGS)
    @click.version_option(__version__, "-V", "--version", prog_name="textseq", message="%(prog)s %(version)s")
    def textseq() -> None:
        pass

    for command in (
        tokenize_group,
        detokenize_command,
        vocab_command,
        ngram_group,
        eval_command,
        sample_command,
        embed_group,
        train_command,
        plot_command,
        classify_group,
        plugins_group,
    ):
        textseq.add_command(command)
    get_plugins(console).add_commands(textseq)
    return textseq


def _join_prune_values(args: list[str]) -> list[str]:
    """``--prune 0 1 1`` (lmplz's spelling, one value per order) as ``--prune 0,1,1``."""
    out: list[str] = []
    i = 0
    while i < len(args):
        out.append(args[i])
        if args[i] == "--prune":
            values = []
            while i + 1 < len(args) and args[i + 1].isdigit():
                i += 1
                values.append(args[i])
            if values:
                out.append(",".join(values))
        i += 1
    return out


def _raise_terminated(signum: int, frame: object) -> None:
    raise Terminated


def terminate_like_interrupt() -> None:
    """From now on SIGTERM raises :class:`Terminated` in the main thread (where Python runs
    signal handlers), as SIGINT raises KeyboardInterrupt."""
    signal.signal(signal.SIGTERM, _raise_terminated)


def run(argv: Sequence[str] | None = None, console: Console | None = None, app: App | None = None) -> int:
    """Run the command line; returns the exit code. ``app`` gives the commands their streams (tests
    inject their own); its console then reports the errors too."""
    console = app.console if app is not None else console if console is not None else Console()
    args = _join_prune_values(list(argv) if argv is not None else sys.argv[1:])
    try:
        group = build_cli(console)
        group.main(args=args, prog_name="textseq", standalone_mode=False, obj=app)
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.exceptions.NoArgsIsHelpError as exc:
        exc.show(file=console.stream)
        return exc.exit_code
    except click.ClickException as exc:
        console.error(_usage_line(exc))
        return exc.exit_code
    except TextseqError as exc:
        console.error(str(exc))
        return exc.exit_code
    except _Stopped as exc:
        return exc.exit_code
    except (click.Abort, KeyboardInterrupt) as exc:
        terminated = isinstance(exc, Terminated) or isinstance(exc.__cause__, Terminated)  # click turns both into Abort
        return Terminated.exit_code if terminated else EXIT_INTERRUPTED
    except (_StdoutClosed, BrokenPipeError):
        _silence_stdout()
        return EXIT_BROKEN_PIPE
    except MemoryError:
        console.error("out of memory: the input or the options ask for more than this machine has")
        return 1
    except BaseException as exc:  # a plugin's failure, even SystemExit, is one line naming the plugin
        from textseq.plugins import plugin_failure

        message = plugin_failure(exc)  # None: not a plugin's fault, or TEXTSEQ_STRICT_PLUGINS wants the traceback
        if message is None and isinstance(exc, OSError):
            message = _os_error_line(exc)
        if message is None:
            raise
        console.error(message)
        return 1
    return _flush_stdout(console, app.stdout if app is not None else standard_output() if hasattr(sys.stdout, "buffer") else None)


def _flush_stdout(console: Console, stdout: ByteSink | None) -> int:
    """What is still buffered for stdout, written now: a full disk or a closed pipe is reported
    here, not by the interpreter's last flush."""
    try:
        sys.stdout.flush()
        if stdout is not None:
            stdout.flush()
    except BrokenPipeError:
        _silence_stdout()
        return EXIT_BROKEN_PIPE
    except OSError as exc:
        console.error(_os_error_line(exc))
        _silence_stdout()
        return 1
    except TextseqError as exc:
        console.error(str(exc))
        _silence_stdout()
        return exc.exit_code
    return 0


def _usage_line(exc: click.ClickException) -> str:
    """Click's error in one line, with where to read the command's usage: a script's log keeps
    the message with the error, not a usage synopsis three lines before it."""
    message = " ".join(exc.format_message().split())
    context = getattr(exc, "ctx", None)
    return f"{message} (see '{context.command_path} --help')" if context is not None else message


def _os_error_line(exc: OSError) -> str:
    """A file-system error that no library call turned into textseq's own: its path and reason."""
    where = f"{exc.filename}: " if exc.filename else ""
    return f"{where}{exc.strerror or exc}"


def _silence_stdout() -> None:
    """Point stdout at /dev/null so that the interpreter's last flush does not complain."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


def main() -> None:
    terminate_like_interrupt()
    sys.exit(run())
