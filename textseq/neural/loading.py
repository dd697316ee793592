"""Architectures by name, and models rebuilt from checkpoints, as :class:`~textseq.lm.LanguageModel`."""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any, TypeAlias

import numpy as np

from textseq.errors import InputError
from textseq.neural.checkpoint import load_checkpoint
from textseq.neural.codec import Codec
from textseq.neural.settings import DEFAULT_CONTEXT

if TYPE_CHECKING:
    import torch
    from torch import nn
    from torch.overrides import TorchFunctionMode

    from textseq.neural.fused import FusedLSTM
    from textseq.neural.stepping import ForwardStepper, RecurrentStepper, StepState
    from textseq.registry import Registration
    from textseq.sampling import SamplingOptions


def architecture(arch: str, *, source: str | None = None, origin: dict[str, Any] | None = None) -> Registration:
    """The registration of architecture ``arch`` (see :func:`textseq.parts.registered_part`)."""
    from textseq.parts import registered_part

    return registered_part("architecture", arch, source=source, origin=origin)


def architecture_origin(arch: str) -> dict[str, str | None] | None:
    """The third-party plugin that registers ``arch``, which a checkpoint records; None for a built-in."""
    from textseq.parts import part_origin

    return part_origin("architecture", arch)


def build_model(
    arch: str, config: dict[str, object], vocab_size: int, *, source: str | None = None, origin: dict[str, Any] | None = None
) -> nn.Module:
    """The network of architecture ``arch`` with ``config`` over its defaults."""
    registration = architecture(arch, source=source, origin=origin)
    return registration.implementation(_with_defaults(registration, config), vocab_size)


def _with_defaults(registration: Registration, config: dict[str, object]) -> dict[str, object]:
    """``config`` over the architecture's default config."""
    return {**dict(registration.metadata.get("default_config") or {}), **config}


def load_model(path: str, device: torch.device | str = "cpu") -> tuple[nn.Module, Codec, dict[str, Any]]:
    """(model in eval mode on ``device``, codec, checkpoint) from a checkpoint file."""
    payload = load_checkpoint(path, map_location=device)
    codec = Codec.from_state(payload["codec"], source=path)
    model = model_from_checkpoint(payload, codec, path)
    model.to(device)
    model.eval()
    return model, codec, payload


def model_from_checkpoint(payload: dict[str, Any], codec: Codec, source: str) -> nn.Module:
    """The network a loaded checkpoint describes, with its weights, on the CPU.

    The config is checked and the shapes it implies are worked out on torch's meta device, where
    nothing is allocated, and compared with the file's tensors before the network is built: a
    config that declares a huge size is refused, never allocated."""
    arch = payload["arch"]
    registration = architecture(arch, source=source, origin=payload.get("plugin"))
    config = _with_defaults(registration, payload["config"])
    weights = payload["model"]
    check_weights(weights, expected_tensors(registration, arch, config, codec.vocab_size, source), arch, source)
    model = registration.implementation(config, codec.vocab_size)
    try:
        model.load_state_dict(weights)
    except RuntimeError as exc:
        raise InputError(f"the weights do not fit architecture '{arch}' ({' '.join(str(exc).split())})", source=source) from None
    return model


def expected_tensors(
    registration: Registration, arch: str, config: dict[str, object], vocab_size: int, source: str
) -> dict[str, torch.Tensor]:
    """The state dict (meta tensors: shapes and dtypes, no data) of architecture ``arch`` built
    with ``config`` for ``vocab_size`` tokens."""
    import torch

    try:
        with _shapes_only(), torch.device("meta"):
            network = registration.implementation(config, vocab_size)
    except (ValueError, TypeError, KeyError, RuntimeError, OverflowError) as exc:
        raise InputError(f"the checkpoint's config does not make a network: {' '.join(str(exc).split())}", source=source) from None
    return dict(network.state_dict())


def _shapes_only() -> TorchFunctionMode:
    """A torch function mode in which the random initializers do nothing: on the meta device they
    would have nothing to fill, yet ``normal_`` there goes through a Python decomposition whose
    first use imports torch's compiler (over a second)."""
    import torch
    from torch.nn import init
    from torch.overrides import TorchFunctionMode

    skipped = {
        init.normal_,
        init.uniform_,
        init.trunc_normal_,
        init.kaiming_uniform_,
        init.kaiming_normal_,
        init.xavier_uniform_,
        init.xavier_normal_,
        init.orthogonal_,
        torch.Tensor.normal_,
        torch.Tensor.uniform_,
    }

    class ShapesOnly(TorchFunctionMode):
        def __torch_function__(self, func: Any, types: Any, args: Any = (), kwargs: Any = None) -> Any:
            kwargs = kwargs or {}
            if func in skipped:
                return args[0] if args else kwargs["tensor"]
            return func(*args, **kwargs)

    return ShapesOnly()


def check_weights(weights: dict[str, Any], expected: dict[str, torch.Tensor], arch: str, source: str) -> None:
    """That the file's tensors are the ones the architecture has: the same names, shapes and kinds
    of numbers, every value finite."""
    missing = [name for name in expected if name not in weights]
    if missing:
        raise InputError(
            f"the weights lack tensor '{missing[0]}' of architecture '{arch}'"
            + (f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""),
            source=source,
        )
    extra = [name for name in weights if name not in expected]
    if extra:
        raise InputError(f"the weights hold tensor '{extra[0]}', which architecture '{arch}' with this config does not have", source=source)
    for name, want in expected.items():
        _check_tensor(name, weights[name], want, arch, source)


def _check_tensor(name: str, tensor: torch.Tensor, want: torch.Tensor, arch: str, source: str) -> None:
    import torch

    if tensor.layout != torch.strided or tensor.is_meta:
        raise InputError(f"tensor '{name}' is not a plain tensor of numbers", source=source)
    if tuple(tensor.shape) != tuple(want.shape):
        raise InputError(
            f"tensor '{name}' is {_shape(tensor)} in the file, but architecture '{arch}' with this config and "
            f"vocabulary expects {_shape(want)}",
            source=source,
        )
    if want.is_floating_point() != tensor.is_floating_point() or (not want.is_floating_point() and tensor.dtype != want.dtype):
        raise InputError(
            f"tensor '{name}' holds {str(tensor.dtype).removeprefix('torch.')} numbers, not {str(want.dtype).removeprefix('torch.')}",
            source=source,
        )
    if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all()):
        raise InputError(f"tensor '{name}' holds NaN or infinite values", source=source)


def _shape(tensor: torch.Tensor) -> str:
    return "[" + ", ".join(str(size) for size in tensor.shape) + "]"


NeuralState: TypeAlias = "tuple[StepState, np.ndarray]"
"""A :class:`NeuralLM`'s state: the network's, and the log probabilities of the next token."""


class NeuralLM:
    """A checkpoint's network as a :class:`~textseq.lm.LanguageModel`: one token per step through
    the model's stepper (see :mod:`textseq.neural.stepping`), the hidden state carried (no
    recomputation of the prefix). Its text is the codec's: characters concatenated, words
    separated by spaces, subword pieces decoded in context. ``threads``: for the compiled loop of a
    long LSTM sample (see :mod:`textseq.neural.fused`); ``kind``: the architecture's name."""

    scores_are_probabilities = True

    def __init__(
        self,
        model: nn.Module,
        codec: Codec,
        device: torch.device | str = "cpu",
        *,
        threads: int | None = None,
        kind: str = "neural",
        context: int | None = DEFAULT_CONTEXT,
        bf16: bool = False,
    ) -> None:
        self.model = model
        self.codec = codec
        self.device = device
        self.threads = threads
        self.kind = kind
        self.context = context
        self.bf16 = bf16
        """How :meth:`evaluate` scores a text (``context``, ``bf16``): see :func:`textseq.neural.evaluate.token_losses`."""
        self.words = codec.tokens
        self.level = codec.level
        self.end_id = codec.eos_id
        self.start_id = max(codec.line_end_id, 0)
        self._kernels: dict[SamplingOptions, FusedLSTM | None] = {}

    @functools.cached_property
    def stepper(self) -> RecurrentStepper | ForwardStepper:
        """The network's stepper, made on first use: on CPU it lays the weights out anew (an
        evaluation never needs it)."""
        from textseq.neural.stepping import ForwardStepper

        own: Callable[[], RecurrentStepper | ForwardStepper] | None = getattr(self.model, "stepper", None)
        return own() if own is not None else ForwardStepper(self.model)

    def encode_prime(self, text: str) -> list[int]:
        return self.codec.encode_prime(text)

    def prime_text(self, prime: str) -> str:
        return prime

    def piece(self, text: str, prime: list[int], drawn: list[int]) -> str:
        codec = self.codec
        if codec.level == "spm":  # pieces join (and bytes combine) only in context: decode all, keep the new end
            return codec.decode([*prime, *drawn])[len(text) :]
        return (" " if text and codec.level == "word" else "") + codec.piece(drawn[-1])

    def sample(self, prime: list[int], options: SamplingOptions, rng: np.random.Generator) -> Iterator[int]:
        """:func:`textseq.sampling.sample`, the compiled loop taking over a long LSTM sample on
        CPU (:func:`textseq.neural.fused.fused_kernel`; loaded once for the options)."""
        from textseq.neural.fused import fused_kernel, sample_fused
        from textseq.sampling import sample

        if options not in self._kernels:
            self._kernels[options] = fused_kernel(self, options, self.threads)
        kernel = self._kernels[options]
        return sample(self, prime, options, rng) if kernel is None else sample_fused(self, kernel, prime, options, rng)

    def evaluate(self, blocks: Iterable[str]) -> tuple[dict[str, Any], np.ndarray]:
        """The n-gram report's figures, and the loss, bits per character at the character level
        (see :mod:`textseq.neural.evaluate`)."""
        from textseq.neural.evaluate import evaluate

        return evaluate(self.model, self.codec, blocks, self.device, self.context, bf16=self.bf16)

    def token_logprobs(self, blocks: Iterable[str]) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`evaluate`'s tokens (the codec's ids) and their natural-log probabilities (see
        :func:`textseq.neural.evaluate.token_losses`)."""
        from textseq.neural.evaluate import token_losses

        ids, losses = token_losses(self.model, self.codec, blocks, self.device, self.context, bf16=self.bf16)
        return ids, -losses

    def initial_state(self, prime: list[int]) -> NeuralState:
        """The state after the start (an end of line) and ``prime`` (all but its last token in
        one forward call): the hidden state and the distribution of the next token."""
        import torch

        tokens = [self.start_id, *prime]
        hidden: StepState = None
        if len(tokens) > 1:
            with torch.no_grad():
                _, hidden = self.model(torch.tensor(tokens[:-1], device=self.device).view(-1, 1))
        return self._feed(hidden, tokens[-1])

    def step(self, state: NeuralState, token: int | None) -> tuple[np.ndarray, NeuralState]:
        if token is not None:
            state = self._feed(state[0], token)
        return state[1], state

    def _feed(self, hidden: StepState, token: int) -> NeuralState:
        logits, hidden = self.stepper.step(np.array([token]), hidden)
        logprobs = logits[0]
        logprobs -= logprobs.max()
        logprobs -= math.log(np.exp(logprobs).sum(dtype=np.float64))
        return hidden, logprobs
