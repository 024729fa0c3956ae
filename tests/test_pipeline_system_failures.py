"""System failures of a pipeline's runs (a real engine): retried per --retries as `seed batch` retries them, exit
status 4 when they are not cured; a container killed from outside is not retried (someone meant it); and a step
whose runs could never fit is refused with its `resources:` in the pipeline file, not `--resource`."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from seed_runner.executors import LocalExecutor
from seed_runner.pipelines.running import RunEvent
from seed_runner.pipelines.start import run_pipeline

from .pipeline_fixtures import SEED, UPPER, containers_left, home, run_ids, state, text_jobs  # noqa: F401

pytestmark = pytest.mark.engine

ONE_STEP = f"""\
seedPipeline: "1.0"
name: one
inputs:
  TEXT: {{type: file}}
  DELAY: {{type: integer, default: 0}}
steps:
  upper:
    image: {UPPER}
    inputs: {{PART: inputs.TEXT, DELAY: inputs.DELAY}}
"""
NOBODY = "tcp://127.0.0.1:9"
"""An engine address where nothing answers (the discard port, closed): a real engine-unavailable."""


def _engine_down_for_the_first_attempt(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, retries: int) -> Any:
    """Run the one-step pipeline with the engine unreachable from the moment the pipeline starts (after its check
    read the manifests) until its first run ends, then reachable again."""
    (tmp_path / "one.yaml").write_text(ONE_STEP)
    (tmp_path / "in.txt").write_text("hello\n")
    real = os.environ.get("DOCKER_HOST")
    events: list[tuple[str, str | None, str | None]] = []

    def engine_goes_away(folder: Path, pipeline_id: str) -> None:
        monkeypatch.setenv("DOCKER_HOST", NOBODY)

    def engine_comes_back(event: RunEvent) -> None:
        events.append((event.kind, event.status, event.run_id))
        if event.kind == "ended":
            if real is None:
                monkeypatch.delenv("DOCKER_HOST", raising=False)
            else:
                monkeypatch.setenv("DOCKER_HOST", real)

    executor = LocalExecutor(parallel=1, cpus=2, mem=1000)  # caps given: no engine call for the host's
    try:
        result = run_pipeline(tmp_path / "one.yaml", inputs={"TEXT": tmp_path / "in.txt"}, folder=tmp_path / "p",
                              executor=executor, cache=False, retries=retries, backoff=0.05,
                              on_start=engine_goes_away, on_event=engine_comes_back)
    finally:
        executor.close(cancel=True)
    return result, events


def test_a_system_failure_is_retried_per_retries(tmp_path: Path, home: Path, text_jobs: Any,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    result, events = _engine_down_for_the_first_attempt(monkeypatch, tmp_path, retries=2)
    assert result.status == "succeeded" and result.exit_status == 0, result.document
    [run] = result.document["steps"]["upper"]["runs"]
    assert run["attempts"] == 2 and run["status"] == "succeeded"
    ended = [(status, run_id) for kind, status, run_id in events if kind == "ended"]
    assert [status for status, _ in ended] == ["error", "succeeded"]
    assert ended[0][1] != ended[1][1] == run["run_id"]  # the retry: a run (and a folder) of its own
    assert (tmp_path / "p" / run["run_dir"] / "outputs/in.txt").read_text() == "HELLO\n"
    first = tmp_path / "p" / run["run_dir"].replace(ended[1][1] or "", ended[0][1] or "")
    assert '"engine-unavailable"' in (first / "result.json").read_text()  # the first attempt's folder says why


def test_without_retries_a_system_failure_ends_the_pipeline_with_exit_4(tmp_path: Path, home: Path,
                                                                         text_jobs: Any,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    result, events = _engine_down_for_the_first_attempt(monkeypatch, tmp_path, retries=0)
    assert result.status == "error" and result.exit_status == 4
    [run] = result.document["steps"]["upper"]["runs"]
    assert (run["attempts"], run["status"], run["error"]) == (1, "error", "engine-unavailable")
    assert result.document["steps"]["upper"]["state"] == "failed"


def test_a_container_killed_from_outside_is_exit_4_and_not_retried(tmp_path: Path, home: Path, text_jobs: Any,
                                                                   docker_client: Any) -> None:
    (tmp_path / "one.yaml").write_text(ONE_STEP)
    (tmp_path / "in.txt").write_text("hello\n")
    folder = tmp_path / "p"
    process = subprocess.Popen([SEED, "pipeline", "run", str(tmp_path / "one.yaml"), "-i",
                                f"TEXT={tmp_path / 'in.txt'}", "-j", "DELAY=60", "-o", str(folder), "--retries", "2",
                                "--no-cache"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env=dict(os.environ))
    deadline = time.monotonic() + 120
    killed = False
    while time.monotonic() < deadline and process.poll() is None:
        ids = run_ids(folder) if (folder / "pipeline.json").exists() else []
        running = containers_left(docker_client, ids, running_only=True) if ids else []
        if running:
            subprocess.run(["docker", "kill", running[0]["Id"]], check=True, capture_output=True, timeout=60)
            killed = True
            break
        time.sleep(0.2)
    assert killed, "the step's container never ran"
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 4, stderr
    [run] = state(folder)["steps"]["upper"]["runs"]
    assert (run["status"], run["error"], run["attempts"]) == ("error", "killed-externally", 1)
    assert containers_left(docker_client, run_ids(folder)) == []


def test_a_step_that_can_never_fit_points_to_its_resources_in_the_file(tmp_path: Path, home: Path,
                                                                       text_jobs: Any) -> None:
    (tmp_path / "big.yaml").write_text(ONE_STEP + "    resources: {cpus: 4096}\n")
    (tmp_path / "in.txt").write_text("hello\n")
    refused = subprocess.run([SEED, "pipeline", "run", "big.yaml", "-i", "TEXT=in.txt", "-o", "p"], cwd=tmp_path,
                             capture_output=True, text=True, timeout=300, env=dict(os.environ))
    assert refused.returncode == 2, refused.stderr
    [line] = [line for line in refused.stderr.splitlines() if "does-not-fit" in line]
    assert "--resource" not in line and "--cpus" not in line, line
    assert "lower the step's resources: (big.yaml:10:5)" in line, line
    assert not (tmp_path / "p").exists()
