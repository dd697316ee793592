"""The built-in embedding trainers (numpy is imported only when one is made)."""

from __future__ import annotations

from typing import Any

from textseq.hookspecs import RegisterEmbedder, hookimpl


def _ppmi_svd(**options: Any) -> Any:
    from textseq.embed.ppmi import PpmiSvd

    return PpmiSvd(**options)


def _skipgram(**options: Any) -> Any:
    from textseq.embed.word2vec import SkipGram

    return SkipGram(**options)


def _cbow(**options: Any) -> Any:
    from textseq.embed.word2vec import Cbow

    return Cbow(**options)


def _glove(**options: Any) -> Any:
    from textseq.embed.glove import GloVe

    return GloVe(**options)


@hookimpl
def register_embedders(register: RegisterEmbedder) -> None:
    register("skipgram", _skipgram, help="word2vec skip-gram (numba): --negative K and/or --hs, --sample, --epochs, --threads, -p alpha=0.025")
    register("cbow", _cbow, help="word2vec CBOW (numba): --negative K and/or --hs, --sample, --epochs, --threads, -p alpha=0.05 -p cbow_mean=false")
    register("glove", _glove, help="GloVe (numba, AdaGrad on 1/distance-weighted co-occurrences): --epochs (25), --threads, -p alpha=0.05 -p x_max=100 -p power=0.75 -p bias_alpha=1 (today's glove.c)")
    register("ppmi-svd", _ppmi_svd, help="PPMI (context smoothing 0.75) + truncated SVD, eigenvalue weight 0.5 (Levy et al. 2015); -p shift=5 -p eig=0")
