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

from ..errors import EngineUnavailableError, SeedRunnerError

API_VERSION = "v1.41"  # Docker 20.10; newer engines still serve it
DEFAULT_SOCKET = "/var/run/docker.sock"
CALL_TIMEOUT = 60.0
"""Seconds any call but ``wait`` and ``attach`` may wait for the engine (to connect, or for each read)."""


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

    def __init__(self, host: str | None = None, timeout: float | None = None, *,
                 call_timeout: float | None = None):
        """``timeout`` bounds the calls that last as long as a job (``wait``, and reading ``attach``); None,
        the default, for no bound. ``call_timeout`` bounds every other call (None: ``CALL_TIMEOUT``): it is
        never unbounded, so an engine that accepts connections but never answers cannot hang the runner."""
        host = host or os.environ.get("DOCKER_HOST") or f"unix://{DEFAULT_SOCKET}"
        if os.environ.get("DOCKER_TLS_VERIFY") or host.startswith("https://"):
            raise EngineUnavailableError(f"the engine at {host} needs TLS, which seed-runner does not speak yet; "
                                         "use a local or plain-TCP engine")
        try:
            parts = urlsplit(host)
            port = parts.port  # raises ValueError for a port that is not a number from 0 to 65535
        except ValueError as exc:
            raise EngineUnavailableError(f"DOCKER_HOST={host} is not a valid engine address ({exc}); use "
                                         "unix:///path/to/docker.sock or tcp://HOST:PORT") from None
        if parts.scheme == "unix":
            self._unix: str | None = parts.path
            self._tcp: tuple[str, int] | None = None
        elif parts.scheme in ("tcp", "http"):
            self._unix, self._tcp = None, (parts.hostname or "localhost", port or 2375)
        else:
            raise EngineUnavailableError(f"DOCKER_HOST={host} is not a unix:// or tcp:// address")
        self.host = host
        self.timeout = timeout
        self.call_timeout = CALL_TIMEOUT if call_timeout is None else call_timeout

    # -- plumbing --------------------------------------------------------------------------------

    def _path(self, path: str, params: dict[str, Any] | None) -> str:
        query = f"?{urlencode(params)}" if params else ""
        return f"/{API_VERSION}{path}{query}"

    def open(self, method: str, path: str, params: dict[str, Any] | None = None, body: Any = None,
             headers: dict[str, str] | None = None, *, streaming: bool = False,
             prompt_head: bool = False) -> _Response:
        """Send one request on a new connection; the caller reads and closes the response.

        ``streaming`` (wait, attach): the read timeout is ``timeout``, else ``call_timeout``. Connecting is
        always bounded by ``call_timeout``, and so is reading the status line and headers with ``prompt_head``
        (attach: the engine answers at once, only the stream lasts as long as the job).
        """
        data = b"" if body is None else json.dumps(body).encode()
        head = [f"{method} {self._path(path, params)} HTTP/1.1", "Host: docker", f"Content-Length: {len(data)}"]
        if body is not None:
            head.append("Content-Type: application/json")
        head += [f"{k}: {v}" for k, v in (headers or {}).items()]
        sock: socket.socket | None = None
        try:
            if self._unix is not None:
                sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                sock.settimeout(self.call_timeout)
                sock.connect(self._unix)
            else:
                assert self._tcp is not None
                sock = socket.create_connection(self._tcp, timeout=self.call_timeout)  # IPv4 or IPv6
            sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode() + data)
            sock.settimeout(self.timeout if streaming and not prompt_head else self.call_timeout)
            response = _Response(sock)
            sock.settimeout(self.timeout if streaming else self.call_timeout)
            return response
        except (OSError, UnicodeError) as exc:  # UnicodeError: a host name IDNA cannot encode
            if sock is not None:
                sock.close()
            raise EngineUnavailableError(f"the Docker engine at {self.host} does not answer ({exc}); start it "
                                         "(scripts/ensure-engine.sh) or set DOCKER_HOST") from None

    def request(self, method: str, path: str, params: dict[str, Any] | None = None, body: Any = None, *,
                streaming: bool = False) -> Any:
        """One call; returns the decoded JSON body (or None), raises NotFoundError / EngineError.

        An engine that stops answering, or answers with something that is not HTTP or not JSON, raises
        EngineUnavailableError.
        """
        response = self.open(method, path, params, body, {"Connection": "close"}, streaming=streaming)
        try:
            raw = b"".join(response.chunks())
        except OSError as exc:
            raise EngineUnavailableError(f"the Docker engine at {self.host} stopped answering ({exc})") from None
        except ValueError as exc:  # a chunk size or Content-Length that is not a number
            raise EngineUnavailableError(f"the Docker engine at {self.host} answered with something that is not "
                                         f"HTTP: {exc}") from None
        finally:
            response.close()
        if response.status >= 400:
            try:
                message = json.loads(raw).get("message") or raw.decode(errors="replace")
            except (ValueError, AttributeError):  # not JSON, or JSON but not an object
                message = raw.decode(errors="replace")
            error = NotFoundError if response.status == 404 else EngineError
            raise error(response.status, str(message).strip())
        if not raw:
            return None
        if "json" in response.headers.get("content-type", ""):
            return self._json(raw)
        return raw.decode(errors="replace")

    def _json(self, raw: bytes) -> Any:
        try:
            return json.loads(raw)
        except ValueError:  # also UnicodeDecodeError
            raise EngineUnavailableError(f"the Docker engine at {self.host} answered with something that is not "
                                         f"JSON: {_excerpt(raw)}") from None

    def _field(self, answer: Any, name: str, call: str) -> Any:
        """``answer[name]``, or EngineUnavailableError when the answer is not an object with that field."""
        if not isinstance(answer, dict) or name not in answer:
            raise EngineUnavailableError(f"the Docker engine at {self.host} answered {call} without {name!r}: "
                                         f"{_excerpt(answer)}")
        return answer[name]

    def _object(self, answer: Any, call: str) -> dict[str, Any]:
        if not isinstance(answer, dict):
            raise EngineUnavailableError(f"the Docker engine at {self.host} answered {call} with something that "
                                         f"is not a JSON object: {_excerpt(answer)}")
        return answer

    # -- calls -----------------------------------------------------------------------------------

    def ping(self) -> None:
        self.request("GET", "/_ping")

    def inspect_image(self, reference: str) -> dict[str, Any]:
        answer = self.request("GET", f"/images/{quote(reference, safe='/:@')}/json")
        return self._object(answer, "an image inspection")

    def pull(self, reference: str) -> None:
        name, tag = reference, "latest"
        last = reference.rsplit("/", 1)[-1]
        if "@" in reference:
            name, tag = reference.split("@", 1)
        elif ":" in last:
            name, tag = reference.rsplit(":", 1)
        # call_timeout bounds each read, not the whole pull: the engine reports progress as layers arrive.
        response = self.open("POST", "/images/create", {"fromImage": name, "tag": tag})
        try:
            for line in response.lines():  # progress messages, one JSON object per line
                if not line.strip():
                    continue
                message = self._json(line)
                if isinstance(message, dict) and "error" in message:
                    raise EngineError(500, str(message["error"]))
        except OSError as exc:
            raise EngineUnavailableError(f"the Docker engine at {self.host} stopped answering ({exc})") from None
        except ValueError as exc:  # a chunk size that is not a number
            raise EngineUnavailableError(f"the Docker engine at {self.host} answered with something that is not "
                                         f"HTTP: {exc}") from None
        finally:
            response.close()
        if response.status >= 400:
            raise EngineError(response.status, f"pull of {reference} failed: {response.reason}")

    def list_containers(self, label: str) -> list[dict[str, Any]]:
        answer = self.request("GET", "/containers/json", {"all": "1", "filters": json.dumps({"label": [label]})})
        if not isinstance(answer, list) or not all(isinstance(c, dict) and "Id" in c for c in answer):
            raise EngineUnavailableError(f"the Docker engine at {self.host} answered the list of containers with "
                                         f"something that is not one: {_excerpt(answer)}")
        return answer

    def create_container(self, config: dict[str, Any], name: str | None = None) -> str:
        answer = self.request("POST", "/containers/create", {"name": name} if name else None, body=config)
        return str(self._field(answer, "Id", "the creation of a container"))

    def start(self, container: str) -> None:
        self.request("POST", f"/containers/{container}/start")

    def wait(self, container: str) -> int:
        """Block until the container exits (read timeout ``timeout``, by default none: a job may run for hours)."""
        answer = self.request("POST", f"/containers/{container}/wait", streaming=True)
        code = self._field(answer, "StatusCode", "the wait for a container")
        try:
            return int(code)
        except (TypeError, ValueError):
            raise EngineUnavailableError(f"the Docker engine at {self.host} answered the wait for a container "
                                         f"with a StatusCode that is not a number: {_excerpt(code)}") from None

    def kill(self, container: str, signal: str) -> None:
        self.request("POST", f"/containers/{container}/kill", {"signal": signal})

    def inspect_container(self, container: str) -> dict[str, Any]:
        return self._object(self.request("GET", f"/containers/{container}/json"), "a container inspection")

    def remove(self, container: str) -> None:
        self.request("DELETE", f"/containers/{container}", {"force": "1", "v": "1"})

    def attach(self, container: str) -> "AttachStream":
        """The container's stdout and stderr from the start (call before ``start``)."""
        response = self.open("POST", f"/containers/{container}/attach",
                             {"stream": 1, "stdout": 1, "stderr": 1, "logs": 1},
                             headers={"Connection": "Upgrade", "Upgrade": "tcp"}, streaming=True,
                             prompt_head=True)
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
        """End the stream, also for a thread blocked reading it (the reader's close waits for that read)."""
        try:
            self._sock.shutdown(socket.SHUT_RDWR)
        except OSError:  # already closed by the engine
            pass
        try:
            self._reader.close()
        finally:
            self._sock.close()


def _excerpt(value: Any, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[:limit - 3] + "..."
