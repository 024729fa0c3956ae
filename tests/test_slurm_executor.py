"""SlurmExecutor on a real Slurm cluster (scripts/ensure-slurm.sh starts a one-node one on this machine: munged,
slurmctld, slurmd), each run a busybox job on the real engine. What Slurm was asked is read back from
`scontrol show job`; what the runs did from their folders, the run store and the engine."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Iterator

import pytest

from seed_runner.executors import DoesNotFit, RunOptions
from seed_runner.manifest.names import LABEL
from seed_runner.runtime.plan import RunRequest
from seed_runner.store import RunStore

from .test_dask_executor import containers_of, wait_until
from .test_run_engine import manifest

ROOT = Path(__file__).resolve().parents[1]
SEED = str(Path(sys.executable).with_name("seed"))
pytestmark = pytest.mark.engine


def job(command: str, cpus: float | None = None, mem: float | None = None, timeout: int = 30, table: bool = False,
        **interface: Any) -> Any:
    """A busybox job; ``table``: with a setting N, a batch table's column."""
    scalars = [{"name": n, "value": v} for n, v in (("cpus", cpus), ("mem", mem)) if v]
    if table:
        interface["settings"] = [*interface.get("settings", []), {"name": "N"}]
    return manifest(command, interface={"command": command, **interface}, timeout=timeout,
                    **({"resources": {"scalar": scalars}} if scalars else {}))


def started(batch: subprocess.Popen, folder: Path, count: int = 1, timeout: float = 180) -> None:
    """Wait until ``count`` runs of the batch have their folders (their jobs run); the batch must not end first."""
    def check() -> bool:
        if batch.poll() is not None:
            raise AssertionError(f"the batch ended first: {batch.communicate()}")
        return len(list((folder / "runs").glob("*/outputs"))) >= count

    wait_until(check, timeout=timeout)


def sh(*argv: str, timeout: float = 60) -> str:
    return subprocess.run(list(argv), capture_output=True, text=True, check=True, timeout=timeout).stdout


@pytest.fixture(scope="module")
def slurm() -> None:
    """The cluster: started by scripts/ensure-slurm.sh when none answers (idempotent and quick)."""
    done = subprocess.run([str(ROOT / "scripts" / "ensure-slurm.sh")], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr


@pytest.fixture
def shared(tmp_path: Path) -> Path:
    folder = tmp_path / "shared"
    folder.mkdir()
    return folder


def show_job(slurm_job: str) -> dict[str, str]:
    from seed_runner.executors.slurm_parse import scontrol_fields

    return scontrol_fields(sh("scontrol", "-o", "show", "job", slurm_job))


def recorded(run_id: str) -> dict[str, Any]:
    with RunStore.open() as store:
        return store.get(run_id)


def recorded_or_none(run_id: str) -> dict[str, Any] | None:
    from seed_runner.store.runstore import RunNotFound

    try:
        return recorded(run_id)
    except RunNotFound:  # its start is recorded by a thread of the node's runner
        return None


def image_of(build_image: Any, manifest: Any) -> str:
    return build_image(labels={LABEL: json.dumps(manifest.data, default=dict)})


def test_runs_ask_slurm_for_what_they_declare_and_alike_ones_share_one_array(slurm: None, shared: Path,
                                                                             busybox_image: str) -> None:
    from seed_runner.executors.slurm import SlurmExecutor

    declared = RunOptions(manifest=job("sh -c 'echo hello > ${OUTPUT_DIR}/r.txt'", cpus=1, mem=64, timeout=30,
                                       outputs={"files": [{"name": "R", "pattern": "r.txt"}]}))
    with SlurmExecutor(shared_dir=shared, poll=0.5) as executor:
        futures = [executor.submit(RunRequest(image=busybox_image, run_dir=f"r{i}"), declared) for i in range(3)]
        results = [f.result(timeout=300) for f in futures]
    assert [r.document["status"] for r in results] == ["succeeded"] * 3, [r.document for r in results]
    jobs = [f.slurm_job for f in futures]
    assert len({j.split("_")[0] for j in jobs}) == 1 and sorted(j.split("_")[1] for j in jobs) == ["0", "1", "2"]
    asked = show_job(jobs[0])
    assert asked["JobState"] == "COMPLETED"
    assert asked["NumCPUs"] == "1" and asked["MinMemoryNode"] == "64M"
    assert asked["TimeLimit"] == "00:03:00"  # 30 s of timeout and 2 minutes of margin, in whole minutes
    assert "Requeue=0" in sh("scontrol", "-o", "show", "job", jobs[0])
    for future, result in zip(futures, results):
        assert (shared / f"r{futures.index(future)}" / "outputs" / "r.txt").read_text() == "hello\n"
        assert recorded(str(future.run_id))["executor_job"] == f"slurm:{future.slurm_job}"
    assert not list(shared.glob(".seed-slurm-*")), "the submission folders are removed at close"
    listing = subprocess.run([SEED, "runs", "--limit", "3"], capture_output=True, text=True, timeout=60).stdout
    assert f"(slurm:{jobs[0]}" in listing or any(f"(slurm:{j})" in listing for j in jobs), listing


def test_a_run_that_fits_no_node_is_refused_at_submit(slurm: None, shared: Path, busybox_image: str) -> None:
    from seed_runner.executors.slurm import SlurmExecutor, SlurmSetupError

    with SlurmExecutor(shared_dir=shared) as executor:
        with pytest.raises(DoesNotFit, match="more than any Slurm node has"):
            executor.submit(RunRequest(image=busybox_image), RunOptions(manifest=job("true", cpus=4096)))
        with pytest.raises(SlurmSetupError, match="not in the shared folder"):
            executor.submit(RunRequest(image=busybox_image, run_dir="/elsewhere/r"), RunOptions(manifest=job("true")))
    with pytest.raises(SlurmSetupError, match="refuses"):
        SlurmExecutor(shared_dir=shared, partition="no-such-partition")


def test_cancel_stops_a_running_run_and_a_pending_one_never_starts(slurm: None, shared: Path, busybox_image: str,
                                                                   docker_client: Any) -> None:
    from seed_runner.executors.slurm import SlurmExecutor

    long = RunOptions(manifest=job("sh -c 'sleep 300'", cpus=2))  # the node has 2 CPUs: one runs at a time
    with SlurmExecutor(shared_dir=shared, poll=0.5) as executor:
        running, pending = (executor.submit(RunRequest(image=busybox_image), long) for _ in range(2))
        wait_until(lambda: running.running(), timeout=120)
        wait_until(lambda: containers_of(docker_client, [str(running.run_id)]), timeout=60)
        going = wait_until(lambda: recorded_or_none(str(running.run_id)), timeout=60)
        assert going["status"] == "running" and going["executor_job"] == f"slurm:{running.slurm_job}"
        assert show_job(str(pending.slurm_job))["JobState"] == "PENDING"
        assert pending.cancel() and running.cancel()
        ran, never = running.result(timeout=120), pending.result(timeout=120)
    assert ran.document["status"] == "cancelled" and ran.run_dir is not None
    assert never.document["status"] == "cancelled" and never.run_dir is None
    assert not containers_of(docker_client, [str(running.run_id)])
    assert show_job(str(running.slurm_job))["JobState"] == "CANCELLED"
    assert show_job(str(pending.slurm_job))["JobState"] == "CANCELLED"


def test_a_job_past_its_slurm_time_limit_is_a_system_error_naming_it_and_is_retried(
        slurm: None, tmp_path: Path, build_image: Any) -> None:
    image = image_of(build_image, job("sh -c 'sleep 600'", timeout=0, table=True))
    (tmp_path / "rows.csv").write_text("n\n1\n")
    proc = subprocess.run([SEED, "batch", image, "--table", "rows.csv", "--executor", "slurm", "--retries", "1",
                           "--sbatch-option=--time=1", "-o", "b", "-q"], cwd=tmp_path, capture_output=True,
                          text=True, timeout=600)
    assert proc.returncode == 4, proc.stderr
    batch = json.loads((tmp_path / "b" / "batch.json").read_text())
    kept = batch["options"]["executor"]  # resume makes the same executor: Slurm, with the same sbatch options
    assert kept["kind"] == "slurm" and kept["sbatch_options"] == ["--time=1"], kept
    attempts = batch["runs"][0]["attempts"]
    assert len(attempts) == 2, attempts  # the first, and its one retry
    for attempt in attempts:
        assert attempt["status"] == "error" and attempt["error"] == "worker-lost", attempt
        document = json.loads((tmp_path / "b" / attempt["run_dir"] / "result.json").read_text())
        assert "TIMEOUT" in document["message"] and "time limit" in document["message"], document


def test_ctrl_c_of_seed_batch_cancels_every_slurm_job_it_submitted(slurm: None, tmp_path: Path, build_image: Any,
                                                                   docker_client: Any) -> None:
    image = image_of(build_image, job("sh -c 'sleep 300'", cpus=1, table=True))
    (tmp_path / "rows.csv").write_text("n\n" + "".join(f"{i}\n" for i in range(5)))
    batch = subprocess.Popen([SEED, "batch", image, "--table", "rows.csv", "--executor", "slurm", "-o", "b", "-q"],
                             cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        started(batch, tmp_path / "b", 2)
        time.sleep(1)
        batch.send_signal(signal.SIGINT)
        _, err = batch.communicate(timeout=180)
    finally:
        if batch.poll() is None:
            batch.kill()
    assert batch.returncode == 130, err
    summary = json.loads((tmp_path / "b" / "batch.json").read_text())
    run_ids = [a["run_id"] for run in summary["runs"] for a in run["attempts"] if a.get("run_id")]
    assert {run["status"] for run in summary["runs"]} == {"interrupted"}, summary["runs"]
    assert not containers_of(docker_client, run_ids)
    mine = [line for line in sh("squeue", "-h", "-o", "%i %j").splitlines() if image.split("/")[-1][:8] in line
            or "seed-" in line]
    assert not mine, f"jobs left in the queue: {mine}"


def test_a_run_whose_node_is_lost_ends_worker_lost_and_is_retried(slurm: None, tmp_path: Path, build_image: Any,
                                                                  docker_client: Any) -> None:
    image = image_of(build_image, job("sh -c 'sleep 60'", timeout=300, table=True))  # outlives the ~25 s Slurm takes
    (tmp_path / "rows.csv").write_text("n\n1\n")
    batch = subprocess.Popen([SEED, "batch", image, "--table", "rows.csv", "--executor", "slurm", "--retries", "1",
                              "-o", "b", "-q"], cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True)
    try:
        started(batch, tmp_path / "b")
        for pid in sh("pgrep", "-x", "slurmd").split():
            os.kill(int(pid), signal.SIGKILL)  # the node's daemon dies; the job's step (and its run) go on
        wait_until(lambda: "NODE_FAIL" in sh("squeue", "-h", "--states=all", "-o", "%T"), timeout=120)
        subprocess.run([str(ROOT / "scripts" / "ensure-slurm.sh")], check=True, timeout=300, capture_output=True)
        _, err = batch.communicate(timeout=400)
    finally:
        if batch.poll() is None:
            batch.kill()
        subprocess.run([str(ROOT / "scripts" / "ensure-slurm.sh")], timeout=300, capture_output=True)
    summary = json.loads((tmp_path / "b" / "batch.json").read_text())
    attempts = summary["runs"][0]["attempts"]
    assert attempts[0]["status"] == "error" and attempts[0]["error"] == "worker-lost", attempts
    first = json.loads((tmp_path / "b" / attempts[0]["run_dir"] / "result.json").read_text())
    assert "NODE_FAIL" in first["message"], first
    assert len(attempts) == 2 and attempts[1]["status"] == "succeeded", (attempts, err)
    assert batch.returncode == 0, err
    wait_until(lambda: not containers_of(docker_client, [attempts[0]["run_id"]]), timeout=120)


def test_secrets_reach_the_run_but_never_slurm_or_a_file_left_on_disk(slurm: None, tmp_path: Path,
                                                                      build_image: Any) -> None:
    secret = f"s3cr3t-{os.urandom(6).hex()}"
    image = image_of(build_image, job(f"sh -c 'test ${{#TOKEN}} -eq {len(secret)} && sleep 5'",
                                      settings=[{"name": "TOKEN", "secret": True}], table=True))
    (tmp_path / "rows.csv").write_text("n\n1\n2\n")
    env = {**os.environ, "TOKEN": secret}
    batch = subprocess.Popen([SEED, "batch", image, "--table", "rows.csv", "--executor", "slurm", "-e", "TOKEN",
                              "-o", "b", "-q"], cwd=tmp_path, env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    seen = []
    try:
        started(batch, tmp_path / "b")
        for line in sh("squeue", "-h", "-o", "%A").split():
            seen.append(sh("scontrol", "-dd", "show", "job", line))
            seen.append(subprocess.run(["scontrol", "write", "batch_script", line, "-"], capture_output=True,
                                       text=True, timeout=60).stdout)
        _, err = batch.communicate(timeout=300)
    finally:
        if batch.poll() is None:
            batch.kill()
    assert batch.returncode == 0, err
    assert seen and not any(secret in text for text in seen)
    left = subprocess.run(["grep", "-rl", secret, "/var/spool/slurmctld", "/var/spool/slurmd", str(tmp_path / "b")],
                          capture_output=True, text=True, timeout=120).stdout
    assert not left.strip(), left


def test_seed_conformance_passes_on_slurm(slurm: None, tmp_path: Path) -> None:
    proc = subprocess.run([SEED, "conformance", "--executor", "slurm", "--shared-dir", str(tmp_path)],
                          capture_output=True, text=True, timeout=1200, cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_ensure_slurm_is_quick_when_the_cluster_answers(slurm: None) -> None:
    began = time.monotonic()
    done = subprocess.run([str(ROOT / "scripts" / "ensure-slurm.sh")], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and "answers" in done.stderr, done.stderr
    assert time.monotonic() - began < 10


@pytest.mark.parametrize("extra, env, status, words", [
    (["--partition", "debug"], {}, 2, "--executor slurm"),  # a Slurm option without the Slurm executor
    (["--executor", "slurm", "--sbatch-option", "--export=ALL"], {}, 2, "--export"),
    (["--executor", "slurm"], {"PATH": "/nonexistent"}, 4, "sbatch is not on the PATH"),
])
def test_seed_batch_refuses_what_slurm_cannot_take_in_one_line(tmp_path: Path, extra: list[str],
                                                                 env: dict[str, str], status: int,
                                                                 words: str) -> None:
    (tmp_path / "rows.csv").write_text("N\n1\n")
    proc = subprocess.run([SEED, "batch", "seed-runner/busybox:1", "--table", "rows.csv", *extra],
                          cwd=tmp_path, capture_output=True, text=True, timeout=120, env={**os.environ, **env})
    assert proc.returncode == status, proc.stderr
    assert words in proc.stderr and "Traceback" not in proc.stderr, proc.stderr
