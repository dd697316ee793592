"""Neural language models: built-in architectures, TBPTT data, training, checkpoints."""
