# Set-up and the everyday jobs, on a fresh machine from a clean clone.
#   make demo    the main job on the project's own corpus
#   make test    install everything and run the tests
#   make man     regenerate man/ from the command definitions
#   make bench   the benchmarks in bench/ (slow)

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test man bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q torch==2.13.0          # the CPU wheel; an unpinned torch pulls a CUDA build
	$(BIN)/pip install -q -e '.[test,bench]'
	$(BIN)/pip install -q -e '.[reference]' || echo "kenlm did not build: the tests that compare with it will skip"
	touch $@

corpora/grammar.txt: corpora/generate.py | $(STAMP)
	$(BIN)/python corpora/generate.py --seed 1 --tokens 250000 -o $@

demo: $(STAMP) corpora/grammar.txt
	$(BIN)/textseq tokenize corpora/grammar.txt | $(BIN)/textseq vocab --top 15

test: $(STAMP)
	$(BIN)/python -m pytest -q

man: $(STAMP)
	$(BIN)/python tools/make_man.py

bench: $(STAMP)
	$(BIN)/python bench/tokenize

clean:
	rm -rf $(VENV) corpora/grammar.txt bench/data bench/out
