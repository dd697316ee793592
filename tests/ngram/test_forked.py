"""Reading an ARPA file in forked workers gives the model that reading it here gives.

The forked path runs only in a process without torch and without other threads
(:func:`textseq.forked.forking_is_safe`), so these tests run it in a fresh interpreter."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from textseq.forked import task_map
from textseq.ngram.arpa import write_arpa
from textseq.ngram.corpus import corpus_from_blocks
from textseq.ngram.counts import count_ngrams
from textseq.ngram.smoothers import ModifiedKneserNey

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="textseq forks workers on Linux only")

READ_BOTH_WAYS = textwrap.dedent(
    """
    import json, sys
    import numpy as np
    import multiprocessing
    import textseq.ngram.arpa as arpa
    from textseq.errors import InputError
    from textseq.ngram.files import load_model

    contexts = []
    real_context = multiprocessing.get_context
    multiprocessing.get_context = lambda method: contexts.append(method) or real_context(method)
    arpa._FORK_AT_BYTES = 0
    arpa._BYTES_PER_CHUNK = 200

    def read(workers):
        arpa.idle_workers = lambda: workers
        try:
            model = load_model(sys.argv[1])
        except InputError as exc:
            return str(exc)
        return [[t.index(model.vocab_size)[0].tolist(), t.logprob.tolist(), t.backoff.tolist()] for t in model.orders[1:]]

    here = read(1)
    forked = read(2)
    print(json.dumps({"forked": contexts, "same": here == forked, "result": forked if isinstance(forked, str) else len(forked)}))
    """
)


def _read_both_ways(path) -> dict:
    done = subprocess.run([sys.executable, "-c", READ_BOTH_WAYS, str(path)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    return json.loads(done.stdout)


class _Sink:
    def __init__(self) -> None:
        self.parts: list[str] = []

    def write(self, text: str) -> None:
        self.parts.append(text)


def _write(path, order: int = 4) -> str:
    rng = np.random.default_rng(3)
    words = [f"w{i}" for i in range(300)]
    weights = 1.0 / np.arange(1, 301)
    lines = [" ".join(rng.choice(words, size=rng.integers(1, 15), p=weights / weights.sum())) for _ in range(800)]
    corpus = corpus_from_blocks(["\n".join(lines) + "\n"])
    model = ModifiedKneserNey().estimate(count_ngrams(corpus, order))
    model.words = corpus.words
    sink = _Sink()
    write_arpa(model, sink)
    text = "".join(sink.parts)
    path.write_text(text, encoding="utf-8")
    return text


def test_an_arpa_file_read_by_forked_workers_gives_the_same_model(tmp_path):
    path = tmp_path / "m.arpa"
    _write(path)
    found = _read_both_ways(path)
    assert found["forked"] == ["fork"]  # the workers did run
    assert found["same"] and found["result"] == 3


def test_what_a_forked_worker_finds_wrong_is_named_as_the_careful_reader_names_it(tmp_path):
    path = tmp_path / "m.arpa"
    text = _write(path)
    lines = text.split("\n")
    at = next(i for i, line in enumerate(lines) if line == "\\3-grams:") + 40
    fields = lines[at].split("\t")
    fields[1] = fields[1].rsplit(" ", 1)[0] + " zebra"
    lines[at] = "\t".join(fields)
    path.write_text("\n".join(lines), encoding="utf-8")
    found = _read_both_ways(path)
    assert found["forked"] == ["fork"] and found["same"]
    assert f":{at + 1}:" in found["result"] and "'zebra', which is not a unigram" in found["result"]


WRITE_BOTH_WAYS = textwrap.dedent(
    """
    import io, json, os, sys
    import multiprocessing
    import textseq.ngram.arpa as arpa
    from textseq.ngram.files import load_model

    contexts = []
    real_context = multiprocessing.get_context
    multiprocessing.get_context = lambda method: contexts.append(method) or real_context(method)
    model = load_model(sys.argv[1])
    arpa._FORK_AT_ROWS = 0
    arpa._ROWS_PER_CHUNK = 50
    texts = []
    for workers in (1, 2):
        arpa.idle_workers = lambda: workers
        out = io.StringIO()
        arpa.write_arpa(model, out)
        texts.append(out.getvalue())
    class FullDisk:
        written = 0

        def write(self, text):
            self.written += 1
            if self.written > 20:
                raise OSError(28, "No space left on device")

    try:
        arpa.write_arpa(model, FullDisk())
        full = "written"
    except OSError as exc:
        full = exc.strerror
    left = open(f"/proc/{os.getpid()}/task/{os.getpid()}/children").read().split()
    print(json.dumps({"forked": sorted(set(contexts)), "same": texts[0] == texts[1], "lines": texts[0].count(chr(10)), "full": full, "left": left}))
    """
)


def test_an_arpa_file_written_by_forked_workers_is_the_same_file_and_a_full_disk_ends_them(tmp_path):
    path = tmp_path / "m.arpa"
    text = _write(path)
    done = subprocess.run([sys.executable, "-c", WRITE_BOTH_WAYS, str(path)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stderr == "", done.stderr
    found = json.loads(done.stdout)
    assert found["forked"] == ["fork"] and found["same"]
    assert found["lines"] == text.count("\n")
    assert found["full"] == "No space left on device" and found["left"] == []  # the error gets through; no worker is left


def test_the_task_map_runs_here_where_forking_is_not_safe():
    import threading

    stop = threading.Event()
    other = threading.Thread(target=stop.wait)
    other.start()
    try:
        with task_map(4, state="x") as run:
            assert list(run(str.upper, ["a", "b"])) == ["A", "B"]
    finally:
        stop.set()
        other.join()


INTERRUPTED_WHILE_FORKED = textwrap.dedent(
    """
    import sys, time
    import textseq.ngram.arpa as arpa
    from textseq.cli import main

    arpa._FORK_AT_BYTES = 0
    arpa._BYTES_PER_CHUNK = 200
    arpa.idle_workers = lambda: 2
    parse = arpa._parse_chunk

    def slow(task):
        time.sleep(0.05)
        return parse(task)

    arpa._parse_chunk = slow
    sys.argv = ["textseq", "eval", sys.argv[1], sys.argv[2]]
    main()
    """
)


@pytest.mark.parametrize("signal_name,code", [("SIGINT", 130), ("SIGTERM", 143)])
def test_a_signal_while_workers_read_ends_every_process_cleanly(tmp_path, signal_name, code):
    import os
    import signal
    import time

    path = tmp_path / "m.arpa"
    _write(path)
    text = tmp_path / "test.tok"
    text.write_text("w1 w2 w3\n", encoding="utf-8")
    process = subprocess.Popen(
        [sys.executable, "-c", INTERRUPTED_WHILE_FORKED, str(path), str(text)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    group = process.pid
    deadline = time.monotonic() + 30
    while len(_children(process.pid)) < 2:  # the workers are up
        assert process.poll() is None and time.monotonic() < deadline, process.stderr.read() if process.stderr else ""
        time.sleep(0.05)
    if signal_name == "SIGINT":
        os.killpg(group, signal.SIGINT)  # Ctrl-C reaches the whole foreground group
    else:
        os.kill(process.pid, signal.SIGTERM)  # kill PID: the parent alone
    out, err = process.communicate(timeout=30)
    assert process.returncode == code, err
    assert b"Traceback" not in err and out == b""
    time.sleep(0.2)
    with pytest.raises(ProcessLookupError):
        os.killpg(group, 0)  # no worker is left behind


def _children(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as handle:
            return [int(child) for child in handle.read().split()]
    except OSError:
        return []
