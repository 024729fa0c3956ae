"""The Slurm executor's one background thread: it sends what was submitted (job arrays), watches the tasks
(their submission folders, ``squeue``) and ends each run's future exactly once (``slurm_results``).

Submission folders: ``<root>/.seed-slurm-<executor id>/<n>/`` (0700), one for each ``sbatch``; ``root`` is
the probed folder (the shared folder, or the run folders' parent). They hold the requests until each task reads
its own (then it is deleted), the tasks' ``started``/``done`` files and their output (``N.out``); they are
removed when the executor closes.
"""

from __future__ import annotations

import os
import pickle
import shlex
import shutil
import threading
import time
from collections import defaultdict
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..runtime.cancellation import Reason
from .slurm_commands import SlurmError, max_array_size, sbatch, scancel, squeue
from .slurm_job import CANCEL_ALL, REQUESTS, write_atomically, write_requests
from .slurm_parse import ENDED, exported, verdict

if TYPE_CHECKING:
    from .base import RunFuture
    from .slurm import SlurmExecutor, Task

TICK_SECONDS = 0.2
"""How often the submission folders are looked at (a run's start and end are seen within this)."""
GRACE_SECONDS = 3.0
"""How long a task's ``done`` file may lag behind Slurm saying its job ended (a shared file system's caches)."""
UNSEEN_SECONDS = 15.0
"""How long a submitted job may be absent from squeue before it is judged forgotten."""
CONTROLLER_SECONDS = 300.0
"""How long squeue may fail in a row before every run in flight is judged lost."""


class Watch:
    def __init__(self, executor: "SlurmExecutor", *, poll: float, linger: float) -> None:
        self.executor = executor
        self.poll = poll
        self.linger = linger
        self.lock = threading.RLock()  # a future's callbacks run under it, and may cancel
        self.queue: list[Task] = []
        self.live: dict[int, Task] = {}  # id(future) -> task, every task not ended
        self.every: list[Task] = []
        self.probed: dict[Path, str | None] = {}  # folder -> None (shared) or why not
        self.submitted_at: dict[str, float] = {}  # array job -> when
        self.roots: set[Path] = set()
        self.count = 0
        self.last_add = 0.0
        self.last_squeue = 0.0
        self.squeue_failing: float | None = None
        self.array_limit: int | None = None
        self.wake = threading.Event()
        self.stopping = False
        self.thread = threading.Thread(target=self._loop, name=f"seed-slurm-{executor.id}", daemon=True)
        self.thread.start()

    # -- called from the executor (any thread) -----------------------------------------------------------

    def add(self, task: "Task") -> None:
        with self.lock:
            first = not self.queue
            self.queue.append(task)
            self.live[id(task.future)] = task
            self.every.append(task)
            self.last_add = time.monotonic()
        if first:  # the thread wakes once a burst of submissions (then waits for the linger to pass)
            self.wake.set()

    def tasks(self) -> list["Task"]:
        with self.lock:
            return list(self.every)

    def cancel(self, futures: list["RunFuture"], reason: Reason) -> None:
        jobs = []
        with self.lock:
            for future in futures:
                task = self.live.get(id(future))
                if task is None or future.done():
                    continue
                task.asked = reason
                if task in self.queue:  # never sent: it ends now, without a job
                    self.queue.remove(task)
                    self._end_locked(task, _unstarted(task, reason))
                elif task.job is not None:
                    try:
                        write_atomically(task.folder / f"{task.index}.cancel", reason.encode())  # type: ignore[operator]
                    except OSError:
                        pass
                    jobs.append(task.job)
                # else: being sent now; the sender cancels it once it has its job
        if jobs:
            try:
                scancel(jobs)
            except SlurmError:
                pass  # Slurm unreachable: the watch keeps asking squeue, and the run ends however it ends

    def cancel_all(self, reason: Reason) -> None:
        with self.lock:
            for root in self.roots:
                try:
                    write_atomically(self._spool(root) / CANCEL_ALL, reason.encode())
                except OSError:
                    pass
            arrays = sorted({task.job.split("_")[0] for task in self.live.values() if task.job})
            for task in list(self.live.values()):
                task.asked = task.asked or reason
            for task in list(self.queue):
                self._end_locked(task, _unstarted(task, reason))
            self.queue.clear()
        if arrays:
            try:
                scancel(arrays)
            except SlurmError:
                pass

    def stop(self) -> None:
        self.stopping = True
        self.wake.set()
        if threading.current_thread() is not self.thread:
            self.thread.join(timeout=10)
        for root in list(self.roots):
            shutil.rmtree(self._spool(root), ignore_errors=True)  # requests of tasks that never started: secrets

    # -- the thread --------------------------------------------------------------------------------------

    def _loop(self) -> None:
        while not self.stopping:
            self.wake.wait(TICK_SECONDS)
            self.wake.clear()
            try:
                self._tick()
            except Exception as exc:  # noqa: BLE001 - a bug of ours: every run in flight says so, none hangs
                with self.lock:
                    for task in list(self.live.values()):
                        self._end_locked(task, _lost(task, f"the Slurm executor failed: {type(exc).__name__}: "
                                                           f"{exc}", "runner-failure"))
                    self.queue.clear()

    def _tick(self) -> None:
        now = time.monotonic()
        with self.lock:
            sending = bool(self.queue) and (now - self.last_add >= self.linger or len(self.queue) >= 100_000)
            batch, self.queue = (self.queue, []) if sending else ([], self.queue)
            for task in batch:
                task.sending = True
        if batch:
            self._send(batch)
        self._scan()
        awaiting = any(t.ended_seen is not None or t.delivered is not None for t in self._live())
        if self._live() and now - self.last_squeue >= (min(0.5, self.poll) if awaiting else self.poll):
            self._judge()

    def _live(self) -> list["Task"]:
        with self.lock:
            return [task for task in self.live.values() if task.job is not None]

    # -- sending -----------------------------------------------------------------------------------------

    def _spool(self, root: Path) -> Path:
        return root / f".seed-slurm-{self.executor.id}"

    def _send(self, batch: list["Task"]) -> None:
        from .slurm_probe import probe_folders

        batch = [task for task in batch if not task.future.done()]
        unprobed = sorted({t.root for t in batch if not any(_under(t.root, p) for p in self.probed)})
        if unprobed:
            try:
                probe_folders(unprobed, self.executor.python, self.executor.sbatch_options)
                self.probed.update({folder: None for folder in unprobed})
            except SlurmError as exc:
                self.probed.update({folder: str(exc) for folder in unprobed})
        groups: dict[tuple[Path, tuple[str, ...]], list[Task]] = defaultdict(list)
        for task in batch:
            why = next((w for p, w in self.probed.items() if _under(task.root, p)), None)
            if why is not None:
                self._end(task, _lost(task, why, "run-folder-unavailable"))
                continue
            groups[(task.root, task.options)].append(task)
        if groups and self.array_limit is None:
            self.array_limit = max_array_size()
        for (root, options), tasks in groups.items():
            limit = self.array_limit or 1001
            for start in range(0, len(tasks), limit):
                self._send_array(root, options, tasks[start:start + limit])

    def _send_array(self, root: Path, options: tuple[str, ...], tasks: list["Task"]) -> None:
        from ..runtime.run_folder import name_hint

        self.count += 1
        folder = self._spool(root) / str(self.count)
        try:
            os.makedirs(folder, mode=0o700, exist_ok=False)
            self.roots.add(root)
            blobs = []
            for index, task in enumerate(tasks):
                task.folder, task.index = folder, index
                request, run_options = task.future.request, task.future.options
                document = None if run_options.manifest is None else dict(run_options.manifest.data)
                blobs.append(pickle.dumps((request, replace(run_options, manifest=None), document)))
            write_requests(folder / REQUESTS, blobs)
        except OSError as exc:
            for task in tasks:
                self._end(task, _lost(task, f"cannot write the run's request in {folder} ({exc.strerror})",
                                      "run-folder-unavailable"))
            return
        script = (f"#!/bin/sh\nexec {shlex.quote(self.executor.python)} -m seed_runner.executors.slurm_job "
                  f"{shlex.quote(str(folder))}\n")
        name = f"seed-{name_hint(tasks[0].future.request.image)}"[:64]
        argv = [f"--array=0-{len(tasks) - 1}", f"--job-name={name}", f"--output={folder}/%a.out",
                f"--chdir={folder}", "--no-requeue", f"--export={exported(self.executor.export, os.environ)}",
                *options]
        try:
            job = sbatch(argv, script)
        except SlurmError as exc:
            for task in tasks:
                self._end(task, _lost(task, f"Slurm did not take the run's job: {exc}", "runner-failure"))
            return
        self.submitted_at[job] = time.monotonic()
        cancelled = []
        with self.lock:
            for task in tasks:
                task.job = task.future.slurm_job = f"{job}_{task.index}"
                task.sending = False
                if task.asked is not None:
                    cancelled.append(task)
        if cancelled:
            self.cancel([t.future for t in cancelled], cancelled[0].asked)  # type: ignore[arg-type]

    # -- watching ----------------------------------------------------------------------------------------

    def _scan(self) -> None:
        """Starts and ends the tasks announced in their submission folders."""
        by_folder: dict[Path, list[Task]] = defaultdict(list)
        for task in self._live():
            by_folder[task.folder].append(task)  # type: ignore[index]
        for folder, tasks in by_folder.items():
            try:
                names = set(os.listdir(folder))
            except OSError:
                continue
            for task in tasks:
                if not task.started and f"{task.index}.started" in names:
                    task.started = True
                    self.executor.started(task.future)
                if task.delivered is None and f"{task.index}.done" in names:
                    self._delivered(task)
            if REQUESTS in names and self._all_taken(folder):  # every request read: the file goes
                (folder / REQUESTS).unlink(missing_ok=True)

    def _all_taken(self, folder: Path) -> bool:
        with self.lock:
            return all(t.started or t.future.done() for t in self.every if t.folder == folder)

    def _delivered(self, task: "Task") -> None:
        try:
            delivered = pickle.loads((task.folder / f"{task.index}.done").read_bytes())  # type: ignore[operator]
        except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ValueError) as exc:
            self._end(task, _lost(task, f"its job's result could not be read ({exc})", "runner-failure"))
            return
        if delivered.signalled is not None and delivered.asked is None and task.asked is None:
            task.delivered = delivered  # stopped by Slurm's own signal: squeue says why (``_judge``)
            return
        from .slurm_results import delivered_result

        self._end(task, delivered_result(delivered))

    def _judge(self) -> None:
        """Ask squeue about every job in flight; end the tasks Slurm ended without their ``done`` file."""
        tasks = self._live()
        try:
            states = squeue({t.job.split("_")[0] for t in tasks})  # type: ignore[union-attr]
            self.squeue_failing = None
        except SlurmError as exc:
            now = time.monotonic()
            self.squeue_failing = self.squeue_failing or now
            if now - self.squeue_failing > CONTROLLER_SECONDS:
                for task in tasks:
                    self._end(task, _lost(task, f"Slurm has not answered for {CONTROLLER_SECONDS:g} s ({exc})"))
            return
        finally:
            self.last_squeue = time.monotonic()
        now = time.monotonic()
        for task in tasks:
            array = task.job.split("_")[0]  # type: ignore[union-attr]
            state, reason = states.get(task.job) or states.get(array) or ("", "")  # type: ignore[arg-type]
            if state and state not in ENDED:
                continue
            if not state and now - self.submitted_at.get(array, now) < UNSEEN_SECONDS:
                continue
            if task.ended_seen is None and task.delivered is None:
                task.ended_seen = now
                continue
            if task.delivered is None and now - task.ended_seen < GRACE_SECONDS:  # type: ignore[operator]
                continue
            self._end(task, self._verdict(task, state, reason))

    def _verdict(self, task: "Task", state: str, reason: str) -> Any:
        from .slurm_results import delivered_result, from_folder

        killed = verdict(str(task.job), state, reason)
        if killed is not None:
            return _lost(task, killed)
        if task.delivered is not None:
            return delivered_result(task.delivered)
        if task.asked is not None and not task.started:
            return _unstarted(task, task.asked)
        found = from_folder(task.future.request)
        if found is not None:
            return found
        if task.asked is not None:
            return _unstarted(task, task.asked)
        said = f"ended {state}" if state else "is no longer known to Slurm"
        return _lost(task, f"Slurm job {task.job} {said} without a result (its output: {task.folder}/"
                           f"{task.index}.out)")

    # -- ending ------------------------------------------------------------------------------------------

    def _end(self, task: "Task", result: Any) -> None:
        with self.lock:
            self._end_locked(task, result)

    def _end_locked(self, task: "Task", result: Any) -> None:
        self.live.pop(id(task.future), None)
        if not task.future.done():
            task.future.set_result(result)


def _under(folder: Path, probed: Path) -> bool:
    return folder == probed or folder.is_relative_to(probed)


def _unstarted(task: "Task", reason: str) -> Any:
    from .base import unstarted

    return unstarted(task.future.request, reason)  # type: ignore[arg-type]


def _lost(task: "Task", message: str, name: str = "worker-lost") -> Any:
    from .slurm_results import lost

    return lost(task.future.request, message, task.job, name)
