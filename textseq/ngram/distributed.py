"""Counting n-grams on a Dask cluster (``ngram count|build --dask ADDRESS``, or ``local:N``).

The text is cut into shards of whole lines as it is read (about :data:`SHARD_CHARS` each) and each
shard is sent to the cluster with its task: nothing assumes that the workers see the client's
files or share a temporary directory. Then:

1. each shard is tokenized on a worker, which keeps its ids and sends back only its words (in
   order of first appearance) and their counts;
2. the client joins those in shard order into the vocabulary, numbered as one machine numbers
   it (KenLM's order of first appearance; with ``min_count``, the rare words made ``<unk>``);
3. each shard is counted where its ids are, in that numbering, into a
   :class:`~textseq.ngram.chunked.Tally`, and the tallies are merged on the workers, pairwise in
   a tree (:func:`~textseq.ngram.chunked.merge_tallies`, which a chunked count on one machine
   uses too);
4. the one tally left comes back to the client, with KenLM's greatest window taken over the
   shards, to be linked as a count on one machine links its tally (in memory, or into the
   build's store on disk: :func:`~textseq.ngram.chunked.link_into`).

The counts are the single-machine counts, so every smoother (stupid backoff too) estimates from
them what it estimates on one machine: the same ARPA file, byte for byte. The estimation runs on
the client: it scales with the model, which the machine that writes the ARPA file holds anyway;
the counting, which scales with the corpus, is what the cluster shares out.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from textseq.errors import InputError, ParameterError
from textseq.ngram.chunked import Tallied, Tally, _greatest_window_words, _suffix_key, merge_tallies, tally_of
from textseq.ngram.corpus import Corpus, CorpusBuilder, renumbering
from textseq.ngram.counts import count_ngrams

if TYPE_CHECKING:
    from distributed import Client

SHARD_CHARS = 1 << 24
"""About this many characters of text a shard (then to the end of its block of lines)."""
CONNECT_SECONDS = 30
"""How long to wait for the scheduler to answer."""


@dataclass
class Tokenized:
    """A shard as its worker keeps it: its sentences as ids in the shard's own numbering."""

    corpus: Corpus
    counts: np.ndarray
    """Occurrences of each of the shard's words."""


@dataclass(frozen=True)
class ShardWords:
    """What the client needs of a tokenized shard to number the words of all of them."""

    words: list[str]
    counts: np.ndarray
    sentences: int
    tokens: int
    dropped_markers: int


def tokenize_shard(text: str, vocabulary: Sequence[str] | None) -> Tokenized:
    builder = CorpusBuilder(vocabulary)
    builder.add_block(text)
    corpus = builder.build()
    real = corpus.position_in_sentence() >= 0
    return Tokenized(corpus, np.bincount(corpus.ids[real], minlength=len(corpus.words)).astype(np.int64))


def shard_words(shard: Tokenized) -> ShardWords:
    corpus = shard.corpus
    return ShardWords(corpus.words, shard.counts, corpus.sentences, corpus.tokens, corpus.dropped_markers)


def count_shard(shard: Tokenized, new_id: np.ndarray, vocab_size: int, order: int) -> tuple[Tally, tuple[int, ...] | None]:
    """(the tally of the shard's n-grams in the numbering ``new_id`` gives its ids, of
    ``vocab_size`` words in all; the words of its greatest window, None if it has no words)."""
    corpus = shard.corpus
    renumbered = Corpus(new_id[corpus.ids].astype(np.int32), [""] * vocab_size, corpus.sentences, corpus.tokens)
    window = _greatest_window_words(renumbered, order) if corpus.tokens else None
    return tally_of(count_ngrams(renumbered, order)), window


def _window(counted: tuple[Tally, tuple[int, ...] | None]) -> tuple[int, ...] | None:
    return counted[1]


def _tally(counted: tuple[Tally, tuple[int, ...] | None]) -> Tally:
    return counted[0]


def _tree(client: Client, parts: list[Any]) -> Any:
    """One future: the tallies merged pairwise on the cluster, neighbours with neighbours."""
    while len(parts) > 1:
        paired = [client.submit(merge_tallies, parts[i], parts[i + 1], pure=False) for i in range(0, len(parts) - 1, 2)]
        parts = paired + ([parts[-1]] if len(parts) % 2 else [])
    return parts[0]


def _shards(blocks: Iterable[str], chars: int) -> Iterator[str]:
    """The text of ``blocks`` (whole lines each, but for the very last) in shards of whole lines,
    of about ``chars`` characters."""
    pending: list[str] = []
    size = 0
    for block in blocks:
        pending.append(block)
        size += len(block)
        if size >= chars:
            yield "".join(pending)
            pending, size = [], 0
    if pending:
        yield "".join(pending)


@contextmanager
def dask_client(address: str) -> Iterator[Client]:
    """A client of the scheduler at ``address``, or of a cluster of N local worker processes
    started for the run (``local:N``)."""
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise ParameterError("needs Dask's distributed package: pip install 'textseq[dask]'", parameter="dask") from None
    if address.startswith("local:"):
        workers = address.partition(":")[2]
        if not (workers.isdigit() and int(workers) >= 1):
            raise ParameterError(f"local:N needs a number of workers, not {address!r}", parameter="dask")
        cluster = LocalCluster(
            n_workers=int(workers), threads_per_worker=1, processes=True, dashboard_address=None, silence_logs=logging.ERROR
        )
        try:
            with Client(cluster) as client:
                yield client
        finally:
            cluster.close()
        return
    try:
        client = Client(address, timeout=CONNECT_SECONDS)
    except (OSError, TimeoutError, ValueError) as exc:
        raise InputError(f"cannot reach the Dask scheduler: {exc}", source=address) from None
    with client:
        yield client


def tally_on_dask(
    blocks: Iterable[str],
    order: int,
    address: str,
    *,
    vocabulary: Sequence[str] | None = None,
    min_count: int = 1,
    shard_chars: int = SHARD_CHARS,
) -> tuple[Tallied, int]:
    """(the tally of the text in ``blocks``, ``<s>``/``</s>`` dropped inside lines), counted on the
    Dask cluster at ``address`` in shards of about ``shard_chars`` characters, as the module notes
    say."""
    with dask_client(address) as client:
        try:
            return _count(client, blocks, order, vocabulary, min_count, shard_chars)
        except (InputError, ParameterError, KeyboardInterrupt):
            raise
        except Exception as exc:  # noqa: BLE001 - a worker lost, a task that failed there: one line, not the cluster's traceback
            raise InputError(f"counting on the Dask cluster failed: {type(exc).__name__}: {exc}", source=address) from None


def _count(
    client: Client, blocks: Iterable[str], order: int, vocabulary: Sequence[str] | None, min_count: int, shard_chars: int
) -> tuple[Tallied, int]:
    shards = [client.submit(tokenize_shard, text, vocabulary, pure=False) for text in _shards(blocks, shard_chars)]
    if not shards:
        shards = [client.submit(tokenize_shard, "", vocabulary, pure=False)]
    described: list[ShardWords] = client.gather([client.submit(shard_words, shard, pure=False) for shard in shards])
    words, new_ids = _numbering(described, min_count)
    counted = [client.submit(count_shard, shard, new_id, len(words), order, pure=False) for shard, new_id in zip(shards, new_ids)]
    windows = client.gather([client.submit(_window, result, pure=False) for result in counted])
    tally: Tally = client.gather(_tree(client, [client.submit(_tally, result, pure=False) for result in counted]))
    greatest = max((window for window in windows if window is not None), key=_suffix_key, default=None)
    sentences = sum(shard.sentences for shard in described)
    tokens = sum(shard.tokens for shard in described)
    dropped = sum(shard.dropped_markers for shard in described)
    return Tallied(tally, greatest, words, sentences, tokens), dropped


def _numbering(described: list[ShardWords], min_count: int) -> tuple[list[str], list[np.ndarray]]:
    """(the words of all shards numbered as one machine numbers them; per shard, the new id of
    each of its ids)."""
    index = {word: i for i, word in enumerate(dict.fromkeys(word for shard in described for word in shard.words))}
    counts = np.zeros(len(index), dtype=np.int64)
    for shard in described:
        counts[[index[word] for word in shard.words]] += shard.counts
    if min_count > 1:
        keep, new_id = renumbering(counts, min_count)
        words = [word for word, kept in zip(index, keep.tolist()) if kept]
    else:
        words, new_id = list(index), np.arange(len(index))
    return words, [new_id[[index[word] for word in shard.words]] for shard in described]
