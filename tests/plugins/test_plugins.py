"""Plugins: loaded from real entry points, isolated when broken, clashes named, listed."""

from __future__ import annotations

import inspect
import json
from pathlib import Path

import pytest

from helpers import BROKEN_IMPORT, BROKEN_REGISTER, CLASH, CLASH_COMMAND, GOOD, install
from textseq import hookspecs
from textseq.console import Console
from textseq.errors import PluginError
from textseq.plugins import BUILTIN_PLUGINS, Plugins


@pytest.fixture
def site(tmp_path):
    folder = tmp_path / "site"
    folder.mkdir()
    return folder


def env_for(site: Path, **extra: str) -> dict[str, str]:
    return {"PYTHONPATH": str(site), "TEXTSEQ_STRICT_PLUGINS": "", **extra}


def test_plugin_from_an_installed_distribution(site, textseq):
    install(site, "textseq-good", "1.2.3", "good", "textseq_good", GOOD)
    env = env_for(site)
    listing = json.loads(textseq("plugins", "--json", env=env).text)
    good = next(p for p in listing if p["name"] == "good")
    assert good == {
        "name": "good",
        "version": "1.2.3",
        "builtin": False,
        "distribution": "textseq-good",
        "hooks": ["register_commands", "register_tokenizers"],
        "registered": {"commands": ["hello"], "tokenizers": ["shout"]},
    }
    tokenizers = next(p for p in listing if p["name"] == "textseq.tokenizers")
    assert tokenizers["builtin"] is True
    assert tokenizers["registered"]["tokenizers"] == ["char", "spm", "whitespace", "word"]
    assert textseq("tokenize", "-t", "shout", input=b"hi there\n", env=env).text == "HI! THERE!\n"
    assert textseq("tokenize", "-t", "shout", "-p", "suffix=?", input=b"hi\n", env=env).text == "HI?\n"
    assert textseq("hello", "you", env=env).text == "hello you\n"
    human = textseq("plugins", env=env).text
    assert "good 1.2.3 (from textseq-good)" in human
    assert "tokenizers: shout" in human


def test_bad_option_for_a_plugin_tokenizer_is_a_usage_error(site, textseq):
    install(site, "textseq-good", "1.2.3", "good", "textseq_good", GOOD)
    result = textseq("tokenize", "-t", "shout", "-p", "volume=11", input=b"hi\n", env=env_for(site))
    assert result.returncode == 2
    assert "takes: suffix" in result.stderr


def test_broken_plugin_warns_once_and_textseq_keeps_working(site, textseq):
    install(site, "textseq-broken", "0.1", "broken", "textseq_broken", BROKEN_IMPORT)
    result = textseq("tokenize", input=b"still works\n", env=env_for(site))
    assert result.returncode == 0
    assert result.text == "still works\n"
    warnings = result.stderr.strip().splitlines()
    assert len(warnings) == 1
    assert "plugin 'broken' failed to load" in warnings[0]
    assert "ModuleNotFoundError" in warnings[0]


def test_strict_mode_makes_a_broken_plugin_fatal(site, textseq):
    install(site, "textseq-broken", "0.1", "broken", "textseq_broken", BROKEN_IMPORT)
    result = textseq("tokenize", input=b"x\n", env=env_for(site, TEXTSEQ_STRICT_PLUGINS="1"))
    assert result.returncode == 1
    assert result.stdout == b""
    assert "plugin 'broken' failed to load" in result.stderr
    assert "Traceback" not in result.stderr


def test_plugin_failing_half_way_through_registering_leaves_nothing_behind(site, textseq):
    install(site, "textseq-half", "0.1", "half", "textseq_half", BROKEN_REGISTER)
    env = env_for(site)
    result = textseq("plugins", "--json", env=env)
    assert result.returncode == 0
    assert "plugin 'half' failed in register_tokenizers: RuntimeError: oops in the middle" in result.stderr
    half = next(p for p in json.loads(result.text) if p["name"] == "half")
    assert half["registered"] == {}
    assert textseq("tokenize", "-t", "half", input=b"x", env=env).returncode == 2


def test_two_plugins_registering_one_name_is_a_warning_naming_both_and_the_first_keeps_it(site, textseq):
    install(site, "textseq-clash", "0.1", "clash", "textseq_clash", CLASH)
    result = textseq("tokenize", input=b"x\n", env=env_for(site))
    assert result.returncode == 0 and result.text == "x\n"
    assert "tokenizer 'word' is registered by two plugins: 'textseq.tokenizers' and 'clash'" in result.stderr
    assert textseq("tokenize", input=b"x\n", env=env_for(site, TEXTSEQ_STRICT_PLUGINS="1")).returncode == 1


def test_a_plugin_command_named_like_a_builtin_is_a_warning_and_the_builtin_keeps_it(site, textseq):
    install(site, "textseq-clash-cmd", "0.1", "clashcmd", "textseq_clash_cmd", CLASH_COMMAND)
    result = textseq("--help", env=env_for(site))
    assert result.returncode == 0 and "vocab" in result.text
    assert "command 'vocab' is registered by two plugins: 'textseq' and 'clashcmd'" in result.stderr


def test_load_plugins_selects_by_entry_point_or_distribution_name(site, textseq):
    install(site, "textseq-good", "1.2.3", "good", "textseq_good", GOOD)
    install(site, "textseq-broken", "0.1", "broken", "textseq_broken", BROKEN_IMPORT)
    for selection in ("good", "textseq-good"):
        result = textseq("plugins", "--json", env=env_for(site, TEXTSEQ_LOAD_PLUGINS=selection))
        assert result.stderr == ""
        names = [p["name"] for p in json.loads(result.text)]
        assert "good" in names and "broken" not in names
    none = textseq("plugins", "--json", env=env_for(site, TEXTSEQ_LOAD_PLUGINS=""))
    assert [p["builtin"] for p in json.loads(none.text)] == [True] * len(BUILTIN_PLUGINS)
    missing = textseq("plugins", env=env_for(site, TEXTSEQ_LOAD_PLUGINS="nope"))
    assert "plugin 'nope' named in TEXTSEQ_LOAD_PLUGINS is not installed" in missing.stderr


def test_trace_prints_each_hook_call(site, textseq):
    install(site, "textseq-good", "1.2.3", "good", "textseq_good", GOOD)
    result = textseq("tokenize", input=b"x\n", env=env_for(site, TEXTSEQ_TRACE_PLUGINS="1"))
    assert "trace: good.register_commands(cli)" in result.stderr
    assert "trace: textseq.tokenizers.register_tokenizers(register)" in result.stderr


class InProcess:
    @hookspecs.hookimpl
    def register_tokenizers(self, register):
        register("mine", object, help="test")


def test_in_process_plugin_objects():
    plugins = Plugins(Console(quiet=True), load_entry_points=False)
    plugins.add(InProcess(), "inproc")
    assert plugins.registry("tokenizer").get("mine").plugin == "inproc"
    plugins.remove("inproc")
    assert "mine" not in plugins.registry("tokenizer")


def test_registering_one_name_twice_in_one_plugin_is_an_error():
    class Twice:
        @hookspecs.hookimpl
        def register_tokenizers(self, register):
            register("x", object)
            register("x", object)

    plugins = Plugins(Console(quiet=True), strict=True, load_entry_points=False)
    plugins.add(Twice(), "twice")
    with pytest.raises(PluginError, match="registers tokenizer 'x' twice"):
        plugins.registry("tokenizer")


def _hookspec_functions():
    return [f for name, f in inspect.getmembers(hookspecs, inspect.isfunction) if hasattr(f, "textseq_spec")]


def test_every_hook_is_documented_and_typed():
    functions = _hookspec_functions()
    assert {f.__name__ for f in functions} == {
        "register_tokenizers",
        "register_smoothers",
        "register_embedders",
        "register_architectures",
        "register_classifiers",
        "register_commands",
    }
    for function in functions:
        doc = inspect.getdoc(function)
        assert doc and len(doc) > 40, f"{function.__name__} has no documentation"
        signature = inspect.signature(function)
        assert signature.return_annotation in ("None", None), function.__name__
        for parameter in signature.parameters.values():
            assert parameter.annotation is not inspect.Parameter.empty, f"{function.__name__}({parameter.name}) has no type"
    for protocol in (
        hookspecs.RegisterTokenizer,
        hookspecs.RegisterSmoother,
        hookspecs.RegisterEmbedder,
        hookspecs.RegisterArchitecture,
        hookspecs.RegisterClassifier,
    ):
        assert inspect.getdoc(protocol), protocol.__name__


def test_builtins_register_through_the_public_hooks():
    plugins = Plugins(Console(quiet=True), load_entry_points=False)
    infos = {info.name: info for info in plugins.infos()}
    assert infos["textseq.tokenizers"].builtin
    assert infos["textseq.tokenizers"].hooks == ["register_tokenizers"]
    assert plugins.registry("tokenizer").names() == ["char", "spm", "whitespace", "word"]
