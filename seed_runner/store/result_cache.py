"""The result cache (`seed run --cache`): a run whose every cause equals an earlier success's takes that run's
outputs instead of starting a container.

The key is the sha256 of one canonical JSON document (sorted keys, no spaces, ASCII) of what decides a run's
outputs: the image's id on the engine (its digest: a tag rebuilt to another image never matches), the manifest
as written, each file input's name in the container and sha256 (by input), the JSON input values, the settings
(a secret's value as an HMAC-SHA256 with the store's random salt, never in clear), the mounts' host paths and
modes, the resource allocations, and ``--strict``. Every recorded run gets its key; only ``cache=True`` looks
one up.

A hit is the newest run with the key that succeeded by running (a cached run is never an origin) whose run
folder, ``result.json`` and every captured output (by size) are still there: its ``outputs/`` and ``logs/`` are
hard-linked (else copied) into the new run folder. The new run succeeds with ``cached_from`` naming the origin
and no container. Anything that fails on the way undoes what was linked and is a miss: the run then runs.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
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
    """On a hit: the origin's outputs and logs linked into ``plan.run_dir``, and what the runner's result needs
    (``cached_from``, ``execution``, ``harvest``) to merge into its context. None on a miss (nothing left)."""
    from ..engine.containers import utc_now
    from .runstore import StoreError

    store, key = context.get("store"), context.get("cache_key")
    if store is None or not key:  # the store could not be opened: no cache, the run runs
        return None
    try:
        origins = store.cache_origins(key)
    except StoreError:
        return None
    for origin in origins:
        document = _usable(origin)
        if document is None:
            continue
        started, clock = utc_now(), time.perf_counter()
        try:
            _materialize(Path(origin["run_dir"]), plan)
        except OSError:
            _undo(Path(plan.run_dir))
            continue
        logs = document.get("logs") or {}
        return {
            "cached_from": origin["id"],
            "execution": CachedExecution(
                exit_code=document.get("exit_code") or 0, created=started, started=started, finished=utc_now(),
                duration_seconds=time.perf_counter() - clock, stdout_bytes=logs.get("stdout_bytes") or 0,
                stderr_bytes=logs.get("stderr_bytes") or 0),
            "harvest": {"outputs": document.get("outputs"), "json_outputs": document.get("json_outputs"),
                        "input_metadata": document.get("input_metadata"), "failures": [],
                        # the capture's warnings (paths in the output folder); the plan's are made anew
                        "warnings": [w for w in document.get("warnings") or () if not str(w.get("path")).startswith("$")
                                     and w.get("code") != "container-not-removed"]},
        }
    return None


def _usable(origin: dict[str, Any]) -> dict[str, Any] | None:
    """The origin's result document when its folder still holds a success and every captured output."""
    if not origin.get("run_dir"):
        return None
    run_dir = Path(origin["run_dir"])
    try:
        document = json.loads((run_dir / "result.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if document.get("status") != "succeeded" or document.get("run_id") != origin["id"]:
        return None
    for output in (document.get("outputs") or {}).values():
        for file in output.get("files") or ():
            try:
                if (run_dir / "outputs" / file["path"]).stat().st_size != file["size"]:
                    return None
            except (OSError, KeyError, TypeError):
                return None
    return document if (run_dir / "outputs").is_dir() else None


def _materialize(origin: Path, plan: Any) -> None:
    """The new run folder: the origin's outputs and logs linked in, and this run's input-metadata file."""
    run_dir = Path(plan.run_dir)
    for part in ("outputs", "logs"):
        _link_tree(origin / part, run_dir / part)
    metadata = Path(plan.input_metadata_file)
    metadata.parent.mkdir(parents=True, exist_ok=True)
    metadata.write_text(json.dumps(dict(plan.input_metadata), indent=2), encoding="utf-8")
    metadata.chmod(0o444)


def _link_tree(source: Path, target: Path) -> None:
    """Every file below ``source`` hard-linked (else copied) at the same place below ``target``; symbolic links
    as links, as the job left them."""
    target.mkdir(parents=True, exist_ok=True)
    for directory, subdirs, files in os.walk(source):
        here = target / Path(directory).relative_to(source)
        for name in subdirs:
            if (Path(directory) / name).is_symlink():
                os.symlink(os.readlink(Path(directory) / name), here / name)
            else:
                (here / name).mkdir(exist_ok=True)
        for name in files:
            path = Path(directory) / name
            if path.is_symlink():
                os.symlink(os.readlink(path), here / name)
                continue
            try:
                os.link(path, here / name)
            except OSError:  # another file system, or links not allowed (another user's file): a copy
                shutil.copy2(path, here / name)


def _undo(run_dir: Path) -> None:
    for part in ("outputs", "logs", "work"):
        shutil.rmtree(run_dir / part, ignore_errors=True)
