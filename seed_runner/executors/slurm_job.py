"""The node's side of ``SlurmExecutor``: what a Slurm job runs (``python -m seed_runner.executors.slurm_job``).

::

    python -m seed_runner.executors.slurm_job SUBMISSION_FOLDER [TASK]

One run, on the node's engine (Docker, or whatever ``DOCKER_HOST`` says there), in the run folder the executor
chose. The submission folder (on the shared file system, the user's alone) holds, for each task ``N`` of the
job array (``TASK``, default ``$SLURM_ARRAY_TASK_ID``):

- ``requests``: every task's run request (settings included, secrets too), 0600: a table of offsets, then one
  pickled request a task. Each task reads its own and overwrites it with zeros at once; the executor deletes
  the file when every task of the array has started (or ended), and at close. One file an array, not one a
  task: 10,000 small files take a loaded disk tens of seconds to make;
- ``N.started``: written as the run starts (the executor marks its future running);
- ``N.done``: written last, atomically: the result, the run store's record of it, and whether a signal stopped
  it. Its absence after the job ended tells the executor the job died without finishing;
- ``N.cancel`` (or ``../cancel-all``), written by the executor before it ``scancel``s: the reason of the cancel
  (``cancelled`` or ``interrupted``). A SIGTERM without it came from Slurm itself (the time limit, a
  preemption): the run is stopped, and the executor asks Slurm why.

The job's script holds no secret (only these two paths), and neither does its environment (the executor exports
the names of a few variables the run needs: ``DOCKER_HOST``, ``SEED_HOME``, ``PATH``...).
"""

from __future__ import annotations

import os
import pickle
import signal
import struct
import sys
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..runtime.cancellation import Cancellation

if TYPE_CHECKING:
    from ..runtime.runner import RunResult

CANCEL_ALL = "cancel-all"
REQUESTS = "requests"


@dataclass(frozen=True)
class Delivered:
    """What a task leaves in ``N.done``: the run's result (without its plan), the run store's record of it, the
    Slurm job that ran it, and the signal that stopped it (None: it ended by itself or by an asked cancel)."""

    result: "RunResult"
    record: dict[str, Any] | None
    slurm_job: str | None
    signalled: int | None
    asked: str | None


def asked_reason(folder: Path, task: str) -> str | None:
    """The reason the executor gave for cancelling this task (its own file, or the whole executor's)."""
    for path in (folder / f"{task}.cancel", folder.parent / CANCEL_ALL):
        try:
            text = path.read_text(encoding="ascii").strip()
        except (OSError, UnicodeDecodeError):
            continue
        return "interrupted" if text == "interrupted" else "cancelled"
    return None


def write_requests(path: Path, requests: list[bytes]) -> None:
    """The requests of an array's tasks in one file (0600): their count, each one's (start, end), then them."""
    table = 8 + 16 * len(requests)
    spans, at = [], table
    for blob in requests:
        spans.append(struct.pack("<QQ", at, at + len(blob)))
        at += len(blob)
    write_atomically(path, struct.pack("<Q", len(requests)) + b"".join(spans) + b"".join(requests))


def take_request(path: Path, index: int) -> bytes:
    """Task ``index``'s request, overwritten with zeros in the file as soon as it is read (a secret in it is on
    the disk no longer than it must be)."""
    with open(path, "r+b") as file:
        (count,) = struct.unpack("<Q", file.read(8))
        if not 0 <= index < count:
            raise IndexError(f"task {index} is not in the {count} requests")
        file.seek(8 + 16 * index)
        start, end = struct.unpack("<QQ", file.read(16))
        file.seek(start)
        blob = file.read(end - start)
        if len(blob) != end - start:
            raise EOFError("the requests file is cut short")
        file.seek(start)
        file.write(b"\0" * len(blob))
    return blob


def slurm_job_here() -> str | None:
    """This job's id as squeue shows it: ``ARRAY_TASK`` for an array task, else the job id."""
    array, task = os.environ.get("SLURM_ARRAY_JOB_ID"), os.environ.get("SLURM_ARRAY_TASK_ID")
    if array and task:
        return f"{array}_{task}"
    return os.environ.get("SLURM_JOB_ID")


def write_atomically(path: Path, data: bytes) -> None:
    """A file that is complete whenever it exists (written aside, then renamed), the user's alone."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as file:
        file.write(data)  # no fsync: the rename makes it whole to readers; a crash loses the run anyway
    os.replace(temporary, path)


def run_task(folder: Path, task: str) -> int:
    """One run (see the module's doc); 0 once ``N.done`` is written, 4 when the request cannot be read."""
    token = Cancellation()
    signalled: list[int] = []

    def stop(signum: int, frame: Any) -> None:
        signalled.append(signum)
        token.cancel(asked_reason(folder, task) or "cancelled")  # type: ignore[arg-type]

    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGUSR1):
        signal.signal(signum, stop)
    try:
        request, options, manifest_document = pickle.loads(take_request(folder / REQUESTS, int(task)))
    except (OSError, pickle.UnpicklingError, EOFError, ValueError, IndexError) as exc:
        print(f"seed-runner slurm job: cannot read the run's request in {folder / REQUESTS}: {exc}", file=sys.stderr)
        return 4
    if manifest_document is not None:
        from ..manifest.model import Manifest

        options = replace(options, manifest=Manifest.from_dict(manifest_document))
    job = slurm_job_here()
    if job:  # recorded with the run's start: `seed runs` names the Slurm job while it runs
        request = replace(request, executor_job=f"slurm:{job}")
    write_atomically(folder / f"{task}.started", (job or "").encode("ascii", "replace"))
    from ..runtime.runner import run, stopped_before_start

    if token.cancelled:
        result = stopped_before_start(request, token.reason)
    else:
        result = run(request, cancel=token, **options.run_kwargs())
    from .recording import store_record

    record = store_record(str(request.run_id))
    delivered = Delivered(replace(result, plan=None), record, job, signalled[0] if signalled else None,
                          asked_reason(folder, task) if signalled else None)
    write_atomically(folder / f"{task}.done", pickle.dumps(delivered))
    return 0


def main(argv: list[str]) -> int:
    if len(argv) not in (2, 3):
        print("usage: python -m seed_runner.executors.slurm_job SUBMISSION_FOLDER [TASK]", file=sys.stderr)
        return 2
    task = argv[2] if len(argv) == 3 else os.environ.get("SLURM_ARRAY_TASK_ID", "0")
    if not task.isdigit():
        print(f"seed-runner slurm job: {task!r} is not a task number", file=sys.stderr)
        return 2
    return run_task(Path(argv[1]), task)


if __name__ == "__main__":  # the job's entry: pickled classes must be this module's, not __main__'s
    from seed_runner.executors.slurm_job import main as entry

    sys.exit(entry(sys.argv))
