"""Mutation fuzzing of neural checkpoints: a damaged checkpoint, used for a short sample and an
eval of one line, either works or fails with textseq's own one-line error.

Two kinds of damage: to the file's bytes (truncated, flipped, inserted: tests/fuzzing.py), and to
its structure (the dict loaded, an entry deleted or replaced by a negative, huge, NaN or string
value, a tensor replaced by one of another shape or dtype, then saved with torch.save)."""

from __future__ import annotations

import io
import math
import warnings
from pathlib import Path
from typing import Any

import pytest

torch = pytest.importorskip("torch")

from hypothesis import given  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from fuzzing import check_reader, fuzz_settings, mutations  # noqa: E402
from textseq.cli import build_cli, run  # noqa: E402
from textseq.cli.common import App  # noqa: E402
from textseq.console import Console  # noqa: E402
from textseq.lm import open_model  # noqa: E402
from textseq.sampling import SamplingOptions, stream_samples  # noqa: E402

TEXT = "the cat sat on the mat\nthe dog sat on the log\n" * 20
TINY = ["-c", "embedding_size=8", "-c", "hidden_size=8", "-c", "layers=1", "--batch-size", "4", "--bptt", "16"]


def _trained_checkpoint() -> bytes:
    """The bytes of a char LSTM trained 3 steps by ``textseq train`` (its resumable checkpoint,
    which holds every entry a checkpoint has)."""
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        text = Path(folder) / "t.txt"
        text.write_text(TEXT)
        out = Path(folder) / "m.pt"
        code = run(["train", "-q", *TINY, "--max-steps", "3", "--threads", "1", "-O", str(out), str(text)], Console(io.StringIO()))
        assert code == 0
        return Path(folder, "m.last.pt").read_bytes()


VALID = _trained_checkpoint()


@pytest.fixture(autouse=True, scope="module")
def keep_thread_count():
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)


def use_checkpoint(path: str) -> str:
    """What ``textseq sample -n 5`` and ``textseq eval`` of one line do with the checkpoint; no
    warning may reach stderr on the way (a second line beside the error)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            text = "".join(stream_samples(open_model(path, "cpu", threads=1), "the ", SamplingOptions(max_tokens=5), seed=1))
            report, _ = open_model(path, "cpu", threads=1).evaluate(["the cat sat\n"])
        finally:
            assert not caught, [f"{w.category.__name__}: {w.message}" for w in caught]
    assert report["tokens"] > 0 and not math.isnan(report["loss"])
    return text


def test_the_valid_checkpoint_samples_and_evaluates(tmp_path):
    text = check_reader(use_checkpoint, VALID, tmp_path, ".pt")
    assert isinstance(text, str) and text.startswith("the ")


@fuzz_settings
@given(data=mutations(VALID))
def test_a_checkpoint_with_damaged_bytes_works_or_fails_cleanly(data, tmp_path_factory):
    check_reader(use_checkpoint, data, tmp_path_factory.mktemp("bytes"), ".pt")


def _paths(value: Any, prefix: tuple = (), depth: int = 3) -> list[tuple]:
    """Every place in a loaded checkpoint that a change can reach: dict entries and the first
    items of lists, ``depth`` levels down."""
    found = []
    if depth == 0:
        return found
    if isinstance(value, dict):
        items = list(value.items())
    elif isinstance(value, (list, tuple)):
        items = list(enumerate(value))[:3]
    else:
        return found
    for key, item in items:
        found.append((*prefix, key))
        found.extend(_paths(item, (*prefix, key), depth - 1))
    return found


PAYLOAD = torch.load(io.BytesIO(VALID), weights_only=True)
UNUSED = ("optimizer", "scheduler", "settings", "progress", "metrics")
"""Entries that sampling and evaluation never read: changed as a whole only."""
PATHS = sorted((path for path in _paths(PAYLOAD) if path[0] not in UNUSED or len(path) == 1), key=repr)
ODD_VALUES = [-1, 0, 1, 10**9, 10**30, -(10**30), 2.5, float("nan"), float("inf"), "x", "", None, True, [], {}, ["<unk>"]]


def _odd_tensors(tensor: Any) -> list[Any]:
    """Tensors like ``tensor`` but wrong: in shape, in dtype, or in their values."""
    if tensor.dtype == torch.bool or tensor.is_complex():  # an earlier change made it so
        return [tensor.real.float() if tensor.is_complex() else tensor.float(), torch.zeros(3)]
    flat = tensor.reshape(-1)
    return [
        tensor.t() if tensor.dim() == 2 else tensor[None],
        flat[: max(0, flat.numel() - 1)],
        tensor.unsqueeze(0).repeat(2, *([1] * tensor.dim())),
        torch.zeros(0),
        torch.zeros(10**5, dtype=torch.uint8),
        tensor.double(),
        tensor.long() if tensor.is_floating_point() else tensor.float(),
        tensor.bool(),
        tensor.to(torch.complex64) if tensor.is_floating_point() else tensor,
        torch.full_like(tensor, float("nan")) if tensor.is_floating_point() else tensor - 10**6,
        torch.full_like(tensor, 1e38) if tensor.is_floating_point() else tensor + 10**6,
    ]


def _entry(payload: Any, path: tuple) -> tuple[Any, Any]:
    """(the container of ``path``'s last step, that step)."""
    for key in path[:-1]:
        payload = payload[key]
    return payload, path[-1]


@st.composite
def structural_damage(draw: st.DrawFn, paths: list[tuple]) -> bytes:
    """The valid checkpoint with one to three of its entries at ``paths`` deleted or replaced,
    saved again."""
    import copy

    payload = copy.deepcopy(PAYLOAD)
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(paths))
        try:
            container, key = _entry(payload, path)
            current = container[key]
        except (KeyError, IndexError, TypeError):
            continue  # an earlier change removed the way there
        if isinstance(container, tuple):
            continue
        if draw(st.booleans()) and isinstance(container, dict):
            del container[key]
        elif isinstance(current, torch.Tensor):
            container[key] = draw(st.sampled_from(_odd_tensors(current)))
        else:
            container[key] = draw(st.sampled_from(ODD_VALUES))
    out = io.BytesIO()
    torch.save(payload, out)
    return out.getvalue()


@fuzz_settings
@given(data=structural_damage(PATHS))
def test_a_checkpoint_with_damaged_entries_works_or_fails_cleanly(data, tmp_path_factory):
    check_reader(use_checkpoint, data, tmp_path_factory.mktemp("entries"), ".pt")


EVERY_PATH = sorted(_paths(PAYLOAD, depth=4), key=repr)
"""The optimizer's, the schedule's, the settings' and the progress's entries too, which
``train --resume`` reads."""


@pytest.fixture(scope="module")
def text_file(tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("text") / "t.txt"
    path.write_text(TEXT)
    return str(path)


def resume_from(text: str) -> Any:
    """What ``textseq train --resume FILE`` does with a checkpoint, for 3 more steps."""

    def resume(path: str) -> None:
        app = App(stdin=io.BytesIO(), stdout=io.BytesIO(), console=Console(io.StringIO(), quiet=True))
        out = str(Path(path).with_name("resumed.pt"))
        args = ["train", "-q", "--resume", path, "--max-steps", "6", "--threads", "1", "-O", out, text]
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                build_cli(app.console).main(args, prog_name="textseq", standalone_mode=False, obj=app)
            finally:
                assert not caught, [f"{w.category.__name__}: {w.message}" for w in caught]

    return resume


@fuzz_settings
@given(data=structural_damage(EVERY_PATH))
def test_a_resumable_checkpoint_with_damaged_entries_resumes_or_fails_cleanly(data, tmp_path_factory, text_file):
    check_reader(resume_from(text_file), data, tmp_path_factory.mktemp("resume"), ".last.pt")
