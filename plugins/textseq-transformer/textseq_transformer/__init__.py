"""textseq-transformer: a causal decoder-only Transformer language model as a textseq plugin."""

__version__ = "0.1.0"
