"""One deadline over a whole HTTP download: the connection, the TLS handshake, the status line and headers, every
redirect and the body (``SEED_DOWNLOAD_TIMEOUT``).

A socket timeout bounds one wait for bytes, not a transfer: a server that sends a byte a second (headers or body)
never trips it. So every socket a download opens is watched: when the deadline passes, a timer shuts the socket
down, which wakes whatever read is waiting on it (urllib's header parser included), and ``expired`` tells the
reader that the end it saw was the deadline's. Name resolution happens before a socket exists and is not covered
(the system's resolver has its own timeouts).
"""

from __future__ import annotations

import http.client
import socket
import threading
import time
import urllib.request
from typing import Any


class Deadline:
    """A point in time after which every watched socket is shut down (``cancel`` when the download ended)."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.end = time.monotonic() + seconds
        self.expired = False
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._timer = threading.Timer(max(seconds, 0.0), self._expire)
        self._timer.daemon = True
        self._timer.start()

    def remaining(self) -> float:
        return max(self.end - time.monotonic(), 0.001)

    def watch(self, sock: socket.socket) -> socket.socket:
        with self._lock:
            self._sockets.append(sock)
            if self.expired:
                _shut(sock)
        return sock

    def _expire(self) -> None:
        with self._lock:
            self.expired = True
            for sock in self._sockets:
                _shut(sock)

    def cancel(self) -> None:
        self._timer.cancel()


def _shut(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:  # already closed
        pass


def handlers(deadline: Deadline, connect: Any = None) -> list[urllib.request.BaseHandler]:
    """urllib handlers whose connections are watched by ``deadline`` (and wait no longer than it for a
    connection). ``connect`` (``socket.create_connection``'s signature) makes the connection: `seed serve`'s
    guard, which connects only to the addresses its policy allows."""
    connect = connect or socket.create_connection

    def watched(base: type) -> type:
        class Watched(base):  # type: ignore[misc, valid-type]
            def __init__(self, *args: Any, **kwargs: Any) -> None:
                super().__init__(*args, **kwargs)
                self._create_connection = self._watched_connection

            def _watched_connection(self, address: Any, timeout: Any = None, source: Any = None) -> socket.socket:
                return deadline.watch(connect(address, min(deadline.remaining(), 60.0), source))

        return Watched

    http_connection, https_connection = watched(http.client.HTTPConnection), None
    if hasattr(http.client, "HTTPSConnection"):
        https_connection = watched(http.client.HTTPSConnection)

    class Http(urllib.request.HTTPHandler):
        def http_open(self, req: Any) -> Any:
            return self.do_open(http_connection, req)

    found: list[urllib.request.BaseHandler] = [Http()]
    if https_connection is not None:
        class Https(urllib.request.HTTPSHandler):
            def https_open(self, req: Any) -> Any:
                extra = {"context": self._context}
                if getattr(self, "_check_hostname", None) is not None:  # Python 3.11's handler has it
                    extra["check_hostname"] = self._check_hostname
                return self.do_open(https_connection, req, **extra)

        found.append(Https())
    return found
