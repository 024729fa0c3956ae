"""A faulty engine never hangs a command and never fakes success (the fake engine of test_engine_robustness).

Each fault was seen: an engine that trickles a byte now and then (the timeout was per read), an endless body
(buffered whole), a DELETE that never answers (186 s more, the run still `succeeded`, the container left), a
lost answer to `create` (a `created` container left), an interrupt while `create` is answered (the same),
an error or a redirect where the client expects an answer (reported as an engine that does not answer).
"""

from __future__ import annotations

import _thread
import json
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Callable

import pytest

from seed_runner import load_manifest
from seed_runner.engine import answer as engine_answer, client as engine_api, containers as docker_engine, custody
from seed_runner.engine.client import Engine, UnexpectedAnswerError
from seed_runner.errors import EngineUnavailableError
from seed_runner.runtime.plan import RunRequest
from seed_runner.runtime.runner import run

from .conftest import check_result
from .test_engine_robustness import (  # noqa: F401 - fake_engine is a fixture
    PING, FakeEngine, Handler, Request, a_plan, answer, fake_engine, in_thread, job_manifest, lifecycle, never,
    quick_bounds, reply, run_plan, silent_attach)

SEED = str(Path(sys.executable).with_name("seed"))
IMAGE = {"Id": "sha256:" + "0" * 64, "RepoTags": ["fake:1"], "Config": {"Env": [], "Labels": {}}}


def trickle(head: bytes, every: float = 0.2) -> Handler:
    """Send ``head`` at once, then one byte every ``every`` seconds for as long as the client reads."""
    def handler(conn: socket.socket, request: Request) -> None:
        conn.sendall(head)
        try:
            for _ in range(10_000):
                time.sleep(every)
                conn.sendall(b"x")
        except OSError:
            pass
    return handler


def endless_chunks(conn: socket.socket, request: Request) -> None:
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n")
    chunk = b"%x\r\n%s\r\n" % (65536, b" " * 65536)
    try:
        for _ in range(1 << 20):  # 64 GiB: more than anyone may hold
            conn.sendall(chunk)
    except OSError:
        pass


def slowly(seconds: float, handler: Handler) -> Handler:
    def slow(conn: socket.socket, request: Request) -> None:
        time.sleep(seconds)
        handler(conn, request)
    return slow


def hang_up(conn: socket.socket, request: Request) -> None:
    """Read the request, answer nothing, close: the answer is lost."""


def whole_run(tmp_path: Path, *, create: Handler | None = None, delete: Handler | None = None,
              wait: Handler | None = None) -> list[tuple[str, str, Handler]]:
    """Routes for a whole `run()`: lifecycle plus the leftover check and the image inspection."""
    routes = lifecycle(attach=silent_attach, wait=wait or answer(200, {"StatusCode": 0}))
    if create is not None:
        routes = [("POST", "/containers/create", create)] + routes
    if delete is not None:
        routes = [("DELETE", "/containers/c0ffee", delete)] + routes
    return routes + [("GET", "/containers/json", answer(200, [])), ("GET", "/images/", answer(200, IMAGE))]


def run_on_fake(tmp_path: Path, seconds: float = 30) -> Any:
    result = in_thread(lambda: run(RunRequest(image="fake:1", run_dir=tmp_path / "run"),
                                   manifest=load_manifest(job_manifest("echo hi"))), seconds)
    check_result(result.document)
    return result


@pytest.fixture
def quick_custody(monkeypatch: pytest.MonkeyPatch, quick_bounds: None) -> None:
    for name, seconds in (("REMOVE_SECONDS", 1.5), ("REMOVE_ATTEMPT_SECONDS", 0.5), ("SETTLE_SECONDS", 0.5),
                          ("MARGIN_SECONDS", 2.0)):
        monkeypatch.setattr(custody, name, seconds)


# -- every call is bounded as a whole, and so is what it reads ----------------------------------------------


@pytest.mark.parametrize("head", [b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n",
                                  b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 900\r\n\r\n"],
                         ids=["in-the-headers", "in-the-body"])
def test_a_trickling_engine_is_given_up_within_the_call_timeout(fake_engine: Callable[..., FakeEngine],
                                                                 head: bytes) -> None:
    fake_engine(("GET", "/_ping", trickle(head)), ("GET", "/containers/", trickle(head)))
    engine = Engine(call_timeout=1.0)
    for call in (engine.ping, lambda: engine.inspect_container("c")):
        started = time.monotonic()
        with pytest.raises(EngineUnavailableError, match=r"does not answer|did not finish answering .* within 1 s"):
            in_thread(call, 10)
        assert time.monotonic() - started < 3


def test_a_pull_whose_progress_trickles_is_given_up(fake_engine: Callable[..., FakeEngine]) -> None:
    fake_engine(("POST", "/images/create", trickle(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n")))
    with pytest.raises(EngineUnavailableError, match="stopped answering"):
        in_thread(lambda: Engine(call_timeout=1.0).pull("busybox:1"), 10)


def test_seed_run_against_a_trickling_engine_ends_with_a_result(fake_engine: Callable[..., FakeEngine],
                                                                monkeypatch: pytest.MonkeyPatch,
                                                                tmp_path: Path) -> None:
    fake_engine(("GET", "", trickle(b"HTTP/1.1 200 OK\r\n")))
    monkeypatch.setattr(engine_api, "CALL_TIMEOUT", 1.0)
    result = run_on_fake(tmp_path, 15)
    assert (result.outcome.status, result.exit_status) == ("error", 4)
    assert result.document["error"]["name"] == "engine-unavailable"


def test_an_endless_body_is_not_held_in_memory(fake_engine: Callable[..., FakeEngine],
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    fake_engine(("GET", "", endless_chunks), ("POST", "", endless_chunks))
    monkeypatch.setattr(engine_answer, "MAX_ANSWER_BYTES", 4 << 20)
    with pytest.raises(EngineUnavailableError, match="more than 4194304 bytes"):
        in_thread(lambda: Engine().inspect_container("c"), 20)
    with pytest.raises(EngineUnavailableError, match="a line of more than"):  # a pull's progress, endlessly
        in_thread(lambda: Engine().pull("x:1"), 20)


@pytest.mark.parametrize("head", [b"Transfer-Encoding: chunked\r\n\r\nfffffffffff\r\n{}",
                                  b"Content-Length: 99999999999999\r\n\r\n{}"], ids=["chunk", "content-length"])
def test_a_huge_announced_size_is_not_allocated(fake_engine: Callable[..., FakeEngine], head: bytes) -> None:
    fake_engine(("GET", "", lambda conn, request: conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json"
                                                               b"\r\n" + head)))
    assert in_thread(lambda: Engine().inspect_container("c"), 10) == {}  # what came; no MemoryError


def test_an_attach_frame_of_4_gib_is_read_in_pieces(fake_engine: Callable[..., FakeEngine], tmp_path: Path,
                                                    quick_bounds: None) -> None:
    def attach(conn: socket.socket, request: Request) -> None:
        conn.sendall(b"HTTP/1.1 101 UPGRADED\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n"
                     + bytes([1, 0, 0, 0]) + (2**32 - 1).to_bytes(4, "big") + b"partial frame\n")

    fake_engine(*lifecycle(attach=attach, wait=answer(200, {"StatusCode": 0})))
    execution, stdout = run_plan(a_plan(tmp_path), tmp_path, 20)
    assert stdout == b"partial frame\n" and execution.exit_code == 0


# -- answers the client does not expect -------------------------------------------------------------------


def test_a_redirect_is_an_unexpected_answer_not_an_engine_that_is_down(fake_engine: Callable[..., FakeEngine]
                                                                       ) -> None:
    fake_engine(("GET", "/images/", lambda conn, request: conn.sendall(
        b"HTTP/1.1 301 Moved Permanently\r\nLocation: /v1.41/images/my-job-folder/json\r\nContent-Length: 0\r\n\r\n")))
    with pytest.raises(UnexpectedAnswerError, match="answered GET /images/./my-job-folder/json with 301 Moved "
                                                    "Permanently to /v1.41/images/my-job-folder/json"):
        Engine().inspect_image("./my-job-folder")


def test_an_engine_error_on_ping_is_exit_4_with_a_json_report(fake_engine: Callable[..., FakeEngine],
                                                             tmp_path: Path) -> None:
    fake = fake_engine(("GET", "/_ping", answer(500, {"message": "boom"})))
    manifest = tmp_path / "seed.manifest.json"
    manifest.write_text(json.dumps(job_manifest("echo hi")))
    proc = subprocess.run([SEED, "run", "fake:1", "--manifest", str(manifest), "-o", str(tmp_path / "run"),
                           "--json"], capture_output=True, text=True, timeout=60,
                          env={**os.environ, "DOCKER_HOST": fake.host})
    assert proc.returncode == 4, proc.stderr
    document = check_result(json.loads(proc.stdout))
    assert document["status"] == "error" and document["error"]["name"] == "engine-error"
    assert "500" in document["message"] and "boom" in document["message"]


# -- nothing the runner creates is left, or it says so ------------------------------------------------------


def test_a_hung_delete_is_bounded_and_the_run_does_not_succeed(fake_engine: Callable[..., FakeEngine],
                                                               tmp_path: Path, quick_custody: None) -> None:
    fake = fake_engine(*whole_run(tmp_path, delete=never))
    started = time.monotonic()
    result = run_on_fake(tmp_path)
    assert time.monotonic() - started < 10
    assert (result.outcome.status, result.exit_status, result.document["exit_code"]) == ("error", 4, 0)
    assert result.document["error"]["name"] == "container-not-removed"
    [left] = [w for w in result.document["warnings"] if w["code"] == "container-not-removed"]
    assert left["severity"] == "warning" and "container c0ffee could not be removed" in left["message"]
    assert "seed cleanup" in left["message"] and "c0ffee" in result.document["message"]
    assert len(fake.calls("DELETE", "/containers/c0ffee")) >= 2  # retried


def test_a_failed_job_whose_container_is_left_stays_failed_with_the_warning(
        fake_engine: Callable[..., FakeEngine], tmp_path: Path, quick_custody: None) -> None:
    fake_engine(*whole_run(tmp_path, delete=answer(500, {"message": "driver failed"}),
                           wait=answer(200, {"StatusCode": 3})))
    result = run_on_fake(tmp_path)
    assert (result.outcome.status, result.document["error"]["name"]) == ("failed", "algorithm-unknown")
    assert [w["code"] for w in result.document["warnings"]] == ["container-not-removed"]
    assert "driver failed" in result.document["warnings"][0]["message"]


@pytest.mark.parametrize("create", [hang_up, answer(201, {"Warnings": []}), slowly(3, answer(201, {"Id": "c0ffee"}))],
                         ids=["no-answer", "an-answer-without-id", "too-late"])
def test_a_lost_create_answer_removes_the_container_by_its_name(fake_engine: Callable[..., FakeEngine],
                                                                tmp_path: Path, quick_custody: None,
                                                                monkeypatch: pytest.MonkeyPatch,
                                                                create: Handler) -> None:
    monkeypatch.setattr(engine_api, "CALL_TIMEOUT", 1.0)
    fake = fake_engine(("GET", "/containers/seed-", answer(200, {"Id": "c0ffee", "State": {}})),
                       ("DELETE", "/containers/seed-", answer(204)), *whole_run(tmp_path, create=create))
    result = run_on_fake(tmp_path)
    assert (result.outcome.status, result.exit_status) == ("error", 4)
    [created] = fake.calls("POST", "/containers/create")
    name = created.path.split("name=", 1)[1]
    assert name.startswith(f"seed-{result.document['run_id']}-")
    assert [r.path.split("?")[0] for r in fake.calls("DELETE", "")] == [f"/v1.41/containers/{name}"]
    assert result.document["warnings"] == []


def test_an_engine_that_cannot_say_whether_it_created_is_named(fake_engine: Callable[..., FakeEngine],
                                                              tmp_path: Path, quick_custody: None) -> None:
    fake_engine(("GET", "/containers/seed-", answer(500, {"message": "busy"})), *whole_run(tmp_path, create=hang_up))
    result = run_on_fake(tmp_path)
    assert result.outcome.status == "error"
    [left] = result.document["warnings"]
    assert left["code"] == "container-not-removed" and "may have been created" in left["message"]
    assert f"seed-{result.document['run_id']}-" in left["message"]


def test_an_interrupt_while_create_is_answered_removes_what_it_created(fake_engine: Callable[..., FakeEngine],
                                                                      tmp_path: Path, quick_custody: None) -> None:
    fake = fake_engine(*whole_run(tmp_path, create=slowly(1.5, answer(201, {"Id": "c0ffee"}))))

    def interrupt_once_create_is_asked() -> None:
        for _ in range(100):
            if fake.calls("POST", "/containers/create"):
                break
            time.sleep(0.05)
        time.sleep(0.3)
        _thread.interrupt_main()  # Ctrl-C, in the middle of the engine's answer

    threading.Thread(target=interrupt_once_create_is_asked, daemon=True).start()
    plan = a_plan(tmp_path)
    with open(tmp_path / "out", "wb") as out, open(tmp_path / "err", "wb") as err:
        with pytest.raises(KeyboardInterrupt):
            docker_engine.execute(plan, out, err, engine=Engine())
    assert len(fake.calls("DELETE", "/containers/c0ffee")) == 1
    assert fake.calls("POST", "/start") == []


# -- who killed the container: the engine's word --------------------------------------------------------------

STATE = {"OOMKilled": False, "StartedAt": "2026-01-02T03:04:05.123456789Z", "FinishedAt": "2026-01-02T03:04:09.5Z"}


def events(*actions: tuple[str, str]) -> Handler:
    lines = b"".join(json.dumps({"Action": action, "Actor": {"ID": "c0ffee", "Attributes": {"signal": sent}}}
                                ).encode() + b"\n" for action, sent in actions)
    return answer(200, lines)


@pytest.mark.parametrize("routes, killed", [
    ([("GET", "/containers/c0ffee/json", answer(404, {"message": "No such container: c0ffee"}))],
     "the container was removed while it ran (exit code 137, signal 9 (SIGKILL))"),
    ([("GET", "/events", events(("kill", "9"), ("die", "")))], "the engine killed it with signal 9 (SIGKILL)"),
    ([("GET", "/events", events(("kill", "KILL"), ("die", "")))], "the engine killed it with signal 9 (SIGKILL)"),
    ([("GET", "/events", events(("destroy", "")))], "the engine removed it"),
    ([("GET", "/events", events(("kill", "15"), ("die", "")))], None),  # not the signal that ended it
    ([("GET", "/events", events(("die", "")))], None),  # the job killed itself
    ([("GET", "/events", answer(500, {"message": "no events today"}))], None),  # no evidence: the job's
    ([("GET", "/events", answer(200, b"[1, 2]"))], None),
], ids=["gone", "kill-event", "kill-by-name", "destroy-event", "another-signal", "die-only", "no-events",
        "not-events"])
def test_a_sigkill_the_runner_did_not_send_is_told_by_the_engine(fake_engine: Callable[..., FakeEngine],
                                                                  tmp_path: Path, routes: list[Any],
                                                                  killed: str | None, quick_bounds: None) -> None:
    fake = fake_engine(*routes, ("GET", "/containers/c0ffee/json", answer(200, {"State": STATE})),
                       *lifecycle(attach=silent_attach, wait=answer(200, {"StatusCode": 137})))
    execution, _ = run_plan(a_plan(tmp_path), tmp_path, 20)
    assert execution.exit_code == 137 and not execution.oom_killed
    if killed is None:
        assert execution.killed_externally is None
    else:
        assert killed in execution.killed_externally and "seed-runner" in execution.killed_externally
    if fake.calls("GET", "/events"):
        [call] = fake.calls("GET", "/events")
        assert "since=1767323045.123456789" in call.path and "until=1767323051.500000000" in call.path


def test_an_exit_code_that_is_no_signal_asks_nobody(fake_engine: Callable[..., FakeEngine], tmp_path: Path,
                                                    quick_bounds: None) -> None:
    fake = fake_engine(("GET", "/containers/c0ffee/json", answer(200, {"State": STATE})),
                       *lifecycle(attach=silent_attach, wait=answer(200, {"StatusCode": 1})))
    execution, _ = run_plan(a_plan(tmp_path), tmp_path, 20)
    assert execution.killed_externally is None and fake.calls("GET", "/events") == []


# -- a path where an image name belongs ---------------------------------------------------------------------


def seed_run_in_a_folder(tmp_path: Path, image: str, status: int) -> tuple[dict[str, Any], str]:
    """`seed run IMAGE --json` where a folder my-job-folder is: the result document and stderr."""
    (tmp_path / "my-job-folder").mkdir()
    proc = subprocess.run([SEED, "run", image, "--json"], capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert proc.returncode == status, proc.stderr
    return check_result(json.loads(proc.stdout)), proc.stderr


def test_seed_run_of_a_folder_says_an_image_name_was_expected(tmp_path: Path) -> None:
    document, stderr = seed_run_in_a_folder(tmp_path, "./my-job-folder", 2)
    assert document["status"] == "rejected" and document["error"]["name"] == "invalid-request"
    assert [(p["code"], p["path"]) for p in document["problems"]] == [("not-an-image", "$.image")]
    message = document["message"]
    assert "'./my-job-folder' is a folder, not an image" in message and "image name (NAME:TAG)" in message
    assert "`seed build ./my-job-folder`" in message and "--manifest" in message
    assert "does not answer" not in stderr


@pytest.mark.engine
def test_a_folder_named_like_an_image_gets_a_hint(tmp_path: Path) -> None:
    document, _ = seed_run_in_a_folder(tmp_path, "my-job-folder", 4)
    assert document["error"]["name"] == "image-not-found"
    assert "is also a folder here" in document["message"] and "seed build my-job-folder" in document["message"]
