"""The plugin's manifest: the ``transformer`` architecture and its presets, registered through
textseq's ``register_architectures`` hook.

Registering imports no torch (``textseq plugins`` stays quick); ``build`` imports the network from
:mod:`textseq_transformer.model` when a model is made.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import Any

from textseq import hookimpl

DEFAULTS: dict[str, Any] = {
    "layers": 4,
    "heads": 4,
    "embedding_size": 256,
    "block_size": 256,
    "dropout": 0.1,
    "positions": "rotary",
    "tie_weights": True,
}
"""The options of ``transformer``: a small model that trains on a CPU."""

PRESETS: dict[str, tuple[dict[str, Any], str]] = {
    "transformer-char": ({"layers": 6, "heads": 6, "embedding_size": 384, "block_size": 256, "dropout": 0.2},
                         "preset: transformer, 6 layers, 6 heads, 384 wide, 256 tokens of context, dropout 0.2 "
                         "(nanoGPT's character model; for a GPU)"),
}

TRAIN_DEFAULTS: dict[str, Any] = {"bptt": 256, "batch_size": 32, "lr": 1e-3, "clip": 1.0, "schedule": "cosine"}
"""Training settings that suit a Transformer (a window is the whole context) where the user gives none."""

HELP = ("causal Transformer LM (pre-LayerNorm, scaled_dot_product_attention, key/value cache when sampling): "
        "-c layers=4 heads=4 embedding_size=256 block_size=256 dropout=0.1 positions=rotary|learned tie_weights=true")

_SIZES = ("layers", "heads", "embedding_size", "block_size")


def resolve_config(name: str, config: Mapping[str, Any]) -> dict[str, Any]:
    """``config`` over the defaults of ``name``, each value checked (``ValueError`` naming the option)."""
    resolved = {**DEFAULTS, **(PRESETS[name][0] if name in PRESETS else {})}
    for key, value in config.items():
        if key not in resolved:
            close = difflib.get_close_matches(str(key), resolved, n=1)
            hint = f"did you mean '{close[0]}'? " if close else ""
            raise ValueError(f"{name}: unknown option {key!r} ({hint}known: {', '.join(sorted(resolved))})")
        resolved[key] = value
    for key in _SIZES:
        value = resolved[key]
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name}: {key} must be a whole number >= 1, not {value!r}")
    if resolved["embedding_size"] % resolved["heads"]:
        raise ValueError(f"{name}: embedding_size ({resolved['embedding_size']}) must be a multiple of heads ({resolved['heads']})")
    if resolved["positions"] == "rotary" and (resolved["embedding_size"] // resolved["heads"]) % 2:
        raise ValueError(f"{name}: rotary positions need an even head size (embedding_size / heads)")
    if resolved["block_size"] < 2:
        raise ValueError(f"{name}: block_size must be at least 2")
    dropout = resolved["dropout"]
    if isinstance(dropout, bool) or not isinstance(dropout, (int, float)) or not 0 <= dropout < 1:
        raise ValueError(f"{name}: dropout must be a probability in [0, 1), not {dropout!r}")
    resolved["dropout"] = float(dropout)
    if resolved["positions"] not in ("rotary", "learned"):
        raise ValueError(f"{name}: positions must be rotary or learned, not {resolved['positions']!r}")
    if not isinstance(resolved["tie_weights"], bool):
        raise ValueError(f"{name}: tie_weights must be true or false, not {resolved['tie_weights']!r}")
    return resolved


def _builder(name: str) -> Any:
    def build(config: Mapping[str, Any], vocab_size: int) -> Any:
        from textseq_transformer.model import TransformerLM

        return TransformerLM(resolve_config(name, config), vocab_size)

    build.__name__ = "build_" + name.replace("-", "_")
    return build


@hookimpl
def register_architectures(register: Any) -> None:
    register("transformer", _builder("transformer"), default_config=dict(DEFAULTS), train_defaults=TRAIN_DEFAULTS, help=HELP)
    for name, (values, help_text) in PRESETS.items():
        register(name, _builder(name), default_config={**DEFAULTS, **values}, train_defaults=TRAIN_DEFAULTS, help=help_text)
