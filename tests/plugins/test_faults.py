"""No plugin takes textseq down: one that exits or raises anything while loading or registering,
two that claim one name, an entry point named like another plugin, or a part that fails in use
each cost one line on stderr, and every other command keeps working."""

from __future__ import annotations

import importlib
import io
import os
import sys
import tempfile
import textwrap
from pathlib import Path

import pytest
from hypothesis import given

from fuzzing import check_reader, fuzz_settings, mutations
from helpers import CLASH, CLASH_COMMAND, GOOD, install
from textseq import hookimpl
from textseq.cli import run
from textseq.console import Console
from textseq.errors import PluginError
from textseq.plugin_template import plugin_names
from textseq.plugins import Plugins, blame, plugin_failure, set_plugins

# --- fake plugins ---------------------------------------------------------------------------

IMPORT_EXITS = "raise SystemExit(3)\n"
IMPORT_GENERATOR_EXIT = "raise GeneratorExit('closed at import')\n"
IMPORT_CUSTOM_BASE = "class Boom(BaseException):\n    pass\n\nraise Boom('custom at import')\n"

HOOK_EXITS = """
import sys
from textseq import hookimpl

@hookimpl
def register_tokenizers(register):
    sys.exit(4)
"""

HOOK_CUSTOM_BASE = """
from textseq import hookimpl

class Boom(BaseException):
    pass

@hookimpl
def register_commands(cli):
    raise Boom("custom in a hook")
"""

HOOK_GENERATOR_EXIT = """
from textseq import hookimpl

@hookimpl
def register_smoothers(register):
    raise GeneratorExit("closed in a hook")
"""

HALF_VALID = """
from textseq import hookimpl

@hookimpl
def register_commands(cli):
    @cli.command("halfcmd")
    def halfcmd():
        pass

@hookimpl
def register_tokenizers(regster):
    pass
"""
"""A plugin whose second hook fails pluggy's validation after its first was added."""

CLASH_AND_OWN = """
from textseq import hookimpl
from textseq.tokenize.base import Tokenizer

class Mine(Tokenizer):
    def tokenize(self, line):
        return line.split()

@hookimpl
def register_tokenizers(register):
    register("word", object)
    register("mine", Mine)
"""

SHARED = """
from textseq import hookimpl
from textseq.tokenize.base import Tokenizer

class Tag(Tokenizer):
    def tokenize(self, line):
        return [w + "/{tag}" for w in line.split()]

@hookimpl
def register_tokenizers(register):
    register("shared", Tag)

@hookimpl
def register_commands(cli):
    import click

    @cli.command("shared")
    def shared():
        click.echo("{tag}")
"""

BAD_TOKENIZER = """
from textseq import hookimpl
from textseq.tokenize.base import Tokenizer

class Bad(Tokenizer):
    def tokenize(self, line):
        raise ValueError("no tokens today\\nand a second line")

@hookimpl
def register_tokenizers(register):
    register("bad", Bad)
"""

BAD_SMOOTHER = """
from textseq import hookimpl

class Bad:
    def estimate(self, counts, *, prune=(), warn=None):
        return {}["discounts"]

@hookimpl
def register_smoothers(register):
    register("bad", Bad)
"""

BAD_EMBEDDER = """
from textseq import hookimpl

class Bad:
    def train(self, corpus, **options):
        raise RuntimeError("diverged")

@hookimpl
def register_embedders(register):
    register("bad", Bad)
"""

BAD_ARCHITECTURE = """
from textseq import hookimpl

def build(config, vocab_size):
    raise ZeroDivisionError("no layers")

@hookimpl
def register_architectures(register):
    register("bad", build, default_config={})
"""

BAD_COMMAND = """
from textseq import hookimpl

@hookimpl
def register_commands(cli):
    @cli.command("crash")
    def crash():
        {}["missing"]
"""

PACKAGE_PLUGIN = """
from textseq import hookimpl
from textseq_deep.core import Deep

@hookimpl
def register_tokenizers(register):
    register("deep", Deep)
"""

PACKAGE_CORE = """
from textseq.tokenize.base import Tokenizer

class Deep(Tokenizer):
    def tokenize(self, line):
        return helper(line)

def helper(line):
    raise LookupError("deep inside the package")
"""


# --- installing them, running textseq in-process ----------------------------------------------


@pytest.fixture
def sites(tmp_path, monkeypatch):
    """``sites(n)``: n folders on sys.path (the first first), where ``install`` puts distributions;
    what they imported is forgotten afterwards, and textseq loads its plugins afresh."""
    made: list[Path] = []

    def make(count: int = 1) -> list[Path]:
        folders = []
        for _ in range(count):
            folder = tmp_path / f"site{len(made)}"
            folder.mkdir()
            made.append(folder)
            folders.append(folder)
        for folder in reversed(folders):
            monkeypatch.syspath_prepend(str(folder))
        return folders

    monkeypatch.setenv("TEXTSEQ_STRICT_PLUGINS", "")
    monkeypatch.delenv("TEXTSEQ_LOAD_PLUGINS", raising=False)
    monkeypatch.delenv("TEXTSEQ_TRACE_PLUGINS", raising=False)
    set_plugins(None)
    yield make
    set_plugins(None)
    for name, module in list(sys.modules.items()):
        if any(str(getattr(module, "__file__", None) or "").startswith(str(folder)) for folder in made):
            del sys.modules[name]


@pytest.fixture
def site(sites) -> Path:
    return sites(1)[0]


def install_package(site: Path, dist: str, entry_name: str, files: dict[str, str], entry: str) -> None:
    """A distribution of a package (several modules), its entry point naming ``entry``."""
    for relative, source in files.items():
        path = site / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(source), encoding="utf-8")
    info = site / f"{dist.replace('-', '_')}-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 0.1\n", encoding="utf-8")
    (info / "entry_points.txt").write_text(f"[textseq]\n{entry_name} = {entry}\n", encoding="utf-8")


def cli(monkeypatch, *args: str, stdin: bytes = b"") -> tuple[int, str, list[str]]:
    """``textseq ARGS`` through :func:`textseq.cli.run` in this process, its plugins loaded afresh
    as by a new process: (exit code, stdout, stderr's lines)."""
    set_plugins(None)
    out = io.BytesIO()
    err = io.StringIO()
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(stdin), encoding="utf-8"))
    monkeypatch.setattr(sys, "stdout", io.TextIOWrapper(out, encoding="utf-8", write_through=True))
    code = run(list(args), Console(err))
    sys.stdout.flush()
    return code, out.getvalue().decode("utf-8"), err.getvalue().splitlines()


def strict(monkeypatch) -> None:
    monkeypatch.setenv("TEXTSEQ_STRICT_PLUGINS", "1")
    set_plugins(None)


# --- 1. plugins new: never a distribution that replaces textseq's own -------------------------


@pytest.mark.parametrize("name", ["textseq", "textseq-", "textseq-moses", "textseq-transformer", "lolcat"])
def test_new_refuses_a_name_that_is_not_textseq_something_or_is_the_projects_own(name, tmp_path, monkeypatch, capsys, site):
    code, out, err = cli(monkeypatch, "plugins", "new", name, "--kind", "tokenizer", "-C", str(tmp_path / "out"))
    assert code == 2
    assert out == ""
    assert f"Invalid value for NAME: plugin name {name!r}" in "\n".join(err) + capsys.readouterr().err
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_new_still_writes_a_textseq_something(tmp_path, monkeypatch, site):
    code, _out, _ = cli(monkeypatch, "plugins", "new", "textseq-fine", "--kind", "smoother", "-C", str(tmp_path))
    assert code == 0
    assert (tmp_path / "textseq-fine" / "pyproject.toml").is_file()
    assert plugin_names("textseq-fine")["part"] == "fine"


# --- 2. a plugin that exits, or raises any BaseException, is skipped ---------------------------

LOAD_FAULTS = {
    "import-exits": (IMPORT_EXITS, "plugin 'fault' failed to load: SystemExit: 3"),
    "import-generator-exit": (IMPORT_GENERATOR_EXIT, "plugin 'fault' failed to load: GeneratorExit: closed at import"),
    "import-custom-base": (IMPORT_CUSTOM_BASE, "plugin 'fault' failed to load: Boom: custom at import"),
    "hook-exits": (HOOK_EXITS, "plugin 'fault' failed in register_tokenizers: SystemExit: 4"),
    "hook-custom-base": (HOOK_CUSTOM_BASE, "plugin 'fault' failed in register_commands: Boom: custom in a hook"),
    "hook-generator-exit": (HOOK_GENERATOR_EXIT, "plugin 'fault' failed in register_smoothers: GeneratorExit: closed in a hook"),
    "half-valid": (HALF_VALID, "plugin 'fault' cannot be registered: PluginValidationError"),
}

COMMAND_USING = {"hook-exits": ["tokenize", "-t", "char"], "hook-generator-exit": ["ngram", "build", "-o", "1", "-O", "-"]}
"""A command that runs the failing hook (by default ``tokenize``, which runs register_commands)."""


@pytest.mark.parametrize("fault", LOAD_FAULTS)
def test_a_plugin_that_exits_or_raises_anything_is_one_warning_and_skipped(fault, site, monkeypatch):
    source, warning = LOAD_FAULTS[fault]
    install(site, "textseq-fault", "0.1", "fault", "textseq_fault", source)
    args = COMMAND_USING.get(fault, ["tokenize"])
    code, out, err = cli(monkeypatch, *args, stdin=b"ab\n")
    assert code == 0, err
    assert out
    assert len(err) == 1 and err[0].startswith("textseq: warning: " + warning), err
    assert err[0].endswith("; skipped")


@pytest.mark.parametrize("fault", LOAD_FAULTS)
def test_in_strict_mode_a_plugin_that_exits_or_raises_anything_is_one_error(fault, site, monkeypatch):
    source, warning = LOAD_FAULTS[fault]
    install(site, "textseq-fault", "0.1", "fault", "textseq_fault", source)
    strict(monkeypatch)
    code, out, err = cli(monkeypatch, *COMMAND_USING.get(fault, ["tokenize"]), stdin=b"ab\n")
    assert (code, out) == (1, "")
    assert len(err) == 1 and err[0].startswith("textseq: error: " + warning), err
    assert err[0].endswith("(TEXTSEQ_STRICT_PLUGINS is set)")


def test_a_plugin_half_registered_leaves_no_hook_behind(site, monkeypatch):
    install(site, "textseq-fault", "0.1", "fault", "textseq_fault", HALF_VALID)
    code, out, err = cli(monkeypatch, "plugins")
    assert code == 0 and "fault" not in out and "halfcmd" not in out
    assert err == [
        (
            "textseq: warning: plugin 'fault' cannot be registered: PluginValidationError: Plugin 'fault' for hook "
            "'register_tokenizers'; hookimpl definition: register_tokenizers(regster); Argument(s) {'regster'} are "
            "declared in the hookimpl but can not be found in the hookspec; skipped"
        )
    ]


def test_ctrl_c_while_a_plugin_loads_still_interrupts(site, monkeypatch):
    install(site, "textseq-fault", "0.1", "fault", "textseq_fault", "raise KeyboardInterrupt\n")
    code, out, err = cli(monkeypatch, "tokenize", stdin=b"ab\n")
    assert (code, out, err) == (130, "", [])


def test_a_plugin_that_exits_at_import_does_not_end_the_process(site, textseq):
    install(site, "textseq-fault", "0.1", "fault", "textseq_fault", IMPORT_EXITS)
    result = textseq("tokenize", input=b"still here\n", env={"PYTHONPATH": str(site), "TEXTSEQ_STRICT_PLUGINS": ""})
    assert result.returncode == 0
    assert result.text == "still here\n"
    assert result.stderr == "textseq: warning: plugin 'fault' failed to load: SystemExit: 3; skipped\n"


# --- 3. two registrations of one name: the first keeps it, the later is skipped ----------------


def test_a_name_taken_by_a_builtin_is_skipped_and_the_plugins_other_parts_work(site, monkeypatch):
    install(site, "textseq-clash", "0.1", "clash", "textseq_clash", CLASH_AND_OWN)
    code, out, err = cli(monkeypatch, "tokenize", "-t", "mine", stdin=b"a-b c\n")
    assert (code, out) == (0, "a-b c\n")
    assert err == [
        (
            "textseq: warning: tokenizer 'word' is registered by two plugins: 'textseq.tokenizers' and 'clash'; "
            "uninstall one of them; the one from 'textseq.tokenizers' is used"
        )
    ]
    code, out, _ = cli(monkeypatch, "tokenize", stdin=b"a-b c\n")
    assert (code, out) == (0, "a-b c\n")


def test_two_third_party_plugins_with_one_name_the_first_loaded_keeps_it(sites, monkeypatch):
    first, second = sites(2)
    install(first, "textseq-one", "0.1", "one", "textseq_one", SHARED.replace("{tag}", "one"))
    install(second, "textseq-two", "0.1", "two", "textseq_two", SHARED.replace("{tag}", "two"))
    command_clash = "textseq: warning: command 'shared' is registered by two plugins: 'one' and 'two'; the one from 'one' is used"
    code, out, err = cli(monkeypatch, "tokenize", "-t", "shared", stdin=b"a b\n")
    assert (code, out) == (0, "a/one b/one\n")
    assert err == [
        command_clash,
        (
            "textseq: warning: tokenizer 'shared' is registered by two plugins: 'one' and 'two'; "
            "uninstall one of them; the one from 'one' is used"
        ),
    ]
    code, out, err = cli(monkeypatch, "shared")
    assert (code, out, err) == (0, "one\n", [command_clash])


@pytest.mark.parametrize("source", [CLASH, CLASH_COMMAND, SHARED.replace("{tag}", "x")], ids=["tokenizer", "command", "both"])
def test_a_clash_warns_once_even_for_the_listing_that_builds_every_registry(source, sites, monkeypatch):
    first, second = sites(2)
    install(first, "textseq-one", "0.1", "one", "textseq_one", SHARED.replace("{tag}", "one"))
    install(second, "textseq-clash", "0.1", "clash", "textseq_clash", source)
    code, out, err = cli(monkeypatch, "plugins")
    assert code == 0 and "textseq.tokenizers" in out
    assert len(err) == len(set(err)) >= 1
    assert all(line.startswith("textseq: warning: ") and "registered by two plugins" in line for line in err)


def test_a_clash_is_fatal_in_strict_mode(site, monkeypatch):
    install(site, "textseq-clash", "0.1", "clash", "textseq_clash", CLASH)
    strict(monkeypatch)
    code, out, err = cli(monkeypatch, "tokenize", stdin=b"x\n")
    assert (code, out) == (1, "")
    assert err == [
        (
            "textseq: error: tokenizer 'word' is registered by two plugins: 'textseq.tokenizers' and 'clash'; "
            "uninstall one of them (TEXTSEQ_STRICT_PLUGINS is set)"
        )
    ]


def test_one_plugin_registering_a_name_twice_keeps_the_first():
    class Twice:
        @hookimpl
        def register_tokenizers(self, register):
            register("x", lambda: "a")
            register("x", object)

    err = io.StringIO()
    plugins = Plugins(Console(err), strict=False, load_entry_points=False)
    plugins.add(Twice(), "twice")
    assert plugins.registry("tokenizer").get("x").implementation() == "a"
    plugins.add(type("Other", (), {})(), "other")  # a new plugin: the registries are built again
    plugins.registry("tokenizer")
    assert err.getvalue() == "textseq: warning: plugin 'twice' registers tokenizer 'x' twice; the first is used\n"


@pytest.mark.parametrize(
    "implementation, metadata, problem",
    [
        ("not callable", {}, "must be callable"),
        (object, {"help": 3}, "help must be a string"),
        (object, {"default_config": 5}, "default_config must be a dict"),
    ],
)
def test_a_registration_that_would_fail_later_fails_the_plugin_now(implementation, metadata, problem):
    class Odd:
        @hookimpl
        def register_architectures(self, register):
            register("odd", implementation, **metadata)

    err = io.StringIO()
    plugins = Plugins(Console(err), strict=False, load_entry_points=False)
    plugins.add(Odd(), "odd")
    assert "odd" not in plugins.registry("architecture")
    assert err.getvalue().startswith("textseq: warning: plugin 'odd' failed in register_architectures: ")
    assert problem in err.getvalue()


def test_a_hook_that_takes_fewer_arguments_than_the_spec_is_called():
    seen = []

    class Quiet:
        @hookimpl
        def register_tokenizers(self):
            seen.append("called")

    plugins = Plugins(Console(io.StringIO()), strict=True, load_entry_points=False)
    plugins.add(Quiet(), "quiet")
    plugins.registry("tokenizer")
    assert seen == ["called"]


# --- 4. an entry point named like another plugin, or a module under two names ------------------


def test_an_entry_point_named_like_an_installed_plugin_is_refused_naming_both(sites, monkeypatch):
    first, second = sites(2)
    install(first, "textseq-real", "1.0", "real", "textseq_real", SHARED.replace("{tag}", "real"))
    install(second, "textseq-fake", "6.6", "real", "textseq_fake", SHARED.replace("{tag}", "fake"))
    code, out, err = cli(monkeypatch, "tokenize", "-t", "shared", stdin=b"a\n")
    assert (code, out) == (0, "a/real\n")
    assert err == [
        (
            "textseq: warning: plugin name 'real' is claimed by distribution 'textseq-real' 1.0 and by distribution "
            "'textseq-fake' 6.6; the second is skipped"
        )
    ]


def test_an_entry_point_named_like_a_builtin_is_refused(site, monkeypatch):
    install(site, "textseq-fake", "6.6", "textseq.tokenizers", "textseq_fake", CLASH)
    code, out, err = cli(monkeypatch, "tokenize", stdin=b"a\n")
    assert (code, out) == (0, "a\n")
    assert err == [
        (
            "textseq: warning: plugin name 'textseq.tokenizers' is claimed by textseq itself and by distribution "
            "'textseq-fake' 6.6; the second is skipped"
        )
    ]


def test_one_module_under_two_names_is_one_warning_naming_both_distributions(sites, monkeypatch):
    first, second = sites(2)
    install(first, "textseq-real", "1.0", "real", "textseq_real", SHARED.replace("{tag}", "real"))
    info = second / "textseq_twin-2.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: textseq-twin\nVersion: 2.0\n", encoding="utf-8")
    (info / "entry_points.txt").write_text("[textseq]\ntwin = textseq_real\n", encoding="utf-8")
    code, out, err = cli(monkeypatch, "tokenize", "-t", "shared", stdin=b"a\n")
    assert (code, out) == (0, "a/real\n")
    assert err == [
        (
            "textseq: warning: plugin 'twin' of distribution 'textseq-twin' 2.0 is the module textseq_real, which "
            "plugin 'real' of distribution 'textseq-real' 1.0 registered already; the second is skipped"
        )
    ]


def test_a_distribution_whose_metadata_cannot_be_read_is_skipped_alone(sites, monkeypatch):
    first, second = sites(2)
    install(first, "textseq-good", "1.2.3", "good", "textseq_good", GOOD)
    install(second, "textseq-garbled", "0.1", "garbled", "textseq_garbled", GOOD)
    (second / "textseq_garbled-0.1.dist-info" / "entry_points.txt").write_bytes(b"[textseq]\ngarbled = \xff\xfe\n")
    code, out, err = cli(monkeypatch, "tokenize", "-t", "shout", stdin=b"hi\n")
    assert (code, out) == (0, "HI!\n")
    assert len(err) == 1
    assert err[0].startswith(
        f"textseq: warning: the installed distribution at {second / 'textseq_garbled-0.1.dist-info'} "
        "has metadata that cannot be read: UnicodeDecodeError"
    )


# --- 5. a part that fails in use: one line naming the plugin -----------------------------------


@pytest.fixture
def corpus(tmp_path) -> str:
    path = tmp_path / "corpus.tok"
    path.write_text("the cat sat on the mat\nthe dog sat on the log\n" * 20, encoding="utf-8")
    return str(path)


def test_a_tokenizer_that_raises_is_one_error_line_naming_its_distribution(site, monkeypatch):
    install(site, "textseq-bad", "0.3", "bad", "textseq_bad", BAD_TOKENIZER)
    code, out, err = cli(monkeypatch, "tokenize", "-t", "bad", stdin=b"hi\n")
    assert (code, out) == (1, "")
    assert err == ["textseq: error: plugin 'textseq-bad 0.3' failed: ValueError: no tokens today"]


@pytest.mark.parametrize(
    ("raised", "shown"), [("SystemExit(3)", "SystemExit: 3"), ("OSError(5, 'Input/output error')", "OSError: [Errno 5] Input/output error")]
)
def test_a_tokenizer_that_exits_or_fails_on_a_device_in_use_is_one_line_naming_it(site, monkeypatch, raised, shown):
    install(
        site, "textseq-bad", "0.3", "bad", "textseq_bad", BAD_TOKENIZER.replace('ValueError("no tokens today\\nand a second line")', raised)
    )
    code, out, err = cli(monkeypatch, "tokenize", "-t", "bad", stdin=b"hi\n")
    assert (code, out) == (1, "")
    assert err == [f"textseq: error: plugin 'textseq-bad 0.3' failed: {shown}"]


def test_a_smoother_that_raises_is_one_error_line(site, monkeypatch, corpus, tmp_path):
    install(site, "textseq-bad", "0.3", "bad", "textseq_bad", BAD_SMOOTHER)
    output = tmp_path / "m.arpa"
    code, out, err = cli(monkeypatch, "ngram", "build", "--smoothing", "bad", "-o", "2", "-q", "-O", str(output), corpus)
    assert (code, out) == (1, "")
    assert err == ["textseq: error: plugin 'textseq-bad 0.3' failed: KeyError: 'discounts'"]
    assert not output.exists()


def test_an_embedder_that_raises_is_one_error_line(site, monkeypatch, corpus, tmp_path):
    install(site, "textseq-bad", "0.3", "bad", "textseq_bad", BAD_EMBEDDER)
    code, out, err = cli(monkeypatch, "embed", "train", "--method", "bad", "-q", "-O", str(tmp_path / "v.vec"), corpus)
    assert (code, out) == (1, "")
    assert err == ["textseq: error: plugin 'textseq-bad 0.3' failed: RuntimeError: diverged"]
    assert not (tmp_path / "v.vec").exists()


def test_an_architecture_that_raises_is_one_error_line(site, monkeypatch, corpus, tmp_path):
    pytest.importorskip("torch")
    install(site, "textseq-bad", "0.3", "bad", "textseq_bad", BAD_ARCHITECTURE)
    code, out, err = cli(monkeypatch, "train", "--arch", "bad", "-q", "--epochs", "1", "-O", str(tmp_path / "m.pt"), corpus)
    assert (code, out) == (1, "")
    assert err == ["textseq: error: plugin 'textseq-bad 0.3' failed: ZeroDivisionError: no layers"]


def test_a_plugin_command_that_raises_is_one_error_line(site, monkeypatch):
    install(site, "textseq-bad", "0.3", "bad", "textseq_bad", BAD_COMMAND)
    assert cli(monkeypatch, "crash") == (1, "", ["textseq: error: plugin 'textseq-bad 0.3' failed: KeyError: 'missing'"])


def test_blame_finds_the_plugin_in_any_module_of_its_package(site, monkeypatch):
    install_package(
        site,
        "textseq-deep",
        "deep",
        {"textseq_deep/__init__.py": "", "textseq_deep/plugin.py": PACKAGE_PLUGIN, "textseq_deep/core.py": PACKAGE_CORE},
        "textseq_deep.plugin",
    )
    code, _out, err = cli(monkeypatch, "tokenize", "-t", "deep", stdin=b"hi\n")
    assert (code, err) == (1, ["textseq: error: plugin 'textseq-deep 0.1' failed: LookupError: deep inside the package"])


def test_blame_names_a_plugin_of_no_distribution_by_its_name_and_never_a_builtin(site):
    install(site, "textseq-bad", "0.3", "bad", "textseq_bad", BAD_TOKENIZER)
    importlib.invalidate_caches()
    module = importlib.import_module("textseq_bad")
    plugins = Plugins(Console(io.StringIO()), load_entry_points=False)
    plugins.add(module, "inproc")
    set_plugins(plugins)
    with pytest.raises(ValueError, match="no tokens today") as failure:
        plugins.registry("tokenizer").get("bad").implementation().tokenize("x")
    assert blame(failure.value) == "inproc"
    assert plugin_failure(failure.value) == "plugin 'inproc' failed: ValueError: no tokens today"
    with pytest.raises(TypeError) as builtin_failure:
        plugins.registry("tokenizer").get("char").implementation().tokenize(None)
    assert blame(builtin_failure.value) is None
    with pytest.raises(ZeroDivisionError) as own:
        raise ZeroDivisionError("the test's own")
    assert blame(own.value) is None


def test_an_exception_that_is_no_plugins_fault_still_propagates(site, monkeypatch):
    install(site, "textseq-good", "1.2.3", "good", "textseq_good", GOOD)

    def broken(*args, **kwargs):
        raise RuntimeError("a bug of textseq's own")

    monkeypatch.setattr("textseq.cli.tokenize.make_tokenizer", broken)
    with pytest.raises(RuntimeError, match="a bug of textseq's own"):
        cli(monkeypatch, "tokenize", "-t", "shout", stdin=b"hi\n")


def test_a_plugin_that_is_a_module_of_textseq_or_of_the_standard_library_is_never_blamed(site, monkeypatch):
    info = site / "textseq_odd-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: textseq-odd\nVersion: 0.1\n", encoding="utf-8")
    (info / "entry_points.txt").write_text("[textseq]\nown = textseq.cli.vocab\nstd = json\n", encoding="utf-8")

    def broken(*args, **kwargs):
        import json

        json.loads("{")

    monkeypatch.setattr("textseq.cli.tokenize.make_tokenizer", broken)
    with pytest.raises(ValueError, match="Expecting property name"):
        cli(monkeypatch, "tokenize", stdin=b"hi\n")


def test_strict_mode_lets_a_plugins_exception_through_for_its_author(site, monkeypatch):
    install(site, "textseq-bad", "0.3", "bad", "textseq_bad", BAD_TOKENIZER)
    strict(monkeypatch)
    with pytest.raises(ValueError, match="no tokens today"):
        cli(monkeypatch, "tokenize", "-t", "bad", stdin=b"hi\n")


def test_in_a_process_a_failing_part_is_one_line_and_strict_mode_shows_the_traceback(site, textseq_process):
    install(site, "textseq-bad", "0.3", "bad", "textseq_bad", BAD_TOKENIZER)
    env = {"PYTHONPATH": str(site), "TEXTSEQ_STRICT_PLUGINS": ""}
    result = textseq_process("tokenize", "-t", "bad", input=b"hi\n", env=env)
    assert (result.returncode, result.stdout) == (1, b"")
    assert result.stderr == "textseq: error: plugin 'textseq-bad 0.3' failed: ValueError: no tokens today\n"
    traced = textseq_process("tokenize", "-t", "bad", input=b"hi\n", env={**env, "TEXTSEQ_STRICT_PLUGINS": "1"})
    assert traced.returncode == 1
    assert "Traceback" in traced.stderr and 'textseq_bad.py", line' in traced.stderr


# --- 6. the listing, the version and the help work with each broken plugin ---------------------

BROKEN = {
    **{name: source for name, (source, _) in LOAD_FAULTS.items()},
    "clash": CLASH,
    "clash-command": CLASH_COMMAND,
    "bad-tokenizer": BAD_TOKENIZER,
    "bad-command": BAD_COMMAND,
    "shadow": "shadow",
    "twin": "twin",
}


def install_broken(site: Path, kind: str) -> None:
    if kind == "shadow":  # an entry point named like a built-in plugin
        install(site, "textseq-shadow", "0.1", "textseq.tokenizers", "textseq_shadow", CLASH)
    elif kind == "twin":  # a built-in's module under a second name
        info = site / "textseq_twin-0.1.dist-info"
        info.mkdir()
        (info / "METADATA").write_text("Metadata-Version: 2.1\nName: textseq-twin\nVersion: 0.1\n", encoding="utf-8")
        (info / "entry_points.txt").write_text("[textseq]\ntwin = textseq.builtins.tokenizers\n", encoding="utf-8")
    else:
        install(site, "textseq-broken", "0.1", "broken", "textseq_broken", BROKEN[kind])


@pytest.mark.parametrize("args", [["plugins"], ["-V"], ["--help"]], ids=["plugins", "version", "help"])
@pytest.mark.parametrize("kind", BROKEN)
def test_listing_version_and_help_work_with_each_broken_plugin(kind, args, site, monkeypatch):
    install_broken(site, kind)
    code, out, err = cli(monkeypatch, *args)
    assert code == 0, err
    assert out.strip()
    assert len(err) <= 1 and all(line.startswith("textseq: warning: ") for line in err), err


def test_every_broken_plugin_at_once_in_a_process(tmp_path, textseq_process):
    env = {"PYTHONPATH": os.pathsep.join(str(tmp_path / kind) for kind in BROKEN), "TEXTSEQ_STRICT_PLUGINS": ""}
    for index, kind in enumerate(BROKEN):
        folder = tmp_path / kind
        folder.mkdir()
        if kind in ("shadow", "twin"):
            install_broken(folder, kind)
        else:
            install(folder, f"textseq-broken{index}", "0.1", f"broken{index}", f"textseq_broken{index}", BROKEN[kind])
    for args in (["plugins"], ["-V"], ["--help"]):
        result = textseq_process(*args, env=env)
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip()
        assert "Traceback" not in result.stderr
        assert all(line.startswith("textseq: warning: ") for line in result.stderr.splitlines()), result.stderr
    words = textseq_process("tokenize", input=b"still works\n", env=env)
    assert (words.returncode, words.text) == (0, "still works\n")


# --- fuzzing: an installed distribution's metadata, mutated ------------------------------------

FUZZ_MODULE = """
from textseq import hookimpl
from textseq.tokenize.base import Tokenizer

class Fuzz(Tokenizer):
    def tokenize(self, line):
        return line.split()

@hookimpl
def register_tokenizers(register):
    register("fz", Fuzz)
"""

VALID_ENTRY_POINTS = b"[textseq]\nfz = textseq_fz\n\n[console_scripts]\nfz = textseq_fz:main\n"
VALID_METADATA = b"Metadata-Version: 2.1\nName: textseq-fz\nVersion: 0.1.2\nSummary: a fuzzed plugin\nRequires-Dist: textseq>=0.1\n"


def load_distribution(folder: Path, entry_points: bytes, metadata_text: bytes) -> None:
    """Install textseq-fz with these metadata files in a new folder on sys.path, load every plugin
    and use them: never more than warnings, one line each; in strict mode, at most one
    PluginError (which check_reader requires to be one line)."""
    site = Path(tempfile.mkdtemp(dir=folder))
    (site / "textseq_fz.py").write_text(FUZZ_MODULE, encoding="utf-8")
    info = site / "textseq_fz-0.1.2.dist-info"
    info.mkdir()
    (info / "METADATA").write_bytes(metadata_text)
    (info / "entry_points.txt").write_bytes(entry_points)
    sys.path.insert(0, str(site))
    importlib.invalidate_caches()
    try:
        err = io.StringIO()
        plugins = Plugins(Console(err), strict=False)
        listed = plugins.infos()
        assert [info.name for info in listed if info.builtin] == [
            "textseq.architectures",
            "textseq.classifiers",
            "textseq.embedders",
            "textseq.smoothers",
            "textseq.tokenizers",
        ]
        tokenizers = plugins.registry("tokenizer")
        if "fz" in tokenizers:
            assert tokenizers.get("fz").implementation().tokenize("a b") == ["a", "b"]
        assert tokenizers.get("word").implementation().tokenize("a b") == ["a", "b"]
        for line in err.getvalue().splitlines():
            assert line.startswith("textseq: warning: "), line
        Plugins(Console(io.StringIO()), strict=True).infos()
    finally:
        sys.path.remove(str(site))
        sys.modules.pop("textseq_fz", None)


@pytest.fixture
def no_plugin_env(monkeypatch):
    monkeypatch.delenv("TEXTSEQ_LOAD_PLUGINS", raising=False)
    monkeypatch.delenv("TEXTSEQ_TRACE_PLUGINS", raising=False)


@fuzz_settings
@given(data=mutations(VALID_ENTRY_POINTS))
def test_fuzzed_entry_points_never_take_textseq_down(data, tmp_path_factory, no_plugin_env):
    folder = tmp_path_factory.mktemp("x")
    check_reader(lambda path: load_distribution(folder, Path(path).read_bytes(), VALID_METADATA), data, folder, ".txt")


@fuzz_settings
@given(data=mutations(VALID_METADATA))
def test_fuzzed_distribution_metadata_never_takes_textseq_down(data, tmp_path_factory, no_plugin_env):
    folder = tmp_path_factory.mktemp("x")
    check_reader(lambda path: load_distribution(folder, VALID_ENTRY_POINTS, Path(path).read_bytes()), data, folder, "")


def test_the_fuzzed_distribution_loads_when_valid(tmp_path, no_plugin_env):
    load_distribution(tmp_path, VALID_ENTRY_POINTS, VALID_METADATA)
    with pytest.raises(PluginError, match="plugin 'fz' failed to load"):
        load_distribution(tmp_path, b"[textseq]\nfz = textseq_fz_nowhere\n", VALID_METADATA)
