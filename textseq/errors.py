"""The errors textseq reports to a user in one line, and their exit codes.

The library raises these; the CLI turns them into ``textseq: error: ...`` on stderr and the exit
code below, never a traceback.
"""

from __future__ import annotations

SOURCE_ALIASES: dict[str, str] = {}
"""Temporary copies by the name the user gave (a FIFO's model copied to a file), so that a message
names what the user typed."""


class TextseqError(Exception):
    """A problem with the user's data or environment (exit 1)."""

    exit_code = 1

    def __init__(self, message: str, *, source: str | None = None, line: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.source = source
        self.line = line

    def __str__(self) -> str:
        where = ""
        if self.source is not None:
            source = SOURCE_ALIASES.get(str(self.source), str(self.source))
            where = source if self.line is None else f"{source}:{self.line}"
            where += ": "
        return where + self.message


class InputError(TextseqError):
    """The input cannot be read: missing file, invalid encoding, malformed line."""


class OutputError(TextseqError):
    """Output cannot be written: disk full, read-only folder, permission denied, a missing folder."""


class PluginError(TextseqError):
    """A plugin failed to load or register, or two plugins claim one name."""


class ParameterError(TextseqError):
    """A value given to a library function that it cannot work with (exit 2).

    ``parameter`` names the function's parameter, never a command-line flag: the library does not
    know the CLI. The CLI reports it as a usage error naming the option of that name (parameter
    ``prune`` -> ``--prune``), because on the command line the value came from an option.
    """

    exit_code = 2

    def __init__(self, message: str, *, parameter: str | None = None) -> None:
        super().__init__(message)
        self.parameter = parameter


class UnknownNameError(ParameterError):
    """A name (tokenizer, smoother, ...) that no loaded plugin registered."""


class Terminated(KeyboardInterrupt):
    """SIGTERM (what ``kill``, ``timeout`` and schedulers send), raised in the main thread as a
    KeyboardInterrupt is on Ctrl-C, so that every clean-up for one (temporary files removed,
    training's checkpoint saved) runs for the other; the program then exits 143, not 130."""

    exit_code = 143
