"""The executor interface: where a run request runs, in the ``concurrent.futures`` shape schedulers know.

An executor takes run requests and gives back futures::

    with LocalExecutor(parallel=4) as executor:
        futures = [executor.submit(request) for request in requests]
        for future in executor.as_completed(futures):
            result = future.result()          # a RunResult; never raises for a run that failed
            print(result.document["status"])

- ``submit(request, options=RunOptions())`` returns a ``RunFuture`` at once (a ``concurrent.futures.Future``,
  so ``concurrent.futures.wait`` and ``as_completed`` work on it too). It raises ``DoesNotFit`` for a run that
  could never fit where this executor runs things, and ``ExecutorClosed`` after ``close``.
- ``future.cancel()`` stops a run wherever it is: a pending one never starts; a running one has its container
  stopped and removed. The future then ends with a RunResult of status ``cancelled`` (not a
  ``CancelledError``: a batch wants the record of every run it asked for). A run whose job had already ended
  when the cancel reached it keeps its own outcome (a finished success stays a success): ``cancel()`` returns
  False only for a future that was already done.
- ``as_completed(futures, timeout)`` yields futures as their runs end.
- ``close(cancel=False)`` waits for every run (``cancel=True``: cancels them first; ``reason="interrupted"`` is
  what a Ctrl-C records). Executors are context managers: leaving the block closes, cancelling on an exception.

A run's result is decided by ``seed_runner.run`` wherever it runs; an executor only chooses where and when.
Any class with these methods can stand in (``seed conformance --executor-class``); ``Executor`` is the
protocol to check against.
"""

from __future__ import annotations

import concurrent.futures
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator, Mapping, Protocol, Self, runtime_checkable

from ..errors import SeedRunnerError
from ..runtime.cancellation import Cancellation, Reason

if TYPE_CHECKING:
    from ..manifest.model import Manifest
    from ..runtime.plan import RunRequest
    from ..runtime.runner import RunResult


class DoesNotFit(SeedRunnerError):
    """A run that needs more than any place this executor runs things has (refused at submit)."""

    exit_status = 2


class ExecutorClosed(SeedRunnerError):
    """``submit`` after ``close``."""


@dataclass(frozen=True)
class RunOptions:
    """What ``seed_runner.run`` takes besides the request, the same for every executor."""

    manifest: "Manifest | None" = None
    """The manifest to use instead of the image's label (``--manifest``)."""
    pull: bool = False
    strict: bool = False
    cache: bool = False
    """Use the result cache (``--cache``)."""

    def run_kwargs(self) -> dict[str, Any]:
        kwargs: dict[str, Any] = {"manifest": self.manifest, "pull": self.pull, "strict": self.strict}
        if self.cache:
            kwargs["cache"] = True
        return kwargs


@dataclass(frozen=True)
class Footprint:
    """What a run holds while it runs: the allocations the packing counts (``cpus``, ``mem`` in MiB, ``gpus``).
    A resource the job does not declare counts as 0 (the engine does not limit it either)."""

    cpus: float = 0.0
    mem: float = 0.0
    gpus: float = 0.0
    extra: Mapping[str, float] = field(default_factory=dict)

    @classmethod
    def of(cls, allocations: Mapping[str, float]) -> "Footprint":
        known = ("cpus", "mem", "gpus")
        return cls(*(float(allocations.get(name) or 0.0) for name in known),
                   extra={k: float(v) for k, v in allocations.items() if k not in known})

    def fits(self, free: "Footprint") -> bool:
        return self.cpus <= free.cpus + 1e-9 and self.mem <= free.mem + 1e-9 and self.gpus <= free.gpus + 1e-9

    def __add__(self, other: "Footprint") -> "Footprint":
        return Footprint(self.cpus + other.cpus, self.mem + other.mem, self.gpus + other.gpus)

    def __sub__(self, other: "Footprint") -> "Footprint":
        return Footprint(self.cpus - other.cpus, self.mem - other.mem, self.gpus - other.gpus)

    def describe(self, *, zeros: bool = False) -> str:
        """What it holds, e.g. "1 cpus, 64 MiB mem"; ``zeros`` names the amounts that are 0 too (a capacity)."""
        amounts = ((self.cpus, "{:g} cpus"), (self.mem, "{:g} MiB mem"), (self.gpus, "{:g} gpus"))
        parts = [text.format(value) for value, text in amounts if value or zeros]
        return ", ".join(parts) or "nothing declared"


class RunFuture(concurrent.futures.Future):  # type: ignore[type-arg]
    """The handle of one submitted run; its result is a ``RunResult``."""

    def __init__(self, request: "RunRequest", options: RunOptions, footprint: Footprint = Footprint()) -> None:
        super().__init__()
        self.request = request
        self.options = options
        self.footprint = footprint
        self.cancellation = Cancellation()
        self.on_cancel: Callable[["RunFuture"], None] | None = None
        """Set by the executor: takes a pending run out of its queue at once."""

    @property
    def run_id(self) -> str | None:
        return self.request.run_id

    def output(self, name: str) -> "OutputRef":
        """This run's output ``name``, as an input of another run (``executors.chaining``): the run that takes
        it waits for this one."""
        return OutputRef(self, name)

    def cancel(self, reason: Reason = "cancelled") -> bool:  # type: ignore[override]
        """Stop the run (see the module's doc). True unless it had already ended."""
        if self.done():
            return False
        self.cancellation.cancel(reason)
        if self.on_cancel is not None:
            self.on_cancel(self)
        return True


@dataclass(frozen=True)
class OutputRef:
    """The output ``name`` of a run, as an input of another (``executors.chaining``): ``source`` a RunFuture
    (waited for) or a RunResult."""

    source: Any
    name: str

    def result(self) -> "RunResult":
        return self.source.result() if isinstance(self.source, RunFuture) else self.source


@runtime_checkable
class Executor(Protocol):
    def submit(self, request: "RunRequest", options: RunOptions = ...) -> RunFuture: ...

    def as_completed(self, futures: Iterable[RunFuture], timeout: float | None = None) -> Iterator[RunFuture]: ...

    def close(self, *, cancel: bool = False, reason: Reason = "cancelled") -> None: ...


class ExecutorBase:
    """What our executors share: ``as_completed``, ``cancel``, and the context manager (leaving closes; an
    exception cancels what is left, ``reason="interrupted"`` on Ctrl-C). A subclass gives submit and close."""

    def close(self, *, cancel: bool = False, reason: Reason = "cancelled") -> None:
        raise NotImplementedError

    def as_completed(self, futures: Iterable[RunFuture], timeout: float | None = None) -> Iterator[RunFuture]:
        return as_completed(futures, timeout)

    def cancel(self, future: RunFuture, reason: Reason = "cancelled") -> bool:
        return future.cancel(reason)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, kind: type[BaseException] | None, *rest: object) -> None:
        interrupted = kind is not None and issubclass(kind, KeyboardInterrupt)
        self.close(cancel=kind is not None, reason="interrupted" if interrupted else "cancelled")


def with_run_id(request: "RunRequest") -> "RunRequest":
    """The request with a run id of its own (an executor knows the id before the run starts: ``seed logs``)."""
    import os

    return request if request.run_id else replace(request, run_id=os.urandom(6).hex())


def unstarted(request: "RunRequest", reason: Reason) -> "RunResult":
    """The result of a run cancelled before it started: no folder, no record, the document says so."""
    from ..runtime.runner import stopped_before_start

    return stopped_before_start(request, reason)


def mark_started(future: RunFuture, on_start: Callable[[RunFuture], Any] | None) -> None:
    """(an executor's own thread) A run's task has begun where it runs: its future is marked running, unless it
    was cancelled or has ended meanwhile, and ``on_start`` is told; a caller's progress display that fails never
    stops the thread."""
    try:
        if not future.set_running_or_notify_cancel():
            return
    except RuntimeError:  # it ended meanwhile
        return
    if on_start is not None:
        try:
            on_start(future)
        except Exception:  # noqa: BLE001 - a progress display's failure is not the run's
            pass


def as_completed(futures: Iterable[RunFuture], timeout: float | None = None) -> Iterator[RunFuture]:
    return concurrent.futures.as_completed(list(futures), timeout)  # type: ignore[arg-type]
