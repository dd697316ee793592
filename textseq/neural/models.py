"""The built-in networks: Elman RNN, LSTM and GRU language models over torch's fused recurrent
modules (the peephole LSTM, ``lstm -c peephole=true``, over :mod:`textseq.neural.peephole`'s), and
the fixed-window neural LM of Bengio et al. (2003).

The interface every network follows (the training loop, sampling and evaluation rely on it):

* ``forward(tokens, state) -> (logits, new_state)``: ``tokens`` a LongTensor ``[T, B]``
  (time first, like PyTorch's word_language_model), ``logits`` ``[T, B, vocab_size]``, where
  ``logits[t]`` predicts ``tokens[t + 1]``. ``state=None`` is the start of the stream; passing
  ``new_state`` to the next call continues the stream exactly, so a sequence run in one call and
  in two halves gives the same logits (truncated BPTT carries it, detached, from window to
  window).
* ``initial_state(batch_size, device)``: the state at the start of the stream.
* ``vocab_size`` and ``config`` (the resolved config the network was built with) attributes, and
  ``arch``, the base architecture (``rnn``, ``lstm``, ``gru``, ``nplm``).

The state of each kind; the batch is **dimension 1** of every tensor in it, so that
:func:`select_state` and :func:`detach_state` handle all of them:

* ``rnn``, ``gru``: a float tensor ``[layers, B, hidden_size]``;
* ``lstm``: a tuple ``(h, c)`` of two such tensors (its peephole kind's too);
* ``nplm``: a LongTensor ``[context, B]``, the last ``context`` token ids of each column, where
  ``vocab_size`` stands for "before the start of the stream" (a learned padding embedding).

Architectures are looked up by name with :func:`build`. Presets (``char-small``, ``char-medium``,
``char-large``, ``word-small``, ``word-medium``, ``word-large``, ``word-nplm``) are architecture
names of their own: ``build("word-medium", {}, V)`` is an LSTM with that preset's config, and
options given with a preset override its values. :data:`PRESETS` maps each preset to its base
architecture and the options it sets; the option tables and their checks live in
:mod:`textseq.neural.config` (no torch), which :mod:`textseq.builtins.architectures` registers.

Regularization of the recurrent networks (all off in eval mode):

* ``dropout``: plain dropout on the embeddings, between layers and on the last layer's output;
* ``locked_dropout``: variational dropout at the same places, one mask per column and window,
  shared across time steps (Gal and Ghahramani 2016);
* ``embedding_dropout``: whole word types dropped from the embedding matrix, the rest rescaled;
* ``weight_drop``: DropConnect on the hidden-to-hidden matrices ``weight_hh_l*`` (Merity et al.
  2017), applied by calling the unchanged torch module with the dropped matrices through
  :func:`torch.func.functional_call`, so its fused (cuDNN) kernel still runs and the gradient
  reaches the raw matrices. The dropped weights are rescaled by 1/(1-p), as dropout does.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, ClassVar, TypeAlias

import torch
import torch.nn.functional as F
from torch import nn
from torch.func import functional_call

from textseq.neural.config import PRESETS, base_architecture, resolve_config

if TYPE_CHECKING:
    from textseq.neural.stepping import ForwardStepper, RecurrentStepper

__all__ = [
    "PRESETS",
    "NPLM",
    "RecurrentLM",
    "build",
    "detach_state",
    "embedding_dropout",
    "locked_dropout",
    "resolve_config",
    "select_state",
]

State: TypeAlias = "torch.Tensor | tuple[torch.Tensor, ...] | None"
"""A network's state between calls (see the module's docstring); None at the start of a stream."""

INIT_RANGE = 0.1
"""Embedding and decoder weights start uniform in [-0.1, 0.1] (the decoder bias at 0)."""


def build(name: str, config: Mapping[str, object] | None, vocab_size: int) -> nn.Module:
    """The network of architecture or preset ``name`` with ``config`` over its defaults.

    Raises ``ValueError`` for an unknown name, an unknown option or a bad value.
    """
    arch = base_architecture(name)
    resolved = resolve_config(name, config)
    if isinstance(vocab_size, bool) or not isinstance(vocab_size, int) or vocab_size < 1:
        raise ValueError(f"{name}: the vocabulary size must be a whole number >= 1, not {vocab_size!r}")
    if arch == "nplm":
        return NPLM(resolved, vocab_size)
    return RecurrentLM(arch, resolved, vocab_size)


def map_state(state: State, function: Callable[[torch.Tensor], torch.Tensor]) -> State:
    """``state`` with ``function`` applied to every tensor (any nesting of tuples and lists; None)."""
    if state is None:
        return None
    if isinstance(state, (tuple, list)):
        return type(state)(map_state(part, function) for part in state)  # type: ignore[misc]  # nested states too
    return function(state)


def detach_state(state: State) -> State:
    """``state`` with every tensor detached from the graph."""
    return map_state(state, torch.Tensor.detach)


def select_state(state: State, index: torch.Tensor) -> State:
    """The batch columns ``index`` of ``state`` (dimension 1 of every tensor), in that order and
    repeated as often as named: for beam search and several samples from one prime."""
    return map_state(state, lambda tensor: tensor.index_select(1, index.to(tensor.device)))


def locked_dropout(x: torch.Tensor, p: float, training: bool = True) -> torch.Tensor:
    """Dropout on ``x`` ``[T, B, F]`` with one mask per column and feature, the same at every time step."""
    if not training or p == 0:
        return x
    mask = x.new_empty(1, x.size(1), x.size(2)).bernoulli_(1 - p).div_(1 - p)
    return x * mask


def embedding_dropout(weight: torch.Tensor, p: float, training: bool = True) -> torch.Tensor:
    """The embedding matrix ``weight`` ``[V, E]`` with whole rows (word types) zeroed with probability
    ``p`` and the others scaled by 1/(1-p): a dropped word is dropped at each of its occurrences."""
    if not training or p == 0:
        return weight
    mask = weight.new_empty(weight.size(0), 1).bernoulli_(1 - p).div_(1 - p)
    return weight * mask


def _init_embedding_and_decoder(encoder: nn.Embedding, decoder: nn.Linear) -> None:
    nn.init.uniform_(encoder.weight, -INIT_RANGE, INIT_RANGE)
    if decoder.weight is not encoder.weight:
        nn.init.uniform_(decoder.weight, -INIT_RANGE, INIT_RANGE)
    nn.init.zeros_(decoder.bias)


class RecurrentLM(nn.Module):
    """An embedding, a stack of torch recurrent layers (nn.RNN, nn.LSTM or nn.GRU, or the peephole
    LSTM of :mod:`textseq.neural.peephole` with ``peephole``) and a decoder.

    The stack is one multi-layer torch module (the fused kernel over all layers) unless residual
    connections or locked dropout between layers need each layer's output: then it is one
    single-layer module per layer, still one fused call each. The state has the same shape either
    way. With ``residual``, a layer's output is added to its input wherever their sizes match (all
    layers but the first when ``embedding_size`` differs from ``hidden_size``). With
    ``tie_weights`` the decoder shares the embedding matrix, behind a linear projection from
    ``hidden_size`` to ``embedding_size`` when they differ.
    """

    MODULES: ClassVar[dict[str, Callable[..., nn.Module]]] = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}

    def __init__(self, arch: str, config: Mapping[str, Any], vocab_size: int) -> None:
        super().__init__()
        if arch not in self.MODULES:
            raise ValueError(f"unknown recurrent architecture {arch!r} (known: {', '.join(self.MODULES)})")
        self.arch = arch
        self.config = dict(config)
        self.vocab_size = vocab_size
        embedding, hidden, layers = config["embedding_size"], config["hidden_size"], config["layers"]
        self.layers = layers
        self.hidden_size = hidden
        self.peephole = arch == "lstm" and bool(config.get("peephole", False))
        self.stacked = bool(config["residual"]) or (config["locked_dropout"] > 0 and layers > 1)
        self.encoder = nn.Embedding(vocab_size, embedding)
        if self.stacked:
            self.rnns = nn.ModuleList(self._recurrent(embedding if i == 0 else hidden, 1, 0.0) for i in range(layers))
        else:
            self.rnns = nn.ModuleList([self._recurrent(embedding, layers, config["dropout"] if layers > 1 else 0.0)])
        tie = bool(config["tie_weights"])
        self.projection = nn.Linear(hidden, embedding, bias=False) if tie and hidden != embedding else None
        self.decoder = nn.Linear(embedding if tie else hidden, vocab_size)
        if tie:
            self.decoder.weight = self.encoder.weight
        _init_embedding_and_decoder(self.encoder, self.decoder)

    def _recurrent(self, input_size: int, layers: int, dropout: float) -> nn.Module:
        if self.peephole:
            from textseq.neural.peephole import PeepholeLSTM

            return PeepholeLSTM(input_size, self.hidden_size, layers, dropout=dropout)
        extra = {"nonlinearity": self.config["nonlinearity"]} if self.arch == "rnn" else {}
        return self.MODULES[self.arch](input_size, self.hidden_size, layers, dropout=dropout, **extra)

    def initial_state(self, batch_size: int, device: torch.device | str | None = None) -> State:
        """Zeros: ``[layers, batch_size, hidden_size]``, a pair of them for an LSTM."""
        weight = self.encoder.weight
        zeros = weight.new_zeros(self.layers, batch_size, self.hidden_size, device=device)
        return (zeros, zeros.clone()) if self.arch == "lstm" else zeros

    def _drop(self, x: torch.Tensor) -> torch.Tensor:
        x = locked_dropout(x, self.config["locked_dropout"], self.training)
        if self.config["dropout"] > 0:
            x = F.dropout(x, self.config["dropout"], self.training)
        return x

    def _run(self, rnn: nn.Module, x: torch.Tensor, state: State) -> tuple[torch.Tensor, State]:
        """One torch recurrent module, its hidden-to-hidden matrices dropped when training with weight_drop."""
        p = self.config["weight_drop"]
        if not (self.training and p > 0):
            return rnn(x, state)
        weights = {name: F.dropout(value, p, True) if name.startswith("weight_hh") else value for name, value in rnn.named_parameters()}
        with warnings.catch_warnings():
            # cuDNN compacts the (new) dropped weights into one buffer each call, and says so.
            warnings.filterwarnings("ignore", message="RNN module weights are not part of single contiguous")
            return functional_call(rnn, weights, (x, state))

    def forward(self, tokens: torch.Tensor, state: State = None) -> tuple[torch.Tensor, State]:
        """``tokens`` ``[T, B]`` -> (logits ``[T, B, vocab_size]``, the state after the last token)."""
        features, state = self.features(tokens, state)
        return self.decoder(features), state

    def features(self, tokens: torch.Tensor, state: State = None) -> tuple[torch.Tensor, State]:
        """What the decoder reads (``forward`` is ``decoder(features)``): ``tokens`` ``[T, B]`` ->
        (``[T, B, decoder.in_features]``, the state after the last token). The training loss
        uses it to fuse the decoder with the softmax (:mod:`textseq.neural.loss`)."""
        if state is None:
            state = self.initial_state(tokens.size(1), tokens.device)
        x = F.embedding(tokens, embedding_dropout(self.encoder.weight, self.config["embedding_dropout"], self.training))
        x = self._drop(x)
        if not self.stacked:
            x, state = self._run(self.rnns[0], x, state)
        else:
            states = []
            for i, rnn in enumerate(self.rnns):
                y, layer_state = self._run(rnn, x, _layer_state(state, i))
                if self.config["residual"] and y.size(-1) == x.size(-1):
                    y = y + x
                x = y if i == len(self.rnns) - 1 else self._drop(y)
                states.append(layer_state)
            state = _stack_states(states)
        x = self._drop(x)
        if self.projection is not None:
            x = self.projection(x)
        return x, state

    def stepper(self) -> RecurrentStepper | ForwardStepper:
        """Single-token inference for sampling (see :mod:`textseq.neural.stepping`):
        ``stepper().step(tokens [B], state)`` gives the logits ``[B, vocab_size]`` and state of
        :meth:`forward` on ``tokens[None]`` in eval mode; on CPU several times faster, with the
        weights laid out once for it (build it after they are final)."""
        from textseq.neural.stepping import ForwardStepper, RecurrentStepper

        return RecurrentStepper(self) if self.encoder.weight.device.type == "cpu" else ForwardStepper(self)


def _layer_state(state: State, i: int) -> State:
    """Layer ``i``'s part of a stacked network's state (an LSTM's is a pair)."""
    if isinstance(state, tuple):
        return tuple(part[i : i + 1] for part in state)
    assert state is not None
    return state[i : i + 1]


def _stack_states(states: list[State]) -> State:
    """The layers' states as one, each tensor concatenated over the layers."""
    pairs = [s for s in states if isinstance(s, tuple)]
    if pairs:
        return tuple(torch.cat(layer) for layer in zip(*pairs))
    return torch.cat([s for s in states if isinstance(s, torch.Tensor)])


class NPLM(nn.Module):
    """The neural probabilistic language model of Bengio et al. (2003): the embeddings of the
    ``context`` previous tokens, concatenated, through a tanh layer to a softmax, with optional
    direct connections from the embeddings to the output (``direct``).

    It streams like a recurrent network: its state is the last ``context`` ids of each column
    (``[context, B]``), so a window's first predictions see the end of the previous window. Before
    the start of a stream the context is filled with id ``vocab_size``, a learned padding embedding
    (``start``), which is no token of the vocabulary. With ``tie_weights`` the decoder shares the
    embedding matrix (its first ``vocab_size`` rows: the padding row is kept apart for that),
    behind a projection from ``hidden_size`` to ``embedding_size`` when they differ.
    """

    def __init__(self, config: Mapping[str, Any], vocab_size: int) -> None:
        super().__init__()
        self.arch = "nplm"
        self.config = dict(config)
        self.vocab_size = vocab_size
        self.context = config["context"]
        embedding, hidden = config["embedding_size"], config["hidden_size"]
        window = self.context * embedding
        self.encoder = nn.Embedding(vocab_size, embedding)
        self.start = nn.Parameter(torch.empty(1, embedding).uniform_(-INIT_RANGE, INIT_RANGE))
        self.hidden = nn.Linear(window, hidden)
        tie = bool(config["tie_weights"])
        self.projection = nn.Linear(hidden, embedding, bias=False) if tie and hidden != embedding else None
        self.decoder = nn.Linear(embedding if tie else hidden, vocab_size)
        if tie:
            self.decoder.weight = self.encoder.weight
        self.direct = nn.Linear(window, vocab_size, bias=False) if config["direct"] else None
        if self.direct is not None:
            nn.init.zeros_(self.direct.weight)
        _init_embedding_and_decoder(self.encoder, self.decoder)

    @property
    def pad_id(self) -> int:
        """The id that fills the context before the start of a stream (``vocab_size``)."""
        return self.vocab_size

    def initial_state(self, batch_size: int, device: torch.device | str | None = None) -> torch.Tensor:
        """``[context, batch_size]`` of :attr:`pad_id`."""
        return torch.full(
            (self.context, batch_size), self.pad_id, dtype=torch.long, device=device if device is not None else self.encoder.weight.device
        )

    def forward(self, tokens: torch.Tensor, state: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """``tokens`` ``[T, B]`` -> (logits ``[T, B, vocab_size]``, the last ``context`` ids ``[context, B]``)."""
        if state is None:
            state = self.initial_state(tokens.size(1), tokens.device)
        stream = torch.cat([state.to(tokens.dtype), tokens])  # [context + T, B]
        windows = stream.unfold(0, self.context, 1)[1:]  # [T, B, context]: the context ending at each token
        table = torch.cat([self.encoder.weight, self.start.to(self.encoder.weight.dtype)])
        x = F.embedding(windows, table).flatten(2)  # [T, B, context * embedding_size]
        p = self.config["dropout"]
        if p > 0:
            x = F.dropout(x, p, self.training)
        h = torch.tanh(self.hidden(x))
        if p > 0:
            h = F.dropout(h, p, self.training)
        if self.projection is not None:
            h = self.projection(h)
        logits = self.decoder(h)
        if self.direct is not None:
            logits = logits + self.direct(x)
        return logits, stream[-self.context :]
