"""Stopping a run from another thread: an executor's ``cancel()``, or a batch's Ctrl-C.

A ``Cancellation`` is handed to ``runner.run``; whoever holds it may ``cancel()`` at any time. Before the
container exists the run ends without creating it; while it runs, the container is stopped (a short grace) and
removed, and the run ends with status ``cancelled`` (or ``interrupted``, the reason a batch's Ctrl-C gives).
It never raises into the thread that cancels: the run's own thread does the stopping.
"""

from __future__ import annotations

import threading
from typing import Literal

Reason = Literal["cancelled", "interrupted"]

POLL_SECONDS = 0.05
"""How often a running container's supervisor looks at the token: the delay between cancel() and SIGTERM."""


class RunCancelled(Exception):
    """Raised inside the run's thread when its token is cancelled; ``runner.run`` turns it into the outcome."""

    def __init__(self, reason: Reason):
        super().__init__(reason)
        self.reason: Reason = reason


class Cancellation:
    """A one-way switch, safe to share between threads."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self.reason: Reason = "cancelled"

    def cancel(self, reason: Reason = "cancelled") -> None:
        if not self._event.is_set():
            self.reason = reason
            self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def check(self) -> None:
        """Raise RunCancelled when cancelled."""
        if self._event.is_set():
            raise RunCancelled(self.reason)

    def wait_for(self, done: threading.Event, timeout: float | None) -> bool:
        """Wait until ``done`` is set (True), ``timeout`` seconds pass (False), or this is cancelled
        (RunCancelled)."""
        import time

        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            self.check()
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                return done.is_set()
            if done.wait(POLL_SECONDS if left is None else min(POLL_SECONDS, left)):
                return True
