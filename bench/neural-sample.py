#!/usr/bin/env python3
"""Streamed sampling speed on CPU: ``textseq sample`` of a 2x512 character LSTM next to the loop of
PyTorch's word_language_model/generate.py on the same weights, in one run.

    bench/neural-sample.py [--model bench/data/neural-char.pt] [--tokens 20000]

The model is a char-medium checkpoint (2-layer LSTM, hidden 512, embedding 128, 66 characters):
bench/neural-char.py's if it exists, else one made here with ``textseq train --max-steps 1`` on
tinyshakespeare (the speed does not depend on how well it is trained).

textseq: ``textseq sample MODEL -n N --seed 1 > /dev/null``, in two regimes. A sample of fewer
than LONG_SAMPLE = 10,000 tokens is drawn by the numpy step; a longer one by the compiled loop
after its first 1,000 tokens (textseq/neural/fused.py). The rate of each is the difference
of two runs' tokens over the difference of their wall times, so that start-up (imports, loading,
and for the compiled loop numba's import and the numpy path's first 1,000 tokens) is left out:
N = 500 and LONG_SAMPLE - 500 for short samples, N = LONG_SAMPLE + 1,000 and that + --tokens
for long ones. The wall time
of the longest run, start-up and all, is reported too. A character model has no end token, so
exactly N characters are drawn. Run with ``--threads`` set to every core and to 1 (by default
sampling takes the cores that other work leaves idle; run this alone).

Reference: generate.py's loop, re-stated here (not its code) on the same weights in a torch
``nn.LSTM`` + ``nn.Linear``: one ``model(input, hidden)`` call per token, the output exponentiated
at temperature 1 and drawn with ``torch.multinomial``, inside ``torch.no_grad()``; timed in this
process after 200 warm-up tokens, the characters decoded and written to /dev/null as it goes,
with torch's default threads. Results go to bench/out/neural-sample.json.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "bench" / "data"
OUT = ROOT / "bench" / "out"
SHAKESPEARE = ROOT.parent / "shared" / "corpora" / "tinyshakespeare" / "input.txt"


def textseq_command() -> list[str]:
    script = shutil.which("textseq")
    return [script] if script else [sys.executable, "-m", "textseq"]


def make_model(textseq: list[str]) -> Path:
    model = DATA / "neural-sample.pt"
    if not model.exists():
        with tempfile.TemporaryDirectory(prefix="bench-sample-") as scratch:
            subprocess.run(
                [
                    *textseq,
                    "train",
                    "--arch",
                    "char-medium",
                    "--level",
                    "char",
                    "--max-steps",
                    "1",
                    "--batch-size",
                    "4",
                    "--bptt",
                    "16",
                    "-q",
                    "-O",
                    str(model),
                    str(SHAKESPEARE),
                ],
                check=True,
                cwd=scratch,
            )
    return model


def wall(textseq: list[str], model: Path, tokens: int, threads: int) -> float:
    started = time.perf_counter()
    subprocess.run(
        [*textseq, "sample", str(model), "-n", str(tokens), "--seed", "1", "--threads", str(threads)], stdout=subprocess.DEVNULL, check=True
    )
    return time.perf_counter() - started


def streaming_rate(textseq: list[str], model: Path, short: int, long: int, threads: int) -> tuple[float, float]:
    """Tokens/s between a ``short`` and a ``long`` sample (the best of two short runs), and the long run's wall time."""
    short_time = min(wall(textseq, model, short, threads) for _ in range(2))
    long_time = wall(textseq, model, long, threads)
    return (long - short) / (long_time - short_time), long_time


def time_reference(model_path: Path, tokens: int) -> float:
    import torch

    payload = torch.load(model_path, map_location="cpu", weights_only=True)
    weights, config = payload["model"], payload["config"]
    chars = payload["codec"]["tokens"]
    layers, hidden = config["layers"], config["hidden_size"]
    encoder = torch.nn.Embedding(len(chars), config["embedding_size"])
    rnn = torch.nn.LSTM(config["embedding_size"], hidden, layers)
    decoder = torch.nn.Linear(hidden, len(chars))
    encoder.weight.data.copy_(weights["encoder.weight"])
    rnn.load_state_dict({key[len("rnns.0.") :]: value for key, value in weights.items() if key.startswith("rnns.0.")})
    decoder.load_state_dict({"weight": weights["decoder.weight"], "bias": weights["decoder.bias"]})
    for module in (encoder, rnn, decoder):
        module.eval()
    torch.manual_seed(1)
    state = (torch.zeros(layers, 1, hidden), torch.zeros(layers, 1, hidden))
    token = torch.randint(len(chars), (1, 1), dtype=torch.long)
    with open(os.devnull, "w") as sink, torch.no_grad():

        def draw(count: int) -> None:
            nonlocal state, token
            for _ in range(count):
                output, state = rnn(encoder(token), state)
                weights_ = decoder(output).squeeze().div(1.0).exp()
                index = torch.multinomial(weights_, 1)[0]
                token.fill_(index)
                sink.write(chars[int(index)])

        draw(200)
        started = time.perf_counter()
        draw(tokens)
        return tokens / (time.perf_counter() - started)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, default=None)
    parser.add_argument("--tokens", type=int, default=20000)
    args = parser.parse_args()
    import torch

    textseq = textseq_command()
    model = args.model or (DATA / "neural-char.pt" if (DATA / "neural-char.pt").exists() else make_model(textseq))
    payload = torch.load(model, map_location="cpu", weights_only=True)
    reference = time_reference(model, args.tokens)
    results: dict[str, object] = {
        "model": str(model),
        "arch": payload["arch"],
        "config": payload["config"],
        "vocabulary": len(payload["codec"]["tokens"]),
        "tokens": args.tokens,
        "torch_threads": torch.get_num_threads(),
        "reference_tokens_per_s": reference,
        "textseq": {},
        "cpus": os.cpu_count(),
        "torch": torch.__version__,
        "date": time.strftime("%Y-%m-%d"),
    }
    out = sys.stdout
    config = payload["config"]
    out.write(
        f"{model.name}: {payload['arch']}, {config['layers']}x{config['hidden_size']} LSTM, embedding "
        f"{config['embedding_size']}, {results['vocabulary']} characters; {args.tokens:,} characters drawn; "
        f"{os.cpu_count()} CPUs, torch {torch.__version__}\n"
    )
    out.write(f"reference  generate.py's loop (nn.LSTM call per token, torch.multinomial): {reference:,.0f} tokens/s\n")
    from textseq.neural.fused import LONG_SAMPLE

    wall(textseq, model, LONG_SAMPLE + 1000, 1)  # the compiled loop is compiled (once) and cached before timing
    regimes = (
        ("short samples (numpy step)", 500, LONG_SAMPLE - 500),
        ("long samples (compiled loop)", LONG_SAMPLE + 1000, LONG_SAMPLE + 1000 + args.tokens),
    )
    for label, threads in ((f"--threads {os.cpu_count()}", os.cpu_count() or 1), ("--threads 1", 1)):
        for regime, short, long in regimes:
            rate, long_time = streaming_rate(textseq, model, short, long, threads)
            results["textseq"][f"{regime}, {label}"] = {"tokens_per_s": rate, "wall_s": long_time, "tokens": long}  # type: ignore[index]
            out.write(
                f"textseq    {label}, {regime}: {rate:,.0f} tokens/s ({rate / reference:.2f}x the reference; "
                f"-n {long:,} took {long_time:.2f} s in all); target >= 5,000: {'met' if rate >= 5000 else 'not met'}\n"
            )
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "neural-sample.json").write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
