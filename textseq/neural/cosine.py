"""A resumed cosine schedule re-planned to the resumed run's length.

A checkpoint keeps its cosine schedule's plan: the step where the rate reaches zero. A run resumed
with another ``--epochs`` asks for another end. Torch's CosineAnnealingLR would keep the old one
and, past it, climb back towards the peak rate over as many steps again, unannounced. Here the
plan moves to the resumed run's end instead:

- while the old cosine is still running, the rate goes on from where it is and falls along a
  cosine to zero at the new end (the scheduler's recursive form scales its current rate, so the
  rate is continuous);
- where it has ended (the rate is at its floor, so more steps would train nothing), a new cosine
  starts from the base rate and falls to zero at the new end: a warm restart (Loshchilov and
  Hutter's SGDR).

The scheduler's counter (``last_epoch``) then counts from the restart; the step where the cosine
ends is always ``step - last_epoch + T_max``. A schedule fitted to a time budget keeps its plan.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from torch.optim.lr_scheduler import CosineAnnealingLR


def cosine_end(scheduler: CosineAnnealingLR, step: int) -> int:
    """The step at which ``scheduler``'s rate reaches its floor, the run being at ``step``."""
    return step - int(scheduler.last_epoch) + int(scheduler.T_max)


def replan_cosine(scheduler: CosineAnnealingLR, step: int, end: int) -> str | None:
    """Move the cosine's end to ``end`` (the resumed run being at ``step``); what changed, in
    words, or None where the plan already ends there, was fitted to a time budget, or ``end`` is
    not past ``step``."""
    old_end = cosine_end(scheduler, step)
    if old_end == end or end <= step or getattr(scheduler, "fitted_to_budget", False) is True:
        return None
    if step < old_end:
        scheduler.T_max = end - step + int(scheduler.last_epoch)
        return f"the cosine schedule was to end at step {old_end:,}: it goes on from the rate reached and ends at step {end:,}"
    for group, base in zip(scheduler.optimizer.param_groups, scheduler.base_lrs, strict=True):
        group["lr"] = base
    scheduler.last_epoch = 0
    scheduler.T_max = end - step
    return (
        f"the cosine schedule ended at step {old_end:,}: it starts again from the base rate {scheduler.base_lrs[0]:g}"
        f" and falls to zero at step {end:,} (a warm restart)"
    )
