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
from typing import Any, BinaryIO

from .client import AttachStream, Engine, EngineError, NotFoundError
from ..errors import ImageNotFoundError, SeedRunnerError
from .images import ImageInfo, connect, inspect_image  # inspect_image: also importable from here
from ..runtime.logstream import LogSink
from ..runtime.plan import LABEL_PREFIX, RunPlan

__all__ = ["ContainerError", "Execution", "ImageInfo", "cleanup_leftovers", "connect", "container_config",
           "execute", "inspect_image", "pull_image"]

RUN_LABEL = f"{LABEL_PREFIX}run-id"
PID_LABEL = f"{LABEL_PREFIX}runner-pid"
HOST_LABEL = f"{LABEL_PREFIX}runner-host"
# Keep the engine's own copy of the logs small: the runner streams them to files itself.
ENGINE_LOG_CONFIG = {"Type": "json-file", "Config": {"max-size": "1m", "max-file": "1"}}
# How long the engine may take to report the exit of a container it was told to stop (SIGTERM, SIGKILL).
EXIT_REPORT_SECONDS = 30.0
# After the container exited, its output is read for as long as bytes keep arriving, within these bounds:
# at most LOG_IDLE_SECONDS without a byte, at most LOG_DRAIN_SECONDS in all.
LOG_IDLE_SECONDS = 10.0
LOG_DRAIN_SECONDS = 60.0
# The same after an interrupt, when the user waits for the runner to end.
INTERRUPTED_LOG_SECONDS = 2.0


class ContainerError(SeedRunnerError):
    """The engine could not create or start the container, or lost it (a system error, not the job's)."""


@dataclass(frozen=True)
class Execution:
    """What happened to the container."""

    container_id: str | None
    exit_code: int | None
    timed_out: bool
    oom_killed: bool
    created: str
    started: str | None
    finished: str | None
    duration_seconds: float | None
    stdout_bytes: int
    stderr_bytes: int


def utc_now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


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
    if plan.command == ():
        # A command that expands to no words runs the image's ENTRYPOINT alone. An empty Cmd is not enough:
        # the engine then keeps the image's CMD (arguments the manifest never asked for) unless the
        # Entrypoint is given too, so it is, as the image has it.
        entrypoint = getattr(plan, "entrypoint", None)
        if not entrypoint:
            raise ContainerError("the command expands to no words and the image has no ENTRYPOINT: there is "
                                 "nothing to run; give the command or an ENTRYPOINT")
        config["Cmd"] = []
        config["Entrypoint"] = list(entrypoint)
    elif plan.command is not None:
        config["Cmd"] = list(plan.command)
    if plan.user:
        config["User"] = plan.user
    return config


def execute(plan: RunPlan, stdout: BinaryIO, stderr: BinaryIO, *, echo_stdout: BinaryIO | None = None,
            echo_stderr: BinaryIO | None = None, engine: Engine | None = None) -> Execution:
    """Run the plan's container to the end (or the timeout) and remove it.

    ``stdout``/``stderr`` are binary files the masked logs are written to; the ``echo_*`` streams (a
    terminal, say) get the same masked bytes as they arrive. Nothing is written to them once this returns.

    Raises ContainerError when the engine cannot create or start the container, or loses track of it. On
    KeyboardInterrupt or SystemExit (Ctrl-C, SIGTERM), and on any other exception, the container is stopped
    and removed and the exception propagates as it is.
    """
    engine = engine or connect(timeout=None)
    config = container_config(plan)
    created = utc_now()
    try:
        container = engine.create_container(config)
    except EngineError as exc:
        raise ContainerError(f"the engine could not create the container: {exc}") from None
    secrets = sorted(plan.secret_values)
    pump = _Pump((LogSink(stdout, secrets, echo_stdout), LogSink(stderr, secrets, echo_stderr)))
    exit_code: int | None = None
    timed_out = oom = False
    started = finished = None
    duration = None
    try:
        pump.start(engine.attach(container))
        try:
            engine.start(container)
        except EngineError as exc:
            raise ContainerError(f"the engine could not start the container: {exc}") from None
        clock = time.monotonic()
        started = utc_now()
        done = threading.Event()
        outcome: dict[str, Any] = {}
        waiter = threading.Thread(target=_wait, args=(engine, container, outcome, done), name="seed-wait",
                                  daemon=True)
        waiter.start()
        drain = (LOG_IDLE_SECONDS, LOG_DRAIN_SECONDS)
        try:
            if not done.wait(plan.timeout):
                timed_out = True
                _stop(engine, container, done, plan.grace_period)
                if not done.wait(EXIT_REPORT_SECONDS):
                    outcome.setdefault("error", "the engine did not report its exit within "
                                                f"{EXIT_REPORT_SECONDS:g} seconds of stopping it")
        except (KeyboardInterrupt, SystemExit):  # Ctrl-C, SIGTERM: stop the job at once, the user waits
            drain = (INTERRUPTED_LOG_SECONDS, INTERRUPTED_LOG_SECONDS)
            _stop(engine, container, done, min(plan.grace_period, 2.0))
            raise
        except BaseException:  # anything else (a bug of ours): the job must not outlive it; it propagates
            _stop(engine, container, done, plan.grace_period)
            raise
        finally:
            duration = time.monotonic() - clock
            finished = utc_now()
            pump.drain(*drain)
        exit_code = outcome.get("exit_code")
        if "error" in outcome:
            raise ContainerError(f"lost track of the container: {outcome['error']}")
        try:
            oom = bool(engine.inspect_container(container)["State"].get("OOMKilled"))
        except (SeedRunnerError, KeyError, AttributeError, TypeError):  # gone, or an answer without a State
            oom = False
    finally:
        pump.finish()
        _remove(engine, container)
    return Execution(container, exit_code, timed_out, oom, created, started, finished, duration,
                     pump.sinks[0].bytes_written, pump.sinks[1].bytes_written)


class _Pump:
    """Copies the attached output to the log sinks in a thread; ``finish`` ends the copy for good.

    The sinks are written and closed under one lock, and never written once closed: a pump thread that
    outlives ``execute`` (an engine that never ends the stream) drops what it reads instead of writing to
    files the caller has closed.
    """

    def __init__(self, sinks: tuple[LogSink, LogSink]):
        self.sinks = sinks
        self.received = 0
        self._stream: AttachStream | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._closed = False

    def start(self, stream: AttachStream) -> None:
        self._stream = stream
        self._thread = threading.Thread(target=self._run, args=(stream,), name="seed-logs", daemon=True)
        self._thread.start()

    def _run(self, stream: AttachStream) -> None:
        try:
            for kind, payload in stream:
                with self._lock:
                    if self._closed:
                        return
                    self.received += len(payload)
                    self.sinks[1 if kind == 2 else 0].write(payload)
        except (OSError, ValueError):  # the stream closes when the container is removed, or a log file fails
            pass

    def drain(self, idle: float, total: float) -> None:
        """Once the container exited: wait for the rest of its output while it keeps coming.

        The engine ends the stream after the last byte; one that does not gets ``idle`` seconds without a
        byte, and ``total`` seconds in all, before the stream is closed.
        """
        thread = self._thread
        if thread is None:
            return
        deadline = time.monotonic() + total
        seen, quiet_since = self.received, time.monotonic()
        while thread.is_alive():
            now = time.monotonic()
            if now >= deadline or now - quiet_since >= idle:
                break
            thread.join(min(0.25, deadline - now))
            if self.received != seen:
                seen, quiet_since = self.received, time.monotonic()
        self.finish()

    def finish(self) -> None:
        """Close the stream, give the thread a moment to end, and close the sinks (idempotent)."""
        if self._stream is not None:
            self._stream.close()
        if self._thread is not None:
            self._thread.join(1.0)
        with self._lock:
            if self._closed:
                return
            self._closed = True
            for sink in self.sinks:
                sink.close()


def _wait(engine: Engine, container: str, outcome: dict[str, Any], done: threading.Event) -> None:
    try:
        outcome["exit_code"] = engine.wait(container)
    except Exception as exc:  # noqa: BLE001 - reported by execute()
        outcome["error"] = str(exc)
    finally:
        done.set()


def _gone(exc: EngineError) -> bool:
    """The kill failed because the container is no longer there or no longer runs."""
    return isinstance(exc, NotFoundError) or (exc.status == 409 and "not running" in str(exc).lower())


def _stop(engine: Engine, container: str, done: threading.Event, grace: float) -> None:
    """SIGTERM, then SIGKILL after the grace period (init=True forwards the signal to the job).

    Only a container known to be gone is spared the SIGKILL: a SIGTERM the engine failed to deliver (an
    error, no answer) must not leave the job running.
    """
    try:
        engine.kill(container, "SIGTERM")
    except EngineError as exc:
        if _gone(exc):
            return
    except SeedRunnerError:  # the engine did not answer: it may still have delivered the signal
        pass
    if not done.wait(grace):
        try:
            engine.kill(container, "SIGKILL")
        except SeedRunnerError:
            pass


def _remove(engine: Engine, container: str) -> None:
    for _ in range(3):
        try:
            engine.remove(container)
            return
        except NotFoundError:
            return
        except SeedRunnerError:
            time.sleep(0.5)


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
