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
import unicodedata
from functools import lru_cache

from textseq.tokenize._unicode import CJK_IDEOGRAPHS, MARKS
from textseq.tokenize.base import Tokenizer

_URL = r"(?:(?:https?|ftp)://|www\.)[^\s<>\"']*[^\s<>\"'.,;:!?)\]}]"
_EMAIL_TAIL = r"(?:(?:[.+]\w+)*@\w[\w-]*(?:\.\w[\w-]*)+)?"
_EMAIL_HINT = re.compile(r"@\w")
_NON_LATIN = re.compile(r"[^\x00-\u02ff]")
_CJK_RANGES = [(0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xF900, 0xFAFF), (0x20000, 0x3134F)]


@lru_cache(maxsize=None)
def _pattern(marks_or_cjk: bool, urls: bool, emails: bool) -> re.Pattern[str]:
    """The expression for a block, with only the parts that the block can need: each part
    costs time on every token, and plain English text needs none of the optional ones."""
    letters = rf"[^\W{CJK_IDEOGRAPHS}]+(?:[{MARKS}\u200c\u200d]+[^\W{CJK_IDEOGRAPHS}]*)*" if marks_or_cjk else r"\w+"
    word = rf"{letters}(?:['\u2019\-]{letters}|(?<=\d)[.,:]\d+)*"
    if emails:
        word += _EMAIL_TAIL
    parts = [_URL] if urls else []
    parts.append(word)
    if marks_or_cjk:
        parts.append(f"[{CJK_IDEOGRAPHS}]")
    parts += [r"\.\.+|--+", r"[^\w\s]", r"\n"]
    return re.compile("|".join(parts))


def _has_marks_or_cjk(text: str) -> bool:
    if text.isascii():
        return False
    for char in set(_NON_LATIN.findall(text)):
        code = ord(char)
        if unicodedata.category(char)[0] == "M" or any(a <= code <= b for a, b in _CJK_RANGES):
            return True
    return False


def pattern_for(text: str) -> re.Pattern[str]:
    """The token expression that ``text`` needs."""
    return _pattern(_has_marks_or_cjk(text), "://" in text or "www." in text, "@" in text and _EMAIL_HINT.search(text) is not None)


class WordTokenizer(Tokenizer):
    """Words, numbers and punctuation; URLs and e-mail addresses kept whole."""

    name = "word"
    normalization = "nfc"

    def tokenize(self, line: str) -> list[str]:
        line = line.replace("\n", " ")
        return pattern_for(line).findall(line)

    def tokenize_block(self, block: str) -> str:
        joined = " ".join(pattern_for(block).findall(block))
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
