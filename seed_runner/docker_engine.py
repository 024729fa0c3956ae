"""Executes a RunPlan on a Docker engine: the only module of `seed run` that talks to the engine.

The lifecycle follows what the docker SDK makes safe (DESIGN.md "Docker engine facts"): create (never
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

from .errors import EngineUnavailableError, ImageNotFoundError, SeedRunnerError
from .logstream import LogSink
from .plan import LABEL_PREFIX, RunPlan

RUN_LABEL = f"{LABEL_PREFIX}run-id"
PID_LABEL = f"{LABEL_PREFIX}runner-pid"
HOST_LABEL = f"{LABEL_PREFIX}runner-host"
# Keep the engine's own copy of the logs small: the runner streams them to files itself.
ENGINE_LOG_CONFIG = {"type": "json-file", "config": {"max-size": "1m", "max-file": "1"}}


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


def connect(timeout: float | None = 60) -> Any:
    """A docker client; ``timeout=None`` for streaming and waiting, which may stay silent for hours."""
    import docker
    from docker.errors import DockerException

    try:
        client = docker.from_env(timeout=timeout)
        client.ping()
    except DockerException as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise EngineUnavailableError(f"the Docker engine does not answer ({first}); start it "
                                     "(scripts/ensure-engine.sh) or set DOCKER_HOST") from None
    return client


def image_environment(client: Any, reference: str) -> dict[str, str]:
    """The image's ENV (for command expansion); raises ImageNotFoundError, never pulls."""
    from docker.errors import ImageNotFound

    try:
        attrs = client.api.inspect_image(reference)
    except ImageNotFound:
        raise ImageNotFoundError(f"image {reference!r} is not on the local engine; build it (`seed build` or "
                                 f"`docker build`) or pull it (`seed run --pull` or `docker pull`) first") from None
    env = {}
    for item in (attrs.get("Config") or {}).get("Env") or ():
        key, _, value = item.partition("=")
        env[key] = value
    return env


def pull_image(client: Any, reference: str) -> None:
    from docker.errors import DockerException

    try:
        client.images.pull(reference)
    except DockerException as exc:
        raise ImageNotFoundError(f"could not pull {reference!r}: {str(exc).splitlines()[0]}") from None


def _create(client: Any, plan: RunPlan) -> Any:
    from docker.errors import APIError
    from docker.types import DeviceRequest, LogConfig, Mount

    kwargs: dict[str, Any] = dict(
        image=plan.image,
        command=list(plan.command) if plan.command is not None else None,
        environment=dict(plan.environment),
        labels={**plan.labels, PID_LABEL: str(os.getpid()), HOST_LABEL: socket.gethostname()},
        mounts=[Mount(target=m.target, source=m.source, type="bind", read_only=m.read_only) for m in plan.mounts],
        init=True,  # tini as PID 1: SIGTERM reaches jobs whose own PID 1 would ignore it
        detach=True,
        stdin_open=False,
        tty=False,
        log_config=LogConfig(**ENGINE_LOG_CONFIG),
    )
    if plan.user:
        kwargs["user"] = plan.user
    if plan.network:
        kwargs["network_mode"] = plan.network
    if plan.nano_cpus:
        kwargs["nano_cpus"] = plan.nano_cpus
    if plan.memory_bytes:
        kwargs["mem_limit"] = plan.memory_bytes
        kwargs["memswap_limit"] = plan.memory_bytes  # no swap beyond the limit: OOM is OOM
    if plan.shm_bytes:
        kwargs["shm_size"] = plan.shm_bytes
    if plan.gpus:
        kwargs["device_requests"] = [DeviceRequest(count=plan.gpus, capabilities=[["gpu"]])]
    try:
        return client.containers.create(**kwargs)
    except APIError as exc:
        raise ContainerError(f"the engine could not create the container: {exc.explanation or exc}") from None


def execute(plan: RunPlan, stdout: BinaryIO, stderr: BinaryIO, *, echo_stdout: BinaryIO | None = None,
            echo_stderr: BinaryIO | None = None, client: Any = None,
            on_container: Callable[[str], None] | None = None) -> Execution:
    """Run the plan's container to the end (or the timeout) and remove it.

    ``stdout``/``stderr`` are binary files the masked logs are written to; the ``echo_*`` streams (a
    terminal, say) get the same masked bytes as they arrive.
    """
    from docker.errors import DockerException

    client = client or connect(timeout=None)
    created = utc_now()
    container = _create(client, plan)
    if on_container:
        on_container(container.id)
    secrets = sorted(plan.secret_values)
    sinks = (LogSink(stdout, secrets, echo_stdout), LogSink(stderr, secrets, echo_stderr))
    exit_code: int | None = None
    timed_out = oom = interrupted = False
    started = finished = None
    duration = None
    try:
        stream = container.attach(stdout=True, stderr=True, stream=True, logs=True, demux=True)
        pump = threading.Thread(target=_pump, args=(stream, sinks), name="seed-logs", daemon=True)
        pump.start()
        try:
            container.start()
        except DockerException as exc:
            raise ContainerError(f"the engine could not start the container: {_explain(exc)}") from None
        clock = time.monotonic()
        started = utc_now()
        done = threading.Event()
        outcome: dict[str, Any] = {}
        waiter = threading.Thread(target=_wait, args=(container, outcome, done), name="seed-wait", daemon=True)
        waiter.start()
        try:
            if not done.wait(plan.timeout) and plan.timeout is not None:
                timed_out = True
                _stop(container, done, plan.grace_period)
            done.wait()
        except BaseException:  # Ctrl-C, SIGTERM: stop the job before anything else
            interrupted = True
            _stop(container, done, min(plan.grace_period, 2.0))
            raise
        finally:
            duration = time.monotonic() - clock
            finished = utc_now()
            pump.join(timeout=10)
            for sink in sinks:
                sink.close()
        exit_code = outcome.get("exit_code")
        if "error" in outcome:
            raise ContainerError(f"lost track of the container: {outcome['error']}")
        try:
            container.reload()
            oom = bool(container.attrs["State"].get("OOMKilled"))
        except DockerException:
            oom = False
    finally:
        _remove(container)
    return Execution(container.id, exit_code, timed_out, oom, interrupted, created, started, finished, duration,
                     sinks[0].bytes_written, sinks[1].bytes_written)


def _pump(stream: Any, sinks: tuple[LogSink, LogSink]) -> None:
    try:
        for out, err in stream:
            if out:
                sinks[0].write(out)
            if err:
                sinks[1].write(err)
    except Exception:  # noqa: BLE001 - the connection closes when the container is removed
        pass


def _wait(container: Any, outcome: dict[str, Any], done: threading.Event) -> None:
    try:
        outcome["exit_code"] = container.wait()["StatusCode"]
    except Exception as exc:  # noqa: BLE001 - reported by execute()
        outcome["error"] = _explain(exc)
    finally:
        done.set()


def _stop(container: Any, done: threading.Event, grace: float) -> None:
    """SIGTERM, then SIGKILL after the grace period (init=True forwards the signal to the job)."""
    from docker.errors import DockerException

    try:
        container.kill(signal="SIGTERM")
    except DockerException:
        return  # already gone
    if not done.wait(grace):
        try:
            container.kill(signal="SIGKILL")
        except DockerException:
            pass
        done.wait(10)


def _remove(container: Any) -> None:
    from docker.errors import DockerException, NotFound

    for _ in range(3):
        try:
            container.remove(force=True, v=True)
            return
        except NotFound:
            return
        except DockerException:
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


def cleanup_leftovers(client: Any = None, *, include_live: bool = False) -> list[str]:
    """Remove containers of seed-runner runs whose runner process is gone; returns the removed ids.

    With ``include_live`` every seed-runner container is removed, including those of runs in progress.
    """
    client = client or connect()
    removed = []
    for container in client.containers.list(all=True, filters={"label": RUN_LABEL}):
        labels = container.labels
        pid, host = labels.get(PID_LABEL, ""), labels.get(HOST_LABEL, "")
        if include_live or not _runner_alive(pid, host):
            _remove(container)
            removed.append(container.id)
    return removed
