"""`seed batch` on real Dask clusters (a `dask scheduler` and `dask worker` processes, tests/dask_cluster.py) when
the cluster misbehaves (issue 16, items 3, 4 and 6; issue 17, edge 4): a batch folder the workers would not see,
a scheduler that dies mid-batch, resume on the batch's own executor, a worker that joins without the shared
folder. Each test failed before its fix."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Any, Iterator

import pytest

from seed_runner import load_manifest
from seed_runner.executors import RunOptions
from seed_runner.runtime.plan import RunRequest

from .dask_cluster import Cluster, WorkerSpec, add_worker, start_cluster
from .test_batch import CHECKER, SEED

pytestmark = pytest.mark.engine


def wait_until(check: Any, timeout: float = 120.0, what: str = "it") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def shared(tmp_path: Path) -> Path:
    folder = tmp_path / "shared"
    folder.mkdir()
    (folder / "job.json").write_text(json.dumps(CHECKER))
    (folder / "d.txt").write_text("x")
    return folder


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    cluster = start_cluster([WorkerSpec("w", nthreads=2)], tmp_path_factory.mktemp("dask"))
    yield cluster
    cluster.stop()


def batch(busybox_image: str, *args: str, cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run([SEED, "batch", busybox_image, "--manifest", "job.json", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=timeout)


def test_a_batch_folder_off_the_shared_folder_is_refused_before_anything_is_written(
        cluster: Cluster, shared: Path, busybox_image: str) -> None:
    dask = ["--executor", "dask", "--scheduler", cluster.address, "--shared-dir", str(shared)]
    off = batch(busybox_image, "--each", "DATA=d.txt", "-j", "PAUSE=0", *dask, "-o", str(shared.parent / "off"),
                cwd=shared)
    assert off.returncode == 2, off.stderr
    assert f"is not in the shared folder {shared}" in off.stderr and off.stderr.count("\n") == 1
    assert not (shared.parent / "off").exists()  # before: a batch.json left running and pending for good
    # Without -o, the batch folder is made in the shared folder: the README's example works as written.
    ran = batch(busybox_image, "--each", "DATA=d.txt", "-j", "PAUSE=0", *dask, cwd=shared)
    assert ran.returncode == 0, ran.stderr
    made = [p for p in shared.iterdir() if p.name.startswith("batch-checker-")]
    assert len(made) == 1 and json.loads((made[0] / "batch.json").read_text())["counts"] == {"total": 1,
                                                                                              "succeeded": 1}


def test_a_scheduler_that_dies_mid_batch_is_exit_4_and_resume_repeats_no_finished_row(
        tmp_path: Path, shared: Path, busybox_image: str, docker_client: Any) -> None:
    first = start_cluster([WorkerSpec("w", nthreads=3)], tmp_path / "dask1")
    second = None
    try:
        (shared / "runs.csv").write_text("DATA,PAUSE\nd.txt,0\nd.txt,12\nd.txt,12\n")
        proc = subprocess.Popen([SEED, "batch", busybox_image, "--manifest", "job.json", "--table", "runs.csv",
                                 "--executor", "dask", "--scheduler", first.address, "--shared-dir", str(shared),
                                 "-o", "b"], cwd=shared, stderr=subprocess.PIPE, text=True)
        runs = shared / "b" / "runs"
        wait_until(lambda: runs.is_dir() and list(runs.glob("0001-*/result.json")) and len(
            docker_client.containers.list(filters={"label": "io.seed-runner.job=checker", "status": "running"})) == 2,
            what="row 1 to end and rows 2 and 3 to run")
        os.killpg(first.processes[0].pid, signal.SIGKILL)  # the scheduler, mid-batch
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 4, err  # before: 70
        written = json.loads((shared / "b" / "batch.json").read_text())
        assert written["complete"] is False and written["status"] == "error"
        assert [r["status"] for r in written["runs"]] == ["succeeded", "error", "error"]
        assert [r["error"] for r in written["runs"][1:]] == ["scheduler-lost"] * 2
        assert "seed batch resume" in err
        # Resume makes the batch's own executor: the Dask scheduler it recorded, which is gone (before: the rows ran
        # on this machine's engine instead).
        gone = subprocess.run([SEED, "batch", "resume", "b"], cwd=shared, capture_output=True, text=True, timeout=120)
        assert gone.returncode == 4 and f"no Dask scheduler answers at {first.address}" in gone.stderr, gone.stderr
        # The rows kept running on their worker and ended there: their folders say so.
        wait_until(lambda: len(list(runs.glob("*/result.json"))) == 3, what="rows 2 and 3 to end on their worker")
        second = start_cluster([WorkerSpec("w2")], tmp_path / "dask2")
        again = subprocess.run([SEED, "batch", "resume", "b", "--scheduler", second.address, "--shared-dir",
                                str(shared)], cwd=shared, capture_output=True, text=True, timeout=300)
        assert again.returncode == 0, again.stderr
        assert len(list(runs.iterdir())) == 3  # before: rows 2 and 3 ran again
        resumed = json.loads((shared / "b" / "batch.json").read_text())
        assert resumed["counts"] == {"total": 3, "succeeded": 3} and resumed["complete"] is True
        assert resumed["options"]["executor"]["scheduler"] == second.address
    finally:
        first.stop()
        if second is not None:
            second.stop()


def test_a_worker_that_joins_without_the_shared_folder_runs_nothing_in_it(
        cluster: Cluster, tmp_path: Path, shared: Path, busybox_image: str) -> None:
    from distributed import Client

    from seed_runner.executors import DaskExecutor

    # The late worker lives in a mount namespace of its own, where the shared folder is an empty tmpfs.
    hidden = ("unshare", "--mount", "--propagation", "private", "sh", "-c", f"mount -t tmpfs tmpfs {shared} && exec")
    own = start_cluster([WorkerSpec("sees")], tmp_path / "dask")
    try:
        with Client(own.address, set_as_default=False) as client:
            executor = DaskExecutor(client, shared_dir=shared)  # probed: only "sees" is there
            add_worker(own, WorkerSpec("blind", wrap=hidden), tmp_path / "dask")
            blind = own.addresses(client)["blind"]
            options = RunOptions(manifest=load_manifest(CHECKER))
            futures = [executor.submit(RunRequest(busybox_image, file_inputs={"DATA": [str(shared / "d.txt")]},
                                                  json_inputs={"PAUSE": 1}), options) for _ in range(12)]
            ended = [f.result(timeout=300) for f in futures]
            results = [(f.worker, result) for f, result in zip(futures, ended)]  # a future's worker, once it ended
            executor.close()
        on_blind = [result for worker, result in results if worker == blind]
        assert on_blind, "the scheduler gave the late worker nothing: the test tested nothing"
        for result in on_blind:  # before: they succeeded, in a folder nobody else sees
            assert result.document["status"] == "error" and result.run_dir is None
            assert result.document["error"]["name"] == "shared-folder-unseen"
            assert f"Dask worker {blind} does not see the shared folder {shared}" in result.document["message"]
        for worker, result in results:
            if worker != blind:
                assert result.document["status"] == "succeeded" and (result.run_dir / "result.json").is_file()
        assert not list(shared.glob(".seed-runner-share-*"))  # the marker goes at close
    finally:
        own.stop()
