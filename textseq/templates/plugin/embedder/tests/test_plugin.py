

def test_words_in_the_same_contexts_end_up_close(plugins, tmp_path):
    import numpy as np

    from textseq import training_corpus

    lines = ["the cat drinks milk", "the dog drinks water", "a cat eats fish", "a dog eats meat"] * 50
    corpus = training_corpus(iter(lines), min_count=1)
    vectors = plugins.registry("embedder").get("__PART__").implementation().train(corpus, dim=64, window=2, seed=1)
    unit = vectors.matrix / np.linalg.norm(vectors.matrix, axis=1, keepdims=True)

    def similarity(a: str, b: str) -> float:
        return float(unit[vectors.index[a]] @ unit[vectors.index[b]])

    assert similarity("cat", "dog") > similarity("cat", "drinks")
