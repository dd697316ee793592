"""``linear``: fastText's supervised model (Joulin et al. 2017), trained as fastText trains it.

A text is the mean of the input rows of its words, its hashed word n-grams and its words' hashed
character n-grams (:mod:`textseq.classify.linear_features`); a linear layer scores the labels
(softmax, hierarchical softmax over a Huffman tree of the labels, or one-vs-all logistic for
multi-label data). SGD with a learning rate falling linearly to 0, Hogwild threads
(:mod:`textseq.classify.linear_kernel`).

Where it parts from fastText, on purpose: examples are shuffled each epoch (fastText reads the
file in order, so a file sorted by label trains badly); a line with several labels trains softmax
towards all of them at once (fastText picks one at random); only buckets that the training text
uses get a row (a bucket first seen at prediction adds nothing, where fastText adds a random
vector), so the model takes less memory and less disk; class weights scale the loss.
Prediction needs numpy only.
"""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import TYPE_CHECKING, Any

import numpy as np

from textseq.classify.linear_features import TypeFeatures, example_features, token_hash, type_features
from textseq.errors import InputError
from textseq.neural.blas import cpu_threads
from textseq.progress import EpochReport
from textseq.vocab import most_frequent

if TYPE_CHECKING:
    from textseq.classify.classifier import TrainingJob
    from textseq.classify.data import LabelSet
    from textseq.classify.examples import EncodedExamples

LOSS_NAMES = ("softmax", "hs", "ova")
MAX_THREADS = 256
HIDDEN_SLICE = 64
JOB_EXAMPLES = 2048
"""Examples per job: threads take jobs in turn; progress, stops and resumption are per job."""


def _whole(name: str, value: object, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValueError(f"{name} must be a whole number from {low:,} to {high:,}, not {value!r}")
    return value


class LinearClassifier:
    """fastText's model; the options are fastText's (``dim``, ``word_ngrams``, ``buckets``,
    ``minn``, ``maxn``, ``loss``, ``min_count``)."""

    independent: bool

    def __init__(
        self,
        dim: int = 100,
        word_ngrams: int = 1,
        buckets: int = 2_000_000,
        minn: int = 0,
        maxn: int = 0,
        loss: str = "softmax",
        min_count: int = 1,
    ) -> None:
        dim = _whole("dim", dim, 1, 1 << 14)
        word_ngrams = _whole("word_ngrams", word_ngrams, 1, 16)
        buckets = _whole("buckets", buckets, 1, (1 << 31) - 1)
        minn = _whole("minn", minn, 0, 64)
        maxn = _whole("maxn", maxn, 0, 64)
        min_count = _whole("min_count", min_count, 1, 1 << 40)
        if maxn and minn > maxn:
            raise ValueError(f"minn ({minn}) must be at most maxn ({maxn})")
        if maxn and not minn:
            raise ValueError("maxn needs minn >= 1 (character n-grams from minn to maxn characters)")
        if loss not in LOSS_NAMES:
            raise ValueError(f"loss must be one of {', '.join(LOSS_NAMES)}, not {loss!r}")
        self.config: dict[str, Any] = {
            "dim": dim,
            "word_ngrams": word_ngrams,
            "buckets": buckets,
            "minn": minn,
            "maxn": maxn,
            "loss": loss,
            "min_count": min_count,
        }
        self.independent = loss == "ova"
        self.words: list[str] = []
        self.word_index: dict[str, int] = {}
        self.word_hashes = np.zeros(0, np.uint64)
        self.bucket_rows = np.zeros(0, np.int32)
        self.inputs = np.zeros((0, dim), np.float32)
        self.outputs = np.zeros((0, dim), np.float32)
        self.codes = np.zeros((0, 1), np.uint8)
        self.points = np.zeros((0, 1), np.int32)
        self.code_lengths = np.zeros(0, np.int32)
        self.progress: dict[str, Any] = {"epoch": 0, "jobs_done": [], "tokens_done": 0, "history": [], "epoch_loss": [0.0, 0]}
        self._type_cache: dict[str, tuple[int, int, np.ndarray]] = {}

    @property
    def _uses_buckets(self) -> bool:
        return self.config["word_ngrams"] > 1 or self.config["maxn"] > 0

    # ---- features -------------------------------------------------------------------------

    def _rows(self, keys: np.ndarray) -> np.ndarray:
        """Input rows of feature keys: words as they are, buckets through the table; -1 for a bucket with no row."""
        words = len(self.words)
        rows = keys.copy()
        is_bucket = keys >= words
        if is_bucket.any():
            rows[is_bucket] = self.bucket_rows[keys[is_bucket] - words]
        return rows

    def _encoded_features(self, examples: EncodedExamples, types: TypeFeatures) -> tuple[np.ndarray, np.ndarray]:
        config = self.config
        offsets, keys = example_features(
            examples.offsets,
            examples.tokens,
            types,
            words=len(self.words),
            word_ngrams=config["word_ngrams"],
            buckets=config["buckets"] if self._uses_buckets else 0,
        )
        return _drop_missing(offsets, self._rows(keys))

    def _text_features(self, texts: Sequence[Sequence[str]]) -> tuple[np.ndarray, np.ndarray]:
        """Feature rows of tokenized texts, for prediction. Without character n-grams each token
        is looked up once and is its own type; with them, the distinct tokens are the types, so
        that a word's n-grams are worked out once a batch."""
        flat = list(itertools.chain.from_iterable(texts))
        offsets = np.zeros(len(texts) + 1, dtype=np.int64)
        np.cumsum([len(text) for text in texts], out=offsets[1:])
        config = self.config
        maxn = config["maxn"] if self._uses_buckets else 0
        if maxn:
            names = list(dict.fromkeys(flat))
            local = dict(zip(names, range(len(names))))
            token_types = np.fromiter(map(local.__getitem__, flat), dtype=np.int64, count=len(flat))
        else:
            names = flat
            token_types = np.arange(len(flat), dtype=np.int64)
        word_keys = np.fromiter(map(self.word_index.get, names, itertools.repeat(-1)), dtype=np.int64, count=len(names))
        hashes = self.word_hashes[np.maximum(word_keys, 0)] if len(self.word_hashes) else np.zeros(len(names), np.uint64)
        if config["word_ngrams"] > 1 or maxn:
            for at in np.flatnonzero(word_keys < 0).tolist():
                hashes[at] = token_hash(names[at])
        types = type_features(names, word_keys, buckets=config["buckets"], minn=config["minn"], maxn=maxn, hashes=hashes)
        feature_offsets, keys = example_features(
            offsets,
            token_types,
            types,
            words=len(self.words),
            word_ngrams=config["word_ngrams"],
            buckets=config["buckets"] if self._uses_buckets else 0,
        )
        return _drop_missing(feature_offsets, self._rows(keys))

    # ---- prediction -----------------------------------------------------------------------

    def _hidden(self, offsets: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """Each example's mean input row, a slice of examples at a time, the slice's rows gathered
        into one buffer: it stays in the cache, where the rows of a whole file would be a second
        copy of the model in fresh memory."""
        counts = np.diff(offsets)
        dim = self.inputs.shape[1]
        hidden = np.zeros((len(counts), dim), dtype=np.float32)
        starts = np.arange(0, len(counts), HIDDEN_SLICE)
        stops = np.minimum(starts + HIDDEN_SLICE, len(counts))
        spans = offsets[stops] - offsets[starts]
        buffer = np.empty((int(spans.max()) if len(spans) else 0, dim), dtype=np.float32)
        for start, stop, span in zip(starts.tolist(), stops.tolist(), spans.tolist()):
            filled = np.flatnonzero(counts[start:stop]) + start
            if not len(filled):
                continue
            gathered = buffer[:span]
            np.take(self.inputs, rows[offsets[start] : offsets[stop]], axis=0, out=gathered)
            sums = np.add.reduceat(gathered, offsets[filled] - offsets[start], axis=0)
            hidden[filled] = sums / counts[filled, None]
        return hidden

    def _log_probabilities(self, hidden: np.ndarray) -> np.ndarray:
        loss = self.config["loss"]
        scores = hidden.astype(np.float64) @ self.outputs.T.astype(np.float64)
        if loss == "softmax":
            top = scores.max(axis=1, keepdims=True)
            shifted = scores - top
            return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
        if loss == "ova":
            return -np.logaddexp(0.0, -scores)
        signs = 1.0 - 2.0 * self.codes.astype(np.float64)  # code 0: the branch whose sigmoid is the probability
        mask = np.arange(self.codes.shape[1])[None, :] < self.code_lengths[:, None]
        node_scores = scores[:, self.points]  # [N, labels, depth]
        return np.where(mask[None], -np.logaddexp(0.0, -signs[None] * node_scores), 0.0).sum(axis=2)

    def log_probabilities(self, texts: Sequence[Sequence[str]]) -> np.ndarray:
        offsets, rows = self._text_features(texts)
        return self._log_probabilities(self._hidden(offsets, rows))

    # ---- training -------------------------------------------------------------------------

    def _build_vocabulary(self, examples: EncodedExamples, labels: LabelSet) -> TypeFeatures:
        """Words from the training counts (most frequent first), type features of every type."""
        config = self.config
        names = examples.types.names
        counts = examples.types.count_array()
        kept = [(name, int(c)) for name, c in most_frequent(dict(zip(names, counts.tolist()))) if c >= config["min_count"]]
        self.words = [name for name, _ in kept]
        self.word_index = {name: i for i, name in enumerate(self.words)}
        word_keys = np.fromiter((self.word_index.get(name, -1) for name in names), dtype=np.int64, count=len(names))
        types = type_features(
            names, word_keys, buckets=config["buckets"], minn=config["minn"], maxn=config["maxn"] if self._uses_buckets else 0
        )
        self.word_hashes = np.zeros(len(self.words), np.uint64)
        self.word_hashes[word_keys[word_keys >= 0]] = types.hashes[word_keys >= 0]
        return types

    def _allocate(self, train_keys: np.ndarray, labels: LabelSet, label_counts: np.ndarray, seed: int) -> None:
        config = self.config
        words = len(self.words)
        seen = np.zeros(config["buckets"] if self._uses_buckets else 0, dtype=bool)
        seen[train_keys[train_keys >= words] - words] = True
        used = np.flatnonzero(seen)
        self.bucket_rows = np.full(len(seen), -1, dtype=np.int32)
        self.bucket_rows[used] = np.arange(words, words + len(used), dtype=np.int32)
        del seen
        rows, dim = words + len(used), config["dim"]
        rng = np.random.default_rng(seed)
        self.inputs = rng.random((rows, dim), dtype=np.float32)
        self.inputs *= np.float32(2.0 / dim)
        self.inputs -= np.float32(1.0 / dim)
        if config["loss"] == "hs":
            from textseq.embed.word2vec import huffman_tree

            self.codes, self.points, self.code_lengths = huffman_tree(np.maximum(label_counts, 1).astype(np.int64))
            self.outputs = np.zeros((max(len(labels) - 1, 1), dim), np.float32)
        else:
            self.outputs = np.zeros((len(labels), dim), np.float32)

    def fit(self, job: TrainingJob) -> None:
        config, settings = self.config, job.settings
        epochs = settings.epochs or 5
        lr = settings.lr if settings.lr is not None else 0.1
        threads = cpu_threads(settings.threads)
        started = time.monotonic()
        if self.inputs.shape[0] == 0:
            types = self._build_vocabulary(job.train, job.labels)
            offsets, keys = example_features(
                job.train.offsets,
                job.train.tokens,
                types,
                words=len(self.words),
                word_ngrams=config["word_ngrams"],
                buckets=config["buckets"] if self._uses_buckets else 0,
            )
            self._allocate(keys, job.labels, job.train.label_counts(len(job.labels)), settings.seed)
            train = _drop_missing(offsets, self._rows(keys))
        else:
            names = job.train.types.names
            word_keys = np.fromiter((self.word_index.get(name, -1) for name in names), dtype=np.int64, count=len(names))
            types = type_features(
                names, word_keys, buckets=config["buckets"], minn=config["minn"], maxn=config["maxn"] if self._uses_buckets else 0
            )
            train = self._encoded_features(job.train, types)
        valid = self._encoded_features(job.valid, types) if len(job.valid) else None
        self._train(job, train, valid, epochs=epochs, lr=lr, threads=threads, started=started)

    def _train(
        self,
        job: TrainingJob,
        train: tuple[np.ndarray, np.ndarray],
        valid: tuple[np.ndarray, np.ndarray] | None,
        *,
        epochs: int,
        lr: float,
        threads: int,
        started: float,
    ) -> None:
        from textseq.classify.linear_kernel import LOSSES, train_examples

        settings, progress = job.settings, self.progress
        seed = progress.setdefault("seed", settings.seed)  # a resumed run keeps its order of examples
        feature_offsets, features = train
        token_counts = np.maximum(np.diff(job.train.offsets), 1).astype(np.int64)
        total_tokens = float(token_counts.sum()) * epochs
        weights = job.class_weights if job.class_weights is not None else np.ones(len(job.labels), np.float32)
        weights = np.asarray(weights, dtype=np.float32)
        shared = np.zeros(max(threads, 1), dtype=np.int64)
        shared[0] = progress["tokens_done"]
        examples = len(job.train)
        job.monitor.begin("training", total_tokens, "tokens")
        pool = ThreadPoolExecutor(threads) if threads > 1 else None

        def run(order: np.ndarray, slot: int) -> tuple[float, int]:
            loss, count = train_examples(
                self.inputs,
                self.outputs,
                feature_offsets,
                features,
                job.train.label_offsets,
                job.train.label_ids,
                token_counts,
                order,
                weights,
                self.codes,
                self.points,
                self.code_lengths,
                LOSSES[self.config["loss"]],
                lr,
                total_tokens,
                shared,
                slot,
            )
            return float(loss), int(count)

        try:
            while progress["epoch"] < epochs:
                epoch = progress["epoch"]
                order = np.random.default_rng([seed, epoch]).permutation(examples)
                jobs = [order[i : i + JOB_EXAMPLES] for i in range(0, examples, JOB_EXAMPLES)]
                epoch_started = time.monotonic()
                losses = progress["epoch_loss"]  # carried in the state, so that a resumed epoch reports all of it
                progress["jobs_done"] = [index for index in progress["jobs_done"] if index < len(jobs)]
                done = set(progress["jobs_done"])
                if not self._run_jobs(
                    run, jobs, [i for i in range(len(jobs)) if i not in done], pool, threads, job, shared, losses, started
                ):
                    job.monitor.note(f"time budget of {settings.time_budget:g} s reached in epoch {epoch + 1}")
                    job.finished = False
                    return
                progress["epoch"] = epoch + 1
                progress["jobs_done"] = []
                progress["epoch_loss"] = [0.0, 0]
                mean_loss = losses[0] / max(losses[1], 1)
                metrics = self._validate(valid, job) if valid is not None else {}
                progress["history"].append({"epoch": epoch + 1, "loss": mean_loss, **metrics})
                job.metrics = dict(metrics)
                seconds = time.monotonic() - epoch_started
                job.monitor.epoch_done(EpochReport(epoch + 1, epochs, mean_loss, int(token_counts.sum()), "tokens", seconds, metrics))
                if self._out_of_time(settings.time_budget, started) and progress["epoch"] < epochs:
                    job.monitor.note(f"time budget of {settings.time_budget:g} s reached after epoch {epoch + 1}")
                    job.finished = False
                    return
        finally:
            progress["tokens_done"] = int(shared.sum())
            if pool is not None:
                pool.shutdown(wait=True)
            job.monitor.end()

    @staticmethod
    def _out_of_time(budget: float | None, started: float) -> bool:
        return budget is not None and time.monotonic() - started >= budget

    def _run_jobs(
        self,
        run: Any,
        jobs: list[np.ndarray],
        pending: list[int],
        pool: ThreadPoolExecutor | None,
        threads: int,
        job: TrainingJob,
        shared: np.ndarray,
        losses: list[Any],
        started: float,
    ) -> bool:
        """Run the epoch's ``pending`` jobs, ``threads`` at a time; between jobs, report progress,
        take a stop request and mind the time budget. Each job done is in ``progress``; whether
        all are."""
        progress, budget = self.progress, job.settings.time_budget
        queue = list(pending)
        running: dict[Future[tuple[float, int]], tuple[int, int]] = {}
        free = list(range(threads))
        stopping: BaseException | None = None
        while queue or running:
            while queue and free and stopping is None and not self._out_of_time(budget, started):
                index = queue.pop(0)
                if pool is None:
                    self._record(index, run(jobs[index], 0), losses)
                    break
                slot = free.pop()
                running[pool.submit(run, jobs[index], slot)] = (slot, index)
            if running:
                finished, _ = wait(running, timeout=0.2, return_when=FIRST_COMPLETED)
                for future in finished:
                    slot, index = running.pop(future)
                    self._record(index, future.result(), losses)
                    free.append(slot)
            job.monitor.update(float(shared.sum()))
            if stopping is None:
                try:
                    job.stop()
                except KeyboardInterrupt as exc:
                    stopping = exc
            if (stopping is not None or self._out_of_time(budget, started)) and not running:
                break
        if stopping is not None:
            raise stopping
        return set(progress["jobs_done"]) >= set(range(len(jobs)))

    def _record(self, index: int, result: tuple[float, int], losses: list[Any]) -> None:
        losses[0] += result[0]
        losses[1] += result[1]
        self.progress["jobs_done"].append(index)

    def _validate(self, valid: tuple[np.ndarray, np.ndarray], job: TrainingJob) -> dict[str, float]:
        from textseq.classify.linear_kernel import mean_rows

        log_probs = self._log_probabilities(mean_rows(self.inputs, *valid))
        gold = job.valid
        first = gold.first_labels()
        top = log_probs.argmax(axis=1)
        correct = np.zeros(len(gold), dtype=bool)
        for i in range(len(gold)):
            correct[i] = top[i] in gold.labels_of(i)
        loss = -float(log_probs[np.arange(len(gold)), first].mean()) if len(gold) else math.nan
        return {"valid_loss": loss, "valid_accuracy": float(correct.mean()) if len(gold) else math.nan}

    # ---- the model file -------------------------------------------------------------------

    def state(self) -> tuple[dict[str, Any], dict[str, Any]]:
        meta = {"words": self.words, "progress": self.progress}
        arrays = {
            "word_hashes": self.word_hashes,
            "bucket_rows": self.bucket_rows,
            "inputs": self.inputs,
            "outputs": self.outputs,
            "codes": self.codes,
            "points": self.points,
            "code_lengths": self.code_lengths,
        }
        return meta, arrays

    def restore(self, state: dict[str, Any], arrays: dict[str, np.ndarray], labels: LabelSet, source: str) -> None:
        words = state.get("words")
        if not isinstance(words, list) or not set(map(type, words)) <= {str}:
            raise InputError("the linear model's word list is damaged", source=source)
        dim, buckets = self.config["dim"], self.config["buckets"]
        expected = {
            "word_hashes": ((len(words),), np.uint64),
            "bucket_rows": ((buckets if self._uses_buckets else 0,), np.int32),
            "codes": (None, np.uint8),
            "points": (None, np.int32),
            "code_lengths": (None, np.int32),
        }
        for name, (shape, dtype) in expected.items():
            array = arrays.get(name)
            if array is None or array.dtype != dtype or (shape is not None and array.shape != shape):
                raise InputError(f"the linear model's '{name}' is missing or damaged", source=source)
        inputs, outputs = arrays.get("inputs"), arrays.get("outputs")
        output_rows = max(len(labels) - 1, 1) if self.config["loss"] == "hs" else len(labels)
        if inputs is None or inputs.dtype != np.float32 or inputs.ndim != 2 or inputs.shape[1] != dim or inputs.shape[0] < len(words):
            raise InputError("the linear model's input matrix is missing or damaged", source=source)
        if outputs is None or outputs.dtype != np.float32 or outputs.shape != (output_rows, dim):
            raise InputError(f"the linear model's output matrix is missing or damaged (expected {output_rows} x {dim})", source=source)
        bucket_rows = arrays["bucket_rows"]
        if bucket_rows.size and (int(bucket_rows.max()) >= inputs.shape[0] or int(bucket_rows.min()) < -1):
            raise InputError("the linear model's bucket table points outside its input matrix", source=source)
        if self.config["loss"] == "hs":
            self._check_tree(arrays, len(labels), output_rows, source)
        self.words = words
        self.word_index = dict(zip(words, range(len(words))))
        if len(self.word_index) != len(words):
            raise InputError("the linear model's word list has a word twice", source=source)
        for name in expected:
            setattr(self, name, arrays[name])
        self.inputs, self.outputs = inputs, outputs
        self.progress = _checked_progress(state.get("progress"), source)

    @staticmethod
    def _check_tree(arrays: dict[str, np.ndarray], labels: int, nodes: int, source: str) -> None:
        codes, points, lengths = arrays["codes"], arrays["points"], arrays["code_lengths"]
        if codes.ndim != 2 or points.shape != codes.shape or lengths.shape != (labels,) or codes.shape[0] != labels:
            raise InputError("the linear model's label tree is damaged", source=source)
        if lengths.size and (int(lengths.min()) < 0 or int(lengths.max()) > codes.shape[1]):
            raise InputError("the linear model's label tree is damaged", source=source)
        if points.size and (int(points.min()) < 0 or int(points.max()) >= nodes):
            raise InputError("the linear model's label tree points past its output matrix", source=source)


def _checked_progress(saved: object, source: str) -> dict[str, Any]:
    """A saved linear run's progress, each entry checked (a damaged one would fail deep in training)."""
    fresh: dict[str, Any] = {"epoch": 0, "jobs_done": [], "tokens_done": 0, "history": [], "epoch_loss": [0.0, 0]}
    if saved is None:
        return fresh
    if isinstance(saved, dict) and "seed" in saved and not (isinstance(saved["seed"], int) and not isinstance(saved["seed"], bool)):
        raise InputError("the linear model's progress is damaged", source=source)
    if not isinstance(saved, dict):
        raise InputError("the linear model's progress is damaged", source=source)
    progress = {**fresh, **saved}

    def whole(value: object) -> bool:
        return isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 1 << 62

    loss = progress["epoch_loss"]
    if not (
        whole(progress["epoch"])
        and whole(progress["tokens_done"])
        and isinstance(progress["jobs_done"], list)
        and all(whole(job) and job < 1 << 40 for job in progress["jobs_done"])
        and len(set(progress["jobs_done"])) == len(progress["jobs_done"])
        and isinstance(progress["history"], list)
        and all(isinstance(entry, dict) for entry in progress["history"])
        and isinstance(loss, list)
        and len(loss) == 2
        and isinstance(loss[0], (int, float))
        and not isinstance(loss[0], bool)
        and math.isfinite(loss[0])
        and whole(loss[1])
    ):
        raise InputError("the linear model's progress is damaged", source=source)
    progress["epoch_loss"] = [float(loss[0]), int(loss[1])]
    return progress


def _drop_missing(offsets: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The ragged rows without the -1 entries (buckets with no row), as int32 rows."""
    keep = rows >= 0
    if keep.all():
        return offsets, rows.astype(np.int32)
    kept_before = np.concatenate(([0], np.cumsum(keep)))
    return kept_before[offsets], rows[keep].astype(np.int32)
