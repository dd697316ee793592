"""A training session: everything a run starts from, made ready by :func:`prepare_training`.

A new run takes the architecture's suggested training settings under the caller's, builds the
tokenizer from the training text and the network over it; a resumed run takes the network, the
tokenizer and the settings from its checkpoint, with the caller's epochs, step limit and time
budget over them. Either way the validation text is the caller's or the tail of the training
text, held out, and the network is on its device. :meth:`TrainingSession.trainer` then gives the
:class:`~textseq.neural.train.Trainer` that runs it.

Errors name the parameters of :func:`prepare_training` (:class:`~textseq.errors.ParameterError`)
or the file at fault (:class:`~textseq.errors.InputError`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TextIO

from textseq.errors import InputError, ParameterError
from textseq.neural.codec import Codec
from textseq.neural.settings import TrainSettings

if TYPE_CHECKING:
    import numpy as np
    import torch
    from torch import nn

    from textseq.neural.checkpoint import Checkpoint
    from textseq.neural.metrics_sinks import MetricsSink
    from textseq.neural.train import Trainer
    from textseq.progress import Monitor

HOLD_OUT = 0.1
"""Share of the training text held out for validation when no validation text is given (nanoGPT's 90/10)."""

RESUMED_SETTINGS = ("epochs", "max_steps", "time_budget")
"""The settings a resumed run takes from its caller; the rest are the checkpoint's. A step limit
and a time budget are the caller's alone (none given: none), the epochs the checkpoint's unless given."""


@dataclass
class TrainingSession:
    """A run ready to train: what :func:`prepare_training` made, and what it found out on the way
    that the caller may want to say (:attr:`suggested`, :attr:`finished`, :attr:`held_out`)."""

    arch: str
    config: dict[str, object]
    """The network's whole config, as the checkpoints record it."""
    codec: Codec
    model: nn.Module
    """On :attr:`device`."""
    settings: TrainSettings
    train_ids: np.ndarray
    valid_ids: np.ndarray
    device: torch.device
    origin: dict[str, str | None] | None = None
    """The third-party plugin that registers :attr:`arch` (None for a built-in)."""
    resume: Checkpoint | None = None
    resume_path: str | None = None
    suggested: dict[str, object] = field(default_factory=dict)
    """The architecture's suggested settings that the run took, the caller having given none of them."""
    finished: bool = False
    """The resumed checkpoint had finished its epochs, and the caller asked for no more."""
    held_out: bool = False
    """The validation stream is the tail of the training text."""

    @property
    def parameters(self) -> int:
        """The network's number of weights."""
        return sum(p.numel() for p in self.model.parameters())

    def trainer(
        self,
        output: str,
        *,
        monitor: Monitor | None = None,
        log: TextIO | None = None,
        sinks: Sequence[MetricsSink] = (),
        follow_idle_cores: bool = False,
    ) -> Trainer:
        """The :class:`~textseq.neural.train.Trainer` of this session, writing its best checkpoint
        to ``output`` and its latest to :func:`~textseq.neural.train.last_path` of it, and its
        metrics to ``sinks`` (and as JSON lines to ``log``); on CPU, with ``follow_idle_cores``,
        its threads follow the cores other work leaves idle."""
        from textseq.neural.train import Trainer

        return Trainer(
            self.model,
            self.codec,
            self.train_ids,
            self.valid_ids,
            self.settings,
            arch=self.arch,
            config=self.config,
            output=output,
            device=self.device,
            resume=self.resume,
            resume_source=self.resume_path or "<checkpoint>",
            monitor=monitor,
            log=log,
            origin=self.origin,
            sinks=sinks,
            follow_idle_cores=follow_idle_cores,
        )


def prepare_training(
    text: Iterable[str],
    *,
    device: torch.device,
    valid: Iterable[str] | None = None,
    arch: str | None = None,
    config: Mapping[str, object] | None = None,
    level: str | None = None,
    spm_path: str | None = None,
    min_count: int = 1,
    max_vocab: int | None = None,
    settings: Mapping[str, object] | None = None,
    resume_path: str | None = None,
    source: str = "<text>",
) -> TrainingSession:
    """A run over the training ``text`` (blocks of whole lines, read as they are needed, after the
    arguments are checked) on ``device``: a new network of architecture ``arch`` (default
    ``lstm``) with ``config`` over its defaults at token ``level`` (``char``, ``word``, ``spm``
    with the sentencepiece model at ``spm_path``; default ``char``), or the checkpoint at
    ``resume_path`` continued. ``settings`` are :class:`~textseq.neural.settings.TrainSettings`
    fields (None for one not given); ``valid`` the validation text, else the last
    :data:`HOLD_OUT` of the training text; ``source`` names the training text in errors."""
    given = {key: value for key, value in (settings or {}).items() if value is not None}
    if resume_path is not None:
        if arch is not None or config or level is not None or spm_path is not None:
            raise ParameterError(
                "takes the architecture and the tokenizer from the checkpoint: give no other architecture, "
                "config, level or sentencepiece model",
                parameter="resume_path",
            )
        session = _resumed(resume_path, device, given, text)
    else:
        session = _new(arch or "lstm", dict(config or {}), level or "char", spm_path, given, text, source, min_count, max_vocab, device)
    _split(session, valid)
    session.model.to(device)
    return session


def _resumed(path: str, device: torch.device, given: dict[str, object], text: Iterable[str]) -> TrainingSession:
    from textseq.neural.checkpoint import Checkpoint, load_checkpoint
    from textseq.neural.loading import model_from_checkpoint

    state = load_checkpoint(path, map_location=device)
    checkpoint = Checkpoint.from_state(state, path)
    saved = dict(checkpoint.settings)
    for key in RESUMED_SETTINGS:
        if key in given or key != "epochs":
            saved[key] = given.get(key)
    run_settings = _settings(saved, source=path)
    model = model_from_checkpoint(state, checkpoint.codec, path)
    ids = checkpoint.codec.encode(["".join(text)])
    return TrainingSession(
        checkpoint.arch,
        dict(getattr(model, "config", checkpoint.config)),
        checkpoint.codec,
        model,
        run_settings,
        ids,
        ids[:0],
        device,
        checkpoint.plugin,
        checkpoint,
        path,
        finished=checkpoint.progress.done and "epochs" not in given,
    )


def _new(
    arch: str,
    config: dict[str, object],
    level: str,
    spm_path: str | None,
    given: dict[str, object],
    text: Iterable[str],
    source: str,
    min_count: int,
    max_vocab: int | None,
    device: torch.device,
) -> TrainingSession:
    import torch

    from textseq.neural.loading import architecture, architecture_origin, build_model

    suggested = settings_for_level(architecture(arch).metadata.get("train_defaults"), level)
    run_settings = _settings({**suggested, **given})
    spm_model = _read_spm(level, spm_path)
    whole = "".join(text)
    if not whole.strip():
        raise InputError("no text to train on", source=source)
    try:
        codec, ids = Codec.build(
            level, [whole], spm_model=spm_model, spm_source=spm_path or "<sentencepiece model>", min_count=min_count, max_size=max_vocab
        )
    except ValueError as exc:
        raise ParameterError(str(exc)) from None
    torch.manual_seed(run_settings.seed)
    try:
        model = build_model(arch, config, codec.vocab_size)
    except ValueError as exc:
        raise ParameterError(str(exc)) from None
    return TrainingSession(
        arch,
        dict(getattr(model, "config", config)),
        codec,
        model,
        run_settings,
        ids,
        ids[:0],
        device,
        architecture_origin(arch),
        suggested={k: v for k, v in suggested.items() if k not in given},
    )


LEVELS = ("char", "word", "spm")


def settings_for_level(train_defaults: Mapping[str, Any] | None, level: str) -> dict[str, object]:
    """The training settings an architecture registered for token ``level``: its
    ``train_defaults`` are settings (the same at every level) or, where every key is a level
    (``{"char": {...}, "word": {...}}``), settings per level (none for a level it leaves out)."""
    if not train_defaults:
        return {}
    if all(key in LEVELS for key in train_defaults):
        return dict(train_defaults.get(level) or {})
    return dict(train_defaults)


def _read_spm(level: str, spm_path: str | None) -> bytes | None:
    """The bytes of the sentencepiece model, which the spm level needs and no other level takes."""
    if level != "spm":
        if spm_path is not None:
            raise ParameterError("a sentencepiece model goes with the spm level", parameter="spm_path")
        return None
    if spm_path is None:
        raise ParameterError("the spm level needs a sentencepiece model", parameter="spm_path")
    try:
        with open(spm_path, "rb") as handle:
            return handle.read()
    except OSError as exc:
        raise InputError(f"cannot read ({exc.strerror})", source=spm_path) from None


def _settings(values: dict[str, object], source: str | None = None) -> TrainSettings:
    """:class:`~textseq.neural.settings.TrainSettings` of ``values``; a bad one is the caller's
    (a :class:`ParameterError`) or, with ``source``, that checkpoint's."""
    try:
        return TrainSettings(**values)  # type: ignore[arg-type]
    except (TypeError, ValueError) as exc:
        if source is not None:
            raise InputError(f"the checkpoint's training settings are wrong: {exc}", source=source) from None
        raise ParameterError(str(exc)) from None


def _split(session: TrainingSession, valid: Iterable[str] | None) -> None:
    """The validation stream: ``valid`` encoded, or the held-out tail of the training stream."""
    codec, ids = session.codec, session.train_ids
    if valid is not None:
        session.valid_ids = codec.encode(valid)
    else:
        cut = hold_out(codec, ids)
        session.train_ids, session.valid_ids, session.held_out = ids[:cut], ids[cut:], True
    if len(session.train_ids) < 2 * session.settings.batch_size or len(session.valid_ids) < 2:
        raise InputError(
            f"too little text: {len(session.train_ids):,} {codec.unit} to train on and {len(session.valid_ids):,} to validate on"
        )


def hold_out(codec: Codec, ids: np.ndarray) -> int:
    """Where the held-out tail of ``ids`` starts: the last :data:`HOLD_OUT` of the tokens, at a
    line start for the word and subword levels."""
    cut = int(len(ids) * (1 - HOLD_OUT))
    if codec.level != "char" and codec.eos_id >= 0:
        import numpy as np

        ends = np.flatnonzero(ids[:cut] == codec.eos_id)
        if len(ends):
            cut = int(ends[-1]) + 1
    return max(1, cut)
