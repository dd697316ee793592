"""Scoring a stream in parallel columns (textseq.neural.scoring): every token once, in order, and
the losses of batch 1 to within 1e-3 nats on a trained network."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from helpers import ROOT  # noqa: E402
from textseq.neural.codec import Codec  # noqa: E402
from textseq.neural.models import build  # noqa: E402
from textseq.neural.scoring import MAX_COLUMNS, plan_columns, score_tokens  # noqa: E402
from textseq.neural.settings import DEFAULT_CONTEXT  # noqa: E402


@pytest.mark.parametrize(
    ("tokens", "context", "columns"),
    [(0, 10, None), (1, 10, None), (5, 10, None), (100, 0, None), (1000, 10, None), (10_000, 200, None), (10_000, 200, 7), (37, 5, 40)],
)
def test_the_columns_score_every_token_once_in_order(tokens, context, columns):
    plan = plan_columns(tokens, context, columns)
    scored = np.concatenate([np.arange(s, e) for s, e in zip(plan.starts, plan.ends)]) if tokens else np.zeros(0)
    assert scored.tolist() == list(range(tokens))
    assert plan.reads[0] == 0 and plan.starts[0] == 0
    assert (plan.starts - plan.reads)[1:].tolist() == [min(context, s) for s in plan.starts[1:].tolist()]
    assert plan.columns <= (columns or MAX_COLUMNS)


def test_the_automatic_plan_keeps_warm_up_a_small_part_of_the_work():
    plan = plan_columns(111_540, 100)
    assert plan.columns == MAX_COLUMNS
    assert plan.columns * plan.length <= 1.25 * 111_540 + plan.columns
    assert plan_columns(2_000, 200).columns == 2


def _batch_one(model, ids, start):
    with torch.no_grad():
        inputs = torch.tensor([start, *ids[:-1]]).view(-1, 1)
        logits, _ = model.eval()(inputs)
        return torch.nn.functional.cross_entropy(logits.view(len(ids), -1), torch.tensor(ids), reduction="none").double().numpy()


@pytest.fixture(scope="module")
def trained():
    """A small character LSTM trained for a few hundred steps on the project's corpus, and text
    it has not seen."""
    text = subprocess.run(
        [sys.executable, str(ROOT / "corpora" / "generate.py"), "--seed", "7", "--tokens", "12000"], capture_output=True, check=True
    ).stdout.decode()
    codec, ids = Codec.build("char", [text])
    ids = ids.astype(np.int64)
    train, test = ids[:-15_000], ids[-15_000:]
    torch.manual_seed(0)
    model = build("lstm", {"embedding_size": 32, "hidden_size": 96, "layers": 1, "dropout": 0.0}, codec.vocab_size)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    rows = torch.from_numpy(train[: len(train) // 16 * 16].reshape(16, -1).T.copy())
    state = None
    for step in range(300):
        at = step * 40 % (rows.size(0) - 41)
        state = None if at == 0 or state is None else tuple(s.detach() for s in state)
        logits, state = model(rows[at : at + 40], state)
        loss = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.size(-1)), rows[at + 1 : at + 41].reshape(-1))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return model, test.tolist(), codec.line_end_id


def test_columns_agree_with_batch_one_on_a_trained_network(trained):
    model, ids, start = trained
    exact = _batch_one(model, ids, start)
    assert exact.mean() < 2.0  # it has learnt something: uniform over the characters is about 3.3
    assert np.allclose(score_tokens(model, ids, "cpu", start_token=start, context=None), exact, atol=1e-5)
    fast = score_tokens(model, ids, "cpu", start_token=start)
    assert len(fast) == len(ids) and plan_columns(len(ids), DEFAULT_CONTEXT).columns > 10
    assert abs(fast.mean() - exact.mean()) < 1e-3
    cold = score_tokens(model, ids, "cpu", start_token=start, context=0, columns=plan_columns(len(ids), DEFAULT_CONTEXT).columns)
    assert abs(cold.mean() - exact.mean()) > abs(fast.mean() - exact.mean())  # the warm-up is what makes it agree


def test_a_fixed_window_network_within_the_context_is_scored_exactly():
    torch.manual_seed(1)
    model = build("nplm", {"context": 4, "embedding_size": 8, "hidden_size": 16}, 30)
    ids = torch.randint(0, 30, (3_000,)).tolist()
    exact = _batch_one(model, ids, 0)
    fast = score_tokens(model, ids, "cpu", start_token=0, context=4, columns=9)
    assert np.allclose(fast, exact, atol=1e-5)


def _bf16_here() -> bool:
    check = getattr(torch.ops.mkldnn, "_is_mkldnn_bf16_supported", None)
    return bool(check()) if check is not None else False


@pytest.mark.skipif(not _bf16_here(), reason="this CPU has no native bfloat16")
def test_bf16_scoring_is_close_to_float32_and_the_losses_stay_float(trained):
    model, ids, start = trained
    exact = score_tokens(model, ids, "cpu", start_token=start)
    low = score_tokens(model, ids, "cpu", start_token=start, bf16=True)
    assert len(low) == len(exact) and np.isfinite(low).all()
    assert not np.array_equal(low, exact)  # it did compute in bfloat16
    assert abs(low.mean() - exact.mean()) < 1e-2
    assert np.abs(low - exact).max() < 0.5


def test_bf16_where_the_device_has_none_is_one_clear_error(monkeypatch):
    from textseq.errors import ParameterError
    from textseq.neural.device import check_bf16

    monkeypatch.setattr(torch.ops.mkldnn, "_is_mkldnn_bf16_supported", lambda: False, raising=False)
    with pytest.raises(ParameterError, match="no native bfloat16 arithmetic here"):
        check_bf16(torch.device("cpu"))
