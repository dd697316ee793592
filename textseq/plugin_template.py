"""``textseq plugins new``: the skeleton of a plugin package, one per kind of part.

The package works as written: a pyproject.toml with the entry point in the ``textseq`` group, a
module with one hook implementation that does something small but real, a test that registers the
module in-process (nothing to install) and a README. The author renames, then grows it.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from textseq import __version__

KINDS = ("tokenizer", "smoother", "embedder", "architecture", "command")

_NAME = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")
PREFIX = "textseq-"

PROJECT_DISTRIBUTIONS = ("textseq", "textseq-moses", "textseq-transformer")
"""The distributions this project publishes (textseq and plugins/): a new plugin named like one
would replace it when installed."""


def plugin_names(name: str) -> dict[str, str]:
    """The names a package called ``name`` uses: distribution, module, entry point and part.

    ``textseq-shout`` gives the module ``textseq_shout`` and the part (and entry point) ``shout``;
    a name without the ``textseq-`` prefix is used as it is (:func:`write_plugin` requires it)."""
    if not _NAME.match(name):
        raise ValueError(f"plugin name {name!r}: use lower-case letters, digits and dashes, starting with a letter (e.g. textseq-shout)")
    part = name.removeprefix(PREFIX)
    return {"dist": name, "module": name.replace("-", "_"), "part": part}


def check_new_name(name: str) -> None:
    """Refuse (``ValueError``) a name a new plugin must not have: one that is not a distribution
    name, not ``textseq-NAME`` with a NAME, or one of this project's own distributions, which
    installing the plugin would replace."""
    if name == PREFIX:
        raise ValueError(f"plugin name {name!r}: give a name after {PREFIX!r} (e.g. textseq-shout)")
    plugin_names(name)
    if name in PROJECT_DISTRIBUTIONS:
        raise ValueError(f"plugin name {name!r} is a distribution of textseq's own, which installing the plugin would replace; "
                         f"choose another {PREFIX}NAME")
    if not name.startswith(PREFIX):
        raise ValueError(f"plugin name {name!r}: name it {PREFIX}NAME (e.g. {PREFIX}{name}), the name every textseq plugin's "
                         "distribution has")


def write_plugin(name: str, kind: str, parent: Path) -> list[Path]:
    """Write the package ``parent/name`` for a plugin of ``kind``; the files written.

    Raises ``ValueError`` for a bad name (see :func:`check_new_name`) or kind and
    ``FileExistsError`` when the folder exists (nothing of the user's is overwritten)."""
    if kind not in KINDS:
        raise ValueError(f"unknown kind {kind!r} (one of {', '.join(KINDS)})")
    check_new_name(name)
    names = plugin_names(name)
    root = parent / name
    if root.exists():
        raise FileExistsError(f"{root} exists already")
    values = {"__DIST__": names["dist"], "__MODULE__": names["module"], "__PART__": names["part"], "__KIND__": kind,
              "__TEXTSEQ__": f"{__version__},<{int(__version__.split('.')[0]) + 1}", "__DEPENDENCIES__": ', "torch>=2.1"' if kind == "architecture" else ""}
    files = {
        "pyproject.toml": PYPROJECT,
        "README.md": README + USAGE[kind],
        f"{names['module']}/__init__.py": INIT,
        f"{names['module']}/plugin.py": PLUGINS[kind],
        "tests/test_plugin.py": TEST_HEADER + TESTS[kind],
    }
    written = []
    staging = parent / f".{name}.partial"
    try:
        for relative, template in files.items():
            text = template
            for key, value in values.items():
                text = text.replace(key, value)
            path = staging / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            written.append(root / relative)
        staging.rename(root)
    finally:
        if staging.exists():
            shutil.rmtree(staging)
    return written


PYPROJECT = """\
[build-system]
requires = ["setuptools>=61"]
build-backend = "setuptools.build_meta"

[project]
name = "__DIST__"
version = "0.1.0"
description = "A textseq __KIND__ plugin."
readme = "README.md"
requires-python = ">=3.10"
dependencies = ["textseq>=__TEXTSEQ__"__DEPENDENCIES__]

[project.optional-dependencies]
test = ["pytest>=7"]

# textseq finds plugins through this entry-point group: NAME = "module"
[project.entry-points.textseq]
__PART__ = "__MODULE__.plugin"

[tool.setuptools.packages.find]
include = ["__MODULE__*"]
"""

INIT = '''"""__DIST__: a textseq __KIND__ plugin."""

__version__ = "0.1.0"
'''

README = """\
# __DIST__

A textseq __KIND__ plugin, made with `textseq plugins new`.

    pip install -e .                 # then: textseq plugins
    pip install -e '.[test]' && python -m pytest

The hook implementation is in `__MODULE__/plugin.py`; the entry point that makes textseq load it
is in `pyproject.toml` (group `textseq`). Pin what you build against in your dependencies, and
see textseq's docs/plugins.md for every hook, how to test and how to debug
(`TEXTSEQ_TRACE_PLUGINS=1 textseq plugins`).

"""

USAGE = {
    "tokenizer": "    textseq tokenize -t __PART__ book.txt\n    textseq tokenize -t __PART__ -p lower=true book.txt | textseq detokenize -t __PART__\n",
    "smoother": "    textseq ngram build --smoothing __PART__ -o 3 book.tok -O book.arpa\n",
    "embedder": "    textseq embed train --method __PART__ --dim 50 book.tok -O book.vec\n",
    "architecture": "    textseq train --arch __PART__ --level char book.txt -O book.pt\n    textseq sample book.pt -n 200\n",
    "command": "    textseq __PART__ book.tok\n    cat book.tok | textseq __PART__ --top 5\n",
}

PLUGINS = {
    "tokenizer": '''"""A tokenizer: words and punctuation marks apart, optionally lower-cased."""

from __future__ import annotations

import re
from typing import Any

from textseq import hookimpl
from textseq.tokenize.base import Tokenizer

WORD_OR_MARK = re.compile(r"\\w+(?:'\\w+)*|[^\\w\\s]")


class PluginTokenizer(Tokenizer):
    name = "__PART__"

    def __init__(self, lower: bool = False) -> None:
        if not isinstance(lower, bool):
            raise ValueError(f"lower must be true or false, not {lower!r}")
        self.lower = lower

    def tokenize(self, line: str) -> list[str]:
        return WORD_OR_MARK.findall(line.lower() if self.lower else line)

    def detokenize(self, tokens: list[str]) -> str:
        text = " ".join(tokens)
        return re.sub(r" ([.,;:!?)])", r"\\1", text).replace("( ", "(")


@hookimpl
def register_tokenizers(register: Any) -> None:
    register("__PART__", PluginTokenizer, help="words and punctuation marks (-p lower=true)")
''',
    "smoother": '''"""A smoother: Lidstone's additive smoothing, add-k with k = 1/2 by default (Jeffreys-Perks)."""

from __future__ import annotations

from typing import Any

from textseq import hookimpl


def make_smoother(k: float = 0.5) -> Any:
    from textseq.ngram.classic import AddK

    smoother = AddK(k=k)
    smoother.name = "__PART__"
    return smoother


@hookimpl
def register_smoothers(register: Any) -> None:
    register("__PART__", make_smoother, help="Lidstone (add-k, k=0.5 by default: -p k=K), backoff-normalized")
''',
    "embedder": '''"""An embedder: random indexing (Kanerva et al. 2000). Every word gets a fixed sparse random
"index" vector; a word's embedding is the sum of the index vectors of the words around it."""

from __future__ import annotations

from typing import Any

from textseq import hookimpl


class RandomIndexing:
    def __init__(self, nonzeros: int = 8) -> None:
        if isinstance(nonzeros, bool) or not isinstance(nonzeros, int) or nonzeros < 1:
            raise ValueError(f"nonzeros must be a whole number >= 1, not {nonzeros!r}")
        self.nonzeros = nonzeros

    def train(self, corpus: Any, *, dim: int = 100, window: int = 5, seed: int = 1, monitor: Any = None, **_: Any) -> Any:
        import numpy as np

        from textseq.embed.vectors import Vectors

        rng = np.random.default_rng(seed)
        words = len(corpus.words)
        index = np.zeros((words, dim), np.float32)
        for row in range(words):
            index[row, rng.choice(dim, min(self.nonzeros, dim), replace=False)] = rng.choice((-1.0, 1.0), min(self.nonzeros, dim))
        vectors = np.zeros((words, dim), np.float32)
        if monitor is not None:
            monitor.begin("random indexing", corpus.tokens, "tokens")
        for chunk in corpus.chunks():
            ids = chunk.ids
            for shift in range(1, window + 1):
                np.add.at(vectors, ids[shift:], index[ids[:-shift]])
                np.add.at(vectors, ids[:-shift], index[ids[shift:]])
            if monitor is not None:
                monitor.update(chunk.offset + len(ids))
        if monitor is not None:
            monitor.end()
        return Vectors(corpus.words, vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12))


@hookimpl
def register_embedders(register: Any) -> None:
    register("__PART__", RandomIndexing, help="random indexing: sums of sparse random context vectors (-p nonzeros=8)")
''',
    "architecture": '''"""An architecture: a neural bigram model, logits = a learned row per previous token. The
smallest network that follows textseq's interface: forward(tokens [T, B], state) -> (logits
[T, B, V], state); it keeps no state."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from textseq import hookimpl

DEFAULTS: dict[str, Any] = {"rank": 32}


def build(config: Mapping[str, Any], vocab_size: int) -> Any:
    import torch
    from torch import nn

    unknown = set(config) - set(DEFAULTS)
    if unknown:
        raise ValueError(f"__PART__: unknown option {sorted(unknown)[0]!r} (known: {', '.join(DEFAULTS)})")
    rank = config["rank"]
    if isinstance(rank, bool) or not isinstance(rank, int) or rank < 1:
        raise ValueError(f"__PART__: rank must be a whole number >= 1, not {rank!r}")

    class BigramLM(nn.Module):
        arch = "__PART__"

        def __init__(self) -> None:
            super().__init__()
            self.config = dict(config)
            self.vocab_size = vocab_size
            self.encoder = nn.Embedding(vocab_size, rank)
            self.decoder = nn.Linear(rank, vocab_size)

        def forward(self, tokens: torch.Tensor, state: Any = None) -> tuple[torch.Tensor, None]:
            return self.decoder(self.encoder(tokens)), None

    return BigramLM()


@hookimpl
def register_architectures(register: Any) -> None:
    register("__PART__", build, default_config=DEFAULTS, help="neural bigram model, a low-rank table (-c rank=32)")
''',
    "command": '''"""A command: the most frequent tokens of tokenized text, with their share of all tokens."""

from __future__ import annotations

from typing import Any

from textseq import hookimpl


@hookimpl
def register_commands(cli: Any) -> None:
    import click

    @cli.command("__PART__")
    @click.argument("files", nargs=-1, type=click.File("r", encoding="utf-8"))
    @click.option("--top", type=click.IntRange(min=1), default=10, show_default=True, help="How many tokens.")
    def top_tokens(files: tuple[Any, ...], top: int) -> None:
        """The most frequent tokens of FILES (or stdin), one per line: token, count, share."""
        from collections import Counter

        counts: Counter[str] = Counter()
        for handle in files or (click.get_text_stream("stdin"),):
            for line in handle:
                counts.update(line.split())
        total = sum(counts.values()) or 1
        for token, count in counts.most_common(top):
            click.echo(f"{token}\\t{count}\\t{count / total:.4f}")
''',
}

TEST_HEADER = '''"""The plugin registered in-process (nothing installed): the way to test a textseq plugin."""

from __future__ import annotations

import pytest

import __MODULE__.plugin
from textseq.plugins import Plugins, set_plugins


@pytest.fixture
def plugins():
    """textseq's plugin manager with the built-ins and this plugin only, for the test's duration."""
    manager = Plugins(load_entry_points=False)
    manager.add(__MODULE__.plugin, "__PART__")
    set_plugins(manager)
    yield manager
    set_plugins(None)

'''

TESTS = {
    "tokenizer": '''
def test_tokenizes_and_detokenizes(plugins):
    tokenizer = plugins.registry("tokenizer").get("__PART__").implementation(lower=True)
    tokens = tokenizer.tokenize("Don't panic, Arthur!")
    assert tokens == ["don't", "panic", ",", "arthur", "!"]
    assert tokenizer.detokenize(tokens) == "don't panic, arthur!"
''',
    "smoother": '''
def test_estimates_a_normalized_model_that_gives_unseen_words_some_probability(plugins):
    import numpy as np

    from textseq.ngram.corpus import corpus_from_blocks
    from textseq.ngram.counts import count_ngrams

    corpus = corpus_from_blocks(["a b a b c\\na c\\n"])
    model = plugins.registry("smoother").get("__PART__").implementation().estimate(count_ngrams(corpus, 2))
    model.words = corpus.words
    after_a = 10.0 ** model.next_logprobs([model.word_index["a"]])
    assert abs(after_a.sum() - 1.0) < 1e-6
    assert 0 < after_a[model.word_index["a"]] < after_a[model.word_index["b"]]  # "a a" never seen, "a b" twice
''',
    "embedder": '''
def test_words_in_the_same_contexts_end_up_close(plugins, tmp_path):
    import numpy as np

    from textseq.embed.corpus import training_corpus

    lines = ["the cat drinks milk", "the dog drinks water", "a cat eats fish", "a dog eats meat"] * 50
    corpus = training_corpus(iter(lines), min_count=1)
    vectors = plugins.registry("embedder").get("__PART__").implementation().train(corpus, dim=64, window=2, seed=1)
    unit = vectors.matrix / np.linalg.norm(vectors.matrix, axis=1, keepdims=True)
    similarity = lambda a, b: float(unit[vectors.index[a]] @ unit[vectors.index[b]])
    assert similarity("cat", "dog") > similarity("cat", "drinks")
''',
    "architecture": '''
def test_learns_a_bigram_table(plugins):
    import torch

    registration = plugins.registry("architecture").get("__PART__")
    model = registration.implementation(dict(registration.metadata["default_config"]), 5)
    tokens = torch.tensor([0, 1, 2, 3, 4] * 8).view(-1, 1)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.05)
    for _ in range(200):
        logits, state = model(tokens[:-1])
        loss = torch.nn.functional.cross_entropy(logits.view(-1, 5), tokens[1:].view(-1))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    assert state is None and loss.item() < 0.05
''',
    "command": '''
def test_counts_the_most_frequent_tokens(plugins):
    from click.testing import CliRunner

    from textseq.cli import build_cli

    result = CliRunner().invoke(build_cli(), ["__PART__", "--top", "2"], input="a b a\\nc a b\\n")
    assert result.exit_code == 0, result.output
    assert result.output == "a\\t3\\t0.5000\\nb\\t2\\t0.3333\\n"
''',
}
