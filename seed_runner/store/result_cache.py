"""The result cache (`seed run --cache`): a run whose every cause equals an earlier success's takes that run's
outputs instead of starting a container.

The key is the sha256 of one canonical JSON document (sorted keys, no spaces, ASCII) of what decides a run's
outputs: the image's id on the engine (its digest: a tag rebuilt to another image never matches), the manifest
as written, each file input's name in the container and sha256 (by input), the JSON input values, the settings
(a secret's value as an HMAC-SHA256 with the store's random salt, never in clear), the mounts' host paths and
modes, the resource allocations, and ``--strict``. Every recorded run gets its key; only ``cache=True`` looks
one up.

A hit is the newest run with the key that succeeded by running (a cached run is never an origin) whose
``outputs/`` and ``logs/`` still hold exactly the files the run store recorded when it ended, each a regular file
with the recorded sha256 (``origin_files``): they are hard-linked (else copied) into the new run folder, and its
result's outputs, JSON outputs and warnings come from the store, never from the origin's ``result.json``. The new
run succeeds with ``cached_from`` naming the origin and no container. Anything that fails on the way undoes what
was linked and is a miss: the run then runs, with a ``cache-miss`` warning saying why.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from pathlib import Path
from typing import Any, Mapping, NamedTuple

KEY_VERSION = 1  # part of the key: a change of what goes into it never meets an older key
ENVIRONMENT = "SEED_CACHE"
_TRUE, _FALSE = ("1", "true", "yes", "on"), ("", "0", "false", "no", "off")


def default_enabled(environ: Mapping[str, str] = os.environ) -> bool:
    """`seed run`'s default: ``SEED_CACHE`` (1/true/yes/on, or 0/false/no/off/unset); ValueError otherwise."""
    value = environ.get(ENVIRONMENT, "").strip().lower()
    if value in _TRUE or value in _FALSE:
        return value in _TRUE
    raise ValueError(f"{ENVIRONMENT}={environ[ENVIRONMENT]!r} is not 1 or 0 (true/false, yes/no, on/off)")


def key_document(plan: Any, inputs: Mapping[str, list[dict[str, Any]]], image_id: str | None, salt: bytes,
                 strict: bool) -> dict[str, Any]:
    """What the key hashes (``input_records`` gives ``inputs``); a secret value only as its salted HMAC."""
    import hmac  # here, in the run store's thread that makes the key (``recording``), off the way to the container

    face = plan.manifest.job.interface
    settings: dict[str, Any] = {}
    for spec in face.settings:
        if spec.variable in plan.environment:
            value = plan.environment[spec.variable]
            settings[spec.name] = {"hmac-sha256": hmac.new(salt, value.encode("utf-8", "surrogateescape"),
                                                           hashlib.sha256).hexdigest()} if spec.secret else value
    targets = {mount.target: mount for mount in plan.mounts}
    job_inputs = (plan.input_metadata or {}).get("JOB") or {}
    return {
        "key_version": KEY_VERSION,
        "image": image_id,
        "manifest": plan.manifest.data,
        "file_inputs": {name: sorted([f["file_name"], f["sha256"]] for f in files) for name, files in inputs.items()},
        "json_inputs": {spec.name: job_inputs[spec.name] for spec in face.json_inputs if spec.name in job_inputs},
        "settings": settings,
        "mounts": {spec.name: [targets[spec.path].source, "ro" if targets[spec.path].read_only else "rw"]
                   for spec in face.mounts if spec.path in targets},
        "resources": dict(plan.allocations),
        "strict": bool(strict),
    }


def cache_key(document: Mapping[str, Any]) -> str:
    text = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False,
                      default=_plain)
    return hashlib.sha256(text.encode("ascii")).hexdigest()


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):  # the manifest's document is read-only (MappingProxyType)
        return dict(value)
    raise TypeError(f"{type(value).__name__} is not JSON")


class CachedExecution(NamedTuple):
    """The execution part of a hit's result: no container; the origin's exit code and log sizes. (A NamedTuple:
    a frozen dataclass costs about half a millisecond to define, on every `seed run`.)"""

    exit_code: int
    created: str
    started: str
    finished: str
    duration_seconds: float
    stdout_bytes: int
    stderr_bytes: int
    container_id: None = None
    timed_out: bool = False
    oom_killed: bool = False
    killed_externally: None = None


def reuse(context: dict[str, Any], plan: Any) -> dict[str, Any] | None:
    """On a hit: the origin's outputs and logs linked into ``plan.run_dir`` (and checked there against the run
    store's hashes: ``origin_files``), and what the runner's result needs (``cached_from``, ``execution``,
    ``harvest``) to merge into its context, every part of it from the store, never from the origin's folder.
    None on a miss (nothing left); an origin refused puts its reason in ``context["cache_warnings"]``."""
    from ..engine.containers import utc_now
    from .origin_files import OriginRefused, deliver
    from .runstore import StoreError

    store, key = context.get("store"), context.get("cache_key")
    if store is None or not key:  # the store could not be opened: no cache, the run runs
        return None
    try:
        origins = store.cache_origins(key)
    except StoreError:
        return None
    refused = []
    for origin in origins:
        record = origin.get("cache_record") if isinstance(origin.get("cache_record"), dict) else None
        started, clock = utc_now(), time.perf_counter()
        try:
            if not origin.get("run_dir"):
                raise OriginRefused("it has no run folder")
            deliver(record, Path(origin["run_dir"]), Path(plan.run_dir))
            _write_input_metadata(plan)
        except OriginRefused as exc:
            refused.append(f"run {origin['id']}: {exc}")
            continue
        except OSError as exc:
            _undo(Path(plan.run_dir))
            refused.append(f"run {origin['id']}: the new run folder could not be written ({exc.strerror})")
            continue
        logs = record.get("logs") if isinstance(record.get("logs"), dict) else {}
        return {
            "cached_from": origin["id"],
            "execution": CachedExecution(
                exit_code=origin.get("exit_code") or 0, created=started, started=started, finished=utc_now(),
                duration_seconds=time.perf_counter() - clock, stdout_bytes=logs.get("stdout_bytes") or 0,
                stderr_bytes=logs.get("stderr_bytes") or 0),
            "harvest": {"outputs": record.get("outputs"), "json_outputs": record.get("json_outputs"),
                        "input_metadata": record.get("input_metadata"), "failures": [],
                        # the capture's warnings (paths in the output folder); the plan's are made anew
                        "warnings": [w for w in record.get("warnings") or () if not str(w.get("path")).startswith("$")
                                     and w.get("code") != "container-not-removed"]},
        }
    if refused:
        from ..problems import warning

        context["cache_warnings"] = [warning(MISS, "$", f"the result cache did not use {reason}; the job ran "
                                                        "instead").to_dict() for reason in refused]
    return None


MISS = "cache-miss"


def origin_record(document: dict[str, Any], run_dir: Path) -> dict[str, Any] | None:
    """What the run store keeps of a run that can be an origin (a success that ran, with a key), else None."""
    if document.get("status") != "succeeded" or document.get("cached_from"):
        return None
    from .origin_files import origin_record as record

    return record(document, run_dir)


def _write_input_metadata(plan: Any) -> None:
    """This run's input-metadata file in the new run folder."""
    metadata = Path(plan.input_metadata_file)
    metadata.parent.mkdir(parents=True, exist_ok=True)
    metadata.write_text(json.dumps(dict(plan.input_metadata), indent=2), encoding="utf-8")
    metadata.chmod(0o444)


def _undo(run_dir: Path) -> None:
    from .origin_files import undo

    undo(run_dir)
