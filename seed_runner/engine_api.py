"""A small client of the Docker Engine API, for the calls `seed run` and `seed validate IMAGE` make.

Why not the docker SDK here: importing it (requests, urllib3) takes about 70 ms, more than the whole
overhead `seed run` may add to a bare `docker run` (BENCHMARKS.md); even http.client costs 10 ms (it
imports ssl and email). These few calls need only sockets: one HTTP/1.1 request per connection over the
engine's Unix socket (or plain TCP), bodies by Content-Length or chunked, and for ``attach`` the hijacked
stream with Docker's 8-byte frame headers. TLS engines are not supported by this client.
"""

from __future__ import annotations

import json
import os
import socket
import struct
from typing import Any, Iterator
from urllib.parse import quote, urlencode, urlsplit

from .errors import EngineUnavailableError, SeedRunnerError

API_VERSION = "v1.41"  # Docker 20.10; newer engines still serve it
DEFAULT_SOCKET = "/var/run/docker.sock"


class EngineError(SeedRunnerError):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


class NotFoundError(EngineError):
    pass


class _Response:
    """Status, headers and a reader positioned at the body of one HTTP/1.1 response."""

    def __init__(self, sock: socket.socket):
        self.sock = sock
        self.reader = sock.makefile("rb")
        line = self.reader.readline(65537)
        parts = line.split(b" ", 2)
        if len(parts) < 2 or not parts[1].isdigit():
            raise OSError(f"not an HTTP response: {line[:60]!r}")
        self.status = int(parts[1])
        self.reason = parts[2].strip().decode(errors="replace") if len(parts) > 2 else ""
        self.headers: dict[str, str] = {}
        while (header := self.reader.readline(65537)) not in (b"\r\n", b"\n", b""):
            name, _, value = header.decode("latin-1").partition(":")
            self.headers[name.strip().lower()] = value.strip()

    def chunks(self) -> Iterator[bytes]:
        """The body, as it arrives."""
        if self.headers.get("transfer-encoding", "").lower() == "chunked":
            while True:
                size = int(self.reader.readline(1024).split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    self.reader.readline(1024)
                    return
                yield self.reader.read(size)
                self.reader.readline(1024)
        elif "content-length" in self.headers:
            yield self.reader.read(int(self.headers["content-length"]))
        elif self.status not in (101, 204, 304):
            yield self.reader.read()

    def lines(self) -> Iterator[bytes]:
        """The body split into lines (for streamed JSON progress)."""
        pending = b""
        for chunk in self.chunks():
            pending += chunk
            *complete, pending = pending.split(b"\n")
            yield from complete
        if pending:
            yield pending

    def close(self) -> None:
        try:
            self.reader.close()
        finally:
            self.sock.close()


class Engine:
    """The engine at DOCKER_HOST (default: the local Unix socket)."""

    def __init__(self, host: str | None = None, timeout: float | None = 60):
        host = host or os.environ.get("DOCKER_HOST") or f"unix://{DEFAULT_SOCKET}"
        if os.environ.get("DOCKER_TLS_VERIFY") or host.startswith("https://"):
            raise EngineUnavailableError(f"the engine at {host} needs TLS, which seed-runner does not speak yet; "
                                         "use a local or plain-TCP engine")
        parts = urlsplit(host)
        if parts.scheme == "unix":
            self._unix: str | None = parts.path
            self._tcp: tuple[str, int] | None = None
        elif parts.scheme in ("tcp", "http"):
            self._unix, self._tcp = None, (parts.hostname or "localhost", parts.port or 2375)
        else:
            raise EngineUnavailableError(f"DOCKER_HOST={host} is not a unix:// or tcp:// address")
        self.host = host
        self.timeout = timeout

    # -- plumbing --------------------------------------------------------------------------------

    def _path(self, path: str, params: dict[str, Any] | None) -> str:
        query = f"?{urlencode(params)}" if params else ""
        return f"/{API_VERSION}{path}{query}"

    def open(self, method: str, path: str, params: dict[str, Any] | None = None, body: Any = None,
             headers: dict[str, str] | None = None, timeout: float | None | str = "default") -> _Response:
        """Send one request on a new connection; the caller reads and closes the response."""
        if self._unix is not None:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            address: Any = self._unix
        else:
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            address = self._tcp
        sock.settimeout(self.timeout if timeout == "default" else timeout)
        data = b"" if body is None else json.dumps(body).encode()
        head = [f"{method} {self._path(path, params)} HTTP/1.1", "Host: docker", f"Content-Length: {len(data)}"]
        if body is not None:
            head.append("Content-Type: application/json")
        head += [f"{k}: {v}" for k, v in (headers or {}).items()]
        try:
            sock.connect(address)
            sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode() + data)
            return _Response(sock)
        except OSError as exc:
            sock.close()
            raise EngineUnavailableError(f"the Docker engine at {self.host} does not answer ({exc}); start it "
                                         "(scripts/ensure-engine.sh) or set DOCKER_HOST") from None

    def request(self, method: str, path: str, params: dict[str, Any] | None = None, body: Any = None,
                timeout: float | None | str = "default") -> Any:
        """One call; returns the decoded JSON body (or None), raises NotFoundError / EngineError."""
        response = self.open(method, path, params, body, {"Connection": "close"}, timeout)
        try:
            raw = b"".join(response.chunks())
        except OSError as exc:
            raise EngineUnavailableError(f"the Docker engine at {self.host} stopped answering ({exc})") from None
        finally:
            response.close()
        if response.status >= 400:
            try:
                message = json.loads(raw).get("message") or raw.decode(errors="replace")
            except ValueError:
                message = raw.decode(errors="replace")
            error = NotFoundError if response.status == 404 else EngineError
            raise error(response.status, message.strip())
        if not raw:
            return None
        if "json" in response.headers.get("content-type", ""):
            return json.loads(raw)
        return raw.decode(errors="replace")

    # -- calls -----------------------------------------------------------------------------------

    def ping(self) -> None:
        self.request("GET", "/_ping")

    def inspect_image(self, reference: str) -> dict[str, Any]:
        return self.request("GET", f"/images/{quote(reference, safe='/:@')}/json")

    def pull(self, reference: str) -> None:
        name, tag = reference, "latest"
        last = reference.rsplit("/", 1)[-1]
        if "@" in reference:
            name, tag = reference.split("@", 1)
        elif ":" in last:
            name, tag = reference.rsplit(":", 1)
        response = self.open("POST", "/images/create", {"fromImage": name, "tag": tag}, timeout=None)
        try:
            for line in response.lines():  # progress messages, one JSON object per line
                if line.strip() and "error" in (message := json.loads(line)):
                    raise EngineError(500, message["error"])
        except OSError as exc:
            raise EngineUnavailableError(f"the Docker engine at {self.host} stopped answering ({exc})") from None
        finally:
            response.close()
        if response.status >= 400:
            raise EngineError(response.status, f"pull of {reference} failed: {response.reason}")

    def list_containers(self, label: str) -> list[dict[str, Any]]:
        return self.request("GET", "/containers/json", {"all": "1", "filters": json.dumps({"label": [label]})})

    def create_container(self, config: dict[str, Any], name: str | None = None) -> str:
        return self.request("POST", "/containers/create", {"name": name} if name else None, body=config)["Id"]

    def start(self, container: str) -> None:
        self.request("POST", f"/containers/{container}/start")

    def wait(self, container: str) -> int:
        """Block until the container exits (no read timeout: a job may run for hours)."""
        return int(self.request("POST", f"/containers/{container}/wait", timeout=None)["StatusCode"])

    def kill(self, container: str, signal: str) -> None:
        self.request("POST", f"/containers/{container}/kill", {"signal": signal})

    def inspect_container(self, container: str) -> dict[str, Any]:
        return self.request("GET", f"/containers/{container}/json")

    def remove(self, container: str) -> None:
        self.request("DELETE", f"/containers/{container}", {"force": "1", "v": "1"})

    def attach(self, container: str) -> "AttachStream":
        """The container's stdout and stderr from the start (call before ``start``)."""
        response = self.open("POST", f"/containers/{container}/attach",
                             {"stream": 1, "stdout": 1, "stderr": 1, "logs": 1},
                             headers={"Connection": "Upgrade", "Upgrade": "tcp"}, timeout=None)
        if response.status not in (101, 200):
            response.close()
            error = NotFoundError if response.status == 404 else EngineError
            raise error(response.status, f"attach refused: {response.status} {response.reason}")
        return AttachStream(response.sock, response.reader)


class AttachStream:
    """Frames of a non-TTY container: (1 for stdout | 2 for stderr, bytes)."""

    def __init__(self, sock: socket.socket, reader: Any):
        self._sock = sock
        self._reader = reader

    def __iter__(self) -> Iterator[tuple[int, bytes]]:
        read = self._reader.read
        while True:
            header = read(8)
            if len(header) < 8:
                return
            stream, size = header[0], struct.unpack(">I", header[4:])[0]
            payload = read(size)
            if len(payload) < size:
                return
            yield stream, payload

    def close(self) -> None:
        try:
            self._reader.close()
        finally:
            self._sock.close()
