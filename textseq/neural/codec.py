"""How a neural language model sees text: the token level and its vocabulary, stored in checkpoints.

* ``char``: every character of the text, newlines included (char-rnn's view); evaluated in bits
  per character.
* ``word``: whitespace-separated tokens, one sentence per line, each non-blank line ending with
  ``</s>`` (as KenLM and ``textseq eval`` count, so that n-gram and neural perplexities line up);
  words not in the vocabulary become ``<unk>``.
* ``spm``: a sentencepiece model's pieces, each non-blank line ending with ``</s>``; the model's
  bytes travel in the checkpoint.

Id 0 is always ``<unk>``. A codec is plain data (a level, a token list, maybe model bytes), so it
is saved with ``torch.save`` and loaded with ``weights_only=True``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import numpy as np

from textseq.errors import InputError
from textseq.vocab import most_frequent

if TYPE_CHECKING:
    from sentencepiece import SentencePieceProcessor

LEVELS = ("char", "word", "spm")
UNK = "<unk>"
EOS = "</s>"


class Codec:
    def __init__(self, level: str, tokens: list[str], spm_model: bytes | None = None) -> None:
        if level not in LEVELS:
            raise ValueError(f"level must be one of {', '.join(LEVELS)}, not {level!r}")
        self.level = level
        self.tokens = tokens
        self.index = {token: i for i, token in enumerate(tokens)}
        self.spm_model = spm_model
        self._processor: SentencePieceProcessor | None = None
        self.eos_id = self.index.get(EOS, -1)

    @property
    def line_end_id(self) -> int:
        """The token that ends a line: ``</s>`` (word and subword levels), the newline character
        (character level), -1 where there is none."""
        return self.eos_id if self.eos_id >= 0 else self.index.get("\n", -1)

    @property
    def vocab_size(self) -> int:
        return len(self.tokens)

    @property
    def unit(self) -> str:
        return {"char": "characters", "word": "words", "spm": "pieces"}[self.level]

    @classmethod
    def build(
        cls,
        level: str,
        blocks: Iterable[str],
        *,
        spm_model: bytes | None = None,
        spm_source: str = "<sentencepiece model>",
        min_count: int = 1,
        max_size: int | None = None,
    ) -> tuple[Codec, np.ndarray]:
        """A codec from the training text, and that text's ids (int32); ``spm_source`` names where
        ``spm_model``'s bytes came from, for an error."""
        if level == "spm":
            if spm_model is None:
                raise ValueError("the spm level needs a sentencepiece model (spm_model)")
            processor = load_spm(spm_model, spm_source)
            pieces = [processor.IdToPiece(i) for i in range(processor.GetPieceSize())]
            codec = cls("spm", [UNK, EOS, *pieces], spm_model)
            codec._processor = processor
            return codec, codec.encode(blocks)
        text = "".join(blocks)
        if level == "char":
            counts = Counter(text)
        else:
            counts = Counter(token for line in text.splitlines() for token in line.split())
            counts.pop(UNK, None)
            counts.pop(EOS, None)
        specials = [UNK] if level == "char" else [UNK, EOS]
        room = None if max_size is None else max(0, max_size - len(specials))
        kept = [token for token, _ in most_frequent(counts, min_count=min_count, max_size=room)]
        codec = cls(level, specials + kept)
        return codec, codec.encode([text])

    def encode(self, blocks: Iterable[str]) -> np.ndarray:
        """The ids of ``blocks`` of text (int32), unknown tokens as ``<unk>``."""
        out: list[np.ndarray] = []
        for block in blocks:
            if self.level == "char":
                out.append(np.fromiter((self.index.get(c, 0) for c in block), dtype=np.int32, count=len(block)))
                continue
            ids: list[int] = []
            for line in block.splitlines():
                if self.level == "word":
                    words = line.split()
                    if not words:
                        continue
                    ids.extend(self.index.get(w, 0) for w in words)
                else:
                    if not line.strip():
                        continue
                    ids.extend(i + 2 for i in self.processor.EncodeAsIds(line))
                ids.append(self.eos_id)
            out.append(np.asarray(ids, dtype=np.int32))
        return np.concatenate(out) if out else np.empty(0, np.int32)

    def encode_prime(self, text: str) -> list[int]:
        """The ids of a prime, which (unlike a line of a file) does not end a sentence."""
        if self.level == "char":
            return [self.index.get(c, 0) for c in text]
        if self.level == "word":
            return [self.index.get(w, 0) for w in text.split()]
        return [i + 2 for i in self.processor.EncodeAsIds(text)] if text else []

    def piece(self, token: int) -> str:
        """What token ``token`` prints as, on its own (words get their separating space from the caller)."""
        if self.level == "spm":
            if token < 2:
                return "\n" if token == 1 else "\ufffd"
            return self.processor.DecodeIds([token - 2])
        if self.level == "char":
            return self.tokens[token] if token else "\ufffd"
        return self.tokens[token]

    def decode(self, ids: Iterable[int]) -> str:
        if self.level == "char":
            return "".join(self.piece(i) for i in ids)
        if self.level == "word":
            lines: list[str] = []
            words: list[str] = []
            for i in ids:
                if i == self.eos_id:
                    lines.append(" ".join(words))
                    words = []
                else:
                    words.append(self.tokens[i])
            return "\n".join(lines + ([" ".join(words)] if words else []))
        lines = []
        pieces: list[int] = []
        for i in ids:
            if i == self.eos_id:
                lines.append(self.processor.DecodeIds(pieces))
                pieces = []
            elif i >= 2:
                pieces.append(i - 2)
        return "\n".join(lines + ([self.processor.DecodeIds(pieces)] if pieces else []))

    @property
    def processor(self) -> SentencePieceProcessor:
        if self._processor is None:
            self._processor = load_spm(self.spm_model or b"", "<sentencepiece model>")
        return self._processor

    def to_state(self) -> dict[str, Any]:
        """Plain data for a checkpoint (the sentencepiece model as a uint8 tensor)."""
        state: dict[str, Any] = {"level": self.level, "tokens": list(self.tokens)}
        if self.spm_model is not None:
            import torch

            state["spm_model"] = torch.frombuffer(bytearray(self.spm_model), dtype=torch.uint8).clone()
        return state

    @classmethod
    def from_state(cls, state: dict[str, Any], source: str = "<checkpoint>") -> Codec:
        """The codec a checkpoint stored, checked: the specials where the encoder puts them, one
        character a token at the character level, and a sentencepiece model that loads and has
        as many pieces as the token list (two fewer)."""
        if not isinstance(state, dict):
            raise InputError("the checkpoint's tokenizer is damaged: it is not a dict", source=source)
        level = state.get("level")
        if not isinstance(level, str) or level not in LEVELS:
            raise InputError(f"the checkpoint's tokenizer is damaged: level {level!r} is none of {', '.join(LEVELS)}", source=source)
        tokens = state.get("tokens")
        if not isinstance(tokens, (list, tuple)) or not all(isinstance(token, str) for token in tokens):
            raise InputError("the checkpoint's tokenizer is damaged: its tokens are not a list of strings", source=source)
        specials = [UNK] if level == "char" else [UNK, EOS]
        if list(tokens[: len(specials)]) != specials:
            raise InputError(f"the checkpoint's tokenizer is damaged: its tokens do not start with {' '.join(specials)}", source=source)
        if level != "spm" and len(set(tokens)) != len(tokens):
            raise InputError("the checkpoint's tokenizer is damaged: a token is listed twice", source=source)
        if level == "char" and any(len(token) != 1 for token in tokens[1:]):
            raise InputError("the checkpoint's tokenizer is damaged: a character-level token is not one character", source=source)
        if level != "spm":
            return cls(level, list(tokens))
        codec = cls(level, list(tokens), _spm_bytes(state.get("spm_model"), source))
        try:
            codec._processor = load_spm(codec.spm_model or b"", source)
        except InputError as exc:
            raise InputError(
                f"the checkpoint's tokenizer is damaged: its sentencepiece model does not load ({exc.message})", source=source
            ) from None
        if codec._processor.GetPieceSize() + len(specials) != len(tokens):
            raise InputError(
                f"the checkpoint's tokenizer is damaged: {len(tokens) - len(specials):,} tokens for a sentencepiece "
                f"model of {codec._processor.GetPieceSize():,} pieces",
                source=source,
            )
        return codec


def _spm_bytes(model: object, source: str) -> bytes:
    """The bytes of a checkpoint's sentencepiece model, stored as a one-dimensional uint8 tensor."""
    import torch

    if not isinstance(model, torch.Tensor) or model.dtype != torch.uint8 or model.dim() != 1:
        raise InputError("the checkpoint's tokenizer is damaged: its sentencepiece model is not a byte string", source=source)
    return bytes(model.cpu().numpy().tobytes())


def load_spm(model: bytes, source: str) -> SentencePieceProcessor:
    """A sentencepiece processor of ``model``'s bytes; an error names ``source``, where they came from."""
    from textseq.tokenize.spm import _load_processor

    try:
        return _load_processor(model)
    except InputError as exc:
        raise InputError(exc.message, source=source) from None
