"""``textseq embed``: word vectors: queries (neighbors, analogy, similarity), evaluation, maps and
format conversion. (Training, ``embed train``, registers here too.)

numpy and the library are imported inside the commands, so that ``textseq --help`` stays fast.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Literal, TypeAlias

import click

from textseq.cli.common import App, FiniteFloat, errors_option, json_option, pass_app, quiet_option
from textseq.embed.limits import MAX_DIMENSIONS, MAX_NEGATIVE, MAX_THREADS, MAX_WINDOW, format_bytes
from textseq.errors import InputError
from textseq.streams import isatty

if TYPE_CHECKING:
    from collections.abc import Callable

    from textseq.embed.vectors import Vectors

Answer = dict[str, Any]
"""A query's answer, as :mod:`textseq.embed.queries` gives it (and ``--json`` prints it)."""
Render: TypeAlias = "Callable[[Answer, bool], str]"
"""How a command prints one answer (``single``: the only one, so without a heading)."""

_vectors_argument = click.argument("vectors_path", metavar="VECS", type=click.Path(dir_okay=False, allow_dash=True))
_format_option = click.option(
    "--format",
    "file_format",
    type=click.Choice(["auto", "word2vec", "word2vec-binary", "glove"]),
    default="auto",
    show_default=True,
    help="The vector file's format: word2vec text (fastText .vec too) or binary, or GloVe text (no header); auto tells them apart.",
)


def _load(app: App, path: str, file_format: str, errors: str) -> Vectors:
    from textseq.embed.io import load_vectors

    if path == "-":
        raise click.UsageError("VECS must be a file (stdin carries the queries)")
    vectors = load_vectors(path, file_format, errors)
    app.console.info(f"{len(vectors):,} vectors of {vectors.dim} dimensions from {path}")
    return vectors


def _stdin_queries(app: App, arity: int, what: str) -> list[tuple[int, list[str]]]:
    """(line number, words) of each non-blank line of stdin."""
    from textseq.cli.common import read_lines
    from textseq.embed.queries import parse_query
    from textseq.streams import STDIN_NAME

    hint = f"reading queries from the terminal, {what} per line: end with Ctrl-D, or give them as arguments (see --help)"
    queries = []
    for line_no, line in enumerate(read_lines(app, hint=hint), 1):
        try:
            words = parse_query(line, arity, what)
        except ValueError as exc:
            raise InputError(str(exc), source=STDIN_NAME, line=line_no) from None
        if words is not None:
            queries.append((line_no, words))
    return queries


def _given(values: tuple[str | None, ...], arity: int, what: str) -> list[str] | None:
    present = [v for v in values if v is not None]
    if not present:
        return None
    if len(present) != arity:
        raise click.UsageError(f"give {what} ({arity} words), or none to read queries from stdin")
    return present


def _write(app: App, results: list[Answer], single: bool, render: Render | Literal["json"]) -> None:
    if render == "json":
        value = results[0] if single else results
        app.stdout.write((json.dumps(value, indent=2, ensure_ascii=False) + "\n").encode("utf-8"))
        return
    app.stdout.write("".join(render(r, single) for r in results).encode("utf-8"))


def _run_queries(
    app: App, given: list[str] | None, arity: int, what: str, answer: Callable[[list[str]], Answer], as_json: bool, render: Render
) -> None:
    from textseq.embed.vectors import UnknownWordError

    if given is not None:
        _write(app, [answer(given)], True, "json" if as_json else render)
        return
    results: list[Answer] = []
    failed = asked = 0
    for line_no, words in _stdin_queries(app, arity, what):
        asked += 1
        try:
            results.append(answer(words))
        except UnknownWordError as exc:
            failed += 1
            app.console.error(f"<stdin>:{line_no}: {exc}")
    _write(app, results, False, "json" if as_json else render)
    if failed:
        raise InputError(f"{failed} of {asked} queries had words not in the vocabulary")


@click.command(
    "neighbors",
    epilog="""\b
Examples:
  textseq embed neighbors book.vec king
  textseq embed neighbors book.vec king -k 5 --json
  printf 'king\\nparis\\n' | textseq embed neighbors book.vec     # one word per line""",
)
@_vectors_argument
@click.argument("word", required=False)
@click.option("-k", "--top", type=click.IntRange(min=1), default=10, show_default=True, help="How many neighbors.")
@_format_option
@json_option
@errors_option
@quiet_option
@pass_app
def neighbors_command(
    app: App, vectors_path: str, word: str | None, top: int, file_format: str, as_json: bool, errors: str, quiet: bool
) -> None:
    """The nearest words to WORD by cosine similarity: 'word<TAB>similarity' lines, nearest
    first. With no WORD, one word per line of stdin (each answer headed '# WORD')."""
    from textseq.embed.queries import neighbors

    app.quiet(quiet)
    given = [word] if word is not None else None
    vectors = _load(app, vectors_path, file_format, errors)

    def render(result: dict[str, Any], single: bool) -> str:
        head = "" if single else f"# {result['word']}\n"
        return head + "".join(f"{n['word']}\t{n['similarity']:.6f}\n" for n in result["neighbors"])

    _run_queries(app, given, 1, "a word", lambda w: neighbors(vectors, w[0], top), as_json, render)


@click.command(
    "analogy",
    epilog="""\b
Examples:
  textseq embed analogy book.vec man king woman          # man : king :: woman : ?  (queen)
  textseq embed analogy book.vec man king woman --cosmul -k 3
  printf 'man king woman\\nparis france rome\\n' | textseq embed analogy book.vec --json""",
)
@_vectors_argument
@click.argument("a", required=False)
@click.argument("b", required=False)
@click.argument("c", required=False)
@click.option("--cosmul", is_flag=True, help="3CosMul (Levy & Goldberg 2014) instead of 3CosAdd (b - a + c).")
@click.option("-k", "--top", type=click.IntRange(min=1), default=5, show_default=True, help="How many answers.")
@_format_option
@json_option
@errors_option
@quiet_option
@pass_app
def analogy_command(
    app: App,
    vectors_path: str,
    a: str | None,
    b: str | None,
    c: str | None,
    cosmul: bool,
    top: int,
    file_format: str,
    as_json: bool,
    errors: str,
    quiet: bool,
) -> None:
    """A is to B as C is to ?: the words nearest to B - A + C (3CosAdd), or best by 3CosMul,
    without A, B and C; 'word<TAB>score' lines. With no words, 'A B C' per line of stdin."""
    from textseq.embed.queries import analogy

    app.quiet(quiet)
    given = _given((a, b, c), 3, "A B C")
    vectors = _load(app, vectors_path, file_format, errors)
    key = "score" if cosmul else "similarity"

    def render(result: dict[str, Any], single: bool) -> str:
        head = "" if single else f"# {' '.join(result['query'])}\n"
        return head + "".join(f"{n['word']}\t{n[key]:.6f}\n" for n in result["answers"])

    _run_queries(app, given, 3, "A B C", lambda w: analogy(vectors, w[0], w[1], w[2], k=top, cosmul=cosmul), as_json, render)


@click.command(
    "similarity",
    epilog="""\b
Examples:
  textseq embed similarity book.vec king queen
  cut -f1,2 wordsim353.tsv | tr '\\t' ' ' | textseq embed similarity book.vec""",
)
@_vectors_argument
@click.argument("w1", required=False)
@click.argument("w2", required=False)
@_format_option
@json_option
@errors_option
@quiet_option
@pass_app
def similarity_command(
    app: App, vectors_path: str, w1: str | None, w2: str | None, file_format: str, as_json: bool, errors: str, quiet: bool
) -> None:
    """The cosine similarity of W1 and W2. With no words, 'W1 W2' per line of stdin, answered
    'W1<TAB>W2<TAB>similarity'."""
    from textseq.embed.queries import similarity

    app.quiet(quiet)
    given = _given((w1, w2), 2, "W1 W2")
    vectors = _load(app, vectors_path, file_format, errors)

    def render(result: dict[str, Any], single: bool) -> str:
        if single:
            return f"{result['similarity']:.6f}\n"
        return f"{result['words'][0]}\t{result['words'][1]}\t{result['similarity']:.6f}\n"

    _run_queries(app, given, 2, "W1 W2", lambda w: similarity(vectors, *w), as_json, render)


@click.command(
    "eval",
    epilog="""\b
Examples:
  textseq embed eval book.vec --analogies questions-words.txt --pairs wordsim353.tsv
  textseq embed eval book.vec --pairs simlex999.txt --json
  textseq embed eval book.bin --analogies questions-words.txt --restrict-vocab 30000""",
)
@_vectors_argument
@click.option(
    "--analogies",
    "analogies",
    multiple=True,
    type=click.Path(dir_okay=False),
    help="A Google-format analogy file (': section' lines, then 'a b c d'); repeatable.",
)
@click.option(
    "--pairs",
    "pairs",
    multiple=True,
    type=click.Path(dir_okay=False),
    help="Word pairs with human scores, 'w1<TAB>w2<TAB>score' ('#' comments): WordSim-353, SimLex-999; repeatable.",
)
@click.option(
    "--restrict-vocab",
    type=click.IntRange(min=1),
    default=300_000,
    show_default=True,
    help="Only the first (most frequent) N words count as the vocabulary.",
)
@click.option(
    "--case-sensitive",
    is_flag=True,
    help="Compare words as they are (by default all are upper-cased, the first of each case variant kept).",
)
@_format_option
@json_option
@errors_option
@quiet_option
@pass_app
def eval_command(
    app: App,
    vectors_path: str,
    analogies: tuple[str, ...],
    pairs: tuple[str, ...],
    restrict_vocab: int,
    case_sensitive: bool,
    file_format: str,
    as_json: bool,
    errors: str,
    quiet: bool,
) -> None:
    """Evaluate word vectors with gensim's protocol, so that the numbers compare one for one with
    KeyedVectors.evaluate_word_analogies and evaluate_word_pairs: analogy accuracy per section,
    semantic, syntactic and total (questions with unknown words skipped and counted as OOV), and
    Spearman's rho against human similarity scores with the share of OOV pairs. Blank lines and
    '#' comments are skipped; a malformed line (not four words, not 'w1<TAB>w2<TAB>score', a
    score that is not a number) is an error naming its line, where gensim skips it silently."""
    from textseq.embed.evaluate import evaluate_analogies, evaluate_pairs

    app.quiet(quiet)
    if not analogies and not pairs:
        raise click.UsageError("give --analogies FILE and/or --pairs FILE")
    vectors = _load(app, vectors_path, file_format, errors)
    report: dict[str, Any] = {
        "vectors": vectors_path,
        "restrict_vocab": restrict_vocab,
        "case_insensitive": not case_sensitive,
        "analogies": {},
        "pairs": {},
    }
    for path in analogies:
        report["analogies"][path] = evaluate_analogies(vectors, path, restrict_vocab, not case_sensitive).as_dict()
    for path in pairs:
        report["pairs"][path] = evaluate_pairs(vectors, path, restrict_vocab, not case_sensitive).as_dict()
    if as_json:
        app.stdout.write((json.dumps(report, indent=2, ensure_ascii=False) + "\n").encode("utf-8"))
        return
    app.stdout.write(format_report(report).encode("utf-8"))


def format_report(report: dict[str, Any]) -> str:
    lines: list[str] = []
    for path, result in report["analogies"].items():
        rows = [(s["section"], s) for s in result["sections"]]
        rows += [("semantic", result["semantic"]), ("syntactic", result["syntactic"]), ("total", result["total"])]
        width = max(len("section"), *(len(name) for name, _ in rows))
        lines.append(f"analogies: {path}")
        lines.append(f"{'section':<{width}}  {'correct':>7}  {'total':>6}  accuracy")
        for i, (name, s) in enumerate(rows):
            if i == len(result["sections"]):
                lines.append("-" * (width + 28))
            lines.append(f"{name:<{width}}  {s['correct']:>7,}  {s['total']:>6,}  {100 * s['accuracy']:7.2f}%")
        lines.append(f"OOV questions: {result['oov']:,} of {result['questions']:,} ({100 * result['oov_ratio']:.2f}%), skipped")
        lines.append("")
    if report["pairs"]:
        width = max(len("pairs"), *(len(p) for p in report["pairs"]))
        lines.append(f"{'pairs':<{width}}  spearman  pearson   pairs    OOV")
        for path, r in report["pairs"].items():
            lines.append(
                f"{path:<{width}}  {_correlation(r['spearman']):>8}  {_correlation(r['pearson']):>7}  {r['pairs']:>6,}  "
                f"{100 * r['oov_ratio']:5.2f}%"
            )
    return "\n".join(lines).rstrip("\n") + "\n"


def _correlation(value: float | None) -> str:
    """A correlation to 4 decimals; 'n/a' when undefined (every score, or every similarity, alike)."""
    return "n/a" if value is None else f"{value:.4f}"


def _check_output(app: App, output: str, binary: bool) -> None:
    """Before the work: a binary file to a terminal is a usage error, an unwritable path a data error."""
    from textseq.embed.io import check_output

    if output == "-" and binary and isatty(app.stdout):
        raise click.UsageError("binary vectors would go to the terminal: redirect stdout, or give -O FILE (or drop --binary)")
    check_output(output, binary, app.stdout)


@click.command(
    "plot",
    epilog="""\b
Examples:
  textseq embed plot book.vec king queen man woman paris france rome italy -O map.png
  textseq embed neighbors book.vec king -k 20 | cut -f1 | textseq embed plot book.vec -O king.png""",
)
@_vectors_argument
@click.argument("words", nargs=-1)
@click.option("-O", "--output", required=True, type=click.Path(dir_okay=False), help="The image to write (PNG; .svg, .pdf by name).")
@click.option("--title", default=None, help="A title over the map.")
@_format_option
@errors_option
@quiet_option
@pass_app
def plot_command(
    app: App, vectors_path: str, words: tuple[str, ...], output: str, title: str | None, file_format: str, errors: str, quiet: bool
) -> None:
    """A 2-D map of WORDS: the first two principal components of their vectors, labelled
    (matplotlib needed: pip install 'textseq[plot]'). With no WORDS, the first word of each line
    of stdin."""
    from textseq.embed.plot import plot_words

    app.quiet(quiet)
    if words:
        chosen = list(words)
    else:
        from textseq.cli.common import read_lines

        chosen = [line.split()[0] for line in read_lines(app) if line.split() and not line.startswith("#")]
    chosen = list(dict.fromkeys(chosen))
    if len(chosen) < 2:
        raise click.UsageError("give at least two words to plot")
    if output == "-":
        raise click.UsageError("a map is an image file: give -O FILE (.png; .svg, .pdf by name), not '-'")
    _check_output(app, output, binary=False)
    vectors = _load(app, vectors_path, file_format, errors)
    for word in chosen:
        vectors.row(word)  # an unknown word is one clear error before anything is drawn
    plot_words(vectors, chosen, output, title)
    app.console.info(f"wrote {output} ({len(chosen)} words)")


@click.command(
    "convert",
    epilog="""\b
Examples:
  textseq embed convert glove.6B.100d.txt -O glove.vec      # GloVe to word2vec text
  textseq embed convert book.vec --binary -O book.bin       # text to binary
  textseq embed convert book.bin -O book.vec.gz             # binary to compressed text""",
)
@_vectors_argument
@click.option(
    "-O",
    "--output",
    required=True,
    type=click.Path(dir_okay=False, allow_dash=True),
    help="The file to write, atomically (word2vec text, .gz compressed by name; '-' for stdout).",
)
@click.option("--binary", is_flag=True, help="Write word2vec's binary format (also chosen by a .bin name).")
@click.option("--limit", type=click.IntRange(min=1), default=None, help="Only the first N vectors.")
@_format_option
@errors_option
@quiet_option
@pass_app
def convert_command(
    app: App, vectors_path: str, output: str, binary: bool, limit: int | None, file_format: str, errors: str, quiet: bool
) -> None:
    """Convert vectors between word2vec text, word2vec binary, GloVe text and fastText .vec;
    the output is word2vec text or binary, which gensim, word2vec and fastText all read."""
    from textseq.embed.io import load_vectors, output_is_binary, save_vectors

    app.quiet(quiet)
    if vectors_path == "-":
        raise click.UsageError("VECS must be a file")
    binary = binary or (output != "-" and output_is_binary(output))
    if binary and output.endswith(".gz"):
        raise click.UsageError("binary vectors are not compressed: drop .gz or --binary")
    _check_output(app, output, binary)
    vectors = load_vectors(vectors_path, file_format, errors, limit=limit)
    save_vectors(vectors, output, binary, stdout=app.stdout)
    app.console.info(
        f"wrote {len(vectors):,} vectors of {vectors.dim} dimensions to {_output_name(output)} ({'binary' if binary else 'text'})"
    )


def _output_name(output: str) -> str:
    return "stdout" if output == "-" else output


def _dimensions(ctx: click.Context, param: click.Parameter, value: int) -> int:
    if value > MAX_DIMENSIONS:
        raise click.BadParameter(
            f"{value:,} dimensions is more than the {MAX_DIMENSIONS:,} that vector files may have "
            f"(one word's vector alone would take {format_bytes(4 * value)})"
        )
    return value


@click.command(
    "train",
    epilog="""\b
Examples:
  cat book.txt | textseq tokenize --lower | textseq embed train -O book.vec
  textseq embed train --method skipgram --epochs 5 --threads 2 -O book.vec book.tok
  textseq embed train --method cbow --hs -O book.vec book.tok           # hierarchical softmax
  textseq embed train --method glove --epochs 25 --window 10 -O book.vec book.tok
  textseq embed train --method ppmi-svd --dim 100 --window 5 --min-count 5 -O book.vec book.tok
  textseq embed train --method ppmi-svd -p shift=5 --binary -O book.bin book.tok
  textseq embed train -O - book.tok | gzip > book.vec.gz                 # vectors to stdout""",
)
@click.argument("files", nargs=-1, metavar="[FILE]...", type=click.Path(dir_okay=False, allow_dash=True))
@click.option(
    "-O",
    "--output",
    required=True,
    type=click.Path(dir_okay=False, allow_dash=True),
    help="The vectors file to write (word2vec text; .gz compressed by name), atomically; '-' for stdout.",
)
@click.option(
    "-m",
    "--method",
    default="skipgram",
    show_default=True,
    metavar="NAME",
    help="The embedder: skipgram, cbow, glove, ppmi-svd, or a plugin's (see 'textseq plugins').",
)
@click.option(
    "--negative", type=click.IntRange(0, MAX_NEGATIVE), default=None, help="word2vec: noise words per prediction [default: 5; 0 with --hs]."
)
@click.option(
    "--hs", is_flag=True, default=None, help="word2vec: hierarchical softmax over a Huffman tree (with --negative K too, both run)."
)
@click.option(
    "--sample", type=FiniteFloat(min=0.0), default=None, help="word2vec: subsampling threshold for frequent words [default: 1e-3]."
)
@click.option(
    "--epochs", type=click.IntRange(min=1), default=None, help="Passes over the text [default: the method's: word2vec 1, glove 25]."
)
@click.option(
    "--threads", type=click.IntRange(1, MAX_THREADS), default=None, help="Training threads [default: 1, the only bit-reproducible setting]."
)
@click.option(
    "--dim",
    type=click.IntRange(min=1),
    callback=_dimensions,
    default=100,
    show_default=True,
    help=f"Vector dimensions (at most {MAX_DIMENSIONS:,}).",
)
@click.option("--window", type=click.IntRange(1, MAX_WINDOW), default=5, show_default=True, help="Context words on each side.")
@click.option("--min-count", type=click.IntRange(min=1), default=5, show_default=True, help="Ignore words seen fewer times.")
@click.option("--seed", type=click.IntRange(min=0), default=1, show_default=True, help="Random seed: the same seed gives the same vectors.")
@click.option("--binary", is_flag=True, help="Write word2vec's binary format.")
@click.option("-p", "--param", "params", multiple=True, metavar="KEY=VALUE", help="An option for the method; repeatable.")
@errors_option
@quiet_option
@pass_app
def train_command(
    app: App,
    files: tuple[str, ...],
    output: str,
    method: str,
    negative: int | None,
    hs: bool | None,
    sample: float | None,
    epochs: int | None,
    threads: int | None,
    dim: int,
    window: int,
    min_count: int,
    seed: int,
    binary: bool,
    params: tuple[str, ...],
    errors: str,
    quiet: bool,
) -> None:
    """Train word vectors on a token stream (one sentence per line) and write them in word2vec
    format, most frequent word first.

    The text is read once for the vocabulary and spooled as word ids to a temporary file, which
    each epoch reads again: memory grows with the vocabulary, not with the text. Progress and
    each epoch's mean loss go to stderr."""
    from textseq.cli.common import parse_params, read_blocks
    from textseq.cli.progress import ConsoleMonitor
    from textseq.embed.io import save_vectors
    from textseq.embed.train import train_vectors

    app.quiet(quiet)
    _check_output(app, output, binary)
    options = parse_params(params)
    for name, value in (("negative", negative), ("hs", hs), ("sample", sample), ("epochs", epochs), ("threads", threads)):
        if value is not None:
            options[name] = value
    trained = train_vectors(
        read_blocks(app, files, errors, "reading"),
        method,
        options,
        dim=dim,
        window=window,
        min_count=min_count,
        seed=seed,
        monitor=ConsoleMonitor(app.console),
        source=", ".join(files) or "<stdin>",
    )
    vectors = trained.vectors
    save_vectors(vectors, output, binary, stdout=app.stdout)
    app.console.info(
        f"wrote {_output_name(output)}: {len(vectors):,} words x {vectors.dim} dimensions from {trained.tokens:,} tokens "
        f"in {trained.seconds:.1f} s"
    )


@click.group(
    "embed",
    epilog="""\b
Examples:
  textseq tokenize --lower book.txt | textseq embed train -O book.vec
  textseq embed neighbors book.vec king
  textseq embed analogy book.vec man king woman
  textseq embed eval book.vec --analogies questions-words.txt --pairs wordsim353.tsv
  textseq embed plot book.vec king queen man woman -O map.png
  textseq embed convert glove.txt --binary -O glove.bin""",
)
def embed_group() -> None:
    """Word vectors: nearest neighbors, analogies, similarities, evaluation, 2-D maps and
    conversion between word2vec, GloVe and fastText files."""


for _command in (train_command, neighbors_command, analogy_command, similarity_command, eval_command, plot_command, convert_command):
    embed_group.add_command(_command)
