"""One process at a time in a folder (a batch, a pipeline): an exclusive ``flock`` on a lock file that holds the
holder's pid. The lock dies with its process, so a folder whose runner was killed can be taken again at once."""

from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path
from typing import Callable, Iterator


@contextlib.contextmanager
def held(path: Path, *, in_use: Callable[[str], Exception], unopenable: Callable[[str], Exception]
         ) -> Iterator[None]:
    """Hold the lock file ``path`` for a block. ``in_use(pid)`` is raised when another process holds it,
    ``unopenable(reason)`` when it cannot be opened."""
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise unopenable(str(exc.strerror)) from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise in_use(os.pread(fd, 32, 0).decode("ascii", "replace").strip() or "?") from None
        except OSError:
            pass  # a file system without locks (some network mounts): run unguarded rather than not at all
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        yield
    finally:
        os.close(fd)  # releases the lock
