"""textseq-moses through textseq's commands, with the plugin installed (``pip install -e plugins/textseq-moses``)."""

from __future__ import annotations

import io
import json
import os
import subprocess

import pytest

from textseq.cli import run
from textseq.cli.common import App
from textseq.console import Console
from textseq.plugins import set_plugins

PROSE = """\
The committee met on Tuesday, and after a long debate it agreed to publish the report.
"We can't wait any longer," said the chair; others weren't so sure.
Prices rose by 3.5% in March (the highest since 2019), according to the well-known survey.
Is this the end? No: it's only the beginning!
She paid $40 for the tickets -- a bargain, she said.
"""


def textseq(*args: str, input: str = "") -> subprocess.CompletedProcess[str]:
    """``textseq ARGS`` through textseq.cli.run in this process, as ``TEXTSEQ_STRICT_PLUGINS=1 python
    -m textseq ARGS`` would run it (its plugins loaded afresh); the environment and the plugin
    manager are put back afterwards."""
    out, err = io.BytesIO(), io.StringIO()
    before = os.environ.get("TEXTSEQ_STRICT_PLUGINS")
    os.environ["TEXTSEQ_STRICT_PLUGINS"] = "1"
    set_plugins(None)
    try:
        code = run(list(args), app=App(stdin=io.BytesIO(input.encode("utf-8")), stdout=out, console=Console(err)))
    finally:
        if before is None:
            del os.environ["TEXTSEQ_STRICT_PLUGINS"]
        else:
            os.environ["TEXTSEQ_STRICT_PLUGINS"] = before
        set_plugins(None)
    return subprocess.CompletedProcess(list(args), code, out.getvalue().decode("utf-8"), err.getvalue())


def test_registered_from_its_distribution():
    listing = json.loads(textseq("plugins", "--json").stdout)
    entry = next(p for p in listing if p["name"] == "moses")
    assert entry["distribution"] == "textseq-moses" and entry["registered"] == {"tokenizers": ["moses"]}


def test_tokenizes_like_moses_without_escaping():
    result = textseq("tokenize", "-t", "moses", input="We can't pay $3.50 & that's \"it\".\n")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "We can 't pay $ 3.50 & that 's \" it \" .\n"


def test_escaping_on_request():
    result = textseq("tokenize", "-t", "moses", "-p", "escape=true", input='Tom & Jerry\'s "show"\n')
    assert result.stdout == "Tom &amp; Jerry &apos;s &quot; show &quot;\n"


def test_round_trip_on_english_prose():
    tokens = textseq("tokenize", "-t", "moses", input=PROSE)
    assert tokens.returncode == 0, tokens.stderr
    assert tokens.stdout.count("\n") == PROSE.count("\n") and tokens.stdout != PROSE
    assert "can 't" in tokens.stdout and "2019 )" in tokens.stdout
    back = textseq("detokenize", "-t", "moses", input=tokens.stdout)
    assert back.returncode == 0, back.stderr
    assert back.stdout == PROSE
    escaped = textseq("tokenize", "-t", "moses", "-p", "escape=true", input=PROSE).stdout
    assert textseq("detokenize", "-t", "moses", "-p", "escape=true", input=escaped).stdout == PROSE


def test_other_languages_and_dash_splits():
    french = textseq("tokenize", "-t", "moses", "-p", "lang=fr", input="L'homme qu'il a vu.\n").stdout
    assert french == "L' homme qu' il a vu .\n"
    dashes = textseq("tokenize", "-t", "moses", "-p", "aggressive_dash_splits=true", input="a well-known fact\n").stdout
    assert dashes == "a well @-@ known fact\n"
    assert textseq("detokenize", "-t", "moses", input=dashes).stdout == "a well-known fact\n"


@pytest.mark.parametrize("option, message", [("escape=maybe", "escape must be true or false"), ("volume=11", "takes:")])
def test_bad_option_is_one_line_and_exit_2(option, message):
    result = textseq("tokenize", "-t", "moses", "-p", option, input="hi\n")
    assert result.returncode == 2
    assert message in result.stderr and "Traceback" not in result.stderr
