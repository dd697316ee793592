"""Counting on Dask (a LocalCluster of 2 workers): the counts, and so every model, are the
single-machine ones."""

from __future__ import annotations

import numpy as np
import pytest

from helpers import cli, one_error
from textseq.errors import InputError, ParameterError
from textseq.ngram import distributed
from textseq.ngram.build import build_model, count_text
from textseq.ngram.chunked import link
from textseq.ngram.distributed import tally_on_dask

pytest.importorskip("distributed")

TEXT = (
    "the cat sat on the mat\nthe dog sat on the log\n\na cat and a dog\nthe end\nzebra zebra zebra\n"
    "<s> the cat </s> ran\nthe mat sat on the cat\n" * 7 + "a last line without its newline"
)


@pytest.fixture(scope="module")
def cluster_address():
    from distributed import LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None) as cluster:
        yield cluster.scheduler_address


def _blocks(text: str, size: int = 40) -> list[str]:
    """``text`` in blocks of whole lines, about ``size`` characters each."""
    lines = text.splitlines(keepends=True)
    blocks, pending = [], ""
    for line in lines:
        pending += line
        if len(pending) >= size:
            blocks.append(pending)
            pending = ""
    return [*blocks, pending] if pending else blocks


def _same_counts(ours, theirs) -> None:
    assert ours.words == theirs.words
    assert (ours.sentences, ours.tokens) == (theirs.sentences, theirs.tokens)
    assert ours.counts.last_window == theirs.counts.last_window
    for n, (mine, expected) in enumerate(zip(ours.counts.orders, theirs.counts.orders), start=1):
        assert np.array_equal(ours.counts.words_of(n), theirs.counts.words_of(n))
        assert np.array_equal(mine.count, expected.count)
        assert np.array_equal(mine.suffix, expected.suffix) and np.array_equal(mine.starts_with_bos, expected.starts_with_bos)


@pytest.mark.parametrize(
    "options", [{}, {"min_count": 2}, {"vocabulary": ["the", "cat", "sat", "zebra"]}, {"vocabulary": ["dog"], "min_count": 3}]
)
def test_counts_on_dask_in_many_shards_are_the_single_machine_counts(cluster_address, options):
    shards = list(distributed._shards(_blocks(TEXT), 50))
    assert len(shards) > 10 and "".join(shards) == TEXT
    tallied, dropped = tally_on_dask(_blocks(TEXT), 4, cluster_address, shard_chars=50, **options)
    expected = count_text(_blocks(TEXT), 4, **options)
    from textseq.ngram.build import Counted

    _same_counts(Counted(link(tallied.tally, tallied.greatest), tallied.words, tallied.sentences, tallied.tokens), expected)
    assert dropped == 14


@pytest.mark.parametrize("smoothing", ["modified-kneser-ney", "stupid-backoff", "witten-bell"])
def test_a_model_built_on_dask_is_the_single_machine_model(cluster_address, smoothing):
    from textseq.ngram.arpa import write_arpa

    texts = []
    for dask in (cluster_address, None):
        built = build_model(_blocks(TEXT), 3, smoothing, dask=dask, memory=1 << 16 if dask else None)
        sink: list[str] = []
        write_arpa(built.model, type("Sink", (), {"write": staticmethod(sink.append)})())
        texts.append("".join(sink))
    assert texts[0] == texts[1]


def test_an_empty_text_counts_nothing_on_dask(cluster_address):
    tallied, _ = tally_on_dask([], 3, cluster_address)
    assert (tallied.sentences, tallied.tokens) == (0, 0) and tallied.words == ["<unk>", "<s>", "</s>"]
    assert [len(table) for table in link(tallied.tally, tallied.greatest).orders[1:]] == [0, 0]


def test_ngram_build_dask_local_2_writes_the_arpa_of_a_plain_build(tmp_path):
    source = tmp_path / "text.tok"
    source.write_text(TEXT * 20, encoding="utf-8")
    plain, on_dask = tmp_path / "plain.arpa", tmp_path / "dask.arpa"
    assert cli("ngram", "build", "-q", "-o", "3", "-O", str(plain), str(source))[0] == 0
    code, _, err = cli("ngram", "build", "-q", "-o", "3", "--dask", "local:2", "--memory", "64k", "-O", str(on_dask), str(source))
    assert code == 0, err
    assert on_dask.read_bytes() == plain.read_bytes()
    code, out, err = cli("ngram", "count", "-o", "2", "--dask", "local:2", str(source))
    assert code == 0, err
    assert out == cli("ngram", "count", "-o", "2", str(source))[1]


def test_a_scheduler_that_does_not_answer_is_one_line(monkeypatch):
    monkeypatch.setattr(distributed, "CONNECT_SECONDS", 1)
    with pytest.raises(InputError, match="cannot reach the Dask scheduler"):
        tally_on_dask(["a b\n"], 2, "tcp://127.0.0.1:9")


def test_local_needs_a_number_of_workers():
    with pytest.raises(ParameterError, match="local:N needs a number of workers"):
        tally_on_dask(["a b\n"], 2, "local:many")
    code, _, err = cli("ngram", "count", "--dask", "local:0", stdin=b"a b\n")
    assert code == 2 and "--dask" in one_error(err)
