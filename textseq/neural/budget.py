"""A cosine schedule fitted to a time budget.

``--schedule cosine`` decays the learning rate over the run's epochs. Where ``--time-budget``
ends the run long before them (``textseq train --level char --arch lstm --time-budget 120s``
plans ten epochs and trains two), the rate would still be near its peak when time runs out, and
the model is the one of a noisy, high-rate phase. So a fresh run with both measures its first
:data:`MEASURED_STEPS` steps, works out how many steps fit in the time left (validations at the
ends of epochs included, each estimated at a third of a training step's time per token), and ends
the cosine there: the rate falls to zero as the budget runs out, and the run stops at that step if
it gets there first. The plan is the scheduler's own ``T_max`` (and a ``fitted_to_budget`` mark),
saved in the checkpoint with it, so a resumed run keeps to it.
"""

from __future__ import annotations

import math

MEASURED_STEPS = 20
"""Steps timed (after the first, which warms up) before the schedule is fitted."""

SCORING_SPEED_UP = 3.0
"""How much faster a validation token goes than a training token (forward only, in columns)."""


def steps_that_fit(seconds_left: float, seconds_per_step: float, seconds_per_validation: float, steps_per_epoch: int) -> int:
    """How many more steps fit in ``seconds_left`` at ``seconds_per_step``, with a validation of
    ``seconds_per_validation`` after every ``steps_per_epoch`` steps (at least 1)."""
    if seconds_per_step <= 0 or not math.isfinite(seconds_per_step):
        return 1
    per_step = seconds_per_step + seconds_per_validation / max(1, steps_per_epoch)
    return max(1, int(seconds_left / per_step))


def validation_seconds(valid_tokens: int, tokens_per_step: int, seconds_per_step: float) -> float:
    """The estimated time of one validation over ``valid_tokens``, from the training speed."""
    return valid_tokens / max(1, tokens_per_step) * seconds_per_step / SCORING_SPEED_UP
