

def test_tokenizes_and_detokenizes(plugins):
    tokenizer = plugins.registry("tokenizer").get("__PART__").implementation(lower=True)
    tokens = tokenizer.tokenize("Don't panic, Arthur!")
    assert tokens == ["don't", "panic", ",", "arthur", "!"]
    assert tokenizer.detokenize(tokens) == "don't panic, arthur!"
