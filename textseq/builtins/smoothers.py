"""The built-in n-gram smoothers.

The classic ones live in :mod:`textseq.ngram.classic`, which imports numpy; each is registered
through a factory that imports it only when a smoother is made, so that listing the plugins
(``textseq plugins``) stays free of numpy.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from textseq.hookspecs import RegisterSmoother, hookimpl
from textseq.ngram.smoothers import ModifiedKneserNey

if TYPE_CHECKING:
    from textseq.ngram.smoothers import Smoother


def _kneser_ney(**options: Any) -> Smoother:
    from textseq.ngram.classic import KneserNey

    return KneserNey(**options)


def _witten_bell(**options: Any) -> Smoother:
    from textseq.ngram.classic import WittenBell

    return WittenBell(**options)


def _absolute_discounting(**options: Any) -> Smoother:
    from textseq.ngram.classic import AbsoluteDiscounting

    return AbsoluteDiscounting(**options)


def _katz(**options: Any) -> Smoother:
    from textseq.ngram.classic import Katz

    return Katz(**options)


def _add_k(**options: Any) -> Smoother:
    from textseq.ngram.classic import AddK

    return AddK(**options)


def _mle(**options: Any) -> Smoother:
    from textseq.ngram.classic import MaximumLikelihood

    return MaximumLikelihood(**options)


def _stupid_backoff(**options: Any) -> Smoother:
    from textseq.ngram.classic import StupidBackoff

    return StupidBackoff(**options)


@hookimpl
def register_smoothers(register: RegisterSmoother) -> None:
    register("modified-kneser-ney", ModifiedKneserNey, help="interpolated modified Kneser-Ney, identical to KenLM's lmplz (default)")
    register(
        "kneser-ney",
        _kneser_ney,
        help="interpolated Kneser-Ney, one discount per order (D=n1/(n1+2n2) of the adjusted counts; -p discount=D)",
    )
    register("witten-bell", _witten_bell, help="interpolated Witten-Bell: lambda(h) = c(h.)/(c(h.)+N1+(h.))")
    register(
        "absolute-discounting", _absolute_discounting, help="interpolated absolute discounting, D=n1/(n1+2n2) per order (-p discount=D)"
    )
    register("katz", _katz, help="Katz backoff with Good-Turing discounts of counts up to k=5 (-p k=K)")
    register("add-k", _add_k, help="add-k (Laplace for k=1, the default), backoff-normalized (-p k=0.1)")
    register("mle", _mle, help="maximum likelihood, unsmoothed: unseen events get probability 0")
    register("stupid-backoff", _stupid_backoff, help="stupid backoff (Brants et al. 2007): scores, not probabilities (-p alpha=0.4)")
