"""The count table: every n-gram once with its count, most frequent first, ties in first appearance."""

from __future__ import annotations

import io
from collections import Counter

import pytest

from tests.helpers import zipf_text
from textseq.ngram import count_table
from textseq.ngram.build import count_text
from textseq.ngram.count_table import count_summary, write_count_table

TEXT = zipf_text(11, 300, 60, 9)


def expected(order: int, min_count: int = 1, top: int | None = None) -> list[tuple[str, int]]:
    """Counted in Python: sentences framed as lmplz frames them, n-grams ranked by count, ties
    by the first appearance of their words (id order, compared word by word)."""
    first: dict[str, int] = {"<unk>": 0, "<s>": 1, "</s>": 2}
    counts: Counter[tuple[str, ...]] = Counter()
    for line in TEXT.splitlines():
        for word in line.split():
            first.setdefault(word, len(first))
        tokens = ["<s>", *line.split(), "</s>"]
        for end in range(1, len(tokens) + 1):
            if end - order >= 0:
                counts[tuple(tokens[end - order : end])] += 1
    if order == 1:
        counts.pop(("<s>",), None)
    rows = [(gram, n) for gram, n in counts.items() if n >= min_count]
    rows.sort(key=lambda row: (-row[1], [first[word] for word in row[0]]))
    return [(" ".join(gram), n) for gram, n in rows[:top]]


def table(order: int, **options) -> list[tuple[str, int]]:
    out = io.StringIO()
    write_count_table(count_text([TEXT], order), out, order, **options)
    return [(gram, int(n)) for gram, n in (line.split("\t") for line in out.getvalue().splitlines())]


@pytest.mark.parametrize("order", [1, 2, 3])
def test_every_ngram_ranked(order):
    assert table(order) == expected(order)


def test_min_count_and_top(monkeypatch):
    monkeypatch.setattr(count_table, "LINES_PER_WRITE", 7)  # many writes
    assert table(2, min_count=3, top=25) == expected(2, 3, 25)
    assert len(expected(2, 3)) > 25


def test_all_orders_one_after_another():
    assert table(3, all_orders=True, top=10) == expected(1, top=10) + expected(2, top=10) + expected(3, top=10)


def test_the_summary_names_each_order():
    counted = count_text([TEXT], 2)
    summary = count_summary(counted)
    assert summary.startswith("300 sentences, ")
    assert f"{len(expected(2)):,} 2-grams" in summary
