#!/usr/bin/env python3
"""``textseq train --arch lstm --level char`` with no other option against a plain hand-written
LSTM training loop, the same network and the same time (issue 17: the plain network at the
character level should take the character recipe and not lose to a loop anyone would write).

    bench/char-loop.py [--seconds 120] [--seeds 1]

Data: bench/neural-char.py's nanoGPT split of tinyshakespeare. Both sides train for SECONDS of
wall time (start-up excluded on both sides), then score the same validation text:

- textseq: ``textseq train --arch lstm --level char --valid valid.txt --time-budget SECONDS -O M
  train.txt``, then ``textseq eval M.last.pt valid.txt --json`` (nats per character).
- the loop: what a PyTorch user writes for a character LSTM after char-rnn (Karpathy 2015) and
  PyTorch's examples: the same network as ``lstm``'s defaults (embedding 128, two layers of 256,
  dropout 0.1 between them and on the output), its own character vocabulary, Adam at 2e-3,
  gradient norm clipped to 5, batch 50 x 50 characters (char-rnn's), truncated BPTT carrying the
  state from window to window; scored by one stateful pass over the validation text. It runs in
  this process with the threads textseq would take on an idle machine (the cores).

The two run one after the other, never at once. Prints both losses and their difference; results
go to bench/out/char-loop.json.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import time
from pathlib import Path

from bench_scripts import load_script

OUT = Path(__file__).resolve().parent / "out"
MODELS = Path(__file__).resolve().parent / "data" / "char-loop"


def textseq_side(textseq: list[str], train: Path, valid: Path, seconds: float, seed: int) -> dict:
    MODELS.mkdir(parents=True, exist_ok=True)
    model = MODELS / f"lstm-seed{seed}.pt"
    command = [*textseq, "train", "--arch", "lstm", "--level", "char", "--valid", str(valid), "--time-budget", f"{seconds:g}s"]
    command += ["--seed", str(seed), "-O", str(model), str(train)]
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    said = next((line for line in done.stderr.splitlines() if "training defaults" in line), "")
    last = model.with_suffix(".last.pt")
    scored = subprocess.run([*textseq, "eval", str(last), str(valid), "--json"], capture_output=True, text=True, check=True)
    report = json.loads(scored.stdout)
    return {"loss": float(report["loss"]), "settings": said, "tokens": report.get("tokens")}


def loop_side(train_text: str, valid_text: str, seconds: float, seed: int) -> dict:
    import torch
    from torch import nn

    torch.manual_seed(seed)
    torch.set_num_threads(len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)
    chars = sorted(set(train_text))
    index = {c: i for i, c in enumerate(chars)}
    data = torch.tensor([index[c] for c in train_text], dtype=torch.long)
    valid = torch.tensor([index[c] for c in valid_text if c in index], dtype=torch.long)

    class CharLSTM(nn.Module):
        def __init__(self, vocab: int) -> None:
            super().__init__()
            self.embed = nn.Embedding(vocab, 128)
            self.lstm = nn.LSTM(128, 256, 2, dropout=0.1)
            self.drop = nn.Dropout(0.1)
            self.head = nn.Linear(256, vocab)

        def forward(self, x, state=None):
            y, state = self.lstm(self.embed(x), state)
            return self.head(self.drop(y)), state

    model = CharLSTM(len(chars))
    optimizer = torch.optim.Adam(model.parameters(), lr=2e-3)
    batch, bptt = 50, 50
    columns = data[: len(data) // batch * batch].view(batch, -1).t().contiguous()  # [T, B]
    state, steps, started = None, 0, time.perf_counter()
    model.train()
    while time.perf_counter() - started < seconds:
        for i in range(0, columns.size(0) - 1, bptt):
            if time.perf_counter() - started >= seconds:
                break
            x, y = columns[i : i + bptt], columns[i + 1 : i + 1 + bptt]
            x = x[: y.size(0)]
            if state is not None:
                state = tuple(s.detach() for s in state)
            logits, state = model(x, state)
            loss = nn.functional.cross_entropy(logits.reshape(-1, logits.size(-1)), y.reshape(-1))
            optimizer.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 5.0)
            optimizer.step()
            steps += 1
        state = None
    trained = time.perf_counter() - started
    model.eval()
    total, count, state = 0.0, 0, None
    with torch.no_grad():
        stream = valid.view(-1, 1)
        for i in range(0, stream.size(0) - 1, 256):
            x, y = stream[i : i + 256], stream[i + 1 : i + 257]
            x = x[: y.size(0)]
            logits, state = model(x, state)
            total += float(nn.functional.cross_entropy(logits.reshape(-1, logits.size(-1)), y.reshape(-1), reduction="sum"))
            count += y.numel()
    return {"loss": total / count, "steps": steps, "train_s": trained, "chars_per_s": steps * batch * bptt / trained}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=120.0)
    parser.add_argument("--seeds", default="1")
    args = parser.parse_args()
    char_bench = load_script("neural-char")
    train, valid, _, _ = char_bench.split()
    textseq = char_bench.textseq_command()
    train_text, valid_text = train.read_text(encoding="utf-8"), valid.read_text(encoding="utf-8")
    rows = []
    for seed in [int(s) for s in args.seeds.split(",")]:
        ours = textseq_side(textseq, train, valid, args.seconds, seed)
        theirs = loop_side(train_text, valid_text, args.seconds, seed)
        rows.append({"seed": seed, "textseq": ours, "loop": theirs})
        print(
            f"seed {seed}: textseq {ours['loss']:.4f} nats/char, plain loop {theirs['loss']:.4f} "
            f"({theirs['steps']:,} steps, {theirs['chars_per_s']:,.0f} chars/s)",
            file=sys.stderr,
            flush=True,
        )
    mean = {side: sum(row[side]["loss"] for row in rows) / len(rows) for side in ("textseq", "loop")}
    print(
        f"tinyshakespeare, {args.seconds:g} s of training each, lstm's default network ({rows[0]['textseq']['settings'] or 'no suggestion printed'})"
    )
    print(f"textseq train --arch lstm --level char: {mean['textseq']:.4f} nats/char (mean of {len(rows)})")
    print(f"plain hand-written loop (Adam 2e-3, batch 50 x 50): {mean['loop']:.4f} nats/char")
    verdict = "met" if mean["textseq"] <= mean["loop"] else "not met"
    print(f"textseq - loop: {mean['textseq'] - mean['loop']:+.4f} nats/char (textseq no worse: {verdict})")
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "char-loop.json").write_text(
        json.dumps({"seconds": args.seconds, "rows": rows, "mean": mean, "date": time.strftime("%Y-%m-%d")}, indent=2) + "\n"
    )
    return 0 if not math.isnan(mean["textseq"]) else 1


if __name__ == "__main__":
    sys.exit(main())
