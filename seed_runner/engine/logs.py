"""The log pump of a run: the attached output of a container, copied to its log sinks in a thread.

The runner attaches before start with ``stream=1`` alone (``Engine.attach``), never ``logs=1`` as well: the
engine then replays what it has logged on top of the live stream, and output written while the attach is set
up arrives twice (DESIGN.md "Engines"). So the bytes the pump receives are the job's, once, in order.

Nothing a sink does may stop the pump from reading: a container whose output nobody reads is blocked by the
engine in its next write, and stalls until its timeout (forever without one). So a log file that fails is
reported and the output read on (``log-write-failed``); an echo (the copy to a terminal, a pipe, a caller's
stream) is written by a thread of its own (``Echo``), dropped at its first error, and given up when it stalls
(``log-echo-stopped``). The pump never holds its lock across echo I/O, and ``finish`` never waits unbounded.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from typing import BinaryIO

from ..problems import Problem, warning
from ..runtime.logstream import LogSink, describe, write_all
from .client import AttachStream

__all__ = ["Echo", "LogPump"]

# An echo may fall this far behind the job before the pump waits for it (a slow reader slows the job down, as
# under `docker run`), and it is given up once it takes no byte for ECHO_STALL_SECONDS: while the pump waits
# for it, and at the end of the run (when it gets at most ECHO_FINISH_SECONDS in all to catch up).
ECHO_BUFFER_BYTES = 8 << 20
ECHO_STALL_SECONDS = 5.0
ECHO_FINISH_SECONDS = 30.0
ECHO_PIECE_BYTES = 64 << 10  # the echo is written in pieces this large: progress is seen piece by piece
# How long ``finish`` waits for a log file write under way (a file system that hangs) before it gives up on it.
FINISH_LOCK_SECONDS = 10.0
LOG_WRITE_FAILED = "log-write-failed"
ECHO_STOPPED = "log-echo-stopped"
LABELS = ("stdout", "stderr")


class Echo:
    """The copy of one output of the job to a stream, written in a thread of its own.

    ``write`` (the pump's, under its lock) only queues the bytes: it never blocks and never raises, and keeps
    them in order. The pump waits outside its lock (``wait_for_room``) only while more than ECHO_BUFFER_BYTES
    are queued. The stream is dropped at its first error (``failure``), and given up (``stalled``) when it
    takes no byte for ECHO_STALL_SECONDS while the pump waits for it or the run ends. Once given up, nothing
    more is written to it; a write it is blocked in may still end later (nothing can interrupt it).
    """

    def __init__(self, stream: BinaryIO, label: str):
        self.stream = stream
        self.label = label
        self.failure: str | None = None
        self.stalled = False
        self._chunks: deque[bytes] = deque()
        self._queued = 0
        self._progress = time.monotonic()  # the last time a piece was written, or the queue stopped being empty
        self._closing = False
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None

    def write(self, data: bytes) -> None:
        with self._cond:
            if self.failure is not None or self._closing or not data:
                return
            if not self._queued:
                self._progress = time.monotonic()
            self._chunks.append(bytes(data))
            self._queued += len(data)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name=f"seed-echo-{self.label}", daemon=True)
                self._thread.start()
            self._cond.notify_all()

    def flush(self) -> None:
        """Nothing to do: the thread flushes the stream after each piece."""

    def wait_for_room(self) -> None:
        """While the queue is full: wait as long as the stream keeps taking bytes, and give it up when it stalls."""
        with self._cond:
            while self._queued > ECHO_BUFFER_BYTES and self.failure is None and not self._closing:
                if time.monotonic() - self._progress >= ECHO_STALL_SECONDS:
                    self._give_up(f"it took no byte for {ECHO_STALL_SECONDS:g} seconds", stalled=True)
                    return
                self._cond.wait(0.25)

    def close(self, idle: float, total: float) -> None:
        """Let the stream take what is queued while it keeps taking bytes (``idle`` seconds without a byte,
        ``total`` seconds in all), then give it up: nothing is written to it once this returns."""
        deadline = time.monotonic() + total
        with self._cond:
            self._closing = True
            self._cond.notify_all()
            while self._queued and self.failure is None:
                now = time.monotonic()
                if now >= deadline or now - self._progress >= idle:
                    self._give_up(f"it took no byte for {idle:g} seconds" if now < deadline else
                                  f"it took {total:g} seconds without catching up", stalled=True)
                    return
                self._cond.wait(min(0.25, deadline - now))

    def _give_up(self, why: str, stalled: bool = False) -> None:
        """Under the lock: nothing more is written (the thread ends after a write it is in)."""
        self.failure, self.stalled = why, stalled
        self._chunks.clear()
        self._queued = 0
        self._cond.notify_all()

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._chunks and self.failure is None and not self._closing:
                    self._cond.wait()
                if self.failure is not None or not self._chunks:
                    return
                piece = self._chunks[0][:ECHO_PIECE_BYTES]
                if len(piece) < len(self._chunks[0]):
                    self._chunks[0] = self._chunks[0][len(piece):]
                else:
                    self._chunks.popleft()
            try:
                write_all(self.stream, piece)
                self.stream.flush()
            except Exception as exc:  # noqa: BLE001 - BrokenPipeError, ValueError (closed), anything: dropped
                with self._cond:
                    if self.failure is None:
                        self._give_up(describe(exc))
                return
            with self._cond:
                if self.failure is not None:
                    return
                self._queued -= len(piece)
                self._progress = time.monotonic()
                self._cond.notify_all()


class LogPump:
    """Copies the attached output to the log sinks in a thread; ``finish`` ends the copy for good.

    The sinks are written and closed under one lock, and never written once closed: a pump thread that
    outlives ``execute`` (an engine that never ends the stream) drops what it reads instead of writing to
    files the caller has closed. The sinks' echo streams are wrapped in ``Echo`` threads, so no echo I/O
    happens under the lock. Problems (a log file that failed, an echo given up) are appended to ``warnings``
    by ``finish``.
    """

    def __init__(self, sinks: tuple[LogSink, LogSink], warnings: list[Problem] | None = None):
        self.sinks = sinks
        self.warnings: list[Problem] = [] if warnings is None else warnings
        self.received = 0
        self._echoes: list[tuple[LogSink, Echo]] = []
        for sink, label in zip(sinks, LABELS):
            if sink.echo is not None:
                sink.echo = Echo(sink.echo, label)
                self._echoes.append((sink, sink.echo))
        self._stream: AttachStream | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._closed = False
        self._finished = False

    def start(self, stream: AttachStream) -> None:
        self._stream = stream
        self._thread = threading.Thread(target=self._run, args=(stream,), name="seed-logs", daemon=True)
        self._thread.start()

    def _run(self, stream: AttachStream) -> None:
        try:
            for kind, payload in stream:
                sink = self.sinks[1 if kind == 2 else 0]
                with self._lock:
                    if self._closed:
                        return
                    self.received += len(payload)
                    sink.write(payload)  # never raises: a failed file is skipped, a failed echo dropped
                echo = sink.echo
                if isinstance(echo, Echo):
                    echo.wait_for_room()  # outside the lock: ``finish`` never waits for an echo's reader
        except (OSError, ValueError):  # the stream closes when the container is removed
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
        """Close the stream, give the thread a moment to end, close the sinks, let the echoes catch up (each
        wait bounded), and report what failed (idempotent)."""
        if self._finished:
            return
        if self._stream is not None:
            self._stream.close()
        if self._thread is not None and self._thread.is_alive():  # not started: an interrupt in start()
            self._thread.join(1.0)
        hung = not self._lock.acquire(timeout=FINISH_LOCK_SECONDS)
        if hung:  # a log write that does not return: the pump drops whatever comes after it
            self._closed = True
        else:
            try:
                if not self._closed:
                    self._closed = True
                    for sink in self.sinks:
                        sink.close()
            finally:
                self._lock.release()
        for _, echo in self._echoes:
            echo.close(ECHO_STALL_SECONDS, ECHO_FINISH_SECONDS)
        self._finished = True
        self._report(hung)

    def _report(self, hung: bool) -> None:
        if hung:
            self.warnings.append(warning(LOG_WRITE_FAILED, None, (
                f"a write to the log files ({', '.join(s.name for s in self.sinks)}) did not return within "
                f"{FINISH_LOCK_SECONDS:g} seconds; they may lack the end of the job's output")))
        for sink, label in zip(self.sinks, LABELS):
            if sink.failure is not None:
                self.warnings.append(warning(LOG_WRITE_FAILED, None, (
                    f"could not write the job's {label} to {sink.name} ({sink.failure}): it holds the first "
                    f"{sink.bytes_written} bytes only; the rest was read and discarded, and the run went on")))
        for sink, echo in self._echoes:
            if echo.stalled:
                self.warnings.append(warning(ECHO_STOPPED, None, (
                    f"the copy of the job's {echo.label} to the terminal or pipe was stopped ({echo.failure}); "
                    f"{sink.name} has all of it")))
