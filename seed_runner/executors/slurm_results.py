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

from pathlib import Path
from typing import TYPE_CHECKING

from ..runtime.run_result import read_result
from .recording import keep_record, restate
from .recording import lost as recorded_lost

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
    document = read_result(run_dir)
    if document is None or document.get("run_id") != request.run_id or "status" not in document:
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
    run_dir = Path(str(request.run_dir))
    return recorded_lost(request, name, message, kept=run_dir if (run_dir / "outputs").is_dir() else None,
                         executor_job=f"slurm:{slurm_job}" if slurm_job else None)
