"""Executes a RunPlan on a Docker engine (through engine_api): the only module of `seed run` with a container.

The lifecycle follows what the Engine API makes safe (DESIGN.md "Docker engine facts"): create (never
``run``, never ``auto_remove``), attach before start so no output is lost, start, stream both outputs to
masked log files in a thread, wait in another thread while the caller's thread keeps the clock (SIGTERM,
grace period, SIGKILL), inspect for ``OOMKilled``, and remove the container in ``finally``. Every container
carries labels naming its run and runner process, so leftovers of a killed runner are found and removed
(``cleanup_leftovers``).
"""

from __future__ import annotations

import os
import socket
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, BinaryIO, Callable

from .engine_api import AttachStream, Engine, EngineError, NotFoundError
from .errors import ImageNotFoundError, SeedRunnerError
from .images import ImageInfo, image_info
from .logstream import LogSink
from .plan import LABEL_PREFIX, RunPlan

RUN_LABEL = f"{LABEL_PREFIX}run-id"
PID_LABEL = f"{LABEL_PREFIX}runner-pid"
HOST_LABEL = f"{LABEL_PREFIX}runner-host"
# Keep the engine's own copy of the logs small: the runner streams them to files itself.
ENGINE_LOG_CONFIG = {"Type": "json-file", "Config": {"max-size": "1m", "max-file": "1"}}


class ContainerError(SeedRunnerError):
    """The engine could not create or start the container (a system error, not the job's)."""


@dataclass(frozen=True)
class Execution:
    """What happened to the container."""

    container_id: str | None
    exit_code: int | None
    timed_out: bool
    oom_killed: bool
    interrupted: bool
    created: str
    started: str | None
    finished: str | None
    duration_seconds: float | None
    stdout_bytes: int
    stderr_bytes: int


def utc_now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def connect(timeout: float | None = 60) -> Engine:
    """The engine at DOCKER_HOST, checked to answer."""
    engine = Engine(timeout=timeout)
    engine.ping()
    return engine


def inspect_image(engine: Engine, reference: str) -> ImageInfo:
    """Labels and ENV of a local image; raises ImageNotFoundError, never pulls."""
    try:
        return image_info(reference, engine.inspect_image(reference))
    except NotFoundError:
        raise ImageNotFoundError(f"image {reference!r} is not on the local engine; build it (`seed build` or "
                                 f"`docker build`) or pull it (`seed run --pull` or `docker pull`) first") from None


def pull_image(engine: Engine, reference: str) -> None:
    try:
        engine.pull(reference)
    except EngineError as exc:
        raise ImageNotFoundError(f"could not pull {reference!r}: {exc}") from None


def container_config(plan: RunPlan) -> dict[str, Any]:
    """The Engine API's create body for a plan (POST /containers/create)."""
    host: dict[str, Any] = {
        "Init": True,  # tini as PID 1: SIGTERM reaches jobs whose own PID 1 would ignore it
        "Mounts": [{"Type": "bind", "Source": m.source, "Target": m.target, "ReadOnly": m.read_only}
                   for m in plan.mounts],
        "LogConfig": ENGINE_LOG_CONFIG,
    }
    if plan.nano_cpus:
        host["NanoCpus"] = plan.nano_cpus
    if plan.memory_bytes:
        host["Memory"] = plan.memory_bytes
        host["MemorySwap"] = plan.memory_bytes  # no swap beyond the limit: OOM is OOM
    if plan.shm_bytes:
        host["ShmSize"] = plan.shm_bytes
    if plan.gpus:
        host["DeviceRequests"] = [{"Driver": "", "Count": plan.gpus, "Capabilities": [["gpu"]]}]
    if plan.network:
        host["NetworkMode"] = plan.network
    config: dict[str, Any] = {
        "Image": plan.image,
        "Env": [f"{k}={v}" for k, v in plan.environment.items()],
        "Labels": {**plan.labels, PID_LABEL: str(os.getpid()), HOST_LABEL: socket.gethostname()},
        "AttachStdout": True, "AttachStderr": True, "Tty": False, "OpenStdin": False,
        "HostConfig": host,
    }
    if plan.command is not None:
        config["Cmd"] = list(plan.command)
    if plan.user:
        config["User"] = plan.user
    return config


def execute(plan: RunPlan, stdout: BinaryIO, stderr: BinaryIO, *, echo_stdout: BinaryIO | None = None,
            echo_stderr: BinaryIO | None = None, engine: Engine | None = None,
            on_container: Callable[[str], None] | None = None) -> Execution:
    """Run the plan's container to the end (or the timeout) and remove it.

    ``stdout``/``stderr`` are binary files the masked logs are written to; the ``echo_*`` streams (a
    terminal, say) get the same masked bytes as they arrive.
    """
    engine = engine or connect(timeout=None)
    created = utc_now()
    try:
        container = engine.create_container(container_config(plan))
    except EngineError as exc:
        raise ContainerError(f"the engine could not create the container: {exc}") from None
    if on_container:
        on_container(container)
    secrets = sorted(plan.secret_values)
    sinks = (LogSink(stdout, secrets, echo_stdout), LogSink(stderr, secrets, echo_stderr))
    exit_code: int | None = None
    timed_out = oom = interrupted = False
    started = finished = None
    duration = None
    try:
        stream = engine.attach(container)
        pump = threading.Thread(target=_pump, args=(stream, sinks), name="seed-logs", daemon=True)
        pump.start()
        try:
            engine.start(container)
        except EngineError as exc:
            stream.close()
            raise ContainerError(f"the engine could not start the container: {exc}") from None
        clock = time.monotonic()
        started = utc_now()
        done = threading.Event()
        outcome: dict[str, Any] = {}
        waiter = threading.Thread(target=_wait, args=(engine, container, outcome, done), name="seed-wait",
                                  daemon=True)
        waiter.start()
        try:
            if not done.wait(plan.timeout) and plan.timeout is not None:
                timed_out = True
                _stop(engine, container, done, plan.grace_period)
            done.wait()
        except BaseException:  # Ctrl-C, SIGTERM: stop the job before anything else
            interrupted = True
            _stop(engine, container, done, min(plan.grace_period, 2.0))
            raise
        finally:
            duration = time.monotonic() - clock
            finished = utc_now()
            pump.join(timeout=10)
            stream.close()
            for sink in sinks:
                sink.close()
        exit_code = outcome.get("exit_code")
        if "error" in outcome:
            raise ContainerError(f"lost track of the container: {outcome['error']}")
        try:
            oom = bool(engine.inspect_container(container)["State"].get("OOMKilled"))
        except SeedRunnerError:
            oom = False
    finally:
        _remove(engine, container)
    return Execution(container, exit_code, timed_out, oom, interrupted, created, started, finished, duration,
                     sinks[0].bytes_written, sinks[1].bytes_written)


def _pump(stream: AttachStream, sinks: tuple[LogSink, LogSink]) -> None:
    try:
        for kind, payload in stream:
            sinks[1 if kind == 2 else 0].write(payload)
    except (OSError, ValueError):  # the stream closes when the container is removed
        pass


def _wait(engine: Engine, container: str, outcome: dict[str, Any], done: threading.Event) -> None:
    try:
        outcome["exit_code"] = engine.wait(container)
    except Exception as exc:  # noqa: BLE001 - reported by execute()
        outcome["error"] = str(exc)
    finally:
        done.set()


def _stop(engine: Engine, container: str, done: threading.Event, grace: float) -> None:
    """SIGTERM, then SIGKILL after the grace period (init=True forwards the signal to the job)."""
    try:
        engine.kill(container, "SIGTERM")
    except SeedRunnerError:
        return  # already gone
    if not done.wait(grace):
        try:
            engine.kill(container, "SIGKILL")
        except SeedRunnerError:
            pass
        done.wait(10)


def _remove(engine: Engine, container: str) -> None:
    for _ in range(3):
        try:
            engine.remove(container)
            return
        except NotFoundError:
            return
        except SeedRunnerError:
            time.sleep(0.5)


def _explain(exc: BaseException) -> str:
    text = getattr(exc, "explanation", None) or str(exc)
    return (str(text).strip().splitlines() or [type(exc).__name__])[0]


def _runner_alive(pid: str, host: str) -> bool:
    if host != socket.gethostname():
        return True  # not ours to judge
    try:
        os.kill(int(pid), 0)
    except (ValueError, ProcessLookupError):
        return False
    except PermissionError:  # alive, another user's
        return True
    return True


def cleanup_leftovers(engine: Engine | None = None, *, include_live: bool = False) -> list[str]:
    """Remove containers of seed-runner runs whose runner process is gone; returns the removed ids.

    With ``include_live`` every seed-runner container is removed, including those of runs in progress.
    """
    engine = engine or connect()
    removed = []
    for container in engine.list_containers(RUN_LABEL):
        labels = container.get("Labels") or {}
        if include_live or not _runner_alive(labels.get(PID_LABEL, ""), labels.get(HOST_LABEL, "")):
            _remove(engine, container["Id"])
            removed.append(container["Id"])
    return removed
