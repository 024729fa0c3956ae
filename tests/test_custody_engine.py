"""Nothing the runner asks the engine to create outlives the runner: the real engine, behind a proxy that delays,
loses or holds what the runner asks (tests/engine_proxy.py), and signals at random times."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any, Iterator

import pytest

from seed_runner import load_manifest
from seed_runner.engine import custody
from seed_runner.runtime.plan import RunRequest
from seed_runner.runtime.runner import run

from .conftest import check_result
from .engine_proxy import EngineProxy

pytestmark = pytest.mark.engine

SEED = str(Path(sys.executable).with_name("seed"))


def job(tmp_path: Path, command: str) -> tuple[Path, str]:
    """A manifest file whose job name is new (its containers carry it as a label), and that name."""
    name = f"custody-{uuid.uuid4().hex[:10]}"
    path = tmp_path / "seed.manifest.json"
    path.write_text(json.dumps({"seedVersion": "1.0.0", "job": {
        "name": name, "jobVersion": "1.0.0", "packageVersion": "1.0.0", "title": "t", "description": "d",
        "maintainer": {"name": "n", "email": "e"}, "timeout": 60, "interface": {"command": command}}}))
    return path, name


def containers_of(docker_client: Any, job_name: str) -> list[Any]:
    return docker_client.containers.list(all=True, filters={"label": f"io.seed-runner.job={job_name}"})


@pytest.fixture
def proxy() -> Iterator[list[EngineProxy]]:
    made: list[EngineProxy] = []
    yield made
    for each in made:
        each.close()


def test_sigterm_while_create_is_slow_leaves_no_container(busybox_image: str, tmp_path: Path, docker_client: Any,
                                                          proxy: list[EngineProxy]) -> None:
    delay = 2.0
    front = EngineProxy([("POST", "/containers/create", "delay", delay)])
    proxy.append(front)
    manifest, name = job(tmp_path, "sleep 30")
    proc = subprocess.Popen([SEED, "run", busybox_image, "--manifest", str(manifest), "-o", str(tmp_path / "run")],
                            env={**os.environ, "DOCKER_HOST": front.host}, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    for _ in range(400):
        if front.saw("POST", "/containers/create"):
            break
        time.sleep(0.025)
    asked = time.monotonic()
    time.sleep(0.5)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=60) == 130, proc.stderr.read()
    # The runner waited for the engine's answer and removed what it created (before it exited: a later
    # `seed run` of anyone's would reap a leftover, and hide it from the check below).
    assert front.saw("DELETE", "/containers/"), front.seen
    time.sleep(max(0.0, asked + delay + 1.0 - time.monotonic()))
    result = check_result(json.loads((tmp_path / "run" / "result.json").read_text()))
    assert result["status"] == "interrupted" and result["warnings"] == []
    assert containers_of(docker_client, name) == []


def test_a_lost_create_answer_leaves_no_container(busybox_image: str, tmp_path: Path, docker_client: Any,
                                                  proxy: list[EngineProxy], monkeypatch: pytest.MonkeyPatch) -> None:
    front = EngineProxy([("POST", "/containers/create", "lose", 0)])
    proxy.append(front)
    monkeypatch.setenv("DOCKER_HOST", front.host)
    manifest, name = job(tmp_path, "sleep 30")
    result = run(RunRequest(image=busybox_image, run_dir=tmp_path / "run"), manifest=load_manifest(manifest))
    check_result(result.document)
    assert (result.outcome.status, result.exit_status) == ("error", 4)
    assert front.saw("DELETE", f"/containers/seed-{result.document['run_id']}-")
    assert containers_of(docker_client, name) == []


def test_a_container_that_cannot_be_removed_is_named_and_seed_cleanup_removes_it(
        busybox_image: str, tmp_path: Path, docker_client: Any, proxy: list[EngineProxy]) -> None:
    front = EngineProxy([("DELETE", "/containers/", "hold", 0)])
    proxy.append(front)
    manifest, name = job(tmp_path, "echo done")
    quick = ("import sys; from seed_runner.engine import custody; custody.REMOVE_SECONDS = 2.0; "
             "custody.REMOVE_ATTEMPT_SECONDS = 0.5; from seed_runner.cli.app import main; sys.argv[0] = 'seed'; "
             "main()")
    started = time.monotonic()
    proc = subprocess.run([sys.executable, "-c", quick, "run", busybox_image, "--manifest", str(manifest), "-o",
                           str(tmp_path / "run"), "--json"], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "DOCKER_HOST": front.host})
    assert time.monotonic() - started < 30
    assert proc.returncode == 4, proc.stderr
    document = check_result(json.loads(proc.stdout))
    assert document["status"] == "error" and document["error"]["name"] == "container-not-removed"
    assert document["exit_code"] == 0 and document["container_id"]
    [left] = document["warnings"]
    assert left["code"] == "container-not-removed" and document["container_id"] in left["message"]
    assert [c.id for c in containers_of(docker_client, name)] == [document["container_id"]]
    cleanup = subprocess.run([SEED, "cleanup"], capture_output=True, text=True, timeout=60)  # the real engine
    assert cleanup.returncode == 0, cleanup.stderr
    assert containers_of(docker_client, name) == []


def test_signals_at_random_times_leave_no_container(busybox_image: str, tmp_path: Path, docker_client: Any,
                                                    proxy: list[EngineProxy]) -> None:
    front = EngineProxy()  # passes everything: it counts what the runners ask
    proxy.append(front)
    manifest, name = job(tmp_path, "sh -c 'echo started; sleep 0.2'")
    procs = []
    for index in range(20):
        proc = subprocess.Popen([SEED, "run", busybox_image, "--manifest", str(manifest), "-o",
                                 str(tmp_path / f"run-{index}"), "-q"], stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, env={**os.environ, "DOCKER_HOST": front.host})
        procs.append((proc, random.uniform(0.3, 1.5)))
    started = time.monotonic()
    for proc, delay in sorted(procs, key=lambda item: item[1]):
        time.sleep(max(0.0, started + delay - time.monotonic()))
        proc.send_signal(signal.SIGTERM)
    for proc, _ in procs:
        assert proc.wait(timeout=90) in (0, 130, -signal.SIGTERM), proc.stderr.read()
    # Each runner removed what it created itself (a leftover would be reaped by the next `seed run`).
    created = [path for method, path in front.seen if method == "POST" and "/containers/create" in path]
    removed = {path.split("?")[0] for method, path in front.seen if method == "DELETE"}
    assert len(removed) == len(created), front.seen
    assert containers_of(docker_client, name) == []


def test_the_container_is_named_after_the_run(busybox_image: str, tmp_path: Path, docker_client: Any) -> None:
    assert custody.container_name("run/1 é")[:-8] == "seed-run_1__-"
    manifest, name = job(tmp_path, "hostname")
    result = run(RunRequest(image=busybox_image, run_dir=tmp_path / "run", run_id="named-run"),
                 manifest=load_manifest(manifest))
    assert result.outcome.status == "succeeded", result.document
    assert containers_of(docker_client, name) == []
