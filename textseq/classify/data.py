"""Labelled lines: the examples a classifier trains and is tested on, read as fastText reads them.

Two formats. **fasttext**, one example a line: every whitespace-separated token that starts with
the label prefix (``__label__`` by default) is a label, wherever it stands on the line, and the
other tokens, joined by single spaces, are the text; several labels make a multi-label example.
**tsv**: ``label<TAB>text``, one label a line (see :func:`read_labelled` for why no list).

Where textseq parts from fastText it is stricter and says so, because fastText is silent: a line
without a label is an error here (fastText's training skips it unnoticed), ``__label__`` with no
name after it is an error (fastText makes it a label with an empty name), and a label repeated on
a line counts once (fastText counts it twice in recall).
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Literal

from textseq.errors import InputError, ParameterError
from textseq.streams import STDIN_NAME
from textseq.vocab import most_frequent

Format = Literal["fasttext", "tsv"]
FORMATS: tuple[Format, ...] = ("fasttext", "tsv")
DEFAULT_LABEL_PREFIX = "__label__"

FASTTEXT_SPACE = " \t\n\r\v\f\0"
"""What separates tokens for fastText (``Dictionary::readWord``): ASCII space, tab, newline,
carriage return, vertical tab, form feed and NUL, nothing else. A no-break space or another
Unicode space is part of a token there, so it is here, and the tokens stay the same both ways."""
_TO_SPACE = str.maketrans(dict.fromkeys(FASTTEXT_SPACE[1:], " "))


@dataclass(frozen=True)
class LabelledLine:
    """One example: its labels (names without the prefix, in order of appearance, none
    repeated; empty for an unlabelled line that prediction reads), its text (tokens joined by
    single spaces) and the number of the line it came from, for messages."""

    labels: tuple[str, ...]
    text: str
    line: int


_Parser = Callable[[str, str, str, int], LabelledLine | None]
"""A line parser: (line, label prefix, source, line number) to an example, or None for a blank line."""


def fasttext_tokens(line: str) -> list[str]:
    """The tokens of ``line`` as fastText splits it (at :data:`FASTTEXT_SPACE` only)."""
    line = line.removesuffix("\n")
    if line.isascii() and line.isprintable():  # only spaces separate here, and str.split's whitespace is them alone
        return line.split()
    if not line.isprintable():  # every separator but the space is unprintable: the common line skips translate
        line = line.translate(_TO_SPACE)
    return [token for token in line.split(" ") if token]


def text_tokens(line: str, *, format: Format = "fasttext", label_prefix: str = DEFAULT_LABEL_PREFIX) -> list[str] | None:
    """The tokens of a line's text, its labels (which prediction ignores) left out; None for a
    blank line. The fast path of prediction: no :class:`LabelledLine` is made, and the tokens
    are not joined to be split again."""
    if format == "tsv":
        label, tab, text = line.partition("\t")
        tokens = fasttext_tokens(text if tab else line)
        return tokens if tokens or (tab and label.strip(FASTTEXT_SPACE)) else None
    tokens = fasttext_tokens(line)
    if not tokens:
        return None
    labels = line.count(label_prefix)
    if not labels:
        return tokens
    at = 0
    while at < len(tokens) and tokens[at].startswith(label_prefix):  # labels usually lead the line
        at += 1
    if at == labels:
        return tokens[at:]
    return [token for token in tokens[at:] if not token.startswith(label_prefix)]


def read_labelled(
    lines: Iterable[str],
    *,
    format: Format = "fasttext",
    label_prefix: str = DEFAULT_LABEL_PREFIX,
    source: str = STDIN_NAME,
    require_labels: bool = True,
    first_line: int = 1,
) -> Iterator[LabelledLine]:
    """The examples of ``lines`` (with or without their ``\\n``; the first is line 1 of
    ``source``), one by one, so that prediction streams. Blank lines are skipped; a ``\\r``
    before the newline is whitespace, so CRLF files read as LF ones.

    With ``require_labels`` (training, testing) a line without a label is an :class:`InputError`
    naming ``source:line``; without it (prediction) such a line is an example with no labels, and
    labels that a line has are kept.

    In ``tsv`` the part before the first tab is the label and the rest the text (its whitespace
    collapsed as in the fastText format, so one example reads the same in both). The label
    column holds one label: a comma may be part of a label's name (fastText takes any token),
    so splitting at commas would change the labels of data converted from fastText, and
    multi-label data has the fastText format. A label cannot contain whitespace, since
    prediction writes it back as one ``__label__NAME`` token. A line without a tab has no label
    column: with ``require_labels`` false its whole text is the text.

    ``format`` and ``label_prefix`` are checked now, the lines as they are read. ``first_line``
    is the number of the first line, for input read in parts.
    """
    if format not in FORMATS:
        raise ParameterError(f"format must be one of {', '.join(FORMATS)}, not {format!r}", parameter="format")
    if not label_prefix or any(char in FASTTEXT_SPACE for char in label_prefix):
        raise ParameterError(f"a label prefix must be non-empty and without whitespace, not {label_prefix!r}", parameter="label_prefix")
    parse = _fasttext_line if format == "fasttext" else _tsv_line
    return _read(lines, parse, label_prefix, source, require_labels, first_line)


def _read(lines: Iterable[str], parse: _Parser, prefix: str, source: str, require_labels: bool, first_line: int) -> Iterator[LabelledLine]:
    for number, line in enumerate(lines, first_line):
        example = parse(line, prefix, source, number)
        if example is None:
            continue
        if require_labels and not example.labels:
            raise InputError(_no_label(parse, prefix), source=source, line=number)
        yield example


def _fasttext_line(line: str, prefix: str, source: str, number: int) -> LabelledLine | None:
    tokens = fasttext_tokens(line)
    if not tokens:
        return None
    labels: list[str] = []
    at = 0
    while at < len(tokens) and tokens[at].startswith(prefix):  # labels usually lead the line
        _add_label(tokens[at], prefix, labels, source, number)
        at += 1
    text = " ".join(tokens[at:]) if at else " ".join(tokens)
    if prefix not in text:
        return LabelledLine(tuple(labels), text, number)
    words: list[str] = []
    for token in tokens[at:]:
        if token.startswith(prefix):
            _add_label(token, prefix, labels, source, number)
        else:
            words.append(token)
    return LabelledLine(tuple(labels), " ".join(words), number)


def _add_label(token: str, prefix: str, labels: list[str], source: str, number: int) -> None:
    name = token[len(prefix) :]
    if not name:
        raise InputError(f"an empty label: {prefix!r} with no name after it", source=source, line=number)
    if name not in labels:
        labels.append(name)


def _tsv_line(line: str, prefix: str, source: str, number: int) -> LabelledLine | None:
    label, tab, text = line.partition("\t")
    if not tab:
        words = fasttext_tokens(line)
        return LabelledLine((), " ".join(words), number) if words else None
    names = fasttext_tokens(label)
    if len(names) > 1:
        raise InputError(f"a label with whitespace in it: {label.strip(FASTTEXT_SPACE)!r}", source=source, line=number)
    words = fasttext_tokens(text)
    if not names and not words:
        return None
    return LabelledLine(tuple(names), " ".join(words), number)


def _no_label(parse: _Parser, prefix: str) -> str:
    if parse is _tsv_line:
        return "no label (a tsv line is label<TAB>text)"
    return f"no label (a label is a token starting with {prefix!r})"


class LabelSet:
    """Label names and their ids, ``0 .. len - 1``: the classes a model answers with.

    Built from the training examples, most frequent first (ties in order of first appearance),
    as fastText orders them: id 0 is the majority class, and a model file stores ``names``."""

    def __init__(self, names: Iterable[str]) -> None:
        self.names: tuple[str, ...] = tuple(names)
        self._ids = {name: index for index, name in enumerate(self.names)}
        if len(self._ids) != len(self.names):
            raise ValueError("label names must be distinct")

    @classmethod
    def from_examples(cls, examples: Iterable[LabelledLine]) -> LabelSet:
        counts = Counter(label for example in examples for label in example.labels)
        return cls(name for name, _ in most_frequent(counts))

    def id_of(self, name: str, *, source: str = STDIN_NAME, line: int | None = None) -> int:
        """The id of ``name``; an :class:`InputError` at ``source:line`` for a label the model
        was not trained on (a test file with a class the training file lacks)."""
        try:
            return self._ids[name]
        except KeyError:
            raise InputError(
                f"unknown label {name!r}: not one of the {len(self)} labels of the training data", source=source, line=line
            ) from None

    def name_of(self, index: int) -> str:
        return self.names[index]

    def __len__(self) -> int:
        return len(self.names)

    def __contains__(self, name: object) -> bool:
        return name in self._ids

    def __iter__(self) -> Iterator[str]:
        return iter(self.names)

    def __repr__(self) -> str:
        return f"LabelSet({list(self.names)!r})"


def stratified_split(examples: Sequence[LabelledLine], share: float = 0.1, seed: int = 1) -> tuple[list[LabelledLine], list[LabelledLine]]:
    """(train, held_out): ``share`` of ``examples`` held out for validation, label by label, so
    that the held-out part has the training part's label mix; for training without a validation
    file.

    Examples are grouped by their first label (a multi-label example goes with its first). Each
    label holds out its share of its examples, rounded down, and the labels with the largest
    remainders (ties: the label seen first) one more each, until ``round(share * len(examples))``
    are held out; but every label keeps at least one example in training (a label seen once stays
    there whole), since a class the model never trains on cannot be learnt. Which examples of a label go is
    drawn with ``seed``, the same for the same seed and input; both parts keep the input's order.
    """
    if not 0 <= share < 1:
        raise ParameterError(f"share must be at least 0 and less than 1, not {share}", parameter="share")
    groups: dict[str | None, list[int]] = {}
    for index, example in enumerate(examples):
        groups.setdefault(example.labels[0] if example.labels else None, []).append(index)
    members = list(groups.values())
    caps = [len(group) - 1 for group in members]
    quotas = [share * len(group) for group in members]
    counts = [min(int(quota), cap) for quota, cap in zip(quotas, caps)]
    wanted = min(round(share * len(examples)), sum(caps)) - sum(counts)
    by_remainder = sorted(range(len(members)), key=lambda at: counts[at] - quotas[at])  # stable: ties keep first appearance
    for at in by_remainder:
        if wanted <= 0:
            break
        if counts[at] < caps[at]:
            counts[at] += 1
            wanted -= 1
    rng = random.Random(seed)
    held: set[int] = set()
    for group, count in zip(members, counts):
        held.update(rng.sample(group, count))
    train = [example for index, example in enumerate(examples) if index not in held]
    held_out = [example for index, example in enumerate(examples) if index in held]
    return train, held_out
