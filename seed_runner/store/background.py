"""A call that runs in a thread of its own while its caller goes on: how `seed run` keeps the run store off the
way to its container's start (``recording``: the start recorded while the engine creates the container).
"""

from __future__ import annotations

import _thread
from typing import Any, Callable, Generic, TypeVar

T = TypeVar("T")


class Background(Generic[T]):
    """``call(*args)`` in a thread started at once; ``result()`` waits for it and returns its value or raises its
    error (as often as it is asked).

    A bare ``_thread`` thread: ``threading.Thread.start`` waits until the new thread runs, which hands it the
    interpreter's lock for as long as it keeps it (up to the switch interval, 5 ms) while the caller has work to
    do. Not joined at exit: the runner always waits for its store's thread (``recording.settle``), and a process
    that dies meanwhile leaves SQLite whole (a transaction lands entirely or not at all).
    """

    __slots__ = ("_done", "_value", "_error")

    def __init__(self, call: Callable[..., T], *args: Any) -> None:
        self._value: T | None = None
        self._error: BaseException | None = None
        self._done = _thread.allocate_lock()
        self._done.acquire()  # released when the call has ended
        try:
            _thread.start_new_thread(self._run, (call, args))
        except RuntimeError:  # no thread to be had (the process's limit): the call runs here and now
            self._run(call, args)

    def _run(self, call: Callable[..., T], args: tuple[Any, ...]) -> None:
        try:
            self._value = call(*args)
        except BaseException as exc:  # noqa: BLE001 - handed to whoever asks for the result
            self._error = exc
        finally:
            self._done.release()

    def result(self) -> T:
        with self._done:  # held until the call has ended
            pass
        if self._error is not None:
            raise self._error
        return self._value  # type: ignore[return-value]  # set whenever no error was
