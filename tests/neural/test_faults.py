"""Faults around neural checkpoints: two runs on one output, damaged files, interrupts while numba
compiles, devices this machine lacks, diverging runs, SIGTERM during training, thread counts and
a --spm that is no model. Tiny models (hidden 8), a kilobyte of text, CPU only."""

from __future__ import annotations

import io
import itertools
import json
import os
import signal
import subprocess
import sys
import time
import warnings
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

import helpers  # noqa: E402
from fuzzing import bounded  # noqa: E402
from helpers import SUBPROCESS_ENV, textseq_command  # noqa: E402
from textseq.cli import run  # noqa: E402
from textseq.console import Console  # noqa: E402
from textseq.neural import cpu_load  # noqa: E402
from textseq.neural.cpu_load import CpuTimes  # noqa: E402
from textseq.neural.lock import lock_path  # noqa: E402
from textseq.neural.train import last_path  # noqa: E402

TINY = ["-c", "embedding_size=8", "-c", "hidden_size=8", "-c", "layers=1", "--batch-size", "4", "--bptt", "16"]
TEXT = "the cat sat on the mat\nthe dog sat on the log\na cat and a dog\n" * 25


def cli(capsys, *args: str) -> tuple[int, str]:
    """``textseq ARGS`` in this process: (exit status, everything it said on stderr)."""
    errors = io.StringIO()
    code = run(list(args), Console(errors))
    return code, errors.getvalue() + capsys.readouterr().err


def error_line(stderr: str) -> str:
    """The one line of an error report, checked to be the only thing said but progress notes."""
    assert "Traceback" not in stderr
    lines = [line for line in stderr.splitlines() if "error" in line.lower()]
    assert len(lines) == 1, stderr
    return lines[0]


@pytest.fixture(autouse=True)
def keep_thread_counts():
    """Commands set torch's thread count for the process; put it back after each test."""
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def text(tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("text") / "t.txt"
    path.write_text(TEXT)
    return str(path)


@pytest.fixture(scope="module")
def trained(tmp_path_factory, text) -> str:
    """A char LSTM trained 3 steps: its best checkpoint (NAME.last.pt beside it resumes)."""
    out = tmp_path_factory.mktemp("model") / "m.pt"
    assert run(["train", "-q", *TINY, "--max-steps", "3", "--threads", "1", "-O", str(out), text], Console(io.StringIO())) == 0
    return str(out)


# 1. one run at a time on an output


HOLDER = """
import sys, time
from textseq.neural.lock import output_lock
with output_lock(sys.argv[1]):
    print("held", flush=True)
    time.sleep(120)
"""


def test_a_second_train_on_the_same_output_is_refused_and_a_crashed_runs_lock_is_taken_over(tmp_path, capsys, text):
    out = tmp_path / "same.pt"
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(out)], stdout=subprocess.PIPE, env=SUBPROCESS_ENV)
    try:
        assert holder.stdout.readline() == b"held\n"
        code, stderr = cli(capsys, "train", "-q", *TINY, "--max-steps", "2", "-O", str(out), text)
        assert code == 1
        assert f"{out}: is being written by another textseq train (pid {holder.pid})" in error_line(stderr)
        assert not out.exists() and not Path(last_path(str(out))).exists()
    finally:
        holder.kill()  # a crash: its lock file stays, with no lock held
        holder.wait()
    assert Path(lock_path(str(out))).exists()
    code, stderr = cli(capsys, "train", "-q", *TINY, "--max-steps", "2", "-O", str(out), text)
    assert code == 0, stderr
    assert out.exists() and not Path(lock_path(str(out))).exists()


# 2. damaged checkpoints


def damaged(source: str, folder: Path, change) -> str:
    """A copy of checkpoint ``source`` with ``change(payload)`` applied, saved as torch saves it."""
    payload = torch.load(source, weights_only=True)
    change(payload)
    path = folder / "damaged.pt"
    torch.save(payload, path)
    return str(path)


def set_in(*keys, value):
    def change(payload):
        for key in keys[:-1]:
            payload = payload[key]
        payload[keys[-1]] = value

    return change


def delete(*keys):
    def change(payload):
        for key in keys[:-1]:
            payload = payload[key]
        del payload[keys[-1]]

    return change


def nan_weights(payload):
    payload["model"]["decoder.bias"][0] = float("nan")


def one_token_fewer(payload):
    payload["codec"]["tokens"] = payload["codec"]["tokens"][:-1]


DAMAGES = {
    "no model": (delete("model"), "'model' is missing from the checkpoint"),
    "no config": (delete("config"), "'config' is missing from the checkpoint"),
    "no codec": (delete("codec"), "'codec' is missing from the checkpoint"),
    "string version": (set_in("version", value="1"), "format version is '1', not a whole number"),
    "arch a number": (set_in("arch", value=3), "'arch' in the checkpoint is a whole number, not a string"),
    "negative size": (set_in("config", "hidden_size", value=-3), "hidden_size must be a whole number >= 1, not -3"),
    "absurd size": (set_in("config", "hidden_size", value=10**9), "hidden_size must be at most 65,536"),
    "string size": (set_in("config", "layers", value="2"), "layers must be a whole number"),
    "largest size": (
        set_in("config", "hidden_size", value=65536),
        (
            "tensor 'rnns.0.weight_ih_l0' is [32, 8] in the file, but architecture 'lstm' with this config and "
            "vocabulary expects [262144, 8]"
        ),
    ),
    "wrong shape": (
        set_in("model", "rnns.0.weight_hh_l0", value=torch.zeros(32, 9)),
        ("tensor 'rnns.0.weight_hh_l0' is [32, 9] in the file, but architecture 'lstm' with this config and vocabulary expects [32, 8]"),
    ),
    "wrong dtype": (set_in("model", "decoder.bias", value=torch.zeros(15, dtype=torch.complex64)), "holds complex64 numbers"),
    "NaN weights": (nan_weights, "tensor 'decoder.bias' holds NaN or infinite values"),
    "extra tensor": (set_in("model", "surprise", value=torch.zeros(2)), "tensor 'surprise'"),
    "missing tensor": (delete("model", "decoder.bias"), "lack tensor 'decoder.bias'"),
    "codec tokens a number": (set_in("codec", "tokens", value=5), "tokenizer is damaged: its tokens are not a list of strings"),
    "codec level unknown": (set_in("codec", "level", value="bytes"), "tokenizer is damaged: level 'bytes'"),
    "codec without <unk>": (set_in("codec", "tokens", value=["a", "b"]), "do not start with <unk>"),
    "codec one token fewer": (one_token_fewer, "tensor 'encoder.weight' is [15, 8] in the file"),
    "spm model garbage": (
        lambda p: p["codec"].update(level="spm", tokens=["<unk>", "</s>"], spm_model=torch.zeros(9, dtype=torch.uint8)),
        "its sentencepiece model does not load",
    ),
}


@pytest.mark.parametrize("command", ["sample", "eval", "train --resume"])
@pytest.mark.parametrize("damage", list(DAMAGES))
def test_a_damaged_checkpoint_is_one_line_naming_the_file_and_the_fault(tmp_path, capsys, trained, text, command, damage):
    change, message = DAMAGES[damage]
    source = trained if command != "train --resume" else last_path(trained)
    path = damaged(source, tmp_path, change)
    args = {
        "sample": ["sample", path, "-n", "5"],
        "eval": ["eval", path, text],
        "train --resume": ["train", "-q", "--resume", path, "--max-steps", "5", "-O", str(tmp_path / "r.pt"), text],
    }[command]
    with bounded(seconds=60, memory=1 << 30):  # a declared size is never allocated
        code, stderr = cli(capsys, *args)
    assert code == 1
    line = error_line(stderr)
    assert line.startswith(f"textseq: error: {path}: ") and message in line, line


def torch_rng_cut(payload):
    payload["progress"]["rng"]["torch"] = payload["progress"]["rng"]["torch"][:10]


def wrong_moment(payload):
    state = payload["optimizer"]["state"]
    state[0]["exp_avg"] = torch.zeros(3, 3)


def wrong_hidden(payload):
    payload["progress"]["hidden"] = (torch.zeros(1, 4, 9), torch.zeros(1, 4, 9))


RESUME_DAMAGES = {
    "step a string": (set_in("progress", "step", value="3"), "'step' in the checkpoint's progress is a string, not a whole number"),
    "negative row": (set_in("progress", "row", value=-5), "'row' in the checkpoint's progress is -5, not >= 0"),
    "no progress": (delete("progress"), "'progress' is missing from the checkpoint"),
    "history of strings": (set_in("progress", "history", value=["x"]), "an entry of the history"),
    "hidden state of another shape": (
        wrong_hidden,
        "the carried hidden state is [1, 4, 9], but the network and the batch size make [1, 4, 8]",
    ),
    "random state cut short": (torch_rng_cut, "the random generators' state is damaged"),
    "optimizer moment of another shape": (wrong_moment, "the optimizer's 'exp_avg' for a parameter of shape [15, 8] is [3, 3]"),
    "optimizer moment gone": (delete("optimizer", "state", 0, "exp_avg_sq"), "the optimizer's state of a parameter lacks 'exp_avg_sq'"),
    "optimizer step complex": (set_in("optimizer", "state", 0, "step", value=torch.tensor(3 + 1j)), "the optimizer's 'step' is"),
    "optimizer moment complex": (
        lambda p: p["optimizer"]["state"][0].update(exp_avg=torch.zeros(15, 8, dtype=torch.complex64)),
        "the optimizer state does not fit the network (Casting complex values",
    ),
    "optimizer groups gone": (set_in("optimizer", "param_groups", value=[]), "the optimizer state does not fit the network"),
    "weights-only export": (set_in("optimizer", value=None), "weights-only export, not a resumable checkpoint"),
    "scheduler of another kind": (set_in("scheduler", value={"T_max": 5}), "the learning-rate schedule's state does not fit"),
    "batch size a string": (set_in("settings", "batch_size", value="4"), "'batch_size' in the checkpoint's settings is a string"),
    "unknown setting": (set_in("settings", "warp", value=9), "unknown training setting 'warp'"),
    "bad optimizer name": (set_in("settings", "optimizer", value="lbfgs"), "the checkpoint's training settings are wrong"),
    "seed out of range": (set_in("settings", "seed", value=1 << 70), "the checkpoint's training settings are wrong: the seed"),
}


@pytest.mark.parametrize("damage", list(RESUME_DAMAGES))
def test_a_damaged_resumable_checkpoint_is_one_line_naming_the_file_and_the_fault(tmp_path, capsys, trained, text, damage):
    change, message = RESUME_DAMAGES[damage]
    path = damaged(last_path(trained), tmp_path, change)
    code, stderr = cli(capsys, "train", "-q", "--resume", path, "--max-steps", "5", "-O", str(tmp_path / "r.pt"), text)
    assert code == 1
    line = error_line(stderr)
    assert line.startswith(f"textseq: error: {path}: ") and message in line, line
    assert not (tmp_path / "r.pt").exists()


def other_pickle_protocol(source: str, folder: Path) -> str:
    """The checkpoint with its pickle's protocol byte changed, which torch.load warns about."""
    data = Path(source).read_bytes()
    at = data.index(b"\x80\x02", data.index(b"data.pkl"))
    path = folder / "protocol.pt"
    path.write_bytes(data[:at] + b"\x80\x0a" + data[at + 2 :])
    return str(path)


def huge_weights(source: str, folder: Path) -> str:
    """Finite weights whose sums overflow float32, which numpy warns about (the sampler adds the
    two biases of a layer together)."""

    def change(payload):
        for name in ("rnns.0.bias_ih_l0", "rnns.0.bias_hh_l0", "rnns.0.weight_hh_l0"):
            payload["model"][name].fill_(3e38)

    return damaged(source, folder, change)


@pytest.mark.parametrize("command", ["sample", "eval", "sample --beam 2"])
@pytest.mark.parametrize("make", [other_pickle_protocol, huge_weights])
def test_a_checkpoint_that_makes_a_library_warn_prints_no_warning(tmp_path, capsys, trained, text, command, make):
    path = make(trained, tmp_path)
    args = {"sample": ["sample", path, "-n", "5"], "eval": ["eval", path, text], "sample --beam 2": ["sample", path, "--beam", "2"]}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        code, stderr = cli(capsys, *args[command])
    assert code in (0, 1) and not caught, [str(w.message) for w in caught]
    assert len(stderr.strip().splitlines()) == code  # the error's line, or nothing


# 3. an interrupt while numba compiles the long-sample loop

INTERRUPTED_COMPILE = """
import os, sys
from numba.core import codegen

signum = int(sys.argv[1])
compiled = codegen.JITCodeLibrary._object_compiled_hook.__func__
sent = []

def hook(cls, ll_module, buf):
    # LLVM calls this back from inside the compile: a signal now is handled in a ctypes callback
    if not sent:
        sent.append(signum)
        os.kill(os.getpid(), signum)
    return compiled(cls, ll_module, buf)

codegen.JITCodeLibrary._object_compiled_hook = classmethod(hook)
sys.argv = ["textseq", *sys.argv[2:]]
from textseq.entry import main
main()
"""


@pytest.mark.parametrize("signum, status", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_an_interrupt_while_numba_compiles_ends_the_sample_quietly(tmp_path, trained, signum, status):
    """The signal comes while LLVM emits the compiled loop, from a callback of LLVM's into Python
    where an exception is printed as "Exception ignored" and dropped: before the fix the sample
    went on to the end, exit 0."""
    pytest.importorskip("numba")
    env = {**SUBPROCESS_ENV, "NUMBA_CACHE_DIR": str(tmp_path / "numba-cache")}  # empty: it really compiles
    done = subprocess.run(
        [sys.executable, "-c", INTERRUPTED_COMPILE, str(int(signum)), "sample", trained, "-n", "20000", "--seed", "1"],
        capture_output=True,
        env=env,
        timeout=300,
        check=False,
    )
    assert done.returncode == status, done.stderr.decode()
    assert done.stderr.decode().strip() == ""  # no "Exception ignored ... KeyboardInterrupt", no traceback
    assert len(done.stdout) < 20000  # it did not go on sampling


# 4. devices this machine lacks; a run that diverges


def absent_devices() -> list[str]:
    devices = ["bogus", "cuda:x", f"cuda:{torch.cuda.device_count() + 7}"]
    if not torch.cuda.is_available():
        devices += ["cuda", "cuda:0"]
    if not (getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available()):
        devices.append("mps")
    return devices


@pytest.mark.parametrize("device", absent_devices())
def test_a_device_this_machine_lacks_is_a_usage_error(tmp_path, capsys, trained, text, device):
    for args in (
        ["train", "-q", *TINY, "--max-steps", "2", "-O", str(tmp_path / "d.pt"), text],
        ["sample", trained, "-n", "3"],
        ["eval", trained, text],
    ):
        code, stderr = cli(capsys, *args, "--device", device)
        assert code == 2, (args, stderr)
        assert "--device" in error_line(stderr) and device in error_line(stderr)
    assert not (tmp_path / "d.pt").exists()


def test_a_diverging_run_stops_with_one_line_and_keeps_no_checkpoint_of_it(tmp_path, capsys, text):
    out = tmp_path / "x.pt"
    code, stderr = cli(capsys, "train", "-q", *TINY, "--epochs", "2", "--optimizer", "sgd", "--lr", "1e30", "-O", str(out), text)
    assert code == 1
    assert "training diverged at step" in error_line(stderr)
    assert not out.exists() and not Path(last_path(str(out))).exists()


def test_no_checkpoint_holds_weights_that_are_not_finite(tmp_path, capsys, monkeypatch, text):
    """A step whose loss was finite can still leave the weights at inf (the loss is computed before
    the update): the checkpoint that would follow is refused."""
    from textseq.neural import train as training

    def blow_up(model, clip, mode):
        for parameter in model.parameters():
            parameter.grad.fill_(float("inf"))

    monkeypatch.setattr(training, "clip_gradients", blow_up)
    out = tmp_path / "x.pt"
    code, stderr = cli(capsys, "train", "-q", *TINY, "--max-steps", "1", "-O", str(out), text)
    assert code == 1
    assert "holds values that are not finite" in error_line(stderr)
    assert not out.exists() and not Path(last_path(str(out))).exists()


@pytest.mark.parametrize("option", [["--lr", "1e300"], ["--weight-decay", "1e39"], ["--lr", "1e20", "--weight-decay", "1e20"]])
def test_a_learning_rate_beyond_float32_is_a_usage_error(tmp_path, capsys, text, option):
    code, stderr = cli(capsys, "train", "-q", *TINY, "--max-steps", "1", *option, "-O", str(tmp_path / "x.pt"), text)
    assert code == 2
    assert "at most 3.403e+38" in error_line(stderr)


# 5. SIGTERM during training


def step_losses(path: Path) -> dict[int, float]:
    return {entry["step"]: entry["loss"] for entry in map(json.loads, path.read_text().splitlines()) if "loss" in entry}


def test_sigterm_during_training_leaves_an_exact_resumable_checkpoint(tmp_path, capsys, text):
    common = ["train", *TINY, "--epochs", "100000", "--threads", "1", "--seed", "4"]
    reference = tmp_path / "reference.jsonl"
    out = tmp_path / "t.pt"
    log = tmp_path / "t.jsonl"
    process = subprocess.Popen(
        [*textseq_command(), *common, "--time-budget", "10m", "--log", str(log), "-O", str(out), text],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=SUBPROCESS_ENV,
    )
    deadline = time.monotonic() + 120
    while (not log.exists() or log.read_text().count("\n") < 3) and time.monotonic() < deadline:
        time.sleep(0.05)
    busy, stderr = cli(capsys, *common, "--max-steps", "1", "-O", str(out), text)  # a second run on the same -O meanwhile
    assert busy == 1 and f"another textseq train (pid {process.pid})" in error_line(stderr)
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 143, stderr.decode()
    assert "Traceback" not in stderr.decode() and "--resume" in stderr.decode()
    saved = torch.load(last_path(str(out)), weights_only=True)["progress"]["step"]
    assert saved == len(step_losses(log)) >= 3  # stopped at the end of a step: every logged step is in it
    assert not Path(lock_path(str(out))).exists()
    steps = saved + 4
    code, stderr = cli(capsys, *common, "--max-steps", str(steps), "--log", str(reference), "-O", str(tmp_path / "ref.pt"), text)
    assert code == 0, stderr
    code, stderr = cli(
        capsys,
        "train",
        "--resume",
        last_path(str(out)),
        "--max-steps",
        str(steps),
        "--threads",
        "1",
        "--log",
        str(log),
        "-O",
        str(out),
        text,
    )
    assert code == 0, stderr
    resumed, expected = step_losses(log), step_losses(reference)
    assert sorted(resumed) == list(range(1, steps + 1))
    assert [resumed[s] for s in range(saved + 1, steps + 1)] == pytest.approx([expected[s] for s in range(saved + 1, steps + 1)], rel=1e-6)


# 6. threads


def test_threads_sets_torchs_thread_count_for_train_sample_and_eval(tmp_path, capsys, trained, text):
    for threads in ("1", "2"):
        for args in (
            ["eval", trained, text],
            ["sample", trained, "-n", "3"],
            ["train", "-q", *TINY, "--max-steps", "1", "-O", str(tmp_path / f"t{threads}.pt"), text],
        ):
            torch.set_num_threads(5)
            code, stderr = cli(capsys, *args, "--threads", threads)
            assert code == 0, stderr
            assert torch.get_num_threads() == int(threads), args


def busy_elsewhere(monkeypatch, cores_busy: float, cores: int = 6) -> None:
    """/proc's CPU times as if other processes kept ``cores_busy`` of ``cores`` busy (and this one half a core)."""
    before, after = CpuTimes(0, 0, 0), CpuTimes(100 * cores, int(100 * cores_busy) + 50, 50)
    samples = itertools.cycle([before, after])
    monkeypatch.setattr(cpu_load, "cpu_times", lambda cores=None: next(samples))
    monkeypatch.setattr(cpu_load.time, "sleep", lambda seconds: None)


def test_the_default_thread_count_is_the_idle_cores(tmp_path, capsys, monkeypatch, trained, text):
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(6)), raising=False)
    monkeypatch.setattr(os, "getloadavg", lambda: (5.0, 5.0, 5.0))  # a minute's history, not what is busy now
    for load, idle in ((4.2, 2), (0.0, 6), (9.0, 1)):
        busy_elsewhere(monkeypatch, min(load, 6))
        for args in (
            ["eval", trained, text],
            ["sample", trained, "-n", "3"],
            ["train", "-q", *TINY, "--max-steps", "1", "-O", str(tmp_path / "t.pt"), text],
        ):
            code, stderr = cli(capsys, *args)
            assert code == 0, stderr
            assert torch.get_num_threads() == idle, (args, load)
    monkeypatch.setenv("OMP_NUM_THREADS", "3")  # what the environment asks for explicitly comes first
    assert cli(capsys, "eval", trained, text)[0] == 0 and torch.get_num_threads() == 3


def test_a_long_run_follows_the_idle_cores_unless_a_count_was_asked_for(tmp_path, capsys, monkeypatch, text):
    """The follower's looks (one core idle, then two) set torch's threads and are said once each
    change; with --threads or OMP_NUM_THREADS the count stays as asked."""
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    looks = iter([None, 1, None, 1, 2])
    monkeypatch.setattr(cpu_load.IdleCoreFollower, "poll", lambda self: next(looks, None))
    code, stderr = cli(capsys, "train", *TINY, "--threads", "3", "--max-steps", "6", "-O", str(tmp_path / "t.pt"), text)
    assert code == 0, stderr
    assert "idle now" not in stderr and torch.get_num_threads() == 3
    code, stderr = cli(capsys, "train", *TINY, "--max-steps", "6", "-O", str(tmp_path / "u.pt"), text)
    assert code == 0, stderr
    assert stderr.count("1 core idle now: training on 1 thread") == 1
    assert stderr.count("2 cores idle now: training on 2 threads") == 1
    assert torch.get_num_threads() == 2


def test_eval_bf16_without_native_bfloat16_is_one_line(capsys, monkeypatch, trained, text):
    monkeypatch.setattr(torch.ops.mkldnn, "_is_mkldnn_bf16_supported", lambda: False, raising=False)
    code, stderr = cli(capsys, "eval", trained, text, "--bf16")
    assert code == 2
    assert "no native bfloat16 arithmetic here" in error_line(stderr)


# 7. --spm that is not a model


def test_spm_that_is_not_a_model_names_the_file(tmp_path, capsys, text):
    pytest.importorskip("sentencepiece")
    bogus = tmp_path / "notamodel"
    bogus.write_bytes(b"this is not a sentencepiece model\n")
    code, stderr = cli(capsys, "train", "-q", "--level", "spm", "--spm", str(bogus), "-O", str(tmp_path / "s.pt"), text)
    assert code == 1
    line = error_line(stderr)
    assert line.startswith(f"textseq: error: {bogus}: ") and "<bytes>" not in line


def test_eval_of_a_checkpoint_on_empty_text_reports_undefined_figures_as_an_ngram_model_does(tmp_path, trained):
    empty = tmp_path / "empty.txt"
    empty.write_text("")
    code, out, err = helpers.cli("eval", "--json", trained, str(empty))
    assert code == 0, err
    report = json.loads(out, parse_constant=lambda name: pytest.fail(f"{name} is not JSON"))
    assert report["tokens"] == 0
    assert report["perplexity"] is None and report["bits_per_character"] is None


def test_the_log_of_a_diverging_run_is_strict_json(tmp_path, capsys, monkeypatch, text):
    from textseq.neural import train as training

    def blow_up(model, clip, mode):
        for parameter in model.parameters():
            parameter.grad.fill_(float("inf"))

    monkeypatch.setattr(training, "clip_gradients", blow_up)
    log = tmp_path / "log.jsonl"
    code, _stderr = cli(capsys, "train", "-q", *TINY, "--max-steps", "3", "--log", str(log), "-O", str(tmp_path / "x.pt"), text)
    assert code == 1
    records = [json.loads(line, parse_constant=lambda name: pytest.fail(f"{name} is not JSON")) for line in log.read_text().splitlines()]
    assert records and records[-1]["loss"] is None
