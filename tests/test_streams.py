"""Reading and writing: blocks, offsets, compression, atomic writes."""

from __future__ import annotations

import io
import os

import pytest

from textseq.errors import InputError, OutputError
from textseq.streams import atomic_write, iter_blocks, iter_lines, open_input, open_output


def source_of(data: bytes):
    return open_input("-", io.BytesIO(data))


def test_blocks_end_at_line_boundaries_whatever_the_block_size():
    data = "".join(f"line {i} ünï\n" for i in range(1000)).encode()
    for size in (1, 7, 64, 4096):
        blocks = list(iter_blocks(source_of(data), block_size=size))
        assert "".join(blocks) == data.decode()
        assert all(block.endswith("\n") for block in blocks)


def test_lines_keep_carriage_returns_and_last_line_without_newline():
    assert list(iter_lines(source_of(b"a\r\nb\n\nc"))) == ["a\r", "b", "", "c"]


def test_error_offset_and_line_are_absolute_across_blocks():
    data = b"ok\n" * 100 + b"bad \xc3 here\n"
    with pytest.raises(InputError) as info:
        list(iter_blocks(source_of(data), block_size=16))
    assert info.value.line == 101
    assert "byte offset 304" in str(info.value)


def test_multibyte_character_split_across_reads_is_fine():
    data = ("é" * 5000 + "\n").encode()
    assert "".join(iter_blocks(source_of(data), block_size=3)) == data.decode()


def test_atomic_write_keeps_old_file_on_error(tmp_path):
    target = tmp_path / "model.bin"
    target.write_bytes(b"old")

    def crash_while_writing() -> None:
        with atomic_write(target) as handle:
            handle.write(b"half")
            raise RuntimeError("crash")

    with pytest.raises(RuntimeError, match="crash"):
        crash_while_writing()
    assert target.read_bytes() == b"old"
    assert os.listdir(tmp_path) == ["model.bin"]


def test_atomic_write_keeps_permissions(tmp_path):
    target = tmp_path / "x"
    target.write_text("a")
    target.chmod(0o600)
    with atomic_write(target) as handle:
        handle.write(b"b")
    assert (target.stat().st_mode & 0o777) == 0o600


def test_output_to_missing_folder_is_an_output_error(tmp_path):
    with pytest.raises(OutputError, match="folder does not exist"), open_output(tmp_path / "no" / "file.txt"):
        pass


def test_truncated_gzip_is_a_clear_error(tmp_path):
    import gzip

    path = tmp_path / "t.gz"
    path.write_bytes(gzip.compress(b"hello world\n" * 1000)[:50])
    with pytest.raises(InputError, match="cannot read"):
        list(iter_blocks(open_input(path)))
