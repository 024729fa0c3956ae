"""The OGC API - Processes documents, built from what seed-runner knows: a process description from a Manifest,
a statusInfo from a run record, a results document from a run's result document. Pure: no I/O, no framework.

Links are absolute (``base`` is the server's URL, no trailing slash); each link's ``?f=`` matches its ``type``.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Mapping

if TYPE_CHECKING:
    from ..manifest.model import FileInput, FileOutput, Manifest

JSON = "application/json"
HTML = "text/html"
OPENAPI = "application/vnd.oai.openapi+json;version=3.0"
CONFORMANCE = (
    "http://www.opengis.net/spec/ogcapi-processes-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-processes-1/1.0/conf/ogc-process-description",
    "http://www.opengis.net/spec/ogcapi-processes-1/1.0/conf/json",
    "http://www.opengis.net/spec/ogcapi-processes-1/1.0/conf/oas30",
    "http://www.opengis.net/spec/ogcapi-processes-1/1.0/conf/job-list",
    "http://www.opengis.net/spec/ogcapi-processes-1/1.0/conf/dismiss",
    "http://www.opengis.net/spec/ogcapi-processes-1/1.0/conf/html",
    "http://www.opengis.net/spec/ogcapi-processes-2/1.0/conf/deploy-replace-undeploy",
    "http://www.opengis.net/spec/ogcapi-processes-2/1.0/conf/ogcapppkg",
)
# Run store statuses (the runner's) as OGC job statuses.
STATUS = {"accepted": "accepted", "running": "running", "succeeded": "successful", "failed": "failed",
          "timed-out": "failed", "rejected": "failed", "error": "failed", "cancelled": "dismissed",
          "interrupted": "failed"}
STORE_STATUSES = {ogc: tuple(s for s, o in STATUS.items() if o == ogc) for ogc in set(STATUS.values())}
_JSON_TYPES = {"string", "integer", "number", "boolean", "object", "array"}


def link(base: str, path: str, rel: str, media: str = JSON, title: str | None = None) -> dict[str, Any]:
    """A link to one of our own resources; the ``?f=`` of JSON and HTML links says the type they name."""
    f = {JSON: "json", HTML: "html"}.get(media)
    href = f"{base}{path}" + (f"{'&' if '?' in path else '?'}f={f}" if f else "")
    found = {"href": href, "rel": rel, "type": media}
    if title:
        found["title"] = title
    return found


def landing_page(base: str, title: str = "seed-runner") -> dict[str, Any]:
    return {
        "title": title,
        "description": "Seed jobs (self-describing container images) as OGC API - Processes",
        "links": [
            link(base, "/", "self", JSON, "this document"),
            link(base, "/", "alternate", HTML, "this document as HTML"),
            link(base, "/openapi", "service-desc", OPENAPI, "the API definition (OpenAPI 3.0)"),
            link(base, "/conformance", "http://www.opengis.net/def/rel/ogc/1.0/conformance", JSON,
                 "the conformance classes this server implements"),
            link(base, "/processes", "http://www.opengis.net/def/rel/ogc/1.0/processes", JSON, "the processes"),
            link(base, "/jobs", "http://www.opengis.net/def/rel/ogc/1.0/job-list", JSON, "the jobs"),
        ],
    }


def conformance() -> dict[str, Any]:
    return {"conformsTo": list(CONFORMANCE)}


def exception(status: int, kind: str, title: str, detail: str | None = None, **extra: Any) -> dict[str, Any]:
    """An exception document (RFC 7807 members, as OGC API's exception schema has them)."""
    document = {"type": f"http://www.opengis.net/def/exceptions/ogcapi-processes-1/1.0/{kind}"
                if "/" not in kind else kind, "title": title, "status": status}
    if detail:
        document["detail"] = detail
    document.update(extra)
    return document


def _media_schema(media_types: tuple[str, ...]) -> dict[str, Any]:
    if not media_types:
        return {"type": "string", "contentEncoding": "binary"}
    if len(media_types) == 1:
        return {"type": "string", "contentEncoding": "binary", "contentMediaType": media_types[0]}
    return {"oneOf": [{"type": "string", "contentEncoding": "binary", "contentMediaType": m} for m in media_types]}


def _file_input(spec: "FileInput") -> dict[str, Any]:
    found: dict[str, Any] = {"title": spec.name, "schema": _media_schema(spec.media_types),
                             "minOccurs": 1 if spec.required else 0,
                             "maxOccurs": "unbounded" if spec.multiple else 1}
    return found


def _file_output(spec: "FileOutput") -> dict[str, Any]:
    schema = _media_schema((spec.media_type,) if spec.media_type else ())
    if spec.multiple:
        schema = {"type": "array", "items": schema}
    return {"title": spec.name, "schema": schema}


def _json_schema(kind: str) -> dict[str, Any]:
    return {"type": kind if kind in _JSON_TYPES else "string"}


def process_summary(manifest: "Manifest", base: str) -> dict[str, Any]:
    job = manifest.job
    return {
        "id": job.name, "version": job.job_version, "title": job.title, "description": job.description,
        "keywords": list(job.tags),
        "jobControlOptions": ["async-execute", "sync-execute", "dismiss"],
        "outputTransmission": ["value", "reference"],
        "links": [link(base, f"/processes/{job.name}", "self", JSON, "the process description"),
                  link(base, f"/processes/{job.name}", "alternate", HTML, "the process description as HTML"),
                  link(base, f"/processes/{job.name}/execution", "http://www.opengis.net/def/rel/ogc/1.0/execute",
                       JSON, "execute the process")],
    }


def process_description(manifest: "Manifest", base: str) -> dict[str, Any]:
    """A Seed job as a process (SERVICE.md's mapping): settings and mounts are the server's, never inputs."""
    interface = manifest.job.interface
    inputs: dict[str, Any] = {spec.name: _file_input(spec) for spec in interface.file_inputs}
    for spec in interface.json_inputs:
        inputs[spec.name] = {"title": spec.name, "schema": _json_schema(spec.type),
                             "minOccurs": 1 if spec.required else 0, "maxOccurs": 1}
    outputs: dict[str, Any] = {spec.name: _file_output(spec) for spec in interface.file_outputs}
    for spec in interface.json_outputs:
        outputs[spec.name] = {"title": spec.name, "schema": _json_schema(spec.type)}
    return {**process_summary(manifest, base), "inputs": inputs, "outputs": outputs}


def process_list(manifests: list["Manifest"], base: str) -> dict[str, Any]:
    return {"processes": [process_summary(m, base) for m in manifests],
            "links": [link(base, "/processes", "self", JSON), link(base, "/processes", "alternate", HTML)]}


def iso_time(value: Any) -> str | None:
    """An ISO 8601 UTC time from a Unix time or an ISO text (the runner's); None when there is none."""
    if value is None or value == "":
        return None
    if isinstance(value, (int, float)):
        return datetime.fromtimestamp(float(value), tz=timezone.utc).isoformat().replace("+00:00", "Z")
    text = str(value)
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


def status_info(record: Mapping[str, Any], base: str, *, status: str | None = None, message: str | None = None
                ) -> dict[str, Any]:
    """The statusInfo of a job from its run record (``status``: an OGC status decided elsewhere, e.g. a
    ``running`` record whose runner is gone)."""
    job_id = str(record["id"])
    ogc = status or STATUS.get(str(record.get("status")), "failed")
    info: dict[str, Any] = {"processID": record.get("job_name"), "type": "process", "jobID": job_id,
                            "status": ogc}
    if message:
        info["message"] = message
    created = iso_time(record.get("accepted_at") or record.get("recorded_at"))
    for name, value in (("created", created), ("started", iso_time(record.get("started"))),
                        ("finished", iso_time(record.get("finished")))):
        if value:
            info[name] = value
    if ogc in ("successful", "failed", "dismissed"):
        info["progress"] = 100
    elif ogc == "accepted":
        info["progress"] = 0
    links = [link(base, f"/jobs/{job_id}", "self", JSON, "this job's status"),
             link(base, f"/jobs/{job_id}", "alternate", HTML, "this job's status as HTML")]
    if ogc == "successful":
        links.append(link(base, f"/jobs/{job_id}/results", "http://www.opengis.net/def/rel/ogc/1.0/results", JSON,
                          "the job's results"))
    if record.get("job_name"):
        links.append(link(base, f"/processes/{record['job_name']}", "up", JSON, "the process"))
    info["links"] = links
    return info


def results_document(result: Mapping[str, Any], base: str, job_id: str, selected: set[str] | None = None
                     ) -> dict[str, Any]:
    """The results of a successful run: each file output a link to the bytes the server serves (a multiple one
    the link to its listing), each JSON output its value (an object as ``{"value": ..., "mediaType": ...}``,
    which the results schema needs to tell it from a link)."""
    found: dict[str, Any] = {}
    for name, output in (result.get("outputs") or {}).items():
        if selected is not None and name not in selected:
            continue
        files = output.get("files") or []
        if not files:
            continue
        media = files[0].get("media_type") or "application/octet-stream"
        found[name] = {"href": f"{base}/jobs/{job_id}/results/{name}", "rel": "related",
                       "type": media if len(files) == 1 else JSON, "title": f"{name} ({len(files)} files)"
                       if len(files) > 1 else name}
    for name, value in (result.get("json_outputs") or {}).items():
        if selected is not None and name not in selected:
            continue
        found[name] = {"value": value, "mediaType": JSON} if isinstance(value, dict) else value
    return found


def job_list(statuses: list[dict[str, Any]], base: str, query: str, next_query: str | None) -> dict[str, Any]:
    links = [{"href": f"{base}/jobs{query}", "rel": "self", "type": JSON}]
    if next_query is not None:
        links.append({"href": f"{base}/jobs{next_query}", "rel": "next", "type": JSON})
    return {"jobs": statuses, "links": links}


def interval(text: str) -> tuple[float | None, float | None]:
    """An OGC ``datetime`` parameter (``INSTANT``, ``START/END``, ``../END``, ``START/..``) as (from, to) Unix
    times; ValueError naming the problem."""
    def instant(part: str) -> float | None:
        if part in ("", ".."):
            return None
        try:
            parsed = datetime.fromisoformat(part.replace("Z", "+00:00"))
        except ValueError:
            raise ValueError(f"{part[:40]!r} is not an RFC 3339 time (e.g. 2026-01-31T12:00:00Z)") from None
        return (parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)).timestamp()

    if "/" in text:
        start, _, end = text.partition("/")
        return instant(start), instant(end)
    moment = instant(text)
    return moment, None if moment is None else moment + 1.0
