"""Characters as tokens, reversibly.

Every character is a token. A space becomes ``▁`` (U+2581, as in sentencepiece); any other
whitespace character, and ``▁`` itself, becomes an escape token ``<U+XXXX>``. Ordinary tokens are
one character long, so an escape token can never be confused with text: ``detokenize`` restores
every line exactly.
"""

from __future__ import annotations

import re

from textseq.tokenize.base import Tokenizer

SPACE = "\u2581"
_ESCAPE = re.compile(r"<U\+([0-9A-F]{4,6})>")
_NEEDS_ESCAPE = re.compile(rf"[^\S \n]|{SPACE}")


def _char_token(char: str) -> str:
    if char == " ":
        return SPACE
    if char == SPACE or char.isspace():
        return f"<U+{ord(char):04X}>"
    return char


class CharTokenizer(Tokenizer):
    """Every character a token; spaces shown as ▁; exactly reversible."""

    name = "char"
    reversible = True

    def tokenize(self, line: str) -> list[str]:
        return [_char_token(c) for c in line]

    def tokenize_block(self, block: str) -> str:
        if _NEEDS_ESCAPE.search(block):
            return super().tokenize_block(block)
        joined = " ".join(block.replace(" ", SPACE))
        return joined.replace(" \n", "\n").replace("\n ", "\n")

    def detokenize(self, tokens: list[str]) -> str:
        chars = []
        for token in tokens:
            if len(token) == 1:
                chars.append(" " if token == SPACE else token)
                continue
            match = _ESCAPE.fullmatch(token)
            if match is None:
                raise ValueError(f"not a char token: {token!r}")
            chars.append(chr(int(match.group(1), 16)))
        return "".join(chars)
