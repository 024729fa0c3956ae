"""Executes a RunPlan on a Docker engine (through engine_api): the only module of `seed run` with a container.

The lifecycle follows what the Engine API makes safe (DESIGN.md "Docker engine facts"): create (never
``run``, never ``auto_remove``), attach before start so no output is lost, start, stream both outputs to
masked log files in a thread (``logs``), wait in another thread while the caller's thread keeps the clock
(SIGTERM, grace period, SIGKILL), inspect for ``OOMKilled``, ask the engine's events who ended a container
that died by a signal the runner did not send, and remove the container in ``finally``. Creation and removal
are shielded from interrupts and bounded (``custody``): nothing the runner creates outlives it. Every container
carries labels naming its run and runner process, so leftovers of a killed runner are found and removed
(``reaper``, once its runner is proven dead).
"""

from __future__ import annotations

import re
import signal
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, BinaryIO, Callable

from . import custody
from .client import Engine, EngineError, NotFoundError
from ..errors import ImageNotFoundError, SeedRunnerError
from .logs import LogPump as _Pump
from ..problems import Problem
from .images import ImageInfo, connect, inspect_image  # inspect_image: also importable from here
from .reaper import HOST_LABEL, PID_LABEL, RUN_LABEL, cleanup_leftovers, runner_labels  # noqa: F401
from ..runtime.cancellation import Cancellation, RunCancelled
from ..runtime.logstream import LogSink
from ..runtime.plan import RunPlan

__all__ = ["ContainerError", "Execution", "ImageInfo", "cleanup_leftovers", "connect", "container_config",
           "execute", "inspect_image", "pull_image"]

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
# How long the engine may take to say what happened to a container that died by a signal.
EVENTS_SECONDS = 10.0


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
    killed_externally: str | None = None
    """Why the container is known to have been killed by someone else (``docker kill``, ``docker rm -f``)."""


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
        "Labels": {**plan.labels, **runner_labels()},  # the runner's identity: engine/reaper.py
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
            echo_stderr: BinaryIO | None = None, engine: Engine | None = None,
            warnings: list[Problem] | None = None, cancel: Cancellation | None = None,
            before_start: Callable[[], None] | None = None) -> Execution:
    """Run the plan's container to the end (or the timeout) and remove it.

    ``stdout``/``stderr`` are binary files the masked logs are written to; the ``echo_*`` streams (a
    terminal, say) get the same masked bytes as they arrive, each from a thread of its own (``logs.Echo``).
    Nothing is written to any of them once this returns (an echo write blocked then may still end). A sink
    that fails never stops the run: a log file is closed at its first error and becomes a ``log-write-failed``
    warning (the output goes on being read and discarded); an echo is dropped at its first error (a closed
    pipe), or given up when it stalls (``log-echo-stopped``). ``warnings``, a list the caller keeps, gets these
    and a ``container-not-removed`` warning (``custody``) for a container that could not be removed, also when
    this raises.

    Raises ContainerError when the engine cannot create or start the container, or loses track of it. On
    KeyboardInterrupt or SystemExit (Ctrl-C, SIGTERM), and on any other exception, the container is stopped
    and removed and the exception propagates as it is. ``cancel`` (another thread's ``Cancellation``) does the
    same from outside: the container is stopped and removed, and RunCancelled propagates.

    ``before_start`` is called once the container exists and is attached, just before it starts (the runner
    waits there for its run's record, written meanwhile); what it raises propagates, the container removed.
    """
    engine = engine or connect(timeout=None)
    warnings = [] if warnings is None else warnings
    config = container_config(plan)
    created = utc_now()
    if cancel is not None:
        cancel.check()
    try:
        container = custody.create(engine, config, custody.container_name(plan.run_id), warnings)
    except EngineError as exc:
        raise ContainerError(f"the engine could not create the container: {exc}") from None
    try:
        return _supervise(engine, plan, container, created, stdout, stderr, echo_stdout, echo_stderr, warnings,
                          cancel, before_start)
    finally:
        custody.remove(engine, container, warnings)


def _supervise(engine: Engine, plan: RunPlan, container: str, created: str, stdout: BinaryIO, stderr: BinaryIO,
               echo_stdout: BinaryIO | None, echo_stderr: BinaryIO | None, warnings: list[Problem],
               cancel: Cancellation | None = None, before_start: Callable[[], None] | None = None) -> Execution:
    """Attach, start, keep the clock, wait; the caller removes the container."""
    secrets = sorted(plan.secret_values)
    pump = _Pump((LogSink(stdout, secrets, echo_stdout), LogSink(stderr, secrets, echo_stderr)), warnings)
    exit_code: int | None = None
    timed_out = oom = False
    started = finished = killed = None
    duration = None
    try:
        pump.start(engine.attach(container))
        if before_start is not None:
            before_start()
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
            if cancel is not None:
                cancel.check()  # cancelled while the container was being created: it never starts its job
            if not (done.wait(plan.timeout) if cancel is None else cancel.wait_for(done, plan.timeout)):
                # A job that ended by itself as the clock ran out (the kill finds it not running) keeps its own
                # outcome: it did not overrun.
                timed_out = not _stop(engine, container, done, plan.grace_period)
                if not done.wait(EXIT_REPORT_SECONDS):
                    outcome.setdefault("error", "the engine did not report its exit within "
                                                f"{EXIT_REPORT_SECONDS:g} seconds of stopping it")
        except (KeyboardInterrupt, SystemExit, RunCancelled):  # Ctrl-C, SIGTERM, cancel(): stop the job at once
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
        state = _state(engine, container)
        oom = bool(state and state.get("OOMKilled"))
        if not timed_out and not oom:  # the runner sent no signal: if one ended the job, whose was it?
            killed = _killed_from_outside(engine, container, exit_code, state)
    finally:
        pump.finish()
    return Execution(container, exit_code, timed_out, oom, created, started, finished, duration,
                     pump.sinks[0].bytes_written, pump.sinks[1].bytes_written, killed)


def _wait(engine: Engine, container: str, outcome: dict[str, Any], done: threading.Event) -> None:
    try:
        outcome["exit_code"] = engine.wait(container)
    except Exception as exc:  # noqa: BLE001 - reported by execute()
        outcome["error"] = str(exc)
    finally:
        done.set()


def _state(engine: Engine, container: str) -> dict[str, Any] | None:
    """The container's ``State`` after its exit: None when it is gone, {} when the engine cannot say."""
    try:
        state = engine.inspect_container(container).get("State")
    except NotFoundError:
        return None
    except SeedRunnerError:
        return {}
    return state if isinstance(state, dict) else {}


def _killed_from_outside(engine: Engine, container: str, exit_code: int | None,
                         state: dict[str, Any] | None) -> str | None:
    """Why a container that ended by a signal (exit code 128 + n) the runner did not send is known to have been
    killed by someone else: it is gone (removed by force while it ran), or the engine recorded a ``kill`` with
    that signal, or a ``destroy``. None when nothing says so: a job may kill itself, or exit 137, and that
    stays the job's."""
    if exit_code is None or not 128 < exit_code < 160:
        return None
    number = exit_code - 128
    if state is None:
        return (f"the container was removed while it ran (exit code {exit_code}, signal {_signal_text(number)}); "
                "seed-runner neither stopped nor removed it: someone else did (`docker rm -f`?)")
    since, until = _engine_seconds(state.get("StartedAt")), _engine_seconds(state.get("FinishedAt"), 2)
    if since is None or until is None:
        return None
    try:  # the engine logs a kill after the process ended (FinishedAt), and before its `die`
        events = engine.events(container, since, until, last="die", limit=EVENTS_SECONDS)
    except SeedRunnerError:  # no evidence either way: the exit code stays the job's
        return None
    for event in events:
        action = event.get("Action")
        actor = event.get("Actor")
        attributes = actor.get("Attributes") if isinstance(actor, dict) else None
        sent = str(attributes.get("signal", "")) if isinstance(attributes, dict) else ""
        if action == "destroy" or (action == "kill" and _signal_number(sent) in (None, number)):
            what = "removed it" if action == "destroy" else f"killed it with signal {_signal_text(number)}"
            return (f"the engine {what} at another client's request (`docker kill`, `docker stop`, `docker rm -f`, "
                    "or an orchestrator); seed-runner sent no signal")
    return None


def _signal_number(text: str) -> int | None:
    """``"9"``, ``"KILL"`` or ``"SIGKILL"`` -> 9; None for anything else (an engine may name it otherwise)."""
    if text.isdigit():
        return int(text)
    try:
        return int(signal.Signals["SIG" + text.upper().removeprefix("SIG")])
    except KeyError:
        return None


def _signal_text(number: int) -> str:
    try:
        return f"{number} ({signal.Signals(number).name})"
    except ValueError:
        return str(number)


_STAMP = re.compile(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?Z")


def _engine_seconds(stamp: Any, later: int = 0) -> str | None:
    """An engine time stamp (RFC 3339 in UTC, up to nanoseconds), ``later`` seconds on, as the Unix seconds
    ``/events`` takes."""
    match = _STAMP.fullmatch(stamp) if isinstance(stamp, str) else None
    if match is None or stamp.startswith("0001-"):  # the zero time: never started, or not finished
        return None
    seconds = int(datetime.strptime(match[1], "%Y-%m-%dT%H:%M:%S").replace(tzinfo=timezone.utc).timestamp())
    return f"{seconds + later}.{(match[2] or '').ljust(9, '0')}"


def _gone(exc: EngineError) -> bool:
    """The kill failed because the container is no longer there or no longer runs."""
    return isinstance(exc, NotFoundError) or (exc.status == 409 and "not running" in str(exc).lower())


def _stop(engine: Engine, container: str, done: threading.Event, grace: float) -> bool:
    """SIGTERM, then SIGKILL after the grace period (init=True forwards the signal to the job). True when the
    container had already ended (no signal reached it).

    Only a container known to be gone is spared the SIGKILL: a SIGTERM the engine failed to deliver (an
    error, no answer) must not leave the job running.
    """
    try:
        engine.kill(container, "SIGTERM")
    except EngineError as exc:
        if _gone(exc):
            return True
    except SeedRunnerError:  # the engine did not answer: it may still have delivered the signal
        pass
    if not done.wait(grace):
        try:
            engine.kill(container, "SIGKILL")
        except SeedRunnerError:
            pass
    return False
