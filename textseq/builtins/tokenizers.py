"""The built-in tokenizers: word, whitespace, char and spm."""

from __future__ import annotations

from textseq.hookspecs import RegisterTokenizer, hookimpl
from textseq.tokenize.char import CharTokenizer
from textseq.tokenize.spm import SpmTokenizer
from textseq.tokenize.whitespace import WhitespaceTokenizer
from textseq.tokenize.word import WordTokenizer


@hookimpl
def register_tokenizers(register: RegisterTokenizer) -> None:
    register("word", WordTokenizer, help="words of any script, numbers, punctuation; URLs and e-mails whole (default)")
    register("whitespace", WhitespaceTokenizer, help="split on whitespace only, for text tokenized already")
    register("char", CharTokenizer, help="every character a token, spaces as \u2581; exactly reversible")
    register("spm", SpmTokenizer, help="sentencepiece subwords from a .model file (--spm MODEL); reversible")
