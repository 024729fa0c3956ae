"""A container killed from outside (`docker kill`, `docker stop`, `docker rm -f`) is a system error, not the job's
exit code; a job that kills itself, or exits 137, keeps its own exit code (the real engine)."""

from __future__ import annotations

import threading
import time
import uuid
from pathlib import Path
from typing import Any, Callable

import pytest

from seed_runner import load_manifest
from seed_runner.runtime.plan import RunRequest
from seed_runner.runtime.runner import RunResult, run

from .conftest import check_result

pytestmark = pytest.mark.engine


def manifest(command: str) -> Any:
    return load_manifest({"seedVersion": "1.0.0", "job": {
        "name": "external-kill", "jobVersion": "1.0.0", "packageVersion": "1.0.0", "title": "t", "description": "d",
        "maintainer": {"name": "n", "email": "e"}, "timeout": 60, "interface": {"command": command}}})


def run_and(busybox_image: str, tmp_path: Path, docker_client: Any, command: str,
            meddle: Callable[[Any], None] | None = None) -> RunResult:
    """Run ``command``; once its container runs, ``meddle`` with it (a docker SDK container)."""
    run_id = uuid.uuid4().hex[:12]
    box: dict[str, RunResult] = {}
    thread = threading.Thread(target=lambda: box.update(result=run(
        RunRequest(image=busybox_image, run_dir=tmp_path / "run", run_id=run_id), manifest=manifest(command))))
    thread.start()
    if meddle is not None:
        for _ in range(200):
            found = docker_client.containers.list(filters={"label": f"io.seed-runner.run-id={run_id}",
                                                           "status": "running"})
            if found:
                time.sleep(0.3)  # the runner is waiting for the exit by now
                meddle(found[0])
                break
            time.sleep(0.05)
        else:
            pytest.fail("the run's container never ran")
    thread.join(60)
    assert not thread.is_alive()
    result = box["result"]
    check_result(result.document)
    assert docker_client.containers.list(all=True, filters={"label": f"io.seed-runner.run-id={run_id}"}) == []
    return result


@pytest.mark.parametrize("meddle, signal", [
    (lambda c: c.kill(), "9 (SIGKILL)"),
    (lambda c: c.remove(force=True), "9 (SIGKILL)"),
    (lambda c: c.stop(timeout=5), "15 (SIGTERM)"),
], ids=["docker-kill", "docker-rm-f", "docker-stop"])
def test_a_container_killed_from_outside_is_a_system_error(busybox_image: str, tmp_path: Path, docker_client: Any,
                                                           meddle: Callable[[Any], None], signal: str) -> None:
    result = run_and(busybox_image, tmp_path, docker_client, "sleep 30", meddle)
    document = result.document
    assert (result.outcome.status, result.exit_status) == ("error", 4), document
    assert document["error"]["name"] == "killed-externally" and document["error"]["category"] == "system"
    assert document["exit_code"] == 128 + int(signal.split()[0])
    assert signal in document["message"] and "seed-runner" in document["message"]
    assert document["oom_killed"] is False and document["timed_out"] is False


@pytest.mark.parametrize("command", ["sh -c 'sleep 0.5; kill -9 $$'", "sh -c 'exit 137'"],
                         ids=["kills-itself", "exits-137"])
def test_a_job_that_ends_with_137_itself_keeps_its_exit_code(busybox_image: str, tmp_path: Path,
                                                             docker_client: Any, command: str) -> None:
    result = run_and(busybox_image, tmp_path, docker_client, command)
    assert (result.outcome.status, result.exit_status) == ("failed", 1), result.document
    assert result.document["error"]["name"] == "algorithm-unknown" and result.document["exit_code"] == 137


def test_a_job_that_ends_as_its_timeout_runs_out_is_not_timed_out(busybox_image: str, docker_client: Any) -> None:
    """The race at the timeout: when the stop finds the job already ended, the job keeps its own outcome."""
    import threading

    from seed_runner.engine.containers import _stop
    from seed_runner.engine.images import connect

    engine = connect()
    ended = docker_client.containers.run(busybox_image, ["true"], detach=True)
    running = docker_client.containers.run(busybox_image, ["sleep", "60"], detach=True, init=True)
    try:
        ended.wait(timeout=30)
        assert _stop(engine, ended.id, threading.Event(), 5) is True  # nothing to stop: it ended on its own
        assert _stop(engine, running.id, threading.Event(), 5) is False  # stopped by us: a real timeout
        assert running.wait(timeout=30)["StatusCode"] in (143, 137)
    finally:
        for container in (ended, running):
            container.remove(force=True)
