"""The example pipeline on a real Dask cluster (a scheduler and two workers on loopback), one worker killed
mid-pipeline: Dask runs its task again elsewhere, the pipeline succeeds with the same outputs, and no
container is left behind."""

from __future__ import annotations

import os
import signal
import subprocess
import time
import uuid
from pathlib import Path
from typing import Any, Iterator

import pytest

from .dask_cluster import Cluster, WorkerSpec, start_cluster
from .pipeline_fixtures import EXAMPLE, SEED, containers_left, run_ids, state, text_jobs  # noqa: F401

pytestmark = pytest.mark.engine
PID_LABEL = "io.seed-runner.runner-pid"
SLOW = EXAMPLE.replace("  LIMIT: {type: integer, default: 10}\n",
                       "  LIMIT: {type: integer, default: 10}\n  DELAY: {type: integer, default: 3}\n") \
    .replace("inputs: {PART: item}", "inputs: {PART: item, DELAY: inputs.DELAY}")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    cluster = start_cluster([WorkerSpec("doomed", nthreads=2), WorkerSpec("spare", nthreads=2)],
                            tmp_path_factory.mktemp("dask-pipeline"))
    yield cluster
    cluster.stop()


def test_a_worker_killed_mid_pipeline(cluster: Cluster, tmp_path: Path, text_jobs: Any, docker_client: Any) -> None:
    from distributed import Client

    shared = tmp_path / "shared"
    shared.mkdir()
    pipeline = tmp_path / "slow.yaml"
    pipeline.write_text(SLOW)
    lines = [f"{uuid.uuid4().hex} {n}" for n in range(4)]  # never seen: nothing comes from the cache
    text = tmp_path / "in.txt"
    text.write_text("".join(f"{line}\n" for line in lines))
    folder = shared / "p"
    with Client(cluster.address, set_as_default=False) as client:
        doomed = cluster.pids(client)["doomed"]
    process = subprocess.Popen([SEED, "pipeline", "run", str(pipeline), "-i", f"TEXT={text}", "-o", str(folder),
                                "--executor", "dask", "--scheduler", cluster.address, "--shared-dir", str(shared)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=dict(os.environ))
    deadline = time.monotonic() + 120
    while True:  # an upper run's container on the doomed worker's engine, started by that worker
        assert time.monotonic() < deadline and process.poll() is None, process.stderr and process.stderr.read()
        if (folder / "pipeline.json").exists() and [
                c for c in containers_left(docker_client, run_ids(folder), running_only=True)
                if c["Labels"].get(PID_LABEL) == str(doomed)]:
            break
        time.sleep(0.1)
    os.kill(doomed, signal.SIGKILL)
    _, stderr = process.communicate(timeout=300)
    assert process.returncode == 0, stderr.decode()
    expected = "".join(f"{line.upper()}\n" for line in lines).encode()
    assert (folder / "outputs/SHOUTED/joined.txt").read_bytes() == expected
    steps = state(folder)["steps"]
    assert [len(s["runs"]) for s in steps.values()] == [1, 4, 1]
    assert all(r["status"] == "succeeded" for s in steps.values() for r in s["runs"])
    deadline = time.monotonic() + 60  # the dead worker's container: reaped by the next run on its engine
    while containers_left(docker_client, run_ids(folder)) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert containers_left(docker_client, run_ids(folder)) == []
