"""A small client of the Docker Engine API, for the calls `seed run` and `seed validate IMAGE` make.

Why not the docker SDK here: importing it (requests, urllib3) takes about 70 ms, more than the whole
overhead `seed run` may add to a bare `docker run` (BENCHMARKS.md); even http.client costs 10 ms (it
imports ssl and email). These few calls need only sockets: one HTTP/1.1 request per connection over the
engine's socket, bodies by Content-Length or chunked, and for ``attach`` the hijacked stream with Docker's
8-byte frame headers. The socket comes from ``transport``: Unix, TCP, TLS (the ssl module is imported for a TLS
engine only) or ssh, for the ``Endpoint`` the docker CLI would use (``endpoint``).
"""

from __future__ import annotations

import json
import socket
import struct
import time
from typing import Any, Iterator
from urllib.parse import quote, urlencode

from ..errors import EngineUnavailableError, SeedRunnerError
from .answer import MAX_ANSWER_BYTES, Answer as _Response, AnswerTooLarge
from .endpoint import Endpoint, endpoint_from_host, resolve_endpoint
from .transport import failure_detail, open_socket

API_VERSION = "v1.41"  # Docker 20.10; newer engines still serve it
CALL_TIMEOUT = 60.0
"""Seconds any call but ``wait`` and ``attach`` may last in all (connecting, sending, the whole answer); ``pull``
and ``attach`` get them for their first answer, ``pull`` again for each progress line."""


class EngineError(SeedRunnerError):
    """The engine answered a call with an error status (``status``); ``call`` names it (``GET /_ping``)."""

    def __init__(self, status: int, message: str, call: str = ""):
        super().__init__(message)
        self.status = status
        self.call = call


class NotFoundError(EngineError):
    pass


class UnexpectedAnswerError(EngineError):
    """An answer the Engine API never gives to the call (a redirect, say): the engine is up, the call is wrong."""


class Engine:
    """The engine the environment names (DOCKER_HOST, a docker context; default: the local Unix socket)."""

    def __init__(self, host: str | None = None, timeout: float | None = None, *,
                 call_timeout: float | None = None, endpoint: Endpoint | None = None):
        """``timeout`` bounds the calls that last as long as a job (``wait``, and reading ``attach``); None,
        the default, for no bound. ``call_timeout`` bounds every other call (None: ``CALL_TIMEOUT``): it is
        never unbounded, so an engine that accepts connections but never answers cannot hang the runner.

        The engine is ``endpoint``, else the address ``host``, else the one the environment names as the
        docker CLI reads it (``endpoint.resolve_endpoint``: DOCKER_HOST with its TLS variables, docker
        contexts, the local socket); an address that cannot be parsed raises EngineUnavailableError."""
        if endpoint is None:
            endpoint = endpoint_from_host(host) if host else resolve_endpoint()
        self.endpoint = endpoint
        self.host = endpoint.address
        self.timeout = timeout
        self.call_timeout = CALL_TIMEOUT if call_timeout is None else call_timeout

    # -- plumbing --------------------------------------------------------------------------------

    def _path(self, path: str, params: dict[str, Any] | None) -> str:
        query = f"?{urlencode(params)}" if params else ""
        return f"/{API_VERSION}{path}{query}"

    def open(self, method: str, path: str, params: dict[str, Any] | None = None, body: Any = None,
             headers: dict[str, str] | None = None, *, streaming: bool = False,
             prompt_head: bool = False, limit: float | None = None) -> _Response:
        """Send one request on a new connection; the caller reads and closes the response.

        ``streaming`` (wait, attach): the read timeout is ``timeout``, else ``call_timeout``. Connecting is
        always bounded by ``call_timeout``, and so is reading the status line and headers with ``prompt_head``
        (attach: the engine answers at once, only the stream lasts as long as the job). Within those bounds,
        the status line and headers must arrive within ``limit`` seconds of the call (None: ``call_timeout``)
        however slowly bytes come; a call that is not ``streaming`` keeps that deadline for its body
        (``response.deadline``), a streaming one has none for its body.
        """
        deadline = time.monotonic() + (self.call_timeout if limit is None else limit)
        data = b"" if body is None else json.dumps(body).encode()
        head = [f"{method} {self._path(path, params)} HTTP/1.1", "Host: docker", f"Content-Length: {len(data)}"]
        if body is not None:
            head.append("Content-Type: application/json")
        head += [f"{k}: {v}" for k, v in (headers or {}).items()]
        sock: socket.socket | None = None
        try:
            sock = open_socket(self.endpoint, self.call_timeout)  # TLS, ssh: raise EngineUnavailableError
            sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode() + data)
            sock.settimeout(self.timeout if streaming and not prompt_head else self.call_timeout)
            response = _Response(sock, None if streaming and not prompt_head else deadline)
            sock.settimeout(self.timeout if streaming else self.call_timeout)
            if streaming:
                response.deadline = None
            return response
        except (OSError, UnicodeError) as exc:  # UnicodeError: a host name IDNA cannot encode
            reason = failure_detail(sock) or str(exc)  # ssh: its own words
            if sock is not None:
                sock.close()
            # Not even connected: say where the address came from; connected: the engine there did not answer.
            source = f" ({self.endpoint.source})" if self.endpoint.source else ""
            where = f"does not answer at {self.endpoint.described}" if sock is None else \
                f"at {self.host}{source} does not answer"
            raise EngineUnavailableError(f"the Docker engine {where} ({reason}); {self.endpoint.advice}") from None

    def request(self, method: str, path: str, params: dict[str, Any] | None = None, body: Any = None, *,
                streaming: bool = False, limit: float | None = None) -> Any:
        """One call; returns the decoded JSON body (or None), raises NotFoundError / EngineError.

        An engine that stops answering, answers with something that is not HTTP or not JSON, or takes longer
        than ``limit`` seconds (None: ``call_timeout``; ``streaming``: the body as long as ``timeout``)
        raises EngineUnavailableError; an answer the API never gives to the call, UnexpectedAnswerError.
        """
        response, raw = self._exchange(method, path, params, body, streaming=streaming, limit=limit)
        if not raw:
            return None
        if "json" in response.headers.get("content-type", ""):
            return self._json(raw)
        return raw.decode(errors="replace")

    def _exchange(self, method: str, path: str, params: dict[str, Any] | None = None, body: Any = None, *,
                  streaming: bool = False, limit: float | None = None) -> tuple[_Response, bytes]:
        """One call's response and whole body (at most MAX_ANSWER_BYTES), after checking its status."""
        response = self.open(method, path, params, body, {"Connection": "close"}, streaming=streaming, limit=limit)
        try:
            raw = response.body()
        except AnswerTooLarge as exc:
            raise EngineUnavailableError(f"the Docker engine at {self.host} answered {method} {path} with {exc} "
                                         f"(at most {MAX_ANSWER_BYTES >> 20} MiB are read)") from None
        except TimeoutError:
            seconds = self.call_timeout if limit is None else limit
            raise EngineUnavailableError(f"the Docker engine at {self.host} did not finish answering {method} "
                                         f"{path} within {seconds:g} s") from None
        except OSError as exc:
            raise EngineUnavailableError(f"the Docker engine at {self.host} stopped answering ({exc})") from None
        except ValueError as exc:  # a chunk size or Content-Length that is not a number
            raise EngineUnavailableError(f"the Docker engine at {self.host} answered with something that is not "
                                         f"HTTP: {exc}") from None
        finally:
            response.close()
        self._check_status(response, method, path, raw)
        return response, raw

    def _check_status(self, response: _Response, method: str, path: str, raw: bytes = b"") -> None:
        """EngineError for an error status, UnexpectedAnswerError for one the API never gives (1xx, 3xx but
        304 Not Modified, which ``start`` answers for a container already started)."""
        call = f"{method} {path}"
        if response.status >= 400:
            try:
                message = json.loads(raw).get("message") or raw.decode(errors="replace")
            except (ValueError, AttributeError):  # not JSON, or JSON but not an object
                message = raw.decode(errors="replace")
            error = NotFoundError if response.status == 404 else EngineError
            raise error(response.status, str(message).strip(), call)
        if response.status < 200 or (300 <= response.status < 400 and response.status != 304):
            location = response.headers.get("location")
            where = f" to {location}" if location else ""
            raise UnexpectedAnswerError(response.status, f"the Docker engine at {self.host} answered {call} with "
                                        f"{response.status} {response.reason}{where}, an answer the Engine API "
                                        "never gives to it", call)

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

    def info(self) -> dict[str, Any]:
        """The engine's host: ``NCPU``, ``MemTotal`` (bytes) and the rest of ``GET /info``."""
        return self._object(self.request("GET", "/info"), "the engine's information")

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
        # Not the whole pull but each progress line must come within call_timeout: the engine reports
        # progress as layers arrive; an engine that trickles bytes without completing lines is given up.
        response = self.open("POST", "/images/create", {"fromImage": name, "tag": tag})
        try:
            response.deadline = time.monotonic() + self.call_timeout
            for line in response.lines():  # progress messages, one JSON object per line
                response.deadline = time.monotonic() + self.call_timeout
                if not line.strip():
                    continue
                message = self._json(line)
                if isinstance(message, dict) and "error" in message:
                    raise EngineError(500, str(message["error"]))
        except AnswerTooLarge as exc:
            raise EngineUnavailableError(f"the Docker engine at {self.host} answered a pull with {exc}") from None
        except OSError as exc:
            raise EngineUnavailableError(f"the Docker engine at {self.host} stopped answering ({exc})") from None
        except ValueError as exc:  # a chunk size that is not a number
            raise EngineUnavailableError(f"the Docker engine at {self.host} answered with something that is not "
                                         f"HTTP: {exc}") from None
        finally:
            response.close()
        if response.status >= 400:
            raise EngineError(response.status, f"pull of {reference} failed: {response.reason}")
        self._check_status(response, "POST", "/images/create")

    def list_images(self) -> list[dict[str, Any]]:
        """The engine's image summaries (tags, labels, size), as `docker image ls` shows them."""
        answer = self.request("GET", "/images/json")
        if not isinstance(answer, list) or not all(isinstance(i, dict) for i in answer):
            raise EngineUnavailableError(f"the Docker engine at {self.host} answered the list of images with "
                                         f"something that is not one: {_excerpt(answer)}")
        return answer

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

    def inspect_container(self, container: str, *, limit: float | None = None) -> dict[str, Any]:
        answer = self.request("GET", f"/containers/{quote(container)}/json", limit=limit)
        return self._object(answer, "a container inspection")

    def remove(self, container: str, *, limit: float | None = None) -> None:
        """Remove a container (by id or name), killing it first if it runs; NotFoundError when there is none."""
        self.request("DELETE", f"/containers/{quote(container)}", {"force": "1", "v": "1"}, limit=limit)

    def events(self, container: str, since: str, until: str, *, last: str | None = None,
               limit: float | None = None) -> list[dict[str, Any]]:
        """What the engine recorded about one container from ``since`` to ``until`` (Unix seconds as text, the
        engine's clock), up to the first event whose action is ``last`` if one comes sooner (the engine holds
        the stream open until ``until``): ``[{"Action": "kill", "Actor": {"Attributes": {"signal": "9"}}}]``."""
        filters = json.dumps({"container": [container], "type": ["container"]})
        response = self.open("GET", "/events", {"since": since, "until": until, "filters": filters},
                             {"Connection": "close"}, limit=limit)
        events: list[dict[str, Any]] = []
        try:
            if response.status != 200:
                self._check_status(response, "GET", "/events", response.body())
            for line in response.lines():
                event = self._json(line) if line.strip() else {}
                if not isinstance(event, dict):
                    raise EngineUnavailableError(f"the Docker engine at {self.host} answered the events of a "
                                                 f"container with something that is not an event: {_excerpt(line)}")
                if event:
                    events.append(event)
                if last is not None and event.get("Action") == last:
                    break
        except (OSError, ValueError) as exc:  # too slow, too long, not HTTP
            raise EngineUnavailableError(f"the Docker engine at {self.host} did not list the events of a "
                                         f"container ({exc})") from None
        finally:
            response.close()
        return events

    def attach(self, container: str) -> "AttachStream":
        """The container's stdout and stderr from the start (call before ``start``)."""
        response = self.open("POST", f"/containers/{container}/attach",
                             {"stream": 1, "stdout": 1, "stderr": 1},
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
            while size > 0:  # in pieces: a frame may announce up to 4 GiB
                payload = read(min(size, 1 << 16))
                if not payload:
                    return
                size -= len(payload)
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
