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

import contextlib
import os
import time
from pathlib import Path
from typing import NamedTuple

from ..errors import SeedRunnerError
from .client import Engine, NotFoundError
from .images import connect
from .runner_identity import (BOOT_LABEL, HOST_LABEL, LOCK_LABEL, LOCK_PREFIX, PID_LABEL, PIDNS_LABEL, PROOF_LABELS,
                              RUN_LABEL, STALE_LOCK_SECONDS, START_LABEL, TIMENS_LABEL, UID_LABEL, Identity,
                              lock_state, proc_is_ours, stat_fields, here, runner_labels, runtime_dir)

__all__ = ["CleanupReport", "Identity", "Leftover", "cleanup_leftovers", "here", "reap", "runner_labels",
           "runtime_dir", "HOST_LABEL", "PID_LABEL", "RUN_LABEL"]

# Why a container was left (Leftover.reason), each with what removes it anyway.
ALIVE = "its runner is alive"
OTHER_PIDNS = "runner may be alive in another pid namespace"
OTHER_MACHINE = "another machine (or a runner from before a reboot)"
OTHER_USER = "another user's run"
OLD_RUNNER = "from an older seed-runner, without the labels that prove its runner's death"
IN_DOUBT = "cannot tell whether its runner is alive"
GONE = "its runner is gone"


def _lock_evidence(labels: dict[str, str]) -> bool | None:
    """True: the runner's lock is free (it is dead); False: it is held (alive); None: no usable lock file."""
    path = labels.get(LOCK_LABEL)
    if not path:
        return None
    stamp = Identity("", "", labels.get(BOOT_LABEL, ""), labels.get(PIDNS_LABEL, ""), labels.get(PID_LABEL, ""),
                     labels.get(START_LABEL, "")).stamp()
    return lock_state(path, uid=labels.get(UID_LABEL, ""), stamp=stamp)


def _process_evidence(labels: dict[str, str], me: Identity) -> tuple[bool | None, str]:
    """(True: the runner process is gone, False: it runs, None: cannot tell; why not)."""
    if labels.get(BOOT_LABEL) != me.boot_id or not me.boot_id:
        return None, OTHER_MACHINE
    if labels.get(PIDNS_LABEL) != me.pidns or not me.pidns:
        return None, OTHER_PIDNS
    pid_text = labels.get(PID_LABEL, "")
    same_clock = labels.get(TIMENS_LABEL, me.timens) == me.timens
    if not pid_text.isdigit() or int(pid_text) <= 0 or not proc_is_ours() or not same_clock:
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
        fields = stat_fields(pid)
    except OSError:
        return None, IN_DOUBT
    if fields is None:  # gone since
        return True, ""
    state, start = fields
    if state in ("Z", "X") or start != labels.get(START_LABEL):
        return True, ""  # a zombie, or the pid now belongs to another process
    return False, ""


class Leftover(NamedTuple):
    """One seed-runner container, and what was done with it."""

    id: str
    run_id: str
    state: str
    runner: str
    reason: str
    hint: str = ""


class CleanupReport:
    """What a cleanup removed, left (and why), and failed to remove."""

    __slots__ = ("removed", "left", "failed")

    def __init__(self) -> None:
        self.removed: list[Leftover] = []
        self.left: list[Leftover] = []
        self.failed: list[Leftover] = []


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
        if old and lock_state(path) is True:
            with contextlib.suppress(OSError):
                os.unlink(path)


def cleanup_leftovers(engine: Engine | None = None, *, include_live: bool = False, all_users: bool = False
                      ) -> list[str]:
    """Remove the invoking user's containers whose runner is proven dead; returns the removed ids.

    This runs before every `seed run`: one list call, filtered by the user's uid label.
    """
    label = None if include_live or all_users else f"{UID_LABEL}={os.getuid()}"
    return [item.id for item in reap(engine, include_live=include_live, all_users=all_users, label=label).removed]
