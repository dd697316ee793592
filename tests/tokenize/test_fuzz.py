"""Mutation fuzzing of sentencepiece model files, loaded as ``textseq tokenize --spm FILE`` loads
them: a mutated model either loads and then encodes and decodes a line (pieces and ids, plain
and sampled), or fails with textseq's one-line error; never another exception, a crash, a hang
or a runaway allocation."""

from __future__ import annotations

import random
import tempfile
from pathlib import Path

import pytest
from hypothesis import given

from fuzzing import check_reader, fuzz_settings, mutations
from textseq.errors import InputError
from textseq.tokenize.spm import SpmTokenizer, train_spm

LINES = ["the quick brown fox jumps over the lazy dog .", "a red kite\tflies over 12 green hills !", "", "naïve café au lait"]


def _tiny_model(model_type: str) -> bytes:
    """A model of a few hundred lines, 80 pieces (no byte fallback, which alone takes 256)."""
    rng = random.Random(7)
    words = [*" ".join(LINES).split(), "river", "stone", "market", "sailor", "lantern", "meadow", "copper", "willow"]
    text = [" ".join(rng.choice(words) for _ in range(rng.randint(3, 10))) for _ in range(400)]
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "tiny.model"
        train_spm(text, path, vocab_size=80, model_type=model_type, byte_fallback=False)
        return path.read_bytes()


UNIGRAM = _tiny_model("unigram")
BPE = _tiny_model("bpe")


def _use(path: str) -> SpmTokenizer:
    """Load the model as the tokenize command does, then encode and decode with it."""
    pieces = SpmTokenizer(path)
    block = pieces.tokenize_block("\n".join(LINES))
    assert block.count("\n") == len(LINES) - 1
    for line in block.split("\n"):
        assert all(token and not any(c.isspace() for c in token) for token in line.split(" ") if line), line
        pieces.detokenize(line.split())
    ids = SpmTokenizer(path, ids=True)
    for line in ids.tokenize_block("\n".join(LINES)).split("\n"):
        ids.detokenize(line.split())
    sampled = SpmTokenizer(path, alpha=0.1)
    sampled.detokenize(sampled.tokenize(LINES[0]))
    return pieces


def test_the_valid_models_work(tmp_path):
    for data in (UNIGRAM, BPE):
        tokenizer = check_reader(_use, data, tmp_path, ".model")
        assert isinstance(tokenizer, SpmTokenizer)
        assert tokenizer.detokenize(tokenizer.tokenize(LINES[0])) == LINES[0]


@fuzz_settings
@given(data=mutations(UNIGRAM))
def test_mutated_unigram_model(data, tmp_path_factory):
    check_reader(_use, data, tmp_path_factory.mktemp("x"), ".model")


@fuzz_settings
@given(data=mutations(BPE))
def test_mutated_bpe_model(data, tmp_path_factory):
    check_reader(_use, data, tmp_path_factory.mktemp("x"), ".model")


# --- what fuzzing found, as fixed cases -----------------------------------------------------------


def _varint_end(data: bytes, at: int) -> int:
    while data[at] & 0x80:
        at += 1
    return at + 1


def _fields(data: bytes) -> list[bytes]:
    """The top-level fields of a protobuf message, each as its own bytes (key and value)."""
    fields, at = [], 0
    while at < len(data):
        start, key_end = at, _varint_end(data, at)
        wire = data[start] & 7
        if wire == 0:
            at = _varint_end(data, key_end)
        elif wire == 2:
            size_end = _varint_end(data, key_end)
            size = sum((b & 0x7F) << (7 * i) for i, b in enumerate(data[key_end:size_end]))
            at = size_end + size
        else:
            at = key_end + (8 if wire == 1 else 4)
        fields.append(data[start:at])
    return fields


def test_a_model_whose_error_message_is_not_utf8_is_an_input_error(tmp_path):
    """A piece made invalid UTF-8 and then repeated: sentencepiece's message ("<piece> is already
    defined") quotes the bytes, and its Python binding fails to decode it (UnicodeDecodeError)."""
    fields = _fields(UNIGRAM)
    at = next(i for i, field in enumerate(fields) if field[:1] == b"\n" and b"\xe2\x96\x81" in field)
    broken = fields[at].replace(b"\xe2\x96\x81", b"\xe2\x16\x81", 1)
    path = tmp_path / "m.model"
    path.write_bytes(b"".join([*fields[:at], broken, broken, *fields[at + 1 :]]))
    with pytest.raises(InputError, match=r"not a sentencepiece model .*is already defined"):
        SpmTokenizer(path)


def test_a_model_that_loads_but_fails_in_use_is_an_input_error(tmp_path, monkeypatch):
    path = tmp_path / "m.model"
    path.write_bytes(UNIGRAM)
    tokenizer = SpmTokenizer(path)

    def fail(*args, **kwargs):
        raise RuntimeError("INTERNAL: src/model_interface.cc(42) [ok] something broke")

    monkeypatch.setattr(tokenizer.processor, "encode", fail)
    monkeypatch.setattr(tokenizer.processor, "decode", fail)
    with pytest.raises(InputError, match=r"m\.model: not a usable sentencepiece model \(something broke\)$"):
        tokenizer.tokenize_block("the fox")
    with pytest.raises(InputError, match="not a usable sentencepiece model"):
        tokenizer.detokenize(["\u2581the"])
