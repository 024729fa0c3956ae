"""`seed batch` on the real engine, the way a pipeline uses it: the batch folder, exit statuses, the run store,
retries of system failures only, resume, and Ctrl-C in the middle (every container gone, nothing unfinished
presented as complete)."""

from __future__ import annotations

import csv
import json
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

import seed_runner
from seed_runner import load_manifest
from seed_runner.runtime.plan import RunRequest
from seed_runner.store import RunStore

pytestmark = pytest.mark.engine
SEED = str(Path(sys.executable).with_name("seed"))
WATERMARK = "image-watermark-0.1.0-seed:0.1.0"
PNG = Path(__file__).resolve().parents[1] / "sample_jobs" / "watermark" / "example" / "input.png"
BATCH_LABEL = "io.seed-runner.run-id"

CHECKER = {"seedVersion": "1.0.0", "job": {
    "name": "checker", "jobVersion": "1.0.0", "packageVersion": "1.0.0", "title": "t", "description": "d",
    "maintainer": {"name": "n", "email": "e"}, "timeout": 120,
    "resources": {"scalar": [{"name": "cpus", "value": 0.5}, {"name": "mem", "value": 16}]},
    "interface": {"command": "sh -c 'sleep ${PAUSE}; test -s ${DATA}'",
                  "inputs": {"files": [{"name": "DATA"}], "json": [{"name": "PAUSE", "type": "number"}]}},
    "errors": [{"code": 1, "name": "empty-data", "category": "data"}]}}


def seed(*args: str, cwd: Path | None = None, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run([SEED, *args], capture_output=True, text=True, timeout=timeout, cwd=cwd)


@pytest.fixture
def checker(tmp_path: Path) -> Path:
    path = tmp_path / "checker.json"
    path.write_text(json.dumps(CHECKER))
    return path


def containers_of(docker_client: Any, run_ids: list[str]) -> list[Any]:
    return [c for run_id in run_ids for c in
            docker_client.containers.list(all=True, filters={"label": f"{BATCH_LABEL}={run_id}"})]


def test_each_file_is_a_run_and_the_batch_folder_says_how_each_went(tmp_path: Path) -> None:
    for i in range(3):
        (tmp_path / "data").mkdir(exist_ok=True)
        (tmp_path / "data" / f"in{i}.png").write_bytes(PNG.read_bytes())
    proc = seed("batch", WATERMARK, "--each", "INPUT_IMAGE=data/*.png", "-o", "out", "--parallel", "2",
                cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    batch = json.loads((tmp_path / "out" / "batch.json").read_text())
    assert batch["status"] == "succeeded" and batch["complete"] is True
    assert batch["counts"] == {"total": 3, "succeeded": 3}
    assert [r["row"] for r in batch["runs"]] == [1, 2, 3]
    for run in batch["runs"]:
        folder = tmp_path / "out" / run["run_dir"]
        result = json.loads((folder / "result.json").read_text())
        assert result["status"] == "succeeded" and result["run_id"] == run["run_id"]
        assert run["outputs"]["OUTPUT_IMAGE"] and (folder / "outputs").is_dir()
    lines = list(csv.DictReader((tmp_path / "out" / "batch.csv").open()))
    assert [(r["row"], r["status"]) for r in lines] == [("1", "succeeded"), ("2", "succeeded"), ("3", "succeeded")]
    with RunStore.open() as store:
        recorded = {r["id"]: r for r in store.list() if r["batch_id"] == batch["batch_id"]}
    assert set(recorded) == {r["run_id"] for r in batch["runs"]}
    listed = seed("runs", "--batch", batch["batch_id"][:6], "--json", cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    assert {r["id"] for r in json.loads(listed.stdout)["runs"]} == set(recorded)
    assert len(seed("runs", "--batch", batch["batch_id"][:6], cwd=tmp_path).stdout.splitlines()) == 1 + 3  # header
    assert seed_runner.runs(batch=batch["batch_id"]) and not seed_runner.runs(batch="ffffffffffff")
    assert f"row 1 succeeded" in proc.stderr and "batch.json" in proc.stderr


def test_a_batch_with_problems_runs_nothing_and_lists_them_all(tmp_path: Path, checker: Path) -> None:
    (tmp_path / "runs.csv").write_text("DATA,PAUSE,COLOUR\nmissing.txt,0,\nok.txt,zero,\n")
    (tmp_path / "ok.txt").write_text("x")
    proc = seed("batch", "seed-runner/busybox:1", "--manifest", str(checker), "--table", "runs.csv", "-o", "out",
                cwd=tmp_path)
    assert proc.returncode == 2
    assert "$.rows[1].file_inputs.DATA: row 1: input DATA" in proc.stderr
    assert "$.rows[2].json_inputs.PAUSE: row 2:" in proc.stderr
    assert "refused (2 problems); nothing ran" in proc.stderr
    assert not (tmp_path / "out").exists()


def test_a_failed_run_gives_exit_1_and_resume_runs_only_what_did_not_succeed(tmp_path: Path, checker: Path,
                                                                              busybox_image: str) -> None:
    for name, text in (("a.txt", "a"), ("b.txt", ""), ("c.txt", "c")):
        (tmp_path / name).write_text(text)
    (tmp_path / "runs.jsonl").write_text("".join(json.dumps({"DATA": n, "PAUSE": 0}) + "\n"
                                                 for n in ("a.txt", "b.txt", "c.txt")))
    proc = seed("batch", busybox_image, "--manifest", str(checker), "--table", "runs.jsonl", "-o", "out",
                cwd=tmp_path)
    assert proc.returncode == 1, proc.stderr
    batch = json.loads((tmp_path / "out" / "batch.json").read_text())
    assert [(r["row"], r["status"], r["error"]) for r in batch["runs"]] == [
        (1, "succeeded", None), (2, "failed", "empty-data"), (3, "succeeded", None)]
    kept = {r["row"]: r["run_id"] for r in batch["runs"]}
    (tmp_path / "b.txt").write_text("now there is data")
    proc = seed("batch", "resume", batch["batch_id"][:8], cwd=tmp_path)  # by id: the run store knows the folder
    assert proc.returncode == 0, proc.stderr
    again = json.loads((tmp_path / "out" / "batch.json").read_text())
    assert again["batch_id"] == batch["batch_id"] and again["status"] == "succeeded"
    assert [len(r["attempts"]) for r in again["runs"]] == [1, 2, 1]
    assert again["runs"][0]["run_id"] == kept[1] and again["runs"][1]["run_id"] != kept[2]
    assert [a["status"] for a in again["runs"][1]["attempts"]] == ["failed", "succeeded"]


def test_system_failures_are_retried_with_backoff_job_failures_never(tmp_path: Path, busybox_image: str) -> None:
    (tmp_path / "empty.txt").write_text("")
    manifest = load_manifest(CHECKER)
    # A network that does not exist: the engine cannot create the container (docker-launch, a system failure).
    broken = seed_runner.batch(busybox_image, rows=None, each=[("DATA", str(tmp_path / "empty.txt"))],
                               template=RunRequest(busybox_image, json_inputs={"PAUSE": 0},
                                                   network="seed-runner-no-such-network"),
                               options=seed_runner.executors.RunOptions(manifest=manifest),
                               folder=tmp_path / "broken", retries=2, backoff=0.05, cpus=2, mem=1000)
    run = broken.document["runs"][0]
    assert broken.status == "error" and broken.exit_status == 4
    assert [a["error"] for a in run["attempts"]] == ["docker-launch"] * 3
    failing = seed_runner.batch(busybox_image, each=[("DATA", str(tmp_path / "empty.txt"))],
                                template=RunRequest(busybox_image, json_inputs={"PAUSE": 0}),
                                options=seed_runner.executors.RunOptions(manifest=manifest),
                                folder=tmp_path / "failing", retries=2, backoff=0.05, cpus=2, mem=1000)
    assert failing.status == "failed" and failing.exit_status == 1
    assert [a["error"] for a in failing.document["runs"][0]["attempts"]] == ["empty-data"]


def test_ctrl_c_stops_every_container_and_marks_the_unfinished_runs(tmp_path: Path, checker: Path,
                                                                    busybox_image: str, docker_client: Any) -> None:
    (tmp_path / "d.txt").write_text("x")
    (tmp_path / "runs.csv").write_text("DATA,PAUSE\n" + "d.txt,61.37\n" * 6)
    proc = subprocess.Popen([SEED, "batch", busybox_image, "--manifest", str(checker), "--table", "runs.csv",
                             "-o", "out", "--parallel", "2"], cwd=tmp_path, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        batch_file = tmp_path / "out" / "batch.json"
        if batch_file.exists():
            running = docker_client.api.containers(filters={"label": "io.seed-runner.job=checker",
                                                            "status": "running"})
            if len(running) >= 2:
                break
        time.sleep(0.1)
    else:
        proc.kill()
        pytest.fail("the batch's runs never started")
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    batch = json.loads((tmp_path / "out" / "batch.json").read_text())
    assert batch["status"] == "interrupted" and batch["complete"] is False
    assert {r["status"] for r in batch["runs"]} == {"interrupted"}
    assert containers_of(docker_client, [a["run_id"] for r in batch["runs"] for a in r["attempts"] if a["run_id"]]) == []
    assert "seed batch resume" in err


def test_on_a_terminal_a_progress_bar_counts_the_runs(tmp_path: Path) -> None:
    from .terminal import on_a_terminal

    (tmp_path / "data").mkdir()
    for i in range(3):
        (tmp_path / "data" / f"in{i}.png").write_bytes(PNG.read_bytes())
    status, text = on_a_terminal(["batch", WATERMARK, "--each", "INPUT_IMAGE=data/*.png", "-o", "out"], tmp_path,
                                 timeout=60)
    assert status == 0, text
    assert "3/3" in text and "0 running" in text  # the bar's last state
    assert "seed: row 1 succeeded" not in text  # no plain lines on a terminal
    assert "succeeded: 3 runs (3 succeeded)" in text
