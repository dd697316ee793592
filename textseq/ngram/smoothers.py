"""The smoother interface that ``register_smoothers`` plugins implement, and the default smoother."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:  # numpy stays unimported until a model is built
    from textseq.ngram.columns import Store
    from textseq.ngram.counts import NgramCounts
    from textseq.ngram.kneser_ney import CountColumns, Discounts, Estimate
    from textseq.ngram.model import BackoffModel

MAX_ORDER = 10
"""The highest n-gram order textseq builds and reads (lmplz's default limit is 6; SRILM's 9)."""


class Smoother(Protocol):
    """Turns n-gram counts into a backoff model."""

    def estimate(self, counts: NgramCounts, *, prune: Sequence[int] = (), warn: Callable[[str], None] | None = None) -> BackoffModel: ...


class ModifiedKneserNey:
    """Interpolated modified Kneser-Ney, numerically identical to KenLM's lmplz (the default)."""

    def __init__(self, discounts: Sequence[float] | None = None) -> None:
        self.discounts: Discounts | None = None
        if discounts is None:
            return
        from textseq.ngram.kneser_ney import Discounts

        try:
            values = [] if isinstance(discounts, (str, bytes)) else list(discounts)
        except TypeError:
            values = []
        if len(values) != 3:
            raise ValueError(f"modified-kneser-ney takes three discounts: D1, D2, D3+ (not {discounts!r})")
        d1, d2, d3 = values
        self.discounts = Discounts(d1, d2, d3)

    def estimate(self, counts: NgramCounts, *, prune: Sequence[int] = (), warn: Callable[[str], None] | None = None) -> BackoffModel:
        from textseq.ngram.columns import Store

        with Store() as store:
            return self.stream(counts, store, prune=prune, warn=warn).model()

    def stream(
        self, counts: CountColumns, store: Store, *, prune: Sequence[int] = (), warn: Callable[[str], None] | None = None
    ) -> Estimate:
        """The model of ``counts``, to be computed a slice at a time (see
        :class:`~textseq.ngram.kneser_ney.Estimate`), its working arrays in ``store``: a smoother
        with this method builds under a memory budget without holding its model whole."""
        from textseq.ngram.kneser_ney import Estimate

        fixed = [self.discounts] * len(counts.orders) if self.discounts else ()
        return Estimate(counts, store, prune=prune, discounts=fixed, warn=warn)
