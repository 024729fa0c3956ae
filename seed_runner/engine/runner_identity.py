"""Who this runner is, and the lock it holds for its life: the labels every container it creates carries
(host, uid, boot id, pid and time namespaces, pid, process start time, lock file) and the lock file itself.

``reaper`` reads the same labels back to prove a runner dead; this module is the runner's side of that proof.
"""

from __future__ import annotations

import atexit
import contextlib
import errno
import fcntl
import os
import socket
import stat
import threading
from pathlib import Path
from typing import Iterator, NamedTuple

from ..runtime.plan import LABEL_PREFIX

RUN_LABEL = f"{LABEL_PREFIX}run-id"
PID_LABEL = f"{LABEL_PREFIX}runner-pid"
HOST_LABEL = f"{LABEL_PREFIX}runner-host"
UID_LABEL = f"{LABEL_PREFIX}runner-uid"
BOOT_LABEL = f"{LABEL_PREFIX}runner-boot-id"
PIDNS_LABEL = f"{LABEL_PREFIX}runner-pidns"
TIMENS_LABEL = f"{LABEL_PREFIX}runner-timens"  # start times differ across time namespaces
START_LABEL = f"{LABEL_PREFIX}runner-start"
LOCK_LABEL = f"{LABEL_PREFIX}runner-lock"
# The labels without which a runner's death cannot be proven (containers of older runners lack them).
PROOF_LABELS = (UID_LABEL, BOOT_LABEL, PIDNS_LABEL, PID_LABEL, START_LABEL)
LOCK_PREFIX = "runner-"
# A lock file nobody holds and no container names is swept after this many seconds (never a fresh one).
STALE_LOCK_SECONDS = 60.0




# NamedTuples and a plain class rather than dataclasses: this module is imported before every run, and a
# frozen dataclass costs about half a millisecond to define.
class Identity(NamedTuple):
    """A runner process as its labels name it."""

    host: str
    uid: str
    boot_id: str
    pidns: str
    pid: str
    start: str
    timens: str = ""

    def labels(self) -> dict[str, str]:
        return {HOST_LABEL: self.host, UID_LABEL: self.uid, BOOT_LABEL: self.boot_id, PIDNS_LABEL: self.pidns,
                PID_LABEL: self.pid, START_LABEL: self.start, TIMENS_LABEL: self.timens}

    def stamp(self) -> str:
        """The lock file's content: ties the file to this process (a reused path proves nothing)."""
        return f"{self.boot_id} {self.pidns} {self.pid} {self.start}"


def _read(path: str) -> str:
    try:
        with open(path, encoding="ascii", errors="replace") as file:
            return file.read().strip()
    except OSError:
        return ""


def stat_fields(pid: int | str) -> tuple[str, str] | None:
    """(state, start time) of a process from /proc/<pid>/stat; None when there is no such file.

    The command name (field 2) may hold spaces and parentheses: the fields are read after its last ``)``.
    Raises OSError when the file exists but cannot be read.
    """
    try:
        with open(f"/proc/{pid}/stat", "rb") as file:
            text = file.read().decode("ascii", "replace")
    except FileNotFoundError:
        return None
    rest = text[text.rfind(")") + 2:].split()
    if len(rest) < 20:
        raise OSError(errno.EIO, f"/proc/{pid}/stat has too few fields")
    return rest[0], rest[19]  # field 3 (state) and field 22 (starttime, clock ticks since boot)


def _namespace(kind: str) -> str:
    try:
        return str(os.stat(f"/proc/self/ns/{kind}").st_ino)
    except OSError:
        return ""


def here() -> Identity:
    """This process."""
    try:
        start = (stat_fields("self") or ("", ""))[1]
    except OSError:
        start = ""
    return Identity(socket.gethostname(), str(os.getuid()), _read("/proc/sys/kernel/random/boot_id"),
                    _namespace("pid"), str(os.getpid()), start, _namespace("time"))


def proc_is_ours() -> bool:
    """/proc shows our own pid namespace (not one mounted from a parent: ``unshare --pid`` without
    ``--mount-proc``), so that /proc/<pid> of a label's pid is that process."""
    try:
        return os.readlink("/proc/self") == str(os.getpid())
    except OSError:
        return False


def runtime_dir(create: bool = True) -> Path | None:
    """The invoking user's private directory for lock files: $XDG_RUNTIME_DIR/seed-runner, else
    /run/user/<uid>/seed-runner, else <tmp>/seed-runner-<uid>; only a directory the user owns that no one
    else may write to. None when there is none."""
    uid = os.getuid()
    xdg = os.environ.get("XDG_RUNTIME_DIR")
    def candidates() -> Iterator[Path]:
        if xdg:
            yield Path(xdg) / "seed-runner"
        yield Path(f"/run/user/{uid}/seed-runner")
        # tempfile.gettempdir()'s first choices, without importing tempfile (and random) on every run's start
        tmp = next((os.environ[v] for v in ("TMPDIR", "TEMP", "TMP") if os.environ.get(v)), "/tmp")
        yield Path(tmp) / f"seed-runner-{uid}"

    for directory in candidates():
        if not directory.parent.is_dir():
            continue
        if create:
            try:
                os.mkdir(directory, 0o700)
            except FileExistsError:
                pass
            except OSError:
                continue
        try:
            info = os.lstat(directory)
        except OSError:
            continue
        if stat.S_ISDIR(info.st_mode) and info.st_uid == uid and not info.st_mode & 0o022:
            return directory
    return None


_held: dict[int, tuple[int, str]] = {}  # pid -> (descriptor, path) of the lock this process holds
_guard = threading.Lock()


def _hold_lock(identity: Identity) -> str | None:
    """The path of the lock file this process holds until it ends (taken on first use); None if none can be."""
    with _guard:
        pid = os.getpid()
        if pid in _held:  # a forked child has its own pid, so its own lock
            return _held[pid][1]
        directory = runtime_dir()
        if directory is None:
            return None
        path = directory / f"{LOCK_PREFIX}{pid}-{os.urandom(6).hex()}.lock"
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
        except OSError:
            return None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            os.write(fd, f"{identity.stamp()}\n".encode())
        except OSError:
            os.close(fd)
            return None
        _held[pid] = (fd, str(path))
        atexit.register(_release, pid)
        return str(path)


def _release(pid: int) -> None:
    if os.getpid() != pid or pid not in _held:
        return
    fd, path = _held.pop(pid)
    with contextlib.suppress(OSError):
        os.unlink(path)
    os.close(fd)


def runner_labels() -> dict[str, str]:
    """The labels that name this runner process on its containers (this takes its lock on first use)."""
    identity = here()
    labels = identity.labels()
    lock = _hold_lock(identity)
    if lock:
        labels[LOCK_LABEL] = lock
    return labels


# -- judging ----------------------------------------------------------------------------------------------


def lock_state(path: str, *, uid: str | None = None, stamp: str | None = None) -> bool | None:
    """True: nobody holds the lock file at ``path``; False: someone does; None: no usable lock file there
    (missing, not a regular file, not owned by ``uid``, or without the content ``stamp``)."""
    try:  # a label may name any path: never open a device, a FIFO or a symbolic link
        if not stat.S_ISREG(os.lstat(path).st_mode):
            return None
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or (uid is not None and str(info.st_uid) != uid):
            return None
        if stamp is not None and os.read(fd, 512).decode("ascii", "replace").strip() != stamp:
            return None
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)  # shared: reapers side by side do not block each other
        except BlockingIOError:
            return False
        return True
    except OSError:
        return None
    finally:
        os.close(fd)
