"""Using n-gram models: the binary format, next-word tables, sampling, vocabulary options."""

from __future__ import annotations

import json

import numpy as np
import pytest

from textseq.errors import InputError
from textseq.lm import NgramLM
from textseq.ngram.binary import read_binary, write_binary
from textseq.ngram.corpus import BOS, EOS, corpus_from_blocks, rare_words_to_unk
from textseq.ngram.counts import count_ngrams
from textseq.ngram.evaluate import evaluate
from textseq.ngram.kneser_ney import estimate
from textseq.ngram.model import BackoffModel, OrderTable
from textseq.sampling import SamplingOptions, next_distribution, sample

TEXT = "the cat sat on the mat\nthe dog sat on the log\na cat and a dog\nthe end\n" * 3


def build(text: str = TEXT, order: int = 3):
    corpus = corpus_from_blocks([text])
    model = estimate(count_ngrams(corpus, order))
    model.words = corpus.words
    return model


def test_binary_round_trip_scores_like_the_original(tmp_path):
    model = build()
    path = tmp_path / "m.tsbin"
    write_binary(model, path)
    loaded = read_binary(path)
    assert loaded.words == model.words
    for mine, theirs in zip(loaded.orders, model.orders):
        assert np.array_equal(mine.word, theirs.word)
        assert np.allclose(mine.logprob, theirs.logprob, atol=1e-6)
        assert np.allclose(mine.backoff, theirs.backoff, atol=1e-6)
    test = "the cat sat on the log\nzebra on the mat\n"
    assert evaluate(loaded, [test])[0].perplexity == pytest.approx(evaluate(model, [test])[0].perplexity, rel=1e-6)


def _shuffled(model, seed: int = 0):
    """The same model with every order's rows above the unigrams in a random order (as an ARPA
    file's reader may hold them), contexts renumbered to match."""
    rng = np.random.default_rng(seed)
    orders = [model.orders[0]]
    new_row_below = None
    for table in model.orders[1:]:
        context = table.context if new_row_below is None else new_row_below[table.context]
        perm = rng.permutation(len(table))
        orders.append(OrderTable(context[perm], table.word[perm], table.logprob[perm], table.backoff[perm]))
        new_row_below = np.empty(len(perm), dtype=np.int64)
        new_row_below[perm] = np.arange(len(perm))
    return BackoffModel(words=model.words, orders=orders)


def _ngrams(model) -> dict[tuple[int, ...], tuple[float, float]]:
    return {
        tuple(words): (float(t.logprob[row]), float(t.backoff[row]))
        for n, t in enumerate(model.orders, start=1)
        for row, words in enumerate(model.ngram_words(n).tolist())
    }


def test_a_model_in_any_row_order_is_written_in_key_order_and_reads_back_the_same(tmp_path):
    model = build(order=4)
    shuffled = _shuffled(model)
    assert _ngrams(shuffled) == _ngrams(model)
    path = tmp_path / "m.tsbin"
    write_binary(shuffled, path)
    loaded = read_binary(path)
    expected, found = _ngrams(model), _ngrams(loaded)
    assert found.keys() == expected.keys()
    assert np.allclose([found[key] for key in expected], list(expected.values()), atol=1e-6)
    for table in loaded.orders[1:]:
        keys, rows = table.index(loaded.vocab_size)
        assert rows is None and (np.diff(keys) > 0).all()
    test = "the cat sat on the log\nzebra on the mat\na dog"
    assert np.allclose(evaluate(loaded, [test])[1], evaluate(model, [test])[1], atol=1e-5)
    write_binary(loaded, tmp_path / "again.tsbin")  # from a model held as keys: the same file
    assert (tmp_path / "again.tsbin").read_bytes() == path.read_bytes()


def test_a_table_held_as_keys_gives_its_contexts_and_words_and_takes_new_contexts():
    table = OrderTable.from_sorted_keys(np.array([7, 12, 13, 31]), 10, np.zeros(4), np.zeros(4))
    assert table.context.tolist() == [0, 1, 1, 3] and table.word.tolist() == [7, 2, 3, 1]
    assert table.index(10)[1] is None
    table.context = np.array([3, 1, 0, 2])
    keys, rows = table.index(10)
    assert keys.tolist() == [3, 12, 21, 37] and rows.tolist() == [2, 1, 3, 0]


def test_scores_are_those_of_the_next_word_distribution_token_by_token():
    model = build(order=4)
    text = "the cat sat on the log\nzebra on the mat\n\nthe\na cat and a dog the end\nthe dog"
    corpus = corpus_from_blocks([text], vocabulary=model.word_index)
    scores = model.score_corpus(corpus)
    history: list[int] = []
    for at, token in enumerate(corpus.ids.tolist()):
        if token == BOS:
            assert scores[at] == 0.0
            history = [BOS]
            continue
        assert scores[at] == pytest.approx(model.next_logprobs(history)[token], abs=1e-12), (at, history)
        history.append(token)


def test_a_damaged_model_opened_to_check_later_tells_before_any_figure(tmp_path):
    path = tmp_path / "m.tsbin"
    write_binary(build(), path)
    data = bytearray(path.read_bytes())
    data[-200] ^= 0x04
    path.write_bytes(bytes(data))
    model = read_binary(path, check_later=True)
    with pytest.raises(InputError, match="checksum does not match"):
        NgramLM(model).evaluate(["the cat\n"])
    with pytest.raises(InputError, match="checksum does not match"):
        NgramLM(read_binary(path, check_later=True)).initial_state([])


def test_corrupt_binary_files_are_clear_errors(tmp_path):
    model = build()
    path = tmp_path / "m.tsbin"
    write_binary(model, path)
    data = path.read_bytes()
    truncated = tmp_path / "t.tsbin"
    truncated.write_bytes(data[: len(data) // 2])
    with pytest.raises(InputError, match="truncated"):
        read_binary(truncated)
    newer = tmp_path / "v.tsbin"
    newer.write_bytes(data.replace(b'"version": 3', b'"version": 9', 1))
    with pytest.raises(InputError, match="version 9 is not supported"):
        read_binary(newer)


def test_convert_build_binary_and_eval_agree(tmp_path, textseq):
    arpa = tmp_path / "m.arpa"
    binary = tmp_path / "m.tsbin"
    assert textseq("ngram", "build", "-o", "3", "-O", str(arpa), input=TEXT.encode()).returncode == 0
    assert textseq("ngram", "build", "-o", "3", "--binary", "-O", str(binary), input=TEXT.encode()).returncode == 0
    back = tmp_path / "back.arpa"
    assert textseq("ngram", "convert", str(binary), "-O", str(back)).returncode == 0
    reports = [json.loads(textseq("eval", "--json", str(m), input=b"the cat sat on the mat\n").text) for m in (arpa, binary, back)]
    assert reports[0]["perplexity"] == pytest.approx(reports[1]["perplexity"], rel=1e-6)
    assert reports[0]["perplexity"] == pytest.approx(reports[2]["perplexity"], rel=1e-6)


def test_next_word_table(tmp_path, textseq):
    arpa = tmp_path / "m.arpa"
    textseq("ngram", "build", "-o", "3", "-O", str(arpa), input=TEXT.encode())
    rows = [line.split("\t") for line in textseq("ngram", "next", str(arpa), "sat on", "-k", "3").text.splitlines()]
    assert rows[0][0] == "the"
    assert len(rows) == 3
    probs = [float(p) for _, p in rows]
    assert probs == sorted(probs, reverse=True)
    table = json.loads(textseq("ngram", "next", str(arpa), "--sentence-start", "", "-k", "50", "--json").text)
    assert sum(row["probability"] for row in table["next"]) == pytest.approx(1.0, abs=1e-5)
    assert table["next"][0]["word"] == "the"
    many = textseq("ngram", "next", str(arpa), "-k", "1", input=b"the cat\na\n").text
    assert many.splitlines()[0] == "# the cat"


def test_sampling_is_deterministic_with_a_seed(tmp_path, textseq):
    arpa = tmp_path / "m.arpa"
    textseq("ngram", "build", "-o", "3", "-O", str(arpa), input=TEXT.encode())
    runs = [textseq("sample", str(arpa), "--seed", str(seed), "--num-samples", "5").text for seed in (3, 3, 4)]
    assert runs[0] == runs[1]
    assert runs[0] != runs[2]
    assert len(runs[0].splitlines()) == 5
    primed = textseq("sample", str(arpa), "--prime", "the dog", "--greedy").text
    assert primed.startswith("the dog sat on the")


def test_temperature_zero_is_greedy():
    lm = NgramLM(build())
    rng = np.random.default_rng(0)
    greedy = list(sample(lm, [], SamplingOptions(temperature=0.0, max_tokens=20), rng))
    logprobs, state = lm.step(lm.initial_state([]), None)
    expected = []
    while len(expected) < 20:
        token = int(np.argmax(logprobs))
        if token == EOS:
            break
        expected.append(token)
        logprobs, state = lm.step(state, token)
    assert greedy == expected


@pytest.mark.parametrize("top_k,top_p", [(1, 1.0), (2, 1.0), (0, 0.5), (3, 0.3)])
def test_top_k_and_top_p_never_leave_the_allowed_set(top_k, top_p):
    rng = np.random.default_rng(1)
    logprobs = np.log(np.array([0.4, 0.25, 0.15, 0.1, 0.06, 0.04]))
    options = SamplingOptions(top_k=top_k, top_p=top_p)
    probs = next_distribution(logprobs, options)
    allowed = set(np.flatnonzero(probs > 0))
    if top_k:
        assert len(allowed) <= top_k
    if top_p < 1.0:
        ranked = np.argsort(-logprobs)
        need = int(np.searchsorted(np.cumsum(np.exp(logprobs)[ranked]), top_p)) + 1
        assert allowed <= set(ranked[:need])
    draws = {int(rng.choice(len(probs), p=probs)) for _ in range(500)}
    assert draws <= allowed


def test_sampling_options_are_checked(textseq, tmp_path):
    with pytest.raises(ValueError, match=r"top_p must be in \(0, 1\]"):
        SamplingOptions(top_p=0.0)
    arpa = tmp_path / "m.arpa"
    textseq("ngram", "build", "-o", "2", "-O", str(arpa), input=TEXT.encode())
    assert textseq("sample", str(arpa), "--top-p", "1.5").returncode == 2
    assert textseq("sample", str(arpa), "--temperature", "-1").returncode == 2


def test_min_count_and_vocab_map_words_to_unk(tmp_path, textseq):
    corpus = rare_words_to_unk(corpus_from_blocks(["a a b c\na d\n"]), 2)
    assert corpus.words == ["<unk>", "<s>", "</s>", "a"]
    assert corpus.tokens == 6
    vocab = tmp_path / "vocab.tsv"
    vocab.write_text("the\t9\ncat\t3\n")
    arpa = tmp_path / "m.arpa"
    assert textseq("ngram", "build", "-o", "2", "--vocab", str(vocab), "-O", str(arpa), input=b"the cat ate the fish\n").returncode == 0
    unigrams = {line.split("\t")[1] for line in arpa.read_text().split("\\2-grams:")[0].splitlines() if "\t" in line}
    assert unigrams == {"<unk>", "<s>", "</s>", "the", "cat"}
    assert "the <unk>" in arpa.read_text()


def test_entropy_pruning_shrinks_the_model_and_keeps_it_normalized():
    from textseq.ngram.prune import prune_entropy

    text = "".join(f"w{i % 7} w{i % 5} w{i % 3} w{(i * i) % 11}\n" for i in range(400)) + TEXT
    model = build(text, 3)
    same = prune_entropy(model, 0.0)
    assert [len(t) for t in same.orders] == [len(t) for t in model.orders]
    for mine, theirs in zip(same.orders, model.orders):
        assert np.allclose(mine.backoff, theirs.backoff, atol=1e-5)
    pruned = prune_entropy(model, 1e-3)
    assert len(pruned.orders[2]) < len(model.orders[2])
    assert len(pruned.orders[0]) == len(model.orders[0])
    for history in ([], [1], [1, model.word_index["the"]], [model.word_index["w1"], model.word_index["w1"]]):
        assert float(np.sum(10.0 ** pruned.next_logprobs(history))) == pytest.approx(1.0, abs=1e-6)
    test = "the cat sat on the mat\nw1 w1 w1 w1\n"
    assert evaluate(pruned, [test])[0].perplexity >= evaluate(model, [test])[0].perplexity * 0.9


def test_entropy_pruning_command(tmp_path, textseq):
    full, small = tmp_path / "full.arpa", tmp_path / "small.arpa"
    text = ("".join(f"w{i % 7} w{i % 5} w{i % 3}\n" for i in range(300)) + TEXT).encode()
    assert textseq("ngram", "build", "-o", "3", "-O", str(full), input=text).returncode == 0
    result = textseq("ngram", "build", "-o", "3", "--prune-entropy", "1e-3", "-O", str(small), input=text)
    assert result.returncode == 0, result.stderr
    assert small.stat().st_size < full.stat().st_size


def test_scores_not_probabilities_survive_the_file_and_are_flagged(tmp_path, textseq):
    arpa = tmp_path / "sb.arpa"
    assert textseq("ngram", "build", "-s", "stupid-backoff", "-O", str(arpa), input=TEXT.encode()).returncode == 0
    assert "# smoothing: stupid-backoff" in arpa.read_text()
    result = textseq("eval", str(arpa), input=b"the cat\n")
    assert result.returncode == 0
    assert "not probabilities" in result.stderr
    assert "score" in textseq("ngram", "next", str(arpa), "the", "--json").text
