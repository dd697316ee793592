"""The confusion matrix of a test report, drawn as a heat map (matplotlib, the ``plot`` extra)."""

from __future__ import annotations

import numpy as np

from textseq.classify.metrics import ClassificationReport
from textseq.embed.plot import load_pyplot
from textseq.streams import atomic_write

MAX_LABELS = 60
"""Beyond this many labels a matrix is unreadable: the most frequent (by support) are drawn."""


def plot_confusion(report: ClassificationReport, path: str, *, normalize: bool = True) -> np.ndarray:
    """Draw the report's confusion matrix (rows gold, columns predicted; each row as shares of
    its gold label's examples with ``normalize``) to ``path``; returns the matrix drawn."""
    matrix = np.asarray(report.confusion_matrix(), dtype=np.float64)
    names = [scores.name for scores in report.labels]
    if len(names) > MAX_LABELS:
        keep = np.argsort([-scores.support for scores in report.labels], kind="stable")[:MAX_LABELS]
        matrix = matrix[np.ix_(keep, keep)]
        names = [names[i] for i in keep]
    if normalize:
        totals = matrix.sum(axis=1, keepdims=True)
        matrix = np.divide(matrix, totals, out=np.zeros_like(matrix), where=totals > 0)
    load_pyplot()
    import matplotlib.pyplot as plt

    size = max(4.0, 0.22 * len(names) + 2)
    figure, axes = plt.subplots(figsize=(size, size))
    image = axes.imshow(matrix, cmap="Blues", vmin=0.0, vmax=1.0 if normalize else None)
    axes.set_xticks(range(len(names)), names, rotation=90, fontsize=7)
    axes.set_yticks(range(len(names)), names, fontsize=7)
    axes.set_xlabel("predicted")
    axes.set_ylabel("gold")
    axes.set_title(f"confusion matrix ({report.examples:,} examples, accuracy {report.accuracy:.3f})")
    figure.colorbar(image, ax=axes, fraction=0.046, pad=0.04)
    figure.tight_layout()
    suffix = path.rsplit(".", 1)[-1].lower() if "." in path else "png"
    with atomic_write(path) as handle:
        figure.savefig(handle, format=suffix, dpi=120)
    plt.close(figure)
    return matrix
