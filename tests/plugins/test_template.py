"""``textseq plugins new``: each kind's skeleton passes its own test, and one installed by pip
shows up in ``textseq plugins`` and works in its command."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys

import pytest

from helpers import SUBPROCESS_ENV
from textseq.plugin_template import KINDS, plugin_names, write_plugin


@pytest.mark.parametrize("kind", KINDS)
def test_each_skeleton_passes_its_own_test_with_nothing_installed(kind, tmp_path):
    written = write_plugin(f"textseq-my-{kind}", kind, tmp_path)
    package = tmp_path / f"textseq-my-{kind}"
    assert {path.relative_to(package).as_posix() for path in written} == {
        "pyproject.toml",
        "README.md",
        f"textseq_my_{kind}/__init__.py",
        f"textseq_my_{kind}/plugin.py",
        "tests/test_plugin.py",
    }
    assert f'my-{kind} = "textseq_my_{kind}.plugin"' in (package / "pyproject.toml").read_text()
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"],
        cwd=package,
        capture_output=True,
        text=True,
        timeout=300,
        env={**SUBPROCESS_ENV, "PYTHONPATH": str(package)},
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "1 passed" in result.stdout


def test_installed_with_pip_it_is_listed_and_works(tmp_path, textseq):
    assert textseq("plugins", "new", "textseq-shout", "--kind", "tokenizer", "-C", str(tmp_path)).returncode == 0
    site = tmp_path / "site"
    isolation = [] if importlib.util.find_spec("setuptools") is None else ["--no-build-isolation"]
    pip = subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", *isolation, "--target", str(site), str(tmp_path / "textseq-shout")],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert pip.returncode == 0, pip.stderr
    env = {"PYTHONPATH": str(site), "TEXTSEQ_STRICT_PLUGINS": "1"}
    listing = json.loads(textseq("plugins", "--json", env=env).text)
    entry = next(p for p in listing if p["name"] == "shout")
    assert entry["distribution"] == "textseq-shout" and entry["version"] == "0.1.0"
    assert entry["registered"] == {"tokenizers": ["shout"]}
    assert "textseq-shout==0.1.0" in textseq("plugins", "--requirements", env=env).text.splitlines()
    tokens = textseq("tokenize", "-t", "shout", "-p", "lower=true", input=b"Don't PANIC, Arthur!\n", env=env)
    assert tokens.text == "don't panic , arthur !\n"


def test_names_and_refusals(tmp_path, textseq):
    assert plugin_names("textseq-shout") == {"dist": "textseq-shout", "module": "textseq_shout", "part": "shout"}
    assert plugin_names("lolcat") == {"dist": "lolcat", "module": "lolcat", "part": "lolcat"}
    assert textseq("plugins", "new", "textseq-x", "--kind", "command", "-C", str(tmp_path)).returncode == 0
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    again = textseq("plugins", "new", "textseq-x", "--kind", "tokenizer", "-C", str(tmp_path))
    assert again.returncode == 1 and "exists already" in again.stderr
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before
    bad = textseq("plugins", "new", "Not_A_Name", "--kind", "tokenizer", "-C", str(tmp_path))
    assert bad.returncode == 2 and "lower-case letters" in bad.stderr
    assert textseq("plugins", "new", "textseq-y", "--kind", "gizmo", "-C", str(tmp_path)).returncode == 2
