"""Running a batch on an executor: submit every checked row, retry what the machine failed, keep batch.json.

Retries (``retries``) are for system failures only (the engine, the container's creation, the runner), with
exponential backoff; a job's or its data's failure is never retried. A Ctrl-C (KeyboardInterrupt) cancels every
run (their containers are stopped and removed), marks the unfinished ones ``interrupted`` (the rows not yet
submitted too: no row is left ``pending``) and writes batch.json before returning. A row the executor no longer
takes (a Dask scheduler lost) ends ``error`` ``not-submitted``. Resume (``resume_batch``) runs again the rows whose last attempt did not succeed.
"""

from __future__ import annotations

import os
import queue
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, TypeVar

from ..errors import SeedRunnerError
from ..executors.base import Footprint, RunFuture, RunOptions
from ..problems import Problem
from ..runtime.plan import RunRequest
from . import folder as bf

if TYPE_CHECKING:
    from .checking import RowFootprints

RETRYABLE = frozenset({"engine-unavailable", "engine-error", "docker-launch", "runner-failure", "worker-lost",
                       "shared-folder-unseen"})
"""System failures a retry may cure. Not ``killed-externally`` (someone meant it), not ``container-not-removed``
(the job ran), never a job or data error."""
DONE = frozenset({"succeeded", "cached"})
MAX_BACKOFF_SECONDS = 60.0
SUMMARY_SECONDS = 1.0
"""batch.json is rewritten at most this often while runs end (and always at the end)..."""
SUMMARY_SHARE = 0.05
"""... and less often when it is large: its writing takes at most this share of the time (``Throttle``)."""
PROGRESS_SECONDS = 0.25
"""The progress callback is called at most this often (and always at the end): counting what runs is O(runs)."""

# Exit statuses of a batch (docs/reference/batch.md), and of a pipeline.
EXIT_BY_STATUS = {"succeeded": 0, "failed": 1, "refused": 2, "error": 4, "interrupted": 130}

T = TypeVar("T")


class ExitStatus:
    """A batch's or a pipeline's result, whose exit status its status decides."""

    status: str

    @property
    def exit_status(self) -> int:
        return EXIT_BY_STATUS[self.status]


class Throttle:
    """A document rewritten while runs end (batch.json, pipeline.json): at most every ``seconds``, and less often
    when it is large, so that its writing takes at most ``share`` of the time (10,000 runs: a write of about
    0.2 s, every 4 s)."""

    def __init__(self, seconds: float, share: float) -> None:
        self.seconds, self.share = seconds, share
        self.written = 0.0
        self.interval = seconds

    def write(self, write: Callable[[], T], force: bool = False) -> T | None:
        """``write()``'s value, or None when it is not yet time (``force``: now)."""
        if not force and time.monotonic() - self.written < self.interval:
            return None
        began = time.monotonic()
        written = write()
        self.written = time.monotonic()
        self.interval = max(self.seconds, (self.written - began) / self.share)
        return written


@dataclass
class BatchResult(ExitStatus):
    batch_id: str | None
    folder: Path | None
    status: str
    """succeeded, failed (some run failed), error (some run ended in a system error), refused, interrupted."""
    document: dict[str, Any] | None = None
    """batch.json as written."""
    problems: list[Problem] = field(default_factory=list)


@dataclass(frozen=True)
class Progress:
    total: int
    done: int
    failed: int
    running: int


def batch_status(entries: list[bf.RunEntry], interrupted: bool = False) -> str:
    statuses = {entry.status for entry in entries}
    if interrupted or statuses & {"interrupted", "pending"}:
        return "interrupted"
    if statuses & {"error", "cancelled"}:
        return "error"
    if statuses - DONE:
        return "failed"
    return "succeeded"


def retryable(document: dict[str, Any]) -> bool:
    error_ = document.get("error") or {}
    return document.get("status") == "error" and error_.get("name") in RETRYABLE


def retry_delay(backoff: float, tries: int) -> float:
    """Seconds before the retry of a run tried ``tries`` times: exponential backoff, capped."""
    return min(backoff * 2 ** (tries - 1), MAX_BACKOFF_SECONDS)


def executor_failure(run_id: str | None, exc: Exception) -> dict[str, Any]:
    """The result document of a run whose executor failed (not the run): a system error."""
    return {"run_id": run_id, "status": "error", "run_dir": None,
            "error": {"name": "runner-failure", "category": "system"},
            "message": f"the executor failed: {type(exc).__name__}: {exc}"}


def end_ended(ended_runs: "queue.SimpleQueue[RunFuture]", futures: Any, ended: Callable[[RunFuture], None],
              seconds: float) -> None:
    """``ended`` every run that has ended (runs put in ``ended_runs`` as they end: one put per end, so that the
    loop never scans every future), waiting up to ``seconds`` for the first. A run no longer in ``futures`` was
    ended already (by a Ctrl-C)."""
    try:
        future = ended_runs.get(timeout=seconds)
    except queue.Empty:
        return
    while True:
        if future in futures:
            ended(future)
        try:
            future = ended_runs.get_nowait()
        except queue.Empty:
            return


def _secret_names(manifest: Any) -> set[str]:
    return {s.name for s in manifest.job.interface.settings if s.secret}


class _Drive:
    """One pass over the rows to run: submit, wait, retry, summarize."""

    def __init__(self, executor: Any, folder: Path, header: dict[str, Any], entries: list[bf.RunEntry],
                 options: RunOptions, footprints: dict[int, Footprint] | RowFootprints, *, retries: int,
                 backoff: float,
                 on_finished: Callable[[bf.RunEntry], None] | None,
                 on_progress: Callable[[Progress], None] | None) -> None:
        self.executor, self.folder, self.header, self.entries = executor, folder, header, entries
        self.options, self.footprints, self.retries, self.backoff = options, footprints, retries, backoff
        self.on_finished, self.on_progress = on_finished, on_progress
        self.started = time.monotonic()
        self.futures: dict[RunFuture, bf.RunEntry] = {}
        self.requests: dict[int, RunRequest] = {}
        self.remade = False
        self.secrets: dict[str, str] = {}  # the secret settings every row shares: records mask them
        """A row without a request in ``requests`` is submitted as its record gives it back (``request_of``)."""
        self.due: list[tuple[float, bf.RunEntry]] = []  # retries waiting for their backoff
        self.throttle = Throttle(SUMMARY_SECONDS, SUMMARY_SHARE)
        self.shown = 0.0
        self.final: list[bf.RunEntry] = []  # rows whose last attempt is their last
        self.failed = 0
        self.total = 0
        self.before: dict[int, int] = {}  # each row's attempts before this pass (a resumed row's: none, 0)
        # Runs that ended, in the order they ended (``end_ended``).
        self.ended_runs: queue.SimpleQueue[RunFuture] = queue.SimpleQueue()

    def submit(self, entry: bf.RunEntry) -> None:
        run_id = os.urandom(6).hex()
        given = self.requests.get(entry.row)
        if given is None and self.remade:  # its record gives it back exactly (checked when the batch began)
            from .requests import request_of

            given = request_of(entry.request, self.secrets)
        request = replace(self.requests[entry.row] if given is None else given, run_id=run_id,
                          batch_id=self.header["batch_id"], run_dir=str(bf.run_folder(self.folder, entry.row, run_id)))
        try:
            future = self.executor.submit(request, self.options, footprint=self.footprints.get(entry.row))
        except SeedRunnerError as exc:  # the executor can take no more (a Dask scheduler lost): said, not raised
            entry.attempts.append({"run_id": None, "status": "error", "run_dir": None, "error": "not-submitted",
                                   "category": "system", "message": f"not submitted: {exc}"})
            self.finished(entry)
            return
        self.futures[future] = entry
        future.add_done_callback(self.ended_runs.put)

    def summary(self, status: str = "running", force: bool = False, full: bool = False) -> dict[str, Any] | None:
        return self.throttle.write(lambda: bf.write_summary(self.folder, self.header, self.entries, status=status,
                                                            started=self.started, full=full), force)

    def progress(self, force: bool = False) -> None:
        if self.on_progress is None or (not force and time.monotonic() - self.shown < PROGRESS_SECONDS):
            return
        self.shown = time.monotonic()
        running = sum(1 for f in self.futures if f.running())
        self.on_progress(Progress(self.total, len(self.final), self.failed, running))

    def finished(self, entry: bf.RunEntry) -> None:
        self.final.append(entry)
        self.failed += entry.status not in DONE
        if self.on_finished is not None:
            self.on_finished(entry)

    def ended(self, future: RunFuture) -> None:
        entry = self.futures.pop(future)
        try:
            document = future.result().document
        except Exception as exc:  # noqa: BLE001 - an executor's own failure: the run is a system error
            document = executor_failure(future.request.run_id, exc)
        entry.attempts.append(bf.attempt(document))
        tries = len(entry.attempts) - self.before.get(entry.row, 0)  # this pass's: a resumed row retries again
        if retryable(document) and tries <= self.retries:
            delay = retry_delay(self.backoff, tries)
            self.due.append((time.monotonic() + delay, entry))
            entry.attempts[-1]["retry_in_seconds"] = delay
            return
        self.finished(entry)

    def wait(self, seconds: float) -> None:
        """End every run that has ended, waiting up to ``seconds`` for the first."""
        end_ended(self.ended_runs, self.futures, self.ended, seconds)

    def run(self, todo: list[bf.RunEntry], on_start: Callable[[Path, str], None] | None = None) -> str:
        self.total = len(todo)
        self.before = {entry.row: len(entry.attempts) for entry in todo if entry.attempts}  # 0 for the others
        try:
            self.summary("running", force=True)
            if on_start is not None:
                on_start(self.folder, self.header["batch_id"])
            # Rows are submitted as room is made (the executor's submit_window: runs queued at once), not all at
            # once: 100,000 futures would hold more memory than their rows, and a Ctrl-C finds few to cancel.
            window = getattr(self.executor, "submit_window", None)
            upcoming = iter(todo)
            left = len(todo)
            while left or self.futures or self.due:
                while left and (window is None or len(self.futures) < window):
                    left -= 1
                    self.submit(next(upcoming))
                now = time.monotonic()
                for when, entry in [d for d in self.due if d[0] <= now]:
                    self.due.remove((when, entry))
                    self.submit(entry)
                self.wait(min([SUMMARY_SECONDS] + [max(0.0, when - now) for when, _ in self.due]))
                self.progress()
                self.summary()
        except KeyboardInterrupt:
            self.executor.close(cancel=True, reason="interrupted")  # every container stopped and removed
            for future in list(self.futures):
                self.ended(future)
            for _, entry in self.due:  # waiting for a retry: unfinished
                entry.attempts.append({"run_id": None, "status": "interrupted", "run_dir": None,
                                       "message": "interrupted while waiting to be retried"})
                self.finished(entry)
            self.due.clear()
            for entry in todo:  # never submitted (a Ctrl-C while the rows were being submitted): never started
                if len(entry.attempts) == self.before.get(entry.row, 0):
                    entry.attempts.append({"run_id": None, "status": "interrupted", "run_dir": None,
                                           "message": "interrupted before it started"})
                    self.finished(entry)
            self.progress(force=True)
            self.summary("interrupted", force=True)
            return "interrupted"
        self.progress(force=True)
        status = batch_status(self.entries)
        self.summary(status, force=True)
        return status
