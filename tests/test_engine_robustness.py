"""The engine client and `seed run`'s container lifecycle against engines that answer badly, or never.

Most tests talk to a fake engine: a Unix socket server in a thread whose answers each test chooses (DOCKER_HOST
points at it). The tests of what a job sees run on the real engine.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import shutil
import socket
import struct
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

from seed_runner import load_manifest
from seed_runner.engine import client as engine_api, containers as docker_engine
from seed_runner.engine.client import Engine
from seed_runner.errors import EngineUnavailableError
from seed_runner.runtime.plan import RunPlan, RunRequest, make_plan
from seed_runner import validate_all

from .conftest import CLEAN_MANIFEST, _build

# -- a fake engine ----------------------------------------------------------------------------------------


@dataclasses.dataclass
class Request:
    method: str
    path: str
    body: bytes


Handler = Callable[[socket.socket, Request], None]


def reply(conn: socket.socket, status: int, body: Any = None, *, content_type: str = "application/json") -> None:
    data = b"" if body is None else body if isinstance(body, bytes) else json.dumps(body).encode()
    head = f"HTTP/1.1 {status} X\r\nContent-Type: {content_type}\r\nContent-Length: {len(data)}\r\n\r\n"
    conn.sendall(head.encode() + data)


def answer(status: int, body: Any = None, **kwargs: Any) -> Handler:
    return lambda conn, request: reply(conn, status, body, **kwargs)


def raw(data: bytes) -> Handler:
    return lambda conn, request: conn.sendall(data)


def never(conn: socket.socket, request: Request) -> None:
    """Keep the connection open and say nothing (the server closes it at the end of the test)."""


def upgrade(conn: socket.socket) -> None:
    conn.sendall(b"HTTP/1.1 101 UPGRADED\r\nContent-Type: application/vnd.docker.raw-stream\r\n"
                 b"Connection: Upgrade\r\nUpgrade: tcp\r\n\r\n")


def frame(stream: int, payload: bytes) -> bytes:
    return bytes([stream, 0, 0, 0]) + struct.pack(">I", len(payload)) + payload


class FakeEngine:
    """Answers each request with the first route whose method and path fragment match (else 404)."""

    def __init__(self, routes: list[tuple[str, str, Handler]]):
        self.routes = routes
        self.requests: list[Request] = []
        self.directory = tempfile.mkdtemp(prefix="seed-fake-", dir="/tmp")  # Unix socket paths are short
        self.path = os.path.join(self.directory, "engine.sock")
        self.server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.server.bind(self.path)
        self.server.listen(50)
        self.connections: list[socket.socket] = []
        threading.Thread(target=self._serve, daemon=True).start()

    @property
    def host(self) -> str:
        return f"unix://{self.path}"

    def calls(self, method: str, fragment: str) -> list[Request]:
        return [r for r in self.requests if r.method == method and fragment in r.path]

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.server.accept()
            except OSError:
                return
            self.connections.append(conn)
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn: socket.socket) -> None:
        data = b""
        try:
            while b"\r\n\r\n" not in data:
                chunk = conn.recv(65536)
                if not chunk:
                    return
                data += chunk
            head, _, body = data.partition(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            method, path = lines[0].split(" ")[:2]
            length = next((int(line.split(":", 1)[1]) for line in lines[1:]
                           if line.lower().startswith("content-length:")), 0)
            while len(body) < length:
                body += conn.recv(65536)
            request = Request(method, path, body)
            self.requests.append(request)
            for route_method, fragment, handler in self.routes:
                if route_method == method and fragment in path:
                    handler(conn, request)
                    if handler is not never and not getattr(handler, "keeps_open", False):
                        conn.close()
                    return
            reply(conn, 404, {"message": f"no route for {method} {path}"})
            conn.close()
        except OSError:
            pass

    def close(self) -> None:
        self.server.close()
        for conn in self.connections:
            try:
                conn.close()
            except OSError:
                pass
        shutil.rmtree(self.directory, ignore_errors=True)


@pytest.fixture
def fake_engine(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., FakeEngine]]:
    """Start a fake engine with the given routes and point DOCKER_HOST at it."""
    engines: list[FakeEngine] = []
    monkeypatch.delenv("DOCKER_TLS_VERIFY", raising=False)

    def start(*routes: tuple[str, str, Handler]) -> FakeEngine:
        engine = FakeEngine(list(routes))
        engines.append(engine)
        monkeypatch.setenv("DOCKER_HOST", engine.host)
        return engine

    yield start
    for engine in engines:
        engine.close()


PING = ("GET", "/_ping", answer(200, b"OK", content_type="text/plain"))
TRUNCATED = raw(b'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 500\r\n\r\n{"Id": "sha')


def in_thread(call: Callable[[], Any], seconds: float) -> Any:
    """``call()``'s result or exception, failing the test when it has not returned within ``seconds``."""
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = call()
        except BaseException as exc:  # noqa: BLE001 - handed to the test
            box["error"] = exc

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"still waiting after {seconds} s"
    if "error" in box:
        raise box["error"]
    return box["value"]


# -- answers that are not what the API promises -----------------------------------------------------------


def test_a_truncated_answer_is_an_unavailable_engine(fake_engine: Callable[..., FakeEngine]) -> None:
    fake = fake_engine(PING, ("GET", "", TRUNCATED), ("POST", "", TRUNCATED))
    engine = Engine()
    for call in (lambda: engine.inspect_image("x:1"), lambda: engine.create_container({"Image": "x"}),
                 lambda: engine.list_containers("a"), lambda: engine.inspect_container("c"),
                 lambda: engine.wait("c")):
        with pytest.raises(EngineUnavailableError, match=f"at {fake.host} answered with something that is not "
                                                         r"JSON: b'\{\"Id\": \"sha'"):
            call()


@pytest.mark.parametrize("route, call", [
    (answer(200, b"\xff\xfe not json"), lambda e: e.inspect_image("x:1")),
    (answer(200, [1, 2]), lambda e: e.inspect_image("x:1")),
    (answer(200, b"plain text", content_type="text/plain"), lambda e: e.inspect_container("c")),
    (answer(201, {"Warnings": []}), lambda e: e.create_container({"Image": "x"})),
    (answer(201, ["Id"]), lambda e: e.create_container({"Image": "x"})),
    (answer(200, {"StatusCode": "zero"}), lambda e: e.wait("c")),
    (answer(200, {"Id": "x"}), lambda e: e.list_containers("a")),
    (raw(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"), lambda e: e.inspect_image("x:1")),
    (raw(b"HTTP/1.1 200 OK\r\nContent-Length: many\r\n\r\n{}"), lambda e: e.inspect_image("x:1")),
    (raw(b"garbage\r\n\r\n"), lambda e: e.inspect_image("x:1")),
], ids=["not-utf8", "an-array", "not-json-at-all", "no-id", "id-in-a-list", "status-not-a-number",
        "not-a-list", "bad-chunk-size", "bad-content-length", "not-http"])
def test_answers_of_the_wrong_shape_are_an_unavailable_engine(fake_engine: Callable[..., FakeEngine], route: Handler,
                                                              call: Callable[[Engine], Any]) -> None:
    fake_engine(PING, ("GET", "", route), ("POST", "", route))
    with pytest.raises(EngineUnavailableError, match="the Docker engine at unix://"):
        call(Engine())


def test_a_pull_that_streams_garbage_is_an_unavailable_engine(fake_engine: Callable[..., FakeEngine]) -> None:
    fake_engine(PING, ("POST", "/images/create", raw(b'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n'
                                                      b'{"status": "Pulling"}\n{"status": "Down')))
    with pytest.raises(EngineUnavailableError, match="not JSON"):
        Engine().pull("busybox:1")


def test_a_pull_error_and_progress_that_is_not_an_object(fake_engine: Callable[..., FakeEngine]) -> None:
    fake_engine(PING, ("POST", "/images/create", raw(b'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n'
                                                      b'5\n"text"\n{"error": "manifest unknown"}\n')))
    with pytest.raises(engine_api.EngineError, match="manifest unknown"):
        Engine().pull("busybox:1")


@pytest.mark.parametrize("host, problem", [
    ("tcp://localhost:99999", "Port out of range"), ("tcp://[::1", "Invalid IPv6 URL"),
    ("tcp://localhost:port", "Port could not be cast"),
])
def test_a_bad_docker_host_is_named(monkeypatch: pytest.MonkeyPatch, host: str, problem: str) -> None:
    monkeypatch.setenv("DOCKER_HOST", host)
    monkeypatch.delenv("DOCKER_TLS_VERIFY", raising=False)
    with pytest.raises(EngineUnavailableError, match=re.escape(f"DOCKER_HOST={host} is not a valid engine address "
                                                               f"({problem}")):
        docker_engine.connect()


def test_a_bad_docker_host_is_a_finding_of_each_image_source(monkeypatch: pytest.MonkeyPatch,
                                                              write_manifest: Callable) -> None:
    monkeypatch.setenv("DOCKER_HOST", "tcp://localhost:99999")
    results = validate_all(["a-job-1.0.0-seed:1.0.0", write_manifest(CLEAN_MANIFEST)])
    assert [[f.code for f in r.findings] for r in results] == [["engine-unavailable"], []]
    assert "DOCKER_HOST=tcp://localhost:99999" in results[0].findings[0].message


# -- engines that never answer --------------------------------------------------------------------------


def test_no_timeout_means_none_for_the_calls_as_long_as_a_job_only(fake_engine: Callable[..., FakeEngine],
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    fake_engine(("GET", "/_ping", never), ("POST", "/wait", lambda conn, request: (
        time.sleep(1.5), reply(conn, 200, {"StatusCode": 3}))))
    assert Engine(timeout=None).call_timeout == engine_api.CALL_TIMEOUT == 60
    monkeypatch.setattr(engine_api, "CALL_TIMEOUT", 0.5, raising=False)
    started = time.monotonic()
    with pytest.raises(EngineUnavailableError, match="does not answer"):
        in_thread(lambda: docker_engine.connect(timeout=None), 10)  # what `seed run` does
    assert time.monotonic() - started < 5
    assert Engine(timeout=None).wait("c") == 3  # slower than any call timeout, and still fine


def test_an_attach_the_engine_does_not_accept_is_bounded(fake_engine: Callable[..., FakeEngine]) -> None:
    fake_engine(("POST", "/attach", never))
    with pytest.raises(EngineUnavailableError, match="does not answer"):
        in_thread(lambda: Engine(timeout=None, call_timeout=0.5).attach("c"), 10)


def test_seed_run_against_an_engine_that_never_answers_ends(fake_engine: Callable[..., FakeEngine],
                                                            monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from seed_runner.runtime.runner import run

    fake_engine(("GET", "", never), ("POST", "", never), ("DELETE", "", never))
    monkeypatch.setattr(engine_api, "CALL_TIMEOUT", 0.5, raising=False)
    result = in_thread(lambda: run(RunRequest(image="a-job-1.0.0-seed:1.0.0", run_dir=tmp_path / "run"),
                                   manifest=load_manifest(job_manifest("echo hi"))), 20)
    assert result.outcome.status == "error"
    assert "does not answer" in result.document["message"]


def test_validate_gives_each_image_its_finding_and_goes_on(fake_engine: Callable[..., FakeEngine],
                                                          write_manifest: Callable) -> None:
    fake_engine(PING, ("GET", "/images/", TRUNCATED))
    results = in_thread(lambda: validate_all(["a-job-1.0.0-seed:1.0.0", "b-job-1.0.0-seed:1.0.0",
                                              write_manifest(CLEAN_MANIFEST)]), 20)
    assert [[f.code for f in r.findings] for r in results] == [["engine-unavailable"], ["engine-unavailable"], []]
    assert "not JSON" in results[0].findings[0].message


def test_validate_waits_for_an_engine_that_never_answers_once(fake_engine: Callable[..., FakeEngine],
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    fake = fake_engine(("GET", "", never))
    monkeypatch.setattr(engine_api, "CALL_TIMEOUT", 0.5, raising=False)
    results = in_thread(lambda: validate_all(["a-job-1.0.0-seed:1.0.0", "b-job-1.0.0-seed:1.0.0"]), 20)
    assert [[f.code for f in r.findings] for r in results] == [["engine-unavailable"], ["engine-unavailable"]]
    assert len(fake.calls("GET", "/_ping")) == 1


# -- the container lifecycle on a fake engine -----------------------------------------------------------


def job_manifest(command: str) -> dict[str, Any]:
    return {"seedVersion": "1.0.0", "job": {
        "name": "robust-job", "jobVersion": "1.0.0", "packageVersion": "1.0.0", "title": "t", "description": "d",
        "maintainer": {"name": "n", "email": "e"}, "timeout": 30, "interface": {"command": command}}}


def a_plan(tmp_path: Path, image: str = "fake:1", command: str = "echo hi", **request: Any) -> RunPlan:
    plan = make_plan(load_manifest(job_manifest(command)),
                     RunRequest(image=image, run_dir=tmp_path / "run", **request), image_env={})
    (tmp_path / "run" / "outputs").mkdir(parents=True)
    (tmp_path / "run" / "work").mkdir()
    Path(plan.input_metadata_file).write_text("{}")
    return plan


def lifecycle(*, attach: Handler, wait: Handler, kill: Handler = answer(204)) -> list[tuple[str, str, Handler]]:
    attach.keeps_open = True  # type: ignore[attr-defined]
    return [PING,
            ("POST", "/containers/create", answer(201, {"Id": "c0ffee", "Warnings": []})),
            ("POST", "/attach", attach),
            ("POST", "/start", answer(204)),
            ("POST", "/wait", wait),
            ("POST", "/kill", kill),
            ("GET", "/containers/c0ffee/json", answer(200, {"State": {"OOMKilled": False}})),
            ("DELETE", "/containers/c0ffee", answer(204))]


def silent_attach(conn: socket.socket, request: Request) -> None:
    upgrade(conn)


def run_plan(plan: RunPlan, tmp_path: Path, seconds: float) -> tuple[Any, bytes]:
    with open(tmp_path / "stdout.log", "wb") as out, open(tmp_path / "stderr.log", "wb") as err:
        execution = in_thread(lambda: docker_engine.execute(plan, out, err, engine=Engine()), seconds)
    return execution, (tmp_path / "stdout.log").read_bytes()


@pytest.fixture
def quick_bounds(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, seconds in (("EXIT_REPORT_SECONDS", 1.0), ("LOG_IDLE_SECONDS", 0.5), ("LOG_DRAIN_SECONDS", 5.0),
                          ("INTERRUPTED_LOG_SECONDS", 0.5)):
        monkeypatch.setattr(docker_engine, name, seconds, raising=False)


def test_a_failed_sigterm_still_ends_in_sigkill_and_a_bounded_wait(
        fake_engine: Callable[..., FakeEngine], tmp_path: Path, quick_bounds: None) -> None:
    fake = fake_engine(*lifecycle(attach=silent_attach, wait=never,
                                  kill=answer(500, {"message": "cannot kill: the engine is busy"})))
    plan = a_plan(tmp_path, timeout=0.3, grace_period=0.2)
    with pytest.raises(docker_engine.ContainerError, match="lost track of the container: the engine did not "
                                                           "report its exit"):
        run_plan(plan, tmp_path, 20)
    assert [r.path.rsplit("signal=", 1)[1] for r in fake.calls("POST", "/kill")] == ["SIGTERM", "SIGKILL"]
    assert len(fake.calls("DELETE", "/containers/c0ffee")) == 1


def test_a_container_ended_at_the_timeout_gets_no_sigkill_and_keeps_its_exit(
        fake_engine: Callable[..., FakeEngine], tmp_path: Path, quick_bounds: None) -> None:
    # The stop finds the job no longer running: it ended by itself as the clock ran out, so it did not overrun
    # (its exit code is its own outcome), and no SIGKILL follows the SIGTERM the engine refused.
    def wait(conn: socket.socket, request: Request) -> None:
        time.sleep(0.6)
        reply(conn, 200, {"StatusCode": 137})

    fake = fake_engine(*lifecycle(attach=silent_attach, wait=wait,
                                  kill=answer(409, {"message": "Container c0ffee is not running"})))
    execution, _ = run_plan(a_plan(tmp_path, timeout=0.3, grace_period=5), tmp_path, 20)
    assert not execution.timed_out and execution.exit_code == 137
    assert [r.path.rsplit("signal=", 1)[1] for r in fake.calls("POST", "/kill")] == ["SIGTERM"]


def test_output_still_arriving_after_the_exit_is_all_kept(fake_engine: Callable[..., FakeEngine],
                                                         tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The engine reports the exit at once, then takes 11 s to deliver the rest of the output (more than the
    # 10 s the runner used to give it in all), never pausing as long as LOG_IDLE_SECONDS.
    monkeypatch.setattr(docker_engine, "LOG_IDLE_SECONDS", 2.0, raising=False)

    def attach(conn: socket.socket, request: Request) -> None:
        upgrade(conn)
        for i in range(22):
            conn.sendall(frame(1, f"line {i}\n".encode()))
            time.sleep(0.5)
        conn.sendall(frame(2, b"the end\n"))
        conn.close()

    fake_engine(*lifecycle(attach=attach, wait=answer(200, {"StatusCode": 0})))
    execution, stdout = run_plan(a_plan(tmp_path), tmp_path, 40)
    assert stdout == b"".join(f"line {i}\n".encode() for i in range(22))
    assert (tmp_path / "stderr.log").read_bytes() == b"the end\n"
    assert (execution.stdout_bytes, execution.stderr_bytes) == (len(stdout), 8)


def test_a_stream_that_never_ends_is_given_up_when_quiet(fake_engine: Callable[..., FakeEngine], tmp_path: Path,
                                                         quick_bounds: None) -> None:
    def attach(conn: socket.socket, request: Request) -> None:
        upgrade(conn)
        conn.sendall(frame(1, b"partial output\n"))

    fake_engine(*lifecycle(attach=attach, wait=answer(200, {"StatusCode": 0})))
    started = time.monotonic()
    execution, stdout = run_plan(a_plan(tmp_path), tmp_path, 20)
    assert time.monotonic() - started < 5
    assert stdout == b"partial output\n" and execution.exit_code == 0


def test_the_pump_never_writes_to_closed_sinks(tmp_path: Path) -> None:
    """A stream that cannot be interrupted: what it yields after the sinks closed is dropped, not written."""
    from seed_runner.runtime.logstream import LogSink

    release = threading.Event()
    finished = threading.Event()
    errors: list[BaseException] = []

    class Stubborn:
        def __iter__(self) -> Iterator[tuple[int, bytes]]:
            yield 1, b"before\n"
            release.wait(5)
            try:
                yield 1, b"after\n"
                yield 2, b"after\n"
            finally:
                finished.set()

        def close(self) -> None:
            pass

    out, err = open(tmp_path / "out", "wb"), open(tmp_path / "err", "wb")
    sinks = (LogSink(out, ["secret"]), LogSink(err, []))
    pump = docker_engine._Pump(sinks)
    previous = threading.excepthook
    threading.excepthook = lambda args: errors.append(args.exc_value)
    try:
        pump.start(Stubborn())  # type: ignore[arg-type]
        pump.drain(idle=0.3, total=1)
        out.close()
        err.close()
        release.set()
        finished.wait(5)
        time.sleep(0.1)
    finally:
        threading.excepthook = previous
    assert errors == []
    assert (tmp_path / "out").read_bytes() == b"before\n" and (tmp_path / "err").read_bytes() == b""
    assert (sinks[0].bytes_written, sinks[1].bytes_written) == (7, 0)


def test_an_error_of_ours_stops_and_removes_the_container_and_propagates(
        fake_engine: Callable[..., FakeEngine], tmp_path: Path, quick_bounds: None) -> None:
    fake = fake_engine(*lifecycle(attach=silent_attach, wait=never))
    plan = dataclasses.replace(a_plan(tmp_path, grace_period=0.2), timeout=1e300)  # Event.wait cannot take it
    with pytest.raises(OverflowError):
        run_plan(plan, tmp_path, 20)
    assert [r.path.rsplit("signal=", 1)[1] for r in fake.calls("POST", "/kill")] == ["SIGTERM", "SIGKILL"]
    assert len(fake.calls("DELETE", "/containers/c0ffee")) == 1


def test_the_dead_parts_are_gone() -> None:
    assert not hasattr(docker_engine, "_explain")
    assert "interrupted" not in {f.name for f in dataclasses.fields(docker_engine.Execution)}
    assert "on_container" not in docker_engine.execute.__code__.co_varnames


def test_one_connect_and_one_image_inspection() -> None:
    import importlib

    build, describe, images, publish = (importlib.import_module(f"seed_runner.{name}") for name in (
        "authoring.build", "authoring.describe", "engine.images", "registry.publishing"))

    assert docker_engine.connect is images.connect and docker_engine.inspect_image is images.inspect_image
    assert not hasattr(images, "connect_engine") and not hasattr(publish, "_docker")
    assert "build import connect_docker" in Path(publish.__file__).read_text()
    # seed list lists through our client (every call bounded as a whole), connected the one way
    assert "from ..engine.images import connect" in Path(describe.__file__).read_text()
    assert callable(build.connect_docker)


# -- a command that expands to no words (the real engine) -------------------------------------------------


@pytest.fixture(scope="module")
def entrypoint_image(docker_client: Any, busybox_image: str) -> Iterator[str]:
    tag = "seed-runner-test/entrypoint:1"
    dockerfile = (f'FROM {busybox_image}\nENTRYPOINT ["/bin/sh", "-c", "echo \\"$# args: $*\\"", "entry"]\n'
                  'CMD ["from-cmd"]\n')
    _build(docker_client, {"Dockerfile": dockerfile.encode()}, tag, {})
    yield tag
    docker_client.images.remove(tag, force=True)


@pytest.mark.engine
def test_a_command_of_no_words_runs_the_entrypoint_without_the_images_cmd(
        entrypoint_image: str, tmp_path: Path) -> None:
    plan = dataclasses.replace(a_plan(tmp_path, image=entrypoint_image), command=(),
                               entrypoint=("/bin/sh", "-c", 'echo "$# args: $*"', "entry"))
    config = docker_engine.container_config(plan)
    assert config["Cmd"] == [] and config["Entrypoint"] == ["/bin/sh", "-c", 'echo "$# args: $*"', "entry"]
    execution, stdout = run_plan(plan, tmp_path, 60)
    assert (execution.exit_code, stdout) == (0, b"0 args: \n")


@pytest.mark.engine
def test_no_command_runs_the_images_entrypoint_and_cmd(entrypoint_image: str, tmp_path: Path) -> None:
    plan = dataclasses.replace(a_plan(tmp_path, image=entrypoint_image), command=None)
    assert "Cmd" not in docker_engine.container_config(plan)
    execution, stdout = run_plan(plan, tmp_path, 60)
    assert (execution.exit_code, stdout) == (0, b"1 args: from-cmd\n")


def test_a_command_of_no_words_without_an_entrypoint_creates_nothing(
        fake_engine: Callable[..., FakeEngine], tmp_path: Path) -> None:
    fake = fake_engine(*lifecycle(attach=silent_attach, wait=never))
    plan = dataclasses.replace(a_plan(tmp_path), command=(), entrypoint=None)
    with pytest.raises(docker_engine.ContainerError, match="no ENTRYPOINT"):
        run_plan(plan, tmp_path, 10)
    assert fake.calls("POST", "/containers/create") == []
