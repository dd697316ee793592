"""The conventions every command keeps: streams, exit codes, pipes, encodings, help."""

from __future__ import annotations

import bz2
import gzip
import lzma
import os
import pty
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from helpers import command_tree, textseq_command

COMMANDS = [list(path) for path, _ in command_tree()]
"""Every command of the click tree, groups and the root included."""


def test_version(textseq):
    from textseq import __version__

    result = textseq("--version")
    assert result.returncode == 0
    assert result.text.strip() == f"textseq {__version__}"


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "textseq")
def test_every_help_has_an_example(textseq, command):
    result = textseq(*command, "--help")
    assert result.returncode == 0, result.stderr
    assert "Examples:" in result.text
    assert "textseq " in result.text.split("Examples:", 1)[1]


def test_real_pipe_tokenize_vocab_head(tmp_path, shell_env):
    text = tmp_path / "book.txt"
    text.write_text("the cat sat on the mat .\nthe dog sat .\n" * 2000, encoding="utf-8")
    done = subprocess.run(
        f"cat {text} | textseq tokenize | textseq vocab | head -3",
        shell=True,
        capture_output=True,
        env=shell_env,
        executable="/bin/bash",
        timeout=120,
    )
    assert done.returncode == 0
    assert done.stdout.decode().splitlines() == ["the\t6000", "sat\t4000", ".\t4000"]  # ties in order of first appearance
    assert b"Traceback" not in done.stderr
    assert b"Exception ignored" not in done.stderr


def test_head_ends_quietly_with_sigpipe_status(tmp_path, shell_env):
    text = tmp_path / "long.txt"
    text.write_text("".join(f"one two w{i} four\n" for i in range(300_000)), encoding="utf-8")
    for command in ("tokenize", "tokenize -t char", "vocab -q", "detokenize"):
        done = subprocess.run(
            f"textseq {command} {text} | head -1; echo ${{PIPESTATUS[0]}}",
            shell=True,
            capture_output=True,
            env=shell_env,
            executable="/bin/bash",
            timeout=120,
        )
        assert done.stderr == b"", done.stderr
        assert done.stdout.decode().splitlines()[-1] in ("0", "141")


def test_empty_input_gives_empty_output(textseq):
    for command in (["tokenize"], ["tokenize", "-t", "char"], ["vocab", "-q"], ["detokenize", "-t", "char"]):
        result = textseq(*command, input=b"")
        assert result.returncode == 0, (command, result.stderr)
        assert result.stdout == b""


def test_ten_megabyte_single_line(textseq):
    line = ("word " * 2_000_000).encode()
    result = textseq("tokenize", input=line)
    assert result.returncode == 0
    assert result.stdout.count(b"\n") == 1
    assert len(result.stdout.split()) == 2_000_000


def test_invalid_utf8_strict_names_file_line_and_offset(tmp_path, textseq):
    path = tmp_path / "bad.txt"
    path.write_bytes(b"good line\nsecond \xff line\n")
    result = textseq("tokenize", str(path))
    assert result.returncode == 1
    assert result.stdout == b""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert f"{path}:2:" in lines[0]
    assert "byte offset 17" in lines[0]
    assert "set errors to 'replace'" in lines[0]


def test_invalid_utf8_replace_and_ignore(textseq):
    data = b"caf\xe9 ok\n"
    assert textseq("tokenize", "--errors", "replace", input=data).text == "caf \ufffd ok\n"
    assert textseq("tokenize", "--errors", "ignore", input=data).text == "caf ok\n"
    assert textseq("vocab", "-q", "--errors", "ignore", input=data).text == "caf\t1\nok\t1\n"


def test_invalid_utf8_on_stdin_is_named(textseq):
    result = textseq("vocab", input=b"a\nb\n\xc3\x28\n")
    assert result.returncode == 1
    assert "<stdin>:3:" in result.stderr


def test_missing_file_is_a_one_line_data_error(textseq):
    result = textseq("tokenize", "/no/such/file.txt")
    assert result.returncode == 1
    assert result.stderr.strip() == "textseq: error: /no/such/file.txt: no such file"


def test_usage_errors_exit_2(textseq):
    assert textseq("tokenize", "--no-such-option").returncode == 2
    assert textseq("vocab", "--min-count", "0").returncode == 2
    unknown = textseq("tokenize", "-t", "klingon", input=b"x")
    assert unknown.returncode == 2
    assert "unknown tokenizer 'klingon'" in unknown.stderr
    assert "word" in unknown.stderr
    wrong = textseq("tokenize", "--ids", input=b"x")
    assert wrong.returncode == 2
    assert "--ids works only with the spm tokenizer" in wrong.stderr


@pytest.mark.parametrize("suffix,opener", [(".gz", gzip.open), (".bz2", bz2.open), (".xz", lzma.open)])
def test_compressed_inputs_are_read_transparently(tmp_path, textseq, suffix, opener):
    path = tmp_path / ("text" + suffix)
    with opener(path, "wb") as handle:
        handle.write(b"Hello, world!\n")
    assert textseq("tokenize", str(path)).text == "Hello , world !\n"
    with open(path, "rb") as raw:
        assert textseq("tokenize", input=raw.read()).text == "Hello , world !\n"


def test_several_files_are_joined_like_cat(tmp_path, textseq):
    (tmp_path / "a").write_text("one\ntwo")  # no final newline
    (tmp_path / "b").write_text("three\n")
    result = textseq("tokenize", str(tmp_path / "a"), "-", str(tmp_path / "b"), input=b"stdin\n")
    assert result.text == "one\ntwo\nstdin\nthree\n"


def test_output_file_is_written_atomically(tmp_path, textseq):
    target = tmp_path / "out.tok"
    target.write_text("precious\n")
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"fine\n" * 300_000 + b"\xff\n")
    result = textseq("tokenize", str(bad), "-O", str(target))
    assert result.returncode == 1
    assert target.read_text() == "precious\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.txt", "out.tok"]
    assert textseq("tokenize", "-O", str(target), input=b"a b\n").returncode == 0
    assert target.read_text() == "a b\n"


def test_output_compressed_by_name(tmp_path, textseq):
    target = tmp_path / "out.tok.gz"
    assert textseq("tokenize", "-O", str(target), input=b"Hi!\n").returncode == 0
    assert gzip.decompress(target.read_bytes()) == b"Hi !\n"


def wait_until_blocked(process: subprocess.Popen, settled: int = 5, limit: float = 60.0) -> None:
    """Until the process has slept (blocked, not runnable) for ``settled`` polls in a row."""
    time.sleep(0.5)
    deadline, calm = time.monotonic() + limit, 0
    status = f"/proc/{process.pid}/stat"
    while calm < settled and time.monotonic() < deadline:
        try:
            with open(status) as handle:
                state = handle.read().rsplit(")", 1)[1].split()[0]
        except OSError:
            time.sleep(1.5)  # no /proc: a fixed wait
            return
        calm = calm + 1 if state == "S" else 0
        time.sleep(0.1)


def test_ctrl_c_exits_130_without_traceback(tmp_path):
    process = subprocess.Popen([*textseq_command(), "tokenize"], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    process.stdin.write(b"some text\n")
    process.stdin.flush()
    wait_until_blocked(process)  # started and waiting for more input, however loaded the machine
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=30)
    assert process.returncode == 130
    assert b"Traceback" not in err


def test_ctrl_c_while_the_command_line_loads_exits_130(monkeypatch):
    """The entry point catches an interrupt that arrives while textseq.cli is being imported."""
    import types

    from textseq import entry

    class Interrupted(types.ModuleType):
        def __getattr__(self, name):
            raise KeyboardInterrupt

    monkeypatch.setitem(sys.modules, "textseq.cli", Interrupted("textseq.cli"))
    with pytest.raises(SystemExit) as stopped:
        entry.main()
    assert stopped.value.code == 130


def test_terminal_stdin_gets_a_hint_not_a_silent_wait():
    controller, terminal = pty.openpty()
    process = subprocess.Popen([*textseq_command(), "tokenize"], stdin=terminal, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    os.close(terminal)
    try:
        time.sleep(1.5)
        os.write(controller, b"\x04")  # Ctrl-D: end of input
        out, err = process.communicate(timeout=30)
    finally:
        os.close(controller)
    assert process.returncode == 0
    assert b"reading text from the terminal" in err
    assert out == b""


def test_quiet_silences_stderr(textseq):
    result = textseq("vocab", "--quiet", input=b"a b a\n")
    assert result.stderr == ""
    assert result.text == "a\t2\nb\t1\n"


@pytest.mark.parametrize("args", [["--help"], ["tokenize"], ["tokenize", "-t", "char"], ["vocab", "-q"], ["plugins"]])
def test_commands_that_need_no_torch_never_import_it(args):
    script = (
        "import sys\n"
        "from textseq.cli import run\n"
        f"code = run({args!r})\n"
        "heavy = [m for m in ('torch', 'numpy', 'sentencepiece', 'rich.progress') if m in sys.modules]\n"
        "print('HEAVY:' + ','.join(heavy), file=sys.stderr)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], input=b"hello world\n", capture_output=True, timeout=120)
    assert done.stderr.decode().strip().splitlines()[-1] == "HEAVY:"


def test_module_entry_point(tmp_path):
    done = subprocess.run([sys.executable, "-m", "textseq", "tokenize"], input=b"a-b c\n", capture_output=True, timeout=60)
    assert done.stdout == b"a-b c\n"


def test_injectable_streams_in_process():
    """The library-level entry takes its streams from App, so commands test without processes."""
    import io

    from textseq.cli import build_cli
    from textseq.cli.common import App
    from textseq.console import Console

    out, err = io.BytesIO(), io.StringIO()
    app = App(stdin=io.BytesIO(b"b a b\n"), stdout=out, console=Console(err))
    build_cli().main(["vocab"], standalone_mode=False, obj=app)
    assert out.getvalue() == b"b\t2\na\t1\n"
    assert "types" in err.getvalue()


def test_the_textseq_fixture_runs_in_this_process_and_leaves_it_as_it_was(tmp_path, textseq):
    """What click prints itself comes back as stdout; what a command changes in the process
    (torch's threads, the environment, the plugin manager) is put back."""
    torch = pytest.importorskip("torch")
    from textseq import plugins

    version = textseq("--version")
    assert version.returncode == 0 and version.text.startswith("textseq ")
    (tmp_path / "t.txt").write_text("abc abd\n" * 20)
    before = (torch.get_num_threads(), dict(os.environ), os.getcwd(), signal.getsignal(signal.SIGINT), plugins._plugins)
    trained = textseq(
        "train",
        "-q",
        "-c",
        "hidden_size=8",
        "-c",
        "layers=1",
        "--max-steps",
        "1",
        "--batch-size",
        "2",
        "--bptt",
        "8",
        "--threads",
        "2",
        "-O",
        str(tmp_path / "m.pt"),
        str(tmp_path / "t.txt"),
        env={"TEXTSEQ_LOAD_PLUGINS": ""},
    )
    assert trained.returncode == 0, trained.stderr
    assert (torch.get_num_threads(), dict(os.environ), os.getcwd(), signal.getsignal(signal.SIGINT), plugins._plugins) == before


def test_a_directory_is_a_one_line_error(tmp_path, textseq):
    result = textseq("tokenize", str(tmp_path))
    assert result.returncode == 1
    assert "is a directory" in result.stderr


def test_bom_is_dropped(textseq):
    assert textseq("tokenize", input="\ufeffHello\n".encode()).text == "Hello\n"


def test_crlf_lines(textseq):
    assert textseq("tokenize", input=b"a b\r\nc\r\n").text == "a b\nc\n"
    assert textseq("tokenize", "-t", "char", input=b"ab\r\n").text == "a b <U+000D>\n"


def test_path_object_roundtrip_through_files(tmp_path, textseq):
    path = Path(tmp_path / "x.txt")
    path.write_text("x y\n")
    assert textseq("vocab", "-q", str(path)).text == "x\t1\ny\t1\n"
