"""Compressed and plain text streams, mutated: reading them gives lines or textseq's error."""

from __future__ import annotations

import bz2
import gzip
import lzma

import pytest
from hypothesis import given

from fuzzing import check_reader, fuzz_settings, mutations
from textseq.streams import iter_lines, open_input

TEXT = "".join(f"line {i}: the quick brown fox, café, 日本語\n" for i in range(300)).encode()
COMPRESSED = {".gz": gzip.compress(TEXT, mtime=0), ".bz2": bz2.compress(TEXT), ".xz": lzma.compress(TEXT), ".txt": TEXT}


def _read_all(path: str) -> int:
    source = open_input(path)
    try:
        return sum(1 for _ in iter_lines(source))
    finally:
        source.close()


@pytest.mark.parametrize("suffix", sorted(COMPRESSED))
def test_the_valid_streams_read(suffix: str, tmp_path_factory: pytest.TempPathFactory) -> None:
    assert check_reader(_read_all, COMPRESSED[suffix], tmp_path_factory.mktemp("s"), suffix) == 300


@pytest.mark.parametrize("suffix", sorted(COMPRESSED))
def test_mutated_streams_read_or_fail_cleanly(suffix: str, tmp_path_factory: pytest.TempPathFactory) -> None:
    @fuzz_settings
    @given(data=mutations(COMPRESSED[suffix]))
    def fuzz(data: bytes) -> None:
        check_reader(_read_all, data, tmp_path_factory.mktemp("s"), suffix)

    fuzz()
