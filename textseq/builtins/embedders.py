"""The built-in embedders: word2vec's skip-gram and CBOW, GloVe and PPMI-SVD (numpy and numba are
imported only when one is made)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textseq.hookspecs import RegisterEmbedder, hookimpl
from textseq.registry import LazyFactory

if TYPE_CHECKING:
    from textseq.embed.glove import GloVe
    from textseq.embed.ppmi import PpmiSvd
    from textseq.embed.word2vec import Cbow, SkipGram


def _ppmi_svd() -> type[PpmiSvd]:
    from textseq.embed.ppmi import PpmiSvd

    return PpmiSvd


def _skipgram() -> type[SkipGram]:
    from textseq.embed.word2vec import SkipGram

    return SkipGram


def _cbow() -> type[Cbow]:
    from textseq.embed.word2vec import Cbow

    return Cbow


def _glove() -> type[GloVe]:
    from textseq.embed.glove import GloVe

    return GloVe


@hookimpl
def register_embedders(register: RegisterEmbedder) -> None:
    register(
        "skipgram",
        LazyFactory(_skipgram),
        help="word2vec skip-gram (numba): --negative K and/or --hs, --sample, --epochs, --threads, -p alpha=0.025",
    )
    register(
        "cbow",
        LazyFactory(_cbow),
        help="word2vec CBOW (numba): --negative K and/or --hs, --sample, --epochs, --threads, -p alpha=0.05 -p cbow_mean=false",
    )
    register(
        "glove",
        LazyFactory(_glove),
        help="GloVe (numba, AdaGrad on 1/distance-weighted co-occurrences): --epochs (25), --threads, -p alpha=0.05 -p x_max=100 -p power=0.75 -p bias_alpha=1 (today's glove.c)",
    )
    register(
        "ppmi-svd",
        LazyFactory(_ppmi_svd),
        help="PPMI (context smoothing 0.75) + truncated SVD, eigenvalue weight 0.5 (Levy et al. 2015); -p shift=5 -p eig=0",
    )
