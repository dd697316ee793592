"""Text classification: a line of text mapped to one answer or several (sentiment, topic, spam,
language), the other half of sequence modelling.

:mod:`data` reads labelled lines (fastText's ``__label__`` format or ``label<TAB>text``), maps
label names to ids and holds out a stratified validation split. Nothing here imports click or
torch; the networks and the linear model that train on these examples come in their own modules.
"""
