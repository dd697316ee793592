"""Long samples from an LSTM on CPU, drawn by one compiled loop (numba) instead of numpy calls.

A token of a 2x512 character LSTM reads 12 MB of weights; numpy's BLAS reads them in about
110 us, but the other forty-odd numpy calls of a step and a draw (each a few microseconds
once the weights have swept the caches) cost nearly as much again. Here a chunk of tokens is drawn in
one call: each layer is one parallel loop over the hidden units, computing a unit's four gate
rows and then its cell at once, and the output layer, softmax and draw follow in the same
compiled code, with the uniform numbers drawn beforehand from the caller's generator, one per
token as :func:`textseq.sampling.draw` takes them.

Importing numba and its first call (the compiled loop is cached on disk after the first run) cost
about 0.8 s, paid back after some 10,000 tokens, so ``textseq sample`` takes this path only for
long samples (see :func:`fused_kernel`), and even then draws the first :data:`HANDOVER` tokens of
each sample the usual way: a short sample is the beginning of a long one with the same seed. The
arithmetic differs from numpy's in the last bits (the sum order of the products, and tanh as a
rational function within 4e-7 of it, see tools/fit_tanh.py), so far into a long sample a draw
that falls within a rounding error of a boundary between two tokens can go the other way.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

import numpy as np

from textseq.neural.stepping import RecurrentStepper
from textseq.sampling import SamplingOptions, sample_states

if TYPE_CHECKING:
    from types import FrameType

    import torch

    from textseq.lm import LanguageModel

HANDOVER = 1000
"""Tokens of each sample drawn by the numpy step before the compiled loop takes over."""
LONG_SAMPLE = 10_000
"""The fewest tokens a sample asks for that make the compiled loop worth loading: on the 2-core
development machine a 2x512 LSTM's sample takes as long either way at about 10,000 tokens (numba's
import and first call cost ~0.8 s; the loop saves ~85 us a token)."""
CHUNK = 64
"""Tokens drawn a call: few enough to stream smoothly, enough that a call's cost is spread thin."""


@contextlib.contextmanager
def signals_held() -> Iterator[None]:
    """SIGINT and SIGTERM held back while numba loads and compiles, then handed to their handlers.

    numba's compiler runs Python code in LLVM's callbacks and in weakref finalizers, where a
    KeyboardInterrupt is printed as "Exception ignored" and dropped, and the run goes on; so a
    signal that comes during a compile (some seconds, on first use) is kept for its end. A second
    one ends the process at once, with the status its handler would give (128 + the signal's
    number): sampling has nothing half-written, its text goes to stdout."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received: list[int] = []

    def hold(signum: int, frame: FrameType | None) -> None:
        if received:
            os._exit(128 + signum)
        received.append(signum)

    previous = {number: signal.signal(number, hold) for number in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler if handler is not None else signal.SIG_DFL)
        if received:
            signal.raise_signal(received[0])


class FusedLSTM:
    """An LSTM :class:`~textseq.neural.stepping.RecurrentStepper`'s weights laid out for the
    compiled loop (:func:`textseq.neural.lstm_kernel.generate`): each layer's as ``[unit, gate,
    input]``, so a unit's four gate rows are read together; ``threads`` for its parallel loops."""

    def __init__(self, stepper: RecurrentStepper, threads: int | None = None) -> None:
        size = stepper.hidden

        def unit_major(rows: np.ndarray) -> np.ndarray:
            return np.ascontiguousarray(rows.reshape(4, size, -1).transpose(1, 0, 2))

        assert stepper.table is not None
        self.first = unit_major(stepper.hidden0[0])
        self.table = np.ascontiguousarray(stepper.table.reshape(-1, 4, size).transpose(0, 2, 1))
        joint = [unit_major(weight) for (weight, _), _ in stepper.upper] or [np.zeros((size, 4, 2 * size), np.float32)]
        self.upper = np.ascontiguousarray(np.stack(joint))
        biases = [bias.reshape(4, size).T for (_, bias), _ in stepper.upper] or [np.zeros((size, 4), np.float32)]
        self.upper_bias = np.ascontiguousarray(np.stack(biases), dtype=np.float32)
        self.decoder, self.decoder_bias = stepper.decoder
        self.layers = stepper.layers
        self._compiled = False
        with signals_held():
            import numba

            from textseq.neural import lstm_kernel

            most = numba.config.NUMBA_NUM_THREADS  # type: ignore[attr-defined]  # numba.config sets its settings at run time
            numba.set_num_threads(max(1, min(threads or os.cpu_count() or 1, most)))
            self.generate = lstm_kernel.generate

    def compile(self) -> None:
        """Compile the loop for these arrays' types (or load it from numba's cache), with a call
        that draws nothing, SIGINT and SIGTERM held meanwhile (:func:`signals_held`); done by the
        first :meth:`tokens`, after the tokens that the numpy step draws first."""
        if self._compiled:
            return
        hs = np.zeros((self.layers, self.first.shape[0]), dtype=np.float32)
        with signals_held():
            self.generate(
                self.first,
                self.table,
                self.upper,
                self.upper_bias,
                self.decoder,
                self.decoder_bias,
                hs,
                hs.copy(),
                0,
                np.empty(0),
                1.0,
                -1,
                np.empty(CHUNK, dtype=np.int64),
            )
        self._compiled = True

    def tokens(
        self, hidden: Sequence[np.ndarray | torch.Tensor], token: int, rng: np.random.Generator, temperature: float, count: int, end_id: int
    ) -> Iterator[int]:
        """Up to ``count`` tokens drawn after feeding ``token`` to the state ``hidden`` (an LSTM
        state of one stream), the end token not yielded. ``rng`` is left where one
        ``rng.random()`` a token drawn would have left it, however the caller stops."""
        self.compile()
        hs = np.array(np.asarray(hidden[0])[:, 0], dtype=np.float32)
        cs = np.array(np.asarray(hidden[1])[:, 0], dtype=np.float32)
        inverse = 0.0 if temperature == 0 else 1.0 / temperature
        out = np.empty(CHUNK, dtype=np.int64)
        while count > 0:
            position = rng.bit_generator.state
            uniforms = rng.random(min(CHUNK, count))
            drawn = self.generate(
                self.first,
                self.table,
                self.upper,
                self.upper_bias,
                self.decoder,
                self.decoder_bias,
                hs,
                cs,
                token,
                uniforms,
                inverse,
                end_id,
                out,
            )
            used = 0
            try:
                for token in out[:drawn].tolist():
                    used += 1
                    if token == end_id:
                        return
                    yield token
                    count -= 1
            finally:
                if used < len(uniforms):
                    rng.bit_generator.state = position
                    rng.random(used)


def fused_kernel(lm: LanguageModel, options: SamplingOptions, threads: int | None) -> FusedLSTM | None:
    """The compiled loop for sampling ``lm`` (a :class:`~textseq.neural.loading.NeuralLM`) with
    ``options``, or None where it does not apply: a short sample, a top-k or top-p cut, or a
    network other than a plain LSTM on CPU whose first layer is a table (char and small
    subword vocabularies; no peepholes, residual connections or output projection)."""
    stepper = getattr(lm, "stepper", None)
    if (
        options.max_tokens < LONG_SAMPLE
        or options.top_k
        or options.top_p < 1.0
        or not isinstance(stepper, RecurrentStepper)
        or stepper.arch != "lstm"
        or stepper.peephole
        or stepper.table is None
        or stepper.residual
        or stepper.projection is not None
    ):
        return None
    return FusedLSTM(stepper, threads)


def sample_fused(
    lm: LanguageModel, kernel: FusedLSTM, prime: list[int], options: SamplingOptions, rng: np.random.Generator
) -> Iterator[int]:
    """:func:`textseq.sampling.sample`, the compiled loop taking over after :data:`HANDOVER` tokens."""
    for drawn, (token, state) in enumerate(sample_states(lm, prime, options, rng), start=1):
        yield token
        if drawn == HANDOVER:
            yield from kernel.tokens(state[0], token, rng, options.temperature, options.max_tokens - drawn, lm.end_id)
            return
