"""A tokenizer: words and punctuation marks apart, optionally lower-cased."""

from __future__ import annotations

import re
from typing import Any

from textseq import Tokenizer, hookimpl

WORD_OR_MARK = re.compile(r"\w+(?:'\w+)*|[^\w\s]")


class PluginTokenizer(Tokenizer):
    name = "__PART__"

    def __init__(self, lower: bool = False) -> None:
        if not isinstance(lower, bool):
            raise ValueError(f"lower must be true or false, not {lower!r}")
        self.lower = lower

    def tokenize(self, line: str) -> list[str]:
        return WORD_OR_MARK.findall(line.lower() if self.lower else line)

    def detokenize(self, tokens: list[str]) -> str:
        text = " ".join(tokens)
        return re.sub(r" ([.,;:!?)])", r"\1", text).replace("( ", "(")


@hookimpl
def register_tokenizers(register: Any) -> None:
    register("__PART__", PluginTokenizer, help="words and punctuation marks (-p lower=true)")
