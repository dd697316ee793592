"""glibc keeps the large blocks a step frees: a block above its default mmap threshold comes from
the heap (reused from step to step), not from a fresh mapping that the kernel pages in again."""

from __future__ import annotations

import platform
import subprocess
import sys

import pytest

from helpers import SUBPROCESS_ENV

PROGRAM = """
import ctypes, sys
from textseq.neural.allocator import keep_freed_memory

class MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in
                ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks", "keepcost")]

libc = ctypes.CDLL(None)
if not hasattr(libc, "mallinfo2"):
    print("skip")
    sys.exit()
libc.mallinfo2.restype = MallInfo2
libc.malloc.restype, libc.malloc.argtypes = ctypes.c_void_p, [ctypes.c_size_t]
libc.free.argtypes = [ctypes.c_void_p]
kept = sys.argv[1] == "1" and keep_freed_memory()
mapped = []
for _ in range(2):
    before = libc.mallinfo2().hblks
    block = libc.malloc(40 << 20)  # above glibc's largest default mmap threshold (32 MiB)
    mapped.append(libc.mallinfo2().hblks - before)
    libc.free(block)
print(int(kept), *mapped)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux") or platform.libc_ver()[0] != "glibc", reason="glibc only")
@pytest.mark.parametrize("keep", [False, True])
def test_a_large_block_comes_from_the_heap_once_freed_memory_is_kept(keep):
    done = subprocess.run(
        [sys.executable, "-c", PROGRAM, "1" if keep else "0"], capture_output=True, text=True, env=SUBPROCESS_ENV, check=True
    )
    if done.stdout.strip() == "skip":
        pytest.skip("this glibc has no mallinfo2")
    kept, *mapped = map(int, done.stdout.split())
    assert kept == keep
    assert mapped == ([0, 0] if keep else [1, 1])  # without it, each step's block is a new mapping
