"""Subword tokenization with sentencepiece: training from a stream, encoding, decoding.

Training defaults are chosen for exact round trips: no normalization (``identity``), spaces
kept as they are, and byte fallback, so that any line encodes and decodes to itself. Pass
``normalization="nmt_nfkc"`` for sentencepiece's own default.

sentencepiece reports problems as ``RuntimeError("INTERNAL: src/file.cc(123) [check] text")``,
and some of its checks only fire in the middle of encoding; this module checks what it can first
and turns the rest into one plain :class:`~textseq.errors.InputError` or ValueError.
"""

from __future__ import annotations

import io
import math
import random
import re
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from textseq.errors import InputError
from textseq.streams import atomic_write
from textseq.tokenize.base import Tokenizer

if TYPE_CHECKING:
    from sentencepiece import SentencePieceProcessor

MODEL_TYPES = ("bpe", "unigram", "char", "word")
NORMALIZATION_RULES = ("identity", "nmt_nfkc", "nfkc", "nmt_nfkc_cf", "nfkc_cf")
"""The rules sentencepiece ships (``identity`` and its precompiled character maps)."""
MAX_SENTENCE_LENGTH = 4192
"""sentencepiece's default limit, in UTF-8 bytes, on a training line: it skips longer ones."""
MAX_NBEST = 512
"""The most segmentations sentencepiece samples from (its kMaxNBestSize)."""
SPECIAL_PIECES = ("<unk>", "<s>", "</s>")
RESERVED_CHARACTER = "\u2585"
"""▅, which sentencepiece's trainer keeps for itself: it skips every line that holds one."""
BYTE_PIECES = 256
_FLOAT32_MAX = 3.4028234663852886e38
_INNER_WHITESPACE = re.compile(r"[^\S \n]")
_SPACE_SYMBOL = "\u2581"
_STATUS = re.compile(r"^(?:[A-Z_]+: )?(?:\S+\.(?:cc|h)\(\d+\) )?(?:\[(?P<check>.*?)\](?: |$))?(?P<text>.*)$", re.DOTALL)
_TOO_SMALL = re.compile(r"Vocabulary size is smaller than required_chars\. (\d+) vs (\d+)\.")
_PROTO_MODEL_TYPES = {1: "unigram", 2: "bpe", 3: "word", 4: "char"}


def sentencepiece_reason(exc: BaseException) -> str:
    """sentencepiece's error message in one line, without its status code and C++ file name."""
    if isinstance(exc, UnicodeDecodeError):  # a message quoting the model's bytes, not UTF-8
        text = exc.object.decode("utf-8", "replace") if isinstance(exc.object, bytes) else str(exc)
    else:
        text = str(exc)
    match = _STATUS.match(" ".join(text.split()))
    assert match is not None  # every part of the pattern is optional
    reason = match.group("text").strip()
    if not reason and match.group("check"):
        reason = f"an internal check failed: {match.group('check')}"
    return reason or type(exc).__name__


def _load_processor(model: str | Path | bytes) -> SentencePieceProcessor:
    import sentencepiece

    processor = sentencepiece.SentencePieceProcessor()
    try:
        if isinstance(model, bytes):
            processor.LoadFromSerializedProto(model)
        else:
            processor.Load(str(model))
    except (OSError, RuntimeError, ValueError) as exc:  # ValueError: a message that quotes bytes that are not UTF-8
        source = "<bytes>" if isinstance(model, bytes) else str(model)
        if not isinstance(model, bytes) and not Path(model).is_file():
            raise InputError("no such sentencepiece model file", source=source) from None
        reason = sentencepiece_reason(exc).replace(f" from {source}", "")  # the path is named once, in front
        raise InputError(f"not a sentencepiece model ({reason})", source=source) from None
    return processor


def _varint(data: bytes, at: int) -> tuple[int, int]:
    value = shift = 0
    while at < len(data) and shift < 64:
        byte = data[at]
        at += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, at
        shift += 7
    raise ValueError("a truncated varint")


def _proto_fields(data: bytes) -> Iterator[tuple[int, int | bytes]]:
    """(field number, value) of each field of a protobuf message, in order."""
    at = 0
    while at < len(data):
        key, at = _varint(data, at)
        number, wire = key >> 3, key & 7
        value: int | bytes
        if wire == 0:
            value, at = _varint(data, at)
        elif wire == 2:
            size, at = _varint(data, at)
            value, at = data[at : at + size], at + size
        elif wire in (1, 5):
            width = 8 if wire == 1 else 4
            value, at = data[at : at + width], at + width
        else:
            raise ValueError(f"wire type {wire}")
        if at > len(data):
            raise ValueError("a truncated field")
        yield number, value


def model_type_of(proto: bytes) -> str | None:
    """The model type (unigram, bpe, word, char) in a serialized sentencepiece ModelProto: field
    3 of its trainer_spec (field 2); None when the proto cannot be read (sentencepiece, which has
    read it already, is then the judge). No protobuf package is needed for two fields."""
    kind = 1  # the field's default, UNIGRAM
    try:
        for number, value in _proto_fields(proto):
            if number == 2 and isinstance(value, bytes):
                for inner, inner_value in _proto_fields(value):
                    if inner == 3 and isinstance(inner_value, int):
                        kind = inner_value
    except ValueError:
        return None
    return _PROTO_MODEL_TYPES.get(kind)


def check_sampling(model_type: str | None, alpha: float | None, nbest: int) -> None:
    """Refuse (ValueError) the sampling options that ``model_type`` cannot take, before
    sentencepiece fails on them in the middle of the text (or ignores them)."""
    if alpha is None:
        if nbest != -1:
            raise ValueError("nbest works only with sampling (alpha)")
        return
    if model_type in ("char", "word"):
        raise ValueError(f"sampling (alpha) works only with unigram and bpe models; this is a {model_type} model")
    if not math.isfinite(alpha) or alpha < 0:
        raise ValueError(f"alpha {alpha:g} is out of range: alpha is 0 or more")
    if model_type == "bpe":
        if alpha > 1:
            raise ValueError(f"alpha {alpha:g} is out of range for a bpe model: alpha is the probability of dropping a merge, from 0 to 1")
        if nbest != -1:
            raise ValueError("nbest does not apply to a bpe model, whose sampling drops merges; it is for unigram models")
        return
    if alpha > _FLOAT32_MAX:
        raise ValueError(f"alpha {alpha:g} is too large (sentencepiece computes in 32-bit floats)")
    if nbest != -1 and not 2 <= nbest <= MAX_NBEST:
        raise ValueError(f"nbest {nbest} is out of range: -1 samples from every segmentation, 2 to {MAX_NBEST} from that many best ones")


def _without_inner_whitespace(pieces: list[str]) -> list[str]:
    """Pieces with a whitespace character inside (a tab, say) spelled as byte pieces
    (``<0x09>``), so that no token holds whitespace; models trained with byte fallback decode them
    back."""
    if not any(_INNER_WHITESPACE.search(p) for p in pieces):
        return pieces
    out: list[str] = []
    for piece in pieces:
        if not _INNER_WHITESPACE.search(piece):
            out.append(piece)
            continue
        for char in piece:
            if char == _SPACE_SYMBOL:
                out.append(char)
            else:
                out.extend(f"<0x{byte:02X}>" for byte in char.encode("utf-8"))
    return out


class SpmTokenizer(Tokenizer):
    """sentencepiece subwords (BPE or unigram) from a trained .model file."""

    name = "spm"
    reversible = True

    def __init__(
        self,
        model: str | Path | bytes | None = None,
        ids: bool = False,
        alpha: float | None = None,
        nbest: int = -1,
        threads: int = 0,
    ) -> None:
        if model is None:
            raise ValueError("the spm tokenizer needs a model (a sentencepiece .model file)")
        self.source = "<bytes>" if isinstance(model, bytes) else str(model)
        self.processor = _load_processor(model)
        if alpha is not None or nbest != -1:
            check_sampling(model_type_of(self.processor.serialized_model_proto()), alpha, nbest)
        self.ids = ids
        self.alpha = alpha
        self.nbest = nbest
        self.threads = threads

    def _unusable(self, exc: BaseException) -> InputError:
        return InputError(f"not a usable sentencepiece model ({sentencepiece_reason(exc)})", source=self.source)

    def _encode(self, lines: Sequence[str]) -> list[list[Any]]:
        options: dict[str, Any] = {"out_type": int if self.ids else str, "num_threads": self.threads or -1}
        if self.alpha is not None:
            options.update(enable_sampling=True, alpha=self.alpha, nbest_size=self.nbest)
        try:
            return self.processor.encode(list(lines), **options)
        except (RuntimeError, IndexError, ValueError) as exc:
            raise self._unusable(exc) from None

    def tokenize(self, line: str) -> list[str]:
        encoded = self._encode([line])[0]
        return [str(i) for i in encoded] if self.ids else _without_inner_whitespace(encoded)

    def tokenize_block(self, block: str) -> str:
        encoded = self._encode(block.split("\n"))
        if self.ids:
            return "\n".join([" ".join(map(str, ids)) for ids in encoded])
        text = "\n".join([" ".join(pieces) for pieces in encoded])
        if _INNER_WHITESPACE.search(text):
            text = "\n".join([" ".join(_without_inner_whitespace(pieces)) for pieces in encoded])
        return text

    def piece_ids(self, tokens: list[str]) -> list[int]:
        """The ids that ``tokens`` spell (decimal digits, each below the model's size); a
        ValueError names the first token that is not one."""
        size = self.processor.get_piece_size()
        ids = []
        for token in tokens:
            if not (token.isascii() and token.isdigit()):
                raise ValueError(f"with ids, every token must be a piece id (a whole number from 0 to {size - 1}), not {token!r}")
            value = int(token)
            if value >= size:
                raise ValueError(f"piece id {token} is out of range: the model has {size} pieces (ids 0 to {size - 1})")
            ids.append(value)
        return ids

    def detokenize(self, tokens: list[str]) -> str:
        pieces: list[int] | list[str] = self.piece_ids(tokens) if self.ids else tokens
        try:
            return self.processor.decode(pieces)
        except (RuntimeError, IndexError, TypeError) as exc:
            raise self._unusable(exc) from None


def reservoir_sample(lines: Iterable[str], size: int, seed: int) -> list[str]:
    """``size`` lines drawn uniformly from a stream of unknown length, in their original order,
    the same for the same seed (sentencepiece's own sampling is not reproducible)."""
    rng = random.Random(seed)
    kept: list[tuple[int, str]] = []
    for index, line in enumerate(line for line in lines if line.strip()):
        if index < size:
            kept.append((index, line))
        else:
            slot = rng.randrange(index + 1)
            if slot < size:
                kept[slot] = (index, line)
    kept.sort()
    return [line for _, line in kept]


def split_long_line(line: str, limit: int) -> list[str]:
    """``line`` cut into pieces of at most ``limit`` UTF-8 bytes, at a space where there is one
    (the space goes, as between two lines), else between two characters. Pieces that are only
    whitespace are left out."""
    data = line.encode("utf-8")
    pieces: list[bytes] = []
    start = 0
    while len(data) - start > limit:
        space = data.rfind(b" ", start, start + limit + 1)
        if space > start:
            pieces.append(data[start:space])
            start = space + 1
            continue
        cut = start + limit
        while cut > start and data[cut] & 0xC0 == 0x80:  # inside a character's UTF-8 bytes
            cut -= 1
        if cut == start:  # a limit shorter than one character
            cut = start + limit
            while cut < len(data) and data[cut] & 0xC0 == 0x80:
                cut += 1
        pieces.append(data[start:cut])
        start = cut
    pieces.append(data[start:])
    return [text for text in (piece.decode("utf-8") for piece in pieces) if text.strip()]


@dataclass
class _TrainingText:
    """The lines handed to sentencepiece: blank ones left out, long ones split, and a count of
    those it will skip for holding its reserved character."""

    lines: Iterable[str]
    max_bytes: int
    sentences: int = 0
    split_lines: int = 0
    reserved_lines: int = 0

    def __iter__(self) -> Iterator[str]:
        for line in self.lines:
            if not line.strip():
                continue
            if RESERVED_CHARACTER in line:
                self.reserved_lines += 1
            if len(line) * 4 > self.max_bytes and len(line.encode("utf-8")) > self.max_bytes:
                self.split_lines += 1
                for piece in split_long_line(line, self.max_bytes):
                    self.sentences += 1
                    yield piece
                continue
            self.sentences += 1
            yield line


@dataclass(frozen=True)
class TrainedModel:
    """What :func:`train_spm` made: the number of pieces; how many lines it split, being too long
    for sentencepiece; how many sentencepiece skipped for holding ▅."""

    pieces: int
    split_lines: int = 0
    reserved_lines: int = 0


def required_characters(lines: Iterable[str], coverage: float) -> int:
    """How many characters a unigram or bpe model of ``lines`` must have pieces for, counted as
    sentencepiece counts them (spaces as ▁, and one more at each line's start), the most frequent
    first until they cover ``coverage`` of the text."""
    counts: Counter[str] = Counter()
    lines_seen = 0
    for line in lines:
        counts.update(line.replace(" ", _SPACE_SYMBOL))
        lines_seen += 1
    if lines_seen:
        counts[_SPACE_SYMBOL] += lines_seen
    counts.pop("\0", None)
    total = sum(counts.values())
    required = covered = 0
    for count in sorted(counts.values(), reverse=True):
        if covered / total >= coverage:
            break
        covered += count
        required += 1
    return required


def _too_small(vocab_size: int, needed: int, characters: int | None, byte_pieces: int, user_symbols: int) -> InputError:
    parts = [f"its {characters} characters"] if characters is not None else []
    if byte_pieces:
        parts.append(f"{byte_pieces} byte pieces")
    parts.append(f"{len(SPECIAL_PIECES)} special pieces")
    if user_symbols:
        parts.append(f"{user_symbols} user symbols")
    listed = ", ".join(parts[:-1]) + " and " + parts[-1] if len(parts) > 1 else parts[0]
    hint = "; raise vocab_size, or set byte_fallback to False to save the byte pieces" if byte_pieces else ""
    return InputError(f"vocab_size {vocab_size} is too small: this text needs at least {needed} ({listed}){hint}")


def train_spm(
    lines: Iterable[str],
    output: str | Path,
    *,
    vocab_size: int = 8000,
    model_type: str = "unigram",
    input_sentence_size: int = 0,
    user_symbols: Sequence[str] = (),
    normalization: str = "identity",
    byte_fallback: bool = True,
    character_coverage: float = 0.9995,
    max_sentence_length: int = MAX_SENTENCE_LENGTH,
    seed: int | None = None,
    threads: int = 0,
    verbose: bool = False,
) -> TrainedModel:
    """Train a sentencepiece model on ``lines`` (streamed; no copy of the corpus on disk) and
    write it to ``output`` atomically.

    Lines longer than ``max_sentence_length`` bytes, which sentencepiece would skip without a
    word, are split at spaces; the result says how many were, and how many lines sentencepiece
    skipped anyway (those with its reserved character ▅)."""
    import sentencepiece

    if model_type not in MODEL_TYPES:
        raise ValueError(f"model type must be one of {MODEL_TYPES}")
    if max_sentence_length < 1:
        raise ValueError("the maximum sentence length must be at least 1 byte")
    if input_sentence_size:
        lines = reservoir_sample(lines, input_sentence_size, seed if seed is not None else 0)
    byte_fallback = byte_fallback and model_type in ("bpe", "unigram")
    text = _TrainingText(lines, max_sentence_length)
    fixed = len(SPECIAL_PIECES) + len(user_symbols)
    if vocab_size < fixed:  # sentencepiece fails on this after reading a line, with no hint of what is needed
        _refuse_tiny_vocabulary(text, vocab_size, model_type, byte_fallback, len(user_symbols), character_coverage)
    options: dict[str, Any] = {
        "vocab_size": vocab_size,
        "model_type": model_type,
        "normalization_rule_name": normalization,
        "remove_extra_whitespaces": normalization != "identity",
        "byte_fallback": byte_fallback,
        "character_coverage": character_coverage,
        "max_sentence_length": max_sentence_length,
        "minloglevel": 0 if verbose else 2,
        "hard_vocab_limit": False,
    }
    if user_symbols:
        options["user_defined_symbols"] = list(user_symbols)
    if threads:
        options["num_threads"] = threads
    model = io.BytesIO()
    try:
        _interruptibly(lambda: sentencepiece.SentencePieceTrainer.train(sentence_iterator=iter(text), model_writer=model, **options))
    except RuntimeError as exc:
        if text.sentences == 0:
            raise InputError("no text to train on (the input is empty)") from None
        raise _training_error(exc, vocab_size, byte_fallback, len(user_symbols)) from None
    with atomic_write(output) as handle:
        handle.write(model.getvalue())
    pieces = _load_processor(model.getvalue()).get_piece_size()
    return TrainedModel(pieces=pieces, split_lines=text.split_lines, reserved_lines=text.reserved_lines)


def _interruptibly(call: Callable[[], object]) -> None:
    """Run ``call`` in a worker thread while this one waits: Python runs signal handlers only in
    the main thread and only between bytecodes, so Ctrl-C and SIGTERM would otherwise wait for
    the whole of sentencepiece's C++ training (which releases the GIL); now they end the command
    at once, and the daemon worker ends with the process."""
    failure: list[BaseException] = []

    def work() -> None:
        try:
            call()
        except BaseException as exc:  # noqa: BLE001 - handed to the waiting thread, which raises it
            failure.append(exc)

    worker = threading.Thread(target=work, name="sentencepiece-trainer", daemon=True)
    worker.start()
    while worker.is_alive():
        worker.join(0.1)
    if failure:
        raise failure[0]


def _refuse_tiny_vocabulary(
    text: Iterable[str], vocab_size: int, model_type: str, byte_fallback: bool, user_symbols: int, coverage: float
) -> None:
    """Raise the error for a vocabulary smaller than its special pieces, with the size needed
    (which, for unigram and bpe, takes reading the text)."""
    fixed = len(SPECIAL_PIECES) + user_symbols
    if model_type in ("char", "word"):
        raise _too_small(vocab_size, fixed, None, 0, user_symbols)
    characters = required_characters(text, coverage)
    if characters == 0:
        raise InputError("no text to train on (the input is empty)")
    byte_pieces = BYTE_PIECES if byte_fallback else 0
    raise _too_small(vocab_size, characters + byte_pieces + fixed, characters, byte_pieces, user_symbols)


def _training_error(exc: RuntimeError, vocab_size: int, byte_fallback: bool, user_symbols: int) -> InputError:
    reason = sentencepiece_reason(exc)
    too_small = _TOO_SMALL.search(reason)
    if too_small is not None:
        needed = int(too_small.group(2))
        byte_pieces = BYTE_PIECES if byte_fallback else 0
        characters = needed - byte_pieces - len(SPECIAL_PIECES) - user_symbols
        return _too_small(vocab_size, needed, characters, byte_pieces, user_symbols)
    return InputError(f"sentencepiece training failed: {reason}")
