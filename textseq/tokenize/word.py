"""The default word tokenizer: Unicode-aware, one regular expression, applied a block at a time.

Tokens are, in order of preference: URLs and e-mail addresses (kept whole), numbers with inner
separators (``3.14``, ``1,000``, ``12:30``), words of any script with their combining marks and
inner apostrophes or hyphens kept (``don't``, ``o'er``, ``well-known``, ``हिन्दी``), each CJK
ideograph on its own, runs of dots or dashes (``...``, ``--``), and any other non-space character
on its own.

A block of lines is tokenized with ``map`` over the lines, so there is no Python loop per line;
blocks of plain ASCII, or without anything that could be a link, use a shorter expression that
gives the same tokens.
"""

from __future__ import annotations

import re
from functools import lru_cache

from textseq.tokenize._unicode import CJK_IDEOGRAPHS, MARKS
from textseq.tokenize.base import Tokenizer

_URL = r"(?:(?:https?|ftp)://|www\.)[^\s<>\"']*[^\s<>\"'.,;:!?)\]}]"
_EMAIL_TAIL = r"(?:(?:[.+]\w+)*@\w[\w-]*(?:\.\w[\w-]*)+)?"
_EMAIL_HINT = re.compile(r"@\w")
_NON_LATIN = re.compile(r"[^\x00-\u02ff]")
_ANY_MARK = re.compile(f"[{MARKS}]")
_ANY_CJK = re.compile(f"[{CJK_IDEOGRAPHS}]")


@lru_cache(maxsize=256)
def _pattern(marks: str, urls: bool, emails: bool) -> re.Pattern[str]:
    """The expression for a block, with only the parts that the block can need: each part
    costs time on every token, and plain English text needs none of the optional ones.
    ``marks`` are the combining marks that occur in the block (a short class is fast)."""
    letters = rf"\w+(?:[{re.escape(marks)}]+\w*)*" if marks else r"\w+"
    word = rf"{letters}(?:['\u2019\-]{letters}|(?<=\d)[.,:]\d+)*"
    if emails:
        word += _EMAIL_TAIL
    parts = [_URL] if urls else []
    parts += [word, r"\.\.+|--+", r"[^\w\s]"]
    return re.compile("|".join(parts))


def _marks_and_ideographs(text: str) -> tuple[str, str]:
    """The combining marks and the CJK ideographs that occur in ``text``."""
    if text.isascii():
        return "", ""
    rare = "".join(sorted(set(_NON_LATIN.findall(text))))
    return "".join(_ANY_MARK.findall(rare)), "".join(_ANY_CJK.findall(rare))


def _prepare(text: str) -> tuple[str, re.Pattern[str]]:
    """``text`` with each CJK ideograph set apart (each is a word of its own), and the
    expression that it needs."""
    marks, ideographs = _marks_and_ideographs(text)
    if ideographs:
        text = re.sub(f"[{re.escape(ideographs)}]", r" \g<0> ", text)
    urls = "://" in text or "www." in text
    emails = "@" in text and _EMAIL_HINT.search(text) is not None
    return text, _pattern(marks, urls, emails)


class WordTokenizer(Tokenizer):
    """Words, numbers and punctuation; URLs and e-mail addresses kept whole."""

    name = "word"
    normalization = "nfc"

    def tokenize(self, line: str) -> list[str]:
        text, pattern = _prepare(line)
        return pattern.findall(text)

    def tokenize_block(self, block: str) -> str:
        text, pattern = _prepare(block)
        return "\n".join(map(" ".join, map(pattern.findall, text.split("\n"))))  # no Python loop per line

    def detokenize(self, tokens: list[str]) -> str:
        return detokenize_words(tokens)


_NO_SPACE_BEFORE = set(".,;:!?%)]}»”’…") | {"...", "n't", "'s", "'re", "'ve", "'ll", "'d", "'m"}
_NO_SPACE_AFTER = set("([{«“‘$£€¿¡")
_QUOTES = {'"', "'"}


def detokenize_words(tokens: list[str]) -> str:
    """Best-effort English text from word tokens: no space before closing punctuation or after
    opening brackets, straight quotes attached to what they enclose."""
    out: list[str] = []
    open_quote = dict.fromkeys(_QUOTES, False)
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
