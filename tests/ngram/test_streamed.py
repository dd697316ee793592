"""The estimate a slice at a time, from counts in memory or spilled to disk, is the estimate of
whole arrays; a build under a memory budget writes the same ARPA file without holding its model."""

from __future__ import annotations

import errno
import io
import os
import signal
import subprocess
import time

import numpy as np
import pytest

from helpers import SUBPROCESS_ENV, textseq_command, zipf_text
from textseq.errors import OutputError
from textseq.ngram import kneser_ney
from textseq.ngram.arpa import write_arpa
from textseq.ngram.build import build_model
from textseq.ngram.chunked import link_into, tally_in_chunks
from textseq.ngram.columns import DiskColumn, Store, chain_words
from textseq.ngram.corpus import corpus_from_blocks
from textseq.ngram.counts import count_ngrams
from textseq.ngram.kneser_ney import Estimate, estimate


def _random_text(seed: int, lines: int = 400) -> str:
    return zipf_text(seed, lines, words=80, longest=10)


def _same_model(mine, theirs) -> None:
    assert len(mine.orders) == len(theirs.orders)
    for n, (a, b) in enumerate(zip(mine.orders, theirs.orders), start=1):
        for field in ("context", "word", "logprob", "backoff"):
            assert np.array_equal(getattr(a, field), getattr(b, field)), (n, field)


@pytest.mark.parametrize("prune", [(), (0, 1, 1, 2)])
@pytest.mark.parametrize("seed", range(3))
def test_slices_of_a_few_rows_give_the_estimate_of_whole_arrays_bit_for_bit(monkeypatch, seed, prune):
    counts = count_ngrams(corpus_from_blocks([_random_text(seed)]), 4)
    whole = estimate(counts, prune=prune)
    monkeypatch.setattr(kneser_ney, "CHUNK_ROWS", 7)  # slices end inside contexts, contexts span slices
    _same_model(estimate(counts, prune=prune), whole)


def test_counts_spilled_to_disk_give_the_same_model_and_leave_nothing_behind(tmp_path, monkeypatch):
    text = _random_text(7)
    in_memory = estimate(count_ngrams(corpus_from_blocks([text]), 5), prune=(0, 0, 1))
    monkeypatch.setattr(kneser_ney, "CHUNK_ROWS", 13)
    tallied = tally_in_chunks([text], 5, 10_000 * 96)
    with Store(str(tmp_path), spill=True) as store:
        counts = link_into(tallied.tally, tallied.greatest, store)
        assert all(isinstance(column, DiskColumn) for column in (counts.orders[2].context, counts.orders[2].count))
        spilled = Estimate(counts, store, prune=(0, 0, 1))
        assert spilled.sizes == [len(table) for table in in_memory.orders]
        _same_model(spilled.model(), in_memory)
        assert os.listdir(tmp_path)
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("options", [{}, {"prune": "0,1,1"}, {"min_count": 2}])
def test_a_build_under_a_memory_budget_writes_the_in_memory_builds_arpa_file(tmp_path, monkeypatch, options):
    text = _random_text(3, lines=600)
    monkeypatch.setattr(kneser_ney, "CHUNK_ROWS", 11)
    expected = io.StringIO()
    write_arpa(build_model([text], 4, **options).model, expected)
    built = build_model([text], 4, memory=10_000 * 96, temp_dir=str(tmp_path), **options)
    with built:
        built.save(str(tmp_path / "model.arpa"))
        assert built.sizes == [int(line.split("=")[1]) for line in expected.getvalue().splitlines() if line.startswith("ngram ")]
        assert (tmp_path / "model.arpa").read_text() == expected.getvalue()
        again = io.StringIO()
        write_arpa(built.model, again)  # made whole from the same store
        assert again.getvalue() == expected.getvalue()
    assert sorted(os.listdir(tmp_path)) == ["model.arpa"]


def test_chain_words_are_the_models_ngrams():
    model = build_model([_random_text(1)], 4).model
    for n in range(1, 5):
        size = len(model.orders[n - 1])
        assert np.array_equal(chain_words(model.orders, n, 0, size), model.ngram_words(n))
        assert np.array_equal(chain_words(model.orders, n, size // 3, size // 2), model.ngram_words(n)[size // 3 : size // 2])


def test_a_store_that_would_not_fit_is_refused_before_anything_is_written(tmp_path):
    with pytest.raises(OutputError, match="temporary space"):
        Store(str(tmp_path), spill=True, expected_bytes=2**62)
    assert os.listdir(tmp_path) == []


def test_a_disk_column_reads_slices_and_says_when_its_file_was_cut(tmp_path):
    with Store(str(tmp_path), spill=True) as store:
        column = store.put("values", (np.arange(5), np.arange(5, 9)))
        assert isinstance(column, DiskColumn) and len(column) == 9
        assert column[2:7].tolist() == [2, 3, 4, 5, 6] and column[7:20].tolist() == [7, 8] and column[:].tolist() == list(range(9))
        with open(column.path, "r+b") as handle:
            handle.truncate(8 * 4)
        with pytest.raises(OutputError, match="cut short"):
            column[0:9]


@pytest.mark.parametrize(("memory", "link_rows"), [(10_000 * 140, 1 << 20), (10_000 * 140 // 4, 17), (60 * 96, 5)])
def test_runs_merged_a_range_of_first_words_at_a_time_are_the_tally_merged_in_memory(tmp_path, monkeypatch, memory, link_rows):
    from textseq.ngram import chunked, runs

    text = _random_text(11, lines=3000)  # about 15,000 tokens: two runs or more, and up to hundreds of ranges
    expected = tally_in_chunks([text], 4, 10_000 * 140)
    counted = chunked.link(expected.tally, expected.greatest)
    monkeypatch.setattr(chunked, "LINK_ROWS", link_rows)
    with Store(str(tmp_path), spill=True) as store:
        spilled = runs.tally_in_runs([text], 4, memory, None, store)
        assert spilled.words == expected.words and spilled.greatest == expected.greatest
        assert np.array_equal(spilled.unigrams, expected.tally.unigrams)
        for n, (context, word, count) in enumerate(spilled.orders, start=2):
            assert np.array_equal(context[:], expected.tally.context[n - 2]), n
            assert np.array_equal(word[:], expected.tally.word[n - 2]) and np.array_equal(count[:], expected.tally.count[n - 2])
        linked, last = chunked.link_columns(spilled.unigrams, spilled.orders, spilled.greatest, store, compact=True)
        assert last == counted.last_window
        for mine, theirs in zip(linked, counted.orders):
            for field in ("context", "suffix", "word", "count", "starts_with_bos"):
                assert np.array_equal(getattr(mine, field)[:], getattr(theirs, field)), (theirs.order, field)


def test_an_empty_text_is_one_line_and_leaves_no_temporary_files(tmp_path):
    from textseq.errors import InputError

    with pytest.raises(InputError, match="empty"):
        build_model([""], 3, memory=1 << 20, temp_dir=str(tmp_path))
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("prune", [None, "0,1,2"])
def test_a_build_under_a_memory_budget_writes_the_in_memory_builds_binary_file(tmp_path, monkeypatch, prune):
    from textseq.ngram.binary import write_binary
    from textseq.ngram.files import load_model

    text = _random_text(5, lines=600)
    write_binary(build_model([text], 4, prune=prune).model, tmp_path / "whole.tsbin")
    monkeypatch.setattr(kneser_ney, "CHUNK_ROWS", 9)
    with build_model([text], 4, prune=prune, memory=10_000 * 140, temp_dir=str(tmp_path)) as built:
        built.save(str(tmp_path / "streamed.tsbin"), binary=True)
    assert (tmp_path / "streamed.tsbin").read_bytes() == (tmp_path / "whole.tsbin").read_bytes()
    assert sorted(os.listdir(tmp_path)) == ["streamed.tsbin", "whole.tsbin"]
    assert load_model(str(tmp_path / "streamed.tsbin")).order == 4


def test_a_binary_model_written_to_a_fifo_is_the_file_it_writes(tmp_path):
    import threading

    from textseq.ngram.binary import write_binary

    text = _random_text(6)
    model = build_model([text], 3).model
    write_binary(model, tmp_path / "file.tsbin")
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    for make in (
        lambda: write_binary(model, fifo),
        lambda: build_model([text], 3, memory=1 << 20, temp_dir=str(tmp_path / "t")).save(str(fifo), binary=True),
    ):
        (tmp_path / "t").mkdir(exist_ok=True)
        received: list[bytes] = []

        def read(into: list[bytes] = received) -> None:
            into.append(fifo.read_bytes())

        reader = threading.Thread(target=read)
        reader.start()
        make()
        reader.join(timeout=30)
        assert received == [(tmp_path / "file.tsbin").read_bytes()]  # a pipe cannot seek: the checksum comes from a first pass


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_a_signal_during_a_bounded_build_removes_its_temporary_directory(tmp_path, signum, code):
    temp = tmp_path / "t"
    temp.mkdir()
    command = [*textseq_command(), "ngram", "build", "-o", "3", "--memory", "1M", "-T", str(temp), "-O", str(tmp_path / "m.arpa")]
    process = subprocess.Popen(command, stdin=subprocess.PIPE, stderr=subprocess.PIPE, env=SUBPROCESS_ENV)
    process.stdin.write(b"the cat sat\n")  # type: ignore[union-attr]
    process.stdin.flush()  # type: ignore[union-attr]
    deadline = time.monotonic() + 60
    while not os.listdir(temp) and time.monotonic() < deadline:  # the store is made before the text is read
        time.sleep(0.05)
    assert os.listdir(temp), "the build made no temporary directory"
    process.send_signal(signum)
    _, err = process.communicate(timeout=30)
    assert process.returncode == code and b"Traceback" not in err
    assert os.listdir(temp) == [] and not (tmp_path / "m.arpa").exists()


class _FullDisk(io.BytesIO):
    def write(self, data) -> int:  # type: ignore[override]
        raise OSError(errno.ENOSPC, "No space left on device")


def test_a_full_disk_while_spilling_is_one_line_that_names_the_way_out(tmp_path):
    with Store(str(tmp_path), spill=True) as store:
        writer = store.writer("values", np.dtype(np.int64))
        writer._out = _FullDisk()  # the disk fills as the build writes its temporary data
        with pytest.raises(OutputError, match="give -T a directory with more room"):
            writer.append(np.arange(10))
    assert os.listdir(tmp_path) == []


def test_a_temporary_directory_that_cannot_be_made_is_one_line(tmp_path, monkeypatch):
    from textseq.ngram import columns

    def refuse(*args, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(columns.tempfile, "mkdtemp", refuse)
    with pytest.raises(OutputError, match="cannot make a temporary directory for the build: Permission denied"):
        build_model([_random_text(2)], 3, memory=1 << 20, temp_dir=str(tmp_path))


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="no /dev/full")
@pytest.mark.parametrize("binary", [False, True])
def test_a_bounded_build_written_to_a_full_disk_is_one_line_and_leaves_no_temporary_files(tmp_path, binary):
    with build_model([_random_text(4)], 3, memory=1 << 20, temp_dir=str(tmp_path)) as built, pytest.raises(OutputError, match="/dev/full"):
        built.save("/dev/full", binary=binary)
    assert os.listdir(tmp_path) == []
