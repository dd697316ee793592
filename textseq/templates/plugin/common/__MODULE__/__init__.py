"""__DIST__: a textseq __KIND__ plugin."""

__version__ = "0.1.0"
