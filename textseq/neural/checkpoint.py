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
  and the random generators' states, so that ``--resume`` continues exactly;
* ``settings``: the training options, ``metrics``: the last validation figures.
"""

from __future__ import annotations

import os
from typing import Any

from textseq.errors import InputError
from textseq.streams import atomic_write

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


def load_checkpoint(path: str, map_location: Any = "cpu") -> dict[str, Any]:
    """The checkpoint's dict, loaded without running code; one clear error otherwise."""
    import pickle

    import torch

    if not os.path.isfile(path):
        raise InputError("no such checkpoint file", source=path)
    try:
        payload = torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else "unsupported content"
        raise InputError(f"refused: the file holds more than weights and data, and loading it could run code ({first})",
                         source=path) from None
    except (RuntimeError, EOFError, OSError, ValueError) as exc:
        raise InputError(f"not a readable checkpoint ({str(exc).strip().splitlines()[0] if str(exc).strip() else exc!r})",
                         source=path) from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise InputError(f"not a textseq checkpoint (no '{FORMAT}' format mark)", source=path)
    version = payload.get("version")
    if not isinstance(version, int) or version > VERSION:
        raise InputError(f"checkpoint format version {version} is newer than this textseq reads ({VERSION}): upgrade textseq",
                         source=path)
    return payload
