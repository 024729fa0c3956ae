"""`seed serve` against a real engine, a real uvicorn on loopback and real clients (httpx, OWSLib): every
response body validated against the official OGC API - Processes 1.0 schemas."""

from __future__ import annotations

import base64
import concurrent.futures
import json
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Iterator

import pytest

from seed_runner.engine.runner_identity import RUN_LABEL

sys.path.insert(0, str(Path(__file__).parent))
from conftest import _build  # noqa: E402
from ogc_schemas import check  # noqa: E402
from serve_fixture import SEED, SLEEPER, Server, secret_manifest, sleeper_label, wait_for  # noqa: E402
from loopback import serving, text_handler  # noqa: E402

pytestmark = pytest.mark.engine
STATS = "python-stats-1.0.0-seed:1.0.0"


@pytest.fixture(scope="module")
def sleeper(docker_client: Any, busybox_image: str) -> Iterator[str]:
    _build(docker_client, {"Dockerfile": f"FROM {busybox_image}\n".encode()}, SLEEPER,
           {"com.ngageoint.seed.manifest": sleeper_label()})
    yield SLEEPER
    try:
        docker_client.images.remove(SLEEPER, force=True)
    except Exception:  # noqa: BLE001 - best effort
        pass


@pytest.fixture
def server(tmp_path: Path, sleeper: str) -> Iterator[Server]:
    running = Server(tmp_path, "--images", "python-stats-*", "--images", "serve-test-sleep-*", "--parallel", "2",
                     "--sync-wait", "60").start()
    yield running
    running.stop()


def _containers(docker_client: Any, run_id: str) -> list[Any]:
    """The run's containers (one listing call: the SDK's ``containers.list`` inspects each one after, which
    fails for a container removed in between)."""
    return docker_client.api.containers(all=True, filters={"label": f"{RUN_LABEL}={run_id}"})


def _stats_request(outputs: list[str] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"inputs": {
        "DATA_FILES": [{"value": base64.b64encode(b"1\n2\n").decode(), "encoding": "base64",
                        "mediaType": "text/plain"}, "3\n4.5\n"],
        "CONFIG": {"label": "served"}, "THRESHOLD": 2}}
    if outputs is not None:
        body["outputs"] = {name: {} for name in outputs}
    return body


def test_the_documents_of_a_server_are_valid(server: Server) -> None:
    with server.client() as client:
        landing = check("landingPage", client.get("/").json())
        rels = {link["rel"] for link in landing["links"]}
        assert {"service-desc", "http://www.opengis.net/def/rel/ogc/1.0/conformance",
                "http://www.opengis.net/def/rel/ogc/1.0/processes"} <= rels
        classes = check("confClasses", client.get("/conformance").json())["conformsTo"]
        assert any(c.endswith("/conf/dismiss") for c in classes)
        openapi = client.get("/openapi")
        assert openapi.headers["content-type"].startswith("application/vnd.oai.openapi+json")
        assert openapi.json()["openapi"].startswith("3.0") and "/jobs/{jobID}" in openapi.json()["paths"]
        from openapi_spec_validator import validate
        from openapi_spec_validator.validation import OpenAPIV30SpecValidator

        validate(openapi.json(), cls=OpenAPIV30SpecValidator)
        listing = check("processList", client.get("/processes").json())
        assert {p["id"] for p in listing["processes"]} == {"python-stats", "serve-test-sleep"}
        stats = check("process", client.get("/processes/python-stats").json())
        assert stats["inputs"]["DATA_FILES"]["maxOccurs"] == "unbounded"
        assert stats["inputs"]["THRESHOLD"] == {"title": "THRESHOLD", "schema": {"type": "number"},
                                                "minOccurs": 0, "maxOccurs": 1}
        missing = client.get("/processes/no-such")
        assert missing.status_code == 404 and check("exception", missing.json())["title"] == "no such process"
        assert client.get("/jobs/0123").status_code == 404
        assert client.get("/jobs/../../etc").status_code == 404


def test_an_async_job_is_a_run_with_results_served(server: Server, tmp_path: Path) -> None:
    with server.client() as client:
        answer = client.post("/processes/python-stats/execution", json=_stats_request(),
                             headers={"Prefer": "respond-async"})
        assert answer.status_code == 201, answer.text
        info = check("statusInfo", answer.json())
        assert answer.headers["location"].endswith(f"/jobs/{info['jobID']}")
        assert info["status"] in ("accepted", "running", "successful")
        done = check("statusInfo", wait_for(client, info["jobID"]))
        assert done["status"] == "successful", done
        assert any(link["rel"].endswith("/results") for link in done["links"])
        results = client.get(f"/jobs/{info['jobID']}/results").json()
        assert results["TOTAL_COUNT"] == 4 and results["LABEL"] == "served" and results["OVERALL_MEAN"] == 2.625
        # The 1.0 schema's oneOf cannot hold an integer or a string value (see the test below); the rest is valid.
        check("results", {k: v for k, v in results.items() if k not in ("TOTAL_COUNT", "LABEL", "ABOVE_THRESHOLD")})
        summary = client.get(results["SUMMARY"]["href"])
        assert summary.status_code == 200 and summary.headers["content-type"] == "application/json"
        assert summary.json()["label"] == "served"
        many = client.get(results["FILE_STATS"]["href"]).json()["links"]
        assert len(many) == 2 and client.get(many[0]["href"]).text.strip()
        listed = check("jobList", client.get("/jobs", params={"processID": "python-stats"}).json())
        assert [j["jobID"] for j in listed["jobs"]] == [info["jobID"]]
        assert check("jobList", client.get("/jobs?status=failed").json())["jobs"] == []
        for query, found in (("datetime=2000-01-01T00:00:00Z/..", 1), ("datetime=../2000-01-01T00:00:00Z", 0),
                             ("minDuration=0", 1), ("maxDuration=0", 0), ("type=process", 1)):
            assert len(check("jobList", client.get(f"/jobs?{query}").json())["jobs"]) == found, query
        assert client.get("/jobs?datetime=soon").status_code == 400
        assert client.get("/jobs?status=finished").status_code == 400
    runs = subprocess.run([SEED, "runs", "--json"], env={"SEED_HOME": str(server.home), "PATH": "/usr/bin:/bin"},
                          capture_output=True, text=True, check=True)
    assert [r["id"] for r in json.loads(runs.stdout)["runs"]] == [info["jobID"]]
    env = {"SEED_HOME": str(server.home), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    logs = subprocess.run([SEED, "logs", info["jobID"]], env=env, capture_output=True, text=True)
    assert logs.returncode == 0, logs.stderr
    rerun = subprocess.run([SEED, "rerun", info["jobID"], "--json"], env=env, capture_output=True, text=True,
                           cwd=tmp_path)
    assert rerun.returncode == 0, rerun.stderr
    assert json.loads(rerun.stdout)["json_outputs"]["OVERALL_MEAN"] == 2.625


def test_the_results_schema_of_1_0_cannot_hold_an_integer_or_a_string() -> None:
    """Why the results test leaves integer and string outputs out: the official schema's oneOf lists number and
    integer (and string and binary string) side by side, so such a value matches two branches or none."""
    import jsonschema

    for value in (4, "served"):
        with pytest.raises(jsonschema.ValidationError):
            check("results", {"A": value})
    check("results", {"A": 2.5, "B": {"value": {"x": 1}, "mediaType": "application/json"}})


def test_a_sync_execution_answers_the_results_or_the_raw_output(server: Server) -> None:
    with server.client() as client:
        answer = client.post("/processes/python-stats/execution", json=_stats_request(["SUMMARY", "OVERALL_MEAN"]))
        assert answer.status_code == 200, answer.text
        assert set(check("results", answer.json())) == {"SUMMARY", "OVERALL_MEAN"}
        raw = client.post("/processes/python-stats/execution",
                          json={**_stats_request(["SUMMARY"]), "response": "raw"})
        assert raw.status_code == 200 and raw.headers["content-type"] == "application/json"
        assert raw.json()["label"] == "served"
        failed = client.post("/processes/serve-test-sleep/execution", json={"inputs": {"SECONDS": -1}})
        assert failed.status_code == 500 and check("exception", failed.json())["jobID"]


@pytest.mark.parametrize("body, words", [
    ({"inputs": {"NOPE": 1}}, "unknown input 'NOPE'"),
    ({"inputs": {}}, "missing required input"),
    ({"inputs": {"SECONDS": "one"}}, "must be a JSON integer"),
    ({"inputs": {"SECONDS": 1, "INPUT": {"href": "file:///etc/passwd"}}}, "http:// or https://"),
    ({"inputs": {"SECONDS": 1, "INPUT": {"value": "@@@", "encoding": "base64"}}}, "not valid base64"),
    ([1, 2], "must be a JSON object"),
])
def test_bad_execute_requests_are_400_with_one_line(server: Server, body: Any, words: str) -> None:
    with server.client() as client:
        answer = client.post("/processes/serve-test-sleep/execution", json=body)
        assert answer.status_code == 400
        assert words in check("exception", answer.json())["detail"]
        big = client.post("/processes/serve-test-sleep/execution", content=b"x" * (65 * 1024 * 1024),
                          headers={"Content-Type": "application/json"})
        assert big.status_code == 413
        assert check("jobList", client.get("/jobs").json())["jobs"] == []


def test_dismiss_stops_a_running_job_and_leaves_nothing(server: Server, docker_client: Any) -> None:
    with server.client() as client:
        info = client.post("/processes/serve-test-sleep/execution", json={"inputs": {"SECONDS": 300}},
                           headers={"Prefer": "respond-async"}).json()
        job_id = info["jobID"]
        assert wait_for(client, job_id, ("running",), 120)["status"] == "running"
        deadline = time.monotonic() + 60
        while not _containers(docker_client, job_id) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert _containers(docker_client, job_id)
        gone = client.delete(f"/jobs/{job_id}")
        assert gone.status_code == 200 and check("statusInfo", gone.json())["status"] == "dismissed"
        assert _containers(docker_client, job_id) == []
        assert not (server.home / "serve-jobs" / job_id).exists()
        assert client.get(f"/jobs/{job_id}").status_code == 404
        assert client.delete(f"/jobs/{job_id}").status_code == 404
        done = client.post("/processes/serve-test-sleep/execution", json={"inputs": {"SECONDS": 0}}).json()
        finished = client.get("/jobs", params={"status": "successful"}).json()["jobs"][0]["jobID"]
        assert done["DONE"]["href"] and client.delete(f"/jobs/{finished}").status_code == 200


def test_a_full_queue_answers_503_and_loses_no_job(tmp_path: Path, sleeper: str) -> None:
    server = Server(tmp_path, "--images", "serve-test-*", "--parallel", "1", "--queue", "30").start()
    try:
        with server.client() as client:
            def submit(_: int) -> Any:
                return client.post("/processes/serve-test-sleep/execution", json={"inputs": {"SECONDS": 120}},
                                   headers={"Prefer": "respond-async"})

            with concurrent.futures.ThreadPoolExecutor(20) as pool:
                answers = list(pool.map(submit, range(100)))
            accepted = [a for a in answers if a.status_code == 201]
            refused = [a for a in answers if a.status_code != 201]
            assert len(accepted) == 30 and len(refused) == 70
            assert all(a.status_code == 503 and int(a.headers["retry-after"]) > 0 for a in refused)
            check("exception", refused[0].json())
            listed = client.get("/jobs", params={"limit": 1000}).json()["jobs"]
            assert {j["jobID"] for j in listed} == {a.json()["jobID"] for a in accepted}
            for answer in accepted:
                assert client.delete(f"/jobs/{answer.json()['jobID']}").status_code == 200
    finally:
        server.stop()


def test_a_server_killed_with_jobs_queued_and_running_ends_every_job(tmp_path: Path, sleeper: str,
                                                                       docker_client: Any) -> None:
    args = ("--images", "serve-test-*", "--parallel", "1")
    server = Server(tmp_path, *args).start()
    with server.client() as client:
        ids = [client.post("/processes/serve-test-sleep/execution", json={"inputs": {"SECONDS": seconds}},
                           headers={"Prefer": "respond-async"}).json()["jobID"] for seconds in (300, 1, 1)]
        assert wait_for(client, ids[0], ("running",), 120)["status"] == "running"
        deadline = time.monotonic() + 60
        while not _containers(docker_client, ids[0]) and time.monotonic() < deadline:
            time.sleep(0.2)
    server.kill()
    again = Server(tmp_path, *args, port=server.port).start()
    try:
        with again.client() as client:
            first = check("statusInfo", wait_for(client, ids[0]))
            assert first["status"] == "failed" and "server stopped" in first["message"]
            assert _containers(docker_client, ids[0]) == []
            for job_id in ids[1:]:
                assert wait_for(client, job_id)["status"] == "successful"
    finally:
        again.stop()


def test_tokens_are_required_and_checked(tmp_path: Path, sleeper: str) -> None:
    tokens = tmp_path / "tokens"
    tokens.write_text("# who may\nexecute-token-0123456789 execute\n")
    server = Server(tmp_path, "--images", "serve-test-*", "--token-file", str(tokens)).start()
    try:
        with server.client() as client:
            for headers in ({}, {"Authorization": "Bearer wrong-token-0123456789"}, {"Authorization": "Basic x"}):
                answer = client.get("/processes", headers=headers)
                assert answer.status_code == 401 and answer.headers["www-authenticate"].startswith("Bearer")
                check("exception", answer.json())
            good = {"Authorization": "Bearer execute-token-0123456789"}
            assert check("processList", client.get("/processes", headers=good).json())["processes"]
            assert client.post("/processes", headers=good, json={}).status_code == 403
        assert "execute-token-0123456789" not in server.log.read_text()
    finally:
        server.stop()
    refused = subprocess.run([SEED, "serve", "--host", "0.0.0.0", "--port", "1"], capture_output=True, text=True)
    assert refused.returncode == 2 and "--token-file" in refused.stderr


def test_owslib_lists_describes_and_executes(server: Server) -> None:
    from owslib.ogcapi.processes import Processes

    api = Processes(server.url)
    assert {p["id"] for p in api.processes()} >= {"python-stats"}
    assert api.process("python-stats")["inputs"]["CONFIG"]["schema"] == {"type": "object"}
    body = _stats_request(["OVERALL_MEAN"])
    answer = api.execute("python-stats", body["inputs"], body["outputs"])
    assert answer == {"OVERALL_MEAN": 2.625}
    job = api.execute("python-stats", body["inputs"], body["outputs"], async_=True)
    assert job["status"] in ("accepted", "running", "successful") and job["jobID"]


def test_a_reference_to_the_servers_own_machine_fails_the_job_unless_allowed(tmp_path: Path, sleeper: str) -> None:
    with serving(text_handler(b"hello\n", content_type=None)) as port:
        body = {"inputs": {"SECONDS": 0, "INPUT": {"href": f"http://127.0.0.1:{port}/data.txt"}}}
        env_home = tmp_path / "a"
        env_home.mkdir()
        refusing = Server(env_home, "--images", "serve-test-*").start()
        try:
            with refusing.client() as client:
                info = client.post("/processes/serve-test-sleep/execution", json=body,
                                   headers={"Prefer": "respond-async"}).json()
                failed = check("statusInfo", wait_for(client, info["jobID"]))
                assert failed["status"] == "failed" and "loopback" in failed["message"]
        finally:
            refusing.stop()
        allowing = Server(tmp_path, "--images", "serve-test-*", "--allow-url", "127.0.0.1").start()
        try:
            with allowing.client() as client:
                results = client.post("/processes/serve-test-sleep/execution", json=body).json()
                assert client.get(results["COPY"]["href"]).content == b"hello\n"
        finally:
            allowing.stop()


SECRET_JOB = "serve-test-secret-1.0.0-seed:1.0.0"
SECRET_MANIFEST = secret_manifest("serve-test-secret")


def test_settings_come_from_the_servers_configuration_and_secrets_are_never_shown(
        tmp_path: Path, docker_client: Any, busybox_image: str) -> None:
    _build(docker_client, {"Dockerfile": f"FROM {busybox_image}\n".encode()}, SECRET_JOB,
           {"com.ngageoint.seed.manifest": json.dumps(SECRET_MANIFEST)})
    secret = "s3cr3t-value-never-shown"
    config = tmp_path / "serve.json"
    config.write_text(json.dumps({"processes": {"serve-test-secret": {"settings": {"API_KEY": secret,
                                                                                   "REGION": "eu"}}}}))
    server = Server(tmp_path, "--images", "serve-test-secret-*", "--config", str(config)).start()
    seen = []
    try:
        with server.client() as client:
            described = client.get("/processes/serve-test-secret")
            seen.append(described.text)
            assert "API_KEY" not in described.json().get("inputs", {})
            refused = client.post("/processes/serve-test-secret/execution", json={"inputs": {"API_KEY": "mine"}})
            assert refused.status_code == 400 and "unknown input 'API_KEY'" in refused.json()["detail"]
            results = client.post("/processes/serve-test-secret/execution", json={"inputs": {}})
            assert results.status_code == 200, results.text
            job_id = results.headers["location"].rsplit("/", 1)[1]
            assert client.get(results.json()["USED"]["href"]).text.strip() == secret  # the job had it
            assert "key=****" in client.get(f"/jobs/{job_id}?f=html").text  # the log tail, masked by the runner
            for path in ("/", "/processes", f"/jobs/{job_id}", f"/jobs/{job_id}?f=html", "/jobs",
                         f"/jobs/{job_id}/results"):
                seen.append(client.get(path).text)
            seen.append(results.text)
    finally:
        server.stop()
        docker_client.images.remove(SECRET_JOB, force=True)
    seen.append(server.log.read_text())
    assert not [text for text in seen if secret in text]
    from seed_runner.store.runstore import RunStore

    with RunStore.open(tmp_path / "runs.sqlite3") as store:
        assert store.get(job_id)["settings"] == {"API_KEY": "****", "REGION": "eu"}


def test_a_synchronous_job_past_its_wait_is_answered_as_an_asynchronous_one(tmp_path: Path, sleeper: str) -> None:
    server = Server(tmp_path, "--images", "serve-test-*", "--sync-wait", "1").start()
    try:
        with server.client() as client:
            answer = client.post("/processes/serve-test-sleep/execution", json={"inputs": {"SECONDS": 8}})
            assert answer.status_code == 201 and "preference-applied" not in answer.headers
            info = check("statusInfo", answer.json())
            assert answer.headers["location"].endswith(info["jobID"])
            assert wait_for(client, info["jobID"])["status"] == "successful"
    finally:
        server.stop()


def test_slow_clients_hold_no_worker(server: Server) -> None:
    import socket

    slow = []
    for _ in range(60):
        sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)
        sock.sendall(b"POST /processes/serve-test-sleep/execution HTTP/1.1\r\nHost: x\r\n"
                     b"Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"inp")
        slow.append(sock)
    try:
        started = time.monotonic()
        with server.client() as client:
            for _ in range(5):
                assert client.get("/processes").status_code == 200
        assert time.monotonic() - started < 30
    finally:
        for sock in slow:
            sock.close()


def test_a_server_stopped_with_jobs_queued_runs_them_after_a_restart(tmp_path: Path, sleeper: str,
                                                                     docker_client: Any) -> None:
    args = ("--images", "serve-test-*", "--parallel", "1")
    server = Server(tmp_path, *args).start()
    with server.client() as client:
        ids = [client.post("/processes/serve-test-sleep/execution", json={"inputs": {"SECONDS": seconds}},
                           headers={"Prefer": "respond-async"}).json()["jobID"] for seconds in (300, 0)]
        assert wait_for(client, ids[0], ("running",), 120)["status"] == "running"
    server.stop()  # SIGINT: running runs are stopped, queued ones stay accepted
    assert _containers(docker_client, ids[0]) == []
    again = Server(tmp_path, *args, port=server.port).start()
    try:
        with again.client() as client:
            stopped = check("statusInfo", client.get(f"/jobs/{ids[0]}").json())
            assert stopped["status"] == "failed" and stopped["message"]
            assert wait_for(client, ids[1])["status"] == "successful"
    finally:
        again.stop()


def test_a_server_that_cannot_work_says_why_in_one_line(tmp_path: Path) -> None:
    import os

    (tmp_path / "runs.sqlite3").write_text("not a database")
    env = {**os.environ, "SEED_HOME": str(tmp_path)}
    corrupt = subprocess.run([SEED, "serve", "--port", "1"], env=env, capture_output=True, text=True, timeout=60)
    assert corrupt.returncode == 4 and corrupt.stderr.count("\n") == 1 and "corrupt" in corrupt.stderr
    (tmp_path / "runs.sqlite3").unlink()
    away = subprocess.run([SEED, "serve", "--port", "1"], env={**env, "DOCKER_HOST": "unix:///nonexistent.sock"},
                          capture_output=True, text=True, timeout=60)
    assert away.returncode == 4 and away.stderr.count("\n") == 1 and "does not answer" in away.stderr
    tokens = tmp_path / "tokens"
    tokens.write_text("short\n")
    bad = subprocess.run([SEED, "serve", "--host", "0.0.0.0", "--token-file", str(tokens)], env=env,
                         capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and "line 1" in bad.stderr and "short" not in bad.stderr.replace("--token-file", "")
    with socket.socket() as taken:  # a port another program listens on: one line, exit 4, no banner first
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        busy = subprocess.run([SEED, "serve", "--port", port, "--images", "matches-nothing"], env=env,
                              capture_output=True, text=True, timeout=60)
    assert busy.returncode == 4 and busy.stderr.count("\n") == 1, busy.stderr
    assert f"127.0.0.1:{port}" in busy.stderr and "in use" in busy.stderr and "http://" not in busy.stderr
    tokens.write_text("a-token-long-enough-0123456789 execute\n")
    elsewhere = subprocess.run([SEED, "serve", "--host", "192.0.2.1", "--port", port, "--token-file", str(tokens),
                                "--images", "matches-nothing"], env=env, capture_output=True, text=True, timeout=60)
    assert elsewhere.returncode == 4 and elsewhere.stderr.count("\n") == 1, elsewhere.stderr  # not this machine's
    assert "192.0.2.1" in elsewhere.stderr and "cannot listen" in elsewhere.stderr
