#!/usr/bin/env python3
"""Fit the rational tanh of textseq/neural/lstm_kernel.py: tanh(x) = x P(x^2) / Q(x^2) on [0, 9].

The compiled sampling loop needs a tanh that vectorizes (libm's tanhf does not). An odd rational
function of degree 9/8 is fitted here by linearized least squares (x P(z) - t Q(z) = 0, with
z = x^2 and Q's constant term 1), reweighted by 1 / |Q| a few times so that the residual it
minimizes approaches the true error. Prints the coefficients and the largest error in float64
and in float32 arithmetic (the kernel clamps |x| to 9, where tanh is 1 - 3e-8).

    python tools/fit_tanh.py
"""

from __future__ import annotations

import numpy as np

x = np.linspace(0.0, 9.0, 200_001)[1:]
z = x * x
t = np.tanh(x)


def fit(degree_p: int, degree_q: int, rounds: int = 8) -> tuple[np.ndarray, np.ndarray]:
    weight = np.ones_like(x)
    for _ in range(rounds):
        columns = [x * z**k for k in range(degree_p + 1)] + [-t * z**k for k in range(1, degree_q + 1)]
        solution, *_ = np.linalg.lstsq(np.column_stack(columns) * weight[:, None], t * weight, rcond=None)
        p, q = solution[: degree_p + 1], np.r_[1.0, solution[degree_p + 1 :]]
        weight = 1.0 / np.abs(np.polyval(q[::-1], z))
    return p, q


def main() -> None:
    p, q = fit(4, 4)
    exact = x * np.polyval(p[::-1], z) / np.polyval(q[::-1], z)
    x32, z32 = x.astype(np.float32), z.astype(np.float32)
    single = x32 * np.polyval(p[::-1].astype(np.float32), z32) / np.polyval(q[::-1].astype(np.float32), z32)
    print("P:", ", ".join(f"{v:.8e}" for v in p))
    print("Q:", ", ".join(f"{v:.8e}" for v in q))
    print(f"largest error: {np.abs(exact - t).max():.1e} in float64, {np.abs(single - t).max():.1e} in float32")


if __name__ == "__main__":
    main()
