"""Every command of the tree, fed what a hostile but ordinary user feeds it: an empty file, a full
disk as stdout, a read-only folder or a FIFO as -O, a non-blocking pipe under PYTHONUNBUFFERED=1.
Each must end with its documented exit code and at most one error line, never a traceback.

The commands come from walking the click tree, so a new command fails
:func:`test_every_command_has_a_recipe` until it is given one here.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import click
import pytest

from helpers import ROOT, SUBPROCESS_ENV, cli, leaf_commands, read_through_nonblocking_pipe, textseq_command
from textseq.streams import FullWriter


@dataclass(frozen=True)
class Recipe:
    """How to run a command on the fixtures: ``{text}``, ``{labelled}`` (the text as fastText's
    labelled lines), ``{model}``, ``{vectors}``, ``{pairs}``, ``{classifier}`` name them; ``output`` is the option that names its output file
    (None: it writes to stdout only), ``suffix`` that file's ending; ``stdout``: whether it writes
    data to stdout when no output file is given."""

    args: tuple[str, ...]
    output: str | None = "-O"
    suffix: str = ".txt"
    stdout: bool = True


TINY_TRAIN = (
    "--arch",
    "lstm",
    "-c",
    "hidden_size=8",
    "-c",
    "layers=1",
    "--level",
    "char",
    "--max-steps",
    "2",
    "--batch-size",
    "2",
    "--bptt",
    "8",
)

TINY_CLASSIFY = ("--arch", "linear", "-c", "dim=8", "--epochs", "1", "-t", "whitespace")

RECIPES: dict[str, Recipe] = {
    "tokenize": Recipe(("tokenize", "{text}")),
    "tokenize train-spm": Recipe(
        ("tokenize", "train-spm", "--vocab-size", "60", "--no-byte-fallback", "{text}"), suffix=".model", stdout=False
    ),
    "detokenize": Recipe(("detokenize", "{text}")),
    "vocab": Recipe(("vocab", "{text}")),
    "ngram count": Recipe(("ngram", "count", "-o", "2", "{text}")),
    "ngram build": Recipe(("ngram", "build", "-o", "2", "{text}"), suffix=".arpa", stdout=False),
    "ngram next": Recipe(("ngram", "next", "{model}", "the"), output=None),
    "ngram convert": Recipe(("ngram", "convert", "{model}"), suffix=".tsbin", stdout=False),
    "eval": Recipe(("eval", "{model}", "{text}"), output=None),
    "sample": Recipe(("sample", "{model}", "-n", "20", "--num-samples", "100", "--seed", "1"), output=None),
    "embed train": Recipe(("embed", "train", "--dim", "8", "--epochs", "1", "--min-count", "1", "{text}"), suffix=".vec", stdout=False),
    "embed neighbors": Recipe(("embed", "neighbors", "{vectors}", "the", "-k", "2"), output=None),
    "embed analogy": Recipe(("embed", "analogy", "{vectors}", "the", "a", "of"), output=None),
    "embed similarity": Recipe(("embed", "similarity", "{vectors}", "the", "a"), output=None),
    "embed eval": Recipe(("embed", "eval", "{vectors}", "--pairs", "{pairs}"), output=None),
    "embed plot": Recipe(("embed", "plot", "{vectors}", "the", "a", "of"), suffix=".png", stdout=False),
    "embed convert": Recipe(("embed", "convert", "{vectors}"), suffix=".vec", stdout=False),
    "train": Recipe(("train", *TINY_TRAIN, "{text}"), suffix=".pt", stdout=False),
    "plot": Recipe(("plot", "{log}"), suffix=".png", stdout=False),
    "classify train": Recipe(("classify", "train", *TINY_CLASSIFY, "{labelled}"), suffix=".tsc", stdout=False),
    "classify predict": Recipe(("classify", "predict", "{classifier}", "{text}", "--probs"), output=None),
    "classify test": Recipe(("classify", "test", "{classifier}", "{labelled}"), output=None),
    "plugins": Recipe(("plugins",), output=None),
    "plugins new": Recipe(("plugins", "new", "textseq-every", "--kind", "tokenizer"), output="-C", suffix="", stdout=False),
}
"""Each leaf command, by its path."""

TEXT_INPUT = {name for name, recipe in RECIPES.items() if "{text}" in recipe.args or "{labelled}" in recipe.args}
MODEL_INPUT = {
    name: slot for name, recipe in RECIPES.items() for slot in ("{model}", "{vectors}", "{classifier}", "{log}") if slot in recipe.args
}


def test_every_command_has_a_recipe() -> None:
    assert {path for path, _ in leaf_commands()} == set(RECIPES)


@pytest.fixture(scope="module")
def fixtures(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The files the recipes use, made once by textseq itself."""
    folder = tmp_path_factory.mktemp("every")
    made = subprocess.run(
        [sys.executable, str(ROOT / "corpora" / "generate.py"), "--seed", "5", "--tokens", "3000"], capture_output=True, check=True
    ).stdout
    text = folder / "text.txt"
    text.write_bytes(made.lower())
    labelled = folder / "labelled.txt"
    labelled.write_text("".join(f"__label__{_length_label(line)} {line}\n" for line in text.read_text().splitlines() if line.strip()))
    files = {
        "text": str(text),
        "labelled": str(labelled),
        "model": str(folder / "model.arpa"),
        "vectors": str(folder / "vectors.vec"),
        "pairs": str(folder / "pairs.tsv"),
        "classifier": str(folder / "classifier.tsc"),
        "log": str(folder / "train.jsonl"),
    }
    for args in (
        ["ngram", "build", "-o", "2", "-O", files["model"], files["text"]],
        ["embed", "train", "--dim", "8", "--epochs", "1", "--min-count", "1", "-O", files["vectors"], files["text"]],
        ["classify", "train", *TINY_CLASSIFY, "-O", files["classifier"], files["labelled"]],
        ["train", *TINY_TRAIN, "--log", files["log"], "-O", str(folder / "tiny.pt"), files["text"]],
    ):
        assert _in_process(args)[0] == 0
    (folder / "pairs.tsv").write_text("the\ta\t5.0\nof\tthe\t3.5\na\tof\t1.0\n")
    return files


def _length_label(line: str) -> str:
    """Three labels of about equal shares on the generated text: short, medium and long lines."""
    words = len(line.split())
    return ("short", "medium", "long")[(words >= 7) + (words >= 10)]


def _in_process(args: list[str], stdout: BinaryIO | None = None) -> tuple[int, bytes, str]:
    return cli(*args, stdout=stdout)


def _args(recipe: Recipe, files: dict[str, str], output: str | None = None) -> list[str]:
    args = [arg.format(**files) for arg in recipe.args]
    return args + ([recipe.output, output] if output is not None and recipe.output else [])


def _assert_one_error_line(err: str) -> None:
    assert "Traceback" not in err, err
    assert len(err.splitlines()) >= 1 and sum(line.startswith("textseq: error:") for line in err.splitlines()) == 1, err


def _normal_output(recipe: Recipe, files: dict[str, str], folder: Path) -> str | None:
    return str(folder / f"out{recipe.suffix}") if not recipe.stdout else None


@pytest.mark.parametrize("name", sorted(TEXT_INPUT))
def test_an_empty_text_file(name: str, fixtures: dict[str, str], tmp_path: Path) -> None:
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    recipe = RECIPES[name]
    emptied = {**fixtures, "text": str(empty), "labelled": str(empty)}
    code, _out, err = _in_process(_args(recipe, emptied, _normal_output(recipe, fixtures, tmp_path)))
    assert code in (0, 1), err
    if code == 0:
        assert "Traceback" not in err
    else:
        _assert_one_error_line(err)
        assert not any(path.name.endswith(".tmp") for path in tmp_path.iterdir())


@pytest.mark.parametrize("name", sorted(MODEL_INPUT))
def test_an_empty_model_file(name: str, fixtures: dict[str, str], tmp_path: Path) -> None:
    empty = tmp_path / "empty.model"
    empty.write_bytes(b"")
    recipe = RECIPES[name]
    slot = MODEL_INPUT[name].strip("{}")
    code, _, err = _in_process(_args(recipe, {**fixtures, slot: str(empty)}, _normal_output(recipe, fixtures, tmp_path)))
    assert code == 1, err
    _assert_one_error_line(err)
    assert str(empty) in err


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="no /dev/full")
@pytest.mark.parametrize("name", sorted(name for name, recipe in RECIPES.items() if recipe.stdout or recipe.output is None))
def test_a_full_disk_as_stdout(name: str, fixtures: dict[str, str]) -> None:
    with open("/dev/full", "wb") as full:
        code, _, err = _in_process(_args(RECIPES[name], fixtures), stdout=FullWriter(full))
        full.raw.close()  # what stayed in the buffer was reported already
    assert code == 1, err
    _assert_one_error_line(err)
    assert "No space left on device" in err


def test_a_full_disk_for_plugins() -> None:
    """A process whose output is small enough to be written only by its last flush."""
    with open("/dev/full", "wb") as full:
        done = subprocess.run([*textseq_command(), "plugins"], stdout=full, stderr=subprocess.PIPE, env=SUBPROCESS_ENV, timeout=60)
    assert done.returncode == 1
    assert done.stderr.decode().splitlines() == ["textseq: error: <stdout>: cannot write: No space left on device"]


@pytest.fixture
def read_only_folder(tmp_path: Path) -> Iterator[Path]:
    """A folder this process cannot write in (root writes anywhere in a tmpfs, but not in /sys)."""
    if os.geteuid() == 0:
        try:
            fd, made = tempfile.mkstemp(dir="/sys")
        except OSError:
            yield Path("/sys")
            return
        os.close(fd)
        os.unlink(made)
        pytest.skip("no read-only folder for root here")
    folder = tmp_path / "read-only"
    folder.mkdir()
    folder.chmod(0o555)
    yield folder
    folder.chmod(0o755)


@pytest.mark.parametrize("name", sorted(name for name, recipe in RECIPES.items() if recipe.output))
def test_a_read_only_output_folder(name: str, fixtures: dict[str, str], read_only_folder: Path) -> None:
    recipe = RECIPES[name]
    target = read_only_folder / ("textseq-out" if recipe.output == "-C" else f"textseq-out{recipe.suffix}")
    code, _, err = _in_process(_args(recipe, fixtures, str(read_only_folder if recipe.output == "-C" else target)))
    assert code == 1, err
    _assert_one_error_line(err)
    assert str(read_only_folder) in err
    assert not target.exists()


@pytest.mark.parametrize("name", sorted(name for name, recipe in RECIPES.items() if recipe.output == "-O"))
def test_a_fifo_as_output_is_written_into(name: str, fixtures: dict[str, str], tmp_path: Path) -> None:
    fifo = tmp_path / f"out{RECIPES[name].suffix}"
    os.mkfifo(fifo)
    received: list[bytes] = []

    def drain() -> None:
        with open(fifo, "rb") as pipe:
            received.append(pipe.read())

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    code, _, err = _in_process(_args(RECIPES[name], fixtures, str(fifo)))
    if code != 0:  # the command failed before it opened the FIFO: let the reader go
        with open(fifo, "wb"):
            pass
    reader.join(10)
    assert code == 0, err
    assert received and received[0], "nothing reached the FIFO"
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)


@pytest.mark.parametrize("name", sorted(name for name, recipe in RECIPES.items() if recipe.stdout))
def test_a_nonblocking_pipe_unbuffered_gets_everything(name: str, fixtures: dict[str, str]) -> None:
    args = _args(RECIPES[name], fixtures)
    expected_code, expected, expected_err = _in_process(args)
    assert expected_code == 0, expected_err
    code, out, err = read_through_nonblocking_pipe([*textseq_command(), *args], SUBPROCESS_ENV)
    assert code == 0, err
    assert out == expected


def _float_options() -> Iterator[tuple[str, click.Parameter]]:
    for path, command in leaf_commands():
        for param in command.params:
            if isinstance(param.type, click.types.FloatParamType):
                yield f"{path} {param.opts[0]}", param


def test_there_are_float_options_to_check() -> None:
    assert len(list(_float_options())) >= 8


@pytest.mark.parametrize("value", ["nan", "NaN", "inf", "-inf", "Infinity"])
def test_every_float_option_refuses_what_is_not_a_finite_number(value: str) -> None:
    accepted = []
    for name, param in _float_options():
        try:
            param.type.convert(value, param, None)
        except click.BadParameter:
            continue
        accepted.append(name)
    assert accepted == []


@pytest.mark.parametrize("value", ["nan", "-Infinity", "inf"])
def test_key_value_options_refuse_what_is_not_a_finite_number(value: str, tmp_path: Path) -> None:
    (tmp_path / "t.txt").write_text("a b\n")
    for args in (
        ["train", "-c", f"dropout={value}", "-O", str(tmp_path / "m.pt")],
        ["ngram", "build", "-p", f"k={value}", "-s", "add-k", "-O", str(tmp_path / "m.arpa")],
        ["classify", "train", "--arch", "lstm", "-c", f"dropout={value}", "-O", str(tmp_path / "m.tsc")],
    ):
        code, _, err = _in_process([*args, str(tmp_path / "t.txt")])
        assert code == 2, err
        assert "finite number" in err
