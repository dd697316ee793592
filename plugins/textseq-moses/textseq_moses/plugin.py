"""``moses``: sacremoses' port of the Moses tokenizer.perl and detokenizer.perl, registered
through textseq's ``register_tokenizers`` hook.

Escaping (``&`` to ``&amp;``, ``|`` to ``&#124;`` and so on, which Moses does for its own
pipelines) is off by default: textseq's tokens are text, and a pipe keeps its characters. With
``escape=true`` the tokens are escaped and detokenizing unescapes them.
"""

from __future__ import annotations

from textseq import RegisterTokenizer, Tokenizer, hookimpl


class MosesTokenizer(Tokenizer):
    name = "moses"
    normalization = "nfc"

    def __init__(self, lang: str = "en", escape: bool = False, aggressive_dash_splits: bool = False) -> None:
        if not isinstance(lang, str) or not lang:
            raise ValueError(f"lang must be a language code such as en or de, not {lang!r}")
        for option, value in (("escape", escape), ("aggressive_dash_splits", aggressive_dash_splits)):
            if not isinstance(value, bool):
                raise ValueError(f"{option} must be true or false, not {value!r}")
        from sacremoses import MosesDetokenizer
        from sacremoses import MosesTokenizer as Moses

        self.lang = lang
        self.escape = escape
        self.aggressive_dash_splits = aggressive_dash_splits
        self._tokenizer = Moses(lang=lang)
        self._detokenizer = MosesDetokenizer(lang=lang)

    def tokenize(self, line: str) -> list[str]:
        return self._tokenizer.tokenize(line, escape=self.escape, aggressive_dash_splits=self.aggressive_dash_splits)

    def detokenize(self, tokens: list[str]) -> str:
        return self._detokenizer.detokenize(tokens, unescape=self.escape)


@hookimpl
def register_tokenizers(register: RegisterTokenizer) -> None:
    register(
        "moses",
        MosesTokenizer,
        help="Moses tokenizer and detokenizer (sacremoses): -p lang=en -p escape=false -p aggressive_dash_splits=false",
    )
