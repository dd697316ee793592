"""Tokenizers: text in, one line of space-separated tokens out per line of text."""

from textseq.tokenize.base import Tokenizer, tokenize_blocks

__all__ = ["Tokenizer", "tokenize_blocks"]
