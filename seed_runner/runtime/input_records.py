"""The record of a run's file inputs, by input name: each file the job sees, with its host path, name in the
container, sha256, size, media type and, for a URL input, the URL (without credentials). It is the result
document's ``inputs``, the file part of the result cache's key and the crate's input files. Reads files (to hash
those not hashed yet); writes nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator, Mapping

from .input_files import file_sha256
from .plan import RunPlan


def host_files(plan: RunPlan) -> Iterator[tuple[str, Path, dict[str, Any]]]:
    """(input name, host file, input-metadata record) of every file input, the user's own files."""
    by_target = {mount.target: Path(mount.source) for mount in plan.mounts}
    staged = {Path(s.directory).name: s.files for s in plan.staged if s.files}
    job_inputs = (plan.input_metadata or {}).get("JOB") or {}
    for spec in plan.manifest.job.interface.file_inputs:
        for record in job_inputs.get(spec.name) or ():
            if not isinstance(record, dict):
                continue
            target, name = str(record.get("path", "")), str(record.get("file_name", ""))
            folder = target.rpartition("/")[0]
            host = by_target.get(target)
            if host is None and spec.variable in staged:  # several files, linked into the run folder
                host = next((Path(f) for f in staged[spec.variable] if Path(f).name.replace("/", "_") == name), None)
            elif host is None and folder in by_target:  # a flat directory mounted as it is
                host = by_target[folder] / name
            if host is not None:
                yield spec.name, host.absolute(), record


def input_records(plan: RunPlan, known_sha256: Mapping[str, str | None] | None = None,
                  sources: Mapping[str, Mapping[str, Any]] | None = None) -> dict[str, list[dict[str, Any]]]:
    """``{INPUT: [{file_name, path, sha256, size, media_type, url}]}``; ``known_sha256`` (by host path) saves
    reading a file again, ``sources`` (``seed_runner.inputs.resolve_url_inputs``) gives the URLs."""
    records: dict[str, list[dict[str, Any]]] = {}
    for name, path, record in host_files(plan):
        digest, size = (known_sha256 or {}).get(str(path)), record.get("file_size")
        if not digest or not isinstance(size, int):
            digest, size = file_sha256(path)
        records.setdefault(name, []).append({
            "file_name": record.get("file_name") or path.name, "path": str(path), "sha256": digest, "size": size,
            "media_type": record.get("media_type"), "url": ((sources or {}).get(str(path)) or {}).get("url")})
    return records
