"""textseq-transformer: the network on its own, then through the ordinary textseq commands with
the plugin installed (``pip install -e plugins/textseq-transformer``)."""

from __future__ import annotations

import io
import json
import subprocess
from collections.abc import Callable
from importlib import metadata
from pathlib import Path

import pytest
import torch
from textseq_transformer.model import TransformerLM
from textseq_transformer.plugin import DEFAULTS, resolve_config

SMALL = {"layers": 2, "heads": 2, "embedding_size": 32, "block_size": 16, "dropout": 0.0}
TEXT = "the cat sat on the mat. the dog sat on the log.\n" * 40


def network(**overrides) -> TransformerLM:
    torch.manual_seed(0)
    return TransformerLM(resolve_config("transformer", {**SMALL, **overrides}), 20)


@pytest.mark.parametrize("positions", ["rotary", "learned"])
def test_cached_steps_equal_one_pass_within_a_block(positions):
    model = network(positions=positions).eval()
    tokens = torch.randint(20, (16, 3))
    with torch.no_grad():
        whole, _ = model(tokens)
        state, pieces = None, []
        for piece in (tokens[:5], tokens[5:6], tokens[6:7], tokens[7:]):
            logits, state = model(piece, state)
            pieces.append(logits)
    assert torch.allclose(torch.cat(pieces), whole, atol=1e-5)
    cache, context = state
    assert cache.shape == (4, 3, 2, 16, 16) and torch.equal(context, tokens)


@pytest.mark.parametrize("positions", ["rotary", "learned"])
def test_a_stream_longer_than_the_block_keeps_half_a_block_of_context(positions):
    model = network(positions=positions).eval()
    tokens = torch.randint(20, (40, 2))
    with torch.no_grad():
        _, state = model(tokens[:20])  # pieces of 8: the third does not fit, so the cache restarts from tokens 8..15
        stepped, _ = model(tokens[20:21], state)
        fresh, _ = model(tokens[8:21])
    assert state[0].size(3) == 12 and torch.equal(state[1], tokens[8:20])
    assert torch.allclose(stepped[0], fresh[-1], atol=1e-5)


def test_causal_later_tokens_do_not_change_earlier_logits():
    model = network().eval()
    tokens = torch.randint(20, (12, 1))
    changed = tokens.clone()
    changed[8:] = (changed[8:] + 1) % 20
    with torch.no_grad():
        assert torch.allclose(model(tokens)[0][:8], model(changed)[0][:8], atol=1e-6)
        assert not torch.allclose(model(tokens)[0][8:], model(changed)[0][8:])


def test_training_windows_longer_than_the_block_are_cut_and_state_is_not_carried():
    model = network().train()
    logits, state = model(torch.randint(20, (40, 2)))
    assert logits.shape == (40, 2, 20) and state is None


def test_tiny_corpus_is_overfit():
    model = network(layers=1, embedding_size=32, block_size=32)
    data = torch.tensor([i % 7 for i in range(33)]).view(-1, 1)
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3)
    for _ in range(300):
        logits, _ = model(data[:-1])
        loss = torch.nn.functional.cross_entropy(logits.view(-1, 20), data[1:].view(-1))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    assert loss.item() < 0.05


def test_weights_are_tied_by_default_and_untied_on_request():
    tied = network()
    assert tied.decoder.weight is tied.encoder.weight
    untied = network(tie_weights=False)
    assert untied.decoder.weight is not untied.encoder.weight


@pytest.mark.parametrize(
    "config, message",
    [
        ({"heads": 3}, "multiple of heads"),
        ({"hidden_size": 8}, "unknown option 'hidden_size'"),
        ({"positions": "sinusoid"}, "positions must be one of rotary, learned"),
        ({"dropout": 1.5}, "probability"),
    ],
)
def test_bad_config_names_the_option(config, message):
    with pytest.raises(ValueError, match=message):
        resolve_config("transformer", {**SMALL, **config})


def test_defaults_build():
    assert resolve_config("transformer", {}) == DEFAULTS


# through textseq ----------------------------------------------------------------------------


Runner = Callable[..., "subprocess.CompletedProcess[str]"]


@pytest.fixture
def textseq(monkeypatch) -> Runner:
    """``textseq(*args, cwd=..., env=...)``: the command through textseq.cli.run in this process, as
    a process started in ``cwd`` with ``env`` would run it (one torch thread, its plugins loaded
    afresh); torch's thread count and the plugin manager are put back afterwards."""
    from textseq.cli import run
    from textseq.cli.common import App
    from textseq.console import Console
    from textseq.plugins import set_plugins

    def run_textseq(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        out, err = io.BytesIO(), io.StringIO()
        threads = torch.get_num_threads()
        with monkeypatch.context() as patch:
            patch.chdir(cwd)
            for name, value in {"OMP_NUM_THREADS": "1", **(env or {})}.items():
                patch.setenv(name, value)
            set_plugins(None)
            try:
                code = run(list(args), app=App(stdin=io.BytesIO(), stdout=out, console=Console(err)))
            finally:
                set_plugins(None)
                torch.set_num_threads(threads)
        return subprocess.CompletedProcess(list(args), code, out.getvalue().decode("utf-8"), err.getvalue())

    return run_textseq


def test_the_plugin_comes_from_its_installed_distribution(tmp_path, textseq):
    assert metadata.distribution("textseq-transformer").entry_points.select(group="textseq")
    listing = json.loads(textseq("plugins", "--json", cwd=tmp_path).stdout)
    entry = next(p for p in listing if p["name"] == "transformer")
    assert entry["distribution"] == "textseq-transformer" and entry["builtin"] is False
    assert entry["registered"] == {"architectures": ["transformer", "transformer-char"]}


def test_train_checkpoint_resume_eval_and_sample_through_textseq(tmp_path, textseq):
    (tmp_path / "train.txt").write_text(TEXT)
    config = [f"-c{key}={value}" for key, value in SMALL.items()]
    trained = textseq(
        "train", "--arch", "transformer", *config, "--max-steps", "6", "--batch-size", "4", "train.txt", "-O", "t.pt", cwd=tmp_path
    )
    assert trained.returncode == 0, trained.stderr
    defaults = next(line for line in trained.stderr.splitlines() if "training defaults" in line)
    assert "--bptt 256" in defaults and "--batch-size" not in defaults  # the plugin's suggestion, less what was given
    resumed = textseq("train", "--resume", "t.last.pt", "--max-steps", "8", "train.txt", "-O", "t.pt", cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    payload = torch.load(tmp_path / "t.last.pt", weights_only=True)
    assert payload["arch"] == "transformer" and payload["progress"]["step"] == 8
    assert payload["plugin"]["distribution"] == "textseq-transformer"
    report = json.loads(textseq("eval", "t.pt", "train.txt", "--json", cwd=tmp_path).stdout)
    assert 1.0 < report["perplexity"] < 40  # a character model, barely trained
    first = textseq("sample", "t.pt", "--prime", "the ", "-n", "60", "--seed", "3", cwd=tmp_path)
    again = textseq("sample", "t.pt", "--prime", "the ", "-n", "60", "--seed", "3", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert first.stdout == again.stdout and first.stdout.startswith("the ") and len(first.stdout) == 4 + 60 + 1
    greedy = textseq("sample", "t.pt", "-n", "40", "--greedy", cwd=tmp_path)
    assert greedy.returncode == 0 and len(greedy.stdout) == 41


def test_a_checkpoint_opened_without_the_plugin_says_what_to_install(tmp_path, textseq):
    (tmp_path / "train.txt").write_text(TEXT)
    config = [f"-c{key}={value}" for key, value in SMALL.items()]
    assert textseq("train", "--arch", "transformer", *config, "--max-steps", "2", "train.txt", "-O", "t.pt", cwd=tmp_path).returncode == 0
    for command in (["sample", "t.pt"], ["eval", "t.pt", "train.txt"]):
        result = textseq(*command, cwd=tmp_path, env={"TEXTSEQ_LOAD_PLUGINS": ""})
        assert result.returncode == 1
        assert result.stderr.strip().splitlines() == [
            (
                "textseq: error: t.pt: architecture 'transformer' comes from the plugin textseq-transformer 0.1.0, "
                "which is not installed here: pip install textseq-transformer"
            )
        ]
