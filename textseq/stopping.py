"""Ctrl-C and SIGTERM during training, taken between steps so that what is saved then resumes exactly."""

from __future__ import annotations

import signal
import threading
from typing import TYPE_CHECKING

from textseq.errors import Terminated

if TYPE_CHECKING:
    from collections.abc import Callable
    from types import FrameType
    from typing import TypeAlias

    _Handler: TypeAlias = Callable[[int, FrameType | None], object] | int | None


class StopRequest:
    """Ctrl-C (SIGINT) and SIGTERM during training are taken at the end of the current step, so
    that the checkpoint written then is exactly resumable; a second one interrupts at once.
    :meth:`check` raises KeyboardInterrupt, or :class:`~textseq.errors.Terminated` for SIGTERM."""

    def __init__(self) -> None:
        self.received: int | None = None
        self._previous: dict[int, _Handler] = {}
        if threading.current_thread() is threading.main_thread():
            for number in (signal.SIGINT, signal.SIGTERM):
                self._previous[number] = signal.signal(number, self._receive)

    def _receive(self, signum: int, frame: FrameType | None) -> None:
        self.received = signum
        self.restore()

    def check(self) -> None:
        if self.received == signal.SIGTERM:
            raise Terminated
        if self.received is not None:
            raise KeyboardInterrupt

    def restore(self) -> None:
        for number, handler in self._previous.items():
            signal.signal(number, handler if handler is not None else signal.SIG_DFL)
        self._previous = {}
