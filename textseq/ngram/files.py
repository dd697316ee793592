"""Opening and saving n-gram models by file name."""

from __future__ import annotations

import io
import os

from textseq.errors import InputError
from textseq.ngram.arpa import read_arpa, write_arpa
from textseq.ngram.model import BackoffModel
from textseq.streams import iter_blocks, open_input, open_output


def load_model(path: str) -> BackoffModel:
    """An n-gram model from an ARPA file (optionally compressed)."""
    source = open_input(path)
    try:
        text = "".join(iter_blocks(source))
    finally:
        source.close()
    return read_arpa(io.StringIO(text), source=path)


def save_model(model: BackoffModel, path: str | None, *, comment: str | None = None) -> None:
    """Write ``model`` as ARPA to ``path`` (atomically; '-' or None: stdout)."""
    with open_output(path) as out:
        buffer = io.StringIO()
        write_arpa(model, buffer, comment=comment)
        out.write(buffer.getvalue())


def is_ngram_model(path: str) -> bool:
    name = os.path.basename(path).lower()
    for suffix in (".gz", ".bz2", ".xz"):
        name = name.removesuffix(suffix)
    if name.endswith(".arpa") or name.endswith(".lm"):
        return True
    try:
        source = open_input(path)
    except InputError:
        return False
    try:
        head = source.stream.read(4096)
    finally:
        source.close()
    return b"\\data\\" in head
