"""DaskExecutor: runs on the workers of a Dask cluster, each run one Dask task on the worker's own engine.

::

    from distributed import Client
    with DaskExecutor(Client("tcp://scheduler:8786"), shared_dir="/shared/runs") as executor:
        futures = [executor.submit(request) for request in requests]
        for future in executor.as_completed(futures):
            print(future.result().document["status"])

- Each run is one task (``client.submit(pure=False, key="seed-run-<run id>")``) that calls ``seed_runner.run``
  on a worker, against that worker's engine (its ``DOCKER_HOST``). It asks Dask for the resources the run
  declares (``CPU``, ``MEM`` in MiB, ``GPU``: ``dask_cluster``'s doc), so workers started with
  ``--resources "CPU=8,MEM=32768"`` take only what fits; a run that fits no worker is refused at ``submit``
  (``DoesNotFit``, naming the biggest worker).
- Run folders: on ``shared_dir``, a folder every worker and this machine see at the same path (checked at start:
  every worker writes a file there, this machine and every other worker read it back; a worker that joins later
  is checked by each task before its run starts: it reads a file the executor keeps there, and a worker that
  cannot starts nothing, the run ending ``shared-folder-unseen``). A request's relative
  ``run_dir`` is taken below it, none gives ``<shared_dir>/<image>-<time>-<run id>``. Without a shared folder,
  ``outputs_to`` (an fsspec URL: ``file:///srv/runs``, ``s3://bucket/runs``) receives a copy of each run folder
  after the run (``dask_outputs``), and the result's ``run_dir`` names the copy (None for a URL that is not a
  local path; the document's ``run_dir`` holds the URL then).
- Cancelling (``future.cancel()``, ``close(cancel=True)``): every worker is told (``client.run``); the one
  running the run stops and removes its container and the run ends ``cancelled``; a run that had not started is
  taken off the scheduler (``client.cancel``) and never starts.
- A worker that dies mid-run: Dask runs the task again on another worker, up to the scheduler's
  ``distributed.scheduler.allowed-failures`` (default 3); the new attempt starts in an emptied run folder, under
  the same run id, so the run store keeps one row. Past that, the run ends ``error`` (``worker-lost``, system).
  Either way the future ends once. The dead worker's container is removed by the next run on its engine (every
  run reaps containers whose runner is provably dead) and, at ``close``, on every worker's engine.
- A lost scheduler (the client's connection to it broke): each run in flight ends with what its run folder says
  (``result.json``, when the run ended on its worker), else ``error`` ``scheduler-lost``; ``contact_lost`` is
  set, ``submit`` refuses (DaskClusterError) and ``close`` skips what needs the scheduler.
- The result is a ``RunResult`` rebuilt from what the task returns (the document, the folder, the outcome;
  ``plan`` is None). The worker's run-store record is copied into this machine's store.

``distributed`` is an optional dependency (``pip install 'seed-runner[dask]'``), imported by this module (an
ImportError saying so when it is missing), which nothing imports unless a DaskExecutor is asked for.
"""

from __future__ import annotations

import concurrent.futures
import os
import threading
import time
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Mapping

try:  # the dask extra: this module is imported only when a DaskExecutor is asked for
    import distributed  # noqa: F401
except ImportError as exc:
    raise ImportError(f"DaskExecutor needs Dask's distributed ({exc}): pip install 'seed-runner[dask]'") from exc

from ..errors import SeedRunnerError
from ..runtime.cancellation import Reason
from .base import (ExecutorBase, ExecutorClosed, Footprint, RunFuture, RunOptions, mark_started, unstarted,
                   with_run_id)
from .dask_cluster import (RESOURCE_NAMES, DaskClusterError, Workers, connect, probe_shared_dir, share_marker,
                           wait_for_workers)
from .dask_task import Placement

if TYPE_CHECKING:
    from ..runtime.plan import RunRequest
    from ..runtime.runner import RunResult

__all__ = ["DaskExecutor", "DaskRunFuture", "DaskClusterError", "DaskSetupError"]


class DaskSetupError(SeedRunnerError):
    """The executor was asked for something it cannot do (no place for run folders, a folder off the share)."""

    exit_status = 2


class DaskRunFuture(RunFuture):
    """A RunFuture that also says where the run ran."""

    worker: str | None = None
    """The address of the Dask worker that gave the result (None before, or when no worker did)."""
    placed_in: str | None = None
    """Its run folder on the shared folder (None: spooled on the worker)."""


class DaskExecutor(ExecutorBase):
    """Runs on a Dask cluster's workers (see the module's doc)."""

    def __init__(self, client_or_address: Any, *, shared_dir: str | Path | None = None,
                 outputs_to: str | None = None, spool_dir: str | None = None, connect_timeout: float = 10.0,
                 worker_timeout: float = 30.0, on_start: Callable[[RunFuture], None] | None = None,
                 resource_names: Mapping[str, str] = RESOURCE_NAMES) -> None:
        """``client_or_address``: a ``distributed.Client`` (left open at ``close``) or the scheduler's address
        (``tcp://HOST:8786``: a client of its own, closed at ``close``). Exactly one of ``shared_dir`` (a folder
        every worker sees at the same path) and ``outputs_to`` (an fsspec URL the run folders are copied to)
        is required; ``spool_dir`` is where workers make run folders before that copy (default
        ``<tmp>/seed-runner-dask-<uid>`` on each worker). Waits ``worker_timeout`` s for a first worker.
        ``on_start`` is called (in the Dask client's thread: keep it short) as each run begins on a worker;
        ``resource_names`` maps ``cpus``/``mem``/``gpus`` to the Dask resource names the workers declare."""
        if (shared_dir is None) == (outputs_to is None):
            raise DaskSetupError("the Dask executor needs one place for run folders: shared_dir (--shared-dir, a "
                                 "folder every worker sees at the same path) or outputs_to (--outputs-to, an fsspec "
                                 "URL the run folders are copied to)")
        self.client, self._owns_client = connect(client_or_address, timeout=connect_timeout)
        try:
            wait_for_workers(self.client, worker_timeout)
            self.shared_dir = None if shared_dir is None else Path(shared_dir).absolute()
            if self.shared_dir is not None:
                probe_shared_dir(self.client, self.shared_dir)
            # Workers that join later were never probed: each task reads this file before its run starts.
            self._share_check = None if self.shared_dir is None else share_marker(self.shared_dir)
        except BaseException:
            if self._owns_client:
                self.client.close()
            raise
        self.outputs_to = outputs_to
        self._spool = spool_dir
        self._workers = Workers(self.client, resource_names)
        self._workers.declared()  # how many workers there are, to wait for after one died
        self._on_start = on_start
        self._lock = threading.Lock()
        self._live: dict[str, tuple[RunFuture, Any]] = {}  # run id -> (its future, its Dask future)
        self._early: set[str] = set()  # runs announced started before submit() filed them
        self._manifests: dict[str, Any] = {}
        self._closed = self._finished = self._worker_died = False
        self.contact_lost = False
        """The connection to the scheduler was lost: runs whose end is unknown ended ``scheduler-lost``."""
        self.reaped: list[str] = []
        """The containers of dead runners that ``close`` removed on the workers' engines."""
        self._topic = f"seed-runner-started-{os.urandom(6).hex()}"
        self.client.subscribe_topic(self._topic, self._started)

    # -- the interface -----------------------------------------------------------------------------------

    def footprint(self, request: "RunRequest", options: RunOptions = RunOptions()) -> Footprint:
        """What the run will hold (its plan's allocations); the image's manifest is read on a worker (this
        machine may have no engine), once an image. Nothing when its manifest cannot be read."""
        from .sizing import footprint

        if options.manifest is not None:
            return footprint(options.manifest, request)
        known = self._image_manifest(request.image)
        return Footprint() if known is None else footprint(known[0], request, known[1])

    def check_fits(self, need: Footprint) -> dict[str, float]:
        """The Dask resources a run of this size asks for; DoesNotFit when no worker has them."""
        return self._workers.check_fits(need)

    def submit(self, request: "RunRequest", options: RunOptions = RunOptions(), *,
               footprint: Footprint | None = None) -> DaskRunFuture:
        """Send one run to the cluster; its future ends with its RunResult. ``footprint``: its size when the
        caller knows it."""
        if self._closed:
            raise ExecutorClosed("this executor is closed; make a new one")
        if self.contact_lost:
            raise DaskClusterError("the connection to the Dask scheduler was lost; start it again and resume")
        from .chaining import references, submit_when_ready

        if references(request):  # an input from another run: submitted once that run has ended
            return submit_when_ready(request, options, self.submit)  # type: ignore[return-value]
        need = footprint if footprint is not None else self.footprint(request, options)
        try:
            resources = self.check_fits(need)
        except (OSError, TimeoutError):  # the scheduler's answer about its workers never came
            self.contact_lost = True
            raise DaskClusterError("the connection to the Dask scheduler was lost; start it again and resume") \
                from None
        future = DaskRunFuture(with_run_id(request), options, need)
        run_id = str(future.run_id)
        placement = self._placement(future.request)
        future.placed_in = placement.run_dir
        document = None if options.manifest is None else dict(options.manifest.data)  # a Manifest is not picklable
        from .dask_task import run_task

        dask_future = self.client.submit(run_task, future.request, replace(options, manifest=None), document,
                                         placement, key=f"seed-run-{run_id}", pure=False,
                                         resources=resources or None)
        future.on_cancel = self._cancelled
        with self._lock:
            self._live[run_id] = (future, dask_future)
            early = run_id in self._early
            self._early.discard(run_id)
        if early:
            self._mark_running(future)
        dask_future.add_done_callback(partial(self._ended, future))
        return future

    def batch_folder(self, given: Path | None, name: str) -> Path:
        """Where a batch's folder goes, checked before anything is written: in the shared folder (its run folders
        are made there by the workers); ``name`` below it when none is given."""
        if self.shared_dir is None:
            return given if given is not None else Path("seed-runs") / name
        folder = Path(os.path.normpath(given.absolute())) if given is not None else self.shared_dir / name
        if not folder.is_relative_to(self.shared_dir) or folder == self.shared_dir:
            raise DaskSetupError(f"the batch folder {folder} is not in the shared folder {self.shared_dir}, where the "
                                 f"workers make its run folders; give -o {self.shared_dir}/NAME (or no -o)")
        return folder

    def description(self) -> dict[str, Any]:
        """What batch.json keeps of this executor, for ``seed batch resume``."""
        return {"kind": "dask", "scheduler": str(self.client.scheduler.address) if self.client.scheduler else None,
                "shared_dir": None if self.shared_dir is None else str(self.shared_dir),
                "outputs_to": self.outputs_to}

    def close(self, *, cancel: bool = False, reason: Reason = "cancelled") -> None:
        """No more submissions; wait for every run (``cancel``: stop them first), remove what dead runners
        left on the workers' engines, and close the client if this executor made it."""
        self._closed = True
        if self._finished:
            return
        if cancel:
            with self._lock:
                live = [future for future, _ in self._live.values()]
            for future in live:
                future.cancellation.cancel(reason)
            if not self.contact_lost:
                self._cancel(live, reason)
        while True:
            with self._lock:
                waiting = [future for future, _ in self._live.values()]
            if not waiting:
                break
            concurrent.futures.wait(waiting)
            time.sleep(0.005)  # a future just given its result leaves the list a moment later
        self._finished = True
        if self._share_check is not None:
            Path(self._share_check[0]).unlink(missing_ok=True)
        if self.contact_lost:  # no scheduler to reach the workers through
            if self._owns_client:
                self.client.close(timeout=5)
            return
        try:
            from .dask_task import reap_dead

            if self._worker_died:  # its container is reaped on its engine: give a restarting worker time to join
                self._workers.wait_for_all(timeout=30.0)
            reaped = self.client.run(reap_dead, on_error="return")
            self.reaped = sorted({c for found in reaped.values() if isinstance(found, list) for c in found})
            self.client.unsubscribe_topic(self._topic)
        except (OSError, TimeoutError, distributed.client.FutureCancelledError):
            self.contact_lost = True  # the scheduler went as the last runs ended: each run's end is known
        finally:
            if self._owns_client:
                self.client.close()

    # -- placing, cancelling, ending ---------------------------------------------------------------------

    def _placement(self, request: "RunRequest") -> Placement:
        from ..runtime.run_folder import name_hint

        given = str(request.run_dir or "")
        named = given not in ("", ".")
        fresh_name = f"{name_hint(request.image)}-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}-{request.run_id}"
        if self.shared_dir is None:
            return Placement(outputs_to=self.outputs_to, spool=self._spool,
                             folder_name=Path(given).name if named else fresh_name, started_topic=self._topic)
        run_dir = Path(os.path.normpath(self.shared_dir / given)) if named else self.shared_dir / fresh_name
        if not run_dir.is_relative_to(self.shared_dir) or run_dir == self.shared_dir:
            raise DaskSetupError(f"the run folder {run_dir} is not in the shared folder {self.shared_dir}, so the "
                                 "workers may not see it; give a folder in it (or a relative one)")
        return Placement(run_dir=str(run_dir), fresh=not named or _absent_or_empty(run_dir),
                         started_topic=self._topic, share_check=self._share_check)

    def _cancelled(self, future: RunFuture) -> None:
        self._cancel([future], future.cancellation.reason)

    def _cancel(self, futures: list[RunFuture], reason: Reason) -> None:
        """Tell every worker; take the runs no worker has started off the scheduler."""
        from .dask_task import cancel_runs

        with self._lock:
            pairs = [(f, self._live[str(f.run_id)][1]) for f in futures if str(f.run_id) in self._live]
        if not pairs:
            return
        answers = self.client.run(cancel_runs, [(str(f.run_id), reason) for f, _ in pairs], on_error="return")
        there = {run_id for answer in answers.values() if isinstance(answer, dict)
                 for run_id, state in answer.items() if state != "absent"}
        waiting = [dask_future for f, dask_future in pairs if str(f.run_id) not in there]
        if waiting:  # each ends "cancelled" on the scheduler, and its future with an unstarted result
            self.client.cancel(waiting)

    def _started(self, event: Any) -> None:
        """(the Dask client's thread) A task announced its start."""
        run_id = str((event[1] or {}).get("run_id"))
        with self._lock:
            entry = self._live.get(run_id)
            if entry is None:
                self._early.add(run_id)
                return
        self._mark_running(entry[0])

    def _mark_running(self, future: RunFuture) -> None:
        if future.running():  # a second start: its first worker died, and Dask runs it again
            self._worker_died = True
            return
        mark_started(future, self._on_start)

    def _ended(self, future: DaskRunFuture, dask_future: Any) -> None:
        """(Dask's callback thread) The task ended: its future gets its result, exactly once."""
        try:
            result = _result_of(future, dask_future, self)
        except BaseException as exc:  # noqa: BLE001 - a bug of ours: kept for the caller, never lost
            result, error = None, exc
        else:
            error = None
        if result is not None and (result.document.get("error") or {}).get("name") == "worker-lost":
            self._worker_died = True
        if not future.done():
            if error is not None:
                future.set_exception(error)
            else:
                future.set_result(result)
        with self._lock:  # only now: close() waits for what is here
            self._live.pop(str(future.run_id), None)

    def _image_manifest(self, reference: str) -> Any:
        """(manifest, image environment) from a worker's engine, or None; read once an image."""
        with self._lock:
            if reference in self._manifests:
                return self._manifests[reference]
        from ..manifest.model import Manifest
        from .dask_task import image_manifest

        found = None
        for address in sorted(self._workers.declared()):
            answer = self.client.run(image_manifest, reference, workers=[address], on_error="return").get(address)
            if isinstance(answer, tuple):
                found = (Manifest.from_dict(answer[0]), answer[1])
                break
        with self._lock:
            self._manifests[reference] = found
        return found


def _absent_or_empty(folder: Path) -> bool:
    try:
        return not folder.exists() or (folder.is_dir() and not any(folder.iterdir()))
    except OSError:
        return False


def _result_of(future: DaskRunFuture, dask_future: Any, executor: DaskExecutor) -> "RunResult":
    from .dask_outputs import ended_in
    from .recording import keep_record, lost

    if dask_future.status == "finished":
        delivered = dask_future.result()
        future.worker = delivered.worker
        keep_record(delivered.record)
        return delivered.result
    if dask_future.status == "cancelled":
        if future.cancellation.cancelled:
            return unstarted(future.request, future.cancellation.reason)
        why = getattr(getattr(dask_future, "_state", None), "exception", None)
        if getattr(why, "reason", None) == "scheduler-connection-lost" or executor.client.status != "running":
            executor.contact_lost = True  # the run may have ended on its worker: its folder says so
            found = ended_in(future.placed_in)
            return found if found is not None else lost(
                future.request, "scheduler-lost", "the connection to the Dask scheduler was lost before the run's "
                "end was known; resume the batch (seed batch resume) once the scheduler is back")
        return lost(future.request, "worker-lost", "its Dask task was dropped by the scheduler (it restarted, or "
                                                   "the connection to it was lost); the run did not finish")
    error = dask_future.exception()
    if type(error).__name__ == "KilledWorker":
        return lost(future.request, "worker-lost", f"every Dask worker that ran it died ({error}); the run did "
                                                   "not finish anywhere")
    return lost(future.request, "worker-lost", f"its Dask task failed on the worker: {type(error).__name__}: "
                                               f"{error} (is seed-runner installed there, at this version?)")
