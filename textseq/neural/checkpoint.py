"""Checkpoint files: one file holds everything to sample, evaluate or resume training.

A checkpoint is a dict of plain data and tensors, written with ``torch.save`` through a temporary
file renamed into place (a crash never leaves half a file) and read with
``torch.load(weights_only=True)``: opening one runs no code, and a pickle that would run code is
refused. Contents (format ``textseq-neural-lm``, version 1):

* ``arch`` and ``config``: the registered architecture name and the config it was built with;
  ``plugin``: the third-party plugin that registers it (entry point, distribution, version), or
  None for a built-in, so that opening the file without the plugin names what to install;
* ``codec``: the tokenizer (level, token list, sentencepiece model bytes);
* ``model``: the weights; ``optimizer``, ``scheduler``: their state dicts (None in a weights-only
  export);
* ``progress``: epoch, step, position in the epoch, best validation loss, the carried hidden state
  and the random generators' states, so that a resumed run continues exactly;
* ``settings``: the training options, ``metrics``: the last validation figures.

:class:`Checkpoint` is that payload as typed fields: the trainer makes one and saves its
:meth:`~Checkpoint.to_state`; :meth:`~Checkpoint.from_state` reads a loaded file back, every entry
that resuming needs checked.
"""

from __future__ import annotations

import math
import os
import typing
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from textseq.errors import InputError
from textseq.neural.codec import Codec
from textseq.neural.settings import Progress, TrainSettings
from textseq.streams import atomic_write

if TYPE_CHECKING:
    import torch
    from torch import Tensor

    from textseq.neural.models import State

FORMAT = "textseq-neural-lm"
VERSION = 1


def save_checkpoint(path: str | os.PathLike[str], payload: dict[str, Any]) -> None:
    """Every tensor is written from CPU memory, so a checkpoint made on a GPU opens on a machine
    without one even with a plain ``torch.load`` (no ``map_location``)."""
    import torch

    with atomic_write(path) as handle:
        torch.save(_on_cpu({"format": FORMAT, "version": VERSION, **payload}), handle)


def _on_cpu(value: Any) -> Any:
    import torch

    if isinstance(value, torch.Tensor):
        return value.detach().cpu()
    if isinstance(value, dict):
        return {key: _on_cpu(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_on_cpu(item) for item in value)
    return value


def is_checkpoint(path: str) -> bool:
    """Whether ``path`` looks like a torch file (a zip archive), by its first bytes."""
    try:
        with open(path, "rb") as handle:
            return handle.read(4) == b"PK\x03\x04"
    except OSError:
        return False


def load_checkpoint(path: str, map_location: torch.device | str = "cpu") -> dict[str, Any]:
    """The checkpoint's dict, loaded without running code, its layout checked (see
    :func:`check_layout`); one clear error otherwise."""
    payload = _read(path, map_location)
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise InputError(f"not a textseq checkpoint (no '{FORMAT}' format mark)", source=path)
    _check_version(payload.get("version"), path)
    check_layout(payload, path)
    return payload


def _read(path: str, map_location: torch.device | str) -> object:
    """``torch.load`` of ``path``. It parses a zip archive and a pickle, and a damaged file makes
    it raise exceptions of almost any type, from its own code and the pickle machinery's: each is
    one unreadable file here. Its warnings (a damaged protocol number, say) are not shown: what
    it loads is checked after."""
    import pickle
    import warnings

    import torch

    if not os.path.isfile(path):
        raise InputError("no such checkpoint file", source=path)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as exc:
        raise InputError(
            f"refused: the file holds more than weights and data, and loading it could run code ({_first_line(exc)})", source=path
        ) from None
    except MemoryError:
        raise InputError("not a readable checkpoint (it declares more data than fits in memory)", source=path) from None
    except Exception as exc:  # noqa: BLE001 - see the docstring
        raise InputError(f"not a readable checkpoint ({_first_line(exc)})", source=path) from None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _check_version(version: object, path: str) -> None:
    if isinstance(version, bool) or not isinstance(version, int):
        raise InputError(f"the checkpoint's format version is {version!r}, not a whole number", source=path)
    if version > VERSION:
        raise InputError(f"checkpoint format version {version} is newer than this textseq reads ({VERSION}): upgrade textseq", source=path)
    if version < 1:
        raise InputError(f"unknown checkpoint format version {version}", source=path)


def check_layout(payload: dict[str, Any], path: str) -> None:
    """That the entries every reader uses are there and of the right kinds: ``arch`` a name,
    ``config`` a dict keyed by option names, ``plugin`` None or a dict of strings, ``codec`` a
    dict, ``model`` a dict of tensors by name. What they hold is checked by their readers
    (:meth:`~textseq.neural.codec.Codec.from_state`, :func:`~textseq.neural.loading.load_model`)."""
    import torch

    require(payload, "arch", str, path)
    if not payload["arch"]:
        raise InputError("the checkpoint names no architecture ('arch' is empty)", source=path)
    config = require(payload, "config", dict, path)
    if not all(isinstance(key, str) for key in config):
        raise InputError("the checkpoint's 'config' has a key that is not an option name", source=path)
    plugin = payload.get("plugin")
    if plugin is not None and not (isinstance(plugin, dict) and all(isinstance(v, (str, type(None))) for v in plugin.values())):
        raise InputError("the checkpoint's 'plugin' entry is damaged (expected names of a plugin and its distribution)", source=path)
    require(payload, "codec", dict, path)
    weights = require(payload, "model", dict, path)
    for name, value in weights.items():
        if not isinstance(name, str) or not isinstance(value, torch.Tensor):
            raise InputError(f"the checkpoint's weights are damaged: entry {name!r} is not a tensor", source=path)


_KINDS = {str: "a string", dict: "a dict", list: "a list", int: "a whole number", float: "a number", bool: "true or false"}


def require(mapping: dict[str, Any], key: str, kind: type | tuple[type, ...], path: str, owner: str = "the checkpoint") -> Any:
    """``mapping[key]``, which must be there and a ``kind`` (an int is no bool; a float may be an
    int), else one error naming ``owner`` (what ``mapping`` is) and the entry."""
    if key not in mapping:
        raise InputError(f"'{key}' is missing from {owner}", source=path)
    value = mapping[key]
    kinds = kind if isinstance(kind, tuple) else (kind,)
    accepted = kinds + ((int,) if float in kinds else ())
    if (isinstance(value, bool) and bool not in kinds) or not isinstance(value, accepted):
        wanted = " or ".join(_kind_name(k) for k in kinds)
        raise InputError(f"'{key}' in {owner} is {_kind_name(type(value))}, not {wanted}", source=path)
    return value


def _kind_name(kind: type) -> str:
    return "None" if kind is type(None) else _KINDS.get(kind, f"a {kind.__name__}")


@dataclass
class RandomState:
    """The random generators' states when a checkpoint was written (CPU tensors of bytes)."""

    torch: Tensor
    cuda: Tensor | None = None


@dataclass
class Checkpoint:
    """Everything one checkpoint file holds (see the module's docstring), as typed fields."""

    arch: str
    config: dict[str, object]
    codec: Codec
    model: dict[str, Tensor]
    """The weights (a state dict)."""
    plugin: dict[str, str | None] | None = None
    """The third-party plugin that registers :attr:`arch`; None for a built-in."""
    optimizer: dict[str, Any] | None = None
    scheduler: dict[str, Any] | None = None
    settings: dict[str, object] = field(default_factory=dict)
    """:class:`~textseq.neural.settings.TrainSettings` as a dict."""
    progress: Progress = field(default_factory=Progress)
    hidden: State = None
    """The state carried into the next window, on the CPU."""
    rng: RandomState | None = None

    def to_state(self) -> dict[str, object]:
        """The payload as the file stores it (format and version are added by :func:`save_checkpoint`)."""
        progress: dict[str, object] = {**asdict(self.progress), "hidden": self.hidden}
        if self.rng is not None:
            progress["rng"] = {"torch": self.rng.torch, "cuda": self.rng.cuda}
        return {
            "arch": self.arch,
            "config": dict(self.config),
            "plugin": self.plugin,
            "codec": self.codec.to_state(),
            "model": self.model,
            "optimizer": self.optimizer,
            "scheduler": self.scheduler,
            "settings": dict(self.settings),
            "progress": progress,
            "metrics": self.progress.history[-1] if self.progress.history else {},
        }

    @classmethod
    def from_state(cls, state: dict[str, Any], source: str) -> Checkpoint:
        """The checkpoint in ``state`` (a loaded file, read from ``source``, which errors name),
        its layout, tokenizer, settings, progress and random state checked; what the network
        and the optimizer hold is checked when they are loaded into a run
        (:func:`textseq.neural.resume.restore`)."""
        import torch

        check_layout(state, source)
        codec = Codec.from_state(state["codec"], source=source)
        settings = checked_settings(require(state, "settings", dict, source), source)
        saved = require(state, "progress", dict, source)
        progress = checked_progress(saved, source)
        rng = require(saved, "rng", dict, source, "the checkpoint's progress")
        random = RandomState(require(rng, "torch", torch.Tensor, source, "the checkpoint's random state"), rng.get("cuda"))
        return cls(
            state["arch"],
            dict(state["config"]),
            codec,
            state["model"],
            plugin=state.get("plugin"),
            optimizer=state.get("optimizer"),
            scheduler=state.get("scheduler"),
            settings=settings,
            progress=progress,
            hidden=saved.get("hidden"),
            rng=random,
        )

    def save(self, path: str | os.PathLike[str]) -> None:
        save_checkpoint(path, self.to_state())


_PROGRESS: dict[str, type] = {"epoch": int, "row": int, "step": int, "stale": int, "best_loss": float, "done": bool, "history": list}
_HISTORY: dict[str, type] = {"epoch": int, "step": int, "valid_loss": float, "valid_perplexity": float}


def checked_progress(saved: dict[str, Any], source: str) -> Progress:
    """A checkpoint's ``progress`` entry as :class:`~textseq.neural.settings.Progress`, every field checked."""
    owner = "the checkpoint's progress"
    values = {key: require(saved, key, kind, source, owner) for key, kind in _PROGRESS.items()}
    for key in ("epoch", "row", "step", "stale"):
        if values[key] < 0:
            raise InputError(f"'{key}' in {owner} is {values[key]}, not >= 0", source=source)
    if math.isnan(values["best_loss"]):
        raise InputError(f"'best_loss' in {owner} is not a number", source=source)
    for entry in values["history"]:
        if not isinstance(entry, dict):
            raise InputError(f"an entry of the history in {owner} is not a dict", source=source)
        for key, kind in _HISTORY.items():
            require(entry, key, kind, source, f"an entry of the history in {owner}")
        if "valid_bpc" in entry:
            require(entry, "valid_bpc", float, source, f"an entry of the history in {owner}")
    return Progress(**{**values, "best_loss": float(values["best_loss"]), "history": list(values["history"])})


RETIRED_SETTINGS = frozenset({"eval_batch_size"})
"""Settings that older checkpoints hold and training no longer has (validation now scores every
token as ``eval`` does), dropped as they are read."""


def checked_settings(saved: object, source: str) -> dict[str, object]:
    """A checkpoint's training settings, each known and of its field's type
    (:class:`~textseq.neural.settings.TrainSettings`)."""
    if not isinstance(saved, dict):
        raise InputError("'settings' in the checkpoint is not a dict", source=source)
    hints = typing.get_type_hints(TrainSettings)
    saved = {key: value for key, value in saved.items() if key not in RETIRED_SETTINGS}
    for key, value in saved.items():
        if key not in hints:
            raise InputError(f"unknown training setting {key!r} in the checkpoint", source=source)
        kinds = typing.get_args(hints[key]) or (hints[key],)
        require(saved, key, kinds, source, "the checkpoint's settings")
        if isinstance(value, float) and not math.isfinite(value):
            raise InputError(f"the training setting '{key}' in the checkpoint is {value}", source=source)
    return dict(saved)
