"""``--min-count`` under a memory budget: the text spooled to a temporary file while its words are
counted, then counted in chunks with the frequent words as a fixed vocabulary: the same model as
in memory, and clean errors where the temporary directory fails."""

from __future__ import annotations

import errno
import io
import re

import pytest

from helpers import require_shared
from textseq.errors import InputError, TextseqError
from textseq.ngram import spool as spool_module
from textseq.ngram.arpa import write_arpa
from textseq.ngram.build import build_model, count_text
from textseq.ngram.spool import read_back, spool_text

TEXT = "the cat sat on the mat\nthe dog sat on the log\na cat and a dog\nthe cat ran\nan owl <s> flew\nzebra\n" * 7 + "last cat"


def arpa(built) -> str:
    out = io.StringIO()
    write_arpa(built.model, out)
    return out.getvalue()


def blocks_of(text: str, lines: int) -> list[str]:
    pieces = text.splitlines(keepends=True)
    return ["".join(pieces[i : i + lines]) for i in range(0, len(pieces), lines)]


@pytest.mark.parametrize("min_count", [2, 3, 8])
@pytest.mark.parametrize("vocabulary", [None, ["cat", "dog", "the", "owl", "zebra", "unseen"]])
def test_a_memory_budget_with_min_count_builds_the_model_built_in_memory(min_count, vocabulary, monkeypatch, tmp_path):
    monkeypatch.setattr(spool_module, "READ_BACK_CHARS", 16)  # many blocks read back, each cut at a line's end
    warned: list[str] = []
    whole = build_model(blocks_of(TEXT, 3), 3, vocabulary=vocabulary, min_count=min_count)
    spooled = build_model(
        blocks_of(TEXT, 5), 3, vocabulary=vocabulary, min_count=min_count, memory=1, temp_dir=str(tmp_path), warn=warned.append
    )
    assert (spooled.sentences, spooled.tokens) == (whole.sentences, whole.tokens)
    assert spooled.model.words == whole.model.words
    assert arpa(spooled) == arpa(whole)
    assert any("dropped 7 <s>/</s>" in line for line in warned)
    assert "<unk>" in spooled.model.words and ("ran" in spooled.model.words) == (min_count <= 7 and vocabulary is None)


def test_natural_text_with_min_count_is_the_same_whatever_the_budget():
    text = require_shared("reference", "shakespeare.train.tok").read_text(encoding="utf-8")
    blocks = blocks_of(text, 2000)
    whole = build_model(blocks, 4, min_count=2)
    for memory in (1, 4 << 20):  # one chunk per block, and a few chunks in all
        assert arpa(build_model(blocks, 4, min_count=2, memory=memory)) == arpa(whole), memory


def test_the_spooled_text_reads_back_as_it_was(monkeypatch, tmp_path):
    monkeypatch.setattr(spool_module, "READ_BACK_CHARS", 7)
    text = "één twee\n\ndrie\r\nvier\tvijf  \nzes"
    spool, counts, words, dropped = spool_text([text[:5], text[5:]], None, str(tmp_path))
    with spool:
        back = list(read_back(spool))
    assert "".join(back) == text
    assert all(block.endswith("\n") for block in back[:-1]) and back[-1] == "zes"
    assert dict(zip(words, counts.tolist()))["één"] == 1 and dropped == 0


def test_a_missing_temporary_directory_is_one_clear_error(tmp_path):
    with pytest.raises(TextseqError) as info:  # the build's store, made before the text is spooled
        build_model([TEXT], 3, min_count=2, memory=1 << 20, temp_dir=str(tmp_path / "absent"))
    assert info.value.source == str(tmp_path / "absent") and "temporary directory" in info.value.message
    with pytest.raises(InputError) as info:
        count_text([TEXT], 3, min_count=2, memory=1 << 20, temp_dir=str(tmp_path / "absent"))
    assert info.value.source == str(tmp_path / "absent") and "temporary file" in info.value.message


class FullDisk(io.StringIO):
    def write(self, text: str) -> int:
        raise OSError(errno.ENOSPC, "No space left on device")


def test_a_full_disk_while_spooling_names_the_directory_and_the_way_out(monkeypatch, tmp_path):
    monkeypatch.setattr(spool_module.tempfile, "TemporaryFile", lambda *args, **kwargs: FullDisk())
    with pytest.raises(InputError) as info:
        build_model([TEXT], 3, min_count=2, memory=1 << 20, temp_dir=str(tmp_path))
    assert info.value.source == str(tmp_path)
    assert "No space left on device" in info.value.message and "-T" in info.value.message


def test_the_command_line_takes_min_count_with_memory_and_a_temp_dir(tmp_path, textseq):
    text = TEXT.encode() * 20
    whole, spooled = tmp_path / "a.arpa", tmp_path / "b.arpa"
    assert textseq("ngram", "build", "-O", str(whole), "--min-count", "30", input=text).returncode == 0
    done = textseq("ngram", "build", "-O", str(spooled), "--min-count", "30", "--memory", "1M", "-T", str(tmp_path), input=text)
    assert done.returncode == 0, done.stderr
    assert whole.read_text() == spooled.read_text()
    refused = textseq("ngram", "build", "-O", str(spooled), "--min-count", "2", "--memory", "1M", "-T", str(tmp_path / "no"), input=text)
    assert refused.returncode == 2 and "Traceback" not in refused.stderr and "no" in refused.stderr


def test_a_text_bigger_than_the_free_space_fails_before_it_is_read(monkeypatch, tmp_path):
    monkeypatch.setattr(spool_module.shutil, "disk_usage", lambda where: type("Usage", (), {"free": 5 << 20})())
    read = []

    def blocks():
        read.append(True)
        yield TEXT

    with pytest.raises(InputError) as info:
        count_text(blocks(), 3, min_count=2, memory=1 << 20, temp_dir=str(tmp_path), text_bytes=8 << 20)
    assert not read
    assert info.value.source == str(tmp_path)
    assert "8 MB of temporary space" in info.value.message and "5 MB free" in info.value.message and "-T" in info.value.message
    with pytest.raises(TextseqError) as info:  # the build spools the text and writes its runs of counts
        build_model(blocks(), 3, min_count=2, memory=1 << 20, temp_dir=str(tmp_path), text_bytes=4 << 20)
    assert not read
    assert info.value.source == str(tmp_path)
    assert "MB more of temporary space" in info.value.message and "5 MB free" in info.value.message and "-T" in info.value.message
    assert arpa(build_model(blocks(), 3, min_count=2, memory=1 << 20, temp_dir=str(tmp_path), text_bytes=64 << 10))


def test_ngram_build_says_each_stage_and_its_time(tmp_path):
    from helpers import cli

    source = tmp_path / "text.tok"
    source.write_text(TEXT * 10, encoding="utf-8")
    code, _, err = cli("ngram", "build", "-o", "3", "--prune-entropy", "1e-9", "-O", str(tmp_path / "m.arpa"), str(source))
    assert code == 0, err
    lines = [line for line in err.splitlines() if "warning" not in line]
    assert [line.split(" in ")[0] for line in lines] == [
        "textseq: counted 1,691 tokens",
        "textseq: estimated modified-kneser-ney",
        "textseq: pruned by relative entropy",
        f"textseq: wrote {tmp_path / 'm.arpa'}",
    ]
    assert all(re.search(r" in \d+\.\d s", line) for line in lines)
    assert cli("ngram", "build", "-q", "-o", "3", "-O", str(tmp_path / "q.arpa"), str(source))[2] == ""
