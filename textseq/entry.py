"""The ``textseq`` program's entry point.

Loading the command line takes a moment (click, rich, the plugins); a Ctrl-C in that moment ends
the program as one during a command does, with status 130 and no traceback.
"""

from __future__ import annotations

import sys


def main() -> None:
    try:
        from textseq.cli import main as run_command_line
    except KeyboardInterrupt:
        sys.exit(130)
    run_command_line()
