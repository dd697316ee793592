"""``textseq plot``: training curves from the ``--log`` files of ``textseq train`` and
``textseq classify train`` (the library's :mod:`textseq.curves`)."""

from __future__ import annotations

import click

from textseq.cli.common import App, errors_option, pass_app, quiet_option


@click.command(
    "plot",
    epilog="""\b
Examples:
  textseq train --log lstm.jsonl book.txt -O lstm.pt && textseq plot lstm.jsonl -O lstm.png
  textseq plot lstm.jsonl gru.jsonl --x tokens -O compare.svg
  textseq plot runs/a/log.jsonl runs/b/log.jsonl --label "lr 0.002" --label "lr 0.001" --x time -O lr.pdf
  textseq classify train --log topics.jsonl train.txt -O topics.tsc && textseq plot topics.jsonl -O topics.png""",
)
@click.argument("logs", nargs=-1, required=True, metavar="LOG...", type=click.Path(dir_okay=False, allow_dash=True))
@click.option(
    "-O", "--output", required=True, type=click.Path(dir_okay=False), help="The image, written atomically: .png, .svg or .pdf by its name."
)
@click.option(
    "--label", "labels", multiple=True, metavar="NAME", help="The legend's name of each LOG in turn; repeatable [default: the file's name]."
)
@click.option(
    "--x",
    "x",
    type=click.Choice(["steps", "tokens", "time"]),
    default="steps",
    show_default=True,
    help="The horizontal axis: training steps, tokens trained (runs of different batch sizes compare), or wall time.",
)
@click.option(
    "--smooth",
    type=click.IntRange(min=0),
    default=None,
    metavar="N",
    help="The training loss's running mean over N steps (0 or 1: none) [default: a fiftieth of the steps].",
)
@click.option("--title", default=None, help="A title over the curves.")
@errors_option
@quiet_option
@pass_app
def plot_command(
    app: App,
    logs: tuple[str, ...],
    output: str,
    labels: tuple[str, ...],
    x: str,
    smooth: int | None,
    title: str | None,
    errors: str,
    quiet: bool,
) -> None:
    """Training curves: the training and validation loss of each LOG (written by 'textseq train
    --log' or 'textseq classify train --log'), overlaid in one image.

    The training loss of every step is drawn faint, its running mean over it, the validation
    loss as points (matplotlib needed: pip install 'textseq[plot]'). A log that a resumed run
    appended to is one run, its stop and resume left out of the wall time; a run that started
    again from step 1 in the same log is drawn apart, as NAME (run 2). A classifier's log is
    drawn against epochs or training time."""
    app.quiet(quiet)
    from textseq.curves import image_format, plot_curves, read_logs
    from textseq.embed.plot import load_pyplot
    from textseq.streams import check_writable

    if output == "-":
        raise click.UsageError("curves are an image file: give -O FILE (.png, .svg or .pdf), not '-'")
    if len(labels) > len(logs):
        raise click.BadParameter(f"{len(labels)} labels for {len(logs)} logs", param_hint="--label")
    if logs.count("-") > 1:
        raise click.BadParameter("standard input ('-') can be read once", param_hint="LOG...")
    image_format(output)
    check_writable(output)
    load_pyplot()
    runs = read_logs(logs, labels, app.stdin, errors)
    for note in plot_curves(runs, output, x=x, smooth=smooth, title=title):
        app.console.info(note)
    app.console.info(f"wrote {output} ({len(runs)} run{'s' if len(runs) != 1 else ''})")
