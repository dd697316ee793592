"""A 2-D map of some words: PCA of their vectors (numpy SVD), drawn as a labelled scatter plot.

matplotlib is optional (the ``textseq[plot]`` extra) and imported only here, when a map is drawn.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence

import numpy as np

from textseq.embed.vectors import Vectors
from textseq.errors import TextseqError


class MissingDependencyError(TextseqError):
    """An optional package a command needs is not installed (exit 1)."""


def pca_2d(matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rows projected on their first two principal components, and the share of the variance
    each explains. The sign of each axis is fixed (largest loading positive) so maps repeat."""
    x = np.asarray(matrix, dtype=np.float64)
    x = x - x.mean(axis=0)
    _, s, vt = np.linalg.svd(x, full_matrices=False)
    components = vt[:2]
    signs = np.sign(components[np.arange(len(components)), np.abs(components).argmax(axis=1)])
    signs[signs == 0] = 1
    components = components * signs[:, None]
    points = x @ components.T
    if points.shape[1] < 2:
        points = np.pad(points, ((0, 0), (0, 2 - points.shape[1])))
    variance = s**2
    explained = variance[:2] / variance.sum() if variance.sum() > 0 else np.zeros(2)
    return points, np.pad(explained, (0, 2 - len(explained)))


def load_pyplot() -> None:
    """Import matplotlib's pyplot on its file-only backend (Agg), or say what to install."""
    try:
        import matplotlib as mpl

        mpl.use("Agg")
        importlib.import_module("matplotlib.pyplot")  # pyplot's own dependencies may be missing too
    except ImportError:
        raise MissingDependencyError("plotting needs matplotlib: pip install matplotlib (or pip install 'textseq[plot]')") from None


def plot_words(vectors: Vectors, words: Sequence[str], path: str, title: str | None = None) -> np.ndarray:
    """Draw the words' 2-D PCA map to ``path`` (PNG, or any format matplotlib knows by the
    name); returns the 2-D points."""
    if len(words) < 2:
        raise ValueError("a map needs at least two words")
    rows = [vectors.row(w) for w in words]
    points, explained = pca_2d(vectors.matrix[rows])
    load_pyplot()
    import matplotlib.pyplot as plt

    from textseq.streams import atomic_write

    figure, axes = plt.subplots(figsize=(8, 6))
    axes.scatter(points[:, 0], points[:, 1], s=18)
    for (x, y), word in zip(points, words):
        axes.annotate(word, (x, y), xytext=(4, 3), textcoords="offset points", fontsize=10)
    axes.set_xlabel(f"PC1 ({explained[0]:.0%} of the variance)")
    axes.set_ylabel(f"PC2 ({explained[1]:.0%} of the variance)")
    if title:
        axes.set_title(title)
    figure.tight_layout()
    extension = str(path).rsplit(".", 1)[-1].lower() if "." in str(path) else "png"
    with atomic_write(path) as out:
        figure.savefig(out, format=extension, dpi=150)
    plt.close(figure)
    return points
