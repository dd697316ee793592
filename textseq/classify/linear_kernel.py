"""The linear model's training loop, compiled (numba), as fastText's supervised ``Model::update``.

One example: the hidden vector is the mean of its features' input rows; the output layer scores
the labels (softmax), the Huffman tree's inner nodes on the gold labels' paths (hs), or each
label on its own (ova); the gradient goes into the output rows and, divided by the number of
features, into every input row of the example. The learning rate falls linearly to 0 over all
the tokens of the run, as fastText's does. Threads run this on disjoint jobs at once, updating the
shared matrices without locks (Hogwild), as fastText and word2vec do; one thread is exactly
repeatable.

No randomness: the order of the examples is drawn outside, per epoch.
"""

from __future__ import annotations

import math

import numba
import numpy as np

SOFTMAX, HS, OVA = 0, 1, 2
LOSSES = {"softmax": SOFTMAX, "hs": HS, "ova": OVA}
_LOG_FLOOR = 1e-10


@numba.njit(cache=True, nogil=True, fastmath=True, inline="always")
def _log(value):
    return math.log(value if value > _LOG_FLOOR else _LOG_FLOOR)  # noqa: FURB136 - max() is slower under numba


@numba.njit(cache=True, nogil=True, fastmath=True, inline="always")
def _sigmoid(score):
    if score > 30.0:
        return 1.0
    if score < -30.0:
        return 0.0
    return 1.0 / (1.0 + math.exp(-score))


@numba.njit(cache=True, nogil=True, fastmath=True)
def train_examples(  # noqa: C901 - one kernel on purpose, as fastText's update is
    inputs,
    outputs,
    feature_offsets,
    features,
    label_offsets,
    labels,
    token_counts,
    order,
    class_weights,
    codes,
    points,
    code_lengths,
    loss_kind,
    lr,
    total_tokens,
    progress,
    slot,
):
    """Train on the examples ``order`` (indices into the ragged ``features`` / ``labels``). ``progress``
    holds each thread's tokens done so far (this one's at ``slot``), whose sum sets the learning
    rate ``lr * (1 - done / total_tokens)``. Returns (summed loss, examples trained on)."""
    dim = inputs.shape[1]
    n_labels = class_weights.shape[0]
    hidden = np.empty(dim, np.float32)
    grad = np.empty(dim, np.float32)
    scores = np.empty(max(n_labels, 1), np.float32)
    target = np.zeros(max(n_labels, 1), np.float32)
    total_loss = 0.0
    trained = 0
    for at in range(order.shape[0]):
        example = order[at]
        first, last = feature_offsets[example], feature_offsets[example + 1]
        lfirst, llast = label_offsets[example], label_offsets[example + 1]
        done = 0
        for t in range(progress.shape[0]):
            done += progress[t]
        rate = lr * (1.0 - done / total_tokens)
        progress[slot] += token_counts[example]
        if last == first or llast == lfirst:
            continue
        if rate < 0.0:
            rate = 0.0
        count = last - first
        for d in range(dim):
            hidden[d] = 0.0
            grad[d] = 0.0
        for f in range(first, last):
            row = features[f]
            for d in range(dim):
                hidden[d] += inputs[row, d]
        scale = 1.0 / count
        for d in range(dim):
            hidden[d] *= scale
        gold = llast - lfirst
        weight = 0.0
        for g in range(lfirst, llast):
            weight += class_weights[labels[g]]
        weight /= gold
        loss = 0.0
        if loss_kind == 0:
            top = -1e30
            for k in range(n_labels):
                s = 0.0
                for d in range(dim):
                    s += outputs[k, d] * hidden[d]
                scores[k] = s
                if s > top:
                    top = s
            z = 0.0
            for k in range(n_labels):
                scores[k] = math.exp(scores[k] - top)
                z += scores[k]
            for k in range(n_labels):
                scores[k] /= z
                target[k] = 0.0
            for g in range(lfirst, llast):
                target[labels[g]] = 1.0 / gold
                loss -= _log(scores[labels[g]]) / gold
            for k in range(n_labels):
                alpha = rate * weight * (target[k] - scores[k])
                for d in range(dim):
                    grad[d] += alpha * outputs[k, d]
                    outputs[k, d] += alpha * hidden[d]
        elif loss_kind == 1:
            for g in range(lfirst, llast):
                label = labels[g]
                for j in range(code_lengths[label]):
                    node = points[label, j]
                    s = 0.0
                    for d in range(dim):
                        s += outputs[node, d] * hidden[d]
                    f = _sigmoid(s)
                    truth = 1.0 - codes[label, j]
                    loss -= _log(f if truth > 0.5 else 1.0 - f) / gold
                    alpha = rate * weight * (truth - f) / gold
                    for d in range(dim):
                        grad[d] += alpha * outputs[node, d]
                        outputs[node, d] += alpha * hidden[d]
        else:
            for k in range(n_labels):
                target[k] = 0.0
            for g in range(lfirst, llast):
                target[labels[g]] = 1.0
            for k in range(n_labels):
                s = 0.0
                for d in range(dim):
                    s += outputs[k, d] * hidden[d]
                f = _sigmoid(s)
                positive = target[k] > 0.5
                loss -= _log(f if positive else 1.0 - f)
                alpha = rate * (class_weights[k] if positive else 1.0) * (target[k] - f)
                for d in range(dim):
                    grad[d] += alpha * outputs[k, d]
                    outputs[k, d] += alpha * hidden[d]
        for d in range(dim):
            grad[d] *= scale
        for f in range(first, last):
            row = features[f]
            for d in range(dim):
                inputs[row, d] += grad[d]
        total_loss += loss
        trained += 1
    return total_loss, trained


@numba.njit(cache=True, nogil=True, fastmath=True)
def mean_rows(inputs, offsets, rows):
    """Each example's hidden vector, the mean of its rows (zero for none): the numpy version
    gathers every row first, which for a validation set is hundreds of megabytes."""
    examples = offsets.shape[0] - 1
    dim = inputs.shape[1]
    hidden = np.zeros((examples, dim), np.float32)
    for i in range(examples):
        first, last = offsets[i], offsets[i + 1]
        if last == first:
            continue
        for f in range(first, last):
            row = rows[f]
            for d in range(dim):
                hidden[i, d] += inputs[row, d]
        scale = 1.0 / (last - first)
        for d in range(dim):
            hidden[i, d] *= scale
    return hidden
