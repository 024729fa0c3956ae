"""The log pump of a run: the attached output of a container, copied to its log sinks in a thread.

The runner attaches before start with ``stream=1`` alone (``Engine.attach``), never ``logs=1`` as well: the
engine then replays what it has logged on top of the live stream, and output written while the attach is set
up arrives twice (DESIGN.md "Engines"). So the bytes the pump receives are the job's, once, in order.
"""

from __future__ import annotations

import threading
import time

from ..runtime.logstream import LogSink
from .client import AttachStream

__all__ = ["LogPump"]


class LogPump:
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
        if self._thread is not None and self._thread.is_alive():  # not started: an interrupt in start()
            self._thread.join(1.0)
        with self._lock:
            if self._closed:
                return
            self._closed = True
            for sink in self.sinks:
                sink.close()
