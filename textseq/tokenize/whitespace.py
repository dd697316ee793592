"""Tokens are what whitespace separates: for text that is already tokenized."""

from __future__ import annotations

from textseq.tokenize.base import Tokenizer


class WhitespaceTokenizer(Tokenizer):
    """Split on whitespace only (for text tokenized already)."""

    name = "whitespace"

    def tokenize(self, line: str) -> list[str]:
        return line.split()
