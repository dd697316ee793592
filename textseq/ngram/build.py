"""The n-gram pipeline as library calls: count a token stream, turn rare words into ``<unk>``,
estimate with a registered smoother (count pruning as it goes), then prune by relative entropy.

Under a memory budget, a smoother that can stream (modified Kneser-Ney's ``stream``) builds from
counts on disk: sorted runs merged a range of first words at a time (:mod:`textseq.ngram.runs`),
linked into a store (:mod:`textseq.ngram.columns`), estimated and written a slice at a time as
:meth:`BuiltModel.save` writes the model.

``textseq ngram build`` parses its options, opens its streams and calls :func:`build_model`;
``textseq ngram count`` calls :func:`count_text`. As KenLM's ``lmplz`` fills a config and runs
one pipeline, everything between the text and the model is here, and a value these functions
cannot work with is a :class:`~textseq.errors.ParameterError` naming the parameter.
"""

from __future__ import annotations

import itertools
import math
import numbers
import time
import weakref
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

from textseq.errors import InputError, ParameterError
from textseq.ngram.columns import Store
from textseq.ngram.counts import NgramCounts, count_ngrams
from textseq.ngram.model import BackoffModel

if TYPE_CHECKING:
    from textseq.ngram.chunked import Tallied
    from textseq.ngram.kneser_ney import Estimate
from textseq.ngram.smoothers import MAX_ORDER

Warn = Callable[[str], None]
T = TypeVar("T")

DEFAULT_SMOOTHER = "modified-kneser-ney"
_CHARS_PER_TOKEN = 6
"""Characters of text a token, with its space, in English, roughly."""
_RUN_BYTES_PER_NGRAM = 20
"""What a run of counts takes on disk per n-gram, and so at most per token and order above 1."""
_SPILLED_BYTES_PER_NGRAM = 48
"""What a build under a memory budget writes to its temporary directory per n-gram: the counts'
links, counts and flags, the adjusted counts, and the contexts' sums and backoff weights."""


@dataclass(frozen=True)
class Counted:
    """The n-gram counts of a text, its words (id -> word) and its size."""

    counts: NgramCounts
    words: list[str]
    sentences: int
    tokens: int
    """Words in the text, ``</s>`` not included (KenLM's token count)."""


class BuiltModel:
    """A model :func:`build_model` made, and the size of the text it was made from.

    A model built under a memory budget by a smoother that can stream (modified Kneser-Ney) is
    held as its counts and statistics in a store on disk, and estimated a slice at a time as
    :meth:`save` writes it: the model is never whole in memory. :attr:`model` makes it whole.
    :meth:`close` (or leaving a ``with`` block) removes the store."""

    def __init__(
        self,
        sentences: int,
        tokens: int,
        *,
        model: BackoffModel | None = None,
        estimate: Estimate | None = None,
        words: list[str] | None = None,
        smoothing: str = DEFAULT_SMOOTHER,
        store: Store | None = None,
    ) -> None:
        self.sentences = sentences
        self.tokens = tokens
        self._model = model
        self._estimate = estimate
        self._words = words or []
        self._smoothing = smoothing
        self._store = store
        self._closer = weakref.finalize(self, store.close) if store is not None else None

    def __enter__(self) -> BuiltModel:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._closer is not None:
            self._closer()

    @property
    def sizes(self) -> list[int]:
        """Per order, its n-grams."""
        if self._model is not None:
            return [len(table) for table in self._model.orders]
        assert self._estimate is not None
        return list(self._estimate.sizes)

    @property
    def scores_are_probabilities(self) -> bool:
        return self._model.scores_are_probabilities if self._model is not None else True

    @property
    def model(self) -> BackoffModel:
        if self._model is None:
            assert self._estimate is not None
            model = self._estimate.model()
            model.words, model.smoothing = self._words, self._smoothing
            self._model = model
        return self._model

    def save(self, path: str | None, *, binary: bool = False, comment: str | None = None) -> None:
        """Write the model to ``path`` as :func:`textseq.ngram.files.save_model` does."""
        from textseq.ngram.files import save_model

        if self._model is not None or self._estimate is None:
            save_model(self.model, path, binary=binary, comment=comment)
            return
        if binary:
            from textseq.ngram.binary import write_binary_estimate

            if path is None or path == "-":
                raise InputError("a binary model needs a file name, not stdout")
            assert self._store is not None
            write_binary_estimate(self._estimate, self._words, self._smoothing, path, self._store)
            return
        from textseq.ngram.arpa import write_arpa_rows
        from textseq.streams import open_output

        with open_output(path) as out:
            write_arpa_rows(out, self._words, self._estimate.sizes, self._estimate.rows(), smoothing=self._smoothing, comment=comment)


def prune_thresholds(value: str | Sequence[int] | None, order: int) -> list[int]:
    """Count-pruning thresholds, one per order of a model of ``order`` (the last given repeats):
    ``value`` is a sequence of whole numbers or their text, separated by commas or spaces (lmplz's
    ``--prune 0 1 1``); none (None, empty) prunes nothing. Unigrams are never pruned, and a
    threshold may not fall with the order."""
    if value is None or (not isinstance(value, str) and not len(value)):
        return []
    thresholds = _whole_numbers(value) if isinstance(value, str) else [int(t) for t in value]
    if any(t < 0 for t in thresholds) or any(b < a for a, b in itertools.pairwise(thresholds)):
        raise ParameterError("thresholds must be non-negative and must not decrease with the order", parameter="prune")
    if len(thresholds) > order:
        raise ParameterError(f"{len(thresholds)} thresholds for a model of order {order}", parameter="prune")
    if thresholds[0] > 0:
        raise ParameterError("pruning unigrams is not supported; start with 0 (e.g. 0,1,1)", parameter="prune")
    return thresholds + [thresholds[-1]] * (order - len(thresholds))


def _whole_numbers(text: str) -> list[int]:
    pieces = text.split(",") if "," in text else text.split()
    if not pieces or not all(piece.strip().isdigit() and piece.strip().isascii() for piece in pieces):
        raise ParameterError(f"expected whole numbers, one per order, e.g. 0,1,1; got {text!r}", parameter="prune")
    return [int(piece) for piece in pieces]


def memory_budget(text: str) -> int:
    """Bytes in a size such as '500M', '2G', '1.5g', '64k' or a plain number of bytes."""
    from textseq.ngram.chunked import parse_size

    try:
        return parse_size(text)
    except ValueError as exc:
        raise ParameterError(str(exc), parameter="memory") from None


def parse_discounts(text: str) -> list[float]:
    """Numbers separated by commas, for a smoother's ``discounts`` option."""
    try:
        return [float(d) for d in text.split(",")]
    except ValueError:
        raise ParameterError("expected three numbers, e.g. 0.5,1,1.5", parameter="discounts") from None


def count_text(
    blocks: Iterable[str],
    order: int,
    *,
    vocabulary: Sequence[str] | None = None,
    min_count: int = 1,
    memory: int | None = None,
    temp_dir: str | None = None,
    dask: str | None = None,
    text_bytes: int | None = None,
    warn: Warn | None = None,
) -> Counted:
    """The n-grams of orders 1 to ``order`` in ``blocks`` of token lines (one sentence a line).

    ``vocabulary``: only these words, every other one is ``<unk>``; ``min_count``: words seen fewer
    times become ``<unk>``; ``memory``: count a chunk of about this many bytes at a time and merge,
    so that memory follows the distinct n-grams, not the length of the text (with ``min_count``,
    the text is first spooled to a file in ``temp_dir``, the system's temporary directory if None:
    :mod:`textseq.ngram.spool`); ``dask``: count on the Dask cluster whose scheduler is at this
    address, or on N local worker processes (``local:N``), each shard of about ``memory`` bytes'
    worth of text if given (:mod:`textseq.ngram.distributed`). ``text_bytes``, the size of the
    text where it is known, lets a spool that would not fit in ``temp_dir`` fail before any of it
    is read. ``warn`` hears about ``<s>``/``</s>`` found inside lines (dropped)."""
    _check_order(order)
    _check_min_count(min_count)
    if dask is not None or memory is not None:
        from textseq.ngram.chunked import link

        tallied = _tally(blocks, order, vocabulary, min_count, memory, temp_dir, dask, text_bytes, warn)
        return Counted(link(tallied.tally, tallied.greatest), tallied.words, tallied.sentences, tallied.tokens)
    from textseq.ngram.corpus import corpus_from_blocks, rare_words_to_unk

    corpus = corpus_from_blocks(blocks, vocabulary)
    if corpus.dropped_markers and warn is not None:
        warn(f"dropped {corpus.dropped_markers} <s>/</s> tokens found inside lines (sentences are lines)")
    if min_count > 1:
        corpus = rare_words_to_unk(corpus, min_count)
    return Counted(count_ngrams(corpus, order), corpus.words, corpus.sentences, corpus.tokens)


def _tally(
    blocks: Iterable[str],
    order: int,
    vocabulary: Sequence[str] | None,
    min_count: int,
    memory: int | None,
    temp_dir: str | None,
    dask: str | None,
    text_bytes: int | None,
    warn: Warn | None,
) -> Tallied:
    """The tally of :func:`count_text` counting in chunks or on Dask (one of ``memory`` and
    ``dask`` given)."""
    if dask is not None:
        from textseq.ngram.chunked import BYTES_PER_TOKEN
        from textseq.ngram.distributed import SHARD_CHARS, tally_on_dask

        shard_chars = SHARD_CHARS if memory is None else max(1 << 16, memory // BYTES_PER_TOKEN * _CHARS_PER_TOKEN)
        tallied, dropped = tally_on_dask(blocks, order, dask, vocabulary=vocabulary, min_count=min_count, shard_chars=shard_chars)
        if dropped and warn is not None:
            warn(f"dropped {dropped} <s>/</s> tokens found inside lines (sentences are lines)")
        return tallied
    from textseq.ngram.chunked import tally_in_chunks

    assert memory is not None
    return _frequent_words_only(
        blocks, vocabulary, min_count, temp_dir, text_bytes, warn, lambda text, words: tally_in_chunks(text, order, memory, words)
    )


def _frequent_words_only(
    blocks: Iterable[str],
    vocabulary: Sequence[str] | None,
    min_count: int,
    temp_dir: str | None,
    text_bytes: int | None,
    warn: Warn | None,
    count: Callable[[Iterable[str], Iterable[str] | None], T],
) -> T:
    """``count(text, vocabulary)`` over ``blocks``, with ``min_count`` over the text spooled to
    ``temp_dir`` while its words are counted, and only its frequent words for a vocabulary."""
    if min_count == 1:
        return count(blocks, vocabulary)
    from textseq.ngram.spool import frequent_vocabulary, read_back

    spool, kept = frequent_vocabulary(blocks, vocabulary, min_count, temp_dir, warn, text_bytes=text_bytes)
    with spool:
        return count(read_back(spool), kept)


def build_model(
    blocks: Iterable[str],
    order: int = 3,
    smoothing: str = DEFAULT_SMOOTHER,
    options: Mapping[str, object] | None = None,
    *,
    prune: str | Sequence[int] | None = None,
    prune_entropy: float | None = None,
    discounts: Sequence[float] | None = None,
    vocabulary: Sequence[str] | None = None,
    min_count: int = 1,
    memory: int | None = None,
    temp_dir: str | None = None,
    dask: str | None = None,
    text_bytes: int | None = None,
    warn: Warn | None = None,
    stages: Warn | None = None,
    source: str = "<stdin>",
) -> BuiltModel:
    """An n-gram model of order ``order`` estimated from ``blocks`` of token lines.

    ``smoothing`` names a registered smoother (see ``textseq plugins``), made with ``options``
    (and ``discounts``, fixed discounts instead of estimated ones); ``prune``: count-pruning
    thresholds (see :func:`prune_thresholds`); ``prune_entropy``: then drop every n-gram whose
    removal raises perplexity by less than this, relatively (Stolcke 1998); ``vocabulary``,
    ``min_count``, ``memory``, ``temp_dir``, ``dask``, ``text_bytes`` as :func:`count_text` has
    them. ``warn`` hears what the smoother falls back on, ``stages`` a line as each stage ends
    (what it made, how long it took: lmplz prints its stages too); ``source`` names the text in
    the error for an empty one.

    Every value is checked before the first block is read."""
    from textseq.plugins import get_plugins

    _check_order(order)
    _check_min_count(min_count)
    thresholds = prune_thresholds(prune, order)
    if prune_entropy is not None and not (math.isfinite(prune_entropy) and prune_entropy >= 0):
        raise ParameterError(f"must be a finite number >= 0, not {prune_entropy!r}", parameter="prune_entropy")
    settings = dict(options or {})
    if discounts is not None:
        settings["discounts"] = list(discounts)
    smoother = get_plugins().registry("smoother").build(smoothing, settings)
    said = stages or (lambda line: None)
    started = time.perf_counter()
    stream = getattr(smoother, "stream", None)
    if memory is not None and prune_entropy is None and stream is not None:
        store = Store(temp_dir, spill=True, expected_bytes=(text_bytes or 0) // _CHARS_PER_TOKEN * (order - 1) * _RUN_BYTES_PER_NGRAM)
        try:
            return _streamed(
                blocks,
                order,
                stream,
                smoothing,
                thresholds,
                store,
                vocabulary,
                min_count,
                memory,
                temp_dir,
                dask,
                text_bytes,
                warn,
                said,
                source,
            )
        except BaseException:
            store.close()
            raise
    counting = count_text(
        blocks,
        order,
        vocabulary=vocabulary,
        min_count=min_count,
        memory=memory,
        temp_dir=temp_dir,
        dask=dask,
        text_bytes=text_bytes,
        warn=warn,
    )
    if counting.tokens == 0:
        raise InputError("no text to build a model from (the input is empty)", source=source)
    sizes = ", ".join(f"{len(table):,} {table.order}-grams" for table in counting.counts.orders)
    said(f"counted {counting.tokens:,} tokens in {time.perf_counter() - started:.1f} s: {sizes}")
    started = time.perf_counter()
    try:
        model = smoother.estimate(counting.counts, prune=thresholds, warn=warn)
    except ValueError as exc:  # what a smoother finds wrong with its options only once it sees the counts
        raise ParameterError(f"smoother '{smoothing}': {exc}") from None
    said(f"estimated {smoothing} in {time.perf_counter() - started:.1f} s")
    model.words = counting.words
    model.smoothing = smoothing
    if prune_entropy is not None:
        if not model.scores_are_probabilities:
            raise ParameterError(f"needs probabilities, and {smoothing} gives scores", parameter="prune_entropy")
        from textseq.ngram.prune import prune_entropy as prune_by_entropy

        started = time.perf_counter()
        model = prune_by_entropy(model, prune_entropy)
        said(f"pruned by relative entropy in {time.perf_counter() - started:.1f} s")
    return BuiltModel(counting.sentences, counting.tokens, model=model)


def _streamed(
    blocks: Iterable[str],
    order: int,
    stream: Callable[..., Estimate],
    smoothing: str,
    thresholds: list[int],
    store: Store,
    vocabulary: Sequence[str] | None,
    min_count: int,
    memory: int,
    temp_dir: str | None,
    dask: str | None,
    text_bytes: int | None,
    warn: Warn | None,
    said: Warn,
    source: str,
) -> BuiltModel:
    """The build in bounded memory: the text counted in sorted runs on disk (on Dask: the tally
    the cluster merged), the counts linked into ``store``, and the smoother's estimate streamed from
    there as the model is written (see :class:`BuiltModel`)."""
    from textseq.ngram.chunked import SpilledCounts, link_columns, link_into
    from textseq.ngram.runs import tally_in_runs

    started = time.perf_counter()
    if dask is not None:
        tallied = _tally(blocks, order, vocabulary, min_count, memory, temp_dir, dask, text_bytes, warn)
        words, sentences, tokens = tallied.words, tallied.sentences, tallied.tokens
        sizes = [len(tallied.tally.unigrams), *map(len, tallied.tally.count)]
        if tokens:
            store.check_room(sum(sizes) * _SPILLED_BYTES_PER_NGRAM)
        counts = link_into(tallied.tally, tallied.greatest, store)
    else:
        runs = _frequent_words_only(
            blocks, vocabulary, min_count, temp_dir, text_bytes, warn, lambda text, words: tally_in_runs(text, order, memory, words, store)
        )
        words, sentences, tokens = runs.words, runs.sentences, runs.tokens
        sizes = [len(runs.unigrams), *(len(count) for _, _, count in runs.orders)]
        if tokens:
            store.check_room(sum(sizes) * _SPILLED_BYTES_PER_NGRAM)
        linked, last = link_columns(runs.unigrams, runs.orders, runs.greatest, store, compact=True)
        store.remove(*(column for columns in runs.orders for column in columns))
        counts = SpilledCounts(len(words), linked, last)
    if tokens == 0:
        raise InputError("no text to build a model from (the input is empty)", source=source)
    said(
        f"counted {tokens:,} tokens in {time.perf_counter() - started:.1f} s: "
        + ", ".join(f"{size:,} {n}-grams" for n, size in enumerate(sizes, start=1))
    )
    started = time.perf_counter()
    try:
        estimate = stream(counts, store, prune=thresholds, warn=warn)
    except ValueError as exc:
        raise ParameterError(f"smoother '{smoothing}': {exc}") from None
    said(f"computed the adjusted counts and discounts in {time.perf_counter() - started:.1f} s (spilled to {store.root})")
    return BuiltModel(sentences, tokens, estimate=estimate, words=words, smoothing=smoothing, store=store)


def _check_order(order: int) -> None:
    if isinstance(order, bool) or not isinstance(order, numbers.Integral) or not 1 <= order <= MAX_ORDER:
        raise ParameterError(f"must be a whole number from 1 to {MAX_ORDER}, not {order!r}", parameter="order")


def _check_min_count(min_count: int) -> None:
    if min_count < 1:
        raise ParameterError("must be at least 1", parameter="min_count")
