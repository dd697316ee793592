"""The word-vector pipeline as one library call: a registered embedder made with the user's
options, the streamed training corpus, training, and what came of it.

``textseq embed train`` parses its options, opens its streams and calls :func:`train_vectors`,
then writes the vectors; a library user does the same with a :class:`~textseq.progress.Monitor`
of their own.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from textseq.embed.corpus import training_corpus
from textseq.embed.embedder import Embedder
from textseq.embed.vectors import Vectors
from textseq.errors import InputError
from textseq.progress import Monitor

DEFAULT_EMBEDDER = "skipgram"


@dataclass(frozen=True)
class TrainedVectors:
    """The vectors :func:`train_vectors` trained, and the corpus they came from."""

    vectors: Vectors
    tokens: int
    """Tokens of the words kept (seen ``min_count`` times or more)."""
    seconds: float
    """From the first block read to the last epoch's end."""


def train_vectors(
    blocks: Iterable[str],
    method: str = DEFAULT_EMBEDDER,
    options: Mapping[str, object] | None = None,
    *,
    dim: int = 100,
    window: int = 5,
    min_count: int = 5,
    seed: int = 1,
    monitor: Monitor | None = None,
    source: str = "<stdin>",
) -> TrainedVectors:
    """Vectors of the words of ``blocks`` (token lines) seen ``min_count`` times or more, trained
    by the embedder registered as ``method`` with ``options``. The corpus is read once and
    spooled (memory follows the vocabulary, not the text); ``monitor`` hears each stage and epoch,
    and a note with the corpus's size. An option the embedder refuses is a
    :class:`~textseq.errors.ParameterError`; a text with no word to train on, or too little for
    the options, an :class:`~textseq.errors.InputError` naming ``source``."""
    from textseq.plugins import get_plugins

    monitor = monitor or Monitor()
    embedder: Embedder = get_plugins().registry("embedder").build(method, options or {})
    start = time.perf_counter()
    warming = _prepare_in_background(embedder)
    with training_corpus(blocks, min_count=min_count) as corpus:
        warming.join()
        if corpus.tokens == 0:
            raise InputError(f"no words seen {min_count} times or more to train on", source=source)
        monitor.note(
            f"{corpus.tokens:,} tokens, {len(corpus.words):,} words seen {min_count} times or more ({time.perf_counter() - start:.1f} s)"
        )
        try:
            vectors = embedder.train(corpus, dim=dim, window=window, seed=seed, monitor=monitor)
        except ValueError as exc:
            raise InputError(str(exc)) from None
        return TrainedVectors(vectors, corpus.tokens, time.perf_counter() - start)


def _prepare_in_background(embedder: Embedder) -> threading.Thread:
    """Start ``embedder.prepare()`` (loading compiled code, say) in a thread, if it has one, while
    the corpus is read."""
    preparation: Callable[[], object] = getattr(embedder, "prepare", lambda: None)

    def prepare() -> None:
        with contextlib.suppress(Exception):  # training will meet the same problem and report it
            preparation()

    thread = threading.Thread(target=prepare, daemon=True)
    thread.start()
    return thread
