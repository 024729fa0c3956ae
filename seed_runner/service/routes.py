"""The HTTP handlers: thin, each reads the request, asks ``jobs``/``catalog`` and answers a document. Blocking
calls (the store, the engine) run in worker threads. The only module with handlers; ``app`` wires them."""

from __future__ import annotations

import json
from typing import Any

import anyio
from starlette.requests import Request
from starlette.responses import FileResponse, Response

from . import documents
from .catalog import NoSuchProcess
from .documents import HTML, JSON, exception
from .execute_request import BadExecute, read_execute
from .jobs import NoSuchJob, QueueFull
from .negotiation import negotiate
from .openapi import openapi_document
from .render import render

MAX_LIMIT = 1000


class Refused(Exception):
    def __init__(self, status: int, kind: str, title: str, detail: str | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(detail or title)
        self.status, self.kind, self.title, self.detail, self.headers = status, kind, title, detail, headers or {}


def base(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def answer(request: Request, document: Any, status: int = 200, *, title: str = "seed-runner",
           headers: dict[str, str] | None = None, html: bool = True, page: str = "generic",
           context: dict[str, Any] | None = None) -> Response:
    media = negotiate(request.headers.get("accept"), request.query_params.get("f"),
                      (JSON, HTML) if html else (JSON,))
    if media is None:
        media = JSON
        status, document = 406, exception(406, "not-acceptable", "no representation the request accepts",
                                          "this resource is application/json" + (" or text/html" if html else ""))
    page_context = {"base": base(request), **(context or {})}
    return Response(render(document, media, title, page, page_context), status, headers=headers,
                    media_type=media + ("; charset=utf-8" if media == HTML else ""))


def problem(request: Request, error: Refused) -> Response:
    document = exception(error.status, error.kind, error.title, error.detail)
    return Response(json.dumps(document).encode(), error.status, headers=error.headers,
                    media_type="application/json")


def _state(request: Request) -> Any:
    return request.app.state


async def landing(request: Request) -> Response:
    return answer(request, documents.landing_page(base(request)), title="seed-runner", page="landing")


async def conformance(request: Request) -> Response:
    return answer(request, documents.conformance(), title="conformance", page="conformance")


async def openapi(request: Request) -> Response:
    processes = await anyio.to_thread.run_sync(_state(request).catalog.processes)
    document = openapi_document([p.id for p in processes], secured=_state(request).tokens is not None)
    return Response(json.dumps(document).encode(), media_type="application/vnd.oai.openapi+json;version=3.0")


async def processes(request: Request) -> Response:
    found = await anyio.to_thread.run_sync(_state(request).catalog.processes)
    return answer(request, documents.process_list([p.manifest for p in found], base(request)), title="processes",
                  page="processes")


async def _process(request: Request) -> Any:
    try:
        return await anyio.to_thread.run_sync(_state(request).catalog.get, request.path_params["process_id"],
                                              request.query_params.get("version"))
    except NoSuchProcess as exc:
        raise Refused(404, "no-such-process", "no such process", str(exc)) from None


async def process(request: Request) -> Response:
    found = await _process(request)
    description = documents.process_description(found.manifest, base(request))
    if found.pipeline is not None:
        from .pipeline_processes import description_extra

        description.update(description_extra(found.pipeline))
    return answer(request, description, title=found.id, page="process")


async def read_body(request: Request, limit: int) -> Any:
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > limit):
        raise Refused(413, "payload-too-large", "request body too large", f"at most {limit} bytes")
    chunks, size = [], 0
    with anyio.fail_after(_state(request).body_timeout):  # a slow client never holds the server
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise Refused(413, "payload-too-large", "request body too large", f"at most {limit} bytes")
            chunks.append(chunk)
    try:
        return json.loads(b"".join(chunks) or b"null")
    except (ValueError, RecursionError):
        raise Refused(400, "bad-request", "the body is not JSON", "send an execute request as JSON") from None


async def execute(request: Request) -> Response:
    state = _state(request)
    found = await _process(request)
    try:
        body = await read_body(request, state.max_body)
    except TimeoutError:
        raise Refused(408, "request-timeout", "the request body came too slowly") from None
    try:
        wanted = read_execute(body, found.manifest)
    except BadExecute as exc:
        raise Refused(400, "invalid-parameter-value", "the execute request cannot be run", str(exc)) from None
    try:
        record = await anyio.to_thread.run_sync(state.jobs.submit, found, wanted)
    except QueueFull as exc:
        raise Refused(503, "server-busy", "the job queue is full", f"{exc}; try again later",
                      {"Retry-After": str(state.retry_after)}) from None
    job_id = record["id"]
    location = f"{base(request)}/jobs/{job_id}"
    asynchronous = "respond-async" in request.headers.get("prefer", "").lower()
    if not asynchronous:
        ended = await anyio.to_thread.run_sync(state.jobs.wait, job_id, state.sync_wait)
        if ended:
            return await _sync_answer(request, job_id, wanted)
        record = await anyio.to_thread.run_sync(state.jobs.record, job_id)  # it may have started meanwhile
    headers = {"Location": location}
    if asynchronous:
        headers["Preference-Applied"] = "respond-async"
    return answer(request, state.jobs.status(record, base(request)), 201, headers=headers, html=False)


async def _sync_answer(request: Request, job_id: str, wanted: Any) -> Response:
    state = _state(request)
    record, result = await anyio.to_thread.run_sync(state.jobs.result, job_id)
    if result is None:
        message = state.jobs.message(record) or "the job failed"
        return Response(json.dumps(exception(500, "job-failed", "the job failed", message, jobID=job_id)).encode(),
                        500, media_type="application/json", headers={"Location": f"{base(request)}/jobs/{job_id}"})
    results = documents.results_document(result, base(request), job_id, wanted.outputs)
    if wanted.raw and len(results) == 1:
        name = next(iter(results))
        if "href" in results[name]:
            files = await anyio.to_thread.run_sync(state.jobs.output_files, job_id, name)
            if len(files) == 1:
                return FileResponse(files[0][0], media_type=files[0][1] or "application/octet-stream")
        value = results[name]
        return Response(json.dumps(value.get("value") if isinstance(value, dict) else value).encode(),
                        media_type="application/json")
    return answer(request, results, html=False, headers={"Location": f"{base(request)}/jobs/{job_id}"})


def _int(request: Request, name: str, default: int, low: int, high: int) -> int:
    text = request.query_params.get(name)
    if text is None:
        return default
    try:
        value = int(text)
    except ValueError:
        raise Refused(400, "invalid-parameter-value", f"{name} must be a whole number") from None
    return max(low, min(high, value))


async def jobs(request: Request) -> Response:
    state = _state(request)
    params = request.query_params
    statuses = [s for v in params.getlist("status") for s in v.split(",") if s]
    unknown = sorted(set(statuses) - set(documents.STORE_STATUSES))
    if unknown:
        raise Refused(400, "invalid-parameter-value", "unknown status",
                      f"{unknown[0][:40]!r}: give accepted, running, successful, failed or dismissed")
    types = [t for v in params.getlist("type") for t in v.split(",") if t]
    process_ids = [p for v in params.getlist("processID") for p in v.split(",") if p][:100]
    limit = _int(request, "limit", 10, 1, MAX_LIMIT)
    offset = _int(request, "offset", 0, 0, 10 ** 9)
    try:
        created = documents.interval(params.get("datetime", ""))
        durations = tuple(None if params.get(name) is None else float(params[name])
                          for name in ("minDuration", "maxDuration"))
    except ValueError as exc:
        raise Refused(400, "invalid-parameter-value", "a bad filter",
                      f"datetime: {exc}" if "RFC" in str(exc) else "minDuration and maxDuration are seconds"
                      ) from None
    if types and "process" not in types:
        records: list[dict[str, Any]] = []
    else:
        records = await anyio.to_thread.run_sync(lambda: state.jobs.list(
            process_ids=process_ids, statuses=statuses, limit=limit + 1, offset=offset, created=created,
            durations=durations))  # type: ignore[arg-type]
    more = len(records) > limit
    statuses_out = [state.jobs.status(r, base(request)) for r in records[:limit]]
    from urllib.parse import urlencode

    kept = [(k, v) for k, v in params.multi_items() if k not in ("offset", "f")]
    query = "?" + urlencode([*kept, ("offset", str(offset))])
    next_query = "?" + urlencode([*kept, ("offset", str(offset + limit))]) if more else None
    return answer(request, documents.job_list(statuses_out, base(request), query, next_query), title="jobs",
                  page="jobs")


async def _record(request: Request) -> dict[str, Any]:
    try:
        return await anyio.to_thread.run_sync(_state(request).jobs.record, request.path_params["job_id"])
    except NoSuchJob as exc:
        raise Refused(404, "no-such-job", "no such job", str(exc)) from None


LOG_TAIL = 8192


async def job(request: Request) -> Response:
    state = _state(request)
    record = await _record(request)
    info = state.jobs.status(record, base(request))
    context: dict[str, Any] = {}
    if negotiate(request.headers.get("accept"), request.query_params.get("f")) == HTML:
        def page_parts() -> dict[str, Any]:
            _, result = state.jobs.result(record["id"])
            outputs = documents.results_document(result, base(request), record["id"]) if result else None
            return {"live": info["status"] in ("accepted", "running"), "outputs": outputs, "tail": LOG_TAIL,
                    "logs": state.jobs.log_tails(record, LOG_TAIL)}

        context = await anyio.to_thread.run_sync(page_parts)
    return answer(request, info, title=f"job {record['id']}", page="job", context=context)


async def dismiss(request: Request) -> Response:
    state = _state(request)
    await _record(request)
    try:
        record = await anyio.to_thread.run_sync(state.jobs.dismiss, request.path_params["job_id"])
    except NoSuchJob as exc:
        raise Refused(404, "no-such-job", "no such job", str(exc)) from None
    info = documents.status_info(record, base(request), status="dismissed",
                                 message="dismissed: its run was stopped and its folder and record removed")
    info["links"] = [documents.link(base(request), "/jobs", "up", JSON, "the jobs")]
    return answer(request, info, html=False)


async def results(request: Request) -> Response:
    state = _state(request)
    job_id = request.path_params["job_id"]
    try:
        record, result = await anyio.to_thread.run_sync(state.jobs.result, job_id)
    except NoSuchJob as exc:
        raise Refused(404, "no-such-job", "no such job", str(exc)) from None
    if result is None:
        ogc = documents.STATUS.get(record["status"], "failed")
        if ogc == "failed":
            raise Refused(500, "job-failed", "the job failed", state.jobs.message(record) or "no message")
        raise Refused(404, "result-not-ready", "no results yet", f"the job is {ogc}")
    return answer(request, documents.results_document(result, base(request), job_id), html=False)


async def output(request: Request) -> Response:
    state = _state(request)
    job_id, name = request.path_params["job_id"], request.path_params["output_id"]
    try:
        files = await anyio.to_thread.run_sync(state.jobs.output_files, job_id, name)
    except NoSuchJob as exc:
        raise Refused(404, "no-such-job", "no such output", str(exc)) from None
    if len(files) == 1:
        return FileResponse(files[0][0], media_type=files[0][1] or "application/octet-stream")
    index = request.query_params.get("index")
    if index is not None and index.isdigit() and int(index) < len(files):
        path, media = files[int(index)]
        return FileResponse(path, media_type=media or "application/octet-stream")
    links = [{"href": f"{base(request)}/jobs/{job_id}/results/{name}?index={i}", "rel": "item",
              "type": media or "application/octet-stream", "title": path.name} for i, (path, media) in
             enumerate(files)]
    return answer(request, {"links": links}, html=False)



# -- Part 2: deploy, replace, undeploy ---------------------------------------------------------------------


async def _package(request: Request) -> Any:
    from .packages import BadPackage, read_package

    body = await read_body(request, 1024 * 1024)
    try:
        return read_package(body)
    except BadPackage as exc:
        raise Refused(400, "invalid-parameter-value", "the application package cannot be deployed", str(exc)
                      ) from None


async def _deploy(request: Request, replace: str | None) -> Any:
    from .deployments import Conflict
    from .packages import BadPackage

    state = _state(request)
    if state.catalog.deployments is None:
        raise Refused(405, "not-allowed", "this server deploys no processes")
    package = await _package(request)
    try:
        return await anyio.to_thread.run_sync(lambda: state.catalog.deployments.deploy(
            package, replace=replace, taken=state.catalog.offered))
    except BadPackage as exc:
        raise Refused(400, "invalid-parameter-value", "the application package cannot be deployed", str(exc)
                      ) from None
    except Conflict as exc:
        raise Refused(409, "duplicated-process", "the process exists", str(exc)) from None


async def deploy(request: Request) -> Response:
    manifest = await _deploy(request, None)
    location = f"{base(request)}/processes/{manifest.job.name}"
    return answer(request, documents.process_summary(manifest, base(request)), 201, html=False,
                  headers={"Location": location})


def _deployed_only(request: Request) -> str:
    process_id = request.path_params["process_id"]
    if _state(request).catalog.deployments is None:
        raise Refused(405, "not-allowed", "this server deploys no processes")
    if _state(request).catalog.deployments.package(process_id) is None:
        raise Refused(404 if process_id not in {p.id for p in _state(request).catalog.processes()} else 403,
                      "no-such-process", "not a deployed process",
                      f"{process_id[:80]!r} was not deployed (the server's --images offers it, or nothing does)")
    return process_id


async def replace(request: Request) -> Response:
    process_id = await anyio.to_thread.run_sync(_deployed_only, request)
    await _deploy(request, process_id)
    return Response(status_code=204)


async def undeploy(request: Request) -> Response:
    process_id = await anyio.to_thread.run_sync(_deployed_only, request)
    await anyio.to_thread.run_sync(_state(request).catalog.deployments.undeploy, process_id)
    return Response(status_code=204)


async def package(request: Request) -> Response:
    process_id = await anyio.to_thread.run_sync(_deployed_only, request)
    document = _state(request).catalog.deployments.package(process_id)
    return Response(json.dumps(document).encode(), media_type="application/ogcapppkg+json")
