"""Python's cyclic garbage collector held off while a loop makes millions of small objects that
form no cycles (tokens, lists of them): each collection walks every live object, the model's
vocabulary and the batch's tokens included, and costs more than the loop's own work."""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """No cyclic collection inside the block (reference counting frees as ever); the collector's
    state as it was afterwards."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
