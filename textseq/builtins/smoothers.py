"""The built-in n-gram estimators."""

from __future__ import annotations

from textseq.hookspecs import RegisterSmoother, hookimpl
from textseq.ngram.smoothers import ModifiedKneserNey


@hookimpl
def register_smoothers(register: RegisterSmoother) -> None:
    register("modified-kneser-ney", ModifiedKneserNey, help="interpolated modified Kneser-Ney, identical to KenLM's lmplz (default)")
