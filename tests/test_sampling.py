"""The draw itself: the short path of plain temperature sampling against the full distribution."""

import numpy as np
import pytest

from textseq.sampling import SamplingOptions, draw, next_distribution, next_token

LOGPROBS = np.r_[np.log([0.4, 0.25, 0.15, 0.1, 0.06, 0.04]), -np.inf]  # the last can never be drawn


@pytest.mark.parametrize("temperature", [1.0, 0.7, 1.6])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_next_token_draws_what_next_distribution_gives(temperature, dtype):
    """Same generator state, same token: the unnormalized weights only skip a division."""
    options = SamplingOptions(temperature=temperature)
    logprobs = LOGPROBS.astype(dtype)
    for seed in range(200):
        fast = next_token(logprobs, options, np.random.default_rng(seed))
        full = draw(next_distribution(logprobs, options), np.random.default_rng(seed))
        assert fast == full


def test_next_token_follows_the_distribution():
    options = SamplingOptions(temperature=0.5)
    rng = np.random.default_rng(3)
    counts = np.bincount([next_token(LOGPROBS, options, rng) for _ in range(20000)], minlength=len(LOGPROBS))
    expected = next_distribution(LOGPROBS, options)
    assert counts[-1] == 0
    assert np.allclose(counts / counts.sum(), expected, atol=0.012)


def test_next_token_with_a_cut_or_greedy_keeps_to_the_allowed_set():
    rng = np.random.default_rng(0)
    assert {next_token(LOGPROBS, SamplingOptions(top_k=2), rng) for _ in range(300)} == {0, 1}
    assert {next_token(LOGPROBS, SamplingOptions(temperature=0.0), rng) for _ in range(20)} == {0}
