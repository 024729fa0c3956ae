"""SlurmExecutor: each run one Slurm job (one task of a job array), on the node's own engine.

::

    with SlurmExecutor(shared_dir="/shared/runs", partition="short") as executor:
        futures = [executor.submit(request) for request in requests]
        for future in executor.as_completed(futures):
            print(future.result().document["status"], future.slurm_job)

- A run asks Slurm for what it declares: ``--cpus-per-task`` (whole CPUs, at least 1), ``--mem`` (MiB, when
  declared), ``--gres=gpu:N`` (when declared) and ``--time`` (its timeout plus a margin for the set-up and the
  harvest: ``slurm_parse.time_limit``); ``partition``, ``account``, ``qos`` and ``sbatch_options`` are passed
  through. Runs submitted together (a batch's rows) with the same options go as one job array: one ``sbatch``
  call for 10,000 rows (``submit`` returns at once; a thread sends what was submitted a few milliseconds later).
- The job runs ``python -m seed_runner.executors.slurm_job`` (``slurm_job``'s doc) with the node's engine. The
  request reaches it through a file only the user can read (0600, in a 0700 folder; one an array), which the job
  blanks as it reads it and the executor deletes once every job of the array has read its own: no
  secret is in the job's script, its command line or its environment (only the names of a few variables are
  exported, never ``ALL``), so none is in ``scontrol show job`` or Slurm's state files.
- Run folders: below ``shared_dir`` (a folder the nodes mount at the same path) when given, like
  ``DaskExecutor``; else where the request says (a batch's folder), or ``./seed-runs``. Either way the folder
  is probed once by a Slurm job (``slurm_probe``) before runs go there, with the submission folders
  (``.seed-slurm-<id>``) in it.
- Cancel (``future.cancel()``, ``close(cancel=True)``, a batch's Ctrl-C): the task is told why (a file), then
  ``scancel``: a pending task never starts (``cancelled``, no folder); a running one stops and removes its
  container and ends ``cancelled`` (or ``interrupted``). A run that had ended keeps its own outcome.
- A job Slurm ends (its time limit, its node lost, a preemption) ends its run as a system error
  (``worker-lost``, which ``seed batch --retries`` retries) whose message names Slurm's state and reason. The
  executor polls ``squeue`` (every ``poll`` seconds) and the submission folders; a job Slurm forgot is judged by
  the run folder's ``result.json``.
- Talks to Slurm through its commands (``slurm_commands``' doc says why): they must be on the PATH.
"""

from __future__ import annotations

import concurrent.futures
import os
import sys
import threading
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Sequence

from ..errors import SeedRunnerError
from ..runtime.cancellation import Reason
from .base import (DoesNotFit, ExecutorBase, ExecutorClosed, Footprint, RunFuture, RunOptions, mark_started,
                   with_run_id)
from .slurm_commands import SlurmError, SlurmRefused, sbatch_test  # noqa: F401 - SlurmError: exported
from .slurm_watch import Watch

if TYPE_CHECKING:
    from ..runtime.plan import RunRequest

__all__ = ["SlurmExecutor", "SlurmRunFuture", "SlurmError", "SlurmSetupError", "EXPORTED"]

EXPORTED = ("PATH", "HOME", "USER", "LOGNAME", "LANG", "LC_ALL", "TZ", "TMPDIR", "DOCKER_HOST", "DOCKER_TLS_VERIFY",
            "DOCKER_CERT_PATH", "DOCKER_CONFIG", "DOCKER_CONTEXT", "SEED_HOME", "SEED_CACHE", "XDG_DATA_HOME",
            "XDG_CACHE_HOME", "XDG_RUNTIME_DIR", "VIRTUAL_ENV", "PYTHONPATH")
"""The variables a run's job gets from sbatch's environment (when set): the engine, the run store, Python."""
NODES_SECONDS = 30.0
"""The nodes' sizes (sinfo) are read at most this often."""


class SlurmSetupError(SeedRunnerError):
    """The executor was asked for something it cannot do (a run folder off the shared folder): usage."""

    exit_status = 2


class SlurmRunFuture(RunFuture):
    """A RunFuture that also says which Slurm job runs it."""

    slurm_job: str | None = None
    """``ARRAYJOB_TASK`` once submitted (None before, or when it never was)."""


@dataclass
class Task:
    """A run on its way through Slurm: its future, its submission folder and index, its job once sent."""

    future: SlurmRunFuture
    root: Path
    options: tuple[str, ...]
    folder: Path | None = None
    index: int = -1
    job: str | None = None
    started: bool = False
    ended_seen: float | None = None
    """When Slurm first said the job ended while its ``N.done`` was not there yet."""
    asked: Reason | None = None
    """Why the executor cancelled it (None: it did not)."""
    sending: bool = False
    delivered: Any = None
    """Its ``N.done`` when a signal the executor did not send stopped it (Slurm's verdict is awaited)."""


class SlurmExecutor(ExecutorBase):
    """Runs each request as a Slurm job (see the module's doc)."""

    def __init__(self, *, shared_dir: str | Path | None = None, partition: str | None = None,
                 account: str | None = None, qos: str | None = None, sbatch_options: Sequence[str] = (),
                 python: str | None = None, time_margin: float | None = None, export: Sequence[str] = (),
                 poll: float = 2.0, linger: float = 0.2, on_start: Callable[[RunFuture], None] | None = None,
                 engine_factory: Callable[[], Any] | None = None) -> None:
        """``shared_dir``: the folder the nodes share (default: each run folder's own, probed). ``partition``,
        ``account``, ``qos``, ``sbatch_options`` (e.g. ``["--constraint=ssd"]``) go to every ``sbatch``.
        ``python``: the node's Python with seed-runner (default: this one's path). ``time_margin``: seconds
        added to a run's timeout for its job's ``--time`` (default: a tenth, at least 2 minutes). ``export``:
        more variable names the jobs get. ``poll``: seconds between two ``squeue``; ``linger``: how long
        submissions are gathered into one array. ``engine_factory``: this machine's engine, to read the images'
        manifests (none: runs are sized on the node)."""
        self.shared_dir = None if shared_dir is None else Path(shared_dir).absolute()
        if self.shared_dir is not None and not self.shared_dir.is_dir():
            raise SlurmSetupError(f"the shared folder {self.shared_dir} does not exist here; create it on a file "
                                  "system every Slurm node mounts at the same path")
        self._described = {"partition": partition, "account": account, "qos": qos,
                           "sbatch_options": list(sbatch_options), "python": python}
        self.sbatch_options = tuple(
            [f"--partition={partition}"] * bool(partition) + [f"--account={account}"] * bool(account)
            + [f"--qos={qos}"] * bool(qos) + list(sbatch_options))
        try:
            sbatch_test(self.sbatch_options)  # Slurm answers, and takes the partition, account and QOS
        except SlurmRefused as exc:
            raise SlurmSetupError(f"Slurm refuses these options: {exc}") from None
        self.python = python or sys.executable
        self.time_margin = time_margin
        self.export = (*EXPORTED, *export)
        self._on_start = on_start
        self._engine_factory = engine_factory or _default_engine
        self._manifests: Any = None
        self._nodes: tuple[float, dict[str, Footprint]] | None = None
        self._lock = threading.Lock()
        self._closed = False
        self.id = os.urandom(4).hex()
        self._watch = Watch(self, poll=poll, linger=linger)

    # -- the interface -----------------------------------------------------------------------------------

    def footprint(self, request: "RunRequest", options: RunOptions = RunOptions()) -> Footprint:
        """What the run will hold (its plan's allocations); nothing when its manifest cannot be read here."""
        from .sizing import footprint

        if options.manifest is not None:
            return footprint(options.manifest, request)
        known = self._manifest(request.image)
        return Footprint() if known is None else footprint(known[0], request, known[1])

    def check_fits(self, need: Footprint) -> None:
        """DoesNotFit when no node of the cluster (its partition) has the CPUs, memory or GPUs the run needs."""
        from .slurm_commands import node_sizes

        if self._nodes is None or time.monotonic() - self._nodes[0] > NODES_SECONDS:  # a batch checks every row
            self._nodes = (time.monotonic(), node_sizes(self.sbatch_options))
        nodes = self._nodes[1]
        if not nodes:
            return  # sinfo says nothing of the partition: sbatch itself refuses what never fits
        if any(need.fits(size) for size in nodes.values()):
            return
        name, biggest = max(nodes.items(), key=lambda item: (item[1].cpus, item[1].mem, item[1].gpus))
        raise DoesNotFit(f"the run needs {need.describe()}, more than any Slurm node has (the biggest: {name} with "
                         f"{biggest.describe(zeros=True)}); lower the job's resources (--resource) or ask for "
                         "another partition (--partition)")

    def description(self) -> dict[str, Any]:
        """What batch.json keeps of this executor, for ``seed batch resume`` (the same cluster options)."""
        return {"kind": "slurm", "shared_dir": None if self.shared_dir is None else str(self.shared_dir),
                **self._described}

    def submit(self, request: "RunRequest", options: RunOptions = RunOptions(), *,
               footprint: Footprint | None = None) -> SlurmRunFuture:
        """Queue one run; it is sent to Slurm a moment later with the runs submitted with it. ``footprint``: its
        size when the caller knows it."""
        if self._closed:
            raise ExecutorClosed("this executor is closed; make a new one")
        need = footprint if footprint is not None else self.footprint(request, options)
        self.check_fits(need)
        request = with_run_id(request)
        run_dir, root = self._place(request)
        future = SlurmRunFuture(replace(request, run_dir=str(run_dir)), options, need)
        from .slurm_parse import sbatch_resources

        sbatch = tuple(sbatch_resources(need.cpus, need.mem, need.gpus, self._timeout(request, options),
                                        self.time_margin))
        future.on_cancel = self._cancelled
        self._watch.add(Task(future, root, sbatch + self.sbatch_options))
        return future

    def close(self, *, cancel: bool = False, reason: Reason = "cancelled") -> None:
        """No more submissions; wait for every run (``cancel``: cancel them first), then remove the submission
        folders. A Ctrl-C while it waits cancels every run (``interrupted``) and is raised once they ended."""
        self._closed = True
        if cancel:
            self._watch.cancel_all(reason)
        try:
            self._wait_all()
        except KeyboardInterrupt:
            self._watch.cancel_all("interrupted")
            self._wait_all()
            raise
        finally:
            if all(task.future.done() for task in self._watch.tasks()):
                self._watch.stop()

    def _wait_all(self) -> None:
        while True:
            waiting = [task.future for task in self._watch.tasks() if not task.future.done()]
            if not waiting:
                return
            concurrent.futures.wait(waiting, timeout=1.0)

    # -- placing, sizing, cancelling ---------------------------------------------------------------------

    def _place(self, request: "RunRequest") -> tuple[Path, Path]:
        """(the run folder, the folder probed for it: the shared folder, else the run folder's parent)."""
        from ..runtime.run_folder import name_hint

        given = str(request.run_dir or "")
        named = given not in ("", ".")
        fresh = f"{name_hint(request.image)}-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}-{request.run_id}"
        if self.shared_dir is None:
            run_dir = Path(os.path.abspath(given)) if named else Path("seed-runs").absolute() / fresh
            return run_dir, run_dir.parent
        run_dir = Path(os.path.normpath(self.shared_dir / given)) if named else self.shared_dir / fresh
        if not run_dir.is_relative_to(self.shared_dir) or run_dir == self.shared_dir:
            raise SlurmSetupError(f"the run folder {run_dir} is not in the shared folder {self.shared_dir}, so the "
                                  "Slurm nodes may not see it; give a folder in it (or a relative one)")
        return run_dir, self.shared_dir

    def _timeout(self, request: "RunRequest", options: RunOptions) -> float | None:
        if request.timeout is not None:
            return request.timeout
        manifest = options.manifest
        if manifest is None:
            known = self._manifest(request.image)
            manifest = known[0] if known else None
        return None if manifest is None else float(manifest.job.timeout or 0) or None

    def _manifest(self, image: str) -> Any:
        if self._manifests is None:
            from .sizing import ManifestCache

            self._manifests = ManifestCache(self._engine_factory)
        try:
            return self._manifests.get(image)
        except SeedRunnerError:
            return None

    def _cancelled(self, future: RunFuture) -> None:
        self._watch.cancel([future], future.cancellation.reason)

    def started(self, future: RunFuture) -> None:
        """(the watch thread) A task announced its start."""
        mark_started(future, self._on_start)

    def __del__(self) -> None:  # a forgotten executor still stops its thread
        try:
            self._watch.stop()
        except Exception:  # noqa: BLE001
            pass


def _default_engine() -> Any:
    from ..engine.images import connect

    return connect(timeout=None)

