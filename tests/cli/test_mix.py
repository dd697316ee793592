"""``textseq eval --mix`` and ``textseq sample --mix``: an n-gram model and a word-level LSTM
interpolated, the weights given, uniform or tuned by EM, the mixture saved and opened as a model."""

from __future__ import annotations

import json

import pytest

from helpers import cli, one_error

TRAIN = "the cat sat on the mat\nthe dog sat on the log\na cat and a dog\nthe dog ran to the cat\n" * 10
VALID = "the cat sat on the log\na dog and a cat\n\nthe dog sat\n"
TEST = "the dog sat on the mat\na cat ran\nthe zebra sat on the cat\n"
TINY = ["-c", "embedding_size=8", "-c", "hidden_size=8", "-c", "layers=1", "--batch-size", "4", "--bptt", "8", "--max-steps", "3"]


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    pytest.importorskip("torch")
    folder = tmp_path_factory.mktemp("mix")
    for name, text in (("train.txt", TRAIN), ("valid.txt", VALID), ("test.txt", TEST), ("other.txt", "a bird sat\nthe fish swam\n" * 5)):
        (folder / name).write_text(text)
    for order, name, text in ((3, "kn.arpa", "train.txt"), (2, "other.arpa", "other.txt")):
        code, _, err = cli("ngram", "build", "-q", "-o", str(order), "-O", str(folder / name), str(folder / text))
        assert code == 0, err
    for level in ("word", "char"):
        code, _, err = cli(
            "train", "-q", "--level", level, *TINY, "--threads", "1", "-O", str(folder / f"{level}.pt"), str(folder / "train.txt")
        )
        assert code == 0, err
    return folder


def _eval(*args: str) -> tuple[int, bytes, str]:
    return cli("eval", "--threads", "1", *args)


def _json(*args: str):
    code, out, err = _eval(*args, "--json")
    assert code == 0, err
    return json.loads(out), err


def test_the_table_puts_the_mixture_beside_its_parts_with_their_weights(models):
    code, out, err = _eval(str(models / "kn.arpa"), str(models / "test.txt"), "--mix", str(models / "word.pt"), "--weights", "0.4,0.6")
    assert code == 0, err
    lines = out.decode().splitlines()
    assert lines[0].split() == [str(models / "kn.arpa"), str(models / "word.pt"), "mixture"]
    rows = {line.rsplit(None, 3)[0]: line.split()[-3:] for line in lines[1:]}
    assert rows["weight"] == ["0.4000", "0.6000", "-"]
    perplexities = [float(value) for value in rows["perplexity"]]
    assert rows["rank by perplexity"] == [
        "best" if p == min(perplexities) else str(1 + sum(q < p for q in perplexities)) for p in perplexities
    ]
    assert rows["tokens"] == ["18", "18", "18"] and rows["sentences"] == ["3", "3", "3"]
    assert rows["OOVs"] == ["1", "1", "1"]  # zebra


def test_json_lists_the_parts_reports_and_the_mixtures_each_part_as_its_own_eval(models):
    reports, _ = _json(str(models / "kn.arpa"), str(models / "test.txt"), "--mix", str(models / "word.pt"), "--weights", "0.4,0.6")
    assert [r["model"] for r in reports] == [str(models / "kn.arpa"), str(models / "word.pt"), "mixture"]
    mixture = reports[-1]
    assert mixture["weights"] == [0.4, 0.6] and mixture["parts"] == [str(models / "kn.arpa"), str(models / "word.pt")]
    assert mixture["kind"] == "mixture" and [r["weight"] for r in reports[:2]] == [0.4, 0.6]
    for report, name in zip(reports, ("kn.arpa", "word.pt")):
        alone, _ = _json(str(models / name), str(models / "test.txt"))
        assert report["perplexity"] == pytest.approx(alone["perplexity"], rel=1e-9)
        assert report["tokens"] == alone["tokens"] and report["oovs"] == alone["oovs"]
    a, b = (10 ** (r["log10_prob"] / r["tokens"]) for r in reports[:2])
    assert 1 / mixture["perplexity"] >= min(a, b)  # a mixture's mean log-probability is at least its worst part's


def test_uniform_weights_by_default_and_em_on_a_held_out_text(models):
    args = (str(models / "kn.arpa"), str(models / "valid.txt"), "--mix", str(models / "word.pt"))
    reports, err = _json(*args)
    assert reports[-1]["weights"] == [0.5, 0.5] and "weights: uniform" in err
    reports, err = _json(*args, "--tune-on", str(models / "valid.txt"))
    assert "weights tuned by EM on" in err and "kn.arpa 0." in err
    tuning = reports[-1]["tuning"]
    assert tuning["text"] == str(models / "valid.txt") and tuning["tokens"] == reports[-1]["tokens"] and tuning["iterations"] >= 1
    assert tuning["perplexity"] == pytest.approx(reports[-1]["perplexity"], rel=1e-9)
    assert reports[-1]["perplexity"] <= min(r["perplexity"] for r in reports[:2]) * (1 + 1e-5)
    assert sum(reports[-1]["weights"]) == pytest.approx(1.0)


def test_a_saved_mixture_evaluates_and_samples_like_any_model(models):
    saved = models / "saved.tsmix"
    base = (str(models / "kn.arpa"), str(models / "test.txt"), "--mix", str(models / "word.pt"))
    reports, err = _json(*base, "--weights", "0.3,0.7", "--save-mix", str(saved))
    assert f"wrote {saved}" in err
    document = json.loads(saved.read_text())
    assert [p["path"] for p in document["parts"]] == ["kn.arpa", "word.pt"] and [p["weight"] for p in document["parts"]] == [0.3, 0.7]
    opened, _ = _json(str(saved), str(models / "test.txt"))
    assert isinstance(opened, dict) and opened["perplexity"] == pytest.approx(reports[-1]["perplexity"], rel=1e-12)
    assert opened["weights"] == [0.3, 0.7] and opened["model"] == str(saved)
    code, out, err = _eval(str(saved), str(models / "test.txt"), "--also", str(models / "kn.arpa"))
    assert code == 0, err
    assert out.decode().splitlines()[0].split() == [str(saved), str(models / "kn.arpa")]
    assert "weights" in out.decode()
    code, out, err = _eval(str(saved), str(models / "test.txt"), "--per-line")
    lines = [float(x) for x in out.decode().split()]
    assert code == 0 and len(lines) == 3 and sum(lines) == pytest.approx(opened["log10_prob"], abs=1e-4)
    sample = ("sample", "--threads", "1", "-n", "6", "--num-samples", "3", "--seed", "4", "--prime", "the")
    code, from_file, err = cli(*sample, str(saved))
    assert code == 0, err
    code, direct, err = cli(*sample, str(models / "kn.arpa"), "--mix", str(models / "word.pt"), "--weights", "0.3,0.7")
    assert code == 0, err
    assert from_file == direct
    words = from_file.decode().split()
    assert len(from_file.decode().splitlines()) == 3 and all(w in TRAIN.split() for w in words)
    code, beams, err = cli("sample", "--threads", "1", str(saved), "--beam", "3", "--num-samples", "2", "-n", "5", "--prime", "the cat")
    assert code == 0, err
    assert all(line.startswith("the cat") for line in beams.decode().splitlines())


def test_per_line_scores_the_mixture(models):
    args = (str(models / "kn.arpa"), str(models / "test.txt"), "--mix", str(models / "word.pt"), "--weights", "0.4,0.6")
    code, out, err = _eval(*args, "--per-line")
    assert code == 0, err
    reports, _ = _json(*args)
    lines = [float(x) for x in out.decode().split()]
    assert len(lines) == 3 and sum(lines) == pytest.approx(reports[-1]["log10_prob"], abs=1e-4)
    assert "mixture" in err


def test_sample_tunes_the_weights_too(models):
    code, out, err = cli(
        "sample",
        "--threads",
        "1",
        str(models / "word.pt"),
        "--mix",
        str(models / "kn.arpa"),
        "--tune-on",
        str(models / "valid.txt"),
        "-n",
        "5",
    )
    assert code == 0, err
    assert "weights tuned by EM" in err and out.decode().strip()


def test_differing_vocabularies_are_said_once(models):
    reports, err = _json(str(models / "kn.arpa"), str(models / "test.txt"), "--mix", str(models / "other.arpa"))
    assert err.count("vocabularies differ") == 1 and "not exactly normalized" in err
    assert reports[-1]["oovs"] == 1 and reports[1]["oovs"] > reports[0]["oovs"]


@pytest.mark.parametrize(
    ("extra", "says"),
    [
        (["--mix", "char.pt"], "char.pt is a char-level model: a mixture mixes word-level models only"),
        (["--mix", "word.pt", "--weights", "0.5"], "1 weights for 2 models"),
        (["--mix", "word.pt", "--weights", "a,b"], "is not a list of numbers"),
        (["--mix", "word.pt", "--weights", "0.7,0.7"], "sum to 1.4, not 1"),
        (["--mix", "word.pt", "--weights", "nan,1"], "finite"),
        (["--mix", "word.pt", "--weights", "0.5,0.5", "--tune-on", "valid.txt"], "give one"),
        (["--weights", "1"], "go with a mixture"),
        (["--save-mix", "x.tsmix"], "--save-mix saves a mixture"),
        (["--mix", "word.pt", "-q", "--save-mix", "word.pt"], "word.pt is one of the mixture's models"),
        (["--mix", "word.pt", "--per-line", "--also", "kn.arpa"], "--per-line scores one model"),
    ],
)
def test_usage_errors(models, extra, says, monkeypatch):
    monkeypatch.chdir(models)
    code, _, err = _eval("kn.arpa", "test.txt", *extra)
    assert code == 2 and says in one_error(err)


def test_a_mixture_in_a_mixture_and_a_changed_part_are_refused(models, tmp_path):
    for name in ("kn.arpa", "word.pt"):
        (tmp_path / name).write_bytes((models / name).read_bytes())
    saved = tmp_path / "m.tsmix"
    code, _, err = _eval(str(tmp_path / "kn.arpa"), str(models / "test.txt"), "--mix", str(tmp_path / "word.pt"), "--save-mix", str(saved))
    assert code == 0, err
    code, _, err = _eval(str(models / "kn.arpa"), str(models / "test.txt"), "--mix", str(saved))
    assert code == 2 and "is a mixture" in one_error(err)
    code, _, err = _eval(str(saved), str(models / "test.txt"), "--tune-on", str(models / "valid.txt"))
    assert code == 0, err
    (tmp_path / "kn.arpa").write_bytes((models / "other.arpa").read_bytes())
    code, _, err = _eval(str(saved), str(models / "test.txt"))
    assert code == 1 and "kn.arpa has changed since the mixture was saved" in one_error(err)
    code, _, err = _eval(
        str(models / "kn.arpa"), str(models / "test.txt"), "--mix", str(models / "word.pt"), "--tune-on", str(tmp_path / "none")
    )
    assert code == 1 and "none" in one_error(err)
