"""Views of the run records: the state a listing shows (a dead runner's run is "runner gone", never "running"
forever), the result document, the logs (followed while the run lives) and a rerun's request.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, BinaryIO, Callable

from .recording import MASK, input_files
from .runstore import StoreError

RUNNER_GONE = "runner gone"
CACHED = "cached"
RESULT_FILE = "result.json"


def result_document(record: dict[str, Any]) -> dict[str, Any] | None:
    """The run's result.json (the source of truth), None when there is none (yet)."""
    if not record.get("run_dir"):
        return None
    try:
        return json.loads((Path(record["run_dir"]) / RESULT_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def runner_gone(record: dict[str, Any]) -> bool:
    """A ``running`` record whose runner is provably dead (its lock is free, or its process is gone)."""
    from ..engine.reaper import _lock_evidence, _process_evidence
    from ..engine.runner_identity import (BOOT_LABEL, LOCK_LABEL, PID_LABEL, PIDNS_LABEL, START_LABEL, UID_LABEL,
                                          here)

    import os

    labels = {BOOT_LABEL: record.get("runner_boot") or "", PIDNS_LABEL: record.get("runner_pidns") or "",
              PID_LABEL: str(record.get("runner_pid") or ""), START_LABEL: record.get("runner_start") or "",
              UID_LABEL: str(os.getuid())}
    if record.get("runner_lock"):
        labels[LOCK_LABEL] = record["runner_lock"]
    lock = _lock_evidence(labels)
    if lock is not None:
        return lock
    return _process_evidence(labels, here())[0] is True


def state(record: dict[str, Any]) -> str:
    """The status to show: the recorded one (``cached`` for a success taken from the result cache), or for a
    ``running`` record whose runner died, what is known."""
    if record["status"] != "running":
        return CACHED if record["status"] == "succeeded" and record.get("cached_from") else record["status"]
    document = result_document(record)
    if document is not None:  # finished, but the end could not be recorded
        return str(document.get("status"))
    return RUNNER_GONE if runner_gone(record) else "running"


def log_path(record: dict[str, Any], stderr: bool = False) -> Path:
    if not record.get("run_dir"):
        raise StoreError(f"run {record['id']} has no run folder")
    return Path(record["run_dir"]) / "logs" / ("stderr.log" if stderr else "stdout.log")


def copy_log(record: dict[str, Any], out: BinaryIO, *, stderr: bool = False, follow: bool = False,
             refresh: Callable[[], dict[str, Any]] | None = None, poll: float = 0.1) -> None:
    """Copy the log to ``out``; ``follow``: keep copying while the run lives (until its result is written or
    its runner is gone)."""
    path = log_path(record, stderr)
    deadline = time.monotonic() + 10.0
    while follow and not path.exists() and time.monotonic() < deadline and _alive(record, refresh):
        time.sleep(poll)  # a run just started: its folder is being staged
    try:
        file = open(path, "rb")
    except FileNotFoundError:
        raise StoreError(f"run {record['id']} has no log {path}") from None
    with file:
        while True:
            chunk = file.read(1 << 16)
            if chunk:
                out.write(chunk)
                out.flush()
                continue
            if not follow or not _alive(record, refresh):
                rest = file.read()  # what was written between the last read and the end
                if rest:
                    out.write(rest)
                    out.flush()
                return
            time.sleep(poll)


def _alive(record: dict[str, Any], refresh: Callable[[], dict[str, Any]] | None) -> bool:
    if refresh is not None:
        try:
            record.update(refresh())
        except StoreError:
            pass
    return state(record) == "running"


def rerun_request(record: dict[str, Any], *, settings: dict[str, str] | None = None, label: str | None = None
                  ) -> tuple[Any, list[str]]:
    """(a RunRequest for the same job and request, the input files that changed since: "NAME: path (why)").

    Secret settings were never stored: their values come from ``settings`` (StoreError when one is missing).
    """
    from ..runtime.json_inputs import JsonText
    from ..runtime.plan import RunRequest

    request = record.get("request")
    if not request:
        raise StoreError(f"run {record['id']} has no recorded request to run again")
    given = settings or {}
    values = dict(request["settings"])
    for name, value in values.items():
        if value == MASK:
            if name not in given:
                raise StoreError(f"setting {name} is a secret and was not stored; give it again "
                                 f"(-e {name} or --secret {name}=FILE)")
    values.update(given)
    changed = []
    before = record.get("inputs") or {}
    for name, paths in request["file_inputs"].items():
        now = {f["path"]: f["sha256"] for f in input_files(paths)}
        then = {f["path"]: f["sha256"] for f in before.get(name, [])}
        for path in sorted(set(now) | set(then)):
            if path not in now:
                changed.append(f"{name}: {path} (gone)")
            elif path not in then:
                changed.append(f"{name}: {path} (new)")
            elif now[path] != then[path]:
                changed.append(f"{name}: {path} (changed: sha256 {str(then[path])[:12]} -> {str(now[path])[:12]})")
    json_inputs = {name: JsonText(v["text"]) if "text" in v else v["value"]
                   for name, v in request["json_inputs"].items()}
    return RunRequest(image=request["image"], file_inputs=request["file_inputs"], json_inputs=json_inputs,
                      settings=values, mounts=request["mounts"], resources=request["resources"], run_dir="",
                      timeout=request["timeout"], grace_period=request["grace_period"], user=request["user"],
                      network=request["network"], label=label if label is not None else record.get("label"),
                      read_only_mounts=tuple(request.get("read_only_mounts") or ())), changed


def rerun_options(record: dict[str, Any]) -> dict[str, Any]:
    """The keywords of ``seed_runner.run`` the original run was given: ``manifest`` (the document it was given
    with --manifest, as recorded; None: the image's label), ``strict`` and ``pull`` (all unset for a run
    recorded before they were)."""
    request = record.get("request") or {}
    manifest = None
    if request.get("manifest") is not None:
        from ..api import load_manifest
        from ..errors import InvalidManifestError

        try:
            manifest = load_manifest(request["manifest"])
        except InvalidManifestError as exc:
            raise StoreError(f"run {record['id']}: its recorded manifest is no longer valid: {exc}") from None
    return {"manifest": manifest, "strict": bool(request.get("strict")), "pull": bool(request.get("pull"))}


def runs(*, status: str | None = None, job: str | None = None, since: float | None = None,
         limit: int | None = None, path: str | Path | None = None, batch: str | None = None,
         pipeline: str | None = None) -> list[dict[str, Any]]:
    """`seed runs` as a library: the records, newest first, each with its ``state`` (``runner gone`` for a
    run whose runner died)."""
    from .runstore import RunStore

    with RunStore.open(path, create=False) as store:
        records = store.list(status=status, job=job, since=since, limit=limit, batch=batch, pipeline=pipeline)
    for record in records:
        record["state"] = state(record)
    return records


def container_state(run_id: str) -> str:
    """What the engine says of a run's container: its state (``running``, ``exited``...), ``gone`` (removed:
    the run ended, or `seed cleanup` removed it), or why it cannot tell."""
    from ..engine.images import connect
    from ..engine.runner_identity import RUN_LABEL

    try:
        containers = connect(timeout=5).list_containers(f"{RUN_LABEL}={run_id}")
    except Exception as exc:  # noqa: BLE001 - a listing never fails for the engine
        return f"unknown (the engine did not answer: {exc})"
    return str(containers[0].get("State") or "unknown") if containers else "gone"
