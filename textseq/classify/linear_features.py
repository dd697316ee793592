"""What the linear model sees of a text: its words, their character n-grams and its word n-grams,
hashed into buckets as fastText hashes them (numpy only: prediction imports neither numba nor torch).

A token's hash is the CRC-32 of its UTF-8 bytes (C speed from Python, well spread). A word n-gram
``w1 .. wn`` is the bucket ``h % buckets`` of ``h = h1; h = h * 116049371 + h_k`` in 64-bit
arithmetic; a character n-gram of ``<word>`` (``minn`` to ``maxn`` characters, the lone ``<`` and
``>`` left out) is the bucket of its own CRC-32. Unknown words keep their hash, so their n-grams
count even where the word itself is not in the vocabulary, as in fastText.

Features are keys: ``k < words`` is word ``k``, ``words + b`` is bucket ``b``. The model maps
keys to rows of its input matrix, where only the buckets seen in training have a row.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

NGRAM_MULTIPLIER = np.uint64(116049371)


def token_hash(token: str) -> int:
    return zlib.crc32(token.encode("utf-8", "surrogatepass"))


def char_ngrams(word: str, minn: int, maxn: int) -> list[str]:
    """The character n-grams of ``<word>`` of ``minn`` to ``maxn`` characters, without the
    1-grams ``<`` and ``>``."""
    framed = f"<{word}>"
    size = len(framed)
    grams = []
    for n in range(max(minn, 1), maxn + 1):
        for start in range(size - n + 1):
            if n == 1 and (start == 0 or start == size - 1):
                continue
            grams.append(framed[start : start + n])
    return grams


@dataclass
class TypeFeatures:
    """Per token type: its word key (-1 for none), its hash and its character n-gram buckets (a
    ragged array: type ``t`` has ``sub_buckets[sub_offsets[t]:sub_offsets[t+1]]``)."""

    word_keys: np.ndarray
    hashes: np.ndarray
    sub_offsets: np.ndarray
    sub_buckets: np.ndarray


def type_features(
    names: Sequence[str], word_keys: np.ndarray, *, buckets: int, minn: int, maxn: int, hashes: np.ndarray | None = None
) -> TypeFeatures:
    """:class:`TypeFeatures` of the types ``names`` whose word keys are ``word_keys``; ``hashes``
    where they are known already."""
    if hashes is None:
        hashes = np.fromiter((token_hash(name) for name in names), dtype=np.uint64, count=len(names))
    if maxn > 0 and buckets > 0:
        lengths = np.zeros(len(names) + 1, dtype=np.int64)
        grams: list[int] = []
        for t, name in enumerate(names):
            found = [zlib.crc32(gram.encode("utf-8", "surrogatepass")) for gram in char_ngrams(name, minn, maxn)]
            grams.extend(found)
            lengths[t + 1] = len(found)
        sub_offsets = np.cumsum(lengths)
        sub_buckets = np.asarray(grams, dtype=np.int64) % buckets
    else:
        sub_offsets = np.zeros(len(names) + 1, dtype=np.int64)
        sub_buckets = np.zeros(0, dtype=np.int64)
    return TypeFeatures(np.asarray(word_keys, dtype=np.int64), hashes.astype(np.uint64), sub_offsets, sub_buckets)


def example_features(
    offsets: np.ndarray, token_types: np.ndarray, types: TypeFeatures, *, words: int, word_ngrams: int, buckets: int
) -> tuple[np.ndarray, np.ndarray]:
    """The feature keys of each example, a ragged array (feature offsets int64, keys int64):
    example ``i`` (the tokens ``token_types[offsets[i]:offsets[i+1]]``) has its known words, then
    its tokens' character n-grams, then its word n-grams of 2 to ``word_ngrams`` words."""
    offsets = np.asarray(offsets, dtype=np.int64)
    token_types = np.asarray(token_types, dtype=np.int64)
    examples = len(offsets) - 1
    lengths = np.diff(offsets)
    example_of_token = np.repeat(np.arange(examples, dtype=np.int64), lengths)

    word_keys = types.word_keys[token_types]
    known = word_keys >= 0
    parts = [(word_keys[known], example_of_token[known])]

    sub_counts = np.diff(types.sub_offsets)[token_types]
    if sub_counts.any():
        starts = np.repeat(types.sub_offsets[token_types], sub_counts)
        within = np.arange(int(sub_counts.sum()), dtype=np.int64) - np.repeat(np.cumsum(sub_counts) - sub_counts, sub_counts)
        parts.append((types.sub_buckets[starts + within] + words, np.repeat(example_of_token, sub_counts)))

    if word_ngrams > 1 and buckets > 0 and len(token_types):
        hashes = types.hashes[token_types]
        left = offsets[1:][example_of_token] - np.arange(len(token_types), dtype=np.int64) - 1  # tokens after each one in its line
        combined = hashes.copy()
        for n in range(2, word_ngrams + 1):
            valid = left >= n - 1
            shifted = np.zeros_like(hashes)
            shifted[: len(hashes) - (n - 1)] = hashes[n - 1 :]
            combined = combined * NGRAM_MULTIPLIER + shifted
            parts.append(((combined[valid] % np.uint64(buckets)).astype(np.int64) + words, example_of_token[valid]))

    return _by_example(parts, examples)


def _by_example(parts: list[tuple[np.ndarray, np.ndarray]], examples: int) -> tuple[np.ndarray, np.ndarray]:
    """The keys of ``parts`` (each: keys and their examples, in example order) grouped by example,
    each example's keys in the order of the parts; no sort, each key placed at its position."""
    counts = [np.bincount(owner, minlength=examples) for _, owner in parts]
    per_example = np.sum(counts, axis=0) if counts else np.zeros(examples, dtype=np.int64)
    feature_offsets = np.zeros(examples + 1, dtype=np.int64)
    np.cumsum(per_example, out=feature_offsets[1:])
    keys = np.empty(int(feature_offsets[-1]), dtype=np.int64)
    base = feature_offsets[:-1].copy()
    for (values, owner), count in zip(parts, counts):
        first = np.cumsum(count) - count
        within = np.arange(len(owner), dtype=np.int64) - first[owner]
        keys[base[owner] + within] = values
        base += count
    return feature_offsets, keys
