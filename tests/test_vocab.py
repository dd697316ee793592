"""textseq vocab: counts, order, cuts and summary."""

from __future__ import annotations

import json
from collections import Counter

from hypothesis import given
from hypothesis import strategies as st

from textseq.vocab import count_tokens, most_frequent, summarize


def test_counts_across_blocks_and_lines():
    counts = count_tokens(["a b a\n", "b c\n\n", "a"])
    assert counts == Counter({"a": 3, "b": 2, "c": 1})


@given(st.lists(st.sampled_from(["x", "y", "z", "w", "ü", "<unk>"]), max_size=200))
def test_order_is_by_count_then_first_appearance(tokens):
    counts = Counter(tokens)
    ranked = most_frequent(counts)
    assert ranked == sorted(counts.items(), key=lambda item: (-item[1], tokens.index(item[0])))


def test_counts_may_be_pairs_of_any_token_and_ties_keep_their_order():
    assert most_frequent([(7, 1), (3, 2), (5, 1), (4, 2)]) == [(3, 2), (4, 2), (7, 1), (5, 1)]
    assert most_frequent([(7, 1), (3, 2), (5, 1), (4, 2)], min_count=2, max_size=1) == [(3, 2)]
    assert most_frequent(Counter("banana"), max_size=2) == [("a", 3), ("n", 2)]


def test_min_count_max_size_and_summary():
    counts = Counter({"the": 10, "cat": 3, "dog": 3, "emu": 1, "yak": 1})
    kept = most_frequent(counts, min_count=2, max_size=2)
    assert kept == [("the", 10), ("cat", 3)]
    summary = summarize(counts, kept)
    assert (summary.types, summary.tokens, summary.hapaxes, summary.kept_types) == (5, 18, 2, 2)
    assert abs(summary.coverage - 13 / 18) < 1e-12


def test_vocab_command_breaks_ties_by_first_appearance(textseq):
    assert textseq("vocab", "-q", input=b"b c a\nc a b\n").text == "b\t2\nc\t2\na\t2\n"


def test_vocab_command_tsv_top_and_summary(textseq):
    text = b"the cat sat on the mat\nthe dog sat\n"
    result = textseq("vocab", "--top", "2", input=text)
    assert result.text == "the\t3\nsat\t2\n"
    assert "types" in result.stderr and "6" in result.stderr
    assert "hapaxes" in result.stderr and "coverage" in result.stderr
    assert textseq("vocab", "-q", "--min-count", "2", input=text).text == "the\t3\nsat\t2\n"
    assert textseq("vocab", "-q", "--max-size", "3", input=text).text == "the\t3\nsat\t2\ncat\t1\n"


def test_vocab_json(textseq):
    report = json.loads(textseq("vocab", "--json", "--top", "1", input=b"b a b\n").text)
    assert report["tokens"] == {"b": 2}
    assert report["summary"]["types"] == 2
    assert report["summary"]["coverage"] == 1.0


def test_vocab_of_real_text(textseq, shakespeare):
    tokens = textseq("tokenize", "--lower", str(shakespeare))
    result = textseq("vocab", "-q", input=tokens.stdout)
    rows = [line.split("\t") for line in result.text.splitlines()]
    assert rows[0][0] in {",", "the", "."}
    counts = [int(count) for _, count in rows]
    assert counts == sorted(counts, reverse=True)
    assert sum(counts) == len(tokens.text.split())
