"""The classifier interface that ``register_classifiers`` plugins implement, and what training hands it.

A registered factory, called with the user's ``-c KEY=VALUE`` options, returns a
:class:`Classifier`: an untrained model that :meth:`~Classifier.fit` trains on a
:class:`TrainingJob` and that answers with :meth:`~Classifier.log_probabilities`. Everything
around it is textseq's, written once for every classifier: reading labelled lines, tokenizing,
the label set, class weights, the hold-out split, calibration, thresholds, metrics, the model
file (through :meth:`~Classifier.state` and :meth:`~Classifier.restore`), prediction streams.

A network needs none of this: :func:`textseq.network_classifier` makes a factory
from a ``build(config, vocab_size, labels) -> torch.nn.Module``, and the built-in ``lstm``,
``cnn`` and the rest are registered so.

Nothing here imports torch or numba at run time.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    import numpy as np

    from textseq.classify.data import LabelSet
    from textseq.classify.examples import EncodedExamples
    from textseq.progress import Monitor


@dataclass
class FitSettings:
    """The options of ``textseq classify train`` that every classifier is given; each reads
    those it has a use for. ``None`` is "the classifier's own default"."""

    epochs: int | None = None
    lr: float | None = None
    batch_size: int | None = None
    threads: int | None = None
    """CPU threads (None: the idle cores)."""
    seed: int = 1
    time_budget: float | None = None
    """Seconds of training; the run stops resumably at the first chance after it."""
    device: str = "auto"
    bf16: bool = False
    patience: int = 0
    """Stop after this many validations without improvement (0: never stop early)."""
    vectors: str | None = None
    """A word vectors file to initialize the embeddings from."""
    max_steps: int | None = None

    def __post_init__(self) -> None:
        for name in ("epochs", "batch_size", "threads", "max_steps"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ValueError(f"{name.replace('_', '-')} must be >= 1")
        if self.lr is not None and not 0 < self.lr < 1e30:
            raise ValueError("the learning rate must be > 0 (and finite)")
        if self.patience < 0:
            raise ValueError("patience must be >= 0")


@dataclass
class TrainingJob:
    """What :meth:`Classifier.fit` trains on and reports to.

    ``train`` and ``valid`` share one table of token types. ``class_weights`` (one a label, mean
    1) scale each example's loss by its label's weight, or are None. ``checkpoint(final)`` writes
    the classifier as it stands (:meth:`Classifier.state`) to the output (``final`` false: the
    best so far, after a validation that improved) or to the resumable file beside it (``final``
    true); ``stop()`` raises KeyboardInterrupt once the user has asked the run to stop (Ctrl-C,
    SIGTERM) — call it between steps, after which textseq writes the resumable file itself.
    """

    train: EncodedExamples
    valid: EncodedExamples
    labels: LabelSet
    settings: FitSettings
    monitor: Monitor
    class_weights: np.ndarray | None = None
    multi_label: bool = False
    """Whether an example may have several labels (some training example has)."""
    checkpoint: Callable[[bool], None] = field(default=lambda final: None)
    stop: Callable[[], None] = field(default=lambda: None)
    notes: list[str] = field(default_factory=list)
    finished: bool = True
    """Set it false when the run stops before its end (the time budget, ``max_steps``), so that
    textseq keeps the resumable file."""
    metrics: dict[str, float] = field(default_factory=dict)
    """Set it to the last validation's figures (``valid_loss``, ``valid_accuracy``, ...): the
    model file keeps them."""


class Classifier(Protocol):
    """A text classifier: what a registered factory returns.

    * ``config``: the resolved options (plain JSON values); ``factory(**config)`` rebuilds the same
      untrained classifier, which :meth:`restore` then fills.
    * ``independent``: whether :meth:`log_probabilities` gives each label's own probability
      (sigmoid outputs, for multi-label data: thresholds apply) rather than one distribution over
      the labels.
    * :meth:`fit` trains on ``job`` (``job.train``'s first :meth:`fit` call, or on from a state that
      :meth:`restore` loaded, which holds the progress), reporting to ``job.monitor``, and leaves
      the classifier as it should be kept (the best on validation).
    * :meth:`log_probabilities` of a batch of tokenized texts: an array ``[len(texts), labels]``.
    * :meth:`state`: (plain JSON values, arrays by name) that :meth:`restore` takes back, training
      progress included, so that a run resumes. Arrays are numpy arrays (or torch tensors, stored
      as arrays); no pickled object, so a model file never runs code.
    """

    config: dict[str, Any]
    independent: bool

    def fit(self, job: TrainingJob) -> None: ...

    def log_probabilities(self, texts: Sequence[Sequence[str]]) -> np.ndarray: ...

    def state(self) -> tuple[dict[str, Any], dict[str, Any]]: ...

    def restore(self, state: dict[str, Any], arrays: dict[str, np.ndarray], labels: LabelSet, source: str) -> None: ...
