"""The mixture file: a small JSON file that names a mixture's parts and their weights, so that
``textseq eval`` and ``textseq sample`` open a mixture like any model.

    {
      "format": "textseq-mixture",
      "version": 1,
      "parts": [
        {"path": "book.arpa", "weight": 0.38, "kind": "modified-kneser-ney", "size": 23598765, "sha256": "..."},
        {"path": "book.pt", "weight": 0.62, "kind": "word-medium", "size": 13006131, "sha256": "..."}
      ],
      "tuned_on": "valid.txt"
    }

A part's path is relative to the mixture file's folder (absolute where it cannot be: another
drive). Its size and the SHA-256 of its bytes are checked when the mixture is opened, so a part
that was rebuilt or replaced since (whose weights were tuned for another model) is an error, not
a silently different mixture; the hash rather than the modification time, which a copy changes.
``kind`` (the smoothing or the architecture) and ``tuned_on`` are for the reader. A part may not be
a mixture itself (refused, not flattened: give the parts themselves). Every malformed file is one
:class:`~textseq.errors.InputError` naming the file and the problem.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeGuard

from textseq.errors import InputError, ParameterError
from textseq.neural.settings import DEFAULT_CONTEXT
from textseq.streams import atomic_write, display_name

if TYPE_CHECKING:
    from textseq.mixture import MixtureLM

FORMAT = "textseq-mixture"
VERSION = 1
SUFFIX = ".tsmix"
MAX_BYTES = 1 << 20
"""A mixture file is a few hundred bytes; anything much larger is not one."""
MAX_PARTS = 256
_SHA256 = re.compile(r"[0-9a-f]{64}")
_BOM = b"\xef\xbb\xbf"


@dataclass(frozen=True)
class PartSpec:
    path: str
    """The part's file, resolved against the mixture file's folder."""
    name: str
    """The part's file as a user names it: its path as written, in the mixture file's folder as given."""
    weight: float
    kind: str
    size: int
    sha256: str


@dataclass(frozen=True)
class MixtureSpec:
    parts: list[PartSpec]
    tuned_on: str | None


def is_mixture_file(path: str) -> bool:
    """Whether ``path`` looks like a mixture file: text whose first character (after a byte-order
    mark and blanks) is ``{``, which begins no ARPA file, binary model or checkpoint."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(512)
    except OSError:
        return False
    return head.removeprefix(_BOM).lstrip(b" \t\r\n").startswith(b"{")


def file_digest(path: str) -> tuple[int, str]:
    """(size in bytes, SHA-256 in hex) of the file ``path``."""
    try:
        digest, size = hashlib.sha256(), 0
        with open(path, "rb") as handle:
            while chunk := handle.read(1 << 20):
                digest.update(chunk)
                size += len(chunk)
        return size, digest.hexdigest()
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror or exc}", source=path) from None


def save_mixture(path: str, sources: Sequence[str], weights: Sequence[float], kinds: Sequence[str], tuned_on: str | None = None) -> None:
    """Write the mixture of the model files ``sources`` with ``weights`` (``kinds``: what each
    is) to ``path``, atomically. A part must be a file of its own (not a stream's temporary copy)."""
    if not len(sources) == len(weights) == len(kinds):
        raise ValueError("one weight and one kind per part")
    folder = os.path.dirname(os.path.abspath(path))
    parts = []
    for source, weight, kind in zip(sources, weights, kinds):
        if display_name(source) != source:
            raise ParameterError(f"{display_name(source)} is not a file: a mixture file names its parts' files", parameter="sources")
        if os.path.realpath(source) == os.path.realpath(path):
            raise ParameterError(f"{path} is one of the mixture's models: the mixture would replace it", parameter="path")
        size, digest = file_digest(source)
        parts.append({"path": _relative(source, folder), "weight": float(weight), "kind": kind, "size": size, "sha256": digest})
    document: dict[str, object] = {"format": FORMAT, "version": VERSION, "parts": parts}
    if tuned_on is not None:
        document["tuned_on"] = tuned_on
    with atomic_write(path) as out:
        out.write((json.dumps(document, indent=2, ensure_ascii=False) + "\n").encode("utf-8"))


def _relative(source: str, folder: str) -> str:
    try:
        return os.path.relpath(os.path.abspath(source), folder)
    except ValueError:
        return os.path.abspath(source)


def read_mixture(path: str) -> MixtureSpec:
    """The mixture file ``path``, checked (its parts' files are not opened)."""
    document = _document(path)
    if not isinstance(document, dict):
        raise InputError("not a textseq mixture file: not a JSON object", source=path)
    if document.get("format") != FORMAT:
        raise InputError(f"not a textseq mixture file (no '{FORMAT}' format mark)", source=path)
    version = document.get("version")
    if not _is_int(version) or version < 1:
        raise InputError(f"the mixture file's version {version!r} is not a version number", source=path)
    if version > VERSION:
        raise InputError(f"written by a newer textseq (mixture format version {version}; this one reads {VERSION})", source=path)
    items = document.get("parts")
    if not isinstance(items, list) or not 1 <= len(items) <= MAX_PARTS:
        raise InputError(f"the mixture file's 'parts' is not a list of 1 to {MAX_PARTS} models", source=path)
    parts = [_part(item, number, path) for number, item in enumerate(items, 1)]
    total = math.fsum(part.weight for part in parts)
    if abs(total - 1.0) > 1e-6:
        raise InputError(f"the mixture's weights sum to {total:g}, not 1", source=path)
    tuned_on = document.get("tuned_on")
    if tuned_on is not None and not isinstance(tuned_on, str):
        raise InputError("the mixture file's 'tuned_on' is not a string", source=path)
    return MixtureSpec(parts=parts, tuned_on=tuned_on)


def _document(path: str) -> object:
    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_BYTES + 1)
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror or exc}", source=path) from None
    if len(data) > MAX_BYTES:
        raise InputError(f"not a textseq mixture file: larger than {MAX_BYTES >> 20} MiB", source=path)
    try:
        text = data.removeprefix(_BOM).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"not a textseq mixture file: invalid UTF-8 at byte {exc.start}", source=path) from None
    try:
        return json.loads(text, parse_constant=_refuse_constant)
    except json.JSONDecodeError as exc:
        raise InputError(f"not a textseq mixture file: invalid JSON ({exc.msg})", source=path, line=exc.lineno) from None
    except (ValueError, RecursionError) as exc:
        raise InputError(
            f"not a textseq mixture file: invalid JSON ({' '.join(str(exc).split()) or type(exc).__name__})", source=path
        ) from None


def _refuse_constant(name: str) -> object:
    raise ValueError(f"{name} is not a number JSON has")


def _is_int(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def _part(item: object, number: int, source: str) -> PartSpec:
    def damaged(what: str) -> InputError:
        return InputError(f"the mixture file's part {number} {what}", source=source)

    if not isinstance(item, dict):
        raise damaged("is not a JSON object")
    path, weight, kind, size, digest = (item.get(key) for key in ("path", "weight", "kind", "size", "sha256"))
    if not isinstance(path, str) or not path or "\0" in path:
        raise damaged("has no 'path' (a file name)")
    if isinstance(weight, bool) or not isinstance(weight, (int, float)) or not math.isfinite(weight) or weight < 0:
        raise damaged("has no 'weight' (a finite number >= 0)")
    if not isinstance(kind, str):
        raise damaged("has no 'kind' (a string)")
    if not _is_int(size) or size < 0:
        raise damaged("has no 'size' (a number of bytes)")
    if not isinstance(digest, str) or not _SHA256.fullmatch(digest):
        raise damaged("has no 'sha256' (64 hexadecimal digits)")
    resolved = os.path.join(os.path.dirname(os.path.abspath(source)), path)
    name = os.path.join(os.path.dirname(display_name(source)), path)
    return PartSpec(path=resolved, name=name, weight=float(weight), kind=kind, size=size, sha256=digest)


def check_part(part: PartSpec, source: str) -> None:
    """That the part's file is there, holds no mixture, and is the file the mixture was saved with."""
    if not os.path.isfile(part.path):
        raise InputError(f"its part {part.name} is missing (not a file)", source=source)
    if is_mixture_file(part.path):
        raise InputError(f"its part {part.name} is a mixture: a mixture's parts are single models", source=source)
    size, digest = file_digest(part.path)
    if size != part.size or digest != part.sha256:
        raise InputError(
            f"its part {part.name} has changed since the mixture was saved (its weights were tuned for the old file): "
            "tune and save the mixture again",
            source=source,
        )


def load_mixture(
    path: str, device: str = "cpu", threads: int | None = None, *, context: int | None = DEFAULT_CONTEXT, bf16: bool = False
) -> MixtureLM:
    """The mixture in file ``path`` as a :class:`~textseq.mixture.MixtureLM`, each part opened
    with :func:`textseq.lm.open_model` (``device``, ``threads``, ``context``, ``bf16``: for a checkpoint)."""
    from textseq.lm import open_model
    from textseq.mixture import MixtureLM

    spec = read_mixture(path)
    for part in spec.parts:
        check_part(part, path)
    models = [open_model(part.path, device, threads, context=context, bf16=bf16) for part in spec.parts]
    try:
        mixture = MixtureLM(
            models,
            [part.weight for part in spec.parts],
            names=[part.name for part in spec.parts],
            sources=[part.path for part in spec.parts],
        )
    except ParameterError as exc:
        raise InputError(exc.message, source=path) from None
    mixture.tuned_on = spec.tuned_on
    return mixture
