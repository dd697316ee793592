"""Rule-based sentence splitting of running text.

A paragraph is a run of non-blank lines (line breaks inside it are wrapping, not boundaries). A
sentence ends at ``.``, ``!`` or ``?`` (and ``。！？``), after any closing quotes or brackets, when
what follows is whitespace and then something that can start a sentence: a letter that is not
lower-case, a digit, or an opening quote or bracket. A period after a known abbreviation
(``Mr.``, ``e.g.``) or a single capital initial (``J. S. Bach``) is not a boundary.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

ABBREVIATIONS = frozenset(
    """mr mrs ms dr prof sr jr st mt ft vs etc e.g i.e cf al fig figs no nos vol vols ed eds
    approx dept est inc ltd co corp jan feb mar apr jun jul aug sep sept oct nov dec
    mon tue wed thu fri sat sun gen gov sen rep rev capt col lt sgt cmdr hon pp p op cit""".split()  # noqa: SIM905 - 66 words read better as text than as 66 quoted items
)
_CANDIDATE = re.compile(r"([.!?]+|[。！？]+)([\"')\]}’”»]*)(\s+|(?<=[。！？])(?=\S))")
_OPENERS = "\"'([{‘“«¿¡"
_WORD_BEFORE = re.compile(r"(\S+)$")


def _starts_sentence(text: str, index: int) -> bool:
    if index >= len(text):
        return False
    char = text[index]
    return char in _OPENERS or char.isdigit() or (char.isalpha() and not char.islower())


def _is_abbreviation(text: str, end: int) -> bool:
    """Whether the word ending at ``end`` (just before its period) is an abbreviation."""
    match = _WORD_BEFORE.search(text, 0, end)
    if match is None:
        return False
    word = match.group(1).lstrip(_OPENERS)
    if len(word) == 1 and word.isalpha() and word.isupper():
        return True
    return word.lower() in ABBREVIATIONS


def split_sentences(paragraph: str) -> list[str]:
    """The sentences of one paragraph, whitespace at their ends removed."""
    sentences: list[str] = []
    start = 0
    for match in _CANDIDATE.finditer(paragraph):
        after = match.end()
        if not _starts_sentence(paragraph, after):
            continue
        if match.group(1) == "." and _is_abbreviation(paragraph, match.start()):
            continue
        sentence = paragraph[start : match.end(2)].strip()
        if sentence:
            sentences.append(sentence)
        start = after
    rest = paragraph[start:].strip()
    if rest:
        sentences.append(rest)
    return sentences


def paragraphs(blocks: Iterable[str]) -> Iterator[str]:
    """Paragraphs (runs of non-blank lines, joined by a space) of text given in blocks."""
    current: list[str] = []
    for block in blocks:
        lines = block.split("\n")
        if lines[-1] == "":
            lines.pop()
        for line in lines:
            if line.strip():
                current.append(line.strip())
            elif current:
                yield " ".join(current)
                current = []
    if current:
        yield " ".join(current)


def sentence_blocks(blocks: Iterable[str], lines_per_block: int = 4096) -> Iterator[str]:
    """Text blocks with one sentence per line, each block ending in a newline."""
    batch: list[str] = []
    for paragraph in paragraphs(blocks):
        batch.extend(split_sentences(paragraph))
        if len(batch) >= lines_per_block:
            yield "\n".join(batch) + "\n"
            batch = []
    if batch:
        yield "\n".join(batch) + "\n"
