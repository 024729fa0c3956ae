"""Jobs of pipeline processes: each job is a pipeline run (``seed_runner.pipelines.run_pipeline``) whose folder
is the job's run folder, ``JOBS/<id>/run`` (``pipeline.json``, ``runs/``, ``outputs/<NAME>/``, the crate).

The job's record in the run store (``image`` ``pipeline:NAME``) is written ``accepted`` before the client hears
of it, ``running`` when the pipeline starts, and ended from the pipeline's status (succeeded, failed, error;
``refused``: rejected). When it succeeded a ``result.json`` is written in the pipeline folder naming its outputs
(the files under ``outputs/<NAME>/``, the JSON values), so that results are served as any job's. The steps' runs
go to the server's executor through ``Scoped``, which stops every one of them when the job is dismissed.

A restart ends every pipeline job that was running when the server died (``failed``, with a message): the
containers of its runs are removed, and so are its folder and its runs' records. Accepted ones run.
"""

from __future__ import annotations

import concurrent.futures
import shutil
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping

from .pipeline_processes import IMAGE_PREFIX

if TYPE_CHECKING:
    from .catalog import Process
    from .execute_request import Execute
    from .jobs import Jobs

STORE_STATUS = {"succeeded": "succeeded", "failed": "failed", "error": "error", "refused": "rejected",
                "interrupted": "interrupted"}
"""A pipeline's status -> its job's status in the run store (``documents.STATUS`` maps those to OGC's)."""


def is_pipeline_job(record: Mapping[str, Any]) -> bool:
    return str(record.get("image") or "").startswith(IMAGE_PREFIX)


class Scoped:
    """The server's executor as one pipeline job sees it: ``stop`` cancels every run it submitted (their
    containers stopped and removed) and refuses any more; closing it closes nothing of the server's."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self._lock = threading.Lock()
        self._futures: list[Any] = []
        self.stopped = False

    def submit(self, request: Any, options: Any = None) -> Any:
        with self._lock:
            if self.stopped:
                raise RuntimeError("the job was dismissed")
            future = self.inner.submit(request, options) if options is not None else self.inner.submit(request)
            self._futures.append(future)
            return future

    def check_fits(self, need: Any) -> None:
        self.inner.check_fits(need)

    def stop(self) -> None:
        with self._lock:
            self.stopped = True
            futures = list(self._futures)
        for future in futures:
            future.cancel("cancelled")

    def close(self, *, cancel: bool = False, reason: str = "cancelled") -> None:
        if cancel:
            self.stop()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


class Handle:
    """What ``Jobs`` holds for a pipeline job in flight, shaped as a run's future for ``Jobs.dismiss``."""

    def __init__(self, executor: Any) -> None:
        self.executor = Scoped(executor)
        self.finished = threading.Event()

    def cancel(self, reason: str = "cancelled") -> bool:
        self.executor.stop()
        return True

    def exception(self, timeout: float | None = None) -> None:
        if not self.finished.wait(timeout):
            raise concurrent.futures.TimeoutError()
        return None


def submit(jobs: "Jobs", process: "Process", execute: "Execute", job_id: str) -> dict[str, Any]:
    """Record the job (``accepted``) and start its pipeline in a thread of its own (a pipeline lasts: it must
    not hold the intake). ``job_id`` is reserved in ``jobs`` already."""
    from .staging import stage_inputs

    folder = jobs.folder(job_id)
    local, references = stage_inputs(execute, folder / "inputs")
    request = {"pipeline": process.id, "file_inputs": local, "references": references,
               "json_inputs": dict(execute.json_inputs)}
    record = {"id": job_id, "image": process.image, "job_name": process.id, "job_version": process.version,
              "package_version": process.manifest.job.package_version, "status": "accepted",
              "run_dir": str(folder / "run"), "recorded_at": time.time(), "json_inputs": dict(execute.json_inputs),
              "request": request}
    with jobs._store_lock:
        jobs.store.record_started(record)
    start(jobs, job_id, process, request)
    return record


def start(jobs: "Jobs", job_id: str, process: "Process", request: Mapping[str, Any]) -> None:
    handle = Handle(jobs.executor)
    with jobs._lock:
        jobs._active[job_id] = handle
        jobs._done.setdefault(job_id, threading.Event())
    threading.Thread(target=_run, args=(jobs, job_id, process, request, handle), daemon=True,
                     name=f"seed-serve-pipeline-{job_id}").start()


def _run(jobs: "Jobs", job_id: str, process: "Process", request: Mapping[str, Any], handle: Handle) -> None:
    from ..pipelines.start import run_pipeline
    from ..runtime.plan import PlanError

    folder = jobs.jobs_dir / job_id / "run"
    began = time.time()
    try:
        if job_id in jobs._dismissed:
            return
        files = {name: list(paths) for name, paths in (request.get("file_inputs") or {}).items()}
        try:
            files = _fetched(jobs, files, request.get("references") or {})
        except PlanError as exc:
            return jobs._fail(job_id, "rejected", "input-download-failed",
                              "; ".join(p.message for p in exc.problems))
        if job_id in jobs._dismissed:  # dismissed while its references were fetched
            return
        configured = jobs.config.get(process.id) or {}

        def started(where: Path, pipeline_id: str) -> None:
            with jobs._store_lock:
                jobs.store._write("UPDATE runs SET status = 'running', started = ? WHERE id = ? AND "
                                  "status = 'accepted'", [_iso(began), job_id])

        result = run_pipeline(process.pipeline, inputs=files, json_inputs=dict(request.get("json_inputs") or {}),
                              settings=dict(configured.get("settings") or {}), folder=folder,
                              executor=handle.executor, on_start=started)
        if job_id in jobs._dismissed:
            return
        if jobs._closing and result.status != "succeeded":
            return jobs._fail(job_id, "interrupted", "server-stopped", "the server stopped while this pipeline "
                              "ran; its runs were stopped. Submit it again.")
        document = _result_document(job_id, process, result, began)
        if result.status == "succeeded":
            from ..runtime.atomic import write_text_atomically
            import json

            write_text_atomically(folder / "result.json", json.dumps(document, default=str) + "\n")
        if document.get("message"):
            (jobs.jobs_dir / job_id / "message").write_text(str(document["message"]), encoding="utf-8")
        with jobs._store_lock:
            jobs.store.record_finished(document, {"id": job_id})
    except Exception as exc:  # noqa: BLE001 - a pipeline that could not start (its folder, a bug): the job says why
        if job_id not in jobs._dismissed:
            jobs._fail(job_id, "error", type(exc).__name__, str(exc) or type(exc).__name__)
    finally:
        handle.finished.set()
        jobs._forget(job_id)


def _iso(moment: float) -> str:
    """A time as the runner records it (ISO 8601, UTC)."""
    from datetime import datetime, timezone

    return datetime.fromtimestamp(moment, tz=timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _fetched(jobs: "Jobs", files: dict[str, list[str]], references: Mapping[str, list[str]]
             ) -> dict[str, list[str]]:
    """The references fetched through the server's guard (never by the steps: they would not be guarded)."""
    if not references:
        return files
    from ..inputs import resolve_url_inputs
    from ..runtime.plan import RunRequest

    wanted = {name: list(files.get(name, [])) + list(urls) for name, urls in references.items()}
    fetched = resolve_url_inputs(RunRequest(image="pipeline", file_inputs=wanted), max_bytes=jobs.max_download,
                                 progress=False, guard=jobs.guard)
    return {**files, **{name: list(paths) for name, paths in fetched.file_inputs.items()}}


def _result_document(job_id: str, process: "Process", result: Any, began: float) -> dict[str, Any]:
    """The job's result: its status, why it did not succeed, and its outputs as a run's result names them."""
    import mimetypes

    state = result.document or {}
    status = STORE_STATUS.get(result.status, "error")
    document: dict[str, Any] = {"run_id": job_id, "status": status, "pipeline_id": result.pipeline_id,
                                "timings": {"started": _iso(began), "finished": _iso(time.time()),
                                            "duration_seconds": round(time.time() - began, 3)}}
    if result.status == "refused":
        document["message"] = "; ".join(p.message for p in result.problems[:5])
    elif result.status != "succeeded":
        reasons = [f"step {name}: {step.get('reason')}" for name, step in (state.get("steps") or {}).items()
                   if step.get("state") == "failed" and step.get("reason")]
        document["message"] = f"the pipeline {result.status}" + (f": {reasons[0]}" if reasons else "")
        document["error"] = {"name": f"pipeline-{result.status}"}
    media = {spec.name: spec.media_type for spec in process.manifest.job.interface.file_outputs}
    outputs: dict[str, Any] = {}
    values: dict[str, Any] = {}
    for name, entries in (state.get("outputs") or {}).items():
        for entry in entries:
            if "value" in entry:
                values[name] = entry["value"]
                continue
            path = str(entry.get("path") or "").removeprefix("outputs/")
            kind = media.get(name) or mimetypes.guess_type(path)[0]
            outputs.setdefault(name, {"files": []})["files"].append({"path": path, "media_type": kind})
    document["outputs"] = outputs
    document["json_outputs"] = values
    return document


def forget(jobs: "Jobs", record: Mapping[str, Any]) -> None:
    """Before a pipeline job's folder is removed: the records of its runs and of its pipeline."""
    from ..pipelines import state as st

    try:
        pipeline_id = st.load(Path(str(record["run_dir"]))).pipeline_id
    except st.PipelineFolderError:
        return  # it never started: it has no runs
    with jobs._store_lock:
        jobs.store._write("DELETE FROM runs WHERE pipeline_id = ?", [pipeline_id])
        jobs.store._write("DELETE FROM pipelines WHERE id = ?", [pipeline_id])


def end_lost(jobs: "Jobs", record: Mapping[str, Any]) -> bool:
    """A pipeline job ``running`` when its server died: its runs' containers removed, its folder and its runs'
    records too, and the job ``failed`` with a message. False when another process still runs it."""
    from ..pipelines import state as st
    from .containers import remove_containers

    where = Path(str(record["run_dir"]))
    if (where / st.STATE_FILE).exists():
        try:
            with st.hold(where):
                state = st.load(where)
        except st.PipelineFolderError:
            return False  # its lock is held: another server on this store runs it
        for step in state.steps.values():
            for run in step.runs:
                if run.status in ("running", "pending"):
                    remove_containers(run.run_id)
        forget(jobs, record)
    shutil.rmtree(where, ignore_errors=True)
    jobs._fail(str(record["id"]), "error", "server-stopped", "the server stopped while this pipeline ran; the "
               "containers of its runs and its folder were removed. Submit it again.")
    return True


def resubmit(jobs: "Jobs", record: Mapping[str, Any], process: "Process | None") -> bool:
    """An accepted pipeline job after a restart: it runs (failed when its pipeline is no longer served)."""
    job_id = str(record["id"])
    if process is None or process.pipeline is None:
        jobs._fail(job_id, "rejected", "no-such-process", f"the server no longer serves the pipeline "
                   f"{record.get('job_name')}; give it with --pipeline and submit the job again")
        return False
    start(jobs, job_id, process, record.get("request") or {})
    return True

