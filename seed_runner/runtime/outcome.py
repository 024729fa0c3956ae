"""The outcome of a run (DECISIONS.md "Outcome"): one status, at most one error, and the exit status.

Precedence: runner failure before start > timeout > out-of-memory > killed from outside > non-zero exit >
output capture failure > success; a container the runner could not remove turns a success into a system error
(``with_leftovers``). Built-in error names follow Scale's where Scale has one.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Literal

from ..manifest.model import Manifest

Status = Literal["succeeded", "failed", "timed-out", "rejected", "error", "interrupted", "cancelled"]

# `seed run` exit status per outcome (docs/reference/run.md, "How a run ends").
EXIT_SUCCESS = 0
EXIT_JOB_FAILED = 1
EXIT_REJECTED = 2
EXIT_TIMEOUT = 3
EXIT_SYSTEM = 4
EXIT_INTERRUPTED = 130

NOT_REMOVED = "container-not-removed"
"""The code of the warning (and the name of the error) for a container the runner could not remove."""

EXIT_BY_STATUS = {"succeeded": EXIT_SUCCESS, "failed": EXIT_JOB_FAILED, "rejected": EXIT_REJECTED,
                  "timed-out": EXIT_TIMEOUT, "error": EXIT_SYSTEM, "interrupted": EXIT_INTERRUPTED,
                  "cancelled": EXIT_INTERRUPTED}


@dataclass(frozen=True)
class RunError:
    """The error of a run that did not succeed: a built-in one (``BUILTIN``) or one the manifest declares."""

    name: str
    title: str
    description: str
    category: Literal["job", "data", "system", "request"]
    """Whose fault: ``job`` (the job or its manifest), ``data`` (its inputs), ``system`` (the machine, the
    engine, seed-runner: a retry may help) or ``request`` (the run was refused before anything started: the
    request must change; a retry of the same request cannot help)."""

    def to_dict(self) -> dict[str, str]:
        return asdict(self)


BUILTIN = {e.name: e for e in (
    RunError("algorithm-unknown", "Algorithm Failure",
             "The job exited with a non-zero code that its manifest does not declare.", "job"),
    RunError("timeout", "Timeout", "The job exceeded its timeout and was stopped.", "job"),
    RunError("out-of-memory", "Out of Memory",
             "The job exceeded its memory allocation and was killed by the engine.", "job"),
    RunError("missing-required-output", "Missing Required Output",
             "The job did not produce a required output.", "job"),
    RunError("unexpected-multiple-outputs", "Unexpected Multiple Outputs",
             "The job produced more than one file for an output that allows only one.", "job"),
    RunError("invalid-outputs-json", "Invalid seed.outputs.json",
             "seed.outputs.json is missing, unparseable, not an object, or has a value of the wrong type.", "job"),
    RunError("invalid-metadata", "Invalid Metadata",
             "A metadata side-car or input metadata update is invalid (a failure only with --strict).", "job"),
    RunError("invalid-request", "Invalid Request",
             "The run was refused before anything started: the inputs, settings or mounts do not fit the "
             "manifest.", "request"),
    RunError("invalid-manifest", "Invalid Manifest",
             "The run was refused before anything started: the job's manifest (the image's label, or "
             "--manifest) is missing or invalid.", "job"),
    RunError("run-folder-unavailable", "Run Folder Unavailable",
             "The run was refused before anything started: the run folder is a file, not empty, taken by "
             "another run, or cannot be created.", "request"),
    RunError("engine-unavailable", "Engine Unavailable", "The container engine did not answer, or not in time, "
             "or with something that is not the Engine API's answer.", "system"),
    RunError("engine-error", "Engine Error", "The container engine refused a call, or gave an answer the call "
             "does not expect (see the message).", "system"),
    RunError("killed-externally", "Killed Externally", "The container was killed or removed by someone other "
             "than seed-runner (docker kill, docker stop, docker rm -f, an orchestrator) while the job ran.",
             "system"),
    RunError("container-not-removed", "Container Not Removed", "The job ended, but its container could not be "
             "removed; the result's warnings name it (seed cleanup removes it).", "system"),
    RunError("image-not-found", "Image Not Found", "The job's image is not on the engine.", "system"),
    RunError("docker-launch", "Docker Launch", "The engine could not create or start the container.", "system"),
    RunError("runner-failure", "Runner Failure", "seed-runner itself failed; see the message.", "system"),
    RunError("interrupted", "Interrupted", "The run was interrupted (Ctrl-C or SIGTERM) and its container "
             "removed.", "system"),
    RunError("cancelled", "Cancelled", "The run was cancelled by its executor (a scheduler, a batch) and its "
             "container removed.", "system"),
    RunError("worker-lost", "Worker Lost", "The Dask worker running the run died more often than the "
             "scheduler allows (distributed.scheduler.allowed-failures), or its task failed; or Slurm ended the "
             "run's job (its time limit, a node failure, a preemption: the message names Slurm's reason); the run "
             "did not finish anywhere.", "system"),
    RunError("scheduler-lost", "Scheduler Lost", "The connection to the Dask scheduler was lost before the run's "
             "end was known (and its folder did not say it had ended); resuming the batch runs it again.", "system"),
    RunError("shared-folder-unseen", "Shared Folder Unseen", "The Dask worker given the run does not see the "
             "executor's shared folder (it joined after the folder was probed); nothing was started there.",
             "system"),
    RunError("outputs-not-copied", "Outputs Not Copied", "The run ended, but its folder could not be copied to "
             "the executor's outputs_to destination; it is kept on the worker (see the message).", "system"),
)}


@dataclass(frozen=True)
class Outcome:
    """A run's outcome: its ``status`` (succeeded, failed, timed-out, rejected, error, interrupted, cancelled),
    its ``error`` (None on success) and a one-line ``message``; ``exit_status`` is `seed run`'s."""

    status: Status
    error: RunError | None = None
    message: str | None = None
    """A one-line detail (a system error's cause, a capture failure's reason)."""

    @property
    def exit_status(self) -> int:
        return EXIT_BY_STATUS[self.status]


def declared_error(manifest: Manifest, exit_code: int) -> RunError:
    spec = manifest.error_for_code(exit_code)
    if spec is None:
        return BUILTIN["algorithm-unknown"]
    return RunError(spec.name, spec.title or spec.name, spec.description or "", spec.category)


def decide(manifest: Manifest, *, exit_code: int | None, timed_out: bool = False, oom_killed: bool = False,
           timeout: float | None = None, capture_error: str | None = None,
           capture_message: str | None = None, killed_externally: str | None = None) -> Outcome:
    """The outcome of a container that ran (system failures are decided where they happen).

    ``killed_externally``: the evidence that someone else killed the container (then its exit code, 137 say,
    is not the job's).
    """
    if timed_out:
        limit = manifest.job.timeout if timeout is None else timeout
        return Outcome("timed-out", BUILTIN["timeout"], f"stopped after the {limit:g} s timeout")
    if oom_killed and exit_code in (137, None):
        return Outcome("failed", BUILTIN["out-of-memory"])
    if killed_externally:
        return Outcome("error", BUILTIN["killed-externally"], f"exit code {exit_code}: {killed_externally}")
    if exit_code:
        return Outcome("failed", declared_error(manifest, exit_code), f"exit code {exit_code}")
    if capture_error:
        return Outcome("failed", BUILTIN[capture_error], capture_message)
    return Outcome("succeeded")


def with_leftovers(outcome: Outcome, leftovers: list[str]) -> Outcome:
    """The outcome once the runner knows which containers it could not remove (``leftovers``: their
    ``container-not-removed`` messages). A success becomes a system error: a run that leaves a container
    behind did not end cleanly (exit status 4), though the job's exit code and outputs stay in the result.
    Any other outcome keeps its status (the job's failure says more); the warnings name the container."""
    if not leftovers:
        return outcome
    if outcome.status == "succeeded":
        return Outcome("error", BUILTIN["container-not-removed"],
                       f"the job succeeded, but its container is left: {leftovers[0]}")
    if outcome.status == "interrupted":
        return Outcome("interrupted", outcome.error, f"stopped by a signal; {leftovers[0]}")
    return outcome


REFUSALS = frozenset({"invalid-request", "invalid-manifest", "run-folder-unavailable"})
"""Errors that refuse a run before anything starts (status ``rejected``, exit 2)."""


def system_failure(name: str, message: str) -> Outcome:
    status: Status = "rejected" if name in REFUSALS else name if name in ("interrupted", "cancelled") else "error"
    return Outcome(status, BUILTIN[name], message)
