"""man/ holds one page per command, in step with the click definitions."""

from __future__ import annotations

import subprocess
import sys

from helpers import ROOT, command_tree


def test_man_pages_are_in_sync_with_the_cli():
    done = subprocess.run([sys.executable, str(ROOT / "tools" / "make_man.py"), "--check"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr


def test_every_command_has_a_page_with_its_options_and_examples():
    pages = {path.name: path.read_text(encoding="utf-8") for path in (ROOT / "man").glob("*.1")}
    for path, _ in command_tree():
        name = "-".join(("textseq", *path)) + ".1"
        assert name in pages, name
        assert ".SH EXAMPLES" in pages[name], name
    assert "\\-\\-min\\-count" in pages["textseq-vocab.1"]
    assert "\\fBtrain\\-spm\\fR" in pages["textseq-tokenize.1"]
