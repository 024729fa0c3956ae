"""`seed runs rm` as a library (``remove_runs``): a run still going is refused (``RunStillGoing``), or with
``force`` stopped first, then removed.

Why through the engine and not the runner's process: the runner may be a `seed batch` (or `seed test`) running
many runs, and a signal to it would stop them all. Its container is stopped (SIGTERM, then SIGKILL after the
grace period); the runner sees it end, writes its result and records the end; only then is the run no longer
``running``, and its folder can go without pulling it from under a writer.
"""

from __future__ import annotations

import time
from typing import Any, Callable

from .history import state
from .runstore import StoreError

STOP_GRACE_SECONDS = 10.0
STOP_WAIT_SECONDS = 60.0
"""How long the runner gets to see its container end and record it, after the SIGKILL."""


class RunStillGoing(StoreError):
    """A run that is still going cannot be removed (without --force); exit status 2: a refused request."""

    exit_status = 2


def remove_runs(store: Any, run_ids: list[str], *, force: bool = False,
                on_stopped: Callable[[dict[str, Any], str], None] | None = None,
                on_removed: Callable[[dict[str, Any]], None] | None = None) -> list[dict[str, Any]]:
    """Remove runs (ids or unique prefixes): their records and run folders; returns their records.

    A run still going (``history.state``: its runner alive, no result yet) is refused as a whole request
    (``RunStillGoing``, nothing removed), unless ``force``: then its container is stopped (``stop_run``) and
    it is removed once its runner recorded the end; ``on_stopped(record, state)`` says how it ended. A run
    whose runner is gone is removed as any other."""
    records = [store.get(run_id) for run_id in run_ids]
    going = {record["id"] for record in records if state(record) == "running"}
    if going and not force:
        shown = ", ".join(run_id[:12] for run_id in sorted(going))
        raise RunStillGoing(f"run{'s' * (len(going) > 1)} {shown} {'are' if len(going) > 1 else 'is'} still going; "
                            "stop it first (Ctrl-C its seed command), or pass --force to stop it and remove it")
    for record in records:
        if record["id"] in going:
            ended = stop_run(record, lambda: store.get(record["id"]))
            if on_stopped:
                on_stopped(record, ended)
        store.remove(record["id"])
        if on_removed:
            on_removed(record)
    return records


def stop_run(record: dict[str, Any], refresh: Callable[[], dict[str, Any]], *, grace: float = STOP_GRACE_SECONDS,
             wait: float = STOP_WAIT_SECONDS, poll: float = 0.2) -> str:
    """Stop a running run's container and wait until its runner recorded the end; returns the state it ended
    in. StoreError when the engine does not answer, or the run is still going at the end of the wait."""
    from ..engine.images import connect
    from ..engine.runner_identity import RUN_LABEL
    from ..errors import SeedRunnerError

    try:
        engine = connect(timeout=30)
    except SeedRunnerError as exc:
        raise StoreError(f"run {record['id'][:12]} is still going, and its container cannot be stopped: {exc}"
                         ) from None
    started = time.monotonic()
    signal = "SIGTERM"
    sent: set[tuple[str, str]] = set()
    while True:
        current = {**record, **refresh()}
        shown = state(current)
        if shown != "running":
            _await_result(current, poll)
            return shown
        elapsed = time.monotonic() - started
        if elapsed > grace + wait:
            raise StoreError(f"run {record['id'][:12]} is still going {elapsed:.0f} s after its container was "
                             "stopped (its runner has not recorded the end); try again, or stop its seed process")
        if elapsed > grace:
            signal = "SIGKILL"
        try:  # again and again: a run still staging creates its container after the first look
            for container in engine.list_containers(f"{RUN_LABEL}={record['id']}"):
                key = (str(container["Id"]), signal)
                if container.get("State") == "running" and key not in sent:
                    sent.add(key)
                    engine.kill(key[0], signal)
        except SeedRunnerError:
            pass  # gone meanwhile, or the engine is slow: look again
        time.sleep(poll)


def _await_result(record: dict[str, Any], poll: float, seconds: float = 10.0) -> None:
    """The runner records the end just before it writes result.json (last, atomically): wait for that file, so
    the folder is never removed under the runner's last write."""
    from pathlib import Path

    if not record.get("run_dir"):
        return
    result = Path(record["run_dir"]) / "result.json"
    deadline = time.monotonic() + seconds
    while not result.exists() and time.monotonic() < deadline and Path(record["run_dir"]).is_dir():
        time.sleep(poll)
