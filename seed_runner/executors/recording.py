"""A run's record in this machine's run store, for the executors whose runs end elsewhere (a Dask worker, a
Slurm node): the record the run's own host made, copied in; a change to it (the folder moved, the job that ran
it, its end); and the result of a run lost on the way, a system error recorded here. A store that cannot be
written never changes a run's outcome (as in the runner)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..runtime.run_result import read_result

if TYPE_CHECKING:
    from ..runtime.plan import RunRequest
    from ..runtime.runner import RunResult


def store_record(run_id: str) -> dict[str, Any] | None:
    """This host's run store's record of a run, as a worker or a Slurm job reads it to send it back (None: not
    recorded, or no store)."""
    from ..store.runstore import RunStore, StoreError

    try:
        with RunStore.open(create=False) as store:
            return store.get(run_id)
    except StoreError:
        return None


def keep_record(record: dict[str, Any] | None) -> None:
    """Write a worker's (a node's) record of a run into this machine's run store (the same row when they share
    one)."""
    if record is None:
        return
    from ..store.runstore import RunStore, StoreError

    try:
        with RunStore.open() as store:
            store.record_started(record)
    except StoreError:
        pass


def restate(run_id: str, *, document: dict[str, Any] | None = None, run_dir: str | None = None,
            executor_job: str | None = None) -> None:
    """Change a recorded run: its folder (moved to ``outputs_to``), the executor's job that ran it
    (``slurm:1234``, which `seed runs` shows), its end (from ``document``: a row of the document is inserted
    when none is there)."""
    from ..store.runstore import RunStore, StoreError

    changed = {name: value for name, value in (("run_dir", run_dir), ("executor_job", executor_job)) if value is not None}
    try:
        with RunStore.open() as store:
            try:
                record: dict[str, Any] | None = store.get(run_id)
            except StoreError:
                record = None
            if record is not None and changed:
                record = {**record, **changed}
                store.record_started(record)  # the whole row again, changed
            if document is not None:
                store.record_finished(document, record)
    except StoreError:
        pass


def lost(request: "RunRequest", name: str, message: str, *, kept: Path | None = None,
         executor_job: str | None = None) -> "RunResult":
    """The result of a run that did not finish (its worker or node lost, its task failed): a system error
    ``name`` (``worker-lost`` a batch retries) saying ``message``, recorded in this machine's store. ``kept``: the
    run's folder, when it has one worth keeping (its ``result.json`` is then rewritten, and what it said
    before is kept)."""
    from ..runtime.outcome import system_failure
    from ..runtime.runner import RunResult, stopped_before_start

    outcome = system_failure(name, message)
    earlier = read_result(kept) if kept is not None else None
    base = earlier or stopped_before_start(request).document  # the document's shape, without a folder
    document = {**base, "status": outcome.status, "error": outcome.error.to_dict(),  # type: ignore[union-attr]
                "message": message}
    if kept is not None:
        document["run_dir"] = str(kept)
        _write(kept / "result.json", document)
    restate(str(request.run_id), document=document, executor_job=executor_job)
    return RunResult(outcome, document, kept)


def _write(path: Path, document: dict[str, Any]) -> None:
    from ..runtime.atomic import write_text_atomically

    try:
        write_text_atomically(path, json.dumps(document, indent=2) + "\n", encoding="ascii")
    except OSError:
        pass
