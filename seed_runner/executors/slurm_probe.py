"""The probe of the folders a Slurm job must share with this machine, run as a Slurm job itself.

This machine writes a file of its own in each folder; one small job (the partition, account and QOS of the
runs) reads each back, writes one of its own beside it, and checks that the node's Python can import the
job's side of seed-runner; this machine then reads the node's files. A folder that passes covers the folders
below it (they are on the same file system). As ``DaskExecutor`` probes its workers, except that Slurm picks
one node: a cluster whose nodes mount differently is found out by the runs themselves (each says so).
"""

from __future__ import annotations

import os
import shlex
import socket
from pathlib import Path
from typing import Sequence

from .slurm_commands import SlurmError, SlurmRefused, sbatch_wait

PROBE_SECONDS = 300.0
"""How long the probe job may wait for a place and run, at most (a busy cluster queues it)."""


class SharedFolderError(SlurmError):
    """A folder the runs need is not seen (or not writable) on the node, or seed-runner is not there."""

    exit_status = 4


def probe_folders(folders: Sequence[Path], python: str, options: Sequence[str], *,
                  timeout: float = PROBE_SECONDS) -> None:
    """Check, from a Slurm job, that the node sees and can write each of ``folders`` as this machine does, and
    that ``python`` there imports seed-runner. Raises SharedFolderError naming the first that fails."""
    token = os.urandom(8).hex()
    here = socket.gethostname()
    mine = []
    for folder in folders:
        try:
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / f".seed-slurm-probe-{token}"
            path.write_text(f"{here} {token}\n", encoding="ascii")
        except OSError as exc:
            raise SharedFolderError(f"cannot write in {folder} ({exc.strerror}); give a folder the cluster's "
                                    "nodes share with --shared-dir") from None
        mine.append(path)
    report = folders[0] / f".seed-slurm-probe-{token}.out"
    lines = ["#!/bin/sh", f"{shlex.quote(python)} -c 'import seed_runner.executors.slurm_job' || exit 3"]
    for path in mine:
        quoted = shlex.quote(str(path))
        lines.append(f'[ "$(cat {quoted} 2>/dev/null)" = {shlex.quote(f"{here} {token}")} ] || exit 1')
        lines.append(f"echo \"$(hostname) {token}\" > {shlex.quote(str(path) + '.node')} || exit 2")
    try:
        sbatch_wait(["--job-name=seed-runner-probe", f"--output={report}", "--cpus-per-task=1", "--time=5",
                     "--no-requeue", "--export=PATH,HOME", *options], "\n".join(lines) + "\n", timeout)
        for folder, path in zip(folders, mine):
            try:
                seen = Path(str(path) + ".node").read_text(encoding="ascii").split()
            except (OSError, UnicodeDecodeError):
                seen = []
            if seen[-1:] != [token]:
                raise SharedFolderError(f"the Slurm node does not share {folder} with this machine (what it wrote "
                                        "there is not here); give a folder every node mounts at the same path "
                                        "with --shared-dir")
    except SlurmRefused:
        raise
    except SlurmError as exc:
        raise SharedFolderError(_why(exc, folders, python, report)) from None
    finally:
        for path in mine:
            for leftover in (path, Path(str(path) + ".node")):
                leftover.unlink(missing_ok=True)
        report.unlink(missing_ok=True)


def _why(exc: SlurmError, folders: Sequence[Path], python: str, report: Path) -> str:
    said = str(exc)
    if "(exit status 3)" in said:
        return (f"the Slurm node cannot run {python} -m seed_runner.executors.slurm_job (seed-runner must be "
                "installed there, at the same path, or name the node's Python with --slurm-python)")
    if "(exit status 1)" in said or "(exit status 2)" in said:
        shown = ", ".join(str(f) for f in folders[:3])
        return (f"the Slurm node does not see or cannot write {shown} as this machine does; give a folder every "
                "node mounts at the same path with --shared-dir")
    return f"the probe job of the shared folders failed: {said}"
