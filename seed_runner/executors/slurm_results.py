"""How a Slurm task's end becomes its run's result, on the submitting machine.

- The task left ``N.done`` (``slurm_job.Delivered``): its result, unless a signal the executor did not send
  stopped it (Slurm's time limit, a preemption): then Slurm's own end state decides (``lost``, naming it).
- The job ended without ``N.done`` (killed before it could write it, its node lost, cancelled while pending):
  Slurm's state names why; a run folder's ``result.json`` written meanwhile is taken when it is the whole story.
- Slurm forgot the job (past ``MinJobAge``, a controller restarted without its state): the run folder's
  ``result.json``, else lost.

Every result is recorded in this machine's run store, with the Slurm job id (``executor_job``: ``seed runs``
shows it).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..runtime.plan import RunRequest
    from ..runtime.runner import RunResult
    from .slurm_job import Delivered


def delivered_result(delivered: "Delivered") -> "RunResult":
    """The run's own result, its record copied into this machine's store with its Slurm job."""
    record = delivered.record
    if record is not None and delivered.slurm_job:
        record = {**record, "executor_job": f"slurm:{delivered.slurm_job}"}
    keep_record(record)
    return delivered.result


def from_folder(request: "RunRequest") -> "RunResult | None":
    """The result the run wrote in its folder (``result.json``), when it ended there (None: none, or unreadable)."""
    from ..runtime.outcome import Outcome, system_failure
    from ..runtime.runner import RunResult

    run_dir = Path(str(request.run_dir))
    try:
        document = json.loads((run_dir / "result.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(document, dict) or document.get("run_id") != request.run_id or "status" not in document:
        return None
    error = document.get("error") or {}
    message = str(document.get("message") or "")
    try:
        outcome = system_failure(error["name"], message) if error.get("category") == "system" else None
    except KeyError:
        outcome = None
    if outcome is None or outcome.status != document["status"]:
        outcome = Outcome(document["status"], None, message)  # the document is what a caller reads
    restate(str(request.run_id), document=document)
    return RunResult(outcome, document, run_dir)


def lost(request: "RunRequest", message: str, slurm_job: str | None, name: str = "worker-lost") -> "RunResult":
    """A run Slurm ended (or lost) before it finished: a system error (``worker-lost``, which a batch retries),
    the message naming Slurm's reason; written in its folder when it has one, and in this machine's store."""
    from ..runtime.outcome import system_failure
    from ..runtime.runner import RunResult, stopped_before_start

    outcome = system_failure(name, message)
    base = stopped_before_start(request)  # the document's shape, without a folder
    run_dir = Path(str(request.run_dir))
    kept = run_dir if (run_dir / "outputs").is_dir() else None
    earlier = _document(run_dir) if kept else None
    document = {**(earlier or base.document), "status": outcome.status,
                "error": outcome.error.to_dict(), "message": message}  # type: ignore[union-attr]
    if kept is not None:
        document["run_dir"] = str(kept)
        _write(kept / "result.json", document)
    restate(str(request.run_id), document=document, executor_job=f"slurm:{slurm_job}" if slurm_job else None)
    return RunResult(outcome, document, kept)


def unstarted(request: "RunRequest", reason: str) -> "RunResult":
    from ..runtime.runner import stopped_before_start

    return stopped_before_start(request, reason)


def _document(run_dir: Path) -> dict[str, Any] | None:
    try:
        found = json.loads((run_dir / "result.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return found if isinstance(found, dict) else None


def _write(path: Path, document: dict[str, Any]) -> None:
    from ..runtime.atomic import write_text_atomically

    try:
        write_text_atomically(path, json.dumps(document, indent=2) + "\n", encoding="ascii")
    except OSError:
        pass


def keep_record(record: dict[str, Any] | None) -> None:
    """A node's record of a run, written into this machine's run store (the same row when they share one)."""
    if record is None:
        return
    from ..store.runstore import RunStore, StoreError

    try:
        with RunStore.open() as store:
            store.record_started(record)
    except StoreError:
        pass  # a store that cannot be written never changes a run's outcome (as in the runner)


def restate(run_id: str, *, document: dict[str, Any], executor_job: str | None = None) -> None:
    """Record a run's end (from ``document``), and its Slurm job, in this machine's store."""
    from ..store.runstore import RunStore, StoreError

    try:
        with RunStore.open() as store:
            try:
                record: dict[str, Any] | None = store.get(run_id)
            except StoreError:
                record = None
            if record is not None and executor_job:
                store.record_started({**record, "executor_job": executor_job})
            store.record_finished(document, record)
    except StoreError:
        pass

