

def test_estimates_a_normalized_model_that_gives_unseen_words_some_probability(plugins):
    from textseq import corpus_from_blocks, count_ngrams

    corpus = corpus_from_blocks(["a b a b c\na c\n"])
    model = plugins.registry("smoother").get("__PART__").implementation().estimate(count_ngrams(corpus, 2))
    model.words = corpus.words
    after_a = 10.0 ** model.next_logprobs([model.word_index["a"]])
    assert abs(after_a.sum() - 1.0) < 1e-6
    assert 0 < after_a[model.word_index["a"]] < after_a[model.word_index["b"]]  # "a a" never seen, "a b" twice
