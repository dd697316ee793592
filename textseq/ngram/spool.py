"""The vocabulary of ``--min-count`` found without holding the corpus: the text read once to a
temporary file while its words are counted, then read back for counting n-grams.

``build --min-count N`` makes every word seen fewer than N times ``<unk>``, which can only be
decided once the whole text has been read. In memory the corpus is kept as ids and renumbered
(:func:`textseq.ngram.corpus.rare_words_to_unk`); under a memory budget the text goes to a file in
the temporary directory instead (``-T DIR``; its size is the text's), and only the word counts stay
in memory. The words kept, in their order of first appearance, are then a fixed vocabulary for
:func:`textseq.ngram.chunked.count_in_chunks`, which gives them the ids that the renumbering gives:
the counts are the same.
"""

from __future__ import annotations

import errno
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator
from typing import IO

import numpy as np

from textseq.errors import InputError
from textseq.ngram.corpus import CorpusBuilder, frequent_words

READ_BACK_CHARS = 1 << 20
"""About this many characters a block when the spooled text is read back (then to the line's end)."""


def spool_text(
    blocks: Iterable[str], vocabulary: Iterable[str] | None, temp_dir: str | None, *, text_bytes: int | None = None
) -> tuple[IO[str], np.ndarray, list[str], int]:
    """(the text of ``blocks`` in an anonymous temporary file in ``temp_dir``, rewound; each id's
    count; id -> word; ``<s>``/``</s>`` tokens found inside lines). Ids are numbered as
    :class:`~textseq.ngram.corpus.CorpusBuilder` numbers them (with ``vocabulary``, fixed). Where
    ``text_bytes`` (the text's size) is more than the directory has free, it fails before reading."""
    builder = CorpusBuilder(vocabulary)
    counts = np.zeros(0, dtype=np.int64)
    dropped = 0
    where = temp_dir or tempfile.gettempdir()
    _check_room(where, text_bytes)
    try:
        spool = tempfile.TemporaryFile("w+", encoding="utf-8", newline="", dir=temp_dir)  # noqa: SIM115  # handed to the caller, who closes it
    except OSError as exc:
        raise InputError(f"cannot make a temporary file for the text: {exc.strerror or exc}", source=where) from None
    try:
        for block in blocks:
            try:
                spool.write(block)
            except OSError as exc:
                full = exc.errno in (errno.ENOSPC, errno.EDQUOT)
                hint = ": give -T a directory with room for the text" if full else ""
                raise InputError(f"cannot write the text to the temporary directory ({exc.strerror or exc}){hint}", source=where) from None
            builder.add_block(block)
            dropped += builder.dropped_markers
            for chunk in builder.take_sentences():
                chunk_counts = np.bincount(chunk, minlength=len(builder.index))
                chunk_counts[: len(counts)] += counts
                counts = chunk_counts
            builder.reset_chunks()
        spool.flush()
        spool.seek(0)
    except BaseException:
        spool.close()
        raise
    counts = np.concatenate([counts, np.zeros(len(builder.index) - len(counts), dtype=np.int64)])
    return spool, counts, builder.build().words, dropped


def _check_room(where: str, text_bytes: int | None) -> None:
    if text_bytes is None:
        return
    try:
        free = shutil.disk_usage(where).free
    except OSError:
        return  # the spool's own errors say what is wrong with the directory
    if free < text_bytes:
        raise InputError(
            f"the text needs about {text_bytes / 2**20:,.0f} MB of temporary space and the directory has "
            f"{free / 2**20:,.0f} MB free: give -T a directory with room for the text",
            source=where,
        )


def read_back(spool: IO[str]) -> Iterator[str]:
    """The spooled text again, in blocks of whole lines (the last one as the text ended)."""
    while True:
        block = spool.read(READ_BACK_CHARS)
        if not block:
            return
        if not block.endswith("\n"):
            block += spool.readline()
        yield block


def frequent_vocabulary(
    blocks: Iterable[str],
    vocabulary: Iterable[str] | None,
    min_count: int,
    temp_dir: str | None,
    warn: Callable[[str], None] | None = None,
    *,
    text_bytes: int | None = None,
) -> tuple[IO[str], list[str]]:
    """(the text spooled, the words seen at least ``min_count`` times in their order of first
    appearance, the specials first): what :func:`count_in_chunks` takes to count as
    ``rare_words_to_unk`` renumbers. The caller closes the spool (which removes it)."""
    spool, counts, words, dropped = spool_text(blocks, vocabulary, temp_dir, text_bytes=text_bytes)
    if dropped and warn is not None:
        warn(f"dropped {dropped} <s>/</s> tokens found inside lines (sentences are lines)")
    keep = frequent_words(counts, min_count)
    return spool, [word for word, kept in zip(words, keep.tolist()) if kept]
