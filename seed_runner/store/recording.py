"""The runner's side of the run store: the start of a run (before its container is created) and its end (from
the result document). Never raises: a store that cannot be written becomes a ``run-not-recorded`` warning.

Secret values are never stored: a secret setting is kept as ``****`` (a rerun asks for it again).
"""

from __future__ import annotations

import os
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


def request_record(request: Any, plan: Any, choices: dict[str, Any] | None = None) -> dict[str, Any]:
    """The request as a rerun needs it (secret settings masked, paths absolute), with the run's ``choices``:
    ``manifest`` (the document given with --manifest, None for the image's label), ``strict`` and ``pull``."""
    secret = {s.variable for s in plan.manifest.job.interface.settings if s.secret} if plan else set()
    from ..manifest.names import normalize_name
    from ..runtime.json_inputs import JsonText

    settings = {name: MASK if normalize_name(name) in secret else value for name, value in request.settings.items()}
    return {
        "image": request.image,
        "file_inputs": {name: [str(Path(p).absolute()) for p in paths] for name, paths in request.file_inputs.items()},
        "json_inputs": {name: {"text": str(value)} if isinstance(value, JsonText) else {"value": value}
                        for name, value in request.json_inputs.items()},
        "settings": settings,
        "mounts": {name: str(Path(p).absolute()) for name, p in request.mounts.items()},
        "resources": dict(request.resources), "timeout": request.timeout, "grace_period": request.grace_period,
        "user": request.user, "network": request.network, **(choices or {}),
    }


def started(context: dict[str, Any], request: Any, plan: Any, image: Any) -> None:
    """Record the start of a run; on failure, remember the warning for the result."""
    try:
        from ..engine import runner_identity as ri
        from ..runtime.input_records import input_records
        from .runstore import RunStore

        job = plan.manifest.job
        req = request_record(request, plan, context.get("choices"))
        inputs = {name: input_files(paths) for name, paths in req["file_inputs"].items()}
        sources = context.get("input_sources") or {}  # URL inputs: where each cached file came from
        for files in inputs.values():
            for file in files:
                file["url"] = (sources.get(file["path"]) or {}).get("url")
        # The crate at the end names the same files: it takes these hashes instead of reading the files again.
        context["input_sha256"] = {f["path"]: f["sha256"] for files in inputs.values() for f in files}
        context["inputs"] = input_records(plan, context["input_sha256"], sources)  # the result's, and the key's
        labels = ri.runner_labels()  # the labels its container gets: this process, and the lock it holds
        record = {
            "id": context["run_id"], "label": getattr(request, "label", None), "image": request.image,
            "batch_id": getattr(request, "batch_id", None),
            "digest": getattr(image, "id", None), "job_name": job.name, "job_version": job.job_version,
            "package_version": job.package_version, "status": "running", "run_dir": str(plan.run_dir),
            "inputs": inputs, "json_inputs": req["json_inputs"], "settings": req["settings"],
            "resources": dict(plan.allocations), "request": req, "runner_pid": int(labels[ri.PID_LABEL]),
            "runner_host": labels[ri.HOST_LABEL], "runner_boot": labels[ri.BOOT_LABEL],
            "runner_lock": labels.get(ri.LOCK_LABEL), "runner_start": labels[ri.START_LABEL],
            "runner_pidns": labels[ri.PIDNS_LABEL],
        }
        store = RunStore.open()
        try:
            if getattr(image, "id", None):  # no image id, no key: a tag alone never identifies what ran
                from .result_cache import cache_key, key_document

                strict = bool((context.get("choices") or {}).get("strict"))
                context["cache_key"] = record["cache_key"] = cache_key(key_document(
                    plan, context["inputs"], image.id, store.secret_salt(), strict))
            store.record_started(record)
        except BaseException:
            store.close()
            raise
        context["store"] = store  # kept open for the end of the run: one connection a run
        context["store_record"] = record
    except Exception as exc:  # noqa: BLE001 - a run never fails for its record
        context["store_error"] = _why(exc)


def finished(context: dict[str, Any], document: dict[str, Any]) -> None:
    """Record the end of a run from its document; a failure (now or at the start) becomes a warning in it."""
    if document.get("status") == "rejected" and not context.get("staged"):
        return  # refused before anything started: no folder, nothing to list
    if "store_error" not in context:
        store = context.pop("store", None)
        try:
            if store is None:  # the start was not recorded here (a failure before the plan): open it now
                from .runstore import RunStore

                store = RunStore.open()
            store.record_finished(document, context.get("store_record"))
        except Exception as exc:  # noqa: BLE001
            context["store_error"] = _why(exc)
        finally:
            if store is not None:
                store.close()
    if "store_error" in context:
        document["warnings"].append({"severity": "warning", "code": NOT_RECORDED, "path": "$",
                                     "message": f"the run could not be recorded in the run store: "
                                                f"{context['store_error']}"})


def _why(exc: Exception) -> str:
    from .runstore import StoreError

    return str(exc) if isinstance(exc, StoreError) else f"{type(exc).__name__}: {exc}"
