"""Subword tokenization with sentencepiece: training from a stream, encoding, decoding.

Training defaults are chosen for exact round trips: no normalization (``identity``), spaces
kept as they are, and byte fallback, so that any line encodes and decodes to itself. Pass
``normalization="nmt_nfkc"`` for sentencepiece's own default.
"""

from __future__ import annotations

import io
import random
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from textseq.errors import InputError
from textseq.streams import atomic_write
from textseq.tokenize.base import Tokenizer

MODEL_TYPES = ("bpe", "unigram", "char", "word")
_INNER_WHITESPACE = re.compile(r"[^\S \n]")


def _load_processor(model: str | Path | bytes) -> Any:
    import sentencepiece

    processor = sentencepiece.SentencePieceProcessor()
    try:
        if isinstance(model, bytes):
            processor.LoadFromSerializedProto(model)
        else:
            processor.Load(str(model))
    except (OSError, RuntimeError) as exc:
        source = "<bytes>" if isinstance(model, bytes) else str(model)
        if not isinstance(model, bytes) and not Path(model).is_file():
            raise InputError("no such sentencepiece model file", source=source) from None
        raise InputError(f"not a sentencepiece model ({str(exc).strip()})", source=source) from None
    return processor


def _without_inner_whitespace(pieces: list[str]) -> list[str]:
    """Pieces with a whitespace character inside (a tab, say) spelled as byte pieces
    (``<0x09>``), so that no token holds whitespace; models trained with byte fallback decode them
    back."""
    if not any(_INNER_WHITESPACE.search(p) for p in pieces):
        return pieces
    out: list[str] = []
    for piece in pieces:
        if not _INNER_WHITESPACE.search(piece):
            out.append(piece)
            continue
        for char in piece:
            if char == "\u2581":
                out.append(char)
            else:
                out.extend(f"<0x{byte:02X}>" for byte in char.encode("utf-8"))
    return out


class SpmTokenizer(Tokenizer):
    """sentencepiece subwords (BPE or unigram) from a trained .model file."""

    name = "spm"
    reversible = True

    def __init__(
        self,
        model: str | Path | bytes | None = None,
        ids: bool = False,
        alpha: float | None = None,
        nbest: int = -1,
        threads: int = 0,
    ) -> None:
        if model is None:
            raise ValueError("the spm tokenizer needs a model: --spm MODEL")
        self.processor = _load_processor(model)
        self.ids = ids
        self.alpha = alpha
        self.nbest = nbest
        self.threads = threads

    def _encode(self, lines: Sequence[str]) -> list[list[Any]]:
        options: dict[str, Any] = {"out_type": int if self.ids else str, "num_threads": self.threads or -1}
        if self.alpha is not None:
            options.update(enable_sampling=True, alpha=self.alpha, nbest_size=self.nbest)

        return self.processor.encode(list(lines), **options)

    def tokenize(self, line: str) -> list[str]:
        encoded = self._encode([line])[0]
        return [str(i) for i in encoded] if self.ids else _without_inner_whitespace(encoded)

    def tokenize_block(self, block: str) -> str:
        encoded = self._encode(block.split("\n"))
        if self.ids:
            return "\n".join([" ".join(map(str, ids)) for ids in encoded])
        text = "\n".join([" ".join(pieces) for pieces in encoded])
        if _INNER_WHITESPACE.search(text):
            text = "\n".join([" ".join(_without_inner_whitespace(pieces)) for pieces in encoded])
        return text

    def detokenize(self, tokens: list[str]) -> str:
        if self.ids:
            try:
                return self.processor.decode([int(t) for t in tokens])
            except ValueError:
                raise ValueError("with --ids, every token must be an integer id") from None
        return self.processor.decode(tokens)


def reservoir_sample(lines: Iterable[str], size: int, seed: int) -> list[str]:
    """``size`` lines drawn uniformly from a stream of unknown length, in their original order,
    the same for the same seed (sentencepiece's own sampling is not reproducible)."""
    rng = random.Random(seed)
    kept: list[tuple[int, str]] = []
    for index, line in enumerate(line for line in lines if line.strip()):
        if index < size:
            kept.append((index, line))
        else:
            slot = rng.randrange(index + 1)
            if slot < size:
                kept[slot] = (index, line)
    kept.sort()
    return [line for _, line in kept]


def train_spm(
    lines: Iterable[str],
    output: str | Path,
    *,
    vocab_size: int = 8000,
    model_type: str = "unigram",
    input_sentence_size: int = 0,
    user_symbols: Sequence[str] = (),
    normalization: str = "identity",
    byte_fallback: bool = True,
    character_coverage: float = 0.9995,
    seed: int | None = None,
    threads: int = 0,
    verbose: bool = False,
) -> int:
    """Train a sentencepiece model on ``lines`` (streamed; no copy of the corpus on disk) and
    write it to ``output`` atomically. Returns the number of pieces."""
    import sentencepiece

    if model_type not in MODEL_TYPES:
        raise ValueError(f"model type must be one of {MODEL_TYPES}")
    seen = 0

    def sentences() -> Iterable[str]:
        nonlocal seen
        for line in lines:
            if line.strip():
                seen += 1
                yield line

    options: dict[str, Any] = {
        "vocab_size": vocab_size,
        "model_type": model_type,
        "normalization_rule_name": normalization,
        "remove_extra_whitespaces": normalization != "identity",
        "byte_fallback": byte_fallback and model_type in ("bpe", "unigram"),
        "character_coverage": character_coverage,
        "minloglevel": 0 if verbose else 2,
        "hard_vocab_limit": False,
    }
    if input_sentence_size:
        lines = reservoir_sample(lines, input_sentence_size, seed if seed is not None else 0)
    if user_symbols:
        options["user_defined_symbols"] = list(user_symbols)
    if threads:
        options["num_threads"] = threads
    model = io.BytesIO()
    try:
        sentencepiece.SentencePieceTrainer.train(sentence_iterator=iter(sentences()), model_writer=model, **options)
    except RuntimeError as exc:
        if seen == 0:
            raise InputError("no text to train on (the input is empty)") from None
        message = str(exc).strip().split("] ", 1)[-1]
        if "required_chars" in message and options["byte_fallback"]:
            message += " (byte fallback takes 256 of the pieces: raise --vocab-size or pass --no-byte-fallback)"
        raise InputError(f"sentencepiece training failed: {message}") from None
    with atomic_write(output) as handle:
        handle.write(model.getvalue())
    return _load_processor(model.getvalue()).get_piece_size()
