"""`seed serve --executor dask`: jobs run as Dask tasks on a real cluster on loopback (tests/dask_cluster.py),
and are still runs of the server's run store."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from dask_cluster import WorkerSpec, start_cluster  # noqa: E402
from ogc_schemas import check  # noqa: E402
from serve_fixture import SEED, Server  # noqa: E402
from serve_fixture import wait_for  # noqa: E402
from test_serve import _stats_request, sleeper  # noqa: E402,F401 - sleeper: the fixture

pytestmark = pytest.mark.engine


def test_jobs_run_on_a_dask_cluster(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SEED_HOME", str(tmp_path))  # the workers record in the same store
    shared = tmp_path / "shared"
    shared.mkdir()
    cluster = start_cluster([WorkerSpec("w1")], tmp_path / "dask")
    server = None
    try:
        server = Server(tmp_path, "--images", "python-stats-*", "--executor", "dask", "--scheduler",
                        cluster.address, "--shared-dir", str(shared)).start()
        with server.client() as client:
            answer = client.post("/processes/python-stats/execution", json=_stats_request(["SUMMARY",
                                                                                          "OVERALL_MEAN"]))
            assert answer.status_code == 200, answer.text
            results = check("results", answer.json())
            assert results["OVERALL_MEAN"] == 2.625
            assert client.get(results["SUMMARY"]["href"]).json()["label"] == "served"
            job_id = answer.headers["location"].rsplit("/", 1)[1]
            assert (shared / "serve-jobs" / job_id / "run" / "result.json").is_file()
            assert check("statusInfo", client.get(f"/jobs/{job_id}").json())["status"] == "successful"
        runs = subprocess.run([SEED, "runs", "--json"], capture_output=True, text=True, check=True,
                              env={"SEED_HOME": str(tmp_path), "PATH": "/usr/bin:/bin"})
        assert job_id in [r["id"] for r in json.loads(runs.stdout)["runs"]]
    finally:
        if server is not None:
            server.stop()
        cluster.stop()


def test_a_dask_job_outlives_a_killed_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sleeper: str) -> None:
    """The run goes on on its worker when the server is killed; the restarted server shows how it ended."""
    monkeypatch.setenv("SEED_HOME", str(tmp_path))
    shared = tmp_path / "shared"
    shared.mkdir()
    cluster = start_cluster([WorkerSpec("w1")], tmp_path / "dask")
    args = ("--images", "serve-test-*", "--executor", "dask", "--scheduler", cluster.address, "--shared-dir",
            str(shared))
    server = again = None
    try:
        server = Server(tmp_path, *args).start()
        with server.client() as client:
            job_id = client.post("/processes/serve-test-sleep/execution", json={"inputs": {"SECONDS": 6}},
                                 headers={"Prefer": "respond-async"}).json()["jobID"]
            assert wait_for(client, job_id, ("running",), 120)["status"] == "running"
        server.kill()
        again = Server(tmp_path, *args, port=server.port).start()
        with again.client() as client:
            assert check("statusInfo", wait_for(client, job_id))["status"] == "successful"
            assert client.get(f"/jobs/{job_id}/results/DONE").text == "done\n"
    finally:
        for running in (server, again):
            if running is not None:
                running.stop()
        cluster.stop()
