"""``create_app``: the Starlette application of `seed serve` (the only module that builds one). The lifespan
opens the run store and the executor, resumes the jobs a previous server left (``Jobs.recover``), and on
shutdown stops taking jobs. Authentication (bearer tokens) is a middleware in front of every route.
"""

from __future__ import annotations

import contextlib
import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, AsyncIterator, Mapping

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from . import routes
from .catalog import Catalog
from .documents import exception
from .tokens import Tokens, allows

log = logging.getLogger("seed_runner.service")


@dataclass
class ServeSettings:
    """What a server is configured with (``seed serve``'s options); never anything a request gives."""

    images: tuple[str, ...] = ()
    tokens: Tokens | None = None
    allow_url: tuple[str, ...] = ()
    queue: int = 100
    sync_wait: float = 20.0
    """Seconds a request without ``Prefer: respond-async`` waits; past them it is answered as an async one."""
    max_body: int = 64 * 1024 * 1024
    body_timeout: float = 60.0
    retry_after: int = 10
    max_download: int | None = None
    jobs_dir: Path | None = None
    """Default: ``serve-jobs`` beside the run store."""
    processes: Mapping[str, Mapping[str, Mapping[str, str]]] = field(default_factory=dict)
    """By process id: ``settings`` and ``mounts`` (the server's configuration file)."""
    pipelines: tuple[Path, ...] = ()
    """Pipeline files, each a process (checked when the app is made: ``PipelineRefused`` lists the problems)."""


class _Auth:
    """Every request needs a known bearer token when the server has tokens (401 otherwise, never saying why
    beyond that); deploying needs a deploy token (403)."""

    def __init__(self, app: Any, tokens: Tokens | None) -> None:
        self.app = app
        self.tokens = tokens

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or self.tokens is None:
            return await self.app(scope, receive, send)
        headers = dict((k.decode("latin-1").lower(), v.decode("latin-1")) for k, v in scope.get("headers", []))
        granted = self.tokens.scope(headers.get("authorization"))
        needed = "deploy" if scope["method"] in ("PUT", "DELETE") and scope["path"].startswith("/processes") or (
            scope["method"] == "POST" and scope["path"].rstrip("/") == "/processes") else "execute"
        if granted is None or not allows(granted, needed):
            status = 401 if granted is None else 403
            body = json.dumps(exception(status, "unauthorized" if status == 401 else "forbidden",
                                        "a bearer token is needed" if status == 401 else
                                        "this token may not deploy")).encode()
            response = Response(body, status, media_type="application/json",
                                headers={"WWW-Authenticate": 'Bearer realm="seed-runner"'})
            return await response(scope, receive, send)
        return await self.app(scope, receive, send)


async def _http_error(request: Request, exc: Exception) -> Response:
    status = getattr(exc, "status_code", 500)
    body = exception(status, "not-found" if status == 404 else "http-error", str(getattr(exc, "detail", "")))
    return Response(json.dumps(body).encode(), status, media_type="application/json")


async def _server_error(request: Request, exc: Exception) -> Response:
    """A bug (500), or the engine or run store out of reach (503: a SeedRunnerError of the system); the body
    names the kind of error only (its text may name the server's paths), the log says what."""
    from ..errors import SeedRunnerError

    log.error("%s %s: %s: %s", request.method, request.url.path, type(exc).__name__, exc)
    status = 503 if isinstance(exc, SeedRunnerError) else 500
    body = exception(status, "server-error" if status == 500 else "service-unavailable",
                     "the server could not answer" if status == 500 else
                     "the engine or the run store cannot be used now", type(exc).__name__)
    return Response(json.dumps(body).encode(), status, media_type="application/json",
                    headers={"Retry-After": "30"} if status == 503 else None)


def _guarded(handler: Any) -> Any:
    async def endpoint(request: Request) -> Response:
        try:
            return await handler(request)
        except routes.Refused as refused:
            return routes.problem(request, refused)
    return endpoint


def create_app(settings: ServeSettings | None = None, *, executor: Any = None, catalog: Catalog | None = None,
               store_path: str | Path | None = None, guard: Any = None) -> Any:
    """The ASGI application. ``executor``: where jobs run (default: a LocalExecutor); ``catalog``: the
    processes (default: the engine's Seed images matching ``settings.images``); ``guard``: the address guard of
    references (default: public addresses, plus ``settings.allow_url``). Mount it in any ASGI server.
    ``settings.pipelines`` are read and checked here: ``pipeline_processes.PipelineRefused`` (every problem, one
    line each) when one cannot be served."""
    settings = settings or ServeSettings()
    from .pipeline_processes import load_pipelines

    pipelines = load_pipelines(tuple(settings.pipelines), settings.processes) if settings.pipelines else {}

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        from ..inputs.address_policy import AddressPolicy
        from ..inputs.guarded import Guard
        from ..errors import SeedRunnerError
        from ..store.runstore import RunStore, default_path
        from .jobs import Jobs

        store = RunStore.open(store_path)
        chosen = executor
        if chosen is None:
            from ..executors.local import LocalExecutor

            chosen = LocalExecutor()
        jobs_dir = settings.jobs_dir or (Path(store_path or default_path()).parent / "serve-jobs")
        jobs = Jobs(store, jobs_dir, chosen, queue=settings.queue, config=settings.processes,
                    guard=guard or Guard(AddressPolicy(settings.allow_url)), max_download=settings.max_download)
        jobs.pipelines = dict(getattr(app.state.catalog, "pipelines", {}))
        app.state.jobs = jobs
        try:
            manifests = {p.image: p.manifest for p in app.state.catalog.processes()}
        except SeedRunnerError as exc:  # the engine is away: jobs are resumed all the same (they read no manifest)
            log.warning("the processes cannot be read now: %s", exc)
            manifests = {}
        resubmitted, ended = jobs.recover(manifests)
        if resubmitted or ended:
            log.warning("resumed %d accepted jobs; ended %d jobs that were running when the server stopped",
                        resubmitted, ended)
        try:
            yield
        finally:
            jobs.close(cancel=True)
            store.close()

    app = Starlette(routes=[
        Route("/", _guarded(routes.landing)),
        Route("/conformance", _guarded(routes.conformance)),
        Route("/openapi", _guarded(routes.openapi)),
        Route("/api", _guarded(routes.openapi)),
        Route("/processes", _guarded(routes.processes)),
        Route("/processes", _guarded(routes.deploy), methods=["POST"]),
        Route("/processes/{process_id}", _guarded(routes.process)),
        Route("/processes/{process_id}", _guarded(routes.replace), methods=["PUT"]),
        Route("/processes/{process_id}", _guarded(routes.undeploy), methods=["DELETE"]),
        Route("/processes/{process_id}/package", _guarded(routes.package)),
        Route("/processes/{process_id}/execution", _guarded(routes.execute), methods=["POST"]),
        Route("/jobs", _guarded(routes.jobs)),
        Route("/jobs/{job_id}", _guarded(routes.job)),
        Route("/jobs/{job_id}", _guarded(routes.dismiss), methods=["DELETE"]),
        Route("/jobs/{job_id}/results", _guarded(routes.results)),
        Route("/jobs/{job_id}/results/{output_id}", _guarded(routes.output)),
    ], lifespan=lifespan, exception_handlers={HTTPException: _http_error, Exception: _server_error})
    if catalog is None:
        from ..store.runstore import default_path
        from .deployments import Deployments

        jobs_parent = settings.jobs_dir.parent if settings.jobs_dir else Path(store_path or default_path()).parent
        catalog = Catalog(settings.images, deployments=Deployments(jobs_parent / "serve-deployments.json"))
    if pipelines:
        catalog.pipelines.update(pipelines)
    app.state.catalog = catalog
    app.state.tokens = settings.tokens
    app.state.sync_wait = settings.sync_wait
    app.state.max_body = settings.max_body
    app.state.body_timeout = settings.body_timeout
    app.state.retry_after = settings.retry_after
    app.add_middleware(_Auth, tokens=settings.tokens)
    return app
