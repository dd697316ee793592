"""The built-in classifier networks (torch): recurrent encoders (``rnn``, ``lstm``, ``gru``), the
CNN of Kim (2014) (``cnn``), a convolution-then-LSTM network (``cnn-lstm``) and the small
character CNN of Zhang, Zhao and LeCun (2015) (``char-cnn``).

The interface every network follows (the trainer, :mod:`textseq.classify.network`, relies on it):

* ``forward(tokens, lengths) -> logits``: ``tokens`` a LongTensor ``[B, T]`` padded at the end
  with id 0 (``PAD``; id 1 is ``<unk>``), ``lengths`` ``[B]`` (each >= 1) on the same device,
  ``logits`` ``[B, labels]``. A text's logits do not depend on the padding around it (eval mode),
  except through floating-point rounding.
* ``config`` (the full config it was built with), ``vocab_size``, ``labels`` and ``needs_vectors``
  (True where the network cannot train without pretrained vectors: ``cnn`` with static,
  non-static or multichannel embeddings) attributes.
* ``load_vectors(matrix [vocab_size, dim], known [vocab_size])`` where a network takes pretrained
  word vectors (all but ``char-cnn``): ``ValueError`` when ``dim`` is not its ``embedding_size``.
* ``after_step()``, called after each optimizer step (``cnn``: the max-norm constraint).
* ``sparse_gradients()`` (all but ``char-cnn``, whose table of characters is small): the trainer
  calls it before it trains, and then updates only the rows of the embeddings that a batch used.

Dropout is active only in training mode. The options and their defaults are in
:mod:`textseq.classify.network_config` (no torch); the vocabulary options there (``min_count``,
``max_vocab``, ``max_length``) are the trainer's, except that ``char-cnn`` takes ``max_length``
as its fixed input frame.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import ClassVar

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from textseq.classify.network import check_network_option
from textseq.classify.network_config import NETWORKS, OPTIONS

__all__ = [
    "NETWORK_NAMES",
    "CharCNN",
    "CNNLSTM",
    "KimCNN",
    "Pooling",
    "RecurrentClassifier",
    "RecurrentEncoder",
    "SparseTables",
    "build_network",
    "char_cnn_frame",
    "parse_widths",
]

NETWORK_NAMES = tuple(NETWORKS)
"""The built-in networks, in the order ``textseq plugins`` lists them."""

PAD = 0
RECURRENT = ("rnn", "lstm", "gru")

EMBEDDING_INIT = 0.25
"""Random embeddings start uniform in [-0.25, 0.25], Kim (2014)'s range for words without a
pretrained vector (about the variance of word2vec's)."""

CHAR_CNN_INIT = 0.05
"""``char-cnn`` weights start Gaussian with this standard deviation (the paper's small model)."""

CHAR_CNN_LAYERS = ((7, True), (7, True), (3, False), (3, False), (3, False), (3, True))
"""``char-cnn``'s six convolutions: (kernel width, followed by max-pooling of 3)."""


def build_network(name: str, config: Mapping[str, object], vocab_size: int, labels: int) -> nn.Module:
    """The untrained network ``name`` for ``vocab_size`` token ids (PAD and ``<unk>`` included)
    and ``labels`` classes. ``config`` is put over the network's defaults; ``ValueError`` naming
    the option for a value or a combination that cannot work."""
    if name not in NETWORKS:
        raise ValueError(f"unknown network {name!r} (built-in: {', '.join(NETWORK_NAMES)})")
    if isinstance(vocab_size, bool) or not isinstance(vocab_size, int) or vocab_size < 2:
        raise ValueError(f"{name}: the vocabulary size must be a whole number >= 2 (PAD and <unk>), not {vocab_size!r}")
    if isinstance(labels, bool) or not isinstance(labels, int) or labels < 1:
        raise ValueError(f"{name}: the number of labels must be a whole number >= 1, not {labels!r}")
    options = Options(name, {**NETWORKS[name], **config})
    if name in RECURRENT:
        return RecurrentClassifier(name, options, vocab_size, labels)
    if name == "cnn":
        return KimCNN(options, vocab_size, labels)
    if name == "cnn-lstm":
        return CNNLSTM(options, vocab_size, labels)
    return CharCNN(options, vocab_size, labels)


class Options:
    """A network's config, read one typed, checked option at a time (``ValueError`` naming the
    network and the option), with the checks of :func:`textseq.classify.network.check_network_option`:
    a network built directly, not through its factory, is checked all the same."""

    def __init__(self, network: str, config: Mapping[str, object]) -> None:
        self.network = network
        self.config = dict(config)

    def _checked(self, key: str) -> object:
        return check_network_option(self.network, key, self.config[key], OPTIONS[key])

    def size(self, key: str) -> int:
        value = self._checked(key)
        assert isinstance(value, int)
        return value

    def probability(self, key: str) -> float:
        value = self._checked(key)
        assert isinstance(value, float)
        return value

    def flag(self, key: str) -> bool:
        return bool(self._checked(key))

    def choice(self, key: str) -> str:
        return str(self._checked(key))

    def positive(self, key: str) -> float:
        value = self._checked(key)
        assert isinstance(value, float)
        return value

    def widths(self, key: str = "widths") -> tuple[int, ...]:
        return parse_widths(self.config[key], self.network, key)


def parse_widths(value: object, network: str = "cnn", key: str = "widths") -> tuple[int, ...]:
    """Filter widths given as a list of whole numbers, one number, or a string of them separated
    by commas (``"3,4,5"``): each in 1..64, at most 16 of them; ``ValueError`` naming ``key``."""
    widths = check_network_option(network, key, value, OPTIONS["widths"])
    assert isinstance(widths, list)
    return tuple(widths)


def _embedding(vocab_size: int, size: int) -> nn.Embedding:
    """A trainable embedding with the PAD row at zero (and kept there: it gets no gradient)."""
    embedding = nn.Embedding(vocab_size, size, padding_idx=PAD)
    with torch.no_grad():
        nn.init.uniform_(embedding.weight, -EMBEDDING_INIT, EMBEDDING_INIT)
        embedding.weight[PAD].zero_()
    return embedding


def _copy_vectors(network: str, embedding: nn.Embedding, matrix: torch.Tensor, known: torch.Tensor) -> None:
    """``embedding``'s rows set to the pretrained ``matrix`` (the PAD row left at zero). ``known``
    (which rows a vectors file had) is checked for shape only: the trainer has already given the
    other rows random values."""
    rows, size = embedding.num_embeddings, embedding.embedding_dim
    if matrix.dim() != 2 or matrix.size(0) != rows or known.shape != (rows,):
        raise ValueError(
            f"{network}: the vectors must be a [{rows}, dim] matrix with a [{rows}] mask, not {list(matrix.shape)} and {list(known.shape)}"
        )
    if matrix.size(1) != size:
        raise ValueError(
            f"{network}: the vectors have {matrix.size(1)} dimensions but embedding_size is {size} (give -c embedding_size={matrix.size(1)})"
        )
    with torch.no_grad():
        embedding.weight.copy_(matrix.to(embedding.weight))
        embedding.weight[PAD].zero_()


class SparseTables:
    """For a network that looks its words up through its ``nn.Embedding`` modules:
    :meth:`sparse_gradients` makes their gradients sparse."""

    def sparse_gradients(self) -> None:
        """The gradients of the network's embedding tables made sparse (the rows a batch used):
        the trainer calls it, and its optimizer then updates those rows alone. An optimizer that
        takes no sparse gradients (``torch.optim.Adam``) cannot train the network after it."""
        assert isinstance(self, nn.Module)
        for module in self.modules():
            if isinstance(module, nn.Embedding):
                module.sparse = True


def _valid(lengths: torch.Tensor, steps: int) -> torch.Tensor:
    """``[B, steps]``: True at the time steps inside each text."""
    return torch.arange(steps, device=lengths.device) < lengths[:, None]


class Pooling(nn.Module):
    """One vector per text from the outputs of a recurrent layer: ``last`` (its final hidden
    state), ``max`` or ``mean`` over the steps inside the text, or ``attention`` (softmax over
    those steps of ``v . tanh(W h_t)``, a learned query, and the weighted sum of the ``h_t``)."""

    MODES: ClassVar[tuple[str, ...]] = ("last", "max", "mean", "attention")

    def __init__(self, mode: str, size: int) -> None:
        super().__init__()
        if mode not in self.MODES:
            raise ValueError(f"pooling must be one of {', '.join(self.MODES)}, not {mode!r}")
        self.mode = mode
        self.size = size
        self.key = nn.Linear(size, size) if mode == "attention" else None
        self.query = nn.Linear(size, 1, bias=False) if mode == "attention" else None

    def forward(self, outputs: torch.Tensor, valid: torch.Tensor, last: torch.Tensor) -> torch.Tensor:
        """``outputs`` ``[B, T, size]``, ``valid`` ``[B, T]``, ``last`` ``[B, size]`` -> ``[B, size]``."""
        if self.mode == "last":
            return last
        if self.mode == "max":
            return outputs.masked_fill(~valid[:, :, None], float("-inf")).amax(1)
        if self.mode == "mean":
            return (outputs * valid[:, :, None]).sum(1) / valid.sum(1, keepdim=True)
        assert self.key is not None and self.query is not None
        scores = self.query(torch.tanh(self.key(outputs))).squeeze(2).masked_fill(~valid, float("-inf"))
        weights = torch.softmax(scores, dim=1)
        pooled: torch.Tensor = torch.bmm(weights[:, None, :], outputs).squeeze(1)
        return pooled


class RecurrentEncoder(nn.Module):
    """A torch recurrent module (nn.RNN, nn.LSTM or nn.GRU) over the texts, pooled to one vector of
    ``output_size`` (``hidden_size``, twice that when bidirectional) per text. ``last`` pooling is
    the final hidden state of the last layer, both directions concatenated.

    On CUDA the module runs over packed texts (cuDNN's); elsewhere its weights run one layer and
    direction at a time over the padded batch, the reverse direction over each text reversed
    within its length (:meth:`_padded`): the same outputs, where torch's CPU backward through a
    packed sequence is slow (for batches of 32 texts of 60 words, 3 times the time; of 200
    words, 12 times)."""

    MODULES: ClassVar[dict[str, Callable[..., nn.Module]]] = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}

    def __init__(
        self,
        kind: str,
        input_size: int,
        hidden_size: int,
        *,
        layers: int = 1,
        bidirectional: bool = False,
        dropout: float = 0.0,
        pooling: str = "last",
        nonlinearity: str = "tanh",
    ) -> None:
        super().__init__()
        extra = {"nonlinearity": nonlinearity} if kind == "rnn" else {}
        self.rnn = self.MODULES[kind](
            input_size, hidden_size, layers, batch_first=True, bidirectional=bidirectional, dropout=dropout if layers > 1 else 0.0, **extra
        )
        self.kind = kind if kind != "rnn" else f"rnn_{nonlinearity}"
        self.layers = layers
        self.hidden_size = hidden_size
        self.dropout = dropout if layers > 1 else 0.0
        self.directions = 2 if bidirectional else 1
        self.output_size = hidden_size * self.directions
        self.pooling = Pooling(pooling, self.output_size)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """``x`` ``[B, T, input_size]``, ``lengths`` ``[B]`` -> ``[B, output_size]``."""
        valid = _valid(lengths, x.size(1))
        outputs, last = self._packed(x, lengths) if x.is_cuda else self._padded(x, lengths, valid)
        if self.pooling.mode == "last":
            return last
        result: torch.Tensor = self.pooling(outputs, valid, last)
        return result

    def _packed(self, x: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(the outputs ``[B, T, output_size]``, the last layer's final states ``[B, output_size]``)."""
        packed = pack_padded_sequence(x, lengths.cpu(), batch_first=True, enforce_sorted=False)
        outputs, final = self.rnn(packed)
        if isinstance(final, tuple):
            final = final[0]
        last = final[-self.directions :].transpose(0, 1).reshape(x.size(0), self.output_size)
        if self.pooling.mode == "last":
            return x, last
        padded, _ = pad_packed_sequence(outputs, batch_first=True, total_length=x.size(1))
        return padded, last

    def _padded(self, x: torch.Tensor, lengths: torch.Tensor, valid: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """What :meth:`_packed` gives, from the padded batch: a text's forward outputs do not depend
        on the padding after it, and its reverse direction reads it reversed within its length
        (``flip``, the padding left where it is), its outputs then put back in their places."""
        steps = x.size(1)
        positions = torch.arange(steps, device=x.device)
        flip = torch.where(valid, lengths[:, None] - 1 - positions, positions)[:, :, None]
        ends = (lengths - 1)[:, None, None].expand(-1, 1, self.hidden_size)
        h = x
        finals: list[torch.Tensor] = []
        for layer in range(self.layers):
            if layer:
                h = F.dropout(h, self.dropout, self.training)
            outputs = []
            for direction in range(self.directions):
                suffix = f"_l{layer}" + ("_reverse" if direction else "")
                weights = [getattr(self.rnn, name + suffix) for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]
                seen = h.gather(1, flip.expand(-1, -1, h.size(2))) if direction else h
                out = self._run(seen, weights)
                finals.append(out.gather(1, ends).squeeze(1))
                outputs.append(out.gather(1, flip.expand(-1, -1, out.size(2))) if direction else out)
            h = torch.cat(outputs, 2) if self.directions > 1 else outputs[0]
        return h, torch.cat(finals[-self.directions :], 1)

    def _run(self, x: torch.Tensor, weights: list[torch.Tensor]) -> torch.Tensor:
        """One layer in one direction over ``x`` ``[B, T, input]`` from a zero state: its outputs."""
        state = x.new_zeros(1, x.size(0), self.hidden_size)
        if self.kind == "lstm":
            return torch.lstm(x, (state, state), weights, True, 1, 0.0, self.training, False, True)[0]
        if self.kind == "gru":
            return torch.gru(x, state, weights, True, 1, 0.0, self.training, False, True)[0]
        run = torch.rnn_tanh if self.kind == "rnn_tanh" else torch.rnn_relu
        return run(x, state, weights, True, 1, 0.0, self.training, False, True)[0]


class RecurrentClassifier(SparseTables, nn.Module):
    """``rnn``, ``lstm``, ``gru``: an embedding (``embedding_dropout`` drops whole word types, as
    the language models' does), a recurrent encoder with its pooling, dropout and a linear layer."""

    needs_vectors = False

    def __init__(self, arch: str, options: Options, vocab_size: int, labels: int) -> None:
        super().__init__()
        self.arch = arch
        self.config = options.config
        self.vocab_size = vocab_size
        self.labels = labels
        self.dropout = options.probability("dropout")
        self.embedding_dropout = options.probability("embedding_dropout")
        self.embedding = _embedding(vocab_size, options.size("embedding_size"))
        self.encoder = RecurrentEncoder(
            arch,
            options.size("embedding_size"),
            options.size("hidden_size"),
            layers=options.size("layers"),
            bidirectional=options.flag("bidirectional"),
            dropout=self.dropout,
            pooling=options.choice("pooling"),
            nonlinearity=options.choice("nonlinearity") if arch == "rnn" else "tanh",
        )
        self.output = nn.Linear(self.encoder.output_size, labels)

    def forward(self, tokens: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        x = self.embedding(tokens)
        if self.training and self.embedding_dropout > 0:
            # the mask of word types of textseq.neural.models.embedding_dropout, applied to the rows
            # looked up: the values of a lookup in the masked table, and a gradient that stays sparse
            keep = 1 - self.embedding_dropout
            x = x * x.new_empty(self.vocab_size, 1).bernoulli_(keep).div_(keep)[tokens]
        h = self.encoder(x, lengths)
        logits: torch.Tensor = self.output(F.dropout(h, self.dropout, self.training))
        return logits

    def load_vectors(self, matrix: torch.Tensor, known: torch.Tensor) -> None:
        _copy_vectors(self.arch, self.embedding, matrix, known)


class KimCNN(SparseTables, nn.Module):
    """The CNN of Kim (2014): convolutions of each width in ``widths`` (``maps`` feature maps
    each) over the word vectors, ReLU, max-over-time pooling over the windows inside the text,
    concatenated, dropout, a linear layer whose rows :meth:`after_step` keeps to L2 norm
    ``max_norm``.

    ``embeddings``: ``rand`` (one trainable channel, random unless vectors are loaded), ``static``
    (one frozen pretrained channel), ``non-static`` (one pretrained channel, trained),
    ``multichannel`` (a frozen and a trained copy of the vectors; each filter is applied to both
    channels and the results added, as the paper has it). A text shorter than the widest filter
    is padded to its width: its one window is the text and zero vectors.
    """

    def __init__(self, options: Options, vocab_size: int, labels: int) -> None:
        super().__init__()
        self.config = options.config
        self.vocab_size = vocab_size
        self.labels = labels
        mode = options.choice("embeddings")
        self.needs_vectors = mode != "rand"
        self.widths = options.widths()
        self.dropout = options.probability("dropout")
        self.max_norm = options.positive("max_norm")
        size, maps = options.size("embedding_size"), options.size("maps")
        self.embeddings = nn.ModuleList(_embedding(vocab_size, size) for _ in range(2 if mode == "multichannel" else 1))
        if mode in ("static", "multichannel"):
            self.embeddings[0].weight.requires_grad_(False)
        self.convs = nn.ModuleList(nn.Conv1d(size, maps, width) for width in self.widths)
        self.output = nn.Linear(maps * len(self.widths), labels)

    def forward(self, tokens: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        widest = max(self.widths)
        if tokens.size(1) < widest:
            tokens = F.pad(tokens, (0, widest - tokens.size(1)), value=PAD)
        batch, steps = tokens.shape
        channels = torch.cat([embedding(tokens).transpose(1, 2) for embedding in self.embeddings])  # [C * B, E, T]
        positions = torch.arange(steps, device=tokens.device)
        features = []
        for width, conv in zip(self.widths, self.convs):
            maps = F.relu(conv(channels).view(len(self.embeddings), batch, -1, steps - width + 1).sum(0))
            inside = positions[: steps - width + 1] <= (lengths - width).clamp(min=0)[:, None]
            features.append(maps.masked_fill(~inside[:, None, :], float("-inf")).amax(2))
        h = torch.cat(features, 1)
        logits: torch.Tensor = self.output(F.dropout(h, self.dropout, self.training))
        return logits

    def load_vectors(self, matrix: torch.Tensor, known: torch.Tensor) -> None:
        for embedding in self.embeddings:
            assert isinstance(embedding, nn.Embedding)
            _copy_vectors("cnn", embedding, matrix, known)

    def after_step(self) -> None:
        """Kim's constraint: each row of the output layer's weight rescaled to L2 norm ``max_norm``
        where it is longer (0: no constraint)."""
        if self.max_norm > 0:
            with torch.no_grad():
                self.output.weight.renorm_(2, 0, self.max_norm)


class CNNLSTM(SparseTables, nn.Module):
    """``cnn-lstm``: convolutions of each width (``maps`` each, padded so that the length stays),
    ReLU, concatenated, max-pooling over ``pool`` steps (a text of n steps keeps ceil(n / pool)),
    then an LSTM (``hidden_size``, ``bidirectional``) over the pooled feature maps with the
    recurrent networks' pooling, dropout and a linear layer."""

    needs_vectors = False

    def __init__(self, options: Options, vocab_size: int, labels: int) -> None:
        super().__init__()
        self.config = options.config
        self.vocab_size = vocab_size
        self.labels = labels
        self.widths = options.widths()
        self.pool = options.size("pool")
        self.dropout = options.probability("dropout")
        size, maps = options.size("embedding_size"), options.size("maps")
        self.embedding = _embedding(vocab_size, size)
        self.convs = nn.ModuleList(nn.Conv1d(size, maps, width) for width in self.widths)
        self.encoder = RecurrentEncoder(
            "lstm",
            maps * len(self.widths),
            options.size("hidden_size"),
            bidirectional=options.flag("bidirectional"),
            pooling=options.choice("pooling"),
        )
        self.output = nn.Linear(self.encoder.output_size, labels)

    def forward(self, tokens: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        x = self.embedding(tokens).transpose(1, 2)  # [B, E, T]
        maps = F.relu(torch.cat([conv(F.pad(x, ((width - 1) // 2, width // 2))) for width, conv in zip(self.widths, self.convs)], 1))
        # Zero (no ReLU output is below it) past each text, so that a pooling window across its end sees only the text.
        maps = maps * _valid(lengths, tokens.size(1))[:, None, :]
        maps = F.pad(maps, (0, -tokens.size(1) % self.pool))
        pooled = F.max_pool1d(maps, self.pool).transpose(1, 2)  # [B, ceil(T / pool), maps]
        h = self.encoder(pooled, (lengths + self.pool - 1) // self.pool)
        logits: torch.Tensor = self.output(F.dropout(h, self.dropout, self.training))
        return logits

    def load_vectors(self, matrix: torch.Tensor, known: torch.Tensor) -> None:
        _copy_vectors("cnn-lstm", self.embedding, matrix, known)


def char_cnn_frame(max_length: int) -> int:
    """The length ``char-cnn``'s six convolutions and three poolings leave of a frame of
    ``max_length`` characters (34 of the paper's 1014); 0 or less where the frame is too short."""
    length = max_length
    for width, pooled in CHAR_CNN_LAYERS:
        length -= width - 1
        if pooled:
            length = length // 3 if length > 0 else 0
    return length


def _char_cnn_minimum() -> int:
    """The shortest frame :func:`char_cnn_frame` leaves a step of (123)."""
    length = 1
    for width, pooled in reversed(CHAR_CNN_LAYERS):
        length = (3 * length if pooled else length) + width - 1
    return length


class CharCNN(nn.Module):
    """The small character CNN of Zhang, Zhao and LeCun (2015): the text cut or padded to a frame
    of exactly ``max_length`` characters, one-hot (``embedding_size`` 0; PAD is the zero vector) or
    a learned embedding, six convolutions of ``features`` maps (widths 7, 7, 3, 3, 3, 3; ReLU;
    max-pooling of 3 after the first, second and sixth), two fully connected layers of
    ``hidden_size`` with ReLU and dropout, and a linear layer. Weights start Gaussian (0, 0.05),
    biases at 0, as in the paper."""

    needs_vectors = False

    def __init__(self, options: Options, vocab_size: int, labels: int) -> None:
        super().__init__()
        self.config = options.config
        self.vocab_size = vocab_size
        self.labels = labels
        self.frame = options.size("max_length")
        minimum = _char_cnn_minimum()
        if self.frame < minimum:
            raise ValueError(
                f"char-cnn: max_length must be at least {minimum} for its six convolutions and three poolings, not {self.frame}"
            )
        embedding_size = self.config["embedding_size"]
        if embedding_size != 0:
            embedding_size = options.size("embedding_size")
        assert isinstance(embedding_size, int)
        self.embedding = _embedding(vocab_size, embedding_size) if embedding_size else None
        features, hidden = options.size("features"), options.size("hidden_size")
        self.dropout = options.probability("dropout")
        channels = embedding_size or vocab_size - 1
        layers: list[nn.Module] = []
        for width, pooled in CHAR_CNN_LAYERS:
            layers += [nn.Conv1d(channels, features, width), nn.ReLU()]
            if pooled:
                layers.append(nn.MaxPool1d(3))
            channels = features
        self.convs = nn.Sequential(*layers)
        self.hidden = nn.Sequential(
            nn.Linear(features * char_cnn_frame(self.frame), hidden),
            nn.ReLU(),
            nn.Dropout(self.dropout),
            nn.Linear(hidden, hidden),
            nn.ReLU(),
            nn.Dropout(self.dropout),
        )
        self.output = nn.Linear(hidden, labels)
        for module in self.modules():
            if isinstance(module, (nn.Conv1d, nn.Linear)):
                nn.init.normal_(module.weight, 0.0, CHAR_CNN_INIT)
                if module.bias is not None:
                    nn.init.zeros_(module.bias)

    def forward(self, tokens: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """``lengths`` is unused: the padding is zero vectors, as the paper's blank characters are."""
        tokens = F.pad(tokens[:, : self.frame], (0, max(self.frame - tokens.size(1), 0)), value=PAD)
        if self.embedding is not None:
            x = self.embedding(tokens)
        else:
            x = F.one_hot(tokens, self.vocab_size)[:, :, 1:].to(self.output.weight.dtype)
        h = self.convs(x.transpose(1, 2)).flatten(1)
        logits: torch.Tensor = self.output(self.hidden(h))
        return logits
