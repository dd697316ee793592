"""``textseq train``: neural language models (RNN, LSTM, GRU, fixed-window) on a text stream.

The command parses its options, opens its streams and shows progress; the run itself is the
library's (:func:`textseq.neural.session.prepare_training`, :class:`textseq.neural.train.Trainer`).
torch is imported inside the command, so ``textseq --help`` and the commands that need no torch
stay quick to start.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from textseq.cli.common import App, FiniteFloat, errors_option, input_files, pass_app, quiet_option

if TYPE_CHECKING:
    from textseq.neural.session import TrainingSession
    from textseq.neural.settings import Progress


@click.command(
    "train",
    epilog="""\b
Examples:
  textseq train --arch lstm --level char book.txt -O book.pt
  textseq train --arch char-medium --level char --time-budget 20m book.txt -O book.pt
  textseq train --arch lstm --level word --valid valid.txt -c hidden_size=200 -c tie_weights=true train.txt -O wt2.pt
  textseq train --resume book.last.pt book.txt -O book.pt          # continue exactly where it stopped
  textseq train --arch gru --level spm --spm book.model --device cuda --bf16 book.txt -O book.pt
  textseq train --log book.jsonl --tensorboard runs/book book.txt -O book.pt && textseq plot book.jsonl -O book.png""",
)
@input_files
@click.option(
    "-O",
    "--output",
    required=True,
    type=click.Path(dir_okay=False),
    help="The best checkpoint (by validation loss); the latest goes to NAME.last.pt.",
)
@click.option(
    "-a",
    "--arch",
    default=None,
    metavar="NAME",
    help="Architecture or preset: rnn, lstm, gru, nplm, char-small, word-medium, ... (see 'textseq plugins') [default: lstm].",
)
@click.option(
    "-c",
    "--config",
    "config_items",
    multiple=True,
    metavar="KEY=VALUE",
    help="An architecture option (layers, hidden_size, dropout, tie_weights, ...); repeatable.",
)
@click.option("--level", type=click.Choice(["char", "word", "spm"]), default=None, help="Tokens the model reads [default: char].")
@click.option(
    "--spm",
    "spm_path",
    type=click.Path(dir_okay=False, exists=True),
    default=None,
    help="A sentencepiece model, for --level spm (see 'textseq tokenize train-spm').",
)
@click.option(
    "--valid",
    "valid_path",
    type=click.Path(dir_okay=False, exists=True),
    default=None,
    help="Validation text [default: the last 10% of the training text, held out].",
)
@click.option("--min-count", type=click.IntRange(min=1), default=1, show_default=True, help="Word level: rarer words become <unk>.")
@click.option("--max-vocab", type=click.IntRange(min=3), default=None, help="Word level: at most this many tokens, the most frequent.")
@click.option("--batch-size", type=click.IntRange(min=1), default=None, help="Parallel streams per step [default: 20].")
@click.option(
    "--bptt", type=click.IntRange(min=1), default=None, help="Tokens per step and stream (truncated backpropagation) [default: 35]."
)
@click.option("--epochs", type=click.IntRange(min=1), default=None, help="Passes over the training text [default: 10].")
@click.option("--max-steps", type=click.IntRange(min=1), default=None, help="Stop after this many steps (resumable).")
@click.option(
    "--time-budget",
    default=None,
    metavar="DURATION",
    help="Stop after this much training time: 90s, 20m, 1.5h (resumable); a cosine schedule ends with it.",
)
@click.option("--optimizer", type=click.Choice(["sgd", "adam", "adamw"]), default=None, help="[default: adamw]")
@click.option(
    "--lr", type=FiniteFloat(min=0.0, min_open=True), default=None, help="Learning rate [default: 20 for sgd, 0.002 for adam/adamw]."
)
@click.option("--weight-decay", type=FiniteFloat(min=0.0), default=None, help="[default: 0]")
@click.option(
    "--clip", type=FiniteFloat(min=0.0), default=None, help="Clip the gradients' total norm to this (0: no clipping) [default: 0.25]."
)
@click.option("--clip-value", is_flag=True, default=None, help="Clip each gradient component to +-CLIP instead of the norm.")
@click.option(
    "--schedule",
    type=click.Choice(["plateau", "cosine", "none"]),
    default=None,
    help="Learning rate: divided by 4 when validation stops improving, cosine decay over the run, or fixed [default: plateau].",
)
@click.option(
    "--patience",
    type=click.IntRange(min=0),
    default=None,
    help="Stop after this many epochs without a better validation loss (0: never) [default: 3].",
)
@click.option("--device", default="auto", show_default=True, help="auto, cpu, cuda, cuda:N or mps.")
@click.option("--bf16", is_flag=True, default=None, help="bf16 autocast (CUDA only).")
@click.option("--seed", type=int, default=None, help="Random seed: the same seed on the same device gives the same model [default: 1].")
@click.option(
    "--resume",
    "resume_path",
    type=click.Path(dir_okay=False, exists=True),
    default=None,
    help="Continue from a checkpoint (NAME.last.pt), with its settings and tokenizer.",
)
@click.option(
    "--log",
    "log_path",
    type=click.Path(dir_okay=False),
    default=None,
    help="Append metrics as JSON lines: one per step, one per validation ('textseq plot' draws them).",
)
@click.option(
    "--tensorboard",
    "tensorboard_dir",
    type=click.Path(file_okay=False),
    default=None,
    metavar="DIR",
    help="Also write the metrics as TensorBoard scalars into DIR (needs pip install 'textseq[tensorboard]').",
)
@click.option(
    "--threads",
    type=click.IntRange(min=1),
    default=None,
    help="On CPU: threads for the matrix products, fixed for the run [default: the cores other work leaves idle, "
    "looked at again every 30 s].",
)
@errors_option
@quiet_option
@pass_app
def train_command(
    app: App,
    files: tuple[str, ...],
    output: str,
    arch: str | None,
    config_items: tuple[str, ...],
    level: str | None,
    spm_path: str | None,
    valid_path: str | None,
    min_count: int,
    max_vocab: int | None,
    batch_size: int | None,
    bptt: int | None,
    epochs: int | None,
    max_steps: int | None,
    time_budget: str | None,
    optimizer: str | None,
    lr: float | None,
    weight_decay: float | None,
    clip: float | None,
    clip_value: bool | None,
    schedule: str | None,
    patience: int | None,
    device: str,
    bf16: bool | None,
    seed: int | None,
    resume_path: str | None,
    log_path: str | None,
    tensorboard_dir: str | None,
    threads: int | None,
    errors: str,
    quiet: bool,
) -> None:
    """Train a neural language model on text and write checkpoints that sample and evaluate on
    any device (``textseq sample``, ``textseq eval``).

    Truncated backpropagation through time over BATCH-SIZE parallel streams, the hidden state
    carried from step to step; validation after every epoch (loss, perplexity, bits per
    character). Ctrl-C, SIGTERM, --max-steps and --time-budget leave a checkpoint that --resume
    continues exactly. One run at a time writes a given -O FILE."""
    app.quiet(quiet)
    from textseq.cli.common import parse_params, read_blocks
    from textseq.neural.blas import follows_idle_cores
    from textseq.neural.device import resolve_device
    from textseq.neural.lock import output_lock
    from textseq.neural.session import prepare_training
    from textseq.neural.settings import parse_duration

    if tensorboard_dir is not None:
        from textseq.neural.metrics_sinks import require_tensorboard

        require_tensorboard()
    where, _ = resolve_device(device, threads)
    given = {
        "batch_size": batch_size,
        "bptt": bptt,
        "epochs": epochs,
        "max_steps": max_steps,
        "time_budget": parse_duration(time_budget) if time_budget is not None else None,
        "optimizer": optimizer,
        "lr": lr,
        "weight_decay": weight_decay,
        "clip": clip,
        "clip_mode": "value" if clip_value else None,
        "schedule": schedule,
        "patience": patience,
        "seed": seed,
        "bf16": bf16,
    }
    config = parse_params(config_items, "--config") if config_items else None
    with output_lock(output):
        session = prepare_training(
            read_blocks(app, files, errors, "reading"),
            device=where,
            valid=read_blocks(app, (valid_path,), errors, "reading") if valid_path is not None else None,
            arch=arch,
            config=config,
            level=level,
            spm_path=spm_path,
            min_count=min_count,
            max_vocab=max_vocab,
            settings=given,
            resume_path=resume_path,
            source=", ".join(files) or "<stdin>",
        )
        _say_how_it_starts(app, session)
        progress = _train(app, session, output, log_path, tensorboard_dir, follows_idle_cores(threads))
    _say_how_it_went(app, progress, output)


def _say_how_it_starts(app: App, session: TrainingSession) -> None:
    """What the session found out on the way, in the command line's terms, and what trains on what."""
    info, settings, codec = app.console.info, session.settings, session.codec
    if session.finished:
        info(f"{session.resume_path} finished its {settings.epochs} epochs; give --epochs N to train on")
    if session.suggested:
        options = " ".join(f"--{key.replace('_', '-')} {value}" for key, value in session.suggested.items())
        info(f"{session.arch}: its training defaults {options} (give an option to override it)")
    train, valid = len(session.train_ids), len(session.valid_ids)
    if session.held_out:
        info(
            f"no --valid: holding out the last {valid:,} {codec.unit} ({100 * valid / max(1, valid + train):.0f}%) of the training "
            "text for validation"
        )
    info(
        f"{session.arch} on {session.device.type}: {session.parameters:,} parameters, {codec.vocab_size:,} {codec.level} tokens, "
        f"{train:,} to train on, {valid:,} to validate on"
    )
    if settings.bf16 and session.device.type != "cuda":
        info(f"--bf16 autocast is for CUDA devices: training in float32 on {session.device.type}")


def _train(
    app: App, session: TrainingSession, output: str, log_path: str | None, tensorboard_dir: str | None, follow_idle_cores: bool
) -> Progress:
    """The run, its progress on the console and its metrics in the log and the TensorBoard folder;
    on Ctrl-C or SIGTERM, where its resumable checkpoint is."""
    from textseq.cli.common import open_log
    from textseq.cli.progress import ConsoleMonitor
    from textseq.neural.metrics_sinks import JsonLinesSink, MetricsSink, TensorBoardSink

    sinks: list[MetricsSink] = []
    try:
        log = open_log(log_path)
        if log is not None:
            sinks.append(JsonLinesSink(log))
        if tensorboard_dir is not None:
            sinks.append(TensorBoardSink(tensorboard_dir))
        trainer = session.trainer(output, monitor=ConsoleMonitor(app.console), sinks=sinks, follow_idle_cores=follow_idle_cores)
        try:
            return trainer.run()
        except KeyboardInterrupt:
            if trainer.resumable is not None:
                app.console.info(f"interrupted: a resumable checkpoint is in {trainer.resumable} (--resume {trainer.resumable})")
            raise
    finally:
        for sink in sinks:
            sink.close()


def _say_how_it_went(app: App, progress: Progress, output: str) -> None:
    if progress.history:
        best = min(progress.history, key=lambda e: e["valid_loss"])
        extra = f", {best['valid_bpc']:.4f} bits per character" if "valid_bpc" in best else ""
        app.console.info(
            f"best validation loss {best['valid_loss']:.4f} (perplexity {best['valid_perplexity']:.2f}{extra}) "
            f"after epoch {best['epoch']}: {output}"
        )
