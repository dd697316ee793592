"""glibc's allocator told to keep the large blocks a training step frees, for the next step.

A CPU training step allocates and frees the same tensors of tens of megabytes each time (a word
model's logits and their gradients). glibc hands blocks above its mmap threshold (at most 32 MiB
by default) straight back to the kernel and trims the heap's top as soon as 128 KiB are free, so
each step maps fresh pages and faults on every one of them: for ``word-medium`` on wt2s a fifth
of the run's time was the kernel's (3.6 s of 16.7 s over 100 steps). With the thresholds raised
(what ``MALLOC_MMAP_THRESHOLD_`` and ``MALLOC_TRIM_THRESHOLD_`` would do) the same run took
14.1 s, 0.6 s of it in the kernel. The memory stays with the process for its next step, so its
peak is unchanged; it is not returned to the system until the process ends.

Elsewhere (another C library, macOS, Windows) nothing is changed.
"""

from __future__ import annotations

import ctypes
import functools
import platform
import sys

M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 256 << 20
TRIM_THRESHOLD = 1 << 30


@functools.cache
def keep_freed_memory() -> bool:
    """Raise glibc's mmap and trim thresholds for this process (once); False where it is not glibc."""
    if not sys.platform.startswith("linux") or platform.libc_ver()[0] != "glibc":
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    return bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD))
