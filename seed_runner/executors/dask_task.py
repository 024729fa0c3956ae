"""The worker's side of ``DaskExecutor``: what runs inside a Dask worker process.

Every function here is called on a worker (a task, or ``client.run``), never on the client, and pickled by
reference: the workers need seed-runner installed (``pip install 'seed-runner[dask]'``).

- ``run_task``: one run, as one Dask task: ``seed_runner.run`` against the worker's own engine, in the run
  folder the executor chose (or in the worker's spool folder, then copied to ``outputs_to``).
- ``cancel_runs``: the executor's cancel, sent to every worker with ``client.run``. A run in progress here has
  its token cancelled (the runner stops and removes its container); a run not here is remembered, so that it
  never starts here later (a task already queued on this worker, or resubmitted after a worker died).
- ``image_manifest``: an image's manifest, read from the worker's engine (the client may have no engine).
- ``reap_dead``: the containers of dead runners on the worker's engine (a worker killed mid-run leaves one).
"""

from __future__ import annotations

import os
import shutil
import threading
from collections import OrderedDict
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..runtime.cancellation import Cancellation, Reason

if TYPE_CHECKING:
    from ..runtime.plan import RunRequest
    from ..runtime.runner import RunResult
    from .base import RunOptions

_REMEMBERED = 100_000
"""How many cancelled (and finished) run ids a worker remembers: ids only, a few MiB at most."""


@dataclass(frozen=True)
class Placement:
    """Where a run's folder is, as the executor decided it on the client."""

    run_dir: str | None = None
    """The run folder on the shared folder (absolute); None: in the worker's spool folder, copied out."""
    fresh: bool = False
    """``run_dir`` was the executor's to make (absent or empty at submit): whatever is in it when the task
    starts was left by an attempt of this same run on a worker that died, and is cleared first."""
    outputs_to: str | None = None
    """The fsspec URL the run folder is copied to after the run (when there is no shared folder)."""
    spool: str | None = None
    """The worker-local folder runs are made in before the copy (None: <tmp>/seed-runner-dask-<uid>)."""
    folder_name: str = ""
    """The run folder's name in the spool and under ``outputs_to``."""
    started_topic: str | None = None
    """The Dask event topic the task announces its start on (the client marks the future running)."""
    share_check: tuple[str, str] | None = None
    """(path, text) of the file the executor keeps in the shared folder: a worker that does not read this text
    there does not see the folder, and starts nothing (``sees_share``)."""


@dataclass(frozen=True)
class Delivered:
    """What a task gives back: the run's result (without its plan), and the run store's record of it (copied
    into the client's store, so that the machine that submitted lists the run too)."""

    result: "RunResult"
    record: dict[str, Any] | None
    worker: str | None


class _Registry:
    """The runs of this worker process: their tokens while they run, and the ids cancelled before they came."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.running: dict[str, Cancellation] = {}
        self.refused: OrderedDict[str, Reason] = OrderedDict()
        self.finished: OrderedDict[str, None] = OrderedDict()

    def begin(self, run_id: str) -> Cancellation | Reason:
        """The token of a run about to start here, or the reason it was cancelled before it came."""
        with self.lock:
            if run_id in self.refused:
                return self.refused[run_id]
            token = self.running[run_id] = Cancellation()
            return token

    def end(self, run_id: str) -> None:
        with self.lock:
            self.running.pop(run_id, None)
            _remember(self.finished, run_id, None)

    def cancel(self, run_id: str, reason: Reason) -> str:
        with self.lock:
            if run_id in self.running:
                self.running[run_id].cancel(reason)
                return "running"
            if run_id in self.finished:
                return "finished"
            _remember(self.refused, run_id, reason)
            return "absent"


def _remember(book: OrderedDict[str, Any], key: str, value: Any) -> None:
    book[key] = value
    while len(book) > _REMEMBERED:
        book.popitem(last=False)


_runs = _Registry()


def cancel_runs(items: list[tuple[str, Reason]]) -> dict[str, str]:
    """(``client.run`` on every worker) Cancel these runs here: {run id: "running" (its container is being
    stopped), "finished" (its result is on its way) or "absent" (it will never start here)}."""
    return {run_id: _runs.cancel(run_id, reason) for run_id, reason in items}


def run_task(request: "RunRequest", options: "RunOptions", manifest_document: dict[str, Any] | None,
             placement: Placement) -> Delivered:
    """(a Dask task) One run on this worker's engine; never raises for the run's own failures."""
    from ..runtime.runner import stopped_before_start

    run_id = str(request.run_id)
    token = _runs.begin(run_id)
    if not isinstance(token, Cancellation):  # cancelled before it came here: nothing starts
        return Delivered(stopped_before_start(request, token), None, _worker_address())
    try:
        if placement.share_check is not None and not sees_share(*placement.share_check):
            return Delivered(unseen_share(request, placement.share_check[0]), None, _worker_address())
        _announce(placement.started_topic, run_id)
        return _run_here(request, options, manifest_document, placement, token)
    finally:
        _runs.end(run_id)


def _run_here(request: "RunRequest", options: "RunOptions", manifest_document: dict[str, Any] | None,
              placement: Placement, token: Cancellation) -> Delivered:
    from ..runtime.runner import run

    if placement.run_dir is not None:
        run_dir = Path(placement.run_dir)
        if placement.fresh:
            clear_lost_attempt(run_dir)
    else:  # <spool>/<run id>/<name>: always this run's, whatever name two runs give their folders
        spooled = Path(placement.spool or _default_spool()) / str(request.run_id)
        clear_lost_attempt(spooled)
        run_dir = spooled / placement.folder_name
    if manifest_document is not None:
        from ..manifest.model import Manifest

        options = replace(options, manifest=Manifest.from_dict(manifest_document))
    result = run(replace(request, run_dir=run_dir), cancel=token, **options.run_kwargs())
    if placement.outputs_to is not None and result.run_dir is not None:
        from .dask_outputs import copy_out

        result = copy_out(result, placement.outputs_to)
    from .recording import store_record

    return Delivered(replace(result, plan=None), store_record(str(request.run_id)), _worker_address())


_seen: dict[str, bool] = {}  # marker path -> whether this worker process read its text (checked once)


def sees_share(path: str, text: str) -> bool:
    """Whether this worker sees the executor's shared folder: it reads the marker's text there. Asked before
    every run (a worker that joined after the executor's probe was never probed); read once a worker process."""
    if path not in _seen:
        try:
            with open(path, encoding="utf-8") as file:
                _seen[path] = file.read(len(text) + 1) == text
        except OSError:
            _seen[path] = False
    return _seen[path]


def unseen_share(request: "RunRequest", marker: str) -> "RunResult":
    """The result of a run given to a worker that does not see the shared folder: nothing started, no folder."""
    from ..runtime.outcome import system_failure
    from ..runtime.runner import RunResult, stopped_before_start

    where = _worker_address() or "a Dask worker"
    message = (f"Dask worker {where} does not see the shared folder {os.path.dirname(marker)} (it joined after the "
               "folder was checked); nothing was started there: mount the folder on it at the same path, or stop it")
    outcome = system_failure("shared-folder-unseen", message)
    document = {**stopped_before_start(request).document, "status": outcome.status,
                "error": outcome.error.to_dict(), "message": message}  # type: ignore[union-attr]
    return RunResult(outcome, document, None)


def clear_lost_attempt(run_dir: Path) -> None:
    """Clear what an attempt of this run on a dead worker left in its folder, so that the new attempt starts in
    an empty one. The folder is first renamed away: a container of the dead attempt (on another host's engine,
    not yet reaped) keeps writing into the renamed folder, never into the new attempt's."""
    try:
        if not run_dir.is_dir() or run_dir.is_symlink() or not any(run_dir.iterdir()):
            return
    except OSError:
        return
    lost = run_dir.with_name(f".{run_dir.name}.lost-{os.urandom(4).hex()}")
    try:
        os.rename(run_dir, lost)
    except OSError:
        return  # the run then refuses the folder (not empty): reported, never hidden
    shutil.rmtree(lost, ignore_errors=True)


def _default_spool() -> str:
    import tempfile

    return os.path.join(tempfile.gettempdir(), f"seed-runner-dask-{os.getuid()}")


def _worker_address() -> str | None:
    try:
        from distributed import get_worker

        return str(get_worker().address)
    except (ImportError, ValueError):  # not in a worker (a test calling the task directly)
        return None


def _announce(topic: str | None, run_id: str) -> None:
    """Tell the client the run started (a Dask event: batched with the worker's other messages, no round
    trip)."""
    if topic is None:
        return
    try:
        from distributed import get_worker

        get_worker().log_event(topic, {"run_id": run_id})
    except (ImportError, ValueError):
        pass


def image_manifest(reference: str) -> tuple[dict[str, Any], dict[str, str]] | None:
    """(a Dask task) The manifest document in an image's label and the image's environment, read from this
    worker's engine; None when the image or its label cannot be read (the run itself then says why)."""
    from ..errors import SeedRunnerError
    from ..engine.images import connect, inspect_image
    from ..runtime.runner import label_manifest

    try:
        image = inspect_image(connect(), reference)
        return dict(label_manifest(image).data), dict(image.env or {})
    except SeedRunnerError:
        return None


def reap_dead() -> list[str]:
    """(``client.run`` on every worker) Remove this user's containers whose runner is proven dead on this
    worker's engine (a worker killed mid-run leaves its container running); returns their ids."""
    from ..engine.reaper import cleanup_leftovers

    return cleanup_leftovers()


def probe_write(folder: str, token: str) -> tuple[str, str, str | None]:
    """(``client.run`` on every worker) Write a file of this worker's own in ``folder``: (its name, its text,
    None or why it cannot)."""
    address = _worker_address() or f"pid-{os.getpid()}"
    name = "".join(c if c.isalnum() else "-" for c in address)
    text = f"{address} {token}"
    try:
        if not os.path.isdir(folder):
            return name, text, f"it does not see {folder} (no such folder there)"
        with open(os.path.join(folder, name), "w", encoding="utf-8") as file:
            file.write(text)
        return name, text, None
    except OSError as exc:
        return name, text, f"it cannot write in {folder} ({exc.strerror})"


def probe_read(folder: str, expected: dict[str, str]) -> list[str]:
    """(``client.run``) The names in ``expected`` whose file in ``folder`` is missing or holds other text."""
    unseen = []
    for name, text in expected.items():
        try:
            with open(os.path.join(folder, name), encoding="utf-8") as file:
                if file.read() != text:
                    unseen.append(name)
        except OSError:
            unseen.append(name)
    return unseen
