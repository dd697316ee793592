"""The built-in n-gram estimators.

The classic ones live in :mod:`textseq.ngram.classic`, which imports numpy; they are registered
through small factories that import it only when an estimator is made, so that listing the
plugins (``textseq plugins``) stays free of numpy.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from textseq.hookspecs import RegisterSmoother, hookimpl
from textseq.ngram.smoothers import ModifiedKneserNey

if TYPE_CHECKING:
    from collections.abc import Callable

    from textseq.ngram.smoothers import Smoother

CLASSIC: tuple[tuple[str, str, str], ...] = (
    ("kneser-ney", "KneserNey", "interpolated Kneser-Ney, one discount per order (D=n1/(n1+2n2) of the adjusted counts; -p discount=D)"),
    ("witten-bell", "WittenBell", "interpolated Witten-Bell: lambda(h) = c(h.)/(c(h.)+N1+(h.))"),
    ("absolute-discounting", "AbsoluteDiscounting", "interpolated absolute discounting, D=n1/(n1+2n2) per order (-p discount=D)"),
    ("katz", "Katz", "Katz backoff with Good-Turing discounts of counts up to k=5 (-p k=K)"),
    ("add-k", "AddK", "add-k (Laplace for k=1, the default), backoff-normalized (-p k=0.1)"),
    ("mle", "MaximumLikelihood", "maximum likelihood, unsmoothed: unseen events get probability 0"),
    ("stupid-backoff", "StupidBackoff", "stupid backoff (Brants et al. 2007): scores, not probabilities (-p alpha=0.4)"),
)
"""(name, class in textseq.ngram.classic, one-line help)."""


def _classic(class_name: str) -> Callable[..., Smoother]:
    """A factory for ``textseq.ngram.classic.<class_name>`` that imports the module when called."""

    def factory(**options: Any) -> Smoother:
        from textseq.ngram import classic

        return getattr(classic, class_name)(**options)  # type: ignore[no-any-return]

    factory.__name__ = factory.__qualname__ = class_name
    factory.__doc__ = f"Make a :class:`textseq.ngram.classic.{class_name}`."
    return factory


@hookimpl
def register_smoothers(register: RegisterSmoother) -> None:
    register("modified-kneser-ney", ModifiedKneserNey, help="interpolated modified Kneser-Ney, identical to KenLM's lmplz (default)")
    for name, class_name, help_text in CLASSIC:
        register(name, _classic(class_name), help=help_text)
