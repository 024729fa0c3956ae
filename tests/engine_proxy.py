"""A Unix socket in front of the real engine that passes every connection through, and can delay a request,
lose the engine's answer to it, or hold it forever: real containers, with the faults of a flaky engine.

``EngineProxy([("POST", "/containers/create", "delay", 1.5)])``: requests are matched by method and a fragment
of the path (first rule wins); the actions are

- ``delay``: wait the given seconds, then pass the request through;
- ``lose``: pass the request through, let the engine answer it whole, and close the client's connection
  without a byte of that answer;
- ``hold``: never pass the request on; the client waits until the proxy is closed.
"""

from __future__ import annotations

import socket
import threading
import time

from .test_engine_robustness import FakeEngine

ENGINE_SOCKET = "/var/run/docker.sock"


class EngineProxy(FakeEngine):
    """The fake engine's socket and life (``host``, ``close``), passing requests to ``target``."""

    def __init__(self, rules: list[tuple[str, str, str, float]] | None = None, target: str = ENGINE_SOCKET):
        self.rules = rules or []
        self.target = target
        self.seen: list[tuple[str, str]] = []
        super().__init__([])

    def saw(self, method: str, fragment: str) -> bool:
        return any(m == method and fragment in p for m, p in list(self.seen))

    def _handle(self, client: socket.socket) -> None:
        try:
            data = b""
            while b"\r\n\r\n" not in data:
                chunk = client.recv(65536)
                if not chunk:
                    return
                data += chunk
            method, path = data.split(b"\r\n", 1)[0].decode("latin-1").split(" ")[:2]
            self.seen.append((method, path))
            action, seconds = next(((a, s) for m, f, a, s in self.rules if m == method and f in path), ("pass", 0.0))
            if action == "hold":
                return
            if action == "delay":
                time.sleep(seconds)
            upstream = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            upstream.connect(self.target)
            self.connections.append(upstream)
            upstream.sendall(data)
            if action == "lose":
                threading.Thread(target=_pipe, args=(client, upstream), daemon=True).start()  # the body
                while upstream.recv(65536):
                    pass
                client.shutdown(socket.SHUT_RDWR)  # also wakes the thread reading it
                client.close()
                return
            threading.Thread(target=_pipe, args=(client, upstream), daemon=True).start()
            _pipe(upstream, client)
        except OSError:
            pass


def _pipe(source: socket.socket, sink: socket.socket) -> None:
    try:
        while chunk := source.recv(65536):
            sink.sendall(chunk)
        sink.shutdown(socket.SHUT_WR)
    except OSError:
        pass
