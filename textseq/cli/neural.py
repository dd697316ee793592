"""``textseq train``: neural language models (RNN, LSTM, GRU, fixed-window) on a text stream.

torch is imported inside the command, so ``textseq --help`` and the commands that need no torch
stay quick to start.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import click

from textseq.cli.common import App, FiniteFloat, errors_option, input_files, pass_app, quiet_option
from textseq.console import format_duration
from textseq.errors import InputError, OutputError

HOLD_OUT = 0.1
"""Share of the training text held out for validation when no --valid is given (nanoGPT's 90/10)."""


@click.command(
    "train",
    epilog="""\b
Examples:
  textseq train --arch lstm --level char book.txt -O book.pt
  textseq train --arch char-medium --level char --time-budget 20m book.txt -O book.pt
  textseq train --arch lstm --level word --valid valid.txt -c hidden_size=200 -c tie_weights=true train.txt -O wt2.pt
  textseq train --resume book.last.pt book.txt -O book.pt          # continue exactly where it stopped
  textseq train --arch gru --level spm --spm book.model --device cuda --bf16 book.txt -O book.pt""",
)
@input_files
@click.option("-O", "--output", required=True, type=click.Path(dir_okay=False), help="The best checkpoint (by validation loss); the latest goes to NAME.last.pt.")
@click.option("-a", "--arch", default=None, metavar="NAME", help="Architecture or preset: rnn, lstm, gru, nplm, char-small, word-medium, ... (see 'textseq plugins') [default: lstm].")
@click.option("-c", "--config", "config_items", multiple=True, metavar="KEY=VALUE", help="An architecture option (layers, hidden_size, dropout, tie_weights, ...); repeatable.")
@click.option("--level", type=click.Choice(["char", "word", "spm"]), default=None, help="Tokens the model reads [default: char].")
@click.option("--spm", "spm_path", type=click.Path(dir_okay=False, exists=True), default=None, help="A sentencepiece model, for --level spm (see 'textseq tokenize train-spm').")
@click.option("--valid", "valid_path", type=click.Path(dir_okay=False, exists=True), default=None, help="Validation text [default: the last 10% of the training text, held out].")
@click.option("--min-count", type=click.IntRange(min=1), default=1, show_default=True, help="Word level: rarer words become <unk>.")
@click.option("--max-vocab", type=click.IntRange(min=3), default=None, help="Word level: at most this many tokens, the most frequent.")
@click.option("--batch-size", type=click.IntRange(min=1), default=None, help="Parallel streams per step [default: 20].")
@click.option("--bptt", type=click.IntRange(min=1), default=None, help="Tokens per step and stream (truncated backpropagation) [default: 35].")
@click.option("--epochs", type=click.IntRange(min=1), default=None, help="Passes over the training text [default: 10].")
@click.option("--max-steps", type=click.IntRange(min=1), default=None, help="Stop after this many steps (resumable).")
@click.option("--time-budget", default=None, metavar="DURATION", help="Stop after this much training time: 90s, 20m, 1.5h (resumable).")
@click.option("--optimizer", type=click.Choice(["sgd", "adam", "adamw"]), default=None, help="[default: adamw]")
@click.option("--lr", type=FiniteFloat(min=0.0, min_open=True), default=None, help="Learning rate [default: 20 for sgd, 0.002 for adam/adamw].")
@click.option("--weight-decay", type=FiniteFloat(min=0.0), default=None, help="[default: 0]")
@click.option("--clip", type=FiniteFloat(min=0.0), default=None, help="Clip the gradients' total norm to this (0: no clipping) [default: 0.25].")
@click.option("--clip-value", is_flag=True, default=None, help="Clip each gradient component to +-CLIP instead of the norm.")
@click.option("--schedule", type=click.Choice(["plateau", "cosine", "none"]), default=None, help="Learning rate: divided by 4 when validation stops improving, cosine decay over the run, or fixed [default: plateau].")
@click.option("--patience", type=click.IntRange(min=0), default=None, help="Stop after this many epochs without a better validation loss (0: never) [default: 3].")
@click.option("--device", default="auto", show_default=True, help="auto, cpu, cuda, cuda:N or mps.")
@click.option("--bf16", is_flag=True, default=None, help="bf16 autocast (CUDA only).")
@click.option("--seed", type=int, default=None, help="Random seed: the same seed on the same device gives the same model [default: 1].")
@click.option("--resume", "resume_path", type=click.Path(dir_okay=False, exists=True), default=None, help="Continue from a checkpoint (NAME.last.pt), with its settings and tokenizer.")
@click.option("--log", "log_path", type=click.Path(dir_okay=False), default=None, help="Append metrics as JSON lines: one per step, one per validation.")
@click.option("--threads", type=click.IntRange(min=1), default=None,
              help="On CPU: threads for the matrix products [default: the cores not busy with other work].")
@errors_option
@quiet_option
@pass_app
def train_command(app: App, files: tuple[str, ...], output: str, arch: str | None, config_items: tuple[str, ...], level: str | None,
                  spm_path: str | None, valid_path: str | None, min_count: int, max_vocab: int | None, batch_size: int | None,
                  bptt: int | None, epochs: int | None, max_steps: int | None, time_budget: str | None, optimizer: str | None,
                  lr: float | None, weight_decay: float | None, clip: float | None, clip_value: bool | None, schedule: str | None,
                  patience: int | None, device: str, bf16: bool | None, seed: int | None, resume_path: str | None,
                  log_path: str | None, threads: int | None, errors: str, quiet: bool) -> None:
    """Train a neural language model on text and write checkpoints that sample and evaluate on
    any device (``textseq sample``, ``textseq eval``).

    Truncated backpropagation through time over BATCH-SIZE parallel streams, the hidden state
    carried from step to step; validation after every epoch (loss, perplexity, bits per
    character). Ctrl-C, SIGTERM, --max-steps and --time-budget leave a checkpoint that --resume
    continues exactly. One run at a time writes a given -O FILE."""
    app.quiet(quiet)
    from textseq.neural.lock import output_lock

    where, _ = _device(device, threads)
    given = {"batch_size": batch_size, "bptt": bptt, "epochs": epochs, "max_steps": max_steps,
             "time_budget": _duration(time_budget) if time_budget is not None else None, "optimizer": optimizer, "lr": lr,
             "weight_decay": weight_decay, "clip": clip, "clip_mode": "value" if clip_value else None, "schedule": schedule,
             "patience": patience, "seed": seed, "bf16": bf16}
    if resume_path is not None and (arch or config_items or level or spm_path):
        raise click.UsageError("--resume takes the architecture and tokenizer from the checkpoint: drop --arch, -c, --level, --spm")
    with output_lock(output):
        if resume_path is not None:
            run = _resumed_run(app, resume_path, where, given, files, errors)
        else:
            run = _new_run(app, arch or "lstm", config_items, level or "char", spm_path, given, files, errors, min_count, max_vocab)
        _train(app, run, files, valid_path, errors, output, where, log_path)


@dataclass
class _Run:
    """What a training run starts from: a new network, or a checkpoint's to resume."""

    arch: str
    config: dict[str, Any]
    codec: Any
    text: str
    train_ids: Any
    settings: Any
    model: Any
    origin: dict[str, Any] | None
    resume: dict[str, Any] | None = None
    resume_path: str | None = None


def _resumed_run(app: App, path: str, where: Any, given: dict[str, Any], files: tuple[str, ...], errors: str) -> _Run:
    """A run that continues checkpoint ``path``: its network, tokenizer and settings, the command
    line's --epochs, --max-steps and --time-budget over them."""
    from textseq.cli.common import read_blocks
    from textseq.neural.checkpoint import load_checkpoint, require
    from textseq.neural.codec import Codec
    from textseq.neural.loading import model_from_checkpoint
    from textseq.neural.resume import checked_progress, checked_settings

    resume = load_checkpoint(path, map_location=where)
    codec = Codec.from_state(resume["codec"], source=path)
    saved = checked_settings(require(resume, "settings", dict, path), path)
    if checked_progress(require(resume, "progress", dict, path), path).done and given["epochs"] is None:
        app.console.info(f"{path} finished its {saved.get('epochs', 10)} epochs; give --epochs N to train on")
    for key in ("epochs", "max_steps", "time_budget"):
        if given[key] is not None or key != "epochs":
            saved[key] = given[key]
    settings = _settings(saved, source=path)
    model = model_from_checkpoint(resume, codec, path)
    text = "".join(read_blocks(app, files, errors, "reading"))
    return _Run(resume["arch"], dict(resume["config"]), codec, text, codec.encode([text]), settings, model, resume.get("plugin"),
                resume, path)


def _new_run(app: App, arch: str, config_items: tuple[str, ...], level: str, spm_path: str | None, given: dict[str, Any],
             files: tuple[str, ...], errors: str, min_count: int, max_vocab: int | None) -> _Run:
    """A run of a new network: the architecture's suggested settings under the command line's."""
    import torch

    from textseq.cli.common import parse_params, read_blocks
    from textseq.neural.codec import Codec
    from textseq.neural.loading import architecture, architecture_origin, build_model

    suggested = dict(architecture(arch).metadata.get("train_defaults") or {})
    taken = {k: v for k, v in suggested.items() if given.get(k) is None}
    if taken:
        options = " ".join(f"--{key.replace('_', '-')} {value}" for key, value in taken.items())
        app.console.info(f"{arch}: its training defaults {options} (give an option to override it)")
    settings = _settings({**suggested, **{k: v for k, v in given.items() if v is not None}})
    config = parse_params(config_items)
    spm_model = _read_spm(level, spm_path)
    text = "".join(read_blocks(app, files, errors, "reading"))
    if not text.strip():
        raise InputError("no text to train on", source=", ".join(files) or "<stdin>")
    try:
        codec, train_ids = Codec.build(level, [text], spm_model=spm_model, spm_source=spm_path or "<sentencepiece model>",
                                       min_count=min_count, max_size=max_vocab)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    torch.manual_seed(settings.seed)
    try:
        model = build_model(arch, config, codec.vocab_size)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    return _Run(arch, config, codec, text, train_ids, settings, model, architecture_origin(arch))


def _read_spm(level: str, spm_path: str | None) -> bytes | None:
    """The bytes of --spm's model, which --level spm needs and no other level takes."""
    if level != "spm":
        if spm_path is not None:
            raise click.UsageError("--spm goes with --level spm")
        return None
    if spm_path is None:
        raise click.UsageError("--level spm needs --spm MODEL")
    try:
        with open(spm_path, "rb") as handle:
            return handle.read()
    except OSError as exc:
        raise InputError(f"cannot read ({exc.strerror})", source=spm_path) from None


def _settings(values: dict[str, Any], source: str | None = None) -> Any:
    """:class:`~textseq.neural.train.TrainSettings` of ``values``; a bad one is the command line's
    (a usage error) or, with ``source``, that checkpoint's."""
    from textseq.neural.train import TrainSettings

    try:
        return TrainSettings(**values)
    except (TypeError, ValueError) as exc:
        if source is not None:
            raise InputError(f"the checkpoint's training settings are wrong: {exc}", source=source) from None
        raise click.UsageError(str(exc)) from None


def _train(app: App, run: _Run, files: tuple[str, ...], valid_path: str | None, errors: str, output: str, where: Any,
           log_path: str | None) -> None:
    """Hold out or read the validation text, train, and say how it went."""
    from textseq.cli.common import read_blocks
    from textseq.neural.train import train

    codec, settings, train_ids = run.codec, run.settings, run.train_ids
    if valid_path is not None:
        valid_ids = codec.encode(read_blocks(app, (valid_path,), errors, "reading"))
    else:
        cut = _hold_out(run.text, codec, train_ids)
        train_ids, valid_ids = train_ids[:cut], train_ids[cut:]
        app.console.info(f"no --valid: holding out the last {len(valid_ids):,} {codec.unit} "
                         f"({100 * len(valid_ids) / max(1, len(valid_ids) + cut):.0f}%) of the training text for validation")
    if len(train_ids) < 2 * settings.batch_size or len(valid_ids) < 2:
        raise InputError(f"too little text: {len(train_ids):,} {codec.unit} to train on and {len(valid_ids):,} to validate on")
    model = run.model
    config = dict(getattr(model, "config", run.config))
    model.to(where)
    parameters = sum(p.numel() for p in model.parameters())
    app.console.info(f"{run.arch} on {where.type}: {parameters:,} parameters, {codec.vocab_size:,} {codec.level} tokens, "
                     f"{len(train_ids):,} to train on, {len(valid_ids):,} to validate on")
    if settings.bf16 and where.type != "cuda":
        app.console.info(f"--bf16 autocast is for CUDA devices: training in float32 on {where.type}")
    log = _open_log(log_path)
    reporter = ConsoleReporter(app.console, settings, codec)
    try:
        progress = train(model, codec, train_ids, valid_ids, settings, arch=run.arch, config=config, output=output, device=where,
                         resume=run.resume, resume_source=run.resume_path or "<checkpoint>", reporter=reporter, log=log,
                         origin=run.origin)
    finally:
        if log is not None:
            log.close()
    if progress.history:
        best = min(progress.history, key=lambda e: e["valid_loss"])
        extra = f", {best['valid_bpc']:.4f} bits per character" if "valid_bpc" in best else ""
        app.console.info(f"best validation loss {best['valid_loss']:.4f} (perplexity {best['valid_perplexity']:.2f}{extra}) "
                         f"after epoch {best['epoch']}: {output}")


def _open_log(path: str | None) -> Any:
    if path is None:
        return None
    try:
        return open(path, "a", encoding="utf-8")
    except OSError as exc:
        raise OutputError(f"cannot write the log ({exc.strerror})", source=path) from None


def _hold_out(text: str, codec: Any, ids: Any) -> int:
    """Where the held-out tail starts: the last 10% of the tokens, at a line start for word levels."""
    cut = int(len(ids) * (1 - HOLD_OUT))
    if codec.level != "char" and codec.eos_id >= 0:
        import numpy as np

        ends = np.flatnonzero(ids[:cut] == codec.eos_id)
        if len(ends):
            cut = int(ends[-1]) + 1
    return max(1, cut)


def _duration(value: str) -> float:
    units = {"s": 1, "m": 60, "min": 60, "h": 3600}
    text = value.strip().lower()
    for unit in sorted(units, key=len, reverse=True):
        if text.endswith(unit):
            number, scale = text[: -len(unit)], units[unit]
            break
    else:
        number, scale = text, 1
    try:
        seconds = float(number) * scale
    except ValueError:
        raise click.BadParameter(f"not a duration: {value!r} (say 90s, 20m or 1.5h)", param_hint="--time-budget") from None
    if not seconds > 0:
        raise click.BadParameter("must be more than 0", param_hint="--time-budget")
    return seconds


class ConsoleReporter:
    """Training progress on stderr: a bar with tokens/s on a terminal, a line per epoch always."""

    def __init__(self, console: Any, settings: Any, codec: Any) -> None:
        from contextlib import ExitStack

        self.console, self.settings, self.codec = console, settings, codec
        self._stack = ExitStack()
        self._update: Any = None
        self._started = 0.0
        self._steps = 0
        self._first_step: int | None = None
        self._tokens_per_step = 0
        self._losses: list[float] = []
        self._validating = 0.0
        self._last_step: float | None = None

    def begin(self, total_steps: int, tokens_per_step: int) -> None:
        self._steps, self._tokens_per_step = total_steps, tokens_per_step
        self._started = time.monotonic()
        self._update = self._stack.enter_context(self.console.progress("training", total=total_steps * tokens_per_step, unit="tokens"))

    def step(self, step: int, loss: float) -> None:
        if self._first_step is None:
            self._first_step = step - 1
        self._last_step = time.monotonic()
        self._losses.append(loss)
        if self._update is not None:
            self._update(step * self._tokens_per_step)

    def epoch(self, record: dict[str, Any]) -> None:
        now = time.monotonic()
        self._validating += now - (now if self._last_step is None else self._last_step)
        elapsed = now - self._started - self._validating  # training time alone, for tokens/s
        done = record["step"] - (self._first_step or 0)
        speed = done * self._tokens_per_step / max(elapsed, 1e-9)
        left = (self._steps - record["step"]) * self._tokens_per_step / max(speed, 1e-9) * (1 + self._validating / max(elapsed, 1e-9))
        train_loss = sum(self._losses) / max(1, len(self._losses))
        self._losses = []
        extra = f", {record['valid_bpc']:.4f} bits/char" if "valid_bpc" in record else ""
        eta = f", ETA {format_duration(left)}" if record["step"] < self._steps else ""
        self.console.info(f"epoch {record['epoch']}/{self.settings.epochs}: train loss {train_loss:.4f}, valid loss "
                          f"{record['valid_loss']:.4f} (perplexity {record['valid_perplexity']:.2f}{extra}), "
                          f"{speed:,.0f} tokens/s{eta}")

    def note(self, message: str) -> None:
        self.console.info(message)

    def end(self) -> None:
        self._stack.close()


def _device(name: str, threads: int | None = None) -> tuple[Any, int | None]:
    """(the device --device names, a usage error if this machine has none such; on the CPU, the
    threads its math uses, now set: ``threads``, or by default the idle cores, see
    :func:`textseq.neural.blas.use_cpu_threads`)."""
    from textseq.neural.train import pick_device

    try:
        where = pick_device(name)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--device") from None
    if where.type != "cpu":
        return where, None
    from textseq.neural.blas import use_cpu_threads

    return where, use_cpu_threads(threads)


def sample_checkpoint(app: App, path: str, prime: str, max_tokens: int, num_samples: int, temperature: float, top_k: int,
                      top_p: float, stop: str | None, seed: int | None, device: str, beam: int | None = None,
                      threads: int | None = None) -> None:
    """``textseq sample`` for a neural checkpoint: text streamed as it is drawn. A checkpoint whose
    (finite) weights overflow float32 on the way draws what it draws, without numpy's overflow
    warnings on stderr."""
    import numpy as np

    from textseq.neural.fused import fused_kernel
    from textseq.neural.loading import NeuralLM, load_model
    from textseq.sampling import SamplingOptions

    where, threads = _device(device, threads)
    model, codec, _ = load_model(path, where)
    options = SamplingOptions(temperature=temperature, top_k=top_k, top_p=top_p, max_tokens=max_tokens)
    prime_ids = codec.encode_prime(prime)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        lm = NeuralLM(model, codec, where)  # its stepper folds the weights together
        if beam is not None:
            _write_beams(app, lm, prime, prime_ids, beam, max_tokens, num_samples)
            return
        kernel = fused_kernel(lm, options, threads)
        _write_samples(app, lm, kernel, prime, prime_ids, options, num_samples, stop, np.random.default_rng(seed))


def _write_beams(app: App, lm: Any, prime: str, prime_ids: list[int], beam: int, max_tokens: int, count: int) -> None:
    from textseq.sampling import beam_search

    separator = " " if lm.codec.level == "word" else ""
    for tokens, _ in beam_search(lm, prime_ids, beam, max_tokens, count):
        text = prime + "".join((separator if (prime or i) else "") + lm.codec.piece(t) for i, t in enumerate(tokens))
        app.stdout.write((text if text.endswith("\n") else text + "\n").encode("utf-8"))


def _write_samples(app: App, lm: Any, kernel: Any, prime: str, prime_ids: list[int], options: Any, count: int, stop: str | None,
                   rng: Any) -> None:
    from textseq.neural.fused import sample_fused
    from textseq.sampling import sample

    codec = lm.codec
    separator = " " if codec.level == "word" else ""
    interactive = app.stdout.isatty() if hasattr(app.stdout, "isatty") else False
    for _ in range(count):
        text = prime
        app.stdout.write(prime.encode("utf-8"))
        drawn: list[int] = []
        tokens = sample(lm, prime_ids, options, rng) if kernel is None else sample_fused(lm, kernel, prime_ids, options, rng)
        for token in tokens:
            drawn.append(token)
            if codec.level == "spm":  # pieces join (and bytes combine) only in context: decode all, print the new end
                piece = codec.decode([*prime_ids, *drawn])[len(text):]
            else:
                piece = (separator if text else "") + codec.piece(token)
            text += piece
            app.stdout.write(piece.encode("utf-8"))
            if interactive:
                app.stdout.flush()
            if stop is not None and text.endswith(stop):
                break
        if not text.endswith("\n"):
            app.stdout.write(b"\n")
        app.stdout.flush()


def checkpoint_report(app: App, path: str, blocks: Any, device: str, threads: int | None = None) -> tuple[dict[str, Any], Any]:
    """``textseq eval`` of a neural checkpoint, in the n-gram report's terms: (report, each line's log10 probability)."""
    from textseq.neural.evaluate import evaluate
    from textseq.neural.loading import load_model

    where, _ = _device(device, threads)
    model, codec, _ = load_model(path, where)
    return evaluate(model, codec, blocks, where)
