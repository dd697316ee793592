"""The peephole LSTM of Gers and Schmidhuber (2000): an LSTM whose gates also see the cell.

The equations of one layer (the peepholes ``p_i``, ``p_f``, ``p_o`` are diagonal: one weight a unit)::

    i = σ(W_i x + U_i h_{t-1} + p_i ⊙ c_{t-1} + b_i)
    f = σ(W_f x + U_f h_{t-1} + p_f ⊙ c_{t-1} + b_f)
    g = tanh(W_g x + U_g h_{t-1} + b_g)
    c_t = f ⊙ c_{t-1} + i ⊙ g
    o = σ(W_o x + U_o h_{t-1} + p_o ⊙ c_t + b_o)        (the output gate sees the new cell)
    h_t = o ⊙ tanh(c_t)

:class:`PeepholeLSTM` is called as ``nn.LSTM`` is (input ``[T, B, E]``, ``(h0, c0)`` each
``[layers, B, H]`` -> output ``[T, B, H]``, ``(h_n, c_n)``), with its parameter names, gate order
(input, forget, cell, output) and initialization, plus ``weight_ci_l{k}``, ``weight_cf_l{k}``,
``weight_co_l{k}``, the peepholes, which start at zero: a new peephole LSTM computes what an
``nn.LSTM`` with the same weights does, and learns from there.

torch has no fused kernel for it, so a layer is :class:`PeepholeFunction`, a time loop with a
hand-written backward: the input projection of every step is one matrix product before the loop,
the loop does ``h @ U^T`` and the cell's arithmetic in place on buffers that the backward reads,
and the backward goes back through time with five small operations a step (its per-step
coefficients are worked out over all steps at once, the weights' gradients are one product each
after the loop). Everything is device-agnostic torch; two things are CPU-specific and fall back:

* on CPU in float32 every product goes through oneDNN (:mod:`textseq.neural.onednn`), the
  recurrent matrix packed once a call: MKL took 1.7-2x as long for a step's ``[32, 256] @ [256,
  1024]`` and 2x for the window-sized ones on the development machine;
* on CPU tanh is computed as 2 sigmoid(2x) - 1 (within 2e-7): torch's went through MKL's at an
  eighth of its sigmoid's speed there.

Measured on one core, forward and backward of two layers of 256, batch 32 x bptt 64 (time per
call against ``nn.LSTM``'s): plain autograd over the equations 0.22x ``nn.LSTM``'s speed; this
Function with MKL's products 0.43x, with oneDNN's and the tanh 0.72x (0.81x at 512, 0.71x at
2x200 batch 20 x bptt 35); TorchScript of its loops within 10% of Python's (the operations take
the time, not the interpreter), ``torch.compile`` of them four minutes to compile and 0.13x. So
neither is used. bench/peephole.py measures whole training steps.
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from textseq.neural.onednn import linear as _linear
from textseq.neural.onednn import packed as _packed
from textseq.neural.onednn import plus_linear as _plus_linear

__all__ = ["PeepholeFunction", "PeepholeLSTM", "peephole_layer"]


def _tanh(x: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
    """tanh(x) into ``out``; on CPU as 2 sigmoid(2x) - 1 (within 2e-7 of it), four operations that
    take less time than torch's tanh there (MKL's, eight times as slow as its sigmoid on this AMD
    machine)."""
    if x.device.type != "cpu":
        return torch.tanh(x, out=out)
    return torch.add(x, x, out=out).sigmoid_().mul_(2).sub_(1)


def _forward_loop(
    gates: torch.Tensor,
    h: torch.Tensor,
    c: torch.Tensor,
    w_hh: torch.Tensor,
    peep: torch.Tensor,
    cs: torch.Tensor,
    tc: torch.Tensor,
    hs: torch.Tensor,
) -> None:
    """The time loop. ``gates`` ``[T, B, 4H]`` holds the input projections (biases in) and leaves
    with the gates' activations; ``cs`` ``[T + 1, B, H]`` gets ``c0`` and every cell, ``tc`` their
    tanh, ``hs`` the outputs. The cell gate's rows of ``gates`` and ``w_hh`` come doubled: one
    sigmoid goes over three gates, tanh(a) being 2 sigmoid(2a) - 1."""
    steps, batch, _ = gates.shape
    packed = _packed(w_hh, batch)
    p_if, p_o = peep[:2], peep[2]
    cs[0].copy_(c)
    # Every step's views made at once: an index or a slice a step costs as much as a small operation.
    quads = gates.view(steps, batch, 4, -1)
    rows, three, cell, output = gates.unbind(0), quads[:, :, :3].unbind(0), quads[:, :, 2].unbind(0), quads[:, :, 3].unbind(0)
    inputs, forgets = quads[:, :, 0].unbind(0), quads[:, :, 1].unbind(0)
    cells, wide, tanhs, outs = cs.unbind(0), cs.unsqueeze(2).unbind(0), tc.unbind(0), hs.unbind(0)
    for t in range(steps):
        a = _plus_linear(rows[t], h, packed).view(batch, 4, -1)
        a[:, :2].addcmul_(wide[t], p_if)
        torch.sigmoid(a[:, :3], out=three[t])
        cell[t].mul_(2).sub_(1)
        c_new = torch.mul(forgets[t], cells[t], out=cells[t + 1]).addcmul_(inputs[t], cell[t])
        torch.addcmul(a[:, 3], c_new, p_o, out=output[t]).sigmoid_()
        h = torch.mul(output[t], _tanh(c_new, tanhs[t]), out=outs[t])


def _coefficients(gates: torch.Tensor, cs: torch.Tensor, tc: torch.Tensor, peep: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """What a backward step multiplies by, for all steps at once (see :func:`_backward_loop`):
    ``[K_i, K_f, K_g, A]`` ``[T, B, 4H]`` (into which the loop writes the gates' gradients), B and F."""
    steps, batch, _ = gates.shape
    i, f, g, o = gates.view(steps, batch, 4, -1).unbind(2)
    k = torch.mul(gates, gates)
    torch.sub(gates, k, out=k)  # s(1 - s), the sigmoids' derivative
    k4 = k.view(steps, batch, 4, -1)
    torch.addcmul(torch.ones((), dtype=g.dtype, device=g.device), g, g, value=-1, out=k4[:, :, 2])  # tanh's
    k4[:, :, 0].mul_(g)
    k4[:, :, 1].mul_(cs[:-1])
    k4[:, :, 2].mul_(i)
    k4[:, :, 3].mul_(tc)
    b = torch.mul(tc, tc)
    torch.addcmul(o, o, b, value=-1, out=b).addcmul_(k4[:, :, 3], peep[2])
    keep = torch.addcmul(f, k4[:, :, 0], peep[0]).addcmul_(k4[:, :, 1], peep[1])
    return k, b, keep


def _backward_loop(
    dhs: torch.Tensor, dc: torch.Tensor, w_hh: torch.Tensor, peep: torch.Tensor, gates: torch.Tensor, cs: torch.Tensor, tc: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Back through time: (the gradient of the gates' pre-activations ``[T, B, 4H]``, that of ``c0``).

    With ``dh`` and ``dc`` the gradients reaching a step's ``h_t`` and ``c_t`` from later steps
    and the output, a step is ``da_o = dh A``, ``dc' = dc + dh B``, ``(da_i, da_f, da_g) = dc' K``,
    ``dc_{t-1} = dc' F`` and ``dh_{t-1} = da U``, where A, B, K, F depend on the forward's values
    alone (:func:`_coefficients`)."""
    steps, batch, _ = gates.shape
    da, b, keep = _coefficients(gates, cs, tc, peep)
    quads = da.view(steps, batch, 4, -1)
    rows, three, output = da.unbind(0), quads[:, :, :3].unbind(0), quads[:, :, 3].unbind(0)
    later, bs, keeps = dhs.unbind(0), b.unbind(0), keep.unbind(0)
    packed = _packed(w_hh.t(), batch)
    dh = later[-1]
    for t in range(steps - 1, -1, -1):
        if t < steps - 1:
            dh = _plus_linear(later[t], rows[t + 1], packed)
        output[t].mul_(dh)
        dct = torch.addcmul(dc, dh, bs[t])
        three[t].mul_(dct.unsqueeze(1))
        dc = dct.mul_(keeps[t])
    return da, dc


class PeepholeFunction(torch.autograd.Function):
    """One peephole LSTM layer over a whole window:
    ``apply(x [T, B, E], h0 [B, H], c0 [B, H], w_ih [4H, E], w_hh [4H, H], bias [4H], peep [3, H])
    -> (outputs [T, B, H], c_T [B, H])``, ``peep`` the input, forget and output peepholes as rows,
    ``bias`` the sum of the two biases. Its backward is exact (not differentiable again)."""

    @staticmethod
    @torch.amp.custom_fwd(device_type="cuda", cast_inputs=torch.float32)  # type: ignore[untyped-decorator]  # torch's is untyped
    def forward(
        ctx: Any,
        x: torch.Tensor,
        h0: torch.Tensor,
        c0: torch.Tensor,
        w_ih: torch.Tensor,
        w_hh: torch.Tensor,
        bias: torch.Tensor,
        peep: torch.Tensor,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        steps, batch, _ = x.shape
        size = w_hh.size(1)
        double = x.new_ones(4 * size)
        double[2 * size : 3 * size] = 2  # the cell gate's pre-activation doubled, for the loop
        gates = _linear(x.reshape(steps * batch, -1), w_ih * double[:, None], bias * double).view(steps, batch, 4 * size)
        cs = x.new_empty(steps + 1, batch, size)
        tc = x.new_empty(steps, batch, size)
        hs = x.new_empty(steps, batch, size)
        _forward_loop(gates, h0, c0, w_hh * double[:, None], peep, cs, tc, hs)
        ctx.save_for_backward(x, h0, w_ih, w_hh, peep, gates, cs, tc, hs)
        return hs, cs[-1].clone()

    @staticmethod
    @torch.amp.custom_bwd(device_type="cuda")  # type: ignore[untyped-decorator]  # torch's is untyped
    @torch.autograd.function.once_differentiable
    def backward(ctx: Any, dhs: torch.Tensor | None, dc_last: torch.Tensor | None) -> tuple[torch.Tensor | None, ...]:
        x, h0, w_ih, w_hh, peep, gates, cs, tc, hs = ctx.saved_tensors
        steps, batch, width = gates.shape
        dhs = hs.new_zeros(hs.shape) if dhs is None else dhs.contiguous()
        dc = hs.new_zeros(hs.shape[1:]) if dc_last is None else dc_last
        da, dc0 = _backward_loop(dhs, dc, w_hh, peep, gates, cs, tc)
        flat = da.view(steps * batch, width)
        need = ctx.needs_input_grad
        dx = _linear(flat, w_ih.t()).view(x.shape) if need[0] else None
        dh0 = _linear(da[0], w_hh.t()) if need[1] else None
        dw_ih = dw_hh = None
        if need[3] or need[4]:
            # The weights' gradients sum over steps and columns, the rows of da and of the layer's
            # inputs: products of their transposes, laid out once (oneDNN wants them so).
            flat_t = flat.t().contiguous()
            if need[3]:
                dw_ih = _linear(flat_t, x.reshape(steps * batch, -1).t().contiguous())
            if need[4]:
                before = torch.cat([h0[None], hs[:-1]]).view(steps * batch, -1)
                dw_hh = _linear(flat_t, before.t().contiguous())
        dbias = flat.sum(0) if need[5] else None
        dpeep = None
        if need[6]:
            da4 = da.view(steps, batch, 4, -1)
            dpeep = torch.cat([(da4[:, :, :2] * cs[:-1].unsqueeze(2)).sum((0, 1)), (da4[:, :, 3] * cs[1:]).sum((0, 1))[None]])
        return dx, dh0, dc0 if need[2] else None, dw_ih, dw_hh, dbias, dpeep


def peephole_layer(
    x: torch.Tensor,
    h0: torch.Tensor,
    c0: torch.Tensor,
    w_ih: torch.Tensor,
    w_hh: torch.Tensor,
    b_ih: torch.Tensor,
    b_hh: torch.Tensor,
    peep: torch.Tensor,
) -> tuple[torch.Tensor, torch.Tensor]:
    """One layer: (outputs ``[T, B, H]``, the last cell ``[B, H]``); ``peep`` ``[3, H]`` as in
    :class:`PeepholeFunction`. Without gradients it runs the same loop, nothing kept."""
    outputs, cell = PeepholeFunction.apply(x, h0, c0, w_ih, w_hh, b_ih + b_hh, peep)  # type: ignore[no-untyped-call]  # torch's is untyped
    return outputs, cell


class PeepholeLSTM(nn.Module):
    """A stack of peephole LSTM layers, called as ``nn.LSTM`` (time first, no packed sequences):
    ``forward(input [T, B, input_size], (h0, c0) [num_layers, B, hidden_size] or None)`` ->
    ``(output [T, B, hidden_size], (h_n, c_n))``; ``dropout`` on the outputs of every layer but
    the last, when training."""

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, dropout: float = 0.0) -> None:
        super().__init__()
        self.input_size, self.hidden_size, self.num_layers, self.dropout = input_size, hidden_size, num_layers, float(dropout)
        for k in range(num_layers):
            inputs = input_size if k == 0 else hidden_size
            self.register_parameter(f"weight_ih_l{k}", nn.Parameter(torch.empty(4 * hidden_size, inputs)))
            self.register_parameter(f"weight_hh_l{k}", nn.Parameter(torch.empty(4 * hidden_size, hidden_size)))
            self.register_parameter(f"bias_ih_l{k}", nn.Parameter(torch.empty(4 * hidden_size)))
            self.register_parameter(f"bias_hh_l{k}", nn.Parameter(torch.empty(4 * hidden_size)))
            for gate in ("ci", "cf", "co"):
                self.register_parameter(f"weight_{gate}_l{k}", nn.Parameter(torch.empty(hidden_size)))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """nn.LSTM's initialization, uniform in ±1/sqrt(hidden_size), and the peepholes at zero."""
        bound = 1.0 / math.sqrt(self.hidden_size)
        for name, parameter in self.named_parameters():
            if name.startswith(("weight_ci", "weight_cf", "weight_co")):
                nn.init.zeros_(parameter)
            else:
                nn.init.uniform_(parameter, -bound, bound)

    def peepholes(self, layer: int) -> torch.Tensor:
        """Layer ``layer``'s peepholes as rows ``[3, H]``: input, forget, output."""
        return torch.stack([getattr(self, f"weight_{gate}_l{layer}") for gate in ("ci", "cf", "co")])

    def forward(
        self, input: torch.Tensor, hx: tuple[torch.Tensor, torch.Tensor] | None = None
    ) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
        if input.dim() != 3:
            raise ValueError(f"PeepholeLSTM takes input [T, B, {self.input_size}], not {list(input.shape)}")
        batch = input.size(1)
        if hx is None:
            zeros = input.new_zeros(self.num_layers, batch, self.hidden_size)
            hx = (zeros, zeros)
        h0, c0 = hx
        x = input
        last_h, last_c = [], []
        for k in range(self.num_layers):
            x, cell = peephole_layer(
                x,
                h0[k],
                c0[k],
                getattr(self, f"weight_ih_l{k}"),
                getattr(self, f"weight_hh_l{k}"),
                getattr(self, f"bias_ih_l{k}"),
                getattr(self, f"bias_hh_l{k}"),
                self.peepholes(k),
            )
            last_h.append(x[-1])
            last_c.append(cell)
            if self.dropout > 0 and self.training and k < self.num_layers - 1:
                x = F.dropout(x, self.dropout, True)
        return x, (torch.stack(last_h), torch.stack(last_c))

    def extra_repr(self) -> str:
        return f"{self.input_size}, {self.hidden_size}, num_layers={self.num_layers}, dropout={self.dropout}"
