"""The executor interface on the real engine: LocalExecutor packs runs by what they declare, refuses what never
fits, and cancels pending and running runs (their containers gone, the store and result.json saying so)."""

from __future__ import annotations

import concurrent.futures
import json
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from seed_runner import load_manifest
from seed_runner.executors import DoesNotFit, Executor, ExecutorClosed, LocalExecutor, RunOptions
from seed_runner.runtime.plan import RunRequest
from seed_runner.store import RunStore

from .conftest import check_result

pytestmark = pytest.mark.engine
RUN_LABEL = "io.seed-runner.run-id"


def sleeper(seconds: float = 1, *, cpus: float = 1, mem: float = 16) -> Any:
    return load_manifest({"seedVersion": "1.0.0", "job": {
        "name": "sleeper", "jobVersion": "1.0.0", "packageVersion": "1.0.0", "title": "t", "description": "d",
        "maintainer": {"name": "n", "email": "e"}, "timeout": 120,
        "resources": {"scalar": [{"name": "cpus", "value": cpus}, {"name": "mem", "value": mem}]},
        "interface": {"command": f"sleep {seconds}"}}})


def _stamp(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def most_at_once(documents: list[dict[str, Any]], weight: Any = lambda d: 1.0) -> float:
    """The largest total ``weight`` of runs whose containers ran at the same time (from their timings)."""
    events = []
    for d in documents:
        events += [(_stamp(d["timings"]["started"]), 1, weight(d)), (_stamp(d["timings"]["finished"]), 0, weight(d))]
    level = peak = 0.0
    for _, starting, w in sorted(events):  # an end before a start at the same instant
        level += w if starting else -w
        peak = max(peak, level)
    return peak


def test_the_local_executor_is_an_executor() -> None:
    assert isinstance(LocalExecutor(cpus=1, mem=100), Executor)


def test_runs_in_flight_never_declare_more_than_the_caps(busybox_image: str, tmp_path: Path) -> None:
    # Runs of 1 and 2 declared CPUs with a cap of 3: at no instant do running containers declare more than 3,
    # though 8 could run by count.
    options = RunOptions(manifest=sleeper(0.6))
    with LocalExecutor(parallel=8, cpus=3, mem=10000) as executor:
        futures = [executor.submit(RunRequest(busybox_image, run_dir=tmp_path / f"r{i}",
                                              resources={"cpus": 2.0} if i % 2 else {}), options)
                   for i in range(8)]
        documents = [f.result().document for f in executor.as_completed(futures)]
    assert [d["status"] for d in documents] == ["succeeded"] * 8
    assert most_at_once(documents, lambda d: d["resources"]["cpus"]) <= 3
    assert most_at_once(documents) >= 2  # and it did run side by side


def test_parallel_bounds_the_count(busybox_image: str, tmp_path: Path) -> None:
    options = RunOptions(manifest=sleeper(0.5, cpus=0.1))
    with LocalExecutor(parallel=2, cpus=100, mem=10000) as executor:
        futures = [executor.submit(RunRequest(busybox_image, run_dir=tmp_path / f"r{i}"), options) for i in range(6)]
        documents = [f.result().document for f in futures]
    assert most_at_once(documents) <= 2


def test_a_run_that_could_never_fit_is_refused_at_submit(busybox_image: str, tmp_path: Path) -> None:
    with LocalExecutor(cpus=2, mem=1000) as executor:
        with pytest.raises(DoesNotFit, match=r"needs 4 cpus, 16 MiB mem, more than this executor ever has "
                                             r"\(2 cpus, 1000 MiB mem, 0 gpus\)"):
            executor.submit(RunRequest(busybox_image, run_dir=tmp_path / "r", resources={"cpus": 4.0}),
                            RunOptions(manifest=sleeper()))
    assert not (tmp_path / "r").exists()


def test_cancelling_a_running_run_removes_its_container(busybox_image: str, tmp_path: Path,
                                                        docker_client: Any) -> None:
    with LocalExecutor(cpus=2, mem=1000) as executor:
        future = executor.submit(RunRequest(busybox_image, run_dir=tmp_path / "r"), RunOptions(manifest=sleeper(60)))
        for _ in range(400):
            if docker_client.containers.list(filters={"label": f"{RUN_LABEL}={future.run_id}", "status": "running"}):
                break
            time.sleep(0.05)
        else:
            pytest.fail("the run's container never ran")
        asked = time.monotonic()
        assert future.cancel()
        result = future.result(timeout=30)
        took = time.monotonic() - asked
    assert result.document["status"] == "cancelled"
    assert result.document["error"]["name"] == "cancelled"
    assert took < 10  # a short grace, not the job's 60 s
    assert docker_client.containers.list(all=True, filters={"label": f"{RUN_LABEL}={future.run_id}"}) == []
    written = check_result(json.loads((tmp_path / "r" / "result.json").read_text()))
    assert written["status"] == "cancelled"
    with RunStore.open() as store:
        assert store.get(future.run_id)["status"] == "cancelled"
    assert not future.cancel()  # ended: nothing to cancel


def test_cancelling_a_pending_run_never_starts_it(busybox_image: str, tmp_path: Path) -> None:
    with LocalExecutor(parallel=1, cpus=2, mem=1000) as executor:
        first = executor.submit(RunRequest(busybox_image, run_dir=tmp_path / "a"), RunOptions(manifest=sleeper(2)))
        second = executor.submit(RunRequest(busybox_image, run_dir=tmp_path / "b"), RunOptions(manifest=sleeper(2)))
        assert second.cancel()
        result = second.result(timeout=5)  # at once: it never waited for the first
        assert not first.done()
    assert result.document["status"] == "cancelled" and result.run_dir is None
    assert "before it started" in result.document["message"]
    assert not (tmp_path / "b").exists()
    assert first.result().document["status"] == "succeeded"


def test_close_with_cancel_stops_everything_and_refuses_more(busybox_image: str, tmp_path: Path,
                                                              docker_client: Any) -> None:
    executor = LocalExecutor(parallel=2, cpus=4, mem=1000)
    futures = [executor.submit(RunRequest(busybox_image, run_dir=tmp_path / f"r{i}"),
                               RunOptions(manifest=sleeper(60))) for i in range(4)]
    time.sleep(1.5)
    executor.close(cancel=True, reason="interrupted")
    statuses = sorted(f.result(timeout=1).document["status"] for f in futures)
    assert statuses == ["interrupted"] * 4
    for future in futures:
        assert docker_client.containers.list(all=True, filters={"label": f"{RUN_LABEL}={future.run_id}"}) == []
    with pytest.raises(ExecutorClosed):
        executor.submit(RunRequest(busybox_image), RunOptions(manifest=sleeper()))


def test_futures_work_with_concurrent_futures(busybox_image: str, tmp_path: Path) -> None:
    with LocalExecutor(parallel=2, cpus=2, mem=1000) as executor:
        futures = [executor.submit(RunRequest(busybox_image, run_dir=tmp_path / f"r{i}"),
                                   RunOptions(manifest=sleeper(0.1))) for i in range(3)]
        done, not_done = concurrent.futures.wait(futures, timeout=60)
    assert not not_done and {f.result().document["status"] for f in done} == {"succeeded"}
    assert len({f.run_id for f in futures}) == 3
