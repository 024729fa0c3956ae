"""Custody of a run's container: nothing the runner asks the engine to create outlives the run unseen.

- ``container_name``: the runner names every container it creates (``seed-<run id>-<8 hex>``), so that a
  creation whose answer is lost (no answer in time, a broken one) can still be found and removed.
- ``create``: the creation runs in a helper thread the caller waits for even through Ctrl-C and SIGTERM
  (``shielded``): a container the engine creates while the runner is being interrupted is removed before the
  interrupt goes on. A lost answer is followed by a removal by name.
- ``remove``: force-removal, retried, bounded in all by ``REMOVE_SECONDS`` and shielded as well. A container
  that could not be removed (or whose creation could not be ruled out) becomes a ``container-not-removed``
  warning naming it; its labels let ``seed cleanup`` remove it once the runner has exited.

An interrupt that arrives while the runner waits is raised once the work is done; a second Ctrl-C does not
cut the clean-up short (each wait is bounded, so it cannot hang either).
"""

from __future__ import annotations

import _thread
import os
import re
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable, Generic, TypeVar

from ..errors import EngineUnavailableError, SeedRunnerError
from ..problems import Problem, warning
from ..runtime.outcome import NOT_REMOVED
from .client import Engine, EngineError, NotFoundError, UnexpectedAnswerError

__all__ = ["NOT_REMOVED", "container_name", "create", "remove", "shielded"]

T = TypeVar("T")

# All attempts at removing one container, and one attempt (an engine that hangs on DELETE is given up).
REMOVE_SECONDS = 20.0
REMOVE_ATTEMPT_SECONDS = 8.0
# After a lost answer to a creation: how long a container of that name is looked for before the runner
# concludes that the engine created none.
SETTLE_SECONDS = 2.0
# A helper thread's call is bounded by the client; this is the margin the waiter adds to that bound.
MARGIN_SECONDS = 5.0


@dataclass
class Shielded(Generic[T]):
    """What a shielded call gave: its value or error, and the first interrupt that arrived meanwhile."""

    value: T | None = None
    error: BaseException | None = None
    interrupt: BaseException | None = None


def shielded(call: Callable[[], T], seconds: float) -> Shielded[T]:
    """Run ``call`` in a helper thread and wait for it (at most ``seconds``) through KeyboardInterrupt and
    SystemExit, which are returned, not raised. A call still running after ``seconds`` is a TimeoutError.

    The thread is made with ``_thread.start_new_thread``, which an interrupt cannot cut in the middle (as it
    can ``Thread.start``); one that came just before it is made is told apart by ``began``, and the thread
    made then.
    """
    result: Shielded[T] = Shielded()
    began, done = threading.Event(), threading.Event()

    def target() -> None:
        began.set()
        try:
            result.value = call()
        except BaseException as exc:  # noqa: BLE001 - handed to the waiter
            result.error = exc
        finally:
            done.set()

    deadline = time.monotonic() + seconds
    made = False
    try:
        _thread.start_new_thread(target, ())
        made = True
    except (KeyboardInterrupt, SystemExit) as exc:  # before the thread was made, or just after
        result.interrupt = exc
    while not done.is_set():
        left = deadline - time.monotonic()
        if left <= 0:
            result.error = TimeoutError(f"no answer within {seconds:g} s")
            break
        try:
            if not made and not began.wait(min(left, 0.5)):  # a thread that exists begins within moments
                _thread.start_new_thread(target, ())
            made = True
            done.wait(left)
        except (KeyboardInterrupt, SystemExit) as exc:
            result.interrupt = result.interrupt or exc
    return result


def container_name(run_id: str) -> str:
    """A name for the run's container that no other creation uses (the engine allows ``[a-zA-Z0-9_.-]``)."""
    return f"seed-{re.sub(r'[^a-zA-Z0-9_.-]', '_', run_id)[:64]}-{os.urandom(4).hex()}"


def create(engine: Engine, config: dict[str, Any], name: str, warnings: list[Problem]) -> str:
    """The id of a new container named ``name``.

    Raises what the engine's client raised (EngineError: the engine refused, it created nothing), after
    removing by name a container a lost answer may have left. An interrupt that came meanwhile is raised
    once the container it created, if any, is removed.
    """
    result = shielded(lambda: engine.create_container(config, name), engine.call_timeout + MARGIN_SECONDS)
    if result.value is not None:
        if result.interrupt is not None:
            remove(engine, result.value, warnings)
            raise result.interrupt
        return result.value
    refused = isinstance(result.error, EngineError) and not isinstance(result.error, UnexpectedAnswerError)
    if not refused:  # the answer was lost: the engine may have created it, or may be creating it still
        _discard(engine, name, warnings)
    if result.interrupt is not None:
        raise result.interrupt
    if isinstance(result.error, TimeoutError):  # the client's own bound did not end the call
        raise EngineUnavailableError(f"the Docker engine at {engine.host} did not answer the creation of "
                                     f"container {name} ({result.error})")
    assert result.error is not None
    raise result.error


def remove(engine: Engine, container: str, warnings: list[Problem]) -> bool:
    """Force-remove the container (by id or name); True once it is gone.

    Retries within ``REMOVE_SECONDS``; a container still there after them is a ``container-not-removed``
    warning. An interrupt that came meanwhile is raised once the removal is over.
    """
    return _make_sure(lambda: _remove_until_gone(engine, container), REMOVE_SECONDS, warnings, container,
                      f"container {container} could not be removed")


def _make_sure(work: Callable[[], tuple[bool, str]], seconds: float, warnings: list[Problem], container: str,
               failure: str) -> bool:
    """``work`` (True, or False and why), shielded; a ``container-not-removed`` warning when it could not make
    sure the container is gone. An interrupt that came meanwhile is raised once ``work`` is over."""
    result = shielded(work, seconds + MARGIN_SECONDS)
    sure, reason = result.value or (False, str(result.error))
    if not sure:
        warnings.append(warning(NOT_REMOVED, None, f"{failure} ({reason}); `seed cleanup` removes it once this "
                                f"run's runner has exited, or `docker rm -f {container}`"))
    if result.interrupt is not None:
        raise result.interrupt
    return sure


def _remove_until_gone(engine: Engine, container: str) -> tuple[bool, str]:
    deadline = time.monotonic() + REMOVE_SECONDS
    pause, reason = 0.25, "no attempt"
    while (left := deadline - time.monotonic()) > 0:
        try:
            engine.remove(container, limit=min(left, REMOVE_ATTEMPT_SECONDS, engine.call_timeout))
            return True, ""
        except NotFoundError:
            return True, ""
        except SeedRunnerError as exc:  # 409 "removal already in progress", 500, no answer: try again
            reason = str(exc)
        time.sleep(max(0.0, min(pause, deadline - time.monotonic())))
        pause = min(pause * 2, 2.0)
    return False, f"the engine did not remove it within {REMOVE_SECONDS:g} s: {reason}"


def _discard(engine: Engine, name: str, warnings: list[Problem]) -> None:
    """After a lost answer: remove a container named ``name`` if the engine created one (it may appear a
    moment later); a warning when the engine cannot tell."""
    _make_sure(lambda: _discard_by_name(engine, name), SETTLE_SECONDS + REMOVE_SECONDS, warnings, name,
               f"container {name} may have been created, and could not be looked up to remove it")


def _discard_by_name(engine: Engine, name: str) -> tuple[bool, str]:
    """(True, "") when no container of that name is left, after SETTLE_SECONDS of looking for one."""
    settle = time.monotonic() + SETTLE_SECONDS
    while True:
        try:
            engine.inspect_container(name, limit=min(REMOVE_ATTEMPT_SECONDS, engine.call_timeout))
        except NotFoundError:
            if time.monotonic() >= settle:
                return True, ""
            time.sleep(0.2)
            continue
        except SeedRunnerError as exc:
            if time.monotonic() >= settle:
                return False, str(exc)
            time.sleep(0.2)
            continue
        return _remove_until_gone(engine, name)
