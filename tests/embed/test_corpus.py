"""The embedding trainers' token stream: one pass to count and spool, then chunks replayed."""

from __future__ import annotations

import numpy as np

from textseq.embed.corpus import MAX_SENTENCE, training_corpus

TEXT = "the cat sat\n\nthe dog sat on the mat\na rare word\nthe cat\n"


def replay(corpus, chunk_tokens):
    """(word, sentence number) of every token, over all chunks."""
    out, sentences = [], 0
    for chunk in corpus.chunks(chunk_tokens):
        for s in range(len(chunk.sentence_starts) - 1):
            begin, end = chunk.sentence_starts[s], chunk.sentence_starts[s + 1]
            out += [(corpus.words[i], sentences) for i in chunk.ids[begin:end]]
            sentences += 1
    return out


def test_vocabulary_is_most_frequent_first_and_rare_words_leave_the_stream():
    corpus = training_corpus([TEXT], min_count=2)
    assert corpus.words == ["the", "cat", "sat"]
    assert corpus.counts.tolist() == [4, 2, 2]
    assert corpus.tokens == 8
    assert replay(corpus, 1 << 20) == [("the", 0), ("cat", 0), ("sat", 0), ("the", 1), ("sat", 1), ("the", 1), ("the", 2), ("cat", 2)]


def test_chunks_replay_the_same_stream_whatever_their_size():
    rng = np.random.default_rng(0)
    lines = [" ".join(f"w{x}" for x in rng.integers(0, 50, rng.integers(1, 30))) for _ in range(400)]
    text = "\n".join(lines) + "\n"
    cut = text.index("\n", 5000) + 1
    corpus = training_corpus([text[:cut], text[cut:]], min_count=1)  # blocks of whole lines, as streams.py gives
    whole = replay(corpus, 1 << 20)
    assert [w for w, _ in whole] == text.split()
    assert max(s for _, s in whole) == len(lines) - 1
    for size in (7, 64, 1000):
        chunks = list(corpus.chunks(size))
        assert [c.offset for c in chunks] == list(np.cumsum([0] + [c.tokens for c in chunks[:-1]]))
        # a sentence longer than a chunk is cut; all others are kept whole
        assert [w for w, _ in replay(corpus, size)] == [w for w, _ in whole]
        if size >= 30:
            assert replay(corpus, size) == whole
    assert replay(corpus, 1 << 20) == whole  # chunks can be read again (one pass per epoch)


def test_long_sentences_are_cut_like_gensim():
    corpus = training_corpus([" ".join(["a", "b"] * MAX_SENTENCE) + "\n"], min_count=1)
    (chunk,) = corpus.chunks()
    assert chunk.sentence_starts.tolist() == [0, MAX_SENTENCE, 2 * MAX_SENTENCE]


def test_the_text_is_spooled_not_kept():
    corpus = training_corpus(["x y z\n" * 1000], min_count=1)
    assert not any(isinstance(v, np.ndarray) and v.size >= 3000 for v in vars(corpus).values())
    corpus._spool.seek(0, 2)
    assert corpus._spool.tell() == 4 * (3000 + 1000)  # an int32 per token and per sentence start
    corpus.close()
