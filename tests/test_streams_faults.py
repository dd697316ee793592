"""Outputs that are not regular files, writes that fail or come up short, inputs that fail or never
end a line, and the signals that end a command."""

from __future__ import annotations

import errno
import gzip
import io
import os
import signal
import stat
import subprocess
import sys
import threading
import zlib
from pathlib import Path

import pytest

from helpers import SUBPROCESS_ENV, Result, read_through_nonblocking_pipe, run_in_process, textseq_command
from textseq import streams
from textseq.errors import InputError, OutputError
from textseq.streams import FullWriter, as_regular_file, atomic_write, iter_lines, open_input, open_output


def _drain(path: Path, into: list[bytes]) -> threading.Thread:
    def read() -> None:
        with open(path, "rb") as fifo:
            into.append(fifo.read())

    thread = threading.Thread(target=read)
    thread.start()
    return thread


def test_output_to_a_fifo_writes_into_it_and_keeps_it(tmp_path: Path) -> None:
    fifo = tmp_path / "out"
    os.mkfifo(fifo)
    got: list[bytes] = []
    reader = _drain(fifo, got)
    with open_output(fifo) as out:
        out.write("to the reader\n")
    reader.join(5)
    assert got == [b"to the reader\n"]
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)
    assert os.listdir(tmp_path) == ["out"]


@pytest.mark.skipif(os.geteuid() != 0, reason="mknod needs root")
def test_output_to_a_device_writes_into_it_and_keeps_it(tmp_path: Path) -> None:
    null = tmp_path / "null"
    os.mknod(null, stat.S_IFCHR | 0o666, os.makedev(1, 3))
    with atomic_write(null) as handle:
        handle.write(b"gone")
    assert stat.S_ISCHR(os.stat(null).st_mode)


def test_output_to_a_folder_is_refused(tmp_path: Path) -> None:
    with pytest.raises(OutputError, match="is a directory"), atomic_write(tmp_path):
        pass


def test_output_through_a_symlink_writes_its_target(tmp_path: Path) -> None:
    target = tmp_path / "real.txt"
    target.write_text("old\n")
    link = tmp_path / "link.txt"
    link.symlink_to(target)
    with open_output(link) as out:
        out.write("new\n")
    assert link.is_symlink()
    assert target.read_text() == "new\n"
    assert sorted(os.listdir(tmp_path)) == ["link.txt", "real.txt"]


def test_a_dangling_symlink_creates_its_target(tmp_path: Path) -> None:
    link = tmp_path / "link.txt"
    link.symlink_to(tmp_path / "made.txt")
    with open_output(link) as out:
        out.write("x\n")
    assert link.is_symlink() and (tmp_path / "made.txt").read_text() == "x\n"


@pytest.mark.parametrize("fault", ["mkstemp", "fsync", "replace"])
def test_a_failing_write_is_one_error_naming_the_file_and_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fault: str
) -> None:
    target = tmp_path / "model.arpa"
    target.write_text("what the user had\n")

    def fail(*args: object, **kwargs: object) -> None:
        raise OSError(errno.ENOSPC if fault != "mkstemp" else errno.EROFS, os.strerror(errno.ENOSPC if fault != "mkstemp" else errno.EROFS))

    module = {"mkstemp": streams.tempfile, "fsync": streams.os, "replace": streams.os}[fault]
    monkeypatch.setattr(module, fault, fail)
    with pytest.raises(OutputError) as caught, open_output(target) as out:
        out.write("new\n")
    assert str(caught.value).startswith(f"{target}: cannot write: ")
    assert target.read_text() == "what the user had\n"
    assert os.listdir(tmp_path) == ["model.arpa"]


def test_an_interrupted_write_leaves_no_temporary_file(tmp_path: Path) -> None:
    from textseq.errors import Terminated

    def interrupted_while_writing() -> None:
        with atomic_write(tmp_path / "out.bin") as handle:
            handle.write(b"half")
            raise Terminated

    with pytest.raises(Terminated):
        interrupted_while_writing()
    assert os.listdir(tmp_path) == []


class _Stingy(io.RawIOBase):
    """A raw stream that takes at most 3 bytes a call and says 'would block' every other call."""

    def __init__(self) -> None:
        self.data = bytearray()
        self.calls = 0

    def writable(self) -> bool:
        return True

    def write(self, data: object) -> int | None:
        self.calls += 1
        if self.calls % 2:
            return None
        chunk = bytes(memoryview(data)[:3])  # type: ignore[arg-type]
        self.data += chunk
        return len(chunk)


class _Blocking(io.RawIOBase):
    """A buffered stream's behaviour on a full non-blocking pipe: BlockingIOError with a count."""

    def __init__(self) -> None:
        self.data = bytearray()
        self.calls = 0

    def writable(self) -> bool:
        return True

    def write(self, data: object) -> int:
        self.calls += 1
        chunk = bytes(memoryview(data)[:5])  # type: ignore[arg-type]
        self.data += chunk
        if self.calls % 2:
            raise BlockingIOError(errno.EAGAIN, "would block", len(chunk))
        return len(chunk)


@pytest.mark.parametrize("make", [_Stingy, _Blocking])
def test_full_writer_writes_everything_through_short_writes(make: type) -> None:
    raw = make()
    text = bytes(range(256)) * 4
    assert FullWriter(raw).write(text) == len(text)  # type: ignore[arg-type]
    assert bytes(raw.data) == text


def test_full_writer_reports_a_failing_device() -> None:
    class Full(io.RawIOBase):
        def writable(self) -> bool:
            return True

        def write(self, data: object) -> int:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    with pytest.raises(OutputError, match=r"^<stdout>: cannot write: No space left on device$"):
        FullWriter(Full()).write(b"x")  # type: ignore[arg-type]


def _run(args: list[str]) -> Result:
    return run_in_process(args)


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="no /dev/full")
@pytest.mark.parametrize("args", [["tokenize"], ["ngram", "count", "-o", "2"], ["vocab"]])
def test_a_full_disk_on_stdout_is_one_line_and_exit_1(tmp_path: Path, args: list[str]) -> None:
    text = tmp_path / "in.txt"
    text.write_text("the cat sat on the mat\n" * 5000)
    with open("/dev/full", "wb") as full:
        done = subprocess.run([*textseq_command(), *args, str(text)], stdout=full, stderr=subprocess.PIPE, env=SUBPROCESS_ENV, timeout=60)
    lines = done.stderr.decode().splitlines()
    assert done.returncode == 1
    assert lines == ["textseq: error: <stdout>: cannot write: No space left on device"]


def _read_nonblocking_pipe(args: list[str], tmp_path: Path) -> tuple[int, bytes, bytes]:
    """Run textseq on 60,000 words with stdout a full non-blocking pipe, unbuffered."""
    text = tmp_path / "in.txt"
    text.write_bytes(b"".join(b"word%d " % i + (b"\n" if i % 10 == 0 else b"") for i in range(60000)))
    return read_through_nonblocking_pipe([*textseq_command(), *args, str(text)], SUBPROCESS_ENV, pause=0.5)


@pytest.mark.parametrize("args", [["tokenize"], ["ngram", "count", "-o", "1"]])
def test_a_full_nonblocking_pipe_gets_every_byte(tmp_path: Path, args: list[str]) -> None:
    code, out, err = _read_nonblocking_pipe(args, tmp_path)
    expected = _run([*args, str(tmp_path / "in.txt")]).stdout
    assert code == 0, err
    assert len(expected) > 1 << 17
    assert out == expected


@pytest.mark.parametrize("command", ["vocab", "tokenize", "ngram count -o 2"])
def test_head_ends_every_command_with_141_even_unbuffered(tmp_path: Path, command: str, shell_env: dict[str, str]) -> None:
    (tmp_path / "n.txt").write_text("".join(f"{i} {i + 1}\n" for i in range(200000)))
    done = subprocess.run(
        f"textseq {command} n.txt | head -1 > /dev/null; echo ${{PIPESTATUS[0]}}",
        shell=True,
        executable="/bin/bash",
        cwd=tmp_path,
        capture_output=True,
        env={**shell_env, "PYTHONUNBUFFERED": "1"},
        timeout=60,
    )
    assert done.stdout.decode().strip() == "141"
    assert done.stderr == b""


def _corrupt_deflate(tmp_path: Path) -> Path:
    """A gzip file whose compressed data (not its end) has flipped bits, as zlib reports them."""
    data = bytearray(gzip.compress("".join(f"line {i} of many words\n" for i in range(20000)).encode(), mtime=0))
    for at in range(20, len(data) - 20, 7):
        damaged = bytearray(data)
        damaged[at] ^= 0xFF
        try:
            gzip.decompress(bytes(damaged))
        except zlib.error:
            path = tmp_path / "bad.gz"
            path.write_bytes(damaged)
            return path
        except (OSError, EOFError):
            continue
    pytest.skip("no flip gave a zlib error")


def test_corrupt_compressed_data_is_an_input_error(tmp_path: Path) -> None:
    source = open_input(_corrupt_deflate(tmp_path))
    with pytest.raises(InputError, match=r"bad\.gz: cannot read: corrupt compressed data"):
        list(iter_lines(source))


def test_corrupt_compressed_data_on_the_command_line(tmp_path: Path) -> None:
    done = _run(["tokenize", str(_corrupt_deflate(tmp_path))])
    assert done.returncode == 1
    assert done.stderr.count("\n") == 1 and "corrupt compressed data" in done.stderr


def test_a_line_without_end_is_refused_past_the_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(streams, "MAX_LINE_BYTES", 3 << 20)
    source = open_input("-", io.BytesIO(b"first\nsecond\n" + b"\0" * (5 << 20)))
    with pytest.raises(InputError, match=r"^<stdin>:3: a line longer than 3 MiB"):
        list(iter_lines(source))


@pytest.mark.skipif(not os.path.exists("/proc/self/mem"), reason="no /proc")
def test_a_device_that_fails_on_the_first_read() -> None:
    with pytest.raises(InputError, match=r"^/proc/self/mem: cannot read: Input/output error$"):
        open_input("/proc/self/mem")


def test_a_model_from_a_fifo_is_read_once(tmp_path: Path) -> None:
    fifo = tmp_path / "model"
    os.mkfifo(fifo)

    def feed() -> None:
        with open(fifo, "wb") as out:
            out.write(b"\\data\\\nngram 1=1\n\n\\1-grams:\n-1\t<s>\n\n\\end\\\n")

    writer = threading.Thread(target=feed)
    writer.start()
    with as_regular_file(str(fifo)) as path:
        assert path != str(fifo)
        assert Path(path).read_bytes().startswith(b"\\data\\")
    writer.join(5)
    assert not os.path.exists(path)


def test_a_stream_that_is_no_model_is_refused_before_it_is_copied() -> None:
    with pytest.raises(InputError, match=r"^/dev/zero: not a model file"), as_regular_file("/dev/zero"):
        pass


def test_eval_and_next_of_a_model_given_as_process_substitution(tmp_path: Path, shell_env: dict[str, str]) -> None:
    (tmp_path / "text.txt").write_text("the cat sat\nthe dog sat\n")
    script = (
        "textseq ngram build -q -o 2 -O m.arpa text.txt && textseq eval <(cat m.arpa) text.txt --json"
        " && textseq ngram next <(cat m.arpa) the -k 1 && textseq eval <(head -c 60 m.arpa) text.txt"
    )
    done = subprocess.run(script, shell=True, executable="/bin/bash", cwd=tmp_path, capture_output=True, env=shell_env, timeout=60)
    assert b'"perplexity"' in done.stdout and b"\ncat\t" in done.stdout
    assert b'"model": "/dev/fd/' in done.stdout
    assert done.returncode == 1
    assert done.stderr.decode().startswith("textseq: error: /dev/fd/")
    assert ".tmp" not in done.stderr.decode()


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_a_signal_while_reading_ends_quietly(signum: int, code: int) -> None:
    process = subprocess.Popen(
        [*textseq_command(), "tokenize"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=SUBPROCESS_ENV
    )
    process.stdin.write(b"a first line\n")  # type: ignore[union-attr]
    process.stdin.flush()  # type: ignore[union-attr]
    assert process.stdout.readline() == b"a first line\n"  # type: ignore[union-attr]
    process.send_signal(signum)
    _, err = process.communicate(timeout=30)
    assert process.returncode == code
    assert err == b""


def test_sigterm_during_a_build_leaves_no_temporary_file(tmp_path: Path) -> None:
    """The build is stopped while it writes its model (the writer is made slow)."""
    script = tmp_path / "slow.py"
    script.write_text(
        "import sys, time\n"
        "import textseq.ngram.arpa as arpa\n"
        "real = arpa.write_arpa\n"
        "def slow(model, out, **kw):\n"
        "    out.write('partial'); out.flush(); print('writing', flush=True); time.sleep(30)\n"
        "arpa.write_arpa = slow\n"
        "import textseq.ngram.files as files; files.write_arpa = slow\n"
        "from textseq.cli import main\n"
        "sys.argv = ['textseq'] + sys.argv[1:]\n"
        "main()\n"
    )
    (tmp_path / "text.txt").write_text("the cat sat\n")
    process = subprocess.Popen(
        [sys.executable, str(script), "ngram", "build", "-o", "2", "-O", str(tmp_path / "m.arpa"), str(tmp_path / "text.txt")],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=SUBPROCESS_ENV,
    )
    assert process.stdout.readline() == b"writing\n"  # type: ignore[union-attr]
    assert any(name.endswith(".tmp") for name in os.listdir(tmp_path))
    process.terminate()
    _, err = process.communicate(timeout=30)
    assert process.returncode == 143, err
    assert sorted(os.listdir(tmp_path)) == ["slow.py", "text.txt"]


def test_running_out_of_memory_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    from textseq.cli import run
    from textseq.cli.common import App
    from textseq.console import Console

    def exhausted(*args: object, **kwargs: object) -> None:
        raise MemoryError

    monkeypatch.setattr("textseq.cli.vocab.read_blocks", exhausted)
    err = io.StringIO()
    code = run(["vocab"], app=App(stdin=io.BytesIO(b"a b\n"), stdout=io.BytesIO(), console=Console(err)))
    assert code == 1
    assert err.getvalue().splitlines() == ["textseq: error: out of memory: the input or the options ask for more than this machine has"]


@pytest.mark.parametrize("command", [["ngram", "build", "-o", "2"], ["embed", "train", "--dim", "4"]])
def test_a_long_job_checks_its_output_before_it_reads(command: list[str], tmp_path: Path) -> None:
    """The input would fail (invalid UTF-8): the missing folder is found first, before any work."""
    from textseq.cli import run
    from textseq.cli.common import App
    from textseq.console import Console

    err = io.StringIO()
    code = run(
        [*command, "-O", str(tmp_path / "missing" / "out")],
        app=App(stdin=io.BytesIO(b"a b\n\xff\n"), stdout=io.BytesIO(), console=Console(err)),
    )
    assert code == 1
    assert err.getvalue() == f"textseq: error: {tmp_path / 'missing'}: folder does not exist\n"


def test_run_works_where_stdout_has_no_byte_buffer(monkeypatch: pytest.MonkeyPatch) -> None:
    """A notebook or an embedding program may give sys.stdout as a plain text stream."""
    from textseq.cli import run

    text = io.StringIO()
    monkeypatch.setattr(sys, "stdout", text)
    assert run(["--version"]) == 0
    assert text.getvalue().startswith("textseq ")


def test_a_disk_that_fills_while_a_model_is_written_keeps_the_old_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The ARPA text goes out a chunk of rows at a time: a write that fails half way through
    leaves the file that was there, no temporary file, and one line."""
    import textseq.ngram.files as files
    from textseq.cli import run
    from textseq.cli.common import App
    from textseq.console import Console
    from textseq.ngram.arpa import TextSink

    def fills_up(model: object, out: TextSink, **options: object) -> None:
        out.write("\\data\\\n")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(files, "write_arpa", fills_up)
    model = tmp_path / "m.arpa"
    model.write_text("the old model\n")
    err = io.StringIO()
    code = run(
        ["ngram", "build", "-o", "2", "-O", str(model)], app=App(stdin=io.BytesIO(b"a b\n"), stdout=io.BytesIO(), console=Console(err))
    )
    assert code == 1
    errors = [line for line in err.getvalue().splitlines() if "error:" in line]  # the tiny text's discount warnings apart
    assert errors == [f"textseq: error: {model}: cannot write: No space left on device"], err.getvalue()
    assert "Traceback" not in err.getvalue()
    assert model.read_text() == "the old model\n"
    assert sorted(path.name for path in tmp_path.iterdir()) == ["m.arpa"]
