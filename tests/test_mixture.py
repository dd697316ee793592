"""Linear interpolation of language models (textseq.mixture), no command line: EM, the token
stream every part reads, the OOV rule, stepping over differing vocabularies, the mixture file."""

from __future__ import annotations

import json
import math
from typing import ClassVar

import numpy as np
import pytest

from textseq.errors import InputError, ParameterError
from textseq.lm import NgramLM, open_model
from textseq.mixture import MixtureLM, check_weights, mix_logprobs, mixture_text, tune_weights
from textseq.mixture_file import read_mixture, save_mixture
from textseq.ngram.build import build_model
from textseq.ngram.files import save_model
from textseq.sampling import SamplingOptions, beam_search, stream_samples

TEXT = "the cat sat on the mat\nthe dog sat on the log\na cat and a dog\nthe cat ran\n"
OTHER = "the bird sat on the tree\na bird and a cat\nthe fish swam\n"
TEST = "the cat sat on the log\na bird ran\nthe zebra sat\n"


@pytest.fixture(scope="module")
def lms():
    """Two models of one vocabulary (orders 2 and 3), one of another (OTHER's words)."""
    return (
        NgramLM(build_model([TEXT * 3], 2).model),
        NgramLM(build_model([TEXT * 3], 3).model),
        NgramLM(build_model([OTHER * 3], 2).model),
    )


def test_em_recovers_the_weights_that_made_the_tokens():
    rng = np.random.default_rng(0)
    p1 = np.array([0.5, 0.2, 0.1, 0.1, 0.1])
    p2 = np.array([0.05, 0.05, 0.1, 0.4, 0.4])
    truth = 0.3 * p1 + 0.7 * p2
    tokens = rng.choice(5, size=40_000, p=truth)
    columns = np.log(np.stack([p1[tokens], p2[tokens]], axis=1))
    tuning = tune_weights(columns)
    assert tuning.converged and tuning.iterations < 100
    assert tuning.weights == pytest.approx([0.3, 0.7], abs=0.02)
    assert tuning.weights.sum() == pytest.approx(1.0)
    uniform = float(mix_logprobs(columns, np.array([0.5, 0.5])).mean())
    assert tuning.log_likelihood > uniform
    assert tuning.perplexity == pytest.approx(math.exp(-tuning.log_likelihood))


def test_em_puts_all_weight_on_a_model_that_is_better_everywhere():
    columns = np.log(np.array([[0.5, 0.01], [0.4, 0.02], [0.6, 0.01]] * 100))
    assert tune_weights(columns, max_iterations=1000, tolerance=1e-12).weights[0] > 0.99
    assert tune_weights(columns, max_iterations=3).iterations == 3


def test_mixing_is_the_log_of_the_weighted_sum_and_a_zero_weight_adds_nothing():
    logprobs = np.log(np.array([[0.2, 0.6], [0.5, 0.1]]))
    assert np.exp(mix_logprobs(logprobs, np.array([0.25, 0.75]))) == pytest.approx([0.05 + 0.45, 0.125 + 0.075])
    assert mix_logprobs(logprobs, np.array([1.0, 0.0])) == pytest.approx(logprobs[:, 0])
    assert mix_logprobs(np.full((1, 2), -np.inf), np.array([0.5, 0.5]))[0] == -np.inf


def test_weights_are_checked_one_per_model_finite_nonnegative_summing_to_one():
    assert check_weights([0.25, 0.75], 2).tolist() == [0.25, 0.75]
    assert check_weights([0.333, 0.333, 0.333], 3).sum() == pytest.approx(1.0, abs=1e-15)
    for weights, count, says in (
        ([0.5, 0.5], 3, "2 weights for 3 models"),
        ([1.5, -0.5], 2, ">= 0"),
        ([math.nan, 1.0], 2, "finite"),
        ([math.inf, 0.0], 2, "finite"),
        ([0.6, 0.6], 2, "sum to 1.2, not 1"),
        ([0.0, 0.0], 2, "sum to 0, not 1"),
    ):
        with pytest.raises(ParameterError, match=says) as info:
            check_weights(weights, count)
        assert info.value.parameter == "weights"


def test_a_model_mixed_with_itself_is_that_model(lms):
    lm = lms[1]
    report, per_line = lm.evaluate([TEST])
    mixture = MixtureLM([lm, lm], [0.3, 0.7])
    mixed, mixed_lines = mixture.evaluate([TEST])
    for key in ("sentences", "tokens", "oovs", "log10_prob", "log10_prob_oov", "perplexity", "perplexity_excluding_oovs"):
        assert mixed[key] == pytest.approx(report[key], rel=1e-12), key
    assert mixed_lines == pytest.approx(per_line, rel=1e-12)
    assert mixed["weights"] == [0.3, 0.7] and mixed["kind"] == "mixture" and mixed["parts"] == ["model 1", "model 2"]


def test_weights_one_and_zero_give_the_first_model_and_each_part_column_is_its_own_eval(lms):
    first, second, _ = lms
    mixture = MixtureLM([first, second], [1.0, 0.0], names=["a", "b"])
    parts, report, per_line = mixture.evaluate_with_parts([TEST])
    alone, alone_lines = first.evaluate([TEST])
    assert report["perplexity"] == pytest.approx(alone["perplexity"], rel=1e-12)
    assert per_line == pytest.approx(alone_lines, rel=1e-12)
    for part, lm, weight in zip(parts, (first, second), (1.0, 0.0)):
        own, _ = lm.evaluate([TEST])
        assert part["weight"] == weight and part["kind"] == lm.kind
        assert {k: part[k] for k in own} == pytest.approx(own, rel=1e-12)


def test_em_tunes_a_mixture_to_no_worse_than_uniform_weights_or_its_best_part(lms):
    first, second, _ = lms
    mixture = MixtureLM([first, second])
    assert mixture.weights.tolist() == [0.5, 0.5]
    uniform, _ = mixture.evaluate([TEXT])
    tuning = mixture.tune([TEXT], source="tuning.txt")
    assert mixture.weights.tolist() == tuning.weights.tolist() and tuning.tokens == 24
    parts, report, _ = mixture.evaluate_with_parts([TEXT])
    assert report["perplexity"] < uniform["perplexity"]
    assert report["perplexity"] <= min(part["perplexity"] for part in parts) * (1 + 1e-5)
    assert report["tuning"]["text"] == "tuning.txt" and report["tuning"]["iterations"] == tuning.iterations
    mixture.set_weights([0.5, 0.5])
    assert "tuning" not in mixture.description()
    with pytest.raises(InputError, match="no tokens"):
        mixture.tune(["\n\n"], source="empty.txt")


def test_the_token_stream_every_part_reads():
    text = ["a  b\n\n   \nc <s> d </s>\n", "e\u2028f\0g\r\nh"]
    assert list(mixture_text(text)) == ["a b\nc d\n", "e f g\nh\n"]
    assert list(mixture_text(["\n \n"])) == []


def test_a_word_one_part_lacks_is_scored_by_its_unk_and_the_oovs_are_what_every_part_lacks(lms):
    first, _, other = lms
    mixture = MixtureLM([first, other], [0.4, 0.6], names=["a", "b"])
    columns = mixture.columns([TEST])
    tokens = [w for line in TEST.splitlines() for w in [*line.split(), "</s>"]]
    assert len(columns.ends) == len(tokens) == 15
    bird = tokens.index("bird")
    assert columns.oov[bird].tolist() == [True, False]  # TEXT has no bird, OTHER has
    zebra = tokens.index("zebra")
    assert columns.oov[zebra].tolist() == [True, True]
    parts, report, _ = mixture.evaluate_with_parts([TEST])
    assert report["oovs"] == 1 and parts[0]["oovs"] == 2  # bird, zebra
    unk_first = first.token_logprobs(["a bird\n"])[1][1]
    bird_other = other.token_logprobs(["a bird\n"])[1][1]
    assert mixture.token_logprobs(["a bird\n"])[1][1] == pytest.approx(math.log(0.4 * math.exp(unk_first) + 0.6 * math.exp(bird_other)))
    note = mixture.vocabulary_note()
    first_words = set(first.words) - {"<s>", "</s>"}
    other_words = set(other.words) - {"<s>", "</s>"}
    assert note is not None and f"b lacks {len(first_words - other_words)} of a's" in note
    assert f"a lacks {len(other_words - first_words)} of b's" in note and "not exactly normalized" in note
    assert MixtureLM([first, lms[1]]).vocabulary_note() is None


def test_step_distributions_sum_to_one_and_mix_the_parts(lms):
    first, second, _ = lms
    mixture = MixtureLM([first, second], [0.3, 0.7])
    state = mixture.initial_state(mixture.encode_prime("the"))
    token = first.model.word_index["cat"]
    logprobs, state = mixture.step(state, None)
    for _ in range(4):
        assert np.exp(logprobs).sum() == pytest.approx(1.0, abs=1e-6)
        logprobs, state = mixture.step(state, token)
    a, _ = first.step(first.initial_state([first.model.word_index["the"]]), token)
    b, _ = second.step(second.initial_state([second.model.word_index["the"]]), token)
    logprobs, _ = mixture.step(mixture.initial_state(mixture.encode_prime("the")), token)
    assert np.exp(logprobs) == pytest.approx(0.3 * np.exp(a) + 0.7 * np.exp(b))


def test_step_maps_a_part_with_another_vocabulary_onto_the_first(lms):
    first, _, other = lms
    mixture = MixtureLM([first, other], [0.4, 0.6])
    logprobs, _ = mixture.step(mixture.initial_state([]), None)
    assert np.exp(logprobs).sum() == pytest.approx(1.0, abs=1e-6)
    a, _ = first.step(first.initial_state([]), None)
    b, _ = other.step(other.initial_state([]), None)
    index = other.model.word_index
    for word in ("the", "cat", "</s>"):
        i = first.model.word_index[word]
        assert math.exp(logprobs[i]) == pytest.approx(0.4 * math.exp(a[i]) + 0.6 * math.exp(b[index[word]]))
    mat = first.model.word_index["mat"]  # OTHER lacks it: only the first part's probability
    assert math.exp(logprobs[mat]) == pytest.approx(0.4 * math.exp(a[mat]))
    lacked = [index[w] for w in other.words if w not in first.model.word_index and w != "<s>"]
    assert lacked  # bird, tree, fish, swam: their probability goes to <unk>
    unk = 0.4 * math.exp(a[0]) + 0.6 * (math.exp(b[0]) + np.exp(b[lacked]).sum())
    assert math.exp(logprobs[0]) == pytest.approx(unk)


def test_a_mixture_samples_and_beam_searches_in_words(lms):
    mixture = MixtureLM([lms[0], lms[2]], [0.5, 0.5])
    text = "".join(stream_samples(mixture, "  the   cat ", SamplingOptions(max_tokens=6), samples=3, seed=1))
    lines = text.splitlines()
    assert len(lines) == 3 and all(line.startswith("the cat") for line in lines)
    assert all(word in mixture.words for line in lines for word in line.split())
    ((tokens, score),) = beam_search(mixture, mixture.encode_prime("the"), width=3, max_tokens=5)
    assert tokens and score < 0 and math.isfinite(score)


class _CharLM:
    level = "char"
    words: ClassVar[list[str]] = ["<unk>", "a"]
    end_id = 1
    scores_are_probabilities = True
    kind = "lstm"


def test_a_part_must_be_a_word_level_single_model(lms):
    with pytest.raises(ParameterError, match=r"book\.pt is a char-level model: a mixture mixes word-level models only"):
        MixtureLM([lms[0], _CharLM()], names=["a.arpa", "book.pt"])  # type: ignore[list-item]
    with pytest.raises(ParameterError, match="inner is a mixture"):
        MixtureLM([lms[0], MixtureLM([lms[0], lms[1]])], names=["a", "inner"])
    with pytest.raises(ParameterError):
        MixtureLM([])


def test_a_neural_word_model_reads_the_same_tokens_as_an_ngram_model(lms):
    pytest.importorskip("torch")
    from textseq.neural.codec import Codec
    from textseq.neural.loading import NeuralLM
    from textseq.neural.loading import build_model as build_network

    codec, _ = Codec.build("word", [TEXT])
    network = build_network("lstm", {"embedding_size": 8, "hidden_size": 8, "layers": 1}, codec.vocab_size)
    network.eval()
    neural = NeuralLM(network, codec, "cpu", threads=1, kind="lstm")
    awkward = ["the cat\n\n  \nsat </s> on\u2028the <s> mat\r\n", "a dog"]  # blank lines, markers, U+2028, no last newline
    mixture = MixtureLM([lms[0], neural], [0.5, 0.5], names=["ngram", "lstm"])
    parts, report, per_line = mixture.evaluate_with_parts(awkward)
    assert parts[0]["tokens"] == parts[1]["tokens"] == report["tokens"] == 11 and report["sentences"] == 3
    own, _ = neural.evaluate(list(mixture_text(awkward)))
    assert parts[1]["perplexity"] == pytest.approx(own["perplexity"], rel=1e-9)
    assert len(per_line) == 3 and per_line.sum() == pytest.approx(report["log10_prob"])
    logprobs, _ = MixtureLM([neural, lms[0]]).step(MixtureLM([neural, lms[0]]).initial_state([2]), 3)
    assert np.exp(logprobs).sum() == pytest.approx(1.0, abs=1e-5)


def test_a_saved_mixture_opens_as_the_same_mixture(lms, tmp_path):
    (tmp_path / "models").mkdir()
    paths = [tmp_path / "models" / "a.arpa", tmp_path / "b.arpa"]
    for lm, path in zip(lms[:2], paths):
        save_model(lm.model, str(path))
    target = tmp_path / "models" / "mix.tsmix"
    save_mixture(str(target), [str(p) for p in paths], [0.25, 0.75], ["a", "b"], tuned_on="valid.txt")
    document = json.loads(target.read_text())
    assert document["format"] == "textseq-mixture" and document["version"] == 1 and document["tuned_on"] == "valid.txt"
    assert [part["path"] for part in document["parts"]] == ["a.arpa", "../b.arpa"]
    spec = read_mixture(str(target))
    assert [part.weight for part in spec.parts] == [0.25, 0.75] and spec.parts[0].size == paths[0].stat().st_size
    opened = open_model(str(target))
    assert isinstance(opened, MixtureLM) and opened.weights.tolist() == [0.25, 0.75]
    expected, _ = MixtureLM([open_model(str(p)) for p in paths], [0.25, 0.75]).evaluate([TEST])
    assert opened.evaluate([TEST])[0]["perplexity"] == pytest.approx(expected["perplexity"], rel=1e-12)
    assert opened.description()["tuning"] == {"text": "valid.txt"}


def _write(path, document) -> str:
    if isinstance(document, bytes):
        path.write_bytes(document)
    else:
        path.write_text(document if isinstance(document, str) else json.dumps(document), encoding="utf-8")
    return str(path)


def test_a_malformed_or_stale_mixture_file_is_one_input_error(lms, tmp_path):
    part = tmp_path / "a.arpa"
    save_model(lms[0].model, str(part))
    good = tmp_path / "good.tsmix"
    save_mixture(str(good), [str(part), str(part)], [0.5, 0.5], ["x", "x"])
    valid = json.loads(good.read_text())
    entry = valid["parts"][0]
    cases = {
        "{": "invalid JSON",
        " \n{} ": "format mark",
        '\ufeff{"format": 1': "invalid JSON",
        '{"format": "x"}': "format mark",
        '{"format": "textseq-mixture", "version": 2, "parts": []}': "newer textseq",
        '{"format": "textseq-mixture", "version": true, "parts": []}': "not a version number",
        '{"format": "textseq-mixture", "version": 1, "parts": []}': "'parts' is not a list",
        '{"format": "textseq-mixture", "version": 1, "parts": [NaN]}': "NaN is not a number JSON has",
        '{"a": ' + "[" * 100_000: "invalid JSON",
        b"{\xff}": "invalid UTF-8",
    }
    for number, (text, says) in enumerate(cases.items()):
        with pytest.raises(InputError, match=says):
            open_model(_write(tmp_path / f"bad{number}.tsmix", text))
    for change, says in (
        ({"weight": -1}, "'weight'"),
        ({"weight": 0.7}, "sum to 1.2"),
        ({"path": ""}, "'path'"),
        ({"size": "9"}, "'size'"),
        ({"sha256": "abc"}, "'sha256'"),
        ({"path": "missing.arpa"}, "missing"),
        ({"size": entry["size"] + 1}, "has changed since the mixture was saved"),
        ({"sha256": "0" * 64}, "has changed"),
        ({"path": "good.tsmix"}, "is a mixture"),
    ):
        document = {**valid, "parts": [{**entry, **change}, valid["parts"][1]]}
        with pytest.raises(InputError, match=says) as info:
            open_model(_write(tmp_path / "changed.tsmix", document))
        assert "\n" not in str(info.value) and str(info.value).startswith(str(tmp_path / "changed.tsmix"))
