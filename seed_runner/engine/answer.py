"""One HTTP/1.1 answer of the engine, read within bounds: a deadline for the whole call and a size for the body.

A timeout on the socket bounds each read only: an engine that sends a byte now and then (a trickle) would keep
a call alive for good, and an endless body would be held in memory. Here every read of the socket is bounded by
what is left of the call's ``deadline`` (``time.monotonic()`` seconds; None: only the socket's own timeout),
and the body is delivered in pieces, never one allocation of the size the engine announces. A caller that
joins the pieces bounds their total (``Engine.request``: ``MAX_ANSWER_BYTES``).
"""

from __future__ import annotations

import io
import socket
import time
from typing import Iterator

MAX_ANSWER_BYTES = 64 << 20
"""The largest body a call reads whole (an inspection, a list, events); a stream is read piece by piece."""
MAX_LINE_BYTES = 1 << 20
"""The longest line of a streamed JSON body (pull progress, events)."""
PIECE = 1 << 16


class AnswerTooLarge(ValueError):
    """A body or a line over its bound."""


class _SocketReader(io.RawIOBase):
    """The socket's bytes; each read waits at most the socket's timeout and what is left until ``deadline``.

    Closing it leaves the socket open (its owner closes it).
    """

    def __init__(self, sock: socket.socket):
        self.sock = sock
        self.deadline: float | None = None

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        if self.deadline is None:
            return self.sock.recv_into(buffer)
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("the answer took longer than the call may last")
        own = self.sock.gettimeout()
        self.sock.settimeout(left if own is None else min(own, left))
        try:
            return self.sock.recv_into(buffer)
        finally:
            self.sock.settimeout(own)


class Answer:
    """Status, headers and a reader positioned at the body of one HTTP/1.1 response.

    ``deadline`` bounds reading the status line and headers (here) and every later read of the body until it
    is changed (None: each read waits at most the socket's timeout). OSError (TimeoutError among them) when
    the engine stops answering or is not HTTP; ValueError (AnswerTooLarge among them) for a body that does
    not parse or is too large.
    """

    def __init__(self, sock: socket.socket, deadline: float | None = None):
        self.sock = sock
        self._raw = _SocketReader(sock)
        self._raw.deadline = deadline
        self.reader = io.BufferedReader(self._raw, PIECE)
        line = self.reader.readline(65537)
        parts = line.split(b" ", 2)
        if len(parts) < 2 or not parts[1].isdigit():
            raise OSError(f"not an HTTP response: {line[:60]!r}")
        self.status = int(parts[1])
        self.reason = parts[2].strip().decode(errors="replace") if len(parts) > 2 else ""
        self.headers: dict[str, str] = {}
        for _ in range(1000):
            header = self.reader.readline(65537)
            if header in (b"\r\n", b"\n", b""):
                break
            name, _, value = header.decode("latin-1").partition(":")
            self.headers[name.strip().lower()] = value.strip()
        else:
            raise OSError("not an HTTP response: more than 1000 header lines")

    @property
    def deadline(self) -> float | None:
        return self._raw.deadline

    @deadline.setter
    def deadline(self, value: float | None) -> None:
        self._raw.deadline = value

    def chunks(self) -> Iterator[bytes]:
        """The body as it arrives, in pieces of at most 64 KiB."""
        if self.headers.get("transfer-encoding", "").lower() == "chunked":
            while True:
                size = int(self.reader.readline(1024).split(b";")[0].strip() or b"0", 16)
                if size < 0:
                    raise ValueError(f"a chunk of {size} bytes")
                if size == 0:
                    self.reader.readline(1024)
                    return
                yield from self._pieces(size)
                self.reader.readline(1024)
        elif "content-length" in self.headers:
            length = int(self.headers["content-length"])
            if length < 0:
                raise ValueError(f"Content-Length {length}")
            yield from self._pieces(length)
        elif self.status not in (101, 204, 304):
            while piece := self.reader.read1(PIECE):
                yield piece

    def _pieces(self, size: int) -> Iterator[bytes]:
        while size > 0:
            piece = self.reader.read(min(size, PIECE))
            if not piece:  # closed early: what came is judged by the caller (truncated JSON does not parse)
                return
            size -= len(piece)
            yield piece

    def body(self, limit: int | None = None) -> bytes:
        """The whole body; AnswerTooLarge past ``limit`` bytes (default ``MAX_ANSWER_BYTES``)."""
        limit = MAX_ANSWER_BYTES if limit is None else limit
        pieces, total = [], 0
        for piece in self.chunks():
            total += len(piece)
            if total > limit:
                raise AnswerTooLarge(f"a body of more than {limit} bytes")
            pieces.append(piece)
        return b"".join(pieces)

    def lines(self) -> Iterator[bytes]:
        """The body split into lines (streamed JSON); AnswerTooLarge for a line past ``MAX_LINE_BYTES``."""
        pending = b""
        for chunk in self.chunks():
            pending += chunk
            *complete, pending = pending.split(b"\n")
            yield from complete
            if len(pending) > MAX_LINE_BYTES:
                raise AnswerTooLarge(f"a line of more than {MAX_LINE_BYTES} bytes")
        if pending:
            yield pending

    def close(self) -> None:
        try:
            self.reader.close()
        finally:
            self.sock.close()
