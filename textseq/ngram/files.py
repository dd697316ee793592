"""Opening and saving n-gram models by file name."""

from __future__ import annotations

import io

from textseq.errors import InputError
from textseq.ngram.arpa import read_arpa, write_arpa
from textseq.ngram.binary import is_binary_model, read_binary, write_binary
from textseq.ngram.model import BackoffModel
from textseq.streams import iter_blocks, open_input, open_output


def load_model(path: str) -> BackoffModel:
    """An n-gram model from textseq's binary format or an ARPA file (optionally compressed)."""
    source = open_input(path)
    try:
        if is_binary_model(source.stream.peek(16)[:16] if hasattr(source.stream, "peek") else b""):  # type: ignore[attr-defined]
            return read_binary(path)
        text = "".join(iter_blocks(source))
    finally:
        source.close()
    return read_arpa(io.StringIO(text), source=path)


def save_model(model: BackoffModel, path: str | None, *, binary: bool = False, comment: str | None = None) -> None:
    """Write ``model`` to ``path`` (atomically; '-' or None: stdout, ARPA only), as ARPA or in
    textseq's binary format."""
    if binary:
        if path is None or path == "-":
            raise InputError("a binary model needs a file name, not stdout")
        write_binary(model, path)
        return
    with open_output(path) as out:
        buffer = io.StringIO()
        write_arpa(model, buffer, comment=comment)
        out.write(buffer.getvalue())
