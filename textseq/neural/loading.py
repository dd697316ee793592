"""Architectures by name, and models rebuilt from checkpoints, as :class:`~textseq.lm.LanguageModel`."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from textseq.errors import InputError, UnknownNameError
from textseq.neural.checkpoint import load_checkpoint
from textseq.neural.codec import Codec


def architecture(arch: str, *, source: str | None = None, origin: dict[str, Any] | None = None) -> Any:
    """The registration of architecture ``arch``. ``source`` (a checkpoint's path) and ``origin``
    (the plugin it recorded, see :func:`architecture_origin`) make a missing one say what to install."""
    from textseq.plugins import get_plugins

    try:
        return get_plugins().registry("architecture").get(arch)
    except UnknownNameError as exc:
        if source is None:
            raise
        origin = origin or {}
        distribution = origin.get("distribution")
        if distribution:
            version = f" {origin['version']}" if origin.get("version") else ""
            raise InputError(f"architecture '{arch}' comes from the plugin {distribution}{version}, which is not installed "
                             f"here: pip install {distribution}", source=source) from None
        raise InputError(f"{exc}: the checkpoint was made with an architecture from a plugin that is not installed "
                         f"here; install the plugin that registers '{arch}' (see 'textseq plugins')", source=source) from None


def architecture_origin(arch: str) -> dict[str, Any] | None:
    """The third-party plugin that registers ``arch`` (entry point, distribution, version), which a
    checkpoint records so that opening it without the plugin names what to install; None for a
    built-in."""
    from textseq.plugins import get_plugins

    plugins = get_plugins()
    info = plugins.info(plugins.registry("architecture").get(arch).plugin)
    if info.builtin:
        return None
    return {"plugin": info.name, "distribution": info.distribution, "version": info.version}


def build_model(arch: str, config: dict[str, Any], vocab_size: int, *, source: str | None = None,
                origin: dict[str, Any] | None = None) -> Any:
    """The network of architecture ``arch`` with ``config`` over its defaults."""
    registration = architecture(arch, source=source, origin=origin)
    defaults = dict(registration.metadata.get("default_config") or {})
    return registration.implementation({**defaults, **config}, vocab_size)


def load_model(path: str, device: Any = "cpu") -> tuple[Any, Codec, dict[str, Any]]:
    """(model in eval mode on ``device``, codec, checkpoint) from a checkpoint file."""
    payload = load_checkpoint(path, map_location=device)
    codec = Codec.from_state(payload["codec"], source=path)
    model = build_model(payload["arch"], dict(payload["config"]), codec.vocab_size, source=path, origin=payload.get("plugin"))
    try:
        model.load_state_dict(payload["model"])
    except RuntimeError as exc:
        raise InputError(f"the weights do not fit architecture '{payload['arch']}' ({str(exc).splitlines()[0]})", source=path) from None
    model.to(device)
    model.eval()
    return model, codec, payload


class NeuralLM:
    """A checkpoint's network as a :class:`~textseq.lm.LanguageModel`: one token per step through
    the model's stepper (see :mod:`textseq.neural.stepping`), the hidden state carried (no
    recomputation of the prefix)."""

    def __init__(self, model: Any, codec: Codec, device: Any = "cpu") -> None:
        from textseq.neural.stepping import ForwardStepper

        self.model = model
        self.stepper = model.stepper() if hasattr(model, "stepper") else ForwardStepper(model)
        self.codec = codec
        self.device = device
        self.words = codec.tokens
        self.end_id = codec.eos_id
        self.start_id = max(codec.line_end_id, 0)

    def initial_state(self, prime: list[int]) -> Any:
        """The state after the start (an end of line) and ``prime`` (all but its last token in
        one forward call): the hidden state and the distribution of the next token."""
        import torch

        tokens = [self.start_id, *prime]
        hidden = None
        if len(tokens) > 1:
            with torch.no_grad():
                _, hidden = self.model(torch.tensor(tokens[:-1], device=self.device).view(-1, 1))
        return self._feed(hidden, tokens[-1])

    def step(self, state: Any, token: int | None) -> tuple[np.ndarray, Any]:
        if token is not None:
            state = self._feed(state[0], token)
        return state[1], state

    def _feed(self, hidden: Any, token: int) -> tuple[Any, np.ndarray]:
        logits, hidden = self.stepper.step(np.array([token]), hidden)
        logprobs = logits[0]
        logprobs -= logprobs.max()
        logprobs -= math.log(np.exp(logprobs).sum(dtype=np.float64))
        return hidden, logprobs
