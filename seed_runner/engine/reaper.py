"""Leftover containers: the proof that a container's runner is dead, before the container is removed.

Each container carries its runner process's identity (``runner_labels``): host name, uid, boot id, pid
namespace (inode of /proc/self/ns/pid), pid, start time (field 22 of /proc/<pid>/stat), and the path of a lock
file (``fcntl.flock``) the runner process holds as long as it lives, so for the whole life of its runs. A
container is removed only when its runner is proven dead: its lock file (a regular file of the runner's uid
whose content matches the labels) can be locked, or, with our boot id and pid namespace, no process has that
pid, or it started at another time (a reused pid), or is a zombie; and nothing says it is alive (a held lock,
the process with that start time). Anything else (another machine, another pid namespace, an unreadable
/proc, an older runner without these labels) is left and said so. Only the invoking user's runs by default.
"""

from __future__ import annotations

import atexit
import contextlib
import errno
import fcntl
import os
import socket
import stat
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from .client import Engine, NotFoundError
from .images import connect
from ..errors import SeedRunnerError
from ..runtime.plan import LABEL_PREFIX

__all__ = ["CleanupReport", "Identity", "Leftover", "cleanup_leftovers", "here", "reap", "runner_labels"]

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

# Why a container was left (Leftover.reason), each with what removes it anyway.
ALIVE = "its runner is alive"
OTHER_PIDNS = "runner may be alive in another pid namespace"
OTHER_MACHINE = "another machine (or a runner from before a reboot)"
OTHER_USER = "another user's run"
OLD_RUNNER = "from an older seed-runner, without the labels that prove its runner's death"
IN_DOUBT = "cannot tell whether its runner is alive"
GONE = "its runner is gone"


@dataclass(frozen=True)
class Identity:
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


def _stat_fields(pid: int | str) -> tuple[str, str] | None:
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
        start = (_stat_fields("self") or ("", ""))[1]
    except OSError:
        start = ""
    return Identity(socket.gethostname(), str(os.getuid()), _read("/proc/sys/kernel/random/boot_id"),
                    _namespace("pid"), str(os.getpid()), start, _namespace("time"))


def _proc_is_ours() -> bool:
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
    candidates = [Path(xdg) / "seed-runner"] if xdg else []
    candidates += [Path(f"/run/user/{uid}/seed-runner"), Path(tempfile.gettempdir()) / f"seed-runner-{uid}"]
    for directory in candidates:
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


def _lock_state(path: str, *, uid: str | None = None, stamp: str | None = None) -> bool | None:
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


def _lock_evidence(labels: dict[str, str]) -> bool | None:
    """True: the runner's lock is free (it is dead); False: it is held (alive); None: no usable lock file."""
    path = labels.get(LOCK_LABEL)
    if not path:
        return None
    stamp = Identity("", "", labels.get(BOOT_LABEL, ""), labels.get(PIDNS_LABEL, ""), labels.get(PID_LABEL, ""),
                     labels.get(START_LABEL, "")).stamp()
    return _lock_state(path, uid=labels.get(UID_LABEL, ""), stamp=stamp)


def _process_evidence(labels: dict[str, str], me: Identity) -> tuple[bool | None, str]:
    """(True: the runner process is gone, False: it runs, None: cannot tell; why not)."""
    if labels.get(BOOT_LABEL) != me.boot_id or not me.boot_id:
        return None, OTHER_MACHINE
    if labels.get(PIDNS_LABEL) != me.pidns or not me.pidns:
        return None, OTHER_PIDNS
    pid_text = labels.get(PID_LABEL, "")
    same_clock = labels.get(TIMENS_LABEL, me.timens) == me.timens
    if not pid_text.isdigit() or int(pid_text) <= 0 or not _proc_is_ours() or not same_clock:
        return None, IN_DOUBT
    pid = int(pid_text)
    try:
        os.kill(pid, 0)  # never 0 or negative (a process group): checked above
    except ProcessLookupError:
        return True, ""
    except PermissionError:  # there, another user's
        pass
    except OSError:
        return None, IN_DOUBT
    try:
        fields = _stat_fields(pid)
    except OSError:
        return None, IN_DOUBT
    if fields is None:  # gone since
        return True, ""
    state, start = fields
    if state in ("Z", "X") or start != labels.get(START_LABEL):
        return True, ""  # a zombie, or the pid now belongs to another process
    return False, ""


@dataclass(frozen=True)
class Leftover:
    """One seed-runner container, and what was done with it."""

    id: str
    run_id: str
    state: str
    runner: str
    reason: str
    hint: str = ""


@dataclass
class CleanupReport:
    removed: list[Leftover] = field(default_factory=list)
    left: list[Leftover] = field(default_factory=list)
    failed: list[Leftover] = field(default_factory=list)


def _runner_text(labels: dict[str, str]) -> str:
    pid, host = labels.get(PID_LABEL, "?"), labels.get(HOST_LABEL, "?")
    uid = labels.get(UID_LABEL)
    return f"pid {pid} on {host}" + (f", uid {uid}" if uid is not None else "")


def _judge(labels: dict[str, str], me: Identity, *, include_live: bool, all_users: bool
           ) -> tuple[bool, str, str]:
    """(remove?, reason, hint for removing it anyway)."""
    if any(name not in labels for name in PROOF_LABELS):
        if include_live and all_users:
            return True, "removed by --all --all-users", ""
        return False, OLD_RUNNER, "`seed cleanup --all --all-users` removes it"
    if labels[UID_LABEL] != me.uid and not all_users:
        return False, OTHER_USER, "`seed cleanup --all-users` removes it once its runner is proven dead"
    if include_live:
        return True, "removed by --all", ""
    anyway = "`seed cleanup --all" + (" --all-users" if labels[UID_LABEL] != me.uid else "") + "` removes it"
    lock = _lock_evidence(labels)
    proc, why = _process_evidence(labels, me)
    if lock is False:
        return False, f"{ALIVE} (it holds its lock)", anyway
    if proc is False:
        return False, ALIVE, anyway
    if lock or proc:
        return True, GONE, ""
    return False, why, anyway


def reap(engine: Engine | None = None, *, include_live: bool = False, all_users: bool = False,
         label: str | None = None) -> CleanupReport:
    """Remove the containers of runs whose runner is proven dead, and say what was left and why.

    ``include_live``: also the invoking user's runs in progress (and those that cannot be judged);
    ``all_users``: other users' runs too (with ``include_live``, also containers of older runners, which
    carry no owner). ``label`` narrows the containers considered (``key`` or ``key=value``; default: every
    seed-runner container). One list call; no container is inspected.
    """
    engine = engine or connect()
    me = here()
    report = CleanupReport()
    freed: dict[str, dict[str, str]] = {}  # lock files of runners proven dead -> their labels
    keep: set[str] = set()
    for container in engine.list_containers(label or RUN_LABEL):
        labels = {str(k): str(v) for k, v in (container.get("Labels") or {}).items()}
        if RUN_LABEL not in labels:
            continue
        remove, reason, hint = _judge(labels, me, include_live=include_live, all_users=all_users)
        leftover = Leftover(str(container["Id"]), labels[RUN_LABEL], str(container.get("State") or ""),
                            _runner_text(labels), reason, hint)
        lock = labels.get(LOCK_LABEL, "")
        if not remove:
            report.left.append(leftover)
            keep.add(lock)
            continue
        try:
            engine.remove(leftover.id)
        except NotFoundError:  # removed meanwhile (its runner finished, or another reaper)
            continue
        except SeedRunnerError as exc:
            report.failed.append(Leftover(leftover.id, leftover.run_id, leftover.state, leftover.runner,
                                          f"could not remove it: {exc}"))
            keep.add(lock)
            continue
        report.removed.append(leftover)
        if reason == GONE and lock:
            freed[lock] = labels
    _forget_locks({path: labels for path, labels in freed.items() if path not in keep})
    return report


def _forget_locks(freed: dict[str, dict[str, str]]) -> None:
    """Delete the lock files of runners proven dead (only a file the labels' own evidence matches, never
    whatever a label names), and stale ones of our own that nobody holds."""
    for path, labels in freed.items():
        if Path(path).name.startswith(LOCK_PREFIX) and _lock_evidence(labels) is True:
            with contextlib.suppress(OSError):
                os.unlink(path)
    directory = runtime_dir(create=False)
    if directory is None:
        return
    try:
        names = [n for n in os.listdir(directory) if n.startswith(LOCK_PREFIX) and n.endswith(".lock")]
    except OSError:
        return
    for name in names:
        path = str(directory / name)
        try:
            old = time.time() - os.lstat(path).st_mtime > STALE_LOCK_SECONDS
        except OSError:
            continue
        if old and _lock_state(path) is True:
            with contextlib.suppress(OSError):
                os.unlink(path)


def cleanup_leftovers(engine: Engine | None = None, *, include_live: bool = False, all_users: bool = False
                      ) -> list[str]:
    """Remove the invoking user's containers whose runner is proven dead; returns the removed ids.

    This runs before every `seed run`: one list call, filtered by the user's uid label.
    """
    label = None if include_live or all_users else f"{UID_LABEL}={os.getuid()}"
    return [item.id for item in reap(engine, include_live=include_live, all_users=all_users, label=label).removed]
