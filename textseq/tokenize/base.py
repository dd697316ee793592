"""The tokenizer interface and the block pipeline around it (normalize, lower-case, split
sentences, tokenize)."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Iterator
from typing import Literal

NORMALIZATIONS = ("nfkc", "nfc", "nfkd", "nfd", "none")
_UNICODE_FORMS: dict[str, Literal["NFC", "NFD", "NFKC", "NFKD"]] = {"nfkc": "NFKC", "nfc": "NFC", "nfkd": "NFKD", "nfd": "NFD"}


class Tokenizer:
    """Turns a line of text into tokens that contain no whitespace, and (where it can) back.

    Subclasses implement :meth:`tokenize`; those that can do better than a Python loop over lines
    also override :meth:`tokenize_block`, which the ``tokenize`` command calls with about a
    megabyte of text at a time.
    """

    name: str = ""
    normalization: str = "none"
    """The Unicode normalization applied when the user asks for none in particular."""
    reversible: bool = False
    """Whether ``detokenize(tokenize(line)) == line`` for every line; the tokenize command then
    keeps a last line without a newline so, for the round trip to be exact to the byte."""

    def tokenize(self, line: str) -> list[str]:
        raise NotImplementedError

    def tokenize_block(self, block: str) -> str:
        """Tokenize every line of ``block`` ('\\n'-separated); same number of lines out."""
        return "\n".join([" ".join(self.tokenize(line)) for line in block.split("\n")])

    def detokenize(self, tokens: list[str]) -> str:
        """Text from tokens: exact for reversible tokenizers, best effort for the others."""
        return " ".join(tokens)


def normalize_text(text: str, form: str) -> str:
    """``text`` in the Unicode normal form ``form`` (one of NORMALIZATIONS; 'none' leaves it as it is)."""
    if form == "none" or text.isascii():
        return text
    unicode_form = _UNICODE_FORMS.get(form.lower())
    if unicode_form is None:
        raise ValueError(f"normalization must be one of {NORMALIZATIONS}, not {form!r}")
    return unicodedata.normalize(unicode_form, text)


def tokenize_blocks(
    blocks: Iterable[str],
    tokenizer: Tokenizer,
    *,
    lower: bool = False,
    normalize: str | None = None,
    sentences: bool = False,
) -> Iterator[str]:
    """Tokenized text, block by block: each input line becomes one output line (or, with
    ``sentences``, each sentence of each paragraph becomes one line)."""
    form = tokenizer.normalization if normalize is None else normalize
    if form not in NORMALIZATIONS:
        raise ValueError(f"normalization must be one of {NORMALIZATIONS}, not {form!r}")
    if sentences:
        from textseq.tokenize.sentences import sentence_blocks

        blocks = sentence_blocks(blocks)
    for block in blocks:
        block = normalize_text(block, form)
        if lower:
            block = block.lower()
        yield tokenizer.tokenize_block(block)
