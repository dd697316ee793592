"""The trainer of every classifier network: :func:`network_classifier` makes a registrable factory
from a ``build(config, vocab_size, labels) -> torch.nn.Module``, and :class:`NetworkClassifier`
does the rest (vocabulary, batches, loss, optimizer, validation, checkpoints, exact resumption).

A network sees token ids only: 0 is PAD, 1 is ``<unk>`` (a word outside the vocabulary, and the
whole of an empty text), the vocabulary's words are 2 and up, most frequent first. Its
``forward(tokens [B, T], lengths [B]) -> logits [B, labels]`` gets batches of texts of about one
length (shuffled, then sorted within pools of :data:`POOL` batches, then the batches shuffled), so
that little of a batch is padding. The order of an epoch is a function of the seed and the epoch
alone, so that a run resumed at a batch of an epoch goes on with the same batches.

A network with a ``sparse_gradients()`` method (the built-in ones) has it called once built: its
embedding tables then get sparse gradients, which SparseAdam updates row by row, and the rest of
its weights AdamW (:class:`_Optimizer`).

Everything the next step depends on is in :meth:`NetworkClassifier.state`: the weights, the
optimizers' moments, torch's random generator (dropout), the position (epoch, batch, step), the
best weights so far and the early-stopping counters. A run stopped after any step and resumed from that state
ends with the same weights, bit for bit on the CPU, as a run that was not stopped.

Nothing here imports torch until a classifier is trained or restored.
"""

from __future__ import annotations

import contextlib
import difflib
import math
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields
from itertools import chain
from typing import TYPE_CHECKING, Any

import numpy as np

from textseq.classify.model_file import flatten, unflatten
from textseq.classify.network_config import OPTIONS, VOCABULARY, ClassifierOptionKind, Positive, Sizes
from textseq.errors import InputError, ParameterError
from textseq.neural.config import check_option
from textseq.progress import EpochReport
from textseq.vocab import most_frequent

if TYPE_CHECKING:
    import torch
    from torch import nn

    from textseq.classify.classifier import TrainingJob
    from textseq.classify.data import LabelSet
    from textseq.classify.examples import EncodedExamples
    from textseq.progress import Monitor

    Build = Callable[[Mapping[str, object], int, int], nn.Module]
    Weights = dict[str, torch.Tensor]

PAD, UNK = 0, 1
UNKNOWN = "<unk>"
EPOCHS = 10
LEARNING_RATE = 1e-3
BATCH_SIZE = 32
CLIP = 5.0
POOL = 50
"""Batches a pool holds: texts are sorted by length within a pool of this many batches."""
PREDICT_BATCH = 256
VECTOR_INIT = 0.1
"""Rows of words that a vectors file lacks start normal with this standard deviation."""
STATE_VERSION = 1
VOCABULARY_KINDS: dict[str, ClassifierOptionKind] = {key: OPTIONS[key] for key in VOCABULARY}


# ---- options ------------------------------------------------------------------------------


def network_classifier(
    name: str, build: Build, default_config: Mapping[str, object], options: Mapping[str, ClassifierOptionKind] | None = None
) -> Callable[..., NetworkClassifier]:
    """The factory a plugin registers for the network that ``build(config, vocab_size, labels)``
    makes: ``factory(**config)`` puts ``config`` over ``default_config`` (and the vocabulary options
    ``min_count``, ``max_vocab``, ``max_length`` every network has), checks each value against its
    kind in ``options`` where given (``ValueError`` naming the network and the option), and returns
    an untrained :class:`NetworkClassifier`."""
    defaults = {**VOCABULARY, **default_config}
    kinds = {**VOCABULARY_KINDS, **(options or {})}

    def factory(**config: object) -> NetworkClassifier:
        return NetworkClassifier(name, build, resolve_network_config(name, defaults, config, kinds))

    factory.__name__ = factory.__qualname__ = "make_" + name.replace("-", "_")
    factory.__doc__ = f"An untrained '{name}' classifier network."
    return factory


def resolve_network_config(
    name: str, defaults: Mapping[str, object], config: Mapping[str, object], kinds: Mapping[str, ClassifierOptionKind]
) -> dict[str, object]:
    """``config`` over ``defaults``, as plain JSON values (``widths`` "3,4,5" made [3, 4, 5]). An
    unknown key is a ``ValueError`` with the closest known one; a value is checked against its
    kind, except the network's own default, which is taken as it is (``char-cnn``'s
    ``embedding_size`` 0, one-hot characters, is no :class:`~textseq.neural.config.Size`)."""
    resolved = {key: _default_value(name, key, value, kinds.get(key)) for key, value in defaults.items()}
    for key, value in config.items():
        if key not in defaults:
            close = difflib.get_close_matches(str(key), list(defaults), n=1)
            hint = f"did you mean '{close[0]}'? " if close else ""
            raise ValueError(f"{name}: unknown option {key!r} ({hint}known: {', '.join(sorted(defaults))})")
        default = defaults[key]
        if not (type(value) is type(default) and value == default):
            resolved[key] = check_network_option(name, key, value, kinds.get(key))
    return resolved


def _default_value(name: str, key: str, value: object, kind: ClassifierOptionKind | None) -> object:
    try:
        return check_network_option(name, key, value, kind)
    except ValueError:
        return _plain(name, key, value)


def check_network_option(name: str, key: str, value: object, kind: ClassifierOptionKind | None) -> object:
    """``value`` for option ``key`` of network ``name`` if it is of ``kind`` (None: any plain
    JSON value), made its kind's type; ``ValueError`` naming both otherwise."""
    if kind is None:
        return _plain(name, key, value)
    if isinstance(kind, Sizes):
        return _sizes(name, key, value, kind)
    if isinstance(kind, Positive):
        if (
            isinstance(value, bool)
            or not isinstance(value, (int, float))
            or not math.isfinite(value)
            or not (value > 0 or (kind.zero and value == 0))
        ):
            raise ValueError(f"{name}: {key} must be a number {'>= 0' if kind.zero else '> 0'}, not {value!r}")
        return float(value)
    return check_option(name, key, value, kind)


def _sizes(name: str, key: str, value: object, kind: Sizes) -> list[int]:
    items: list[object]
    if isinstance(value, str):
        items = [int(part) if part.strip().isdigit() else part for part in value.split(",")]
    elif isinstance(value, (list, tuple)):
        items = list(value)
    else:
        items = [value]
    sizes = [item for item in items if isinstance(item, int) and not isinstance(item, bool) and 1 <= item <= kind.maximum]
    if not sizes or len(sizes) != len(items) or len(sizes) > kind.count:
        raise ValueError(
            f"{name}: {key} must be up to {kind.count} whole numbers in 1..{kind.maximum} separated by commas (e.g. 3,4,5), not {value!r}"
        )
    return sizes


def _plain(name: str, key: str, value: object) -> object:
    """``value`` as plain JSON (tuples made lists)."""
    if value is None or isinstance(value, (bool, int, str)) or (isinstance(value, float) and math.isfinite(value)):
        return value
    if isinstance(value, (list, tuple)):
        return [_plain(name, key, item) for item in value]
    if isinstance(value, Mapping) and all(isinstance(k, str) for k in value):
        return {k: _plain(name, key, item) for k, item in value.items()}
    raise ValueError(f"{name}: {key} must be a number, a string, true/false or a list of them, not {value!r}")


# ---- texts as ids ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Texts:
    """Texts as ids in one flat array: text ``i`` is ``ids[starts[i] : starts[i] + lengths[i]]``
    (each at least one id long)."""

    ids: np.ndarray
    starts: np.ndarray
    lengths: np.ndarray

    def __len__(self) -> int:
        return len(self.lengths)

    def padded(self, chosen: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(ids ``[B, T]`` padded with PAD, lengths ``[B]``) of the texts at ``chosen``."""
        lengths = self.lengths[chosen]
        rows, positions, columns = _spans(self.starts[chosen], lengths)
        tokens = np.zeros((len(chosen), int(lengths.max()) if len(chosen) else 0), dtype=np.int64)
        tokens[rows, columns] = self.ids[positions]
        return tokens, lengths


def _spans(starts: np.ndarray, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For ranges ``starts[i] : starts[i] + counts[i]`` laid end to end: each element's range,
    its position in the source, and its place within its range."""
    ends = np.cumsum(counts)
    within = np.arange(int(ends[-1]) if len(ends) else 0, dtype=np.int64) - np.repeat(ends - counts, counts)
    return np.repeat(np.arange(len(counts)), counts), np.repeat(starts, counts) + within, within


def _texts_of_examples(examples: EncodedExamples, type_ids: np.ndarray, max_length: int) -> _Texts:
    """The examples' tokens (ids into their type table) as vocabulary ids (``type_ids`` maps them),
    cut to ``max_length``; an empty text is one ``<unk>``."""
    kept = np.minimum(np.diff(examples.offsets), max_length)
    lengths = np.maximum(kept, 1)
    starts = np.zeros(len(lengths), dtype=np.int64)
    np.cumsum(lengths[:-1], out=starts[1:])
    ids = np.full(int(lengths.sum()), UNK, dtype=np.int64)
    rows, positions, within = _spans(examples.offsets[:-1], kept)
    ids[starts[rows] + within] = type_ids[examples.tokens[positions]]
    return _Texts(ids, starts, lengths)


def _texts_of_tokens(texts: Sequence[Sequence[str]], index: Mapping[str, int], max_length: int) -> _Texts:
    pieces = [[index.get(token, UNK) for token in text[:max_length]] or [UNK] for text in texts]
    lengths = np.fromiter(map(len, pieces), dtype=np.int64, count=len(pieces))
    starts = np.zeros(len(lengths), dtype=np.int64)
    np.cumsum(lengths[:-1], out=starts[1:])
    ids = np.fromiter(chain.from_iterable(pieces), dtype=np.int64, count=int(lengths.sum()))
    return _Texts(ids, starts, lengths)


@dataclass(frozen=True)
class _Targets:
    """Each example's labels: the first (single-label data has one) and all (multi-hot rows)."""

    first: np.ndarray
    offsets: np.ndarray
    ids: np.ndarray
    labels: int

    @classmethod
    def of(cls, examples: EncodedExamples, labels: int) -> _Targets:
        first = examples.first_labels().astype(np.int64) if len(examples) else np.zeros(0, dtype=np.int64)
        return cls(first, examples.label_offsets, examples.label_ids, labels)

    def hot(self, chosen: np.ndarray) -> np.ndarray:
        counts = self.offsets[chosen + 1] - self.offsets[chosen]
        rows, positions, _ = _spans(self.offsets[chosen], counts)
        hot = np.zeros((len(chosen), self.labels), dtype=np.float32)
        hot[rows, self.ids[positions]] = 1.0
        return hot


def _epoch_batches(lengths: np.ndarray, batch_size: int, seed: int, epoch: int) -> list[np.ndarray]:
    """The batches of an epoch, by length: shuffled, sorted within pools of :data:`POOL` batches,
    cut, and the batches shuffled; a function of ``seed`` and ``epoch`` alone."""
    generator = _generator(seed, 0, epoch)
    order = generator.permutation(len(lengths))
    pool = batch_size * POOL
    batches: list[np.ndarray] = []
    for start in range(0, len(order), pool):
        chunk = order[start : start + pool]
        chunk = chunk[np.argsort(lengths[chunk], kind="stable")]
        batches.extend(chunk[i : i + batch_size] for i in range(0, len(chunk), batch_size))
    return [batches[i] for i in generator.permutation(len(batches))]


def _predict_batches(lengths: np.ndarray) -> Iterator[np.ndarray]:
    order = np.argsort(lengths, kind="stable")
    for start in range(0, len(order), PREDICT_BATCH):
        yield order[start : start + PREDICT_BATCH]


def _generator(seed: int, *stream: int) -> np.random.Generator:
    return np.random.default_rng([seed % (1 << 63), *stream])


# ---- progress -------------------------------------------------------------------------------


@dataclass
class _Progress:
    """Where a run stands: ``epoch`` epochs done, ``batch`` batches of the next, ``step`` updates
    in all; the summed loss and the examples of the epoch so far (its report); the best
    validation loss and the validations since it improved; the order's seed and batch size."""

    epoch: int = 0
    batch: int = 0
    step: int = 0
    epoch_loss: float = 0.0
    epoch_examples: int = 0
    best_loss: float | None = None
    stale: int = 0
    done: bool = False
    seed: int = 1
    batch_size: int = BATCH_SIZE
    examples: int = 0
    history: list[dict[str, float]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, value: object, source: str) -> _Progress:
        if not isinstance(value, dict) or set(value) != {f.name for f in fields(cls)}:
            raise InputError("the network's training progress is missing or damaged", source=source)
        counts = ("epoch", "batch", "step", "epoch_examples", "stale", "batch_size", "examples")
        if not all(_is_count(value[key]) for key in counts) or value["batch_size"] < 1:
            raise InputError("the network's training progress holds a count that is not a whole number >= 0", source=source)
        if not isinstance(value["seed"], int) or isinstance(value["seed"], bool) or not isinstance(value["done"], bool):
            raise InputError("the network's training progress is damaged (seed, done)", source=source)
        for key in ("epoch_loss", "best_loss"):
            number = value[key]
            if not (number is None and key == "best_loss") and not (_is_number(number) and math.isfinite(number)):
                raise InputError(f"the network's training progress has a damaged {key} ({number!r})", source=source)
        history = value["history"]
        if not isinstance(history, list) or not all(isinstance(e, dict) and all(map(_is_number, e.values())) for e in history):
            raise InputError("the network's training history is damaged", source=source)
        return cls(**{**value, "epoch_loss": float(value["epoch_loss"]), "history": [dict(e) for e in history]})


def _best_figures(progress: _Progress) -> dict[str, float]:
    """The validation figures of the best epoch so far (those of the weights a run keeps)."""
    for entry in reversed(progress.history):
        if entry.get("valid_loss", entry.get("loss")) == progress.best_loss:
            return {key: value for key, value in entry.items() if key.startswith("valid_")}
    return {}


def _is_count(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


# ---- the classifier -------------------------------------------------------------------------


class NetworkClassifier:
    """A network (what ``build`` makes) trained as a text classifier; the
    :class:`~textseq.classify.classifier.Classifier` protocol.

    ``network`` is the torch module once :meth:`fit` or :meth:`restore` has made it (None before).
    After :meth:`fit` it holds the best weights on validation; the weights training goes on from,
    where they differ, are kept beside them (and in :meth:`state`), so that a run that ended on the
    time budget resumes exactly."""

    def __init__(self, name: str, build: Build, config: dict[str, object]) -> None:
        self.name = name
        self.config: dict[str, Any] = config
        self.independent = False
        self.network: nn.Module | None = None
        self._build = build
        self._words: list[str] = []
        self._index: dict[str, int] = {}
        self._labels = 0
        self._device: torch.device | None = None
        self._progress: _Progress | None = None
        self._optimizer: _Optimizer | None = None
        self._optimizer_state: dict[str, Any] | None = None
        """An optimizer state restored, for the optimizer that the next :meth:`fit` makes."""
        self._rng: torch.Tensor | None = None
        self._cuda_rng: torch.Tensor | None = None
        self._best: Weights | None = None
        self._best_current = False
        """Whether the network's weights are the best ones (no step since they were kept)."""
        self._training: Weights | None = None
        """The weights to train on from, when the network holds the best ones instead."""

    # ---- training

    def fit(self, job: TrainingJob) -> None:
        import torch

        from textseq.neural.device import resolve_device

        settings = job.settings
        device, _ = resolve_device(settings.device, settings.threads)
        torch.manual_seed(settings.seed)
        if self.network is None or self._progress is None:
            self._start(job)
        else:
            self._continue(job)
        assert self.network is not None and self._progress is not None
        self.network.to(device)
        self._device = device
        if self._training is not None:
            self.network.load_state_dict(self._training)
            self._training, self._best_current = None, False
        self._optimizer = self._make_optimizer(settings.lr or LEARNING_RATE)
        self._resume_random(device)
        try:
            _Run(self, job, self.network, self._optimizer, self._progress, device).train()
        finally:
            self._rng = torch.get_rng_state()
            self._cuda_rng = torch.cuda.get_rng_state(device) if device.type == "cuda" else None

    def _start(self, job: TrainingJob) -> None:
        """A new run: the vocabulary, the network, its vectors, the progress."""
        types = job.train.types
        pairs = [(name, count) for name, count in zip(types.names, types.counts) if name != UNKNOWN]
        kept = most_frequent(pairs, min_count=int(self.config["min_count"]), max_size=int(self.config["max_vocab"]))
        self._set_vocabulary([word for word, _ in kept])
        self._labels = len(job.labels)
        self.independent = bool(job.multi_label)
        network = self._make_network()
        if getattr(network, "needs_vectors", False) and job.settings.vectors is None:
            raise ParameterError(
                f"{self.name} with these options starts from pretrained word vectors: give --vectors FILE", parameter="vectors"
            )
        if job.settings.vectors is not None:
            self._load_vectors(network, job.settings.vectors, job.settings.seed, job.monitor)
        self.network = network
        self._best, self._best_current, self._training = None, False, None
        self._optimizer = self._optimizer_state = None
        self._rng = self._cuda_rng = None
        self._progress = _Progress(seed=job.settings.seed, batch_size=job.settings.batch_size or BATCH_SIZE, examples=len(job.train))

    def _continue(self, job: TrainingJob) -> None:
        progress = self._progress
        assert progress is not None
        if len(job.labels) != self._labels:
            raise ParameterError(f"the run to resume has {self._labels} labels, this training data {len(job.labels)}", parameter="resume")
        if len(job.train) != progress.examples:
            job.monitor.note(
                f"the run resumed was trained on {progress.examples:,} examples, this one has {len(job.train):,}: the epoch goes on in another order"
            )
            progress.examples = len(job.train)
        settings = job.settings
        epochs = settings.epochs or EPOCHS
        progress.done = progress.epoch >= epochs or bool(settings.patience and progress.stale >= settings.patience)

    def _set_vocabulary(self, words: list[str]) -> None:
        self._words = words
        self._index = {word: i + 2 for i, word in enumerate(words)}
        self._index[UNKNOWN] = UNK

    def _make_network(self) -> nn.Module:
        network = self._build(self.config, len(self._words) + 2, self._labels)
        if not callable(getattr(network, "forward", None)) or not hasattr(network, "state_dict"):
            raise TypeError(f"{self.name}: build() must return a torch.nn.Module, not {type(network).__name__}")
        sparse = getattr(network, "sparse_gradients", None)
        if callable(sparse):
            sparse()
        return network

    def _make_optimizer(self, lr: float) -> _Optimizer:
        assert self.network is not None
        optimizer = _Optimizer(self.network, lr)
        if self._optimizer_state is not None:
            optimizer.load_state_dict(self._optimizer_state)
            self._optimizer_state = None
        elif self._optimizer is not None:
            optimizer.load_state_dict(self._optimizer.state_dict())
        optimizer.set_lr(lr)
        return optimizer

    def _resume_random(self, device: torch.device) -> None:
        import torch

        if self._rng is not None:
            torch.set_rng_state(self._rng)
        if self._cuda_rng is not None and device.type == "cuda":
            torch.cuda.set_rng_state(self._cuda_rng, device)
        self._rng = self._cuda_rng = None

    def _load_vectors(self, network: nn.Module, path: str, seed: int, monitor: Monitor) -> None:
        """The network's embeddings from the word vectors file at ``path`` (rows of words it lacks
        random, PAD zero), through the network's ``load_vectors`` or into its ``embedding``."""
        import torch

        from textseq.embed.io import load_vectors

        vectors = load_vectors(path)
        rows = np.fromiter((vectors.index.get(token, -1) for token in ["", UNKNOWN, *self._words]), dtype=np.int64)
        rows[PAD] = -1
        known = rows >= 0
        matrix = (_generator(seed, 1).standard_normal((len(rows), vectors.dim)) * VECTOR_INIT).astype(np.float32)
        matrix[known] = vectors.matrix[rows[known]]
        matrix[PAD] = 0.0
        loader = getattr(network, "load_vectors", None)
        if callable(loader):
            try:
                loader(torch.from_numpy(matrix), torch.from_numpy(known))
            except ValueError as exc:
                raise ParameterError(f"{path}: {exc}", parameter="vectors") from None
        else:
            embedding = getattr(network, "embedding", None)
            if not isinstance(embedding, torch.nn.Embedding) or embedding.num_embeddings != len(rows):
                raise ParameterError(f"{path}: this network takes no vectors", parameter="vectors")
            if embedding.embedding_dim != vectors.dim:
                raise ParameterError(
                    f"{path}: the vectors have {vectors.dim} dimensions, the network's embeddings {embedding.embedding_dim}",
                    parameter="vectors",
                )
            with torch.no_grad():
                embedding.weight.copy_(torch.from_numpy(matrix))
        covered = int(known[2:].sum())
        share = covered / max(len(self._words), 1)
        monitor.note(f"{path}: vectors for {covered:,} of the {len(self._words):,} vocabulary words ({share:.1%})")

    def _keep_best(self) -> None:
        assert self.network is not None
        self._best = _cpu_copy(self.network)
        self._best_current = True

    def _hold_best(self) -> None:
        """The network made to hold the best weights, the training ones kept beside them."""
        assert self.network is not None
        if self._best is not None and not self._best_current:
            self._training = _cpu_copy(self.network)
            self.network.load_state_dict(self._best)
            self._best_current = True

    # ---- prediction

    def log_probabilities(self, texts: Sequence[Sequence[str]]) -> np.ndarray:
        import torch

        network = self.network
        if network is None:
            raise ValueError("the classifier is not trained")
        device = self._device or torch.device("cpu")
        encoded = _texts_of_tokens(texts, self._index, int(self.config["max_length"]))
        out = np.zeros((len(encoded), self._labels), dtype=np.float64)
        was_training = network.training
        network.eval()
        try:
            with torch.no_grad():
                for chosen in _predict_batches(encoded.lengths):
                    tokens, lengths = encoded.padded(chosen)
                    logits = network(torch.from_numpy(tokens).to(device), torch.from_numpy(lengths).to(device)).float()
                    scores = torch.nn.functional.logsigmoid(logits) if self.independent else torch.log_softmax(logits, dim=1)
                    out[chosen] = scores.double().cpu().numpy()
        finally:
            network.train(was_training)
        return out

    # ---- state

    def state(self) -> tuple[dict[str, Any], dict[str, Any]]:
        import torch

        if self.network is None or self._progress is None:
            raise ValueError("the classifier is not trained")
        arrays: dict[str, np.ndarray] = {}
        if self._optimizer is not None:
            optimizer: object = self._optimizer.state_dict()
        else:
            optimizer = self._optimizer_state
        rng = self._rng if self._rng is not None else torch.get_rng_state()
        if self._cuda_rng is None and self._device is not None and self._device.type == "cuda":
            cuda: object = torch.cuda.get_rng_state(self._device)
        else:
            cuda = self._cuda_rng
        best: object = "weights" if self._best_current else (None if self._best is None else flatten(self._best, "best", arrays))
        meta = {
            "version": STATE_VERSION,
            "vocabulary": list(self._words),
            "labels": self._labels,
            "independent": self.independent,
            "progress": self._progress.to_json(),
            "weights": flatten(self.network.state_dict(), "weights", arrays),
            "best": best,
            "training": "weights" if self._training is None else flatten(self._training, "training", arrays),
            "optimizer": None if optimizer is None else flatten(optimizer, "optimizer", arrays),
            "rng": flatten(rng, "rng", arrays),
            "cuda_rng": None if cuda is None else flatten(cuda, "cuda_rng", arrays),
        }
        return meta, dict(arrays)

    def restore(self, state: dict[str, Any], arrays: dict[str, np.ndarray], labels: LabelSet, source: str) -> None:
        if not isinstance(state, dict) or state.get("version") != STATE_VERSION:
            raise InputError(f"the network's state is missing or of another version than {STATE_VERSION}", source=source)
        words = state.get("vocabulary")
        if (
            not isinstance(words, list)
            or not all(isinstance(word, str) and word != UNKNOWN for word in words)
            or len(set(words)) != len(words)
        ):
            raise InputError("the network's vocabulary is damaged", source=source)
        if state.get("labels") != len(labels):
            raise InputError(f"the network answers {state.get('labels')!r} labels, the model file names {len(labels)}", source=source)
        independent = state.get("independent")
        if not isinstance(independent, bool):
            raise InputError("the network's 'independent' entry is damaged", source=source)
        progress = _Progress.from_json(state.get("progress"), source)
        self._set_vocabulary(list(words))
        self._labels = len(labels)
        try:
            network = self._make_network()
        except ValueError as exc:
            raise InputError(f"the model file's config does not make a '{self.name}' network: {exc}", source=source) from None
        like = network.state_dict()
        network.load_state_dict(_weights(state.get("weights"), arrays, like, "weights", source))
        best_entry, training_entry = state.get("best"), state.get("training")
        self._best_current = best_entry == "weights"
        self._best = (
            None
            if best_entry is None
            else (_cpu_copy(network) if self._best_current else _weights(best_entry, arrays, like, "best", source))
        )
        self._training = None if training_entry == "weights" else _weights(training_entry, arrays, like, "training", source)
        self._optimizer_state = _optimizer_state(state.get("optimizer"), arrays, network, source)
        self._rng = _random_state(state.get("rng"), arrays, "rng", source)
        cuda = state.get("cuda_rng")
        self._cuda_rng = None if cuda is None else _random_state(cuda, arrays, "cuda_rng", source)
        self.network, self.independent, self._progress = network, independent, progress
        self._optimizer, self._device = None, None


def _cpu_copy(network: nn.Module) -> Weights:
    return {key: value.detach().to("cpu", copy=True) for key, value in network.state_dict().items()}


def _weights(tree: object, arrays: Mapping[str, np.ndarray], like: Mapping[str, torch.Tensor], what: str, source: str) -> Weights:
    """The weights the model file stores under ``what``, checked against the network's (``like``):
    the same names, shapes and kinds of numbers, floating-point ones finite."""
    import torch

    stored = unflatten(tree, arrays, source)
    if not isinstance(stored, dict):
        raise InputError(f"the network's {what} are missing or damaged", source=source)
    missing, extra = sorted(set(like) - set(stored)), sorted(set(stored) - set(like))
    if missing or extra:
        detail = f"lack '{missing[0]}'" if missing else f"hold '{extra[0]}', which the network has not"
        raise InputError(f"the network's {what} {detail}", source=source)
    weights: Weights = {}
    for key, reference in like.items():
        value = stored[key]
        if not isinstance(value, np.ndarray) or value.shape != tuple(reference.shape):
            shape = list(value.shape) if isinstance(value, np.ndarray) else type(value).__name__
            raise InputError(f"the network's {what} '{key}' is {shape}, but the network makes {list(reference.shape)}", source=source)
        tensor = torch.from_numpy(np.array(value))
        if tensor.is_floating_point() != reference.is_floating_point() or tensor.is_complex():
            raise InputError(f"the network's {what} '{key}' holds numbers of the wrong kind ({value.dtype})", source=source)
        if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all()):
            raise InputError(f"the network's {what} '{key}' holds values that are not finite", source=source)
        weights[key] = tensor.to(reference.dtype)
    return weights


def _tensors(tree: object) -> object:
    """A stored tree with its numpy arrays made (writable) torch tensors."""
    import torch

    if isinstance(tree, np.ndarray):
        return torch.from_numpy(np.array(tree))
    if isinstance(tree, dict):
        return {key: _tensors(value) for key, value in tree.items()}
    if isinstance(tree, list):
        return [_tensors(value) for value in tree]
    return tree


def _optimizer_state(tree: object, arrays: Mapping[str, np.ndarray], network: nn.Module, source: str) -> dict[str, Any] | None:
    """The optimizer's stored state (:meth:`_Optimizer.state_dict`), checked by loading it into an
    optimizer over ``network``: its groups must fit the parameters, each moment be of its
    parameter's shape. One AdamW state alone (what files of the first version hold) is taken as
    the state of the dense part."""
    import warnings

    import torch

    if tree is None:
        return None
    state = _tensors(unflatten(tree, arrays, source))
    if isinstance(state, dict) and set(state) == {"state", "param_groups"}:
        state = {"dense": state, "sparse": None}
    if not isinstance(state, dict) or set(state) != set(_Optimizer.PARTS) or not all(map(_is_optimizer_state, state.values())):
        raise InputError("the network's optimizer state is damaged", source=source)
    trial = _Optimizer(network, LEARNING_RATE)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            trial.load_state_dict(state)
    except (ValueError, KeyError, TypeError, IndexError, AttributeError, RuntimeError, Warning) as exc:
        raise InputError(f"the optimizer state does not fit the network ({' '.join(str(exc).split())})", source=source) from None
    for optimizer in trial.parts():
        for parameter, entry in optimizer.state.items():
            assert isinstance(parameter, torch.Tensor)
            for key, value in entry.items():
                if key == "step":
                    fits = (isinstance(value, torch.Tensor) and value.numel() == 1) or _is_count(value)
                else:
                    fits = isinstance(value, torch.Tensor) and value.shape == parameter.shape
                if not fits:
                    raise InputError(f"the optimizer's '{key}' does not fit a parameter of shape {list(parameter.shape)}", source=source)
    return state


def _is_optimizer_state(part: object) -> bool:
    """Whether ``part`` is None or looks like a torch optimizer's state dict (its groups' betas,
    stored as lists, made tuples again)."""
    if part is None:
        return True
    if not isinstance(part, dict) or not isinstance(part.get("param_groups"), list) or not isinstance(part.get("state"), dict):
        return False
    for group in part["param_groups"]:
        if isinstance(group, dict) and isinstance(group.get("betas"), list):
            group["betas"] = tuple(group["betas"])
    return True


# ---- the optimizer --------------------------------------------------------------------------


class _Optimizer:
    """AdamW over a network's dense parameters, SparseAdam over the tables of its sparse embeddings
    (``nn.Embedding(sparse=True)``, as the built-in networks make them): a step updates only the
    rows that its batch used, and their moments (lazily, as TensorFlow's LazyAdam), so that it
    costs the batch's words and not the whole vocabulary (with 100k words of 300 dimensions,
    dense AdamW took 0.4 s of a 0.5 s step on one core). The sparse tables get no weight decay.

    Its state is ``{"dense": AdamW's, "sparse": SparseAdam's}``, None for a part without parameters."""

    PARTS = ("dense", "sparse")

    def __init__(self, network: nn.Module, lr: float) -> None:
        import torch

        trained = [p for p in network.parameters() if p.requires_grad]
        tables = {id(m.weight) for m in network.modules() if isinstance(m, torch.nn.Embedding) and m.sparse}
        self.dense_parameters = [p for p in trained if id(p) not in tables]
        self.sparse_parameters = [p for p in trained if id(p) in tables]
        if not trained:
            raise ValueError("the network has no parameters to train")
        self.dense = torch.optim.AdamW(self.dense_parameters, lr=lr) if self.dense_parameters else None
        self.sparse = torch.optim.SparseAdam(self.sparse_parameters, lr=lr) if self.sparse_parameters else None

    def parts(self) -> list[torch.optim.Optimizer]:
        return [part for part in (self.dense, self.sparse) if part is not None]

    def set_lr(self, lr: float) -> None:
        for part in self.parts():
            for group in part.param_groups:
                group["lr"] = lr

    def zero_grad(self) -> None:
        for part in self.parts():
            part.zero_grad(set_to_none=True)

    def clip(self, clip: float) -> None:
        """The gradients scaled so that their total L2 norm is at most ``clip``, as torch's
        ``clip_grad_norm_`` does it (which takes no sparse gradients)."""
        import torch

        gradients = [p.grad for p in self.dense_parameters if p.grad is not None]
        for parameter in self.sparse_parameters:
            if parameter.grad is not None:
                parameter.grad = parameter.grad.coalesce()
                gradients.append(parameter.grad._values())
        if not gradients:
            return
        coefficient = torch.clamp(clip / (torch.nn.utils.get_total_norm(gradients) + 1e-6), max=1.0)
        for gradient in gradients:
            gradient.mul_(coefficient)

    def step(self) -> None:
        for part in self.parts():
            part.step()

    def state_dict(self) -> dict[str, Any]:
        return {name: None if part is None else part.state_dict() for name, part in zip(self.PARTS, (self.dense, self.sparse))}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        for name, part in zip(self.PARTS, (self.dense, self.sparse)):
            entry = state.get(name)
            if (entry is None) != (part is None):
                have = "has" if part is not None else "has no"
                raise ValueError(f"the network {have} {name} parameters, the stored state {'lacks' if entry is None else 'holds'} them")
            if part is not None and entry is not None:
                part.load_state_dict(entry)


def _random_state(tree: object, arrays: Mapping[str, np.ndarray], what: str, source: str) -> torch.Tensor:
    import torch

    value = unflatten(tree, arrays, source)
    if not isinstance(value, np.ndarray) or value.dtype != np.uint8 or value.ndim != 1:
        raise InputError(f"the network's random generator state ({what}) is missing or damaged", source=source)
    tensor = torch.from_numpy(np.array(value))
    if what == "rng":
        current = torch.get_rng_state()
        try:
            torch.set_rng_state(tensor)
        except (RuntimeError, ValueError) as exc:
            raise InputError(f"the network's random generator state is damaged ({' '.join(str(exc).split())})", source=source) from None
        finally:
            torch.set_rng_state(current)
    return tensor


# ---- one run --------------------------------------------------------------------------------


class _Run:
    """One :meth:`NetworkClassifier.fit`: the epochs from where ``progress`` stands."""

    def __init__(
        self,
        owner: NetworkClassifier,
        job: TrainingJob,
        network: nn.Module,
        optimizer: _Optimizer,
        progress: _Progress,
        device: torch.device,
    ) -> None:
        import torch

        self.owner, self.job, self.network, self.optimizer, self.progress, self.device = owner, job, network, optimizer, progress, device
        settings = job.settings
        self.epochs = settings.epochs or EPOCHS
        self.labels = len(job.labels)
        types = job.train.types
        type_ids = np.fromiter((owner._index.get(name, UNK) for name in types.names), dtype=np.int64, count=len(types.names))
        max_length = int(owner.config["max_length"])
        self.train_texts = _texts_of_examples(job.train, type_ids, max_length)
        self.valid_texts = _texts_of_examples(job.valid, type_ids, max_length)
        self.train_targets = _Targets.of(job.train, self.labels)
        self.valid_targets = _Targets.of(job.valid, self.labels)
        weights = job.class_weights
        if weights is not None and len(weights) != self.labels:
            raise ValueError(f"{len(weights)} class weights for {self.labels} labels")
        self.weights = None if weights is None else torch.as_tensor(np.asarray(weights, dtype=np.float32), device=device)
        self.autocast: contextlib.AbstractContextManager[object] = (
            torch.autocast("cuda", dtype=torch.bfloat16) if settings.bf16 and device.type == "cuda" else contextlib.nullcontext()
        )
        self.after_step = getattr(network, "after_step", None)
        self.started = time.monotonic()
        self.seconds = 0.0
        self.validation_seconds: float | None = None
        self.budget_reached = False
        job.metrics = _best_figures(progress)

    def train(self) -> None:
        """The epochs left; on the time budget or ``max_steps``, the resumable checkpoint and the
        best weights in the network. KeyboardInterrupt from ``job.stop()`` goes on up."""
        progress, monitor = self.progress, self.job.monitor
        examples = len(self.train_texts)
        monitor.begin("training", self.epochs * examples, "examples")
        monitor.update(progress.epoch * examples + progress.epoch_examples)
        self.network.train()
        try:
            while not progress.done and progress.epoch < self.epochs:
                if not self._epoch():
                    self.job.finished = False
                    if self.budget_reached:
                        self._validate_at_budget()
                    self._checkpoint(final=True)
                    self.owner._hold_best()
                    return
                self._end_epoch()
            progress.done = True
            self.owner._hold_best()
        finally:
            monitor.end()

    def _epoch(self) -> bool:
        """The rest of the current epoch's steps; False where a limit stopped it."""
        progress, settings = self.progress, self.job.settings
        batches = _epoch_batches(self.train_texts.lengths, progress.batch_size, progress.seed, progress.epoch)
        while progress.batch < len(batches):
            if settings.max_steps is not None and progress.step >= settings.max_steps:
                self.job.monitor.note(f"stopping after step {progress.step} (max steps {settings.max_steps})")
                return False
            begun = time.monotonic()
            self._step(batches[progress.batch])
            self.seconds += time.monotonic() - begun
            self.job.stop()
            if settings.time_budget is not None and time.monotonic() - self.started + self._reserve() >= settings.time_budget:
                self.job.monitor.note(f"time budget of {settings.time_budget:g} s reached after step {progress.step}")
                self.budget_reached = True
                return False
        return True

    def _reserve(self) -> float:
        """The seconds to keep for the validation at the time budget: the last validation's, or
        before any, a third (forward only) of the training's time an example, for each example."""
        if self.validation_seconds is not None:
            return self.validation_seconds
        done = self.progress.epoch_examples
        return self.seconds / done * len(self.valid_texts) / 3 if done else 0.0

    def _batch(self, texts: _Texts, chosen: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        import torch

        tokens, lengths = texts.padded(chosen)
        return torch.from_numpy(tokens).to(self.device), torch.from_numpy(lengths).to(self.device)

    def _losses(self, logits: torch.Tensor, targets: _Targets, chosen: np.ndarray) -> torch.Tensor:
        """Each example's loss: cross-entropy, or for independent labels the mean binary
        cross-entropy over them; class weights scale an example's loss (its positive terms)."""
        import torch
        from torch.nn import functional

        if self.owner.independent:
            hot = torch.from_numpy(targets.hot(chosen)).to(self.device)
            return functional.binary_cross_entropy_with_logits(logits, hot, pos_weight=self.weights, reduction="none").mean(1)
        gold = torch.from_numpy(targets.first[chosen]).to(self.device)
        return functional.cross_entropy(logits, gold, weight=self.weights, reduction="none")

    def _step(self, chosen: np.ndarray) -> None:
        from textseq.neural.train import blown_up, diverged

        tokens, lengths = self._batch(self.train_texts, chosen)
        self.optimizer.zero_grad()
        with self.autocast:
            logits = self.network(tokens, lengths)
        loss = self._losses(logits.float(), self.train_targets, chosen).mean()
        loss.backward()
        self.optimizer.clip(CLIP)
        self.optimizer.step()
        if callable(self.after_step):
            self.after_step()
        value = float(loss.detach())
        progress = self.progress
        progress.step += 1
        progress.batch += 1
        progress.epoch_loss += value * len(chosen)
        progress.epoch_examples += len(chosen)
        self.owner._best_current = False
        self.job.monitor.update(progress.epoch * len(self.train_texts) + progress.epoch_examples)
        if blown_up(value, self.labels):
            raise diverged(progress.step, f"the training loss is {value:.4g}")

    def _validate(self) -> dict[str, float]:
        """The mean loss on the validation examples and the share whose top label is one of theirs."""
        import torch

        texts, targets = self.valid_texts, self.valid_targets
        if not len(texts):
            return {}
        total, correct = 0.0, 0
        self.network.eval()
        try:
            with torch.no_grad():
                for chosen in _predict_batches(texts.lengths):
                    with self.autocast:
                        logits = self.network(*self._batch(texts, chosen))
                    logits = logits.float()
                    total += float(self._losses(logits, targets, chosen).sum())
                    top = logits.argmax(dim=1).cpu().numpy()
                    correct += int(targets.hot(chosen)[np.arange(len(chosen)), top].sum())
        finally:
            self.network.train()
        return {"valid_loss": total / len(texts), "valid_accuracy": correct / len(texts)}

    def _end_epoch(self) -> None:
        """Validate, report, keep the best weights (and write them), stop early when validation has
        stopped improving, write the resumable state."""
        from textseq.neural.train import blown_up, diverged

        progress, job = self.progress, self.job
        progress.epoch += 1
        progress.batch = 0
        begun = time.monotonic()
        metrics = self._validate()
        self.validation_seconds = time.monotonic() - begun
        loss = progress.epoch_loss / max(progress.epoch_examples, 1)
        job.monitor.epoch_done(
            EpochReport(progress.epoch, self.epochs, loss, progress.epoch_examples, "examples", self.seconds, dict(metrics))
        )
        progress.history.append({"epoch": progress.epoch, "step": progress.step, "loss": loss, **metrics})
        progress.epoch_loss, progress.epoch_examples, self.seconds = 0.0, 0, 0.0
        criterion = metrics.get("valid_loss", loss)
        if blown_up(criterion, self.labels):
            raise diverged(progress.step, f"the validation loss is {criterion:.4g}")
        if progress.best_loss is None or criterion < progress.best_loss:
            progress.best_loss, progress.stale = criterion, 0
            job.metrics = dict(metrics)
            self.owner._keep_best()
            self._checkpoint(final=False)
        else:
            progress.stale += 1
            patience = job.settings.patience
            if patience and progress.stale >= patience:
                job.monitor.note(f"stopping early: no better validation loss for {progress.stale} epochs")
                progress.done = True
        if progress.epoch >= self.epochs:
            progress.done = True
        self._checkpoint(final=True)
        job.stop()

    def _validate_at_budget(self) -> None:
        """The weights the time budget stopped at validated (the figures go to the history, at a
        fractional epoch) and kept as the best where their loss is lower (the model file written
        after training gets them), so that the budget's last part of an epoch is not lost. The training, resumed, goes on from them as it would have;
        only which weights are the best (and so kept) may differ from an unstopped run's."""
        progress, job = self.progress, self.job
        metrics = self._validate()
        if not metrics:
            return
        batches = math.ceil(len(self.train_texts) / progress.batch_size)
        at = progress.epoch + progress.batch / batches
        loss = progress.epoch_loss / max(progress.epoch_examples, 1)
        progress.history.append({"epoch": at, "step": progress.step, "loss": loss, **metrics})
        criterion = metrics["valid_loss"]
        better = progress.best_loss is None or criterion < progress.best_loss
        kept = "kept as the best" if better else f"the best stays (valid loss {progress.best_loss:.4f})"
        job.monitor.note(
            f"at the time budget (epoch {at:.2f}): valid loss {criterion:.4f}, valid accuracy {metrics['valid_accuracy']:.4f}; {kept}"
        )
        if better:
            progress.best_loss = criterion
            job.metrics = dict(metrics)
            self.owner._keep_best()

    def _checkpoint(self, *, final: bool) -> None:
        """``job.checkpoint``, refused (the run has diverged) while a weight is not finite."""
        import torch

        from textseq.neural.train import diverged

        for name, parameter in self.network.named_parameters():
            if not bool(torch.isfinite(parameter.detach()).all()):
                raise diverged(self.progress.step, f"weight '{name}' holds values that are not finite")
        self.job.checkpoint(final)
