"""Jobs are runs: each job is a run of the run store (``seed runs``, ``seed logs``, ``seed rerun`` see it),
executed by an executor (``seed_runner.executors``). The server's jobs are the runs whose folder lies under its
jobs folder: ``JOBS/<id>/run`` (the run folder), ``JOBS/<id>/inputs`` (inline input values), ``JOBS/<id>/message``
(why a job failed before its run began).

A job is recorded (status ``accepted``, with its request) before the client hears of it. The intake (a small
thread pool) then fetches its references, through the address guard, and submits the run; the runner replaces
the record when the run starts (``running``) and ends it. A restart (``recover``) submits every accepted job
again and ends every job whose run was running when the server died: its container is removed and it is
``failed`` with a message.
"""

from __future__ import annotations

import concurrent.futures
import os
import shutil
import threading
import time
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping

from . import documents, pipeline_jobs
from .containers import remove_containers
from .staging import stage_inputs

if TYPE_CHECKING:
    from ..executors.base import RunFuture
    from .catalog import Process
    from .execute_request import Execute

SERVER_STOPPED = "server-stopped"
MESSAGE_FILE = "message"


class QueueFull(RuntimeError):
    pass


class NoSuchJob(LookupError):
    pass


class Jobs:
    def __init__(self, store: Any, jobs_dir: Path, executor: Any, *, queue: int = 100,
                 config: Mapping[str, Mapping[str, Mapping[str, str]]] | None = None, guard: Any = None,
                 max_download: int | None = None, intake_threads: int = 4) -> None:
        """``store``: an open RunStore (the default one: the runner records there); ``config``: by process id,
        its ``settings`` and ``mounts`` (the server's, never a request's)."""
        self.store = store
        self.jobs_dir = Path(jobs_dir).absolute()
        self.jobs_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.executor = executor
        self.queue = queue
        self.config = config or {}
        self.guard = guard
        self.max_download = max_download
        self._store_lock = threading.Lock()  # one SQLite connection: one transaction at a time
        self._lock = threading.Lock()
        self._active: dict[str, "RunFuture | None"] = {}  # job id -> its run (None: in the intake)
        self._done: dict[str, threading.Event] = {}
        self._dismissed: set[str] = set()
        self._closing = False
        self.pipelines: dict[str, "Process"] = {}
        """The pipeline processes, by id (``pipeline_jobs``: an accepted job runs again after a restart)."""
        self._intake = concurrent.futures.ThreadPoolExecutor(intake_threads, thread_name_prefix="seed-serve-intake")

    # -- paths and records ------------------------------------------------------------------------------

    def folder(self, job_id: str) -> Path:
        if not job_id or any(c not in "0123456789abcdef" for c in job_id) or len(job_id) > 32:
            raise NoSuchJob(f"no job {job_id[:40]!r}")
        return self.jobs_dir / job_id

    def _prefix(self) -> str:
        return str(self.jobs_dir) + os.sep

    def record(self, job_id: str) -> dict[str, Any]:
        folder = self.folder(job_id)
        with self._store_lock:
            rows = self.store._read("SELECT * FROM runs WHERE id = ?", [job_id])
        if not rows or not str(rows[0].get("run_dir") or "").startswith(str(folder) + os.sep):
            raise NoSuchJob(f"no job {job_id!r}")
        return rows[0]

    def message(self, record: Mapping[str, Any]) -> str | None:
        """Why a job failed (its run's message, or why it never began); None for any other job."""
        from ..store.history import result_document

        if documents.STATUS.get(str(record.get("status"))) != "failed":
            return None  # a listing of thousands of jobs reads no file for those
        folder = self.jobs_dir / str(record["id"])
        try:
            return (folder / MESSAGE_FILE).read_text(encoding="utf-8")[:2000]
        except OSError:
            pass
        document = result_document(dict(record))
        if document and document.get("message"):
            return str(document["message"])
        if record.get("error_name"):
            return f"the run ended {record.get('status')}: {record['error_name']}"
        return None

    def status(self, record: Mapping[str, Any], base: str) -> dict[str, Any]:
        """The statusInfo; a ``running`` record that is not this server's run is judged (its result written
        but not recorded, e.g. a Dask worker's after a restart; or its runner gone: failed)."""
        with self._lock:
            ours = record["id"] in self._active
        if record.get("status") == "running" and not ours:
            from ..store.history import RUNNER_GONE, result_document, state

            shown = state(dict(record))
            if shown == RUNNER_GONE:
                return documents.status_info(record, base, status="failed",
                                             message="the run's runner is gone (its process ended)")
            if shown != "running":
                document = result_document(dict(record)) or {}
                return documents.status_info(record, base, status=documents.STATUS.get(shown, "failed"),
                                             message=document.get("message"))
        return documents.status_info(record, base, message=self.message(record))

    # -- submitting -------------------------------------------------------------------------------------

    def submit(self, process: "Process", execute: "Execute") -> dict[str, Any]:
        """Record the job (``accepted``) and hand it to the intake; QueueFull when the queue is full."""
        from ..runtime.plan import RunRequest
        from ..store.recording import request_record

        with self._lock:
            if len(self._active) >= self.queue:
                raise QueueFull(f"{len(self._active)} jobs are queued or running, the server's bound")
            job_id = os.urandom(8).hex()
            self._active[job_id] = None
            self._done[job_id] = threading.Event()
        try:
            if process.pipeline is not None:  # a pipeline process: its job is a pipeline run
                return pipeline_jobs.submit(self, process, execute, job_id)
            folder = self.folder(job_id)
            local, references = stage_inputs(execute, folder / "inputs")
            configured = self.config.get(process.id) or {}
            request = RunRequest(image=process.image, file_inputs=local, json_inputs=dict(execute.json_inputs),
                                 settings=dict(configured.get("settings") or {}),
                                 mounts=dict(configured.get("mounts") or {}), run_dir=str(folder / "run"),
                                 run_id=job_id)
            record = {"id": job_id, "image": process.image, "job_name": process.id,
                      "job_version": process.version, "package_version": process.manifest.job.package_version,
                      "status": "accepted", "run_dir": str(folder / "run"), "recorded_at": time.time(),
                      "json_inputs": dict(execute.json_inputs),
                      "request": request_record(request, process.manifest, {"references": references})}
            with self._store_lock:
                self.store.record_started(record)
        except BaseException:
            self._forget(job_id)
            raise
        self._intake.submit(self._start, job_id, request, references, process.manifest)
        return record

    def _start(self, job_id: str, request: Any, references: Mapping[str, list[str]], manifest: Any) -> None:
        """Fetch the references (through the guard) and submit the run; a failure ends the job."""
        from ..executors.base import RunOptions
        from ..inputs import resolve_url_inputs
        from ..runtime.plan import PlanError

        if job_id in self._dismissed:
            return self._forget(job_id)
        try:
            if references:
                files = {name: list(paths) for name, paths in request.file_inputs.items()}
                for name, urls in references.items():
                    files.setdefault(name, []).extend(urls)
                request = resolve_url_inputs(replace(request, file_inputs=files), max_bytes=self.max_download,
                                             progress=False, guard=self.guard)
            with self._lock:
                if job_id in self._dismissed:
                    return self._forget(job_id)
                future = self.executor.submit(request, RunOptions())
                self._active[job_id] = future
            future.add_done_callback(lambda f: self._ended(job_id, f))
        except PlanError as exc:
            self._fail(job_id, "rejected", "input-download-failed", "; ".join(p.message for p in exc.problems))
        except Exception as exc:  # noqa: BLE001 - the executor refused it (too big, closed): the job says why
            if self._closing:
                return self._forget(job_id)  # the server stops: still accepted, it runs after a restart
            self._fail(job_id, "rejected", type(exc).__name__, str(exc) or type(exc).__name__)

    def _fail(self, job_id: str, status: str, name: str, message: str) -> None:
        try:
            (self.jobs_dir / job_id / MESSAGE_FILE).write_text(message, encoding="utf-8")
            with self._store_lock:
                self.store._write("UPDATE runs SET status = ?, error_name = ? WHERE id = ?", [status, name, job_id])
        finally:
            self._forget(job_id)

    def _ended(self, job_id: str, future: "RunFuture") -> None:
        """A run ended: a run refused or cancelled before it began was not recorded by the runner: end it here."""
        try:
            try:
                document = future.result().document
            except BaseException as exc:  # noqa: BLE001 - a bug of the runner: the job says so
                document = {"run_id": job_id, "status": "error", "error": {"name": type(exc).__name__},
                            "message": str(exc)}
            with self._store_lock:
                rows = self.store._read("SELECT status FROM runs WHERE id = ?", [job_id])
            if self._closing and document.get("status") == "interrupted":
                return  # never begun, stopped by the server's shutdown: still accepted, it runs after a restart
            if rows and rows[0]["status"] == "accepted" and job_id not in self._dismissed:
                if document.get("message"):
                    (self.jobs_dir / job_id / MESSAGE_FILE).write_text(str(document["message"]), encoding="utf-8")
                with self._store_lock:
                    self.store.record_finished({**document, "run_id": job_id}, {"id": job_id})
        finally:
            self._forget(job_id)

    def _forget(self, job_id: str) -> None:
        with self._lock:
            self._active.pop(job_id, None)
            event = self._done.pop(job_id, None)
        if event is not None:
            event.set()

    def wait(self, job_id: str, timeout: float) -> bool:
        """Whether the job ended within ``timeout`` seconds."""
        with self._lock:
            event = self._done.get(job_id)
        return True if event is None else event.wait(timeout)

    @property
    def in_flight(self) -> int:
        with self._lock:
            return len(self._active)

    # -- reading ----------------------------------------------------------------------------------------

    def list(self, *, process_ids: list[str] | None = None, statuses: list[str] | None = None, limit: int = 10,
             offset: int = 0, created: tuple[float | None, float | None] = (None, None),
             durations: tuple[float | None, float | None] = (None, None)) -> list[dict[str, Any]]:
        """The server's jobs, newest first; ``created``: (from, to) Unix times; ``durations``: (min, max) s."""
        where = ["run_dir >= ? AND run_dir < ? AND pipeline_id IS NULL"]  # a pipeline job's runs are not jobs
        params: list[Any] = [self._prefix(), self._prefix() + "\uffff"]
        for column, (low, high) in (("recorded_at", created), ("duration", durations)):
            if low is not None:
                where.append(f"{column} >= ?")
                params.append(low)
            if high is not None:
                where.append(f"{column} <= ?")
                params.append(high)
        if process_ids:
            where.append(f"job_name IN ({', '.join('?' * len(process_ids))})")
            params += process_ids
        if statuses:
            stored = [s for ogc in statuses for s in documents.STORE_STATUSES.get(ogc, ())]
            where.append(f"status IN ({', '.join('?' * len(stored))})" if stored else "0")
            params += stored
        sql = (f"SELECT id, job_name, status, recorded_at, started, finished, error_name, run_dir FROM runs "
               f"WHERE {' AND '.join(where)} ORDER BY recorded_at DESC LIMIT ? OFFSET ?")
        with self._store_lock:
            return self.store._read(sql, [*params, int(limit), int(offset)])

    def result(self, job_id: str) -> tuple[dict[str, Any], dict[str, Any] | None]:
        from ..store.history import result_document

        record = self.record(job_id)
        return record, result_document(record) if record["status"] == "succeeded" else None

    def output_files(self, job_id: str, name: str) -> list[tuple[Path, str | None]]:
        """The files of output ``name`` of a successful job, each checked to lie inside its output folder."""
        record, result = self.result(job_id)
        if result is None:
            raise NoSuchJob(f"job {job_id} has no results (it is {record['status']})")
        output = (result.get("outputs") or {}).get(name)
        if output is None:
            raise NoSuchJob(f"job {job_id} has no output {name[:80]!r}")
        root = (Path(record["run_dir"]) / "outputs").resolve()
        files = []
        for file in output.get("files") or []:
            path = (root / str(file["path"])).resolve()
            if root not in path.parents or not path.is_file():
                continue  # a link out of the folder, or a file gone: never served
            files.append((path, file.get("media_type")))
        return files

    def log_tails(self, record: Mapping[str, Any], size: int) -> list[tuple[str, str]]:
        """The last ``size`` bytes of the run's stdout and stderr (secrets already masked by the runner)."""
        tails = []
        for stream in ("stdout", "stderr"):
            path = Path(str(record.get("run_dir") or "")) / "logs" / f"{stream}.log"
            try:
                with open(path, "rb") as file:
                    file.seek(max(0, path.stat().st_size - size))
                    tails.append((stream, file.read(size).decode("utf-8", "replace")))
            except OSError:
                continue
        return tails

    # -- dismissing -------------------------------------------------------------------------------------

    def dismiss(self, job_id: str, wait: float = 120.0) -> dict[str, Any]:
        """Stop the job (a queued one never starts; a running one has its container stopped and removed), then
        remove its run folder (outputs, logs, staged inputs, result), its inline inputs and its record."""
        record = self.record(job_id)
        with self._lock:
            self._dismissed.add(job_id)
            future = self._active.get(job_id)
        if future is not None:
            future.cancel()
            try:
                future.exception(timeout=wait)
            except (concurrent.futures.TimeoutError, concurrent.futures.CancelledError):
                pass
        self.wait(job_id, wait)
        folder = self.folder(job_id)
        if pipeline_jobs.is_pipeline_job(record):
            pipeline_jobs.forget(self, record)
        if folder.is_dir() and not folder.is_symlink():
            shutil.rmtree(folder, ignore_errors=True)
        with self._store_lock:
            self.store._write("DELETE FROM runs WHERE id = ?", [job_id])
        return record

    # -- a restart --------------------------------------------------------------------------------------

    def recover(self, images: Mapping[str, Any]) -> tuple[int, int]:
        """(jobs submitted again, jobs ended): every accepted job runs; every running one whose server died is
        ended (``failed``: its container removed). ``images``: the manifests by image reference."""
        from ..store.history import state

        with self._store_lock:
            rows = self.store._read("SELECT * FROM runs WHERE run_dir >= ? AND run_dir < ? AND status IN ('accepted', "
                                    "'running') AND pipeline_id IS NULL ORDER BY recorded_at",
                                    [self._prefix(), self._prefix() + "\uffff"])
        resubmitted = ended = 0
        for record in rows:
            job_id = record["id"]
            if pipeline_jobs.is_pipeline_job(record):
                if record["status"] == "running":
                    ended += pipeline_jobs.end_lost(self, record)
                else:
                    resubmitted += pipeline_jobs.resubmit(self, record, self.pipelines.get(str(record["job_name"])))
                continue
            if record["status"] == "running":
                if state(record) == "running":
                    continue  # another server on this store still runs it
                remove_containers(job_id)
                shutil.rmtree(Path(record["run_dir"]), ignore_errors=True)
                self._fail(job_id, "error", SERVER_STOPPED, "the server stopped while this job ran; its container "
                           "was removed. Submit it again.")
                ended += 1
                continue
            self._resubmit(record, images.get(record["image"]))
            resubmitted += 1
        return resubmitted, ended

    def _resubmit(self, record: Mapping[str, Any], manifest: Any) -> None:
        from ..runtime.json_inputs import JsonText
        from ..runtime.plan import RunRequest

        job_id = record["id"]
        request = record.get("request") or {}
        with self._lock:
            self._active[job_id] = None
            self._done[job_id] = threading.Event()
        configured = self.config.get(str(record.get("job_name"))) or {}
        json_inputs = {name: JsonText(v["text"]) if "text" in v else v["value"]
                       for name, v in (request.get("json_inputs") or {}).items()}
        run = RunRequest(image=record["image"], file_inputs=request.get("file_inputs") or {}, json_inputs=json_inputs,
                         settings=dict(configured.get("settings") or {}),
                         mounts=dict(configured.get("mounts") or {}), run_dir=record["run_dir"], run_id=job_id)
        self._intake.submit(self._start, job_id, run, request.get("references") or {}, manifest)

    def close(self, cancel: bool = True) -> None:
        """Stop taking jobs; running ones are stopped (``interrupted``): a restart ends them as failed."""
        self._closing = True
        self._intake.shutdown(wait=False, cancel_futures=True)
        self.executor.close(cancel=cancel, reason="interrupted")

