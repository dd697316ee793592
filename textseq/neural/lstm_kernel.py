"""The compiled loop of :mod:`textseq.neural.fused`: LSTM layers, output layer and draws, in numba."""

from __future__ import annotations

import numba
import numpy as np
from numba import prange

_FAST = {"nsz", "arcp", "contract", "reassoc"}
"""numba's fastmath flags that let a sum of products run in SIMD lanes, without the no-NaN and
no-infinity ones (a clamp must stay a clamp)."""

# tanh(x) = x P(x^2) / Q(x^2) on [-9, 9], fitted for this project (tools/fit_tanh.py).
_P0, _P1, _P2, _P3, _P4 = (np.float32(v) for v in (9.99999923e-01, 1.33847831e-01, 3.50028686e-03, 2.06953080e-05, 1.34902065e-08))
_Q1, _Q2, _Q3, _Q4 = (np.float32(v) for v in (4.67180861e-01, 2.58942569e-02, 3.29370864e-04, 7.82866730e-07))
_LIMIT = np.float32(9.0)
_HALF = np.float32(0.5)


@numba.njit(fastmath=_FAST, inline="always")
def _tanh(x: float) -> float:
    """tanh in float32 arithmetic that vectorizes (libm's does not), within 4e-7 of it."""
    x = min(max(x, -_LIMIT), _LIMIT)
    z = x * x
    return x * (_P0 + z * (_P1 + z * (_P2 + z * (_P3 + z * _P4)))) / (np.float32(1.0) + z * (_Q1 + z * (_Q2 + z * (_Q3 + z * _Q4))))


@numba.njit(parallel=True, fastmath=_FAST, cache=True)
def _layer(weight: np.ndarray, x: np.ndarray, pre: np.ndarray, c: np.ndarray, h_out: np.ndarray, c_out: np.ndarray) -> None:
    """One LSTM layer, one token: ``weight`` is ``[unit, gate, input]`` (gates input, forget,
    output, cell; the sigmoid gates' rows halved, as the numpy stepper keeps them), ``pre`` the
    ``[unit, gate]`` terms added to the products (biases, or the first layer's table row)."""
    for j in prange(weight.shape[0]):
        a_i = pre[j, 0]
        a_f = pre[j, 1]
        a_o = pre[j, 2]
        a_g = pre[j, 3]
        for k in range(x.shape[0]):
            a_i += weight[j, 0, k] * x[k]
            a_f += weight[j, 1, k] * x[k]
            a_o += weight[j, 2, k] * x[k]
            a_g += weight[j, 3, k] * x[k]
        cell = (_HALF + _HALF * _tanh(a_f)) * c[j] + (_HALF + _HALF * _tanh(a_i)) * _tanh(a_g)
        c_out[j] = cell
        h_out[j] = (_HALF + _HALF * _tanh(a_o)) * _tanh(cell)


@numba.njit(fastmath=_FAST, cache=True)
def generate(
    first: np.ndarray,
    table: np.ndarray,
    upper: np.ndarray,
    upper_bias: np.ndarray,
    decoder: np.ndarray,
    decoder_bias: np.ndarray,
    hs: np.ndarray,
    cs: np.ndarray,
    token: int,
    uniforms: np.ndarray,
    inverse_temperature: float,
    end_id: int,
    out: np.ndarray,
) -> int:
    """Feed ``token``, then draw a token a uniform number and feed it in turn, into ``out``;
    ``hs`` and ``cs`` (``[layer, unit]``) are carried in place. Stops after drawing ``end_id``;
    returns how many tokens were drawn. ``inverse_temperature`` 0 is greedy."""
    layers, size = hs.shape
    vocab = decoder.shape[0]
    joint = np.empty(2 * size, dtype=np.float32)
    h_new = np.empty(size, dtype=np.float32)
    c_new = np.empty(size, dtype=np.float32)
    weights = np.empty(vocab, dtype=np.float64)
    for t in range(uniforms.shape[0]):
        _layer(first, hs[0], table[token], cs[0], h_new, c_new)
        hs[0] = h_new
        cs[0] = c_new
        for layer in range(1, layers):
            joint[:size] = hs[layer - 1]
            joint[size:] = hs[layer]
            _layer(upper[layer - 1], joint, upper_bias[layer - 1], cs[layer], h_new, c_new)
            hs[layer] = h_new
            cs[layer] = c_new
        top = -np.inf
        best = 0
        for v in range(vocab):
            logit = decoder_bias[v]
            for k in range(size):
                logit += decoder[v, k] * hs[layers - 1, k]
            weights[v] = logit
            if logit > top:
                top = logit
                best = v
        if inverse_temperature == 0.0:
            token = best
        else:
            total = 0.0
            for v in range(vocab):
                total += np.exp((weights[v] - top) * inverse_temperature)
                weights[v] = total
            threshold = uniforms[t] * total
            token = vocab - 1
            for v in range(vocab):
                if weights[v] > threshold:
                    token = v
                    break
        out[t] = token
        if token == end_id:
            return t + 1
    return uniforms.shape[0]
