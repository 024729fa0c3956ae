"""The runner's side of the run store: the start of a run (committed before its container starts) and its end
(from the result document). Never raises: a store that cannot be written becomes a ``run-not-recorded`` warning.

Secret values are never stored: a secret setting is kept as ``****`` (a rerun asks for it again).

The store stays off the way to the container's start (``background``): the whole start (the input files hashed,
sqlite3 imported, the store opened, the cache key, the INSERT) is recorded by a thread that ``begin`` starts as
the engine is asked to create the container, and ``settle`` waits for it before the container starts.
``finished`` writes the end in the caller's thread: its failure must reach the result. One connection a run.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

NOT_RECORDED = "run-not-recorded"
MASK = "****"


def sha256_of(path: Path) -> str | None:
    from ..runtime.input_files import file_sha256

    try:
        return file_sha256(path)[0]
    except OSError:
        return None


def input_files(paths: list[str]) -> list[dict[str, Any]]:
    """[{path, sha256}] of every file a request names (a directory: the files below it, sorted)."""
    files: list[dict[str, Any]] = []
    for given in paths:
        path = Path(given).absolute()
        if path.is_dir():
            found = sorted(Path(d) / name for d, _, names in os.walk(path) for name in names)
        else:
            found = [path]
        files += [{"path": str(f), "sha256": sha256_of(f)} for f in found]
    return files


def request_record(request: Any, manifest: Any, choices: dict[str, Any] | None = None) -> dict[str, Any]:
    """The request as a rerun needs it (secret settings masked, paths absolute), with the run's ``choices``:
    ``manifest`` (the document given with --manifest, None for the image's label), ``strict`` and ``pull``."""
    secret = {s.variable for s in manifest.job.interface.settings if s.secret} if manifest else set()
    from ..manifest.names import normalize_name
    from ..runtime.json_inputs import JsonText

    settings = {name: MASK if normalize_name(name) in secret else value for name, value in request.settings.items()}
    return {
        "image": request.image,
        "file_inputs": {name: [_recorded_path(p) for p in paths] for name, paths in request.file_inputs.items()},
        "json_inputs": {name: {"text": str(value)} if isinstance(value, JsonText) else {"value": value}
                        for name, value in request.json_inputs.items()},
        "settings": settings,
        "mounts": {name: str(Path(p).absolute()) for name, p in request.mounts.items()},
        "resources": dict(request.resources), "timeout": request.timeout, "grace_period": request.grace_period,
        "user": request.user, "network": request.network, **(choices or {}),
        **({"read_only_mounts": list(request.read_only_mounts)} if request.read_only_mounts else {}),
    }


_PLAIN_ABSOLUTE = re.compile(r"(?:/(?!\.\.?(?:/|$))[^/]+)+")
"""An absolute path pathlib gives back as it is (no empty or ``.`` segment, no trailing ``/``): a batch's rows
are recorded by the 100,000, each of its paths without pathlib's cost."""


def _recorded_path(value: Any) -> str:
    """A file input as written down: a path made absolute; a URL as given, without its credentials (``redact``:
    userinfo and query values are ``****``: a rerun asks for them again)."""
    if isinstance(value, str) and _PLAIN_ABSOLUTE.fullmatch(value) and "://" not in value:
        return value
    from ..inputs.urls import is_url, redact

    return redact(value) if is_url(value) else str(Path(value).absolute())


def started(context: dict[str, Any], request: Any, plan: Any, image: Any) -> None:
    """The start of a run, to be recorded: ``begin`` records it in a thread of its own, ``settle`` waits for it
    and merges what it found into ``context`` (recording it there and then when it was not begun): the input
    files hashed, the store opened, the cache key made, the INSERT. Never raises."""
    context["store_start"] = (request, plan, image)


def begin(context: dict[str, Any]) -> None:
    """Record the start in a thread of its own: called just before the engine is asked to create the container,
    so that the thread works while the runner waits (earlier, it would take the interpreter's lock from the
    runner's own last steps)."""
    from .background import Background

    if (start := context.pop("store_start", None)) is not None:
        context["store_writing"] = Background(_start, context, *start)


def _start(context: dict[str, Any], request: Any, plan: Any, image: Any) -> dict[str, Any]:
    """What the start gives the run's context: ``inputs`` and ``input_sha256`` (for the result and the crate),
    and ``store``, ``store_record`` and ``cache_key``, else ``store_error``. Only reads ``context`` (it may run
    in ``begin``'s thread)."""
    found: dict[str, Any] = {}
    store = None
    try:
        from ..engine import runner_identity as ri
        from ..runtime.input_records import input_records
        from .runstore import RunStore

        job = plan.manifest.job
        req = request_record(request, plan.manifest if plan else None, context.get("choices"))
        inputs = {name: input_files(paths) for name, paths in req["file_inputs"].items()}
        sources = context.get("input_sources") or {}  # URL inputs: where each cached file came from
        for files in inputs.values():
            for file in files:
                file["url"] = (sources.get(file["path"]) or {}).get("url")
        # The crate at the end names the same files: it takes these hashes instead of reading the files again.
        found["input_sha256"] = {f["path"]: f["sha256"] for files in inputs.values() for f in files}
        found["inputs"] = input_records(plan, found["input_sha256"], sources)  # the result's, and the key's
        labels = ri.runner_labels()  # the labels its container gets: this process, and the lock it holds
        record = {
            "id": context["run_id"], "label": getattr(request, "label", None), "image": request.image,
            "batch_id": getattr(request, "batch_id", None),
            "pipeline_id": getattr(request, "pipeline_id", None),
            "input_runs": list(getattr(request, "input_runs", ()) or ()) or None,
            "executor_job": getattr(request, "executor_job", None),
            "digest": getattr(image, "id", None), "job_name": job.name, "job_version": job.job_version,
            "package_version": job.package_version, "status": "running", "run_dir": str(plan.run_dir),
            "inputs": inputs, "json_inputs": req["json_inputs"], "settings": req["settings"],
            "resources": dict(plan.allocations), "request": req, "runner_pid": int(labels[ri.PID_LABEL]),
            "runner_host": labels[ri.HOST_LABEL], "runner_boot": labels[ri.BOOT_LABEL],
            "runner_lock": labels.get(ri.LOCK_LABEL), "runner_start": labels[ri.START_LABEL],
            "runner_pidns": labels[ri.PIDNS_LABEL],
        }
        store = RunStore.open()
        if getattr(image, "id", None):  # no image id, no key: a tag alone never identifies what ran
            from .result_cache import cache_key, key_document

            strict = bool((context.get("choices") or {}).get("strict"))
            record["cache_key"] = cache_key(key_document(plan, found["inputs"], image.id, store.secret_salt(),
                                                         strict))
        store.record_started(record)
        # kept open for the end of the run: one connection a run
        found.update(store=store, store_record=record, cache_key=record.get("cache_key"))
    except Exception as exc:  # noqa: BLE001 - a run never fails for its record
        if store is not None:
            store.close()
        found["store_error"] = _why(exc)
    return found


def settle(context: dict[str, Any]) -> None:
    """Take what the start's recording found (waiting for ``begin``'s thread, or recording it here when it was
    not begun): a run is in the store before its container starts, and before the result cache reads the store
    or the result names its inputs. Never raises (a failure is remembered for the result's warning)."""
    if (start := context.pop("store_start", None)) is not None:
        context.update(_start(context, *start))
    if (writing := context.pop("store_writing", None)) is not None:
        try:
            context.update(writing.result())
        except Exception as exc:  # noqa: BLE001 - a bug of ours in the thread: the run goes on unrecorded
            context["store_error"] = _why(exc)


def finished(context: dict[str, Any], document: dict[str, Any]) -> None:
    """Record the end of a run from its document; a failure (now or at the start) becomes a warning in it."""
    settle(context)  # a start not recorded yet (the run ended before its container was made) lands first
    if document.get("status") == "rejected" and not context.get("staged"):
        return  # refused before anything started: no folder, nothing to list
    if "store_error" not in context:
        store = context.pop("store", None)
        try:
            if store is None:  # the start was not recorded here (a failure before the plan): open it now
                from .runstore import RunStore

                store = RunStore.open()
            store.record_finished(document, context.get("store_record"), _origin_record(context, document))
        except Exception as exc:  # noqa: BLE001
            context["store_error"] = _why(exc)
        finally:
            if store is not None:
                store.close()  # the last connection checkpoints the WAL here (a thread would only add to it)
    if "store_error" in context:
        document["warnings"].append({"severity": "warning", "code": NOT_RECORDED, "path": "$",
                                     "message": f"the run could not be recorded in the run store: "
                                                f"{context['store_error']}"})


def _origin_record(context: dict[str, Any], document: dict[str, Any]) -> dict[str, Any] | None:
    """The hashes of a run's files that a later cache hit checks, for a success with a key (else None)."""
    if not context.get("cache_key") or not document.get("run_dir"):
        return None
    from .result_cache import origin_record

    return origin_record(document, Path(document["run_dir"]))


def _why(exc: Exception) -> str:
    from .runstore import StoreError

    return str(exc) if isinstance(exc, StoreError) else f"{type(exc).__name__}: {exc}"
