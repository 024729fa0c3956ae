"""`seed serve`: Seed images as an OGC API - Processes server (``seed_runner.serve``)."""

from __future__ import annotations

import errno
import ipaddress
import socket
import sys
from pathlib import Path
from typing import Annotated, Any, Optional

import typer


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _listening_socket(host: str, port: int) -> socket.socket:
    """The server's socket, bound and listening before anything starts, so that a taken port is one line and
    exit 4 (uvicorn alone logs the error after our banner and exits 3, the status of a timeout)."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM,
                                                             flags=socket.AI_PASSIVE)[0]
        sock = socket.socket(family, kind, proto)
    except (OSError, UnicodeError) as exc:
        _fail(f"--host {host}: cannot be listened on ({getattr(exc, 'strerror', None) or exc})", 4)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(2048)
    except OSError as exc:
        sock.close()
        reason = "in use by another program; stop it or pick another --port" if exc.errno == errno.EADDRINUSE else exc.strerror
        _fail(f"{host}:{port}: cannot listen there: {reason}", 4)
    return sock


def _fail(message: str, status: int = 2) -> None:
    typer.echo(f"seed serve: error: {message}", err=True)
    raise typer.Exit(status)


def serve(
    host: Annotated[str, typer.Option(help="Address to listen on; any but loopback needs --token-file.")
                    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 5000,
    images: Annotated[Optional[list[str]], typer.Option("--images", help="Offer only the images whose reference "
                                                        "matches this pattern (repeatable; default: every Seed "
                                                        "image on the engine).")] = None,
    token_file: Annotated[Optional[Path], typer.Option(help="Bearer tokens, one a line: TOKEN, then execute (the default) or deploy.")
                          ] = None,
    allow_url: Annotated[Optional[list[str]], typer.Option("--allow-url", help="A host (*.example.org) or network "
                                                           "(10.0.0.0/8) references may be fetched from besides "
                                                           "public addresses (repeatable).")] = None,
    executor: Annotated[str, typer.Option(help="local, or dask (with --scheduler).")] = "local",
    scheduler: Annotated[Optional[str], typer.Option(help="The Dask scheduler (--executor dask).")] = None,
    shared_dir: Annotated[Optional[Path], typer.Option(help="A folder every Dask worker sees (--executor dask).")
                          ] = None,
    parallel: Annotated[Optional[int], typer.Option(help="At most this many runs at once (local).")] = None,
    queue: Annotated[int, typer.Option(help="At most this many jobs queued or running; past it 503.")] = 100,
    sync_wait: Annotated[float, typer.Option(help="Seconds a synchronous execution waits before it is "
                                                  "answered as an asynchronous one.")] = 20.0,
    config: Annotated[Optional[Path], typer.Option(help="The server's settings and mounts by process (JSON).")
                      ] = None,
    jobs_dir: Annotated[Optional[Path], typer.Option(help="Where jobs' folders go (default: serve-jobs beside "
                                                          "the run store; with --shared-dir, in it).")] = None,
    pipeline: Annotated[Optional[list[Path]], typer.Option("--pipeline", help="A pipeline file to serve as a "
                                                           "process too (repeatable); checked at start.")] = None,
) -> None:
    """Serve the Seed images on the engine as OGC API - Processes (Part 1: Core): each image a process, each
    job a run of the run store (`seed runs` lists them).

    Each --pipeline FILE is a process too, named as its pipeline; a pipeline with problems stops the server
    from starting (each problem on a line of its own).

    Listens on loopback unless told otherwise; any other address needs --token-file. Exit status: 0 stopped,
    2 a refused configuration (or pipeline), 4 the engine or the run store cannot be used, or the address cannot
    be listened on (a port in use).
    """
    try:
        import uvicorn

        from ..serve import ServeSettings, create_app, read_config
    except ImportError:
        _fail("seed serve needs its extra: pip install 'seed-runner[serve]'")
    from ..service.tokens import BadTokenFile, read_tokens

    if not _loopback(host) and token_file is None:
        _fail(f"--host {host} is reachable by others: give --token-file (bearer tokens), or listen on 127.0.0.1")
    tokens = None
    if token_file is not None:
        try:
            tokens = read_tokens(token_file.read_text(encoding="utf-8"))
        except OSError as exc:
            _fail(f"--token-file {token_file}: cannot be read ({exc.strerror})")
        except (BadTokenFile, UnicodeDecodeError) as exc:
            _fail(f"--token-file {token_file}: {exc}")
    processes: Any = {}
    if config is not None:
        try:
            processes = read_config(config)
        except ValueError as exc:
            _fail(f"--config {exc}")
    if queue < 1:
        _fail("--queue must be 1 or more")
    from ..errors import SeedRunnerError
    from ..store.runstore import RunStore

    try:  # the run store and the engine, checked before listening: one line and exit 4, not a traceback
        RunStore.open().close()
        from ..engine.images import connect

        connect(timeout=10)
    except SeedRunnerError as exc:
        _fail(str(exc), 4)
    from .batch import _executor

    chosen = _executor(executor, scheduler, shared_dir, None, parallel, None, None, None)
    if jobs_dir is None and shared_dir is not None:
        jobs_dir = shared_dir / "serve-jobs"  # every Dask worker sees the jobs' inputs and run folders there
    settings = ServeSettings(images=tuple(images or ()), tokens=tokens, allow_url=tuple(allow_url or ()),
                             queue=queue, sync_wait=sync_wait, jobs_dir=jobs_dir, processes=processes,
                             pipelines=tuple(pipeline or ()))
    from ..service.pipeline_processes import PipelineRefused

    try:
        app = create_app(settings, executor=chosen)
    except PipelineRefused as refused:
        chosen.close(cancel=True)
        for problem in refused.problems:
            typer.echo(f"seed serve: error: {problem}", err=True)
        raise typer.Exit(2)
    try:
        listening = _listening_socket(host, port)
    except typer.Exit:
        chosen.close(cancel=True)
        raise
    typer.echo(f"seed serve: http://{host}:{port}/ ({'tokens required' if tokens else 'no tokens: loopback only'})",
               err=True)
    # Slow clients: a request's headers must arrive within the keep-alive timeout, and bodies are read with a
    # deadline by the handlers; limit_concurrency bounds the connections a crowd of clients may hold.
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", timeout_keep_alive=5, limit_concurrency=1000,
                                           h11_max_incomplete_event_size=64 * 1024, server_header=False))
    server.run(sockets=[listening])
    if not server.started:  # the application's start-up failed; uvicorn logged why
        _fail("the server did not start (see the line above)", 4)
    sys.exit(0)


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)
