"""LocalExecutor: runs on this machine's engine, side by side, packed by what they declare.

The pool starts a run when it fits: the declared ``cpus``, ``mem`` (and ``gpus``) of the runs in flight never
exceed the engine host's (``GET /info``), or the caps given (``cpus=``, ``mem=``, ``gpus=``), and at most
``parallel`` runs are in flight (default: the host's CPU count). Pending runs start first-fit in submission
order: a small run may pass a large one that does not fit yet. A run that could never fit is refused at
``submit`` (``DoesNotFit``). Each run is one thread calling ``seed_runner.run`` (the runner is thread-safe);
nothing else runs in the background.
"""

from __future__ import annotations

import concurrent.futures
import os
import threading
from collections import deque
from typing import TYPE_CHECKING, Any, Callable

from .base import DoesNotFit, ExecutorBase, ExecutorClosed, Footprint, RunFuture, RunOptions, unstarted, \
    with_run_id
from ..runtime.cancellation import Reason

if TYPE_CHECKING:
    from ..runtime.plan import RunRequest


class LocalExecutor(ExecutorBase):
    """A resource-aware pool of runs on the local (or ``DOCKER_HOST``'s) engine."""

    def __init__(self, *, parallel: int | None = None, cpus: float | None = None, mem: float | None = None,
                 gpus: float | None = None, engine_factory: Callable[[], Any] | None = None,
                 on_start: Callable[[RunFuture], None] | None = None) -> None:
        """``cpus``/``mem`` (MiB)/``gpus`` cap what runs in flight may declare together (default: the engine
        host's CPUs and memory, no GPUs); ``parallel`` caps their count. ``engine_factory`` gives an engine
        client (default: the one the environment names); ``on_start`` is called as each run begins."""
        if parallel is not None and parallel < 1:
            raise ValueError("parallel must be at least 1")
        for name, cap in (("cpus", cpus), ("mem", mem), ("gpus", gpus)):
            if cap is not None and not cap >= 0:  # not "-1 means the host's", not NaN
                raise ValueError(f"{name} must be a number of 0 or more, not {cap}")
        self._engine_factory = engine_factory or _default_engine
        self._given = Footprint(cpus=cpus if cpus is not None else -1.0, mem=mem if mem is not None else -1.0,
                                gpus=gpus if gpus is not None else 0.0)
        self._capacity: Footprint | None = None
        self.parallel = parallel or os.cpu_count() or 1
        self._on_start = on_start
        self._lock = threading.Lock()
        self._pending: deque[RunFuture] = deque()
        self._running: set[RunFuture] = set()
        self._in_use = Footprint()
        self._closed = False
        self._stopping = False
        """close(cancel=True) began: nothing more starts."""
        from .sizing import ManifestCache

        self._manifests = ManifestCache(self._engine_factory)

    # -- the interface -----------------------------------------------------------------------------------

    @property
    def capacity(self) -> Footprint:
        """What runs in flight may hold together (the caps given, else the engine host's)."""
        if self._capacity is None:
            given = self._given
            host = None
            if given.cpus < 0 or given.mem < 0:
                from .sizing import host_capacity

                host = host_capacity(self._engine_factory())
            self._capacity = Footprint(cpus=given.cpus if given.cpus >= 0 else host.cpus,  # type: ignore[union-attr]
                                       mem=given.mem if given.mem >= 0 else host.mem,  # type: ignore[union-attr]
                                       gpus=given.gpus)
        return self._capacity

    @property
    def submit_window(self) -> int:
        """How many runs a batch keeps submitted at once: enough that first fit finds a run that fits."""
        return max(64, 4 * self.parallel)

    def description(self) -> dict[str, Any]:
        """What batch.json keeps of this executor (``seed batch resume`` makes the same one): the caps given."""
        given = self._given
        return {"kind": "local", "parallel": self.parallel, "cpus": given.cpus if given.cpus >= 0 else None,
                "mem": given.mem if given.mem >= 0 else None, "gpus": given.gpus or None}

    def footprint(self, request: "RunRequest", options: RunOptions = RunOptions()) -> Footprint:
        """What the run will hold (its plan's allocations); nothing when its manifest cannot be read."""
        from .sizing import footprint

        if options.manifest is not None:
            return footprint(options.manifest, request)
        known = self._manifests.get(request.image)
        return Footprint() if known is None else footprint(known[0], request, known[1])

    def check_fits(self, need: Footprint) -> None:
        capacity = self.capacity
        if not need.fits(capacity):
            raise DoesNotFit(f"the run needs {need.describe()}, more than this executor ever has "
                             f"({capacity.describe(zeros=True)}); lower the job's resources (--resource) or raise the "
                             "caps (--cpus, --mem, --gpus)")

    def submit(self, request: "RunRequest", options: RunOptions = RunOptions(), *,
               footprint: Footprint | None = None) -> RunFuture:
        """Queue one run; its future ends with its RunResult. ``footprint``: its size when the caller knows it
        (a batch sizes every row before it submits any)."""
        if self._closed:
            raise ExecutorClosed("this executor is closed; make a new one")
        from .chaining import references, submit_when_ready

        if references(request):  # an input from another run: submitted once that run has ended
            return submit_when_ready(request, options, self.submit)
        need = footprint if footprint is not None else self.footprint(request, options)
        self.check_fits(need)
        future = RunFuture(with_run_id(request), options, need)
        future.on_cancel = self._cancelled
        with self._lock:
            self._pending.append(future)
        self._dispatch()
        return future

    def close(self, *, cancel: bool = False, reason: Reason = "cancelled") -> None:
        """No more submissions; wait for every run (``cancel``: stop them first). A Ctrl-C while it waits stops
        every run (``interrupted``) and is raised once they are gone; one while runs are being stopped waits for
        them (nothing is left running)."""
        self._closed = True
        if cancel:
            with self._lock:  # before any cancel: a run ending meanwhile must not start a waiting one
                self._stopping = True
            self._cancel_all(reason)
        try:
            self._wait_all(stopping=cancel)
        except KeyboardInterrupt:
            with self._lock:
                self._stopping = True
            self._cancel_all("interrupted")
            self._wait_all(stopping=True)
            raise

    def _cancel_all(self, reason: Reason) -> None:
        with self._lock:  # the queue taken whole: one removal a run from 100,000 waiting ones is quadratic
            waiting, self._pending = list(self._pending), deque()
            running = list(self._running)
        for future in waiting:
            if not future.done():
                future.cancellation.cancel(reason)
                if future.set_running_or_notify_cancel():
                    future.set_result(unstarted(future.request, reason))
        for future in running:
            self.cancel(future, reason)

    def _wait_all(self, *, stopping: bool) -> None:
        while True:
            with self._lock:
                waiting = [*self._pending, *self._running]
            if not waiting:
                return
            for future in waiting:
                try:
                    future.exception()
                except concurrent.futures.CancelledError:
                    pass
                except KeyboardInterrupt:
                    if not stopping:
                        raise

    @property
    def in_flight(self) -> Footprint:
        """What the running runs hold now."""
        with self._lock:
            return self._in_use

    # -- the pool ----------------------------------------------------------------------------------------

    def _cancelled(self, future: RunFuture) -> None:
        """A pending run that is cancelled ends now, without starting; a running one ends in its thread."""
        with self._lock:
            if future not in self._pending:
                return
            self._pending.remove(future)
        if future.set_running_or_notify_cancel():
            future.set_result(unstarted(future.request, future.cancellation.reason))

    def _dispatch(self) -> None:
        """Start every pending run that fits now, in submission order (first fit)."""
        starting: list[RunFuture] = []
        with self._lock:
            if self._stopping:
                return
            capacity = self.capacity
            # No copy of the queue a call: a batch submits 100,000 runs, each submit dispatches.
            for future in self._pending:
                if len(self._running) + len(starting) >= self.parallel:
                    break
                if future.footprint.fits(capacity - self._in_use):
                    self._in_use = self._in_use + future.footprint
                    starting.append(future)
            for future in starting:
                self._pending.remove(future)  # near the queue's head: started in order
                self._running.add(future)
        for future in starting:
            threading.Thread(target=self._run, args=(future,), name=f"seed-run-{future.run_id}",
                             daemon=True).start()

    def _run(self, future: RunFuture) -> None:
        from ..runtime.runner import run

        try:
            if not future.set_running_or_notify_cancel():
                return
            if future.cancellation.cancelled:
                future.set_result(unstarted(future.request, future.cancellation.reason))
                return
            if self._on_start is not None:
                self._on_start(future)
            result = run(future.request, cancel=future.cancellation, **future.options.run_kwargs())
            future.set_result(result)
        except BaseException as exc:  # noqa: BLE001 - run() decides outcomes; this is a bug, kept for the caller
            if not future.done():
                future.set_exception(exc)
        finally:
            with self._lock:
                self._running.discard(future)
                # Nothing running holds nothing: float sums do not cancel out exactly (0.1 + 0.2 - 0.1 - 0.2).
                self._in_use = self._in_use - future.footprint if self._running else Footprint()
            self._dispatch()


def _default_engine() -> Any:
    from ..engine.images import connect

    return connect(timeout=None)
