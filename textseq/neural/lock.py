"""One ``textseq train`` at a time on an output: a lock file beside it, held for the whole run.

Two runs writing one ``-O book.pt`` would leave a best checkpoint from one and a last from the
other. The lock is ``flock``'s on ``.book.pt.lock``, which the kernel releases when its process
ends however it ends: a lock file left by a run that crashed holds no lock, and the next run
takes it over. The file holds the running process's pid, which a refused run names.
"""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Iterator

from textseq.errors import OutputError


def lock_path(output: str) -> str:
    """The lock file of a run writing ``output``: ``runs/book.pt`` -> ``runs/.book.pt.lock``."""
    folder, name = os.path.split(output)
    return os.path.join(folder, f".{name}.lock")


@contextlib.contextmanager
def output_lock(output: str) -> Iterator[None]:
    """Hold ``output``'s lock file (:func:`lock_path`) while the block runs; a second holder is
    refused at once, naming the first one's pid. The file is removed at the end."""
    handle = _take_lock(lock_path(output), output) if not _is_special(output) else None
    try:
        yield
    finally:
        if handle is not None:
            with contextlib.suppress(OSError):
                os.unlink(lock_path(output))
            os.close(handle)


def _is_special(output: str) -> bool:
    """Whether ``output`` is a FIFO or a device (``/dev/null``), written into as it is: two runs
    into one lose no file, and a lock file in /dev would be litter."""
    try:
        return not stat.S_ISREG(os.stat(output).st_mode) and not stat.S_ISDIR(os.stat(output).st_mode)
    except OSError:
        return False


def _take_lock(path: str, output: str) -> int | None:
    """A descriptor of ``path`` under an exclusive flock, with this process's pid written in it;
    None where the file system has no flock (the run goes on unlocked)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not a POSIX system
        return None
    while True:
        try:
            handle = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        except FileNotFoundError:
            raise OutputError("folder does not exist", source=os.path.dirname(path) or ".") from None
        except OSError as exc:
            raise OutputError(f"cannot create the lock file {path} ({exc.strerror})", source=output) from None
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read_pid(handle)
            os.close(handle)
            raise OutputError(f"is being written by another textseq train (pid {holder})", source=output) from None
        except OSError:
            os.close(handle)
            return None
        if _still_named(handle, path):
            break
        os.close(handle)  # the run before unlinked the file between our open and our lock: lock the new one
    os.ftruncate(handle, 0)
    os.write(handle, f"{os.getpid()}\n".encode())
    return handle


def _read_pid(handle: int) -> str:
    try:
        text = os.pread(handle, 32, 0).decode("ascii", "replace").strip()
    except OSError:
        text = ""
    return text if text.isdigit() else "unknown"


def _still_named(handle: int, path: str) -> bool:
    """Whether ``path`` is still the file open as ``handle``."""
    try:
        return os.path.samestat(os.fstat(handle), os.stat(path))
    except OSError:
        return False
