# Set-up and the everyday jobs, on a fresh machine from a clean clone.
#   make demo    the main job on the project's own corpus
#   make test    install everything (textseq and the plugins in plugins/) and run all their tests
#   make lint    ruff (lint and format, checked) and mypy, as CI runs them; make fix applies ruff's fixes and format
#   make man     regenerate man/ from the command definitions
#   make bench   every benchmark in bench/, one after the other, stopping at the first that fails (hours)
#   make fuzz    the fuzz tests of every file reader, with 2,000 cases each instead of CI's 60

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
CORE_STAMP := $(VENV)/.installed-core

.PHONY: demo test lint fix fuzz man bench clean

PLUGINS := $(wildcard plugins/*/pyproject.toml)

# textseq and what it needs, no more: what make demo runs on.
$(CORE_STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q torch==2.13.0          # the CPU wheel; an unpinned torch pulls a CUDA build
	$(BIN)/pip install -q -e .
	touch $@

# Everything the tests, lint and benchmarks use, on top.
$(STAMP): $(CORE_STAMP) pyproject.toml $(PLUGINS)
	$(BIN)/pip install -q -e '.[test,lint,bench,plot,tensorboard,dask]'
	$(BIN)/pip install -q $(foreach plugin,$(PLUGINS),-e $(dir $(plugin)))   # the plugins in plugins/, tested with textseq
	$(BIN)/pip install -q -e '.[reference]' || echo "kenlm did not build: the tests that compare with it will skip"
	touch $@

corpora/grammar.txt: corpora/generate.py | $(CORE_STAMP)
	$(BIN)/python corpora/generate.py --seed 1 --tokens 250000 -o $@

DEMO := .demo

# The main job on the project's corpus: tokens and vocabulary, a 5-gram model and a small word
# LSTM, their perplexities side by side on text from another seed, and sentences sampled from each.
demo: $(CORE_STAMP) corpora/grammar.txt
	mkdir -p $(DEMO)
	$(BIN)/python corpora/generate.py --seed 2 --tokens 25000 -o $(DEMO)/test.txt
	$(BIN)/python corpora/generate.py --seed 3 --tokens 25000 -o $(DEMO)/valid.txt
	$(BIN)/textseq tokenize --lower corpora/grammar.txt > $(DEMO)/train.tok
	$(BIN)/textseq tokenize --lower $(DEMO)/test.txt > $(DEMO)/test.tok
	$(BIN)/textseq tokenize --lower $(DEMO)/valid.txt > $(DEMO)/valid.tok
	$(BIN)/textseq vocab --top 10 $(DEMO)/train.tok
	$(BIN)/textseq ngram build -o 5 -O $(DEMO)/grammar.arpa $(DEMO)/train.tok
	$(BIN)/textseq train --arch word-small --level word --valid $(DEMO)/valid.tok -O $(DEMO)/grammar.pt $(DEMO)/train.tok
	$(BIN)/textseq eval $(DEMO)/grammar.arpa $(DEMO)/test.tok --also $(DEMO)/grammar.pt
	$(BIN)/textseq sample $(DEMO)/grammar.arpa --num-samples 3 --seed 1 | $(BIN)/textseq detokenize
	$(BIN)/textseq sample $(DEMO)/grammar.pt --num-samples 3 --seed 1 | $(BIN)/textseq detokenize

test: $(STAMP)
	$(BIN)/python -m pytest -q

# What ruff reads and mypy checks is set in pyproject.toml ([tool.ruff], [tool.mypy]): ruff every
# Python file in the tree but the ignored ones, mypy textseq/.
lint: $(STAMP)
	$(BIN)/ruff check
	$(BIN)/ruff format --check
	$(BIN)/mypy

fix: $(STAMP)
	$(BIN)/ruff check --fix
	$(BIN)/ruff format

FUZZ_EXAMPLES ?= 2000

fuzz: $(STAMP)
	TEXTSEQ_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(BIN)/python -m pytest -q tests/ -k fuzz

man: $(STAMP)
	$(BIN)/python tools/make_man.py

# The order: the quick and self-contained first; each script after the one whose data it reuses
# (glove: embed's corpus; neural-seeds: neural's text; neural-sample: neural-char's checkpoint).
# A reference tool that is not installed is skipped with a note, and neural-throughput measures
# nothing without a CUDA device; bench/README.md says what each needs and takes.
BENCH := tokenizing ngram ngram-scale embed glove classify neural neural-seeds neural-recipe neural-step char-loop neural-char neural-eval neural-sample neural-throughput peephole transformer

bench: $(STAMP)
	for script in $(BENCH); do echo "== bench/$$script.py" >&2; $(BIN)/python bench/$$script.py || exit 1; done

clean:
	rm -rf $(VENV) $(DEMO) corpora/grammar.txt bench/data bench/out .mypy_cache .ruff_cache
