"""The classic n-gram smoothers: normalization, hand-computed values, registry and command."""

from __future__ import annotations

import io
import math
from collections import Counter

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from helpers import require_shared
from textseq.console import Console
from textseq.ngram.arpa import read_arpa, write_arpa
from textseq.ngram.classic import (
    SMOOTHERS,
    AbsoluteDiscounting,
    AddK,
    Katz,
    KneserNey,
    MaximumLikelihood,
    StupidBackoff,
    WittenBell,
    good_turing_discounts,
)
from textseq.ngram.corpus import BOS, corpus_from_blocks
from textseq.ngram.counts import count_ngrams
from textseq.ngram.evaluate import evaluate
from textseq.ngram.smoothers import ModifiedKneserNey
from textseq.plugins import Plugins

NORMALIZED = ["mle", "add-k", "katz", "witten-bell", "absolute-discounting", "kneser-ney"]
ALL = [*NORMALIZED, "stupid-backoff"]

TINY = "a b a\nb a\n"
"""<s> a b a </s>, <s> b a </s>: unigrams a 3, b 2, </s> 2 (N = 7, |V| = 4 with <unk>);
bigrams <s> a 1, a b 1, b a 2, a </s> 2, <s> b 1."""


def build(smoother, text: str, order: int, prune=(), warn=None):
    corpus = corpus_from_blocks([text])
    model = smoother.estimate(count_ngrams(corpus, order), prune=prune, warn=warn)
    model.words = corpus.words
    return model


def next_probs(model, *history: str) -> dict[str, float]:
    """p(w | history) for every word but <s>, by word (a sentence start is an explicit <s>)."""
    ids = [model.word_index[w] for w in history]
    logprobs = model.next_logprobs(ids)
    return {w: 10.0 ** float(lp) for i, (w, lp) in enumerate(zip(model.words, logprobs)) if i != BOS}


def explicit(model) -> list[dict[str, float]]:
    """Per order, n-gram text -> log10 probability as stored."""
    tables = []
    for n in range(1, model.order + 1):
        rows = model.ngram_words(n)
        tables.append({" ".join(model.words[i] for i in row): float(p) for row, p in zip(rows, model.orders[n - 1].logprob)})
    return tables


def approx(value: float, expected: float, tolerance: float = 1e-9) -> None:
    assert value == pytest.approx(expected, rel=tolerance, abs=1e-12)


# --- every context sums to one ---------------------------------------------------------------

sentences = st.lists(st.lists(st.sampled_from("abcdef"), min_size=1, max_size=8), min_size=1, max_size=25)
prunings = st.sampled_from([(), (), (0, 1), (0, 0, 1), (0, 1, 1), (0, 1, 2)])


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sentences, st.integers(min_value=1, max_value=4), prunings)
def test_every_context_distribution_sums_to_one(lines, order, prune):
    text = "\n".join(" ".join(line) for line in lines) + "\n"
    corpus = corpus_from_blocks([text])
    counts = count_ngrams(corpus, order)
    for name in NORMALIZED:
        model = SMOOTHERS[name]().estimate(counts, prune=prune[:order])
        model.words = corpus.words
        assert model.scores_are_probabilities
        contexts = [[]]
        for n in range(1, order):
            contexts += [list(row) for row in model.ngram_words(n) if BOS not in row[1:]]
        for history in contexts[:100]:
            logprobs = model.next_logprobs(history)
            assert np.all(logprobs[np.arange(len(logprobs)) != BOS] <= 1e-12)
            total = float(np.sum(10.0**logprobs))
            assert abs(total - 1.0) < 1e-6, (name, prune, history, total)


@pytest.mark.parametrize("name", NORMALIZED)
def test_pruned_models_keep_the_counts_row_order_and_sum_to_one(name):
    text = "a b c a b\nb c a\nc c a b\na a b c\nb b\n"
    corpus = corpus_from_blocks([text])
    counts = count_ngrams(corpus, 3)
    full = SMOOTHERS[name]().estimate(counts)
    pruned = SMOOTHERS[name]().estimate(counts, prune=[0, 1, 1])
    for model in (full, pruned):
        model.words = corpus.words
    for n in (1, 2, 3):
        assert np.array_equal(full.ngram_words(n), counts.words_of(n))
        kept = counts.orders[n - 1].count > (0 if n == 1 else 1)
        kept[: 3 if n == 1 else 0] = True
        assert np.array_equal(pruned.ngram_words(n), counts.words_of(n)[kept])
    assert np.all(full.orders[2].backoff == 0) and full.orders[0].logprob[BOS] == 0
    for history in ([], [3], [4], [3, 4], [5, 5]):
        approx(float(np.sum(10.0 ** pruned.next_logprobs(history))), 1.0)


# --- hand-computed values on TINY --------------------------------------------------------------


def test_add_one_by_hand():
    model = build(AddK(), TINY, 2)
    unigrams = next_probs(build(AddK(), TINY, 1))
    for word, count in {"a": 3, "b": 2, "</s>": 2, "<unk>": 0}.items():
        approx(unigrams[word], (count + 1) / (7 + 4))
    after_a = next_probs(model, "a")
    approx(after_a["b"], (1 + 1) / (3 + 4))  # seen: add-one
    approx(after_a["</s>"], (2 + 1) / (3 + 4))
    # leftover 2/7 shared by the unseen a, <unk> in proportion to the add-one unigrams 4/11, 1/11
    bow = (2 / 7) / (1 - 3 / 11 - 3 / 11)
    approx(bow, 22 / 35)
    approx(after_a["a"], bow * 4 / 11)
    approx(after_a["<unk>"], bow * 1 / 11)
    after_b = next_probs(model, "b")
    approx(after_b["a"], 3 / 6)
    approx(after_b["</s>"], (1 / 2) / (7 / 11) * 3 / 11)
    approx(after_b["<unk>"], 1 / 14)
    half = next_probs(build(AddK(k=0.5), TINY, 1))
    approx(half["a"], 3.5 / (7 + 0.5 * 4))


def test_witten_bell_by_hand():
    unigram_gamma = 3 / (7 + 3)  # N1+ = 3 kinds of words in 7 tokens
    unigram = {
        "a": 3 / 10 + unigram_gamma / 4,
        "b": 2 / 10 + unigram_gamma / 4,
        "</s>": 2 / 10 + unigram_gamma / 4,
        "<unk>": unigram_gamma / 4,
    }
    model = build(WittenBell(), TINY, 2)
    for word, p in next_probs(build(WittenBell(), TINY, 1)).items():
        approx(p, unigram[word])
    lam = 3 / (3 + 2)  # c(a.) = 3, N1+(a.) = 2
    after_a = next_probs(model, "a")
    approx(after_a["b"], lam * 1 / 3 + (1 - lam) * unigram["b"])
    approx(after_a["</s>"], lam * 2 / 3 + (1 - lam) * unigram["</s>"])
    approx(after_a["a"], (1 - lam) * unigram["a"])
    approx(after_a["<unk>"], 0.03)
    approx(10.0 ** explicit(model)[0]["a"], 3 / 8)
    a_row = model.word_index["a"]
    approx(10.0 ** model.orders[0].backoff[a_row], 1 - lam)


def test_kneser_ney_by_hand():
    # continuation counts: a follows <s>, b; b follows a, <s>; </s> follows a. t1 = 1, t2 = 2
    d1 = 1 / (1 + 2 * 2)
    gamma = (d1 * 3) / 5
    unigram = {"a": (2 - d1) / 5 + gamma / 4, "b": (2 - d1) / 5 + gamma / 4, "</s>": (1 - d1) / 5 + gamma / 4, "<unk>": gamma / 4}
    approx(unigram["a"], 0.39)
    model = build(KneserNey(), TINY, 2)
    for word, p in unigram.items():  # the unigrams of a bigram model (a unigram model has raw counts)
        approx(10.0 ** explicit(model)[0][word], p)
    d2 = 3 / (3 + 2 * 2)  # bigram counts 1, 1, 2, 2, 1
    after_a = next_probs(model, "a")
    gamma_a = d2 * 2 / 3
    approx(after_a["b"], (1 - d2) / 3 + gamma_a * unigram["b"])
    approx(after_a["</s>"], (2 - d2) / 3 + gamma_a * unigram["</s>"])
    approx(after_a["a"], gamma_a * unigram["a"])
    assert KneserNey().discounts(count_ngrams(corpus_from_blocks([TINY]), 2)) == [pytest.approx(d1), pytest.approx(d2)]
    fixed = next_probs(build(KneserNey(discounts=[0.5]), TINY, 2), "a")  # what --discounts passes
    approx(fixed["a"], 0.5 * 2 / 3 * ((2 - 0.5) / 5 + (0.5 * 3 / 5) / 4))


def test_absolute_discounting_by_hand():
    warnings: list[str] = []
    model = build(AbsoluteDiscounting(), TINY, 2, warn=warnings.append)
    # unigram counts 3, 2, 2 have no singletons: the discount falls back to 0.5, with a warning
    assert len(warnings) == 1 and "order 1" in warnings[0] and "D=0.5" in warnings[0]
    gamma = 0.5 * 3 / 7
    unigram = {"a": 2.5 / 7 + gamma / 4, "b": 1.5 / 7 + gamma / 4, "</s>": 1.5 / 7 + gamma / 4, "<unk>": gamma / 4}
    d2 = 3 / 7
    after_a = next_probs(model, "a")
    approx(after_a["b"], (1 - d2) / 3 + d2 * 2 / 3 * unigram["b"])
    approx(after_a["<unk>"], d2 * 2 / 3 * unigram["<unk>"])
    given_d = next_probs(build(AbsoluteDiscounting(discount=0.25), TINY, 2), "b")
    unigram_q = {"a": 2.75 / 7 + 0.75 / 28}
    approx(given_d["a"], (2 - 0.25) / 2 + 0.25 / 2 * unigram_q["a"])
    with pytest.raises(ValueError, match="absolute-discounting takes discounts between 0 and 1"):
        AbsoluteDiscounting(discount=-1)


def test_maximum_likelihood_by_hand():
    model = build(MaximumLikelihood(), TINY, 2)
    tables = explicit(model)
    approx(10.0 ** tables[0]["a"], 3 / 7)
    assert tables[0]["<unk>"] == -99.0 and tables[0]["<s>"] == 0.0
    after_a = next_probs(model, "a")
    approx(after_a["b"], 1 / 3)
    approx(after_a["</s>"], 2 / 3)
    assert after_a["a"] < 1e-90  # nothing is left for unseen events: backoff weight 0 (log10 -99)
    assert model.orders[0].backoff[model.word_index["a"]] == -99.0
    # pruning "a b" leaves 1/3 of a's mass, which backs off to the unigrams a 3/7 and b 2/7
    pruned = next_probs(build(MaximumLikelihood(), TINY, 2, prune=[0, 1]), "a")
    approx(pruned["b"], (1 / 3) / (1 - 2 / 7) * 2 / 7)
    approx(pruned["a"], (1 / 3) / (1 - 2 / 7) * 3 / 7)


def test_stupid_backoff_scores_by_hand():
    model = build(StupidBackoff(), TINY, 3)
    assert model.scores_are_probabilities is False
    after_ba = next_probs(model, "b", "a")
    approx(after_ba["</s>"], 1.0)  # b a </s> 2 of c(b a .) = 2
    approx(after_ba["b"], 0.4 * 1 / 3)  # unseen trigram: 0.4 S(b | a) = 0.4 c(a b)/c(a .)
    approx(after_ba["a"], 0.4 * 0.4 * 3 / 7)  # and again down to the unigram 3/7
    assert sum(after_ba.values()) > 1  # scores, not probabilities
    other = next_probs(build(StupidBackoff(alpha=0.5), TINY, 2), "b")
    approx(other["b"], 0.5 * 2 / 7)


def test_stupid_backoff_scores_are_relative_frequencies():
    text = "a b c a b\nb c a\nc c a b\na a b c\nb b\n"
    corpus = corpus_from_blocks([text])
    counts = count_ngrams(corpus, 3)
    model = StupidBackoff().estimate(counts)
    model.words = corpus.words
    grams = [Counter() for _ in range(3)]
    for n in range(1, 4):
        for row, c in zip(counts.words_of(n), counts.orders[n - 1].count):
            grams[n - 1][tuple(row)] = int(c)
    total = sum(grams[0].values())
    for n, table in enumerate(explicit(model), start=1):
        for text_gram, logprob in table.items():
            key = tuple(corpus.words.index(w) for w in text_gram.split())
            if n == 1:
                expected = grams[0][key] / total
            else:
                expected = grams[n - 1][key] / sum(c for g, c in grams[n - 1].items() if g[:-1] == key[:-1])
            if key == (BOS,):
                assert logprob == 0.0
            elif expected == 0:
                assert logprob == -99.0
            else:
                approx(logprob, math.log10(expected))
    alpha = math.log10(0.4)
    contexts = {tuple(r[:-1]) for r in counts.words_of(2)}
    for row, backoff in zip(model.ngram_words(1), model.orders[0].backoff):
        assert backoff == (pytest.approx(alpha) if tuple(row) in contexts else 0.0)


def test_good_turing_discounts_by_hand():
    # n1..n6 = 10, 4, 2, 1, 1, 1: (k+1) n6 / n1 = 0.6
    d = good_turing_discounts(np.array([0, 10, 4, 2, 1, 1, 1]), k=5)
    assert d[1] == pytest.approx((2 * 4 / 10 - 0.6) / 0.4)  # 0.5
    assert d[2] == pytest.approx((3 * 2 / 4 / 2 - 0.6) / 0.4)  # 0.375
    assert d[3] == pytest.approx((4 * 1 / 2 / 3 - 0.6) / 0.4)  # 1/6
    assert d[4] == 1.0 and d[5] == 1.0  # the formula gives more than 1: not discounted
    assert np.all(good_turing_discounts(np.array([0, 0, 3]), k=5) == 1.0)  # no singletons


def test_katz_equals_a_direct_implementation():
    rng = np.random.default_rng(7)
    words = np.array([f"w{i}" for i in range(500)])
    weights = 1.0 / np.arange(1, 501)  # Zipf: counts of every size
    lines = [" ".join(rng.choice(words, size=rng.integers(1, 9), p=weights / weights.sum())) for _ in range(200)]
    text = "\n".join(lines) + "\n"
    model = build(Katz(), text, 2)
    sentences = [["<s>", *line.split(), "</s>"] for line in lines]
    unigrams = Counter(w for s in sentences for w in s[1:])
    bigrams = Counter((s[i], s[i + 1]) for s in sentences for i in range(len(s) - 1))

    def discounts(counter: Counter) -> dict[int, float]:
        n = Counter(counter.values())
        common = 6 * n[6] / n[1]
        assert common < 1
        result = {}
        for r in range(1, 6):
            d = ((r + 1) * n[r + 1] / n[r] / r - common) / (1 - common) if n[r] else 1.0
            result[r] = d if 0 < d <= 1 else 1.0
        return result

    d1, d2 = discounts(unigrams), discounts(bigrams)
    assert d1[1] < 1 and d2[1] < 1 and 1.0 in d1.values()  # discounts at both orders, and a fallback
    total = sum(unigrams.values())
    vocabulary = [w for w in model.words if w != "<s>"]
    unigram = {w: unigrams[w] * d1.get(unigrams[w], 1.0) / total for w in vocabulary}
    unseen = [w for w in vocabulary if unigrams[w] == 0]
    assert unseen == ["<unk>"]
    unigram["<unk>"] = 1 - sum(unigram.values())
    for w, p in next_probs(build(Katz(), text, 1)).items():
        approx(p, unigram[w])
    for h in ["<s>", "w0", "w1", "w5", "w30"]:
        followers = {w: c for (x, w), c in bigrams.items() if x == h}
        context_total = sum(followers.values())
        seen = {w: c * d2.get(c, 1.0) / context_total for w, c in followers.items()}
        alpha = (1 - sum(seen.values())) / (1 - sum(unigram[w] for w in seen))
        got = next_probs(model, h)
        for w in vocabulary:
            approx(got[w], seen[w] if w in seen else alpha * unigram[w])


# --- registry, command, files --------------------------------------------------------------


def test_every_smoother_is_registered():
    registry = Plugins(Console(quiet=True), load_entry_points=False).registry("smoother")
    assert set(registry.names()) >= {"modified-kneser-ney", *ALL}
    for name in ALL:
        entry = registry.get(name)
        assert entry.help and "\n" not in entry.help
        smoother = entry.implementation()
        assert type(smoother) is SMOOTHERS[name]
        model = build(smoother, TINY, 2)
        assert model.smoothing == name
    assert registry.get("add-k").implementation(k=0.5).k == 0.5
    with pytest.raises(TypeError):
        registry.get("witten-bell").implementation(k=1)


@pytest.mark.parametrize("name", ["modified-kneser-ney", *ALL])
def test_build_command_writes_a_loadable_arpa(name, tmp_path, textseq):
    out = tmp_path / "x.arpa"
    text = b"the cat sat on the mat\nthe dog sat on the log\na cat and a dog\nthe cat ran\n"
    result = textseq("ngram", "build", "-s", name, "-o", "3", "-O", str(out), "-q", input=text)
    assert result.returncode == 0, result.stderr
    with open(out, encoding="utf-8") as handle:
        model = read_arpa(handle, str(out))
    expected = count_ngrams(corpus_from_blocks([text.decode()]), 3)
    assert [len(t) for t in model.orders] == [len(t) for t in expected.orders]
    if name != "stupid-backoff":
        approx(float(np.sum(10.0 ** model.next_logprobs([model.word_index["the"]]))), 1.0, 1e-5)  # 7 digits in ARPA


def test_build_command_smoother_options(tmp_path, textseq):
    out = tmp_path / "x.arpa"
    text = b"a b a\nb a\n"
    ok = textseq("ngram", "build", "-s", "add-k", "-p", "k=0.5", "-o", "1", "-O", str(out), "-q", input=text)
    assert ok.returncode == 0, ok.stderr
    with open(out, encoding="utf-8") as handle:
        model = read_arpa(handle)
    approx(10.0 ** model.orders[0].logprob[model.word_index["a"]], 3.5 / 9, 1e-6)
    assert textseq("ngram", "build", "-s", "kneser-ney", "--discounts", "0.7", "-O", str(out), "-q", input=text).returncode == 0
    assert textseq("ngram", "build", "-s", "mle", "-p", "k=1", "-O", str(out), "-q", input=text).returncode == 2
    assert textseq("ngram", "build", "-s", "add-k", "-p", "k=-1", "-O", str(out), "-q", input=text).returncode == 2


@pytest.mark.parametrize("name", ALL)
def test_arpa_round_trip(name):
    model = build(SMOOTHERS[name](), "a b c a b\nb c a\nc c a b\n", 3)
    buffer = io.StringIO()
    write_arpa(model, buffer)
    again = read_arpa(io.StringIO(buffer.getvalue()))
    mine, theirs = explicit(model), explicit(again)
    for n in range(3):
        assert set(mine[n]) == set(theirs[n])
        for gram, logprob in mine[n].items():
            assert abs(theirs[n][gram] - logprob) < 1e-6


# --- perplexity on Shakespeare ---------------------------------------------------------------


def test_perplexities_on_shakespeare_rank_as_expected():
    train = require_shared("reference", "shakespeare.train.tok").read_text(encoding="utf-8")
    test = require_shared("reference", "shakespeare.test.tok").read_text(encoding="utf-8")
    corpus = corpus_from_blocks([train])
    counts = count_ngrams(corpus, 3)
    including, excluding = {}, {}
    for name, smoother in [("modified-kneser-ney", ModifiedKneserNey()), *[(n, SMOOTHERS[n]()) for n in ALL]]:
        model = smoother.estimate(counts)
        model.words = corpus.words
        report, _ = evaluate(model, [test])
        including[name], excluding[name] = report.perplexity, report.perplexity_excluding_oovs
    print({n: round(p, 3) for n, p in including.items()}, {n: round(p, 3) for n, p in excluding.items()})
    assert round(including["modified-kneser-ney"], 3) == 186.919
    smoothed = ["kneser-ney", "witten-bell", "absolute-discounting", "katz", "add-k"]
    # Katz gives <unk> all of Good-Turing's unigram leftover, which makes OOVs cheap: compare the
    # known words (excluding OOVs) for the full ranking, and including them for the others
    assert all(excluding["modified-kneser-ney"] < excluding[n] for n in smoothed)
    assert all(excluding["kneser-ney"] < excluding[n] for n in ["witten-bell", "absolute-discounting", "katz", "add-k"])
    assert all(excluding[n] < excluding["add-k"] / 3 for n in ["witten-bell", "absolute-discounting", "katz"])
    assert all(
        including["modified-kneser-ney"] < including[n] for n in ["kneser-ney", "witten-bell", "absolute-discounting", "add-k", "mle"]
    )
    assert including["kneser-ney"] < min(including["witten-bell"], including["absolute-discounting"])
    assert max(including[n] for n in smoothed) == including["add-k"]
    assert including["mle"] > 1e10  # unseen test events have probability 0 (10^-99)
