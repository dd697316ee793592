"""Tokenizers: what they produce, round trips, and the block path agreeing with the line path."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from textseq.tokenize.base import tokenize_blocks
from textseq.tokenize.char import CharTokenizer
from textseq.tokenize.sentences import sentence_blocks, split_sentences
from textseq.tokenize.whitespace import WhitespaceTokenizer
from textseq.tokenize.word import WordTokenizer, detokenize_words

WORD = WordTokenizer()
CHAR = CharTokenizer()


@pytest.mark.parametrize(
    "text,tokens",
    [
        ("Hello, world!", ["Hello", ",", "world", "!"]),
        ("Don't stop; it's o'er.", ["Don't", "stop", ";", "it's", "o'er", "."]),
        ("It’s a well-known fact", ["It’s", "a", "well-known", "fact"]),
        ("π is 3.14159, or 1,000 pieces at 12:30", ["π", "is", "3.14159", ",", "or", "1,000", "pieces", "at", "12:30"]),
        (
            "See https://example.org/a?b=1&c=2. Or www.example.com!",
            ["See", "https://example.org/a?b=1&c=2", ".", "Or", "www.example.com", "!"],
        ),
        ("Mail jane.doe+tag@mail.example.co.uk, today", ["Mail", "jane.doe+tag@mail.example.co.uk", ",", "today"]),
        ("WikiText @-@ style and @,@ marks", ["WikiText", "@", "-", "@", "style", "and", "@", ",", "@", "marks"]),
        ("Wait... what -- really?!", ["Wait", "...", "what", "--", "really", "?", "!"]),
        ("हिन्दी भाषा", ["हिन्दी", "भाषा"]),
        ("Ελληνικά και русский язык", ["Ελληνικά", "και", "русский", "язык"]),
        ("中文字 and 日本語", ["中", "文", "字", "and", "日", "本", "語"]),
        ("العربية، نعم", ["العربية", "،", "نعم"]),
        ("naïve café (décor)", ["naïve", "café", "(", "décor", ")"]),
        ("emoji 🙂 too", ["emoji", "🙂", "too"]),
        ("snake_case v1.2 3rd", ["snake_case", "v1.2", "3rd"]),
    ],
)
def test_word_tokens(text, tokens):
    assert WORD.tokenize(text) == tokens
    assert WORD.tokenize_block(text + "\n") == " ".join(tokens) + "\n"


def test_word_keeps_combining_marks_with_their_letter():
    decomposed = "cafe\u0301 ok"
    assert WORD.tokenize(decomposed) == ["cafe\u0301", "ok"]
    assert list(tokenize_blocks([decomposed + "\n"], WORD)) == ["caf\u00e9 ok\n"]  # nfc by default


def test_lower_and_normalize_options():
    assert list(tokenize_blocks(["ＡＢＣ ﬁne\n"], WORD, lower=True, normalize="nfkc")) == ["abc fine\n"]
    assert list(tokenize_blocks(["ＡＢＣ\n"], WORD, normalize="none")) == ["ＡＢＣ\n"]


def test_blank_lines_stay_so_output_lines_up():
    assert WORD.tokenize_block("a b\n\n\nc\n") == "a b\n\n\nc\n"
    assert CHAR.tokenize_block("ab\n\ncd") == "a b\n\nc d"
    assert WhitespaceTokenizer().tokenize_block("  a\t b \n\n") == "a b\n\n"


lines_text = st.text(st.characters(blacklist_characters="\n", blacklist_categories=("Cs",)), max_size=60)


@settings(max_examples=300, deadline=None)
@given(st.lists(lines_text, min_size=1, max_size=8))
def test_word_block_path_equals_line_path(lines):
    block = "\n".join(lines) + "\n"
    expected = "".join(" ".join(WORD.tokenize(line)) + "\n" for line in lines)
    assert WORD.tokenize_block(block) == expected
    for line in lines:
        assert all(token and not any(c.isspace() for c in token) for token in WORD.tokenize(line))


@settings(max_examples=500, deadline=None)
@given(lines_text)
def test_char_round_trip_on_arbitrary_unicode(line):
    tokens = CHAR.tokenize(line)
    assert len(tokens) == len(line)
    assert all(token and not any(c.isspace() for c in token) for token in tokens)
    assert CHAR.detokenize(tokens) == line
    block = CHAR.tokenize_block(line + "\n")
    assert block == " ".join(tokens) + "\n"
    assert CHAR.detokenize(block.split()) == line


def test_char_tokens_show_spaces_and_escape_other_whitespace():
    assert CHAR.tokenize("a b\tc▁") == ["a", "▁", "b", "<U+0009>", "c", "<U+2581>"]
    assert CHAR.detokenize(["<", "U", "+", "0", "0", "4", "1", ">"]) == "<U+0041>"  # single-char tokens are literal


def test_char_round_trip_through_the_commands(textseq):
    text = "Hello,  wörld!\t▁ tab and <U+0041> 中文 🙂\n  leading and trailing  \n\nend\n"
    tokens = textseq("tokenize", "-t", "char", input=text.encode())
    assert tokens.returncode == 0
    back = textseq("detokenize", "-t", "char", input=tokens.stdout)
    assert back.text == text


def test_word_detokenize_best_effort():
    assert (
        detokenize_words(["Hello", ",", "world", "!", "(", "he", "said", ")", '"', "fine", '"', "."]) == 'Hello, world! (he said) "fine".'
    )


def test_detokenize_reports_bad_char_tokens(textseq):
    result = textseq("detokenize", "-t", "char", input=b"a b\nab c\n")
    assert result.returncode == 1
    assert ":2:" in result.stderr and "not a char token" in result.stderr


def test_sentence_splitting():
    text = 'Mr. Smith went to Washington. He said "Hi!" Then J. S. Bach played. It was 3 p.m. and late. 2 cats ran.'
    assert split_sentences(text) == [
        "Mr. Smith went to Washington.",
        'He said "Hi!"',
        "Then J. S. Bach played.",
        "It was 3 p.m. and late.",
        "2 cats ran.",
    ]
    assert split_sentences("他来了。她走了！好吗？") == ["他来了。", "她走了！", "好吗？"]


def test_sentences_join_wrapped_lines_within_paragraphs():
    blocks = ["The king is\ndead. Long live\n", "the king!\n\nNew paragraph here.\n"]
    assert "".join(sentence_blocks(blocks)) == "The king is dead.\nLong live the king!\nNew paragraph here.\n"


def test_sentences_option(textseq):
    result = textseq("tokenize", "--sentences", "--lower", input=b"One. Two!\nThree?\n")
    assert result.text == "one .\ntwo !\nthree ?\n"


# --- sentencepiece --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def spm_model(tmp_path_factory, request):
    from helpers import require_shared

    corpus = require_shared("corpora", "tinyshakespeare", "input.txt")
    folder = tmp_path_factory.mktemp("spm")
    sample = folder / "train.txt"
    sample.write_text("".join(corpus.read_text(encoding="utf-8").splitlines(keepends=True)[:8000]), encoding="utf-8")
    model = folder / "shakes.model"
    from helpers import run_in_process

    done = run_in_process(
        ["tokenize", "train-spm", "-O", str(model), "--model-type", "bpe", "--vocab-size", "1000", "--seed", "1"], sample.read_bytes()
    )
    assert done.returncode == 0, done.stderr
    assert "1000 pieces" in done.stderr
    return model, corpus


def test_spm_train_encode_detokenize_round_trip(spm_model, textseq):
    model, corpus = spm_model
    lines = corpus.read_text(encoding="utf-8").splitlines(keepends=True)
    held_out = "".join(lines[-3000:]) + "Ünïcödé → text, tabs\tand  double  spaces  \n"
    encoded = textseq("tokenize", "--spm", str(model), input=held_out.encode())
    assert encoded.returncode == 0, encoded.stderr
    assert encoded.text.count("\n") == held_out.count("\n")
    assert all("\t" not in token for token in encoded.text.split(" "))
    assert "▁" in encoded.text
    assert textseq("detokenize", "--spm", str(model), input=encoded.stdout).text == held_out
    ids = textseq("tokenize", "--spm", str(model), "--ids", input=held_out.encode())
    assert all(token.isdigit() for token in ids.text.split())
    assert textseq("detokenize", "--spm", str(model), "--ids", input=ids.stdout).text == held_out


def test_spm_sampling_gives_other_segmentations_of_the_same_text(spm_model, textseq):
    model, _ = spm_model
    text = ("To be, or not to be, that is the question.\n" * 20).encode()
    plain = textseq("tokenize", "--spm", str(model), input=text).text
    sampled = textseq("tokenize", "--spm", str(model), "--sample", "0.3", input=text).text
    assert len(set(plain.splitlines())) == 1
    assert len(set(sampled.splitlines())) > 1
    assert textseq("detokenize", "--spm", str(model), input=sampled.encode()).stdout == text


def test_spm_training_errors(tmp_path, textseq):
    empty = textseq("tokenize", "train-spm", "-O", str(tmp_path / "m.model"), input=b"")
    assert empty.returncode == 1
    assert "empty" in empty.stderr
    assert not (tmp_path / "m.model").exists()
    missing = textseq("tokenize", "--spm", str(tmp_path / "nope.model"), input=b"x")
    assert missing.returncode == 1
    assert "no such sentencepiece model file" in missing.stderr
    not_a_model = tmp_path / "fake.model"
    not_a_model.write_text("hello")
    bad = textseq("tokenize", "--spm", str(not_a_model), input=b"x")
    assert bad.returncode == 1
    assert "not a sentencepiece model" in bad.stderr
    assert textseq("tokenize", "train-spm", input=b"x").returncode == 2  # -O is required
    small = textseq("tokenize", "train-spm", "-O", str(tmp_path / "s.model"), "--vocab-size", "100", input=b"some text here\n" * 50)
    assert small.returncode == 1
    assert "byte_fallback" in small.stderr


def test_spm_training_sample_is_reproducible_with_a_seed(tmp_path, textseq):
    text = "".join(f"line {i} with words {i % 97} and {i % 13} more {'x' * (i % 7)}\n" for i in range(3000)).encode()
    models = []
    for name, seed in (("a", "5"), ("b", "5"), ("c", "6")):
        path = tmp_path / f"{name}.model"
        result = textseq(
            "tokenize",
            "train-spm",
            "-q",
            "-O",
            str(path),
            "--vocab-size",
            "400",
            "--input-sentence-size",
            "500",
            "--seed",
            seed,
            input=text,
        )
        assert result.returncode == 0, result.stderr
        models.append(path.read_bytes())
    assert models[0] == models[1]
    assert models[0] != models[2]


def test_reservoir_sample_keeps_order_and_size():
    from textseq.tokenize.spm import reservoir_sample

    sample = reservoir_sample((str(i) for i in range(10_000)), 100, seed=1)
    assert len(sample) == 100
    assert sample == sorted(sample, key=int)
    assert reservoir_sample(["a", "", "b"], 5, seed=1) == ["a", "b"]
