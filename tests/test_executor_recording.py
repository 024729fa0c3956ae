"""The run records of runs that end elsewhere (a Dask worker, a Slurm node), written on the submitting machine
(executors/recording.py): a record copied in, changed (folder, executor's job), and a run lost on the way. A real
run store in the test's own SEED_HOME; no engine."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from seed_runner.executors.recording import keep_record, lost, restate
from seed_runner.runtime.plan import RunRequest
from seed_runner.store import RunStore

RUN_ID = "0123456789ab"


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("SEED_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


def _record() -> dict[str, object]:
    with RunStore.open() as store:
        return store.get(RUN_ID)


def test_a_record_kept_then_moved_and_given_its_job_keeps_both_changes() -> None:
    keep_record({"id": RUN_ID, "image": "x:1", "run_dir": "/spool/r"})
    restate(RUN_ID, run_dir="s3://bucket/r")
    restate(RUN_ID, executor_job="slurm:7_0", document={"run_id": RUN_ID, "status": "succeeded"})
    record = _record()
    assert (record["run_dir"], record["executor_job"], record["status"]) == ("s3://bucket/r", "slurm:7_0",
                                                                            "succeeded")


def test_a_run_lost_with_its_folder_keeps_what_the_folder_said_and_says_why(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    (run_dir / "outputs").mkdir(parents=True)
    (run_dir / "result.json").write_text(json.dumps({"run_id": RUN_ID, "status": "running", "job": {"name": "j"}}))
    keep_record({"id": RUN_ID, "image": "x:1", "run_dir": str(run_dir)})
    request = RunRequest(image="x:1", run_id=RUN_ID, run_dir=str(run_dir))
    result = lost(request, "worker-lost", "its node was lost", kept=run_dir, executor_job="slurm:8")
    written = json.loads((run_dir / "result.json").read_text())
    assert result.outcome.status == "error" and result.run_dir == run_dir and written == result.document
    assert written["job"] == {"name": "j"} and written["error"]["name"] == "worker-lost"
    assert written["message"] == "its node was lost" and written["run_dir"] == str(run_dir)
    record = _record()
    assert (record["status"], record["error_name"], record["executor_job"]) == ("error", "worker-lost", "slurm:8")


def test_a_run_lost_without_a_folder_is_recorded_from_its_request_alone() -> None:
    result = lost(RunRequest(image="x:1", run_id=RUN_ID), "scheduler-lost", "the scheduler went")
    assert result.run_dir is None and result.document["image"] == {"reference": "x:1"}
    record = _record()
    assert (record["status"], record["error_name"], record["image"]) == ("error", "scheduler-lost", "x:1")


def test_a_store_that_cannot_be_written_changes_no_outcome(home: Path) -> None:
    home.parent.mkdir(parents=True, exist_ok=True)
    home.write_text("not a folder")  # SEED_HOME a file: the store cannot be opened
    keep_record({"id": RUN_ID})
    restate(RUN_ID, document={"run_id": RUN_ID, "status": "failed"})
    assert lost(RunRequest(image="x:1", run_id=RUN_ID), "worker-lost", "gone").outcome.status == "error"
