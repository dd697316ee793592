"""textseq-moses: the Moses tokenizer and detokenizer (sacremoses) as a textseq tokenizer plugin."""

__version__ = "0.1.0"
