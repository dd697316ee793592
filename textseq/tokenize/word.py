"""The default word tokenizer: Unicode-aware, one regular expression, applied a block at a time.

Tokens are, in order of preference: URLs and e-mail addresses (kept whole), numbers with inner
separators (``3.14``, ``1,000``, ``12:30``), words of any script with their combining marks and
inner apostrophes or hyphens kept (``don't``, ``o'er``, ``well-known``, ``हिन्दी``), each CJK
ideograph on its own, runs of dots or dashes (``...``, ``--``), and any other non-space character
on its own.

The expression is applied to a whole block of lines at once with ``\\n`` as a token of its own,
so the per-line cost is a C loop, not a Python one. Blocks of plain ASCII, or without anything
that could be a link, use a shorter expression that gives the same tokens.
"""

from __future__ import annotations

import re
from functools import lru_cache

from textseq.tokenize._unicode import CJK_IDEOGRAPHS, MARKS
from textseq.tokenize.base import Tokenizer

_APOSTROPHES_HYPHENS = "'\u2019\\-"
_URL = r"(?:(?:https?|ftp)://|www\.)[^\s<>\"']*[^\s<>\"'.,;:!?)\]}]"
_EMAIL = r"[\w.+-]+@\w[\w-]*(?:\.[\w-]+)+"
_NUMBER = r"\d+(?:[.,:]\d+)+"
_PUNCT_RUNS = r"\.{2,}|-{2,}"


@lru_cache(maxsize=None)
def _pattern(unicode_text: bool, links: bool) -> re.Pattern[str]:
    if unicode_text:
        letter = rf"(?:[^\W{CJK_IDEOGRAPHS}]|[{MARKS}\u200c\u200d])"
        word = rf"{letter}+(?:[{_APOSTROPHES_HYPHENS}]{letter}+)*|[{CJK_IDEOGRAPHS}]"
    else:
        word = rf"\w+(?:[{_APOSTROPHES_HYPHENS}]\w+)*"
    parts = [_URL, _EMAIL] if links else []
    parts += [_NUMBER, word, _PUNCT_RUNS, r"[^\w\s]", r"\n"]
    return re.compile("|".join(parts))


def _has_link(block: str) -> bool:
    return "@" in block or "://" in block or "www." in block


class WordTokenizer(Tokenizer):
    """Words, numbers and punctuation; URLs and e-mail addresses kept whole."""

    name = "word"
    normalization = "nfkc"

    def _findall(self, text: str) -> list[str]:
        return _pattern(not text.isascii(), _has_link(text)).findall(text)

    def tokenize(self, line: str) -> list[str]:
        return self._findall(line.replace("\n", " "))

    def tokenize_block(self, block: str) -> str:
        joined = " ".join(self._findall(block))
        return joined.replace(" \n", "\n").replace("\n ", "\n")

    def detokenize(self, tokens: list[str]) -> str:
        return detokenize_words(tokens)


_NO_SPACE_BEFORE = set(".,;:!?%)]}»”’…") | {"...", "n't", "'s", "'re", "'ve", "'ll", "'d", "'m"}
_NO_SPACE_AFTER = set("([{«“‘$£€¿¡")
_QUOTES = {'"', "'"}


def detokenize_words(tokens: list[str]) -> str:
    """Best-effort English text from word tokens: no space before closing punctuation or after
    opening brackets, straight quotes attached to what they enclose."""
    out: list[str] = []
    open_quote = {q: False for q in _QUOTES}
    glue_next = False
    for token in tokens:
        glue = glue_next or not out
        glue_next = False
        if token in _QUOTES:
            if open_quote[token]:
                glue = True
            else:
                glue_next = True
            open_quote[token] = not open_quote[token]
        elif token in _NO_SPACE_BEFORE:
            glue = True
        if token in _NO_SPACE_AFTER:
            glue_next = True
        out.append(token if glue else " " + token)
    return "".join(out)
