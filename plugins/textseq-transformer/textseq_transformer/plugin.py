"""The plugin's manifest: the ``transformer`` architecture and its presets, registered through
textseq's ``register_architectures`` hook.

Registering imports no torch (``textseq plugins`` stays quick); ``build`` imports the network from
:mod:`textseq_transformer.model` when a model is made.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from textseq import Choice, Flag, OptionKind, Probability, Size, hookimpl, resolve_options

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
    "transformer-char": (
        {"layers": 6, "heads": 6, "embedding_size": 384, "block_size": 256, "dropout": 0.2},
        ("preset: transformer, 6 layers, 6 heads, 384 wide, 256 tokens of context, dropout 0.2 (nanoGPT's character model; for a GPU)"),
    ),
}

TRAIN_DEFAULTS: dict[str, Any] = {"bptt": 256, "batch_size": 32, "lr": 1e-3, "clip": 1.0, "schedule": "cosine"}
"""Training settings that suit a Transformer (a window is the whole context) where the user gives none."""

HELP = (
    "causal Transformer LM (pre-LayerNorm, scaled_dot_product_attention, key/value cache when sampling): "
    "-c layers=4 heads=4 embedding_size=256 block_size=256 dropout=0.1 positions=rotary|learned tie_weights=true"
)

OPTIONS: dict[str, OptionKind] = {
    "layers": Size(),
    "heads": Size(),
    "embedding_size": Size(),
    "block_size": Size(),
    "dropout": Probability(),
    "positions": Choice(("rotary", "learned")),
    "tie_weights": Flag(),
}
"""Each option and the values it takes, checked by textseq's own checker."""


def resolve_config(name: str, config: Mapping[str, Any]) -> dict[str, Any]:
    """``config`` over the defaults of ``name``, each value checked (``ValueError`` naming the option)."""
    defaults = {**DEFAULTS, **(PRESETS[name][0] if name in PRESETS else {})}
    resolved = resolve_options(name, defaults, config, OPTIONS)
    if resolved["embedding_size"] % resolved["heads"]:
        raise ValueError(f"{name}: embedding_size ({resolved['embedding_size']}) must be a multiple of heads ({resolved['heads']})")
    if resolved["positions"] == "rotary" and (resolved["embedding_size"] // resolved["heads"]) % 2:
        raise ValueError(f"{name}: rotary positions need an even head size (embedding_size / heads)")
    if resolved["block_size"] < 2:
        raise ValueError(f"{name}: block_size must be at least 2")
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
