"""The embedder interface that ``register_embedders`` plugins implement.

Imports nothing at run time (the types are for checkers), so the public API can name it without
importing numpy.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from textseq.embed.corpus import TrainingCorpus
    from textseq.embed.vectors import Vectors
    from textseq.progress import Monitor


class Embedder(Protocol):
    """Trains word vectors on a corpus: what a registered embedder's factory returns.

    ``corpus`` gives ``words`` (most frequent first), their ``counts``, the number of ``tokens``
    and ``chunks()``, which replays the token stream as int32 ids once per call (once per epoch);
    ``monitor`` takes progress and each epoch's loss; the result has one row per word of
    ``corpus.words``, in that order. Raise ``ValueError`` for settings the embedder cannot train
    with. An embedder may also have ``prepare()`` (loading compiled code, say), which the command
    line calls in a thread while it reads the text.
    """

    def train(self, corpus: TrainingCorpus, *, dim: int, window: int, seed: int, monitor: Monitor) -> Vectors: ...
