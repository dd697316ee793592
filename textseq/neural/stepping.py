"""One token at a time through a recurrent network on CPU, for sampling.

Generating text feeds one token per stream per step. There a call to a whole torch module
(``nn.LSTM``), or even ``torch.lstm_cell``, spends much of its time around the arithmetic, and
the arithmetic is a matrix-vector product bound by reading the weights from memory: a 2x512
character LSTM reads 12 MB a token. torch's CPU matrix-vector product (MKL's here) runs on one
core whatever ``torch.set_num_threads`` says, where numpy's BLAS (OpenBLAS) spreads it over the
cores and reads memory at about twice the rate. So on CPU the step is numpy's, over weights laid
out once:

* the first layer's input matrix becomes a table of its product with every embedding (one row
  per token id, the biases folded in) when that table is small, so the first layer's input
  projection is a row lookup;
* each upper LSTM or RNN layer's input and hidden matrices are joined into one, so a layer is
  one product over ``[x; h]``;
* an LSTM's gate rows are put in the order input, forget, output, cell (torch's is input, forget,
  cell, output), and the sigmoid gates' rows (a GRU's reset and update too) are halved, which
  is exact: sigmoid(a) = (tanh(a / 2) + 1) / 2, so one tanh goes over all four gates, and the
  cell math writes in place;
* a peephole LSTM's peepholes (:mod:`textseq.neural.peephole`) are halved with the rows of their
  gates; its output gate waits for the new cell, so its tanh is a call of its own.

The numbers are those of ``forward`` in float32 (equal up to rounding). The state keeps the
model's shapes (``[layers, B, hidden]`` tensors, a pair for an LSTM), so states pass between a
stepper and the model. Elsewhere than on CPU the stepper calls the model's ``forward`` on one
step. How many cores numpy's BLAS uses is set by ``textseq sample`` (see :mod:`textseq.neural.blas`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeAlias

import numpy as np
import torch
from torch import nn

if TYPE_CHECKING:
    from textseq.neural.models import RecurrentLM

StepState: TypeAlias = "np.ndarray | torch.Tensor | tuple[np.ndarray | torch.Tensor, ...] | None"
"""A network's state between steps: the model's (``[layers, B, hidden]``, a pair for an LSTM), as
tensors from ``forward`` or numpy arrays from a stepper; None at the start."""

TABLE_LIMIT = 1 << 22
"""The most entries (vocabulary x gates) of a first-layer table worth precomputing (16 MB)."""


class ForwardStepper:
    """The model's own ``forward`` on one step (GPUs, and networks without a numpy step)."""

    def __init__(self, model: nn.Module) -> None:
        self.model = model
        self.device = next(model.parameters()).device

    def step(self, tokens: np.ndarray, state: StepState = None) -> tuple[np.ndarray, StepState]:
        with torch.no_grad():
            logits, state = self.model(torch.as_tensor(tokens, device=self.device)[None], state)
        return logits[0].float().cpu().numpy(), state


class RecurrentStepper:
    """``step(tokens [B], state) -> (logits [B, V], state)`` of a
    :class:`~textseq.neural.models.RecurrentLM` in eval mode on CPU, in numpy: token ids and
    logits are numpy arrays; the state is the model's (``[layers, B, hidden]``, a pair for an
    LSTM), as numpy arrays or, coming from ``forward``, tensors; ``None`` is the start."""

    def __init__(self, model: RecurrentLM) -> None:
        self.arch = model.arch
        self.layers = model.layers
        self.hidden = model.hidden_size
        self.residual = bool(model.config["residual"])
        self.relu = model.arch == "rnn" and model.config.get("nonlinearity") == "relu"
        self.peephole = bool(getattr(model, "peephole", False))
        weights = [_layer_weights(model, layer) for layer in range(self.layers)]
        self.peepholes = [_peepholes(model, layer) for layer in range(self.layers)] if self.peephole else None
        if self.arch == "lstm":
            order = np.r_[0 : 2 * self.hidden, 3 * self.hidden : 4 * self.hidden, 2 * self.hidden : 3 * self.hidden]
            weights = [[_halve_rows(w[order], 3 * self.hidden) for w in layer] for layer in weights]
        elif self.arch == "gru":
            weights = [[_halve_rows(w, 2 * self.hidden) for w in layer] for layer in weights]
        self.embedding = _array(model.encoder.weight)
        w_ih, w_hh, b_ih, b_hh = weights[0]
        gru = self.arch == "gru"
        folded = b_ih if gru else b_ih + b_hh  # a GRU's hidden bias stays inside the reset gate
        self.table = self.embedding @ w_ih.T + folded if self.embedding.shape[0] * w_ih.shape[0] <= TABLE_LIMIT else None
        self.input0 = (w_ih, folded)
        self.hidden0 = (w_hh, b_hh if gru else None)
        self.upper = [
            ((w_ih, b_ih), (w_hh, b_hh)) if gru else ((np.ascontiguousarray(np.concatenate([w_ih, w_hh], axis=1)), b_ih + b_hh), None)
            for w_ih, w_hh, b_ih, b_hh in weights[1:]
        ]
        self.projection = None if model.projection is None else (_array(model.projection.weight), None)
        self.decoder = (_array(model.decoder.weight), _array(model.decoder.bias))
        self._scratch: dict[int, tuple[np.ndarray, np.ndarray]] = {}

    def step(self, tokens: np.ndarray, state: StepState = None) -> tuple[np.ndarray, StepState]:
        ids = np.asarray(tokens)
        if self.arch == "lstm":
            return self._step_lstm(ids, state)
        hs = np.zeros((self.layers, len(ids), self.hidden), dtype=np.float32) if state is None else _as_array(state)
        new_h = np.empty_like(hs)
        out = self._activate(self._first_layer(ids, hs[0]))
        new_h[0] = out
        x = _residual(out, self.embedding[ids]) if self.residual else out
        for layer in range(1, self.layers):
            h = hs[layer]
            joint, hidden = self.upper[layer - 1]
            if hidden is not None:
                out = _gru(_linear(x, joint), _linear(h, hidden), h)
            else:
                out = self._activate(_linear(np.concatenate([x, h], axis=1), joint))
            new_h[layer] = out
            x = _residual(out, x) if self.residual else out
        return self._output(x), new_h

    def _first_layer(self, ids: np.ndarray, h: np.ndarray) -> np.ndarray:
        """An RNN's or a GRU's first layer before the RNN's nonlinearity: the input's projection a
        row of the table where there is one."""
        projected = self.table[ids] if self.table is not None else _linear(self.embedding[ids], self.input0)
        out = _linear(h, self.hidden0)
        if self.arch == "gru":
            return _gru(projected, out, h)
        out += projected
        return out

    def _activate(self, out: np.ndarray) -> np.ndarray:
        """An RNN layer's nonlinearity, in place (a GRU's output is final)."""
        if self.arch == "rnn":
            return np.maximum(out, 0, out=out) if self.relu else np.tanh(out, out=out)
        return out

    def _step_lstm(self, ids: np.ndarray, state: StepState) -> tuple[np.ndarray, StepState]:
        """The LSTM's step, the one sampling spends its time in: each layer's products write into
        one gate buffer kept between steps, and the cell math is done in place."""
        if state is None:
            hs = np.zeros((self.layers, len(ids), self.hidden), dtype=np.float32)
            cs = np.zeros_like(hs)
        else:
            hs, cs = _as_array(state[0]), _as_array(state[1])
        new_h, new_c = np.empty_like(hs), np.empty_like(cs)
        gates, joint = self._buffers(len(ids))
        _linear(hs[0], self.hidden0, gates)
        gates += _rows(self.table, ids) if self.table is not None else _linear(self.embedding[ids], self.input0)
        out = self._cell(0, gates, cs[0], new_c[0], new_h[0])
        x = _residual(out, self.embedding[ids]) if self.residual else out
        for layer in range(1, self.layers):
            _linear(np.concatenate([x, hs[layer]], axis=1, out=joint), self.upper[layer - 1][0], gates)
            out = self._cell(layer, gates, cs[layer], new_c[layer], new_h[layer])
            x = _residual(out, x) if self.residual else out
        return self._output(x), (new_h, new_c)

    def _cell(self, layer: int, gates: np.ndarray, c: np.ndarray, c_out: np.ndarray, h_out: np.ndarray) -> np.ndarray:
        if self.peepholes is None:
            return _lstm(gates, c, c_out, h_out, self.hidden)
        return _peephole_lstm(gates, c, c_out, h_out, self.hidden, self.peepholes[layer])

    def _buffers(self, batch: int) -> tuple[np.ndarray, np.ndarray]:
        """Scratch for a step of ``batch`` streams: the gates, and an upper layer's ``[x; h]``
        (nothing returned by a step lives in them)."""
        if batch not in self._scratch:
            self._scratch[batch] = (
                np.empty((batch, 4 * self.hidden), dtype=np.float32),
                np.empty((batch, 2 * self.hidden), dtype=np.float32),
            )
        return self._scratch[batch]

    def _output(self, x: np.ndarray) -> np.ndarray:
        if self.projection is not None:
            x = _linear(x, self.projection)
        return _linear(x, self.decoder)


def _as_array(value: StepState) -> np.ndarray:
    """One tensor of a state as a numpy array (a numpy one as it is)."""
    if isinstance(value, torch.Tensor):
        return value.detach().cpu().numpy()
    if isinstance(value, np.ndarray):
        return value
    raise TypeError(f"expected a state tensor, not {type(value).__name__}")


def _array(tensor: torch.Tensor) -> np.ndarray:
    return np.ascontiguousarray(tensor.detach().float().cpu().numpy())


def _layer_weights(
    model: RecurrentLM, layer: int, names: tuple[str, ...] = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
) -> list[np.ndarray]:
    rnn = model.rnns[layer] if model.stacked else model.rnns[0]
    k = 0 if model.stacked else layer
    return [_array(getattr(rnn, f"{name}_l{k}")) for name in names]


def _peepholes(model: RecurrentLM, layer: int) -> tuple[np.ndarray, np.ndarray]:
    """A peephole layer's input and forget peepholes ``[2, H]`` and its output one ``[H]``, halved
    as their gates' rows are."""
    p_i, p_f, p_o = (0.5 * p for p in _layer_weights(model, layer, ("weight_ci", "weight_cf", "weight_co")))
    return np.stack([p_i, p_f]), p_o


def _residual(out: np.ndarray, below: np.ndarray) -> np.ndarray:
    """A layer's output plus its input where their widths agree (a residual connection)."""
    return out + below if out.shape[-1] == below.shape[-1] else out


def _rows(table: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """``table[ids]``; one id is read in place, not copied."""
    return table[ids[0]][None] if len(ids) == 1 else table[ids]


def _linear(x: np.ndarray, weight_bias: tuple[np.ndarray, np.ndarray | None], out: np.ndarray | None = None) -> np.ndarray:
    """``x @ weight.T + bias``, into ``out`` if given; one row goes through BLAS's matrix-vector product."""
    weight, bias = weight_bias
    if out is None:
        out = np.empty((x.shape[0], weight.shape[0]), dtype=np.float32)
    if x.shape[0] == 1:
        np.dot(weight, x[0], out=out[0])
    else:
        np.dot(x, weight.T, out=out)
    if bias is not None:
        out += bias
    return out


def _halve_rows(weight: np.ndarray, rows: int) -> np.ndarray:
    """A copy with its first ``rows`` (the sigmoid gates') halved: exact in floating point, so a
    gate's pre-activation comes out as ``a / 2``, ready for sigmoid(a) = (tanh(a / 2) + 1) / 2."""
    halved = np.array(weight, dtype=np.float32, order="C")
    halved[:rows] *= 0.5
    return halved


def _sigmoid_of_halved(x: np.ndarray) -> np.ndarray:
    """In place, ``x`` holding ``a / 2``: sigmoid(a)."""
    np.tanh(x, out=x)
    x *= 0.5
    x += 0.5
    return x


def _lstm(gates: np.ndarray, c: np.ndarray, c_out: np.ndarray, h_out: np.ndarray, size: int) -> np.ndarray:
    """``h_out``, with the new cell state written to ``c_out``; ``gates`` (in the stepper's order:
    input, forget, output, cell, the three sigmoid gates' pre-activations halved) is overwritten.
    One tanh goes over all four gates."""
    np.tanh(gates, out=gates)
    sigmoids = gates[:, : 3 * size]
    sigmoids *= 0.5
    sigmoids += 0.5
    cell = gates[:, 3 * size :]
    cell *= gates[:, :size]
    np.multiply(gates[:, size : 2 * size], c, out=c_out)
    c_out += cell
    np.tanh(c_out, out=h_out)
    h_out *= gates[:, 2 * size : 3 * size]
    return h_out


def _peephole_lstm(
    gates: np.ndarray, c: np.ndarray, c_out: np.ndarray, h_out: np.ndarray, size: int, peepholes: tuple[np.ndarray, np.ndarray]
) -> np.ndarray:
    """:func:`_lstm` with the peepholes (halved, as from :func:`_peepholes`): the input and forget
    gates see ``c``, the output gate the new cell."""
    p_if, p_o = peepholes
    gates.reshape(len(gates), 4, size)[:, :2] += p_if * c[:, None]
    sigmoids = gates[:, : 2 * size]
    cell = gates[:, 3 * size :]
    np.tanh(sigmoids, out=sigmoids)
    np.tanh(cell, out=cell)
    sigmoids *= 0.5
    sigmoids += 0.5
    cell *= gates[:, :size]
    np.multiply(gates[:, size : 2 * size], c, out=c_out)
    c_out += cell
    output = gates[:, 2 * size : 3 * size]
    output += p_o * c_out
    _sigmoid_of_halved(output)
    np.tanh(c_out, out=h_out)
    h_out *= output
    return h_out


def _gru(inputs: np.ndarray, hidden: np.ndarray, h: np.ndarray) -> np.ndarray:
    """torch's gate order (reset, update, new), the reset and update pre-activations halved;
    ``inputs`` and ``hidden`` carry their own biases."""
    size = h.shape[-1]
    gates = _sigmoid_of_halved(inputs[:, : 2 * size] + hidden[:, : 2 * size])
    reset, update = gates[:, :size], gates[:, size:]
    new = np.tanh(inputs[:, 2 * size :] + reset * hidden[:, 2 * size :])
    return new + update * (h - new)
