"""`seed serve --pipeline FILE`: the tutorial's `shout` pipeline served by a real `seed serve` (a real uvicorn on
loopback, a real engine), described, executed (httpx and OWSLib), listed, dismissed, and ended after a kill -9;
every document checked against the official OGC API - Processes 1.0 schemas."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from seed_runner.engine.runner_identity import RUN_LABEL

sys.path.insert(0, str(Path(__file__).parent))
from ogc_schemas import check  # noqa: E402
from pipeline_fixtures import EXAMPLE, text_jobs  # noqa: E402,F401
from serve_fixture import SEED, Server, secret_manifest, wait_for  # noqa: E402
from loopback import serving, text_handler  # noqa: E402

pytestmark = pytest.mark.engine
TEXT = b"hello world\nsecond line\nthird\n"
NO_IMAGES = ("--images", "serve-pipeline-test-none-*")  # only the pipelines are processes
SLOW = EXAMPLE.replace("name: shout", "name: slow-shout").replace(
    "inputs: {PART: item}", "inputs: {PART: item, DELAY: {value: 90}}")


def _write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text)
    return path


def _inline(data: bytes) -> dict[str, Any]:
    import base64

    return {"value": base64.b64encode(data).decode(), "encoding": "base64", "mediaType": "text/plain"}


def _runs_under(home: Path, folder: Path) -> list[tuple[str, str]]:
    with sqlite3.connect(home / "runs.sqlite3") as db:
        return db.execute("SELECT id, status FROM runs WHERE run_dir LIKE ?", [f"{folder}%"]).fetchall()


def _containers(docker_client: Any, run_ids: list[str]) -> list[Any]:
    found = []
    for run_id in run_ids:
        found += docker_client.api.containers(all=True, filters={"label": f"{RUN_LABEL}={run_id}"})
    return found


def _run_ids(folder: Path) -> list[str]:
    try:
        state = json.loads((folder / "pipeline.json").read_text())
    except (OSError, ValueError):
        return []
    return [r["run_id"] for s in state["steps"].values() for r in s["runs"]]


def _wait_for_containers(docker_client: Any, folder: Path, timeout: float = 120) -> list[str]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ids = _run_ids(folder)
        if ids and any(r.startswith("upper") for r in os.listdir(folder / "runs")) and \
                _containers(docker_client, ids):
            return ids
        time.sleep(0.3)
    raise AssertionError(f"no container of the pipeline in {folder} started in {timeout} s")


def test_a_pipeline_is_a_process_described_executed_and_listed(tmp_path: Path, text_jobs: Any) -> None:
    shout = _write(tmp_path, "shout.yaml", EXAMPLE)
    (tmp_path / "in.txt").write_bytes(TEXT)
    cli_home = tmp_path / "cli-home"
    ran = subprocess.run([SEED, "pipeline", "run", str(shout), "-i", f"TEXT={tmp_path / 'in.txt'}", "-o",
                          str(tmp_path / "cli")], capture_output=True, text=True, timeout=600,
                         env={**os.environ, "SEED_HOME": str(cli_home)})
    assert ran.returncode == 0, ran.stderr
    expected = (tmp_path / "cli" / "outputs" / "SHOUTED" / "joined.txt").read_bytes()
    assert expected == TEXT.upper()

    server = Server(tmp_path, *NO_IMAGES, "--pipeline", str(shout), "--sync-wait", "120").start()
    try:
        with server.client() as client:
            listing = check("processList", client.get("/processes").json())
            assert [p["id"] for p in listing["processes"]] == ["shout"]
            described = check("process", client.get("/processes/shout").json())
            assert "pipeline" in described["description"] and "pipeline" in described["keywords"]
            assert [s["name"] for s in described["seedPipeline"]["steps"]] == ["split", "upper", "join"]
            assert described["inputs"]["TEXT"]["schema"] == {"type": "string", "contentEncoding": "binary",
                                                             "contentMediaType": "text/plain"}
            assert described["inputs"]["LIMIT"] == {"title": "LIMIT", "schema": {"type": "integer"},
                                                    "minOccurs": 0, "maxOccurs": 1}
            assert list(described["outputs"]) == ["SHOUTED"]
            assert client.get(f"/processes/shout?version={described['version']}").status_code == 200
            assert client.get("/processes/shout?version=0.0.1").status_code == 404

            # Asynchronous, through httpx: the job is recorded before the 201.
            answer = client.post("/processes/shout/execution", json={"inputs": {"TEXT": _inline(TEXT)}},
                                 headers={"Prefer": "respond-async"})
            assert answer.status_code == 201
            job_id = check("statusInfo", answer.json())["jobID"]
            assert client.get(answer.headers["location"]).status_code == 200
            info = check("statusInfo", wait_for(client, job_id, timeout=300))
            assert info["status"] == "successful" and info["processID"] == "shout"
            results = client.get(f"/jobs/{job_id}/results").json()
            assert client.get(results["SHOUTED"]["href"]).content == expected

            # Synchronous, through OWSLib; a LIMIT below the parts' count skips join: no output, still a success.
            from owslib.ogcapi.processes import Processes

            api = Processes(server.url)
            done = api.execute("shout", {"TEXT": _inline(TEXT)})
            assert client.get(done["SHOUTED"]["href"]).content == expected
            skipped = client.post("/processes/shout/execution", json={"inputs": {"TEXT": _inline(TEXT),
                                                                                  "LIMIT": 1}})
            assert skipped.status_code == 200 and skipped.json() == {}

            jobs = check("jobList", client.get("/jobs", params={"limit": 100}).json())["jobs"]
            assert len(jobs) == 3 and {j["processID"] for j in jobs} == {"shout"}  # no step run is a job
            assert job_id in {j["jobID"] for j in jobs}
            bad = client.post("/processes/shout/execution", json={"inputs": {"LIMIT": 1}})
            assert bad.status_code == 400 and "TEXT" in bad.json()["detail"]
    finally:
        server.stop()


def test_dismissing_a_pipeline_job_stops_its_runs_and_removes_what_it_wrote(tmp_path: Path, text_jobs: Any,
                                                                           docker_client: Any) -> None:
    slow = _write(tmp_path, "slow.yaml", SLOW)
    server = Server(tmp_path, *NO_IMAGES, "--pipeline", str(slow)).start()
    try:
        with server.client() as client:
            job_id = client.post("/processes/slow-shout/execution", json={"inputs": {"TEXT": _inline(TEXT)}},
                                 headers={"Prefer": "respond-async"}).json()["jobID"]
            folder = tmp_path / "serve-jobs" / job_id
            ids = _wait_for_containers(docker_client, folder / "run")
            assert wait_for(client, job_id, ("running",), 60)["status"] == "running"
            gone = client.delete(f"/jobs/{job_id}")
            assert gone.status_code == 200 and check("statusInfo", gone.json())["status"] == "dismissed"
            assert _containers(docker_client, ids) == []
            assert not folder.exists()
            assert _runs_under(tmp_path, folder) == []  # neither the job's record nor its runs'
            assert client.get(f"/jobs/{job_id}").status_code == 404
            assert client.get("/jobs").json()["jobs"] == []
    finally:
        server.stop()


def test_a_pipeline_job_running_when_its_server_was_killed_ends_failed(tmp_path: Path, text_jobs: Any,
                                                                      docker_client: Any) -> None:
    slow = _write(tmp_path, "slow.yaml", SLOW)
    args = (*NO_IMAGES, "--pipeline", str(slow))
    server = Server(tmp_path, *args).start()
    with server.client() as client:
        job_id = client.post("/processes/slow-shout/execution", json={"inputs": {"TEXT": _inline(TEXT)}},
                             headers={"Prefer": "respond-async"}).json()["jobID"]
        ids = _wait_for_containers(docker_client, tmp_path / "serve-jobs" / job_id / "run")
    server.kill()
    again = Server(tmp_path, *args, port=server.port).start()
    try:
        with again.client() as client:
            info = check("statusInfo", client.get(f"/jobs/{job_id}").json())
            assert info["status"] == "failed" and "server stopped" in info["message"]
            assert _containers(docker_client, ids) == []
            assert not (tmp_path / "serve-jobs" / job_id / "run").exists()
            assert [status for _, status in _runs_under(tmp_path, tmp_path / "serve-jobs" / job_id)] == ["error"]
    finally:
        again.stop()


def test_a_pipeline_with_errors_refuses_to_start_in_one_line(tmp_path: Path, text_jobs: Any) -> None:
    bad = _write(tmp_path, "bad.yaml", EXAMPLE.replace("upper.UPPER", "upper.LOUDER"))
    refused = subprocess.run([SEED, "serve", "--port", "1", "--pipeline", str(bad)], capture_output=True,
                             text=True, timeout=120, env={**os.environ, "SEED_HOME": str(tmp_path)})
    assert refused.returncode == 2
    assert refused.stderr.count("\n") == 1, refused.stderr
    assert f"{bad}:17:" in refused.stderr and "LOUDER" in refused.stderr and "Traceback" not in refused.stderr
    missing = subprocess.run([SEED, "serve", "--port", "1", "--pipeline", str(tmp_path / "none.yaml")],
                             capture_output=True, text=True, timeout=120, env={**os.environ,
                                                                                "SEED_HOME": str(tmp_path)})
    assert missing.returncode == 2 and missing.stderr.count("\n") == 1 and "none.yaml" in missing.stderr


SECRET_JOB = "serve-pipeline-test-secret-1.0.0-seed:1.0.0"
SECRET_MANIFEST = secret_manifest("serve-pipeline-test-secret")
SECRETIVE = f"""\
seedPipeline: "1.0"
name: secretive
steps:
  use:
    image: {SECRET_JOB}
    settings: {{REGION: eu}}
outputs:
  USED: use.USED
"""


def test_a_pipeline_s_secrets_come_only_from_the_server_s_configuration(tmp_path: Path, docker_client: Any,
                                                                        busybox_image: str) -> None:
    from conftest import _build

    _build(docker_client, {"Dockerfile": f"FROM {busybox_image}\n".encode()}, SECRET_JOB,
           {"com.ngageoint.seed.manifest": json.dumps(SECRET_MANIFEST)})
    secret = "s3cr3t-pipeline-value-never-shown"
    pipeline = _write(tmp_path, "secretive.yaml", SECRETIVE)
    try:
        refused = subprocess.run([SEED, "serve", "--port", "1", "--pipeline", str(pipeline)], capture_output=True,
                                 text=True, timeout=120, env={**os.environ, "SEED_HOME": str(tmp_path)})
        assert refused.returncode == 2 and refused.stderr.count("\n") == 1, refused.stderr
        assert "API_KEY" in refused.stderr and "--config" in refused.stderr
        config = _write(tmp_path, "serve.json", json.dumps({"processes": {"secretive": {"settings": {
            "API_KEY": secret}}}}))
        server = Server(tmp_path, *NO_IMAGES, "--pipeline", str(pipeline), "--config", str(config),
                        "--sync-wait", "120").start()
        seen = []
        try:
            with server.client() as client:
                described = client.get("/processes/secretive")
                assert described.json()["inputs"] == {}
                mine = client.post("/processes/secretive/execution", json={"inputs": {"API_KEY": "mine"}})
                assert mine.status_code == 400 and "unknown input 'API_KEY'" in mine.json()["detail"]
                results = client.post("/processes/secretive/execution", json={"inputs": {}})
                assert results.status_code == 200, results.text
                job_id = results.headers["location"].rsplit("/", 1)[1]
                assert client.get(results.json()["USED"]["href"]).text.strip() == secret  # the step had it
                for path in ("/processes", f"/jobs/{job_id}", f"/jobs/{job_id}?f=html", "/jobs",
                             f"/jobs/{job_id}/results"):
                    seen.append(client.get(path).text)
                seen += [described.text, results.text]
        finally:
            server.stop()
        seen.append(server.log.read_text())
        seen.append((tmp_path / "serve-jobs" / job_id / "run" / "pipeline.json").read_text())
        with sqlite3.connect(tmp_path / "runs.sqlite3") as db:
            seen += [str(row) for row in db.execute("SELECT * FROM runs")]
        assert len(seen) > 8 and not [text for text in seen if secret in text]
    finally:
        docker_client.images.remove(SECRET_JOB, force=True)


def test_a_pipeline_job_running_when_its_server_is_stopped_ends_failed(tmp_path: Path, text_jobs: Any,
                                                                       docker_client: Any) -> None:
    slow = _write(tmp_path, "slow.yaml", SLOW)
    args = (*NO_IMAGES, "--pipeline", str(slow))
    server = Server(tmp_path, *args).start()
    with server.client() as client:
        job_id = client.post("/processes/slow-shout/execution", json={"inputs": {"TEXT": _inline(TEXT)}},
                             headers={"Prefer": "respond-async"}).json()["jobID"]
        ids = _wait_for_containers(docker_client, tmp_path / "serve-jobs" / job_id / "run")
    server.stop()  # SIGINT: the runs are stopped
    assert _containers(docker_client, ids) == []
    again = Server(tmp_path, *args, port=server.port).start()
    try:
        with again.client() as client:
            info = check("statusInfo", client.get(f"/jobs/{job_id}").json())
            assert info["status"] == "failed" and "server stopped" in info["message"]
    finally:
        again.stop()


def test_a_pipeline_s_reference_is_fetched_by_the_server_under_its_address_rules(tmp_path: Path,
                                                                               text_jobs: Any) -> None:
    shout = _write(tmp_path, "shout.yaml", EXAMPLE)
    with serving(text_handler(TEXT)) as port:
        href = f"http://127.0.0.1:{port}/in.txt"
        for allowed, expected in (((), "failed"), (("--allow-url", "127.0.0.1"), "successful")):
            server = Server(tmp_path, *NO_IMAGES, "--pipeline", str(shout), *allowed).start()
            try:
                with server.client() as client:
                    job_id = client.post("/processes/shout/execution", json={"inputs": {"TEXT": {"href": href}}},
                                         headers={"Prefer": "respond-async"}).json()["jobID"]
                    info = check("statusInfo", wait_for(client, job_id, timeout=300))
                    assert info["status"] == expected, info
                    if expected == "failed":
                        assert "127.0.0.1" in info["message"] and not (tmp_path / "serve-jobs" / job_id /
                                                                        "run").exists()  # no step ran
                    else:
                        result = client.get(f"/jobs/{job_id}/results").json()
                        assert client.get(result["SHOUTED"]["href"]).content == TEXT.upper()
            finally:
                server.stop()


def test_an_accepted_pipeline_job_runs_after_its_server_was_killed(tmp_path: Path, text_jobs: Any) -> None:
    import threading

    answer = threading.Event()
    args = (*NO_IMAGES, "--pipeline", str(_write(tmp_path, "shout.yaml", EXAMPLE)), "--allow-url", "127.0.0.1")
    # The job stays accepted while its reference is fetched: the answer waits for the server's kill.
    with serving(text_handler(TEXT, before=lambda: answer.wait(120))) as port:
        href = f"http://127.0.0.1:{port}/in.txt"
        server = Server(tmp_path, *args).start()
        with server.client() as client:
            job_id = client.post("/processes/shout/execution", json={"inputs": {"TEXT": {"href": href}}},
                                 headers={"Prefer": "respond-async"}).json()["jobID"]
            assert client.get(f"/jobs/{job_id}").json()["status"] == "accepted"
        server.kill()
        answer.set()
        again = Server(tmp_path, *args, port=server.port).start()
        try:
            with again.client() as client:
                assert check("statusInfo", wait_for(client, job_id, timeout=300))["status"] == "successful"
                result = client.get(f"/jobs/{job_id}/results").json()
                assert client.get(result["SHOUTED"]["href"]).content == TEXT.upper()
        finally:
            again.stop()
