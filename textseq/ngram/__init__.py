"""N-gram language models: counting, smoothing, ARPA files, scoring."""
