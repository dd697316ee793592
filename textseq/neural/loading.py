"""Architectures by name, and models rebuilt from checkpoints, as :class:`~textseq.lm.LanguageModel`."""

from __future__ import annotations

from typing import Any

import numpy as np

from textseq.errors import InputError, UnknownNameError
from textseq.neural.checkpoint import load_checkpoint
from textseq.neural.codec import Codec


def build_model(arch: str, config: dict[str, Any], vocab_size: int, *, source: str | None = None) -> Any:
    """The network of architecture ``arch`` with ``config`` over its defaults."""
    from textseq.plugins import get_plugins

    try:
        registration = get_plugins().registry("architecture").get(arch)
    except UnknownNameError as exc:
        if source is None:
            raise
        raise InputError(f"{exc}: the checkpoint was made with an architecture from a plugin that is not installed "
                         f"here; install the plugin that registers '{arch}' (see 'textseq plugins')", source=source) from None
    defaults = dict(registration.metadata.get("default_config") or {})
    return registration.implementation({**defaults, **config}, vocab_size)


def load_model(path: str, device: Any = "cpu") -> tuple[Any, Codec, dict[str, Any]]:
    """(model in eval mode on ``device``, codec, checkpoint) from a checkpoint file."""
    payload = load_checkpoint(path, map_location=device)
    codec = Codec.from_state(payload["codec"], source=path)
    model = build_model(payload["arch"], dict(payload["config"]), codec.vocab_size, source=path)
    try:
        model.load_state_dict(payload["model"])
    except RuntimeError as exc:
        raise InputError(f"the weights do not fit architecture '{payload['arch']}' ({str(exc).splitlines()[0]})", source=path) from None
    model.to(device)
    model.eval()
    return model, codec, payload


class NeuralLM:
    """A checkpoint's network as a :class:`~textseq.lm.LanguageModel`: one token per step, the
    hidden state carried (no recomputation of the prefix)."""

    def __init__(self, model: Any, codec: Codec, device: Any = "cpu") -> None:
        self.model = model
        self.codec = codec
        self.device = device
        self.words = codec.tokens
        self.end_id = codec.eos_id
        self.start_id = codec.eos_id if codec.eos_id >= 0 else codec.index.get("\n", 0)

    def initial_state(self, prime: list[int]) -> Any:
        """The state after the start (an end of line) and ``prime``: the hidden state and the
        distribution of the next token."""
        return self._feed(None, [self.start_id, *prime])

    def step(self, state: Any, token: int | None) -> tuple[np.ndarray, Any]:
        if token is not None:
            state = self._feed(state[0], [token])
        return state[1], state

    def _feed(self, hidden: Any, tokens: list[int]) -> tuple[Any, np.ndarray]:
        import torch

        with torch.no_grad():
            if len(tokens) == 1 and hasattr(self.model, "step") and not self.model.training:
                logits, hidden = self.model.step(torch.tensor(tokens, device=self.device), hidden)
                last = logits[0]
            else:
                logits, hidden = self.model(torch.tensor(tokens, device=self.device).view(-1, 1), hidden)
                last = logits[-1, 0]
            logprobs = torch.log_softmax(last.float(), dim=-1).cpu().numpy().astype(np.float64)
        return hidden, logprobs
