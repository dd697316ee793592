"""`textseq classify train | predict | test` from the command line: what the user sees on stdout,
on stderr and in the exit code, on tiny labelled files whose words decide the label."""

from __future__ import annotations

import json
import os
import queue
import random
import re
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest

from helpers import SUBPROCESS_ENV, one_error, run_in_process, textseq_command

TOPICS = {
    "sport": ["goal", "match", "team", "score"],
    "food": ["bread", "soup", "cheese", "salad"],
    "tech": ["laptop", "code", "server", "chip"],
}
FILLER = ["the", "a", "of", "today", "very", "and", "we", "saw"]
LINEAR = ["--arch", "linear", "-c", "dim=8", "--epochs", "3", "-t", "whitespace", "--threads", "1"]
TRAINED = [*LINEAR, "--epochs", "10", "--lr", "0.5"]
"""A linear model that learns the topics (the later --epochs wins), and one that barely starts to."""
NETWORK = ["--arch", "lstm", "-c", "embedding_size=8", "-c", "hidden_size=8", "--epochs", "2", "--batch-size", "4", "-t", "whitespace"]
PROBS = re.compile(r"^__label__(\w+) ([0-9.e+-]+) __label__(\w+) ([0-9.e+-]+)$")


def topic_lines(per_label: int, seed: int) -> list[str]:
    """``per_label`` lines of each topic, in turn: two of its words among three fillers."""
    rng = random.Random(seed)
    lines = []
    for _ in range(per_label):
        for label, words in TOPICS.items():
            tokens = [rng.choice(words) for _ in range(2)] + [rng.choice(FILLER) for _ in range(3)]
            rng.shuffle(tokens)
            lines.append(f"__label__{label} " + " ".join(tokens))
    return lines


def write(path: Path, lines: list[str]) -> Path:
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def text_of(line: str) -> str:
    return " ".join(token for token in line.split() if not token.startswith("__label__"))


def gold_of(line: str) -> str:
    return line.split()[0].removeprefix("__label__")


def run(*args: str | Path, stdin: bytes | str = b""):
    data = stdin.encode("utf-8") if isinstance(stdin, str) else stdin
    return run_in_process([str(arg) for arg in args], data)


def train(*args: str | Path):
    result = run("classify", "train", *args)
    assert result.returncode == 0, result.stderr
    assert result.stdout == b""
    return result


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("topics")
    write(folder / "train.txt", topic_lines(15, seed=0))
    write(folder / "valid.txt", topic_lines(5, seed=1))
    write(folder / "test.txt", topic_lines(5, seed=2))
    return folder


@pytest.fixture(scope="module")
def model(data) -> Path:
    """A linear model that gets the topics right."""
    path = data / "topics.tsc"
    trained = train(data / "train.txt", "--valid", data / "valid.txt", *TRAINED, "-O", path)
    assert "holding out" not in trained.stderr
    return path


@pytest.fixture(scope="module")
def weak(data) -> Path:
    """A linear model three short epochs in: unsure (probabilities near a third) and sometimes wrong."""
    path = data / "weak.tsc"
    train(data / "train.txt", "--valid", data / "valid.txt", *LINEAR, "--seed", "3", "-O", path)
    return path


def test_train_predict_test_round_trip(data, model):
    assert model.stat().st_size > 0
    test = (data / "test.txt").read_text().splitlines()
    predicted = run("classify", "predict", model, data / "test.txt")
    assert predicted.returncode == 0, predicted.stderr
    assert predicted.text.splitlines() == [f"__label__{gold_of(line)}" for line in test]
    unlabelled = run("classify", "predict", model, stdin="\n".join(text_of(line) for line in test) + "\n")
    assert unlabelled.stdout == predicted.stdout  # the labels on the lines play no part
    report = run("classify", "test", model, data / "test.txt")
    assert report.returncode == 0, report.stderr
    assert report.text.splitlines()[:3] == ["N\t15", "P@1\t1.000", "R@1\t1.000"]


def test_predict_answers_each_line_in_order_and_a_blank_line_with_an_empty_one(model):
    lines = ["goal team the", "", "bread soup", "  ", "code chip a", "__label__tech goal match", "", "salad"]
    result = run("classify", "predict", model, stdin="\n".join(lines) + "\n")
    assert result.returncode == 0, result.stderr
    assert result.text.split("\n") == [
        "__label__sport",
        "",
        "__label__food",
        "",
        "__label__tech",
        "__label__sport",
        "",
        "__label__food",
        "",
    ]


def test_predict_reads_standard_input_with_a_dash_or_no_file(data, model):
    path = data / "test.txt"
    from_file = run("classify", "predict", model, path, "--probs").stdout
    assert from_file.count(b"\n") == 15
    assert run("classify", "predict", model, "-", "--probs", stdin=path.read_bytes()).stdout == from_file
    assert run("classify", "predict", model, "--probs", stdin=path.read_bytes()).stdout == from_file


def test_probs_print_each_label_then_its_probability_most_probable_first(data, weak):
    result = run("classify", "predict", weak, data / "test.txt", "--probs", "-k", "2")
    assert result.returncode == 0, result.stderr
    lines = result.text.splitlines()
    assert len(lines) == 15
    for line in lines:
        match = PROBS.match(line)
        assert match, line
        first, p, second, q = match.groups()
        assert first != second and {first, second} <= set(TOPICS)
        assert 1 >= float(p) >= float(q) > 0 and float(p) + float(q) <= 1 + 1e-6
    everything = run("classify", "predict", weak, data / "test.txt", "--probs", "-k", "3").text.splitlines()
    for line in everything:
        assert abs(sum(float(p) for p in line.split()[1::2]) - 1) < 1e-4  # softmax: the three add up to one


def test_k_gives_that_many_labels_and_threshold_drops_the_improbable(data, weak):
    path = data / "test.txt"
    assert [len(line.split()) for line in run("classify", "predict", weak, path, "-k", "2").text.splitlines()] == [2] * 15
    full = [line.split() for line in run("classify", "predict", weak, path, "-k", "3", "--probs").text.splitlines()]
    values = sorted({float(p) for line in full for p in line[1::2]})
    threshold = round((values[len(values) // 2 - 1] + values[len(values) // 2]) / 2, 8)  # between two printed values
    kept = run("classify", "predict", weak, path, "-k", "3", "--probs", "--threshold", f"{threshold}")
    assert kept.returncode == 0, kept.stderr
    expected = [" ".join(f"{label} {p}" for label, p in zip(line[::2], line[1::2]) if float(p) >= threshold) for line in full]
    assert kept.text.splitlines() == expected
    counts = [len(line.split()) // 2 for line in expected]
    assert min(counts) < 3 and max(counts) > 0


def test_json_is_one_object_a_line(data, weak):
    lines = (data / "test.txt").read_text().splitlines()[:4]
    result = run("classify", "predict", weak, "--json", "-k", "2", stdin="\n".join([*lines[:2], "", *lines[2:]]) + "\n")
    assert result.returncode == 0, result.stderr
    answers = [json.loads(line) for line in result.text.splitlines()]
    assert len(answers) == 5
    assert answers[2] == {"labels": [], "probabilities": []}
    plain = run("classify", "predict", weak, "-k", "2", stdin="\n".join(lines) + "\n").text.splitlines()
    for answer, labels in zip([*answers[:2], *answers[3:]], plain):
        assert set(answer) == {"labels", "probabilities"}
        assert ["__label__" + name for name in answer["labels"]] == labels.split()
        assert len(answer["probabilities"]) == 2 and all(0 < p <= 1 for p in answer["probabilities"])


def test_test_prints_fasttexts_lines_then_the_report(data, weak):
    path = data / "test.txt"
    result = run("classify", "test", weak, path)
    assert result.returncode == 0, result.stderr
    lines = result.text.splitlines()
    assert lines[0] == "N\t15"
    assert re.fullmatch(r"P@1\t[01]\.\d{3}", lines[1]) and re.fullmatch(r"R@1\t[01]\.\d{3}", lines[2])
    gold = [gold_of(line) for line in path.read_text().splitlines()]
    predicted = [line.removeprefix("__label__") for line in run("classify", "predict", weak, path).text.splitlines()]
    right = sum(g == p for g, p in zip(gold, predicted))
    assert right < 15  # the weak model errs, so that the confusions show
    assert lines[1] == f"P@1\t{right / 15:.3f}"
    text = result.text
    for heading in ("accuracy", "micro F1", "macro F1", "ECE"):
        assert re.search(rf"^{heading} +\d\.\d{{4}}", text, re.MULTILINE), heading
    header = next(i for i, line in enumerate(lines) if line.split() == ["label", "precision", "recall", "F1", "support"])
    rows = {line.split()[0]: line.split()[1:] for line in lines[header + 1 : header + 4]}
    assert set(rows) == set(TOPICS) and all(row[-1] == "5" for row in rows.values())
    assert "most confused" in text
    confusions = re.findall(r"^  (\w+) -> (\w+): (\d+)$", text, re.MULTILINE)
    assert sum(int(count) for _, _, count in confusions) == 15 - right
    assert all(g != p for g, p, _ in confusions)


def test_test_json_has_the_documented_keys_and_k_names_them(data, weak):
    result = run("classify", "test", weak, data / "test.txt", "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert set(report) == {
        "examples",
        "precision_at_1",
        "recall_at_1",
        "accuracy",
        "macro_f1",
        "micro_f1",
        "ece",
        "labels",
        "confusions",
    }
    assert report["examples"] == 15
    assert set(report["labels"]) == set(TOPICS)
    assert all(set(scores) == {"precision", "recall", "f1", "support"} for scores in report["labels"].values())
    assert report["confusions"] and all({"gold", "predicted", "count"} <= set(c) for c in report["confusions"])
    at_2 = json.loads(run("classify", "test", weak, data / "test.txt", "--json", "-k", "2").stdout)
    assert "precision_at_2" in at_2 and "recall_at_2" in at_2 and "precision_at_1" not in at_2
    assert at_2["recall_at_2"] >= report["recall_at_1"]


def test_test_plots_the_confusion_matrix(data, weak, tmp_path):
    pytest.importorskip("matplotlib")
    image = tmp_path / "confusion.png"
    result = run("classify", "test", weak, data / "test.txt", "--plot", image)
    assert result.returncode == 0, result.stderr
    assert result.text.startswith("N\t15\n")
    assert image.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_without_valid_a_stratified_tenth_is_held_out_and_said_so(data, tmp_path):
    held = train(data / "train.txt", *LINEAR, "-O", tmp_path / "m.tsc")
    assert re.search(r"holding out \d+ of 45 examples \(10%, stratified by label\)", held.stderr), held.stderr
    given = train(data / "train.txt", "--valid", data / "valid.txt", *LINEAR, "-O", tmp_path / "n.tsc")
    assert "holding out" not in given.stderr


def test_tsv_format_end_to_end(data, tmp_path):
    def tsv(name: str) -> Path:
        lines = (data / name).read_text().splitlines()
        return write(tmp_path / name.replace(".txt", ".tsv"), [f"{gold_of(line)}\t{text_of(line)}" for line in lines])

    model = tmp_path / "tsv.tsc"
    train(tsv("train.txt"), "--format", "tsv", "--valid", tsv("valid.txt"), *TRAINED, "-O", model)
    report = run("classify", "test", model, tsv("test.txt"))
    assert report.returncode == 0, report.stderr
    assert report.text.splitlines()[:2] == ["N\t15", "P@1\t1.000"]
    predicted = run("classify", "predict", model, stdin="goal team\nsport\tbread soup\n")
    assert predicted.text == "sport\nfood\n"  # a tsv model answers with bare labels, as its data holds them


def test_label_prefix_end_to_end(data, tmp_path):
    def hashed(name: str) -> Path:
        return write(tmp_path / name, [line.replace("__label__", "#") for line in (data / name).read_text().splitlines()])

    model = tmp_path / "hash.tsc"
    train(hashed("train.txt"), "--label-prefix", "#", "--valid", hashed("valid.txt"), *TRAINED, "-O", model)
    assert run("classify", "test", model, hashed("test.txt")).text.splitlines()[:2] == ["N\t15", "P@1\t1.000"]
    assert re.fullmatch(
        r"#sport [0-9.e+-]+ #\w+ [0-9.e+-]+\n", run("classify", "predict", model, "--probs", "-k", "2", stdin="goal team\n").text
    )
    wrong = run("classify", "train", data / "train.txt", "--label-prefix", "#", *LINEAR, "-O", tmp_path / "x.tsc")
    assert wrong.returncode == 1
    assert "train.txt:1: no label" in one_error(wrong.stderr)


def test_predict_into_head_ends_quietly(model, tmp_path, shell_env):
    many = write(tmp_path / "many.txt", ["goal team bread", "code chip"] * 50_000)
    done = subprocess.run(
        f"textseq classify predict {model} {many} | head -1; echo ${{PIPESTATUS[0]}}",
        shell=True,
        capture_output=True,
        env={**shell_env, "OMP_NUM_THREADS": "1"},
        executable="/bin/bash",
        timeout=120,
    )
    assert done.stderr == b"", done.stderr
    assert done.stdout.decode().splitlines()[0] == "__label__sport"
    assert done.stdout.decode().splitlines()[-1] in ("0", "141")


def test_predict_answers_a_line_before_the_next_is_written(model):
    process = subprocess.Popen(
        [*textseq_command(), "classify", "predict", str(model)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=SUBPROCESS_ENV,
    )
    assert process.stdin is not None and process.stdout is not None and process.stderr is not None
    stdin, stdout = process.stdin, process.stdout
    answers: queue.Queue[bytes] = queue.Queue()
    reader = threading.Thread(target=lambda: [answers.put(line) for line in stdout], daemon=True)
    reader.start()
    try:
        stdin.write(b"goal team the\n")
        stdin.flush()
        assert answers.get(timeout=40) == b"__label__sport\n"  # start-up included
        stdin.write(b"bread soup\n")
        stdin.flush()
        assert answers.get(timeout=20) == b"__label__food\n"
        stdin.close()
        assert process.wait(timeout=30) == 0
        reader.join(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert answers.empty()
    assert b"Traceback" not in process.stderr.read()


def test_one_thread_and_a_seed_train_the_same_model_twice(data, tmp_path):
    models = [tmp_path / f"{name}.tsc" for name in ("a", "b", "c")]
    for path, seed in zip(models, ("3", "3", "4")):
        train(data / "train.txt", *LINEAR, "--seed", seed, "-O", path)
    answers = [run("classify", "predict", path, data / "test.txt", "--probs", "-k", "3").stdout for path in models]
    assert answers[0] == answers[1]
    assert models[0].read_bytes() == models[1].read_bytes()  # no time stamp in the file
    assert answers[2] != answers[0]  # the seed matters, so the sameness above means something


# Bad input: one line on stderr naming the problem (and the file and line), the right exit code.


def test_a_training_line_without_a_label_names_its_file_and_line(tmp_path):
    path = write(tmp_path / "t.txt", ["__label__a x y", "no label here", "__label__b z"])
    result = run("classify", "train", path, *LINEAR, "-O", tmp_path / "m.tsc")
    assert result.returncode == 1
    assert f"{path}:2: no label" in one_error(result.stderr)
    assert not (tmp_path / "m.tsc").exists()


def test_a_test_label_the_model_does_not_know_names_its_file_and_line(model, tmp_path):
    path = write(tmp_path / "t.txt", ["__label__sport goal", "__label__weather rain"])
    result = run("classify", "test", model, path)
    assert result.returncode == 1
    assert result.stdout == b""
    assert f"{path}:2: unknown label 'weather'" in one_error(result.stderr)


@pytest.mark.parametrize("content", ["", "\n\n  \n"], ids=["empty", "blank"])
def test_an_empty_training_file_is_one_error(tmp_path, content):
    path = tmp_path / "t.txt"
    path.write_text(content)
    result = run("classify", "train", path, *LINEAR, "-O", tmp_path / "m.tsc")
    assert result.returncode == 1
    assert "no examples to train on" in one_error(result.stderr)


def test_a_label_with_no_name_is_one_error(tmp_path):
    path = write(tmp_path / "t.txt", ["__label__a x y", "__label__ z"])
    result = run("classify", "train", path, *LINEAR, "-O", tmp_path / "m.tsc")
    assert result.returncode == 1
    assert f"{path}:2: an empty label" in one_error(result.stderr)


def test_a_text_file_is_not_a_model(data, tmp_path):
    path = tmp_path / "notes.tsc"
    path.write_text("hello\n")
    for command in (["predict", path], ["test", path, data / "test.txt"]):
        result = run("classify", *command, stdin=b"goal\n")
        assert result.returncode == 1
        assert f"{path}: not a textseq classifier" in one_error(result.stderr)


class _Hostile:
    """Unpickling this opens (and so creates) the marker file: a pickle that runs code."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (open, (str(self.marker), "w"))


def test_a_pickle_is_refused_not_loaded(tmp_path):
    torch = pytest.importorskip("torch")
    marker = tmp_path / "ran"
    path = tmp_path / "model.pt"
    torch.save({"format": "textseq-classifier", "weights": torch.zeros(3), "hook": _Hostile(marker)}, path)
    assert not marker.exists()
    result = run("classify", "predict", path, stdin=b"goal\n")
    assert result.returncode == 1
    assert f"{path}: not a textseq classifier" in one_error(result.stderr)
    assert not marker.exists()


def test_a_missing_model_is_one_error(tmp_path):
    path = tmp_path / "nosuch.tsc"
    result = run("classify", "predict", path, stdin=b"goal\n")
    assert result.returncode == 1
    assert str(path) in one_error(result.stderr)


def test_an_unknown_arch_is_a_usage_error(data, tmp_path):
    result = run("classify", "train", data / "train.txt", "--arch", "nosuch", "-O", tmp_path / "m.tsc")
    assert result.returncode == 2
    line = one_error(result.stderr)
    assert "unknown classifier 'nosuch'" in line and "linear" in line


@pytest.mark.parametrize(
    "option,named",
    [
        ("bogus=3", "bogus"),
        ("dim=abc", "dim"),
        pytest.param(
            "dim",
            "--config",
        ),
    ],
)
def test_a_bad_config_option_is_a_usage_error_naming_it(data, tmp_path, option, named):
    result = run("classify", "train", data / "train.txt", *LINEAR, "-c", option, "-O", tmp_path / "m.tsc")
    assert result.returncode == 2
    assert named in one_error(result.stderr)


def test_class_weights_naming_an_unknown_label_name_the_file_and_line(data, tmp_path):
    weights = write(tmp_path / "weights.txt", ["sport 2", "weather 3"])
    result = run(
        "classify", "train", data / "train.txt", "--valid", data / "valid.txt", *LINEAR, "--class-weight", weights, "-O", tmp_path / "m.tsc"
    )
    assert result.returncode == 1
    assert f"{weights}:2: unknown label 'weather'" in one_error(result.stderr)


def test_balanced_class_weights_lean_towards_the_rare_label(tmp_path):
    rng = random.Random(1)
    shared = ["the", "a", "and", "of", "it", "was"]
    lines = [f"__label__big {' '.join(rng.sample(shared, 3))} {rng.choice(['alpha', 'beta', 'delta'])}" for _ in range(60)]
    lines += [f"__label__small {' '.join(rng.sample(shared, 3))} {rng.choice(['gamma', 'omega'])}" for _ in range(6)]
    rng.shuffle(lines)
    data = write(tmp_path / "imbalanced.txt", lines)
    rare = write(tmp_path / "rare.txt", [f"{' '.join(rng.sample(shared, 4))} {rng.choice(['gamma', 'omega'])}" for _ in range(20)])
    counts = {}
    for weight in ("none", "balanced"):
        model = tmp_path / f"{weight}.tsc"
        train(data, "--valid", data, *LINEAR, "--class-weight", weight, "-O", model)
        counts[weight] = run("classify", "predict", model, rare).text.split().count("__label__small")
    assert counts["none"] <= 5 and counts["balanced"] >= counts["none"] + 8, counts


def multi_label_lines(count: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    words = {"a": ["apple", "apricot"], "b": ["banana", "blueberry"], "c": ["cherry", "coconut"]}
    lines = []
    for _ in range(count):
        labels = rng.choice([["a"], ["b"], ["c"], ["a", "b"], ["b", "c"], ["a", "c"]])
        tokens = [rng.choice(words[label]) for label in labels] + rng.sample(["the", "fruit", "is", "on", "table"], 2)
        rng.shuffle(tokens)
        lines.append(" ".join(f"__label__{label}" for label in labels) + " " + " ".join(tokens))
    return lines


@pytest.fixture(scope="module")
def multi_label(tmp_path_factory) -> tuple[Path, Path]:
    """A one-vs-all linear model of three labels, with its test file."""
    folder = tmp_path_factory.mktemp("multi")
    model = folder / "multi.tsc"
    valid = write(folder / "valid.txt", multi_label_lines(30, seed=1))
    train(write(folder / "train.txt", multi_label_lines(90, seed=0)), "--valid", valid, *TRAINED, "-c", "loss=ova", "-O", model)
    return model, write(folder / "test.txt", multi_label_lines(30, seed=2))


def test_a_multi_label_model_gives_each_label_whose_words_a_line_has(multi_label):
    model, _ = multi_label
    lines = "apple banana the\ncherry table\nblueberry coconut fruit\napricot\n"
    answers = [set(line.split()) for line in run("classify", "predict", model, stdin=lines).text.splitlines()]
    assert answers == [{"__label__a", "__label__b"}, {"__label__c"}, {"__label__b", "__label__c"}, {"__label__a"}]
    every = run("classify", "predict", model, "--threshold", "0", stdin=lines).text.splitlines()
    assert [len(line.split()) for line in every] == [3, 3, 3, 3]  # the override takes the labels the tuned thresholds drop
    two = run("classify", "predict", model, "--threshold", "0", "-k", "2", stdin=lines).text.splitlines()
    assert [len(line.split()) for line in two] == [2, 2, 2, 2]


def test_test_scores_a_multi_label_model_by_the_labels_predict_gives(multi_label):
    model, test = multi_label
    gold = [{token for token in line.split() if token.startswith("__label__")} for line in test.read_text().splitlines()]
    predicted = [set(line.split()) for line in run("classify", "predict", model, test).text.splitlines()]
    assert predicted == gold  # predict gets every line right, each of its labels
    report = json.loads(run("classify", "test", model, test, "--json").stdout)
    assert report["micro_f1"] == 1.0 and report["macro_f1"] == 1.0


def test_a_time_budget_leaves_a_resumable_file_that_resume_finishes(data, tmp_path):
    big = write(tmp_path / "big.txt", (data / "train.txt").read_text().splitlines() * 400)
    settings = [big, "--valid", data / "valid.txt", *LINEAR, "--epochs", "40"]  # some 5 ms an epoch, compiled: 0.2 s in all
    model, last = tmp_path / "m.tsc", tmp_path / "m.last.tsc"
    stopped = train(*settings, "--time-budget", "0.01s", "-O", model)
    assert last.exists() and model.exists()
    assert "time budget" in stopped.stderr and f"--resume {last}" in stopped.stderr
    resumed = train(*settings, "--resume", last, "-O", model)
    assert "epoch 40/40" in resumed.stderr and "--resume" not in resumed.stderr
    fresh = tmp_path / "fresh.tsc"
    train(*settings, "-O", fresh)
    # On from exactly where it stopped: the answers, and the file, of a run never stopped (the loss of
    # the epoch it stopped in included, which counts the jobs run before the stop too).
    answers = [run("classify", "predict", path, data / "test.txt", "--probs", "-k", "3").stdout for path in (model, fresh)]
    assert answers[0] == answers[1]
    assert model.read_bytes() == fresh.read_bytes()


@pytest.fixture(scope="module")
def network(data) -> tuple[Path, Path, str]:
    """An lstm stopped after one step: (its model, its resumable file, what train said)."""
    pytest.importorskip("torch")
    model = data / "lstm.tsc"
    stopped = train(data / "train.txt", "--valid", data / "valid.txt", *NETWORK, "--max-steps", "1", "-O", model)
    return model, data / "lstm.last.tsc", stopped.stderr


def test_max_steps_leaves_a_resumable_network_that_resume_finishes(data, network, tmp_path):
    model, last, said = network
    assert last.exists() and f"--resume {last}" in said
    answers = run("classify", "predict", model, stdin=b"goal team\n\nbread\n")
    assert answers.returncode == 0, answers.stderr
    assert re.fullmatch(r"__label__\w+\n\n__label__\w+\n", answers.text)
    finished = tmp_path / "lstm.tsc"
    resumed = train(data / "train.txt", "--valid", data / "valid.txt", *NETWORK, "--resume", last, "-O", finished)
    assert "--resume" not in resumed.stderr
    assert "epoch 2/2" in resumed.stderr
    assert run("classify", "test", finished, data / "test.txt").text.startswith("N\t15\n")


def test_resume_of_another_arch_is_a_usage_error(data, network, model, tmp_path):
    _, last, _ = network
    linear = run("classify", "train", data / "train.txt", *LINEAR, "--resume", last, "-O", tmp_path / "m.tsc")
    assert linear.returncode == 2
    assert "holds a 'lstm' classifier, not 'linear'" in one_error(linear.stderr)
    lstm = run("classify", "train", data / "train.txt", *NETWORK, "--resume", model, "-O", tmp_path / "n.tsc")
    assert lstm.returncode == 2
    assert "holds a 'linear' classifier, not 'lstm'" in one_error(lstm.stderr)


def test_ctrl_c_in_training_exits_130_and_names_a_resumable_file(data, tmp_path):
    big = write(tmp_path / "big.txt", (data / "train.txt").read_text().splitlines() * 400)
    log, model, last = tmp_path / "log.jsonl", tmp_path / "m.tsc", tmp_path / "m.last.tsc"
    process = subprocess.Popen(
        [*textseq_command(), "classify", "train", str(big), *LINEAR, "--epochs", "100000", "--log", str(log), "-O", str(model)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=SUBPROCESS_ENV,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and process.poll() is None and not (log.exists() and log.stat().st_size):
        time.sleep(0.05)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=60)
    stderr = err.decode()
    assert process.returncode == 130, stderr
    assert out == b""
    assert "Traceback" not in stderr
    assert f"--resume {last}" in stderr
    assert last.exists()
    answer = run("classify", "predict", last, stdin=b"goal team\n")
    assert answer.returncode == 0 and answer.text == "__label__sport\n"
    assert not any(name.startswith(".") or name.endswith(".tmp") for name in os.listdir(tmp_path))
