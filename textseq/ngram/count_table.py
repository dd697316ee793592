"""The table ``ngram count`` prints: ``w1 ... wn<TAB>count`` lines, most frequent first.

Ties keep the order in which their words first appear: an order's rows are already in
lexicographic order of word ids, and ids follow first appearance, so a stable sort by count
alone gives it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol

import numpy as np

from textseq.ngram.build import Counted
from textseq.ngram.counts import OrderCounts, sort_with_order

LINES_PER_WRITE = 100_000


class TextSink(Protocol):
    def write(self, text: str, /) -> object: ...


def ranked_rows(table: OrderCounts, min_count: int = 1, top: int | None = None) -> np.ndarray:
    """The rows of ``table`` seen at least ``min_count`` times, most frequent first (ties in row
    order), at most ``top`` of them."""
    keep = np.flatnonzero(table.count >= min_count)
    ranked = keep[sort_with_order(table.count.max(initial=0) - table.count[keep])[1]]
    return np.asarray(ranked if top is None else ranked[:top])


def count_lines(counted: Counted, order: int, min_count: int = 1, top: int | None = None) -> Iterator[str]:
    """The lines of the table of ``order``, in chunks of up to :data:`LINES_PER_WRITE` lines
    joined into one string each."""
    table = counted.counts.orders[order - 1]
    matrix = counted.counts.words_of(order)
    words = np.array(counted.words, dtype=object)
    ranked = ranked_rows(table, min_count, top)
    for start in range(0, len(ranked), LINES_PER_WRITE):
        chunk = ranked[start : start + LINES_PER_WRITE]
        columns = [words[matrix[chunk, column]].tolist() for column in range(order)]
        values: list[object] = [None] * (2 * len(chunk))
        values[0::2] = columns[0] if order == 1 else list(map(" ".join, zip(*columns)))
        values[1::2] = table.count[chunk].tolist()
        yield ("%s\t%d\n" * len(chunk)) % tuple(values)


def write_count_table(
    counted: Counted, out: TextSink, order: int, *, all_orders: bool = False, min_count: int = 1, top: int | None = None
) -> None:
    """The table of ``order`` (of orders 1..``order`` one after another with ``all_orders``;
    ``top`` applies to each) written to ``out``."""
    for n in range(1 if all_orders else order, order + 1):
        for lines in count_lines(counted, n, min_count, top):
            out.write(lines)


def count_summary(counted: Counted) -> str:
    """One line: the text's size and the number of distinct n-grams of each order."""
    orders = ", ".join(f"{len(table):,} {table.order}-grams" for table in counted.counts.orders)
    return f"{counted.sentences:,} sentences, {counted.tokens:,} tokens, {orders}"
