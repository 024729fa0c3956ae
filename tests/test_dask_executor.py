"""DaskExecutor on real clusters: a `dask scheduler` and `dask worker` processes on 127.0.0.1 with declared
resources (tests/dask_cluster.py), each run a busybox job on the real engine. Every run the workers make is
recorded in the suite's run store (SEED_HOME, inherited by the workers), so the store is checked too."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any, Iterator

import pytest

from seed_runner.executors import DoesNotFit, RunOptions
from seed_runner.manifest.names import LABEL
from seed_runner.runtime.plan import RunRequest
from seed_runner.store import RunStore

from .dask_cluster import Cluster, WorkerSpec, start_cluster
from .test_run_engine import manifest

RUN_LABEL = "io.seed-runner.run-id"
PID_LABEL = "io.seed-runner.runner-pid"


def job(command: str, cpus: float | None = None, mem: float | None = None, gpus: float | None = None,
        **interface: Any) -> Any:
    scalars = [{"name": n, "value": v} for n, v in (("cpus", cpus), ("mem", mem), ("gpus", gpus)) if v]
    return manifest(command, interface={"command": command, **interface},
                    **({"resources": {"scalar": scalars}} if scalars else {}))


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    cluster = start_cluster([WorkerSpec("big", nthreads=2, resources="CPU=2,MEM=2048"),
                             WorkerSpec("small", nthreads=1, resources="CPU=1,MEM=1024")],
                            tmp_path_factory.mktemp("dask"))
    yield cluster
    cluster.stop()


@pytest.fixture(scope="module")
def client(cluster: Cluster) -> Iterator[Any]:
    from distributed import Client

    with Client(cluster.address, set_as_default=False) as client:
        yield client


@pytest.fixture
def shared(tmp_path: Path) -> Path:
    folder = tmp_path / "shared"
    folder.mkdir()
    return folder


def containers_of(docker_client: Any, run_ids: list[str]) -> list[Any]:
    return [c for run_id in run_ids
            for c in docker_client.containers.list(all=True, filters={"label": f"{RUN_LABEL}={run_id}"})]


def wait_until(check: Any, timeout: float = 60.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.1)
    raise AssertionError("timed out waiting")


def recorded(run_id: str) -> dict[str, Any]:
    with RunStore.open() as store:
        return store.get(run_id)


def assert_ended_once(futures: list[Any]) -> list[dict[str, Any]]:
    """Every future has its result; the result document, its result.json and the run store agree."""
    documents = []
    for future in futures:
        result = future.result(timeout=0)
        document = result.document
        assert document["run_id"] == future.run_id
        assert json.loads((Path(result.run_dir) / "result.json").read_text()) == document
        assert recorded(future.run_id)["status"] == document["status"]
        documents.append(document)
    assert len({d["run_id"] for d in documents}) == len(futures)
    return documents


# -- packing ------------------------------------------------------------------------------------------------


@pytest.mark.engine
def test_runs_are_packed_by_the_resources_they_declare(client: Any, cluster: Cluster, shared: Path,
                                                        build_image: Any, busybox_image: str) -> None:
    from seed_runner.executors import DaskExecutor

    # The size is read from the image's label, on a worker.
    big_job = job("sh -c 'sleep 1'", cpus=2, mem=64)
    image = build_image(labels={LABEL: json.dumps(dict(big_job.data))})
    addresses = cluster.addresses(client)
    with DaskExecutor(client, shared_dir=shared) as executor:
        assert executor.footprint(RunRequest(image=image)).cpus == 2
        big = [executor.submit(RunRequest(image=image)) for _ in range(2)]
        small = executor.submit(RunRequest(image=busybox_image), RunOptions(manifest=job("true", cpus=1, mem=64)))
        executor.close()
    assert_ended_once([*big, small])
    assert {f.worker for f in big} == {addresses["big"]}  # only the big worker has CPU=2
    # ... and it holds CPU=2 once: the two runs of 2 cpus never ran side by side, though it has 2 threads.
    first, second = sorted((f.result().document["timings"] for f in big), key=lambda t: t["started"])
    assert datetime.fromisoformat(second["started"]) >= datetime.fromisoformat(first["finished"])
    assert small.result().document["status"] == "succeeded"


def test_every_worker_is_seen_while_the_client_refreshes_its_own_copy(cluster: Cluster) -> None:
    """The client's periodic refresh of its cached scheduler identity lists no worker; reading that cache raced
    it, and a run was once refused with "no Dask worker is connected" on a cluster of two."""
    import dask
    from distributed import Client

    from seed_runner.executors.dask_cluster import _scheduler_info

    with dask.config.set({"distributed.client.scheduler-info-interval": "2ms"}), \
            Client(cluster.address, set_as_default=False) as client:
        seen = [len(_scheduler_info(client)["workers"]) for _ in range(300)]
    assert set(seen) == {2}


@pytest.mark.engine
def test_a_run_that_fits_no_worker_is_refused_at_submit(client: Any, cluster: Cluster, shared: Path,
                                                         busybox_image: str) -> None:
    from seed_runner.executors.dask import DaskExecutor, DaskSetupError

    big_address = cluster.addresses(client)["big"]
    with DaskExecutor(client, shared_dir=shared) as executor:
        for too_big in (job("true", cpus=4), job("true", cpus=1, mem=4096), job("true", gpus=1)):
            with pytest.raises(DoesNotFit) as refused:
                executor.submit(RunRequest(image=busybox_image), RunOptions(manifest=too_big))
            assert big_address in str(refused.value) and "CPU=2, MEM=2048" in str(refused.value)
            assert "\n" not in str(refused.value)
        for outside in ("/elsewhere/run", "../run"):
            with pytest.raises(DaskSetupError, match="not in the shared folder"):
                executor.submit(RunRequest(image=busybox_image, run_dir=outside), RunOptions(manifest=job("true")))
    assert list(shared.iterdir()) == []  # nothing was started


# -- run folders --------------------------------------------------------------------------------------------


def test_a_run_folder_place_is_required(tmp_path: Path) -> None:
    from seed_runner.executors.dask import DaskExecutor, DaskSetupError

    for places in ({}, {"shared_dir": tmp_path, "outputs_to": f"file://{tmp_path}"}):
        with pytest.raises(DaskSetupError, match="shared_dir .* or outputs_to"):
            DaskExecutor("tcp://127.0.0.1:1", **places)


@pytest.mark.engine
def test_the_shared_folder_probe_names_the_worker_that_does_not_see_it(tmp_path: Path, shared: Path) -> None:
    from seed_runner.executors.dask import DaskClusterError, DaskExecutor

    # The second worker lives in a mount namespace of its own, where the shared folder is an empty tmpfs.
    hidden = ("unshare", "--mount", "--propagation", "private", "sh", "-c",
              f"mount -t tmpfs tmpfs {shared} && exec")
    cluster = start_cluster([WorkerSpec("sees"), WorkerSpec("blind", wrap=hidden)], tmp_path / "dask")
    try:
        from distributed import Client

        with Client(cluster.address, set_as_default=False) as client:
            blind = cluster.addresses(client)["blind"]
            with pytest.raises(DaskClusterError) as failed:
                DaskExecutor(client, shared_dir=shared)
            assert f"Dask worker {blind} cannot use the shared folder" in str(failed.value)
            with pytest.raises(DaskClusterError, match="does not exist here"):
                DaskExecutor(client, shared_dir=tmp_path / "nowhere")
            # Seen by every worker: the probe passes and leaves nothing behind.
            DaskExecutor(client, shared_dir=tmp_path).close()
            assert not list(tmp_path.glob(".seed-runner-probe-*"))
    finally:
        cluster.stop()


@pytest.mark.engine
def test_outputs_to_gets_a_copy_of_each_run_folder(client: Any, tmp_path: Path, busybox_image: str) -> None:
    from seed_runner.executors import DaskExecutor

    writes = job("sh -c 'echo hello > ${OUTPUT_DIR}/r.txt'", outputs={"files": [{"name": "R", "pattern": "r.txt"}]})
    spool = tmp_path / "spool"
    with DaskExecutor(client, outputs_to=f"file://{tmp_path}/out", spool_dir=str(spool)) as executor:
        named = executor.submit(RunRequest(image=busybox_image, run_dir="first"), RunOptions(manifest=writes))
        unnamed = executor.submit(RunRequest(image=busybox_image), RunOptions(manifest=writes))
    for future in (named, unnamed):
        result = future.result()
        assert result.document["status"] == "succeeded"
        assert result.run_dir.parent == tmp_path / "out"
        assert (result.run_dir / "outputs/r.txt").read_text() == "hello\n"
        assert result.document["outputs_dir"] == str(result.run_dir / "outputs")
        assert json.loads((result.run_dir / "result.json").read_text()) == result.document
        assert recorded(future.run_id)["run_dir"] == str(result.run_dir)
    assert named.result().run_dir.name == "first"
    assert list(spool.iterdir()) == []  # the workers' folders are gone once copied


def folder_result(tmp_path: Path) -> Any:
    """A finished run's folder and result, as a worker has them before the copy."""
    from seed_runner.runtime.outcome import Outcome
    from seed_runner.runtime.runner import RunResult

    run_dir = tmp_path / "spool" / "abc" / "job-1"
    for sub, name, text in (("outputs", "r.txt", "out"), ("logs", "stdout.log", "log"),
                            ("work/inputs/IN", "big.bin", "input"), ("work", "input-metadata.json", "{}")):
        (run_dir / sub).mkdir(parents=True, exist_ok=True)
        (run_dir / sub / name).write_text(text)
    document = {"run_id": "abc", "status": "succeeded", "run_dir": str(run_dir),
                "outputs_dir": str(run_dir / "outputs"), "error": None, "message": None}
    (run_dir / "result.json").write_text(json.dumps(document))
    return RunResult(Outcome("succeeded"), document, run_dir)


def test_a_copy_to_outputs_to_names_the_copy_and_skips_staged_inputs(tmp_path: Path) -> None:
    import fsspec

    from seed_runner.executors.dask_outputs import copy_out

    fs = fsspec.filesystem("memory")
    fs.pipe("/bucket/runs/job-1/stale.txt", b"a lost attempt's partial copy")
    result = copy_out(folder_result(tmp_path), "memory://bucket/runs")
    assert result.run_dir is None and result.document["run_dir"] == "memory://bucket/runs/job-1"
    assert result.document["outputs_dir"] == "memory://bucket/runs/job-1/outputs"
    assert sorted(fs.find("/bucket/runs")) == ["/bucket/runs/job-1/logs/stdout.log",
                                               "/bucket/runs/job-1/outputs/r.txt", "/bucket/runs/job-1/result.json",
                                               "/bucket/runs/job-1/work/input-metadata.json"]
    assert json.loads(fs.cat("/bucket/runs/job-1/result.json")) == result.document
    assert not (tmp_path / "spool" / "abc").exists()  # the worker's own folder is gone


def test_a_copy_that_fails_is_a_system_error_and_keeps_the_folder(tmp_path: Path) -> None:
    from seed_runner.executors.dask_outputs import copy_out

    result = copy_out(folder_result(tmp_path), "file:///dev/null/runs")
    assert result.exit_status == 4 and result.document["status"] == "error"
    assert result.document["error"]["name"] == "outputs-not-copied"
    assert str(result.run_dir) in result.document["message"] and "file:///dev/null/runs" in result.document["message"]
    assert json.loads((result.run_dir / "result.json").read_text()) == result.document


# -- cancelling ---------------------------------------------------------------------------------------------


@pytest.mark.engine
def test_cancelling_stops_a_running_run_and_a_pending_one_never_starts(client: Any, shared: Path,
                                                                       busybox_image: str, docker_client: Any) -> None:
    from seed_runner.executors import DaskExecutor

    # 2 cpus: only the big worker takes it, one at a time, so the second waits.
    long = RunOptions(manifest=job("sh -c 'sleep 300'", cpus=2))
    executor = DaskExecutor(client, shared_dir=shared)
    running, pending, last = (executor.submit(RunRequest(image=busybox_image), long) for _ in range(3))
    wait_until(lambda: running.running() and containers_of(docker_client, [running.run_id]))
    assert not pending.running()
    assert pending.cancel()
    started = time.monotonic()
    assert running.cancel()
    stopped = running.result(timeout=60)
    assert time.monotonic() - started < 30
    executor.close(cancel=True, reason="interrupted")  # what a batch's Ctrl-C does
    assert last.result(timeout=0).document["status"] == "interrupted"
    assert containers_of(docker_client, [last.run_id]) == []
    assert stopped.document["status"] == "cancelled" and stopped.document["error"]["category"] == "system"
    assert containers_of(docker_client, [running.run_id]) == []
    assert recorded(running.run_id)["status"] == "cancelled"
    assert json.loads((stopped.run_dir / "result.json").read_text())["status"] == "cancelled"
    never = pending.result(timeout=60)
    assert never.document["status"] == "cancelled" and never.run_dir is None
    with pytest.raises(Exception, match="no run"):
        recorded(pending.run_id)


# -- workers that die ---------------------------------------------------------------------------------------


@pytest.mark.engine
def test_a_worker_killed_mid_batch_loses_no_run_and_counts_none_twice(client: Any, cluster: Cluster, shared: Path,
                                                                      busybox_image: str, docker_client: Any) -> None:
    from seed_runner.executors import DaskExecutor

    sleepy = RunOptions(manifest=job("sh -c 'sleep 3'", cpus=1))
    big_before = cluster.addresses(client)["big"]
    big_pid = cluster.pids(client)["big"]
    with DaskExecutor(client, shared_dir=shared) as executor:
        futures = [executor.submit(RunRequest(image=busybox_image), sleepy) for _ in range(6)]
        run_ids = [f.run_id for f in futures]
        on_big = wait_until(lambda: [c.labels[RUN_LABEL] for c in containers_of(docker_client, run_ids)
                                     if c.labels.get(PID_LABEL) == str(big_pid)])
        os.kill(big_pid, signal.SIGKILL)
        for future in executor.as_completed(futures, timeout=180):
            assert future.result().document["status"] == "succeeded"
    documents = assert_ended_once(futures)
    assert all(d["status"] == "succeeded" for d in documents)
    # One folder a run: a lost attempt's folder was emptied for the next (renamed away, then removed).
    assert sorted(p.name for p in shared.iterdir()) == sorted(Path(d["run_dir"]).name for d in documents)
    for future in futures:
        if future.run_id in on_big:  # run again elsewhere (or on the big worker once its nanny restarted it)
            assert future.worker != big_before
    assert containers_of(docker_client, run_ids) == []  # the dead worker's containers were reaped


@pytest.mark.engine
def test_a_run_whose_worker_dies_too_often_ends_as_a_system_error(tmp_path: Path, shared: Path, busybox_image: str,
                                                                  docker_client: Any) -> None:
    from distributed import Client

    from seed_runner.executors import DaskExecutor

    cluster = start_cluster([WorkerSpec("only")], tmp_path / "dask",
                            scheduler_env={"DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES": "0"})
    try:
        with Client(cluster.address, set_as_default=False) as client:
            with DaskExecutor(client, shared_dir=shared) as executor:
                future = executor.submit(RunRequest(image=busybox_image),
                                         RunOptions(manifest=job("sh -c 'sleep 300'")))
                wait_until(lambda: containers_of(docker_client, [future.run_id]))
                os.kill(cluster.pids(client)["only"], signal.SIGKILL)
                result = future.result(timeout=120)
            assert result.document["status"] == "error" and result.exit_status == 4
            assert result.document["error"]["name"] == "worker-lost"
            assert result.document["error"]["category"] == "system"
            assert recorded(future.run_id)["status"] == "error"
            assert containers_of(docker_client, [future.run_id]) == []  # reaped at close
    finally:
        cluster.stop()


# -- the optional dependency ----------------------------------------------------------------------------------


def test_distributed_is_imported_only_when_dask_is_asked_for() -> None:
    probe = ("import sys, seed_runner, seed_runner.executors, seed_runner.cli.app\n"
             "from seed_runner.executors import LocalExecutor, RunOptions\n"
             "assert 'distributed' not in sys.modules and 'dask' not in sys.modules, 'imported'\n"
             "from seed_runner.executors import DaskExecutor\n"
             "assert 'distributed' in sys.modules\n")
    proc = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    # Without the extra, asking for it says what to install (the CLI turns the ImportError into its one line).
    missing = ("import sys\nsys.modules['distributed'] = None\n"
               "try:\n    from seed_runner.executors import DaskExecutor\nexcept ImportError as exc:\n    print(exc)\n")
    proc = subprocess.run([sys.executable, "-c", missing], capture_output=True, text=True, timeout=60)
    assert "pip install 'seed-runner[dask]'" in proc.stdout, proc.stderr


# -- the command line -----------------------------------------------------------------------------------------

SEED = str(Path(sys.executable).with_name("seed"))
WATERMARK = "image-watermark-0.1.0-seed:0.1.0"
PNG = Path(__file__).resolve().parents[1] / "sample_jobs" / "watermark" / "example" / "input.png"


@pytest.mark.engine
def test_seed_batch_runs_on_the_cluster_from_the_command_line(cluster: Cluster, tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    for i in range(4):
        (tmp_path / "data" / f"in{i}.png").write_bytes(PNG.read_bytes())
    shared = tmp_path / "shared"
    shared.mkdir()
    proc = subprocess.run([SEED, "batch", WATERMARK, "--each", "INPUT_IMAGE=data/*.png", "--executor", "dask",
                           "--scheduler", cluster.address, "--shared-dir", str(shared), "-o", str(shared / "b")],
                          cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    batch = json.loads((shared / "b" / "batch.json").read_text())
    assert batch["counts"] == {"total": 4, "succeeded": 4}
    for run in batch["runs"]:
        assert (shared / "b" / run["run_dir"] / "result.json").exists()
        assert recorded(run["run_id"])["batch_id"] == batch["batch_id"]


@pytest.mark.engine
@pytest.mark.parametrize("extra, status, message", [
    (["--shared-dir", "/nonexistent/seed-shared"], 2, "/nonexistent/seed-shared"),
    ([], 2, None),
])
def test_seed_batch_on_a_cluster_that_cannot_hold_it_is_one_line(cluster: Cluster, tmp_path: Path,
                                                                  extra: list[str], status: int,
                                                                  message: str | None) -> None:
    (tmp_path / "in.png").write_bytes(PNG.read_bytes())
    proc = subprocess.run([SEED, "batch", WATERMARK, "--each", "INPUT_IMAGE=in.png", "--executor", "dask",
                           "--scheduler", cluster.address, *extra], cwd=tmp_path, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == status, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("seed: error: "), proc.stderr
    assert message is None or message in lines[0]


@pytest.mark.engine
def test_a_scheduler_that_does_not_answer_is_a_system_error(tmp_path: Path) -> None:
    (tmp_path / "in.png").write_bytes(PNG.read_bytes())
    with socket_closed() as port:
        proc = subprocess.run([SEED, "batch", WATERMARK, "--each", "INPUT_IMAGE=in.png", "--executor", "dask",
                               "--scheduler", f"tcp://127.0.0.1:{port}", "--shared-dir", str(tmp_path)],
                              cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 4, proc.stderr
    assert proc.stderr.startswith("seed: error: ") and len(proc.stderr.strip().splitlines()) == 1


class socket_closed:
    """A loopback port nobody listens on."""

    def __enter__(self) -> int:
        import socket

        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            return sock.getsockname()[1]

    def __exit__(self, *exc: object) -> None:
        return None
