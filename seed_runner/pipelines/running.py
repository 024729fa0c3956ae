"""Running a pipeline on an executor: a run starts as soon as the runs it needs have ended.

The loop asks ``plan.ready`` what can be decided now, submits every run it gives, and waits for any run to
end (the executor packs them by their declared resources). A run that fails stops the steps that need it; the
other branches go on with ``keep_going``, else every run in flight is cancelled and the pipeline stops at once.
System failures (the engine, the runner, a lost Dask worker) are retried as ``seed batch`` does. A Ctrl-C
(KeyboardInterrupt) cancels every run (their containers stopped and removed), writes ``pipeline.json`` with the
unfinished runs ``interrupted``, and returns ``interrupted``; ``resume`` goes on from there.
"""

from __future__ import annotations

import os
import queue
import time
from collections import deque
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Mapping

from ..batches.running import ExitStatus, Throttle, end_ended, executor_failure, retry_delay, retryable
from ..executors.base import RunFuture, RunOptions
from ..manifest.model import Manifest
from ..store.recording import request_record
from . import state as st
from .model import Pipeline
from .plan import MAX_FOR_EACH, PlannedRun, ready

WRITE_SECONDS = 0.5
"""pipeline.json is rewritten at most this often while runs end (and always when a step ends)..."""
WRITE_SHARE = 0.05
"""... and less often when it is large: its writing takes at most this share of the time."""
SUBMIT_WINDOW = 256
"""Runs submitted at once to an executor that does not say its own ``submit_window`` (the local pool does: enough
that first fit finds a run that fits). A fan-out of thousands waits in the driver's queue, not as futures."""


@dataclass(frozen=True)
class RunEvent:
    """What a progress display is told: a run started or ended, or a step was decided without runs."""

    kind: str
    """started, ended, step (a step decided: skipped, stopped, failed without runs, or run with none)."""
    step: str
    index: int = 0
    run_id: str | None = None
    status: str | None = None
    message: str | None = None
    run_dir: str | None = None


@dataclass
class PipelineResult(ExitStatus):
    """How a pipeline run ended (``run_pipeline``, ``resume_pipeline``): its id, its folder, its status, the
    ``pipeline.json`` document, and the problems that refused it before anything started."""

    pipeline_id: str | None
    folder: Any
    status: str
    """succeeded (every step succeeded or was skipped), failed, error (a system failure), refused, interrupted."""
    document: dict[str, Any] | None = None
    problems: list[Any] = field(default_factory=list)


class Driver:
    """One pass over a pipeline's pending steps: decide, submit, wait, retry, record."""

    def __init__(self, pipeline: Pipeline, manifests: Mapping[str, Manifest], state: st.PipelineState,
                 executor: Any, options: RunOptions, *, keep_going: bool = False, retries: int = 0,
                 backoff: float = 1.0, secrets: Mapping[str, Mapping[str, str]] | None = None,
                 on_event: Callable[[RunEvent], None] | None = None, max_items: int = MAX_FOR_EACH) -> None:
        self.pipeline, self.manifests, self.state, self.executor = pipeline, manifests, state, executor
        self.options, self.keep_going, self.retries, self.backoff = options, keep_going, retries, backoff
        self.secrets = secrets or {}
        self.on_event = on_event
        self.futures: dict[RunFuture, tuple[st.RunState, PlannedRun]] = {}
        self.due: list[tuple[float, st.RunState, PlannedRun]] = []
        self.queued: deque[tuple[st.RunState, PlannedRun]] = deque()
        """Runs decided but not yet submitted: at most ``window`` are in the executor's hands at once."""
        self.window = getattr(executor, "submit_window", None) or SUBMIT_WINDOW
        self.max_items = max_items
        self.ended_runs: queue.SimpleQueue[RunFuture] = queue.SimpleQueue()
        self.stopping = False
        self.interrupted = False
        self.throttle = Throttle(WRITE_SECONDS, WRITE_SHARE)

    # -- the loop -----------------------------------------------------------------------------------------

    def run(self) -> str:
        try:
            self.write(force=True)
            while True:
                if not self.stopping:
                    self.decide()
                self.fill()
                if not self.futures and not self.due and not self.queued:
                    break
                now = time.monotonic()
                for entry in [d for d in self.due if d[0] <= now]:
                    self.due.remove(entry)
                    self.submit(entry[1], entry[2])
                self.wait(min([WRITE_SECONDS] + [max(0.0, when - now) for when, _, _ in self.due]))
                self.write()
        except KeyboardInterrupt:
            self.interrupt()
            return "interrupted"
        status = self.final_status()
        self.state.status = status
        self.write(force=True)
        return status

    def decide(self) -> None:
        """Decide every step that can be; repeat while a decision frees another (a skip, a step with no runs)."""
        while True:
            decisions = ready(self.pipeline, self.manifests, self.state, lambda: os.urandom(6).hex(), self.secrets,
                              self.max_items)
            if not decisions:
                return
            for decision in decisions:
                step = self.state.steps[decision.step]
                step.reason = decision.reason
                if decision.state != "run":
                    step.state = decision.state
                    self.event(RunEvent("step", decision.step, status=decision.state, message=decision.reason))
                    if decision.state == "failed":
                        self.failed(decision.step)
                    continue
                kept = {r.index: r for r in step.runs if r.succeeded}
                step.runs = []
                step.state = "running"
                for planned in decision.runs:
                    previous = kept.get(planned.index)
                    if previous is not None and _same_request(
                            previous.request, request_record(planned.request, self.manifests[decision.step])):
                        step.runs.append(previous)  # resumed: a run that succeeded is never repeated
                        continue
                    # Compact until submitted: its request record is made then (a fan-out of thousands waits).
                    run = st.RunState(planned.index, planned.request.run_id or "",
                                      st.run_folder_name(decision.step, planned.index, planned.request.run_id or ""),
                                      item=_shown(planned.item, self.state), inputs_from=list(planned.inputs_from))
                    step.runs.append(run)
                    if self.stopping:  # a step decided in the pass that failed another
                        run.status = "cancelled"
                    else:  # every run of the step known before the first is submitted
                        self.queued.append((run, planned))
                self.step_ended(decision.step)
            self.write(force=True)
            if self.stopping:
                return

    def fill(self) -> None:
        """Submit queued runs while fewer than ``window`` are in the executor's hands."""
        while self.queued and len(self.futures) < self.window and not self.stopping:
            run, planned = self.queued.popleft()
            self.submit(run, planned)

    def submit(self, run: st.RunState, planned: PlannedRun) -> None:
        if not run.request:
            run.request = request_record(planned.request, self.manifests[planned.step])
        run.status = "running"
        run.attempts += 1
        request = planned.request
        if run.attempts > 1:  # a retry: a run folder of its own, under a new id
            run.run_id = os.urandom(6).hex()
            run.run_dir = st.run_folder_name(planned.step, planned.index, run.run_id)
            request = replace(request, run_id=run.run_id, run_dir=str(self.state.run_path(run)))
            planned = replace(planned, request=request)
        try:
            future = self.executor.submit(request, self.options)
        except Exception as exc:  # noqa: BLE001 - refused (DoesNotFit, a closed or unreachable executor): it failed
            st.take_result(run, {"run_id": run.run_id, "status": "error", "message": f"not started: {exc}",
                                 "error": {"name": "not-submitted", "category": "system"}})
            self.event(RunEvent("ended", planned.step, planned.index, run.run_id, run.status, run.message))
            self.step_ended(planned.step)
            return
        self.futures[future] = (run, planned)
        future.add_done_callback(self.ended_runs.put)
        self.event(RunEvent("started", planned.step, planned.index, run.run_id, "running",
                            run_dir=str(self.state.run_path(run))))

    def wait(self, seconds: float) -> None:
        end_ended(self.ended_runs, self.futures, self.ended, seconds)

    def ended(self, future: RunFuture) -> None:
        run, planned = self.futures.pop(future)
        try:
            document = future.result().document
        except Exception as exc:  # noqa: BLE001 - an executor's own failure: the run is a system error
            document = executor_failure(run.run_id, exc)
        st.take_result(run, document)
        self.event(RunEvent("ended", planned.step, planned.index, run.run_id, run.status, run.message,
                            str(self.state.run_path(run))))
        if retryable(document) and run.attempts <= self.retries and not self.stopping:
            delay = retry_delay(self.backoff, run.attempts)
            run.status = "pending"
            self.due.append((time.monotonic() + delay, run, planned))
            return
        self.step_ended(planned.step)

    def step_ended(self, name: str) -> None:
        step = self.state.steps[name]
        if step.state != "running" or any(r.status in ("pending", "running") for r in step.runs):
            return
        if self.interrupted and any(r.status == "interrupted" for r in step.runs):
            return  # not ended: resume decides it again (its succeeded runs are kept)
        bad = [r for r in step.runs if not r.succeeded]
        step.state = "failed" if bad else "succeeded"
        if bad:
            first = bad[0]
            step.reason = f"{len(bad)} of {len(step.runs)} runs did not succeed; run {first.run_id}: " \
                          f"{first.status}" + (f" ({first.error})" if first.error else "") + \
                          (f": {first.message}" if first.message else "")
            self.failed(name)
        self.write(force=True)

    def failed(self, name: str) -> None:
        """A step failed: without keep_going, stop everything at once (what is not decided is ``stopped``)."""
        if self.keep_going or self.stopping:
            return
        self.stopping = True
        for future in list(self.futures):
            future.cancel("cancelled")
        self.drop_waiting("cancelled")
        downstream = self.pipeline.downstream(name)
        for other, step in self.state.steps.items():
            if step.state == "pending":
                step.state = "stopped"
                step.reason = f"needs {name}, which did not succeed" if other in downstream else \
                    f"the pipeline stopped when {name} failed (--keep-going finishes the other branches)"
                self.event(RunEvent("step", other, status="stopped", message=step.reason))
        for other, step in self.state.steps.items():
            if step.state == "running" and not self.futures_of(other):
                self.step_ended(other)

    def drop_waiting(self, status: str) -> None:
        """The runs not in the executor's hands end ``status`` (cancelled, interrupted): those waiting for a
        retry, and those queued, never submitted."""
        for _, run, _ in self.due:
            run.status = status
        self.due.clear()
        for run, _ in self.queued:
            run.status, run.message = status, f"{status} before it started"
        self.queued.clear()

    def futures_of(self, name: str) -> list[RunFuture]:
        return [f for f, (_, planned) in self.futures.items() if planned.step == name]

    def interrupt(self) -> None:
        self.interrupted = self.stopping = True  # what ends now ends interrupted: no step fails for it
        self.executor.close(cancel=True, reason="interrupted")  # every container stopped and removed
        for future in list(self.futures):
            if future.done():
                self.ended(future)
        for run, _ in list(self.futures.values()):
            run.status = "interrupted"
        self.futures.clear()
        self.drop_waiting("interrupted")
        for step in self.state.steps.values():
            if step.state == "running":
                step.state = "pending"  # decided again on resume; its succeeded runs are kept
        self.state.status = "interrupted"
        self.write(force=True)

    def final_status(self) -> str:
        states = {s.state for s in self.state.steps.values()}
        runs = [r for s in self.state.steps.values() for r in s.runs]
        if "pending" in states or "running" in states:
            return "interrupted"
        if "failed" in states or "stopped" in states:
            if any(r.status == "error" for r in runs) and not any(r.status == "failed" for r in runs):
                return "error"
            return "failed"
        return "succeeded"

    # -- records ------------------------------------------------------------------------------------------

    def write(self, force: bool = False) -> None:
        """pipeline.json, at most every WRITE_SECONDS: a large one (a fan-out of thousands) is written less often,
        so that writing it takes at most WRITE_SHARE of the time (as batch.json)."""
        self.throttle.write(lambda: st.write(self.state), force)

    def event(self, event: RunEvent) -> None:
        if self.on_event is not None:
            self.on_event(event)


def _same_request(before: dict[str, Any], now: dict[str, Any]) -> bool:
    """The same inputs, values and settings (secrets masked on both sides), whatever the run folder."""
    keys = ("image", "file_inputs", "json_inputs", "settings", "mounts", "resources")
    return all(_plain(before.get(k)) == _plain(now.get(k)) for k in keys)


def _plain(value: Any) -> Any:
    import json

    return json.loads(json.dumps(value, default=str, sort_keys=True))


def _shown(item: Any, state: st.PipelineState) -> Any:
    """A forEach item as pipeline.json keeps it: a file inside the folder relative to it."""
    if isinstance(item, str):
        prefix = f"{state.folder}/"
        return item[len(prefix):] if item.startswith(prefix) else item
    return item
