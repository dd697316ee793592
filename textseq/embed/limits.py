"""The bounds on sizes that word vectors and their training take, and the memory check made before
a large allocation.

A size that a file declares or an option asks for is checked here before anything of that size
is allocated, so that a wrong number ends in one clear line instead of an allocation of terabytes.
Nothing here imports numpy, so the command line can use these bounds for its options and stay quick
to start.
"""

from __future__ import annotations

import numbers
import os
import resource

MAX_DIMENSIONS = 100_000
"""The most dimensions a vector file may have or training may make (400 kB a word in float32)."""
MAX_WINDOW = 1_000
"""The widest context window training takes (each side)."""
MAX_NEGATIVE = 1_000
"""The most noise words per prediction word2vec takes."""
MAX_THREADS = 512
"""The most training threads."""


def format_bytes(size: float) -> str:
    """``size`` bytes in binary units: '381.5 GiB'."""
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if size < 1024 or unit == "PiB":
            return f"{size:,.0f} {unit}" if unit == "bytes" else f"{size:,.1f} {unit}"
        size /= 1024
    raise AssertionError("unreachable")


def available_memory() -> int | None:
    """Bytes this process can still allocate and touch: the system's available memory (Linux's
    MemAvailable, else the physical memory), less when an address-space limit (``ulimit -v``) is
    lower; None when neither can be read."""
    limits = [size for size in (_system_available(), _address_space_left()) if size is not None]
    return min(limits) if limits else None


def _system_available() -> int | None:
    try:
        with open("/proc/meminfo", encoding="ascii") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, AttributeError):
        return None


def _address_space_left() -> int | None:
    soft, _ = resource.getrlimit(resource.RLIMIT_AS)
    if soft == resource.RLIM_INFINITY:
        return None
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmSize:"):
                    return max(0, soft - int(line.split()[1]) * 1024)
    except (OSError, ValueError, IndexError):
        pass
    return soft


class MemoryNeeded(ValueError):
    """An allocation that would not fit in the memory there is; the message says how much it needs."""


def check_memory(needed: float, what: str, advice: str) -> None:
    """Raise :class:`MemoryNeeded` when ``needed`` bytes for ``what`` exceed the memory available."""
    available = available_memory()
    if available is not None and needed > available:
        raise MemoryNeeded(
            f"{what} needs about {format_bytes(needed)} of memory, more than the {format_bytes(available)} available: {advice}"
        )


def whole_number(name: str, value: object) -> int:
    """``value`` as an int if it is a whole number (an integer of any kind but a bool, or a float
    without a fraction), else a ValueError naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, (numbers.Integral, float)) or (isinstance(value, float) and not value.is_integer()):
        raise ValueError(f"{name} must be a whole number, not {value!r}")
    return int(value)


def bounded(name: str, value: object, low: int, high: int) -> int:
    """``value`` if it is a whole number in [low, high], else a ValueError naming ``name``."""
    number = whole_number(name, value)
    if not low <= number <= high:
        raise ValueError(f"{name} must be between {low:,} and {high:,}, not {number:,}")
    return number
