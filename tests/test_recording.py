"""The runner's side of the run store kept off the way to the container (``store.recording``, ``store.background``):
the start recorded in a thread that the run waits for before its container starts, and its input records in
every result (also of a run that ends before its container starts, or whose store is corrupt).
"""

from __future__ import annotations

import _thread
import json
import threading
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from seed_runner import load_manifest
from seed_runner.runtime.cancellation import Cancellation
from seed_runner.runtime.plan import RunRequest
from seed_runner.runtime.runner import run
from seed_runner.store import RunStore
from seed_runner.store.background import Background

from .conftest import check_result


def job(command: str) -> dict[str, Any]:
    return {"seedVersion": "1.0.0", "job": {
        "name": "recording-test", "jobVersion": "1.0.0", "packageVersion": "1.0.0", "title": "t", "description": "d",
        "maintainer": {"name": "n", "email": "e"}, "timeout": 60,
        "interface": {"command": command, "inputs": {"files": [{"name": "INPUT_FILE"}]}}}}


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "home"
    monkeypatch.setenv("SEED_HOME", str(home))
    return home


@pytest.fixture
def data(tmp_path: Path) -> Path:
    path = tmp_path / "in.txt"
    path.write_text("hello\n")
    return path


HELLO_SHA256 = "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03"


def run_cat(image: str, data: Path, run_dir: Path, **options: Any) -> Any:
    request = RunRequest(image=image, file_inputs={"INPUT_FILE": [str(data)]}, run_dir=run_dir)
    return run(request, manifest=load_manifest(job("cat ${INPUT_FILE}")), **options)


def input_sha256(document: dict[str, Any]) -> list[str]:
    return [f["sha256"] for f in document["inputs"]["INPUT_FILE"]]


# -- Background, alone --------------------------------------------------------------------------------------


def test_background_gives_the_value_or_raises_the_error_each_time() -> None:
    assert Background(lambda a, b: a + b, 2, 3).result() == 5
    where: list[threading.Thread] = []
    Background(lambda: where.append(threading.current_thread())).result()
    assert where and where[0] is not threading.current_thread()  # another thread's

    def fail() -> None:
        raise ValueError("no")

    failing = Background(fail)
    for _ in range(2):
        with pytest.raises(ValueError, match="no"):
            failing.result()


def test_background_runs_the_call_at_once_when_no_thread_can_be_had(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: Any) -> None:
        raise RuntimeError("can't start new thread")

    monkeypatch.setattr(_thread, "start_new_thread", refuse)
    ran = []
    task = Background(lambda: ran.append(threading.current_thread()) or "done")
    assert ran == [threading.current_thread()]  # before Background returned, in the caller's thread
    assert task.result() == "done"


# -- runs on the engine -------------------------------------------------------------------------------------


@pytest.mark.engine
def test_the_container_starts_only_once_its_start_is_committed(busybox_image: str, data: Path, tmp_path: Path,
                                                               home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    committed: list[float] = []
    insert = RunStore.record_started

    def slow_insert(self: RunStore, record: dict[str, Any]) -> None:
        time.sleep(0.5)  # a slow store: the engine has long created the container by now
        insert(self, record)
        committed.append(time.time())

    monkeypatch.setattr(RunStore, "record_started", slow_insert)
    result = run_cat(busybox_image, data, tmp_path / "r")
    assert result.outcome.status == "succeeded", result.document
    check_result(result.document)
    started = datetime.fromisoformat(result.document["timings"]["started"]).timestamp()
    assert len(committed) == 1 and started >= committed[0] - 0.002  # the stamp is cut to milliseconds
    assert input_sha256(result.document) == [HELLO_SHA256]
    with RunStore.open() as store:
        [row] = store.list()
    assert row["id"] == result.document["run_id"] and row["status"] == "succeeded"
    assert row["inputs"]["INPUT_FILE"][0]["sha256"] == HELLO_SHA256 and row["cache_key"]


@pytest.mark.engine
def test_a_run_that_ends_before_its_container_starts_still_names_its_inputs(busybox_image: str, data: Path,
                                                                             tmp_path: Path, home: Path) -> None:
    cancel = Cancellation()
    cancel.cancel()  # before the container is created: the run ends while its start may still be written
    result = run_cat(busybox_image, data, tmp_path / "r", cancel=cancel)
    assert result.outcome.status == "cancelled" and result.document["container_id"] is None
    assert input_sha256(result.document) == [HELLO_SHA256]
    crate = json.loads((tmp_path / "r/ro-crate-metadata.json").read_text())
    assert HELLO_SHA256 in json.dumps(crate)
    assert not [w for w in result.document["warnings"] if w["code"] == "run-not-recorded"]
    with RunStore.open() as store:
        assert [(r["id"], r["status"]) for r in store.list()] == [(result.document["run_id"], "cancelled")]


@pytest.mark.engine
def test_a_corrupt_store_keeps_the_inputs_in_the_result(busybox_image: str, data: Path, tmp_path: Path,
                                                        home: Path) -> None:
    home.mkdir()
    (home / "runs.sqlite3").write_bytes(b"\x07" * 4096)
    result = run_cat(busybox_image, data, tmp_path / "r")
    assert result.outcome.status == "succeeded"
    assert input_sha256(result.document) == [HELLO_SHA256]
    [warning] = result.document["warnings"]
    assert warning["code"] == "run-not-recorded" and "is corrupt" in warning["message"]
    assert (tmp_path / "r/logs/stdout.log").read_text() == "hello\n"
