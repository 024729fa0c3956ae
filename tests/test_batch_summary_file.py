"""`seed batch resume` on a batch.json someone damaged: read bounded and strictly, one line and exit 2 (issue 16,
item 15). Before the fix: exit 70 for a bogus manifest, a grace that is no number or deep nesting; a hang on a
FIFO; MemoryError on a link to /dev/zero; 1.2 GB of memory for a 600 MB file. No engine is needed: nothing runs."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from seed_runner.batches import folder as bf
from seed_runner.batches.summary_file import MAX_BATCH_BYTES, SummaryError, check_summary, read_summary

from .test_batch import SEED

GOOD = {"batch_version": 1, "batch_id": "abc123", "image": "x:1", "job": {"name": "j"}, "created": "now",
        "options": {"pull": False, "strict": False, "cache": False, "retries": 0, "backoff": 1.0, "manifest": None},
        "status": "failed", "complete": True,
        "runs": [{"row": 1, "status": "failed", "run_id": "r1", "run_dir": "runs/0001-r1",
                  "attempts": [{"run_id": "r1", "status": "failed", "run_dir": "runs/0001-r1", "error": "x",
                                "message": None}],
                  "request": {"image": "x:1", "file_inputs": {"DATA": ["/tmp/d.txt"]},
                              "json_inputs": {"N": {"value": 1}}, "settings": {"MODE": "a"}, "mounts": {},
                              "resources": {}, "timeout": None, "grace_period": 10.0, "user": "invoker",
                              "network": None}}]}


def resume(folder: Path, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([SEED, "batch", "resume", str(folder)], capture_output=True, text=True, timeout=timeout)


def with_change(change: Any) -> dict[str, Any]:
    document = json.loads(json.dumps(GOOD))
    change(document)
    return document


@pytest.mark.parametrize("document, words", [
    (with_change(lambda d: d["options"].update(manifest={"seedVersion": "1.0.0", "job": {"name": 5}})),
     "manifest kept in batch.json is no longer valid"),
    (with_change(lambda d: d["runs"][0]["request"].update(grace_period="soon")), "grace_period is not a number"),
    (with_change(lambda d: d["runs"][0]["request"].update(timeout=-1)), "timeout is not a number"),
    (with_change(lambda d: d["options"].update(retries="3")), "retries is not a whole number"),
    (with_change(lambda d: d["options"].update(backoff=True)), "backoff is not a number"),
    (with_change(lambda d: d["runs"][0]["request"].update(file_inputs={"DATA": "/tmp/d.txt"})), "file_inputs"),
    (with_change(lambda d: d["runs"].append(dict(d["runs"][0]))), "row 1 is listed twice"),
    (with_change(lambda d: d.update(batch_version=True)), "batch_version is not 1"),
    (with_change(lambda d: d["runs"][0]["attempts"][0].update(run_dir=["x"])), "run_dir is not text"),
])
def test_a_damaged_batch_json_is_one_line_and_exit_2(tmp_path: Path, document: dict[str, Any], words: str) -> None:
    (tmp_path / "batch.json").write_text(json.dumps(document))
    proc = resume(tmp_path)
    assert proc.returncode == 2, proc.stderr
    assert words in proc.stderr and proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr


def test_deep_nesting_is_one_line_and_exit_2(tmp_path: Path) -> None:
    text = json.dumps(GOOD).replace('"job": {"name": "j"}', '"job": ' + "[" * 100_000 + "]" * 100_000)
    (tmp_path / "batch.json").write_text(text)
    proc = resume(tmp_path)
    assert proc.returncode == 2 and "nests arrays or objects too deeply" in proc.stderr, proc.stderr
    assert proc.stderr.count("\n") == 1


def test_a_fifo_is_refused_at_once_not_waited_on(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "batch.json")
    proc = resume(tmp_path, timeout=30)  # before: a hang for good
    assert proc.returncode == 2 and "is not a regular file" in proc.stderr, proc.stderr


def test_a_link_to_dev_zero_is_refused_without_reading_it(tmp_path: Path) -> None:
    (tmp_path / "batch.json").symlink_to("/dev/zero")
    proc = resume(tmp_path, timeout=30)  # before: MemoryError
    assert proc.returncode == 2 and "is not a regular file" in proc.stderr, proc.stderr


def test_a_file_past_the_bound_is_refused_before_it_is_read(tmp_path: Path) -> None:
    with open(tmp_path / "batch.json", "wb") as file:
        file.truncate(MAX_BATCH_BYTES + 4096)  # sparse: no disk, and never read
    proc = subprocess.run(["/usr/bin/time", "-f", "%M", SEED, "batch", "resume", str(tmp_path)], capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 2 and f"larger than {MAX_BATCH_BYTES // 1048576} MiB" in proc.stderr, proc.stderr
    assert int(proc.stderr.strip().splitlines()[-1]) < 200_000  # KiB of memory at most: the file was not read


def test_a_good_summary_reads_back() -> None:
    assert check_summary(json.loads(json.dumps(GOOD)))["batch_id"] == "abc123"


# -- fuzz: whatever the bytes, the reader gives a checked document or one line ---------------------------------


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=2000) | st.text(max_size=2000).map(str.encode))
def test_any_bytes_read_as_a_checked_summary_or_one_line(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "batch.json"
    path.write_bytes(data)
    try:
        document = read_summary(path)
    except SummaryError as exc:
        assert "\n" not in str(exc) and str(path) in str(exc)
    else:
        assert isinstance(document, dict)


_JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
                     | st.text(max_size=8),
                     lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner,
                                                                                 max_size=3), max_leaves=8)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(value, dict):
        for key, inner in value.items():
            found += _paths(inner, (*prefix, key))
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            found += _paths(inner, (*prefix, index))
    return found


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_a_mutated_summary_is_checked_or_refused_and_what_passes_can_be_resumed(tmp_path: Path, data: Any) -> None:
    """What the check lets through, resume's own reading (its runs, each row's request) takes without error."""
    from seed_runner.store.history import rerun_request
    from seed_runner.store.runstore import StoreError

    document = json.loads(json.dumps(GOOD))
    where = data.draw(st.sampled_from(_paths(document)[1:]))
    parent = document
    for key in where[:-1]:
        parent = parent[key]
    if data.draw(st.booleans()):
        parent[where[-1]] = data.draw(_JSON)
    elif isinstance(parent, dict):
        del parent[where[-1]]
    else:
        parent.pop(where[-1])
    try:
        checked = check_summary(json.loads(json.dumps(document)))
    except SummaryError as exc:
        assert "\n" not in str(exc)
        return
    for entry in bf.entries_of(checked, tmp_path):
        try:
            rerun_request({"id": f"row {entry.row}", "request": entry.request}, settings={})
        except StoreError:
            pass  # a secret to give again: a one-line BatchError at resume


# -- fuzz: a run folder's result.json, as resume's reconciliation reads it --------------------------------------

_RESULT = st.fixed_dictionaries({"status": st.sampled_from(["succeeded", "failed", "error", "x"]) | _JSON},
                                optional={"error": _JSON | st.fixed_dictionaries({"name": _JSON, "category": _JSON}),
                                          "outputs": _JSON | st.dictionaries(st.text(max_size=4), _JSON, max_size=2),
                                          "timings": _JSON, "message": _JSON, "run_id": _JSON, "exit_code": _JSON})


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=400) | _RESULT.map(lambda d: json.dumps(d).encode()))
def test_any_result_json_in_a_run_folder_is_taken_or_left_by_reconcile(tmp_path: Path, data: bytes) -> None:
    from seed_runner.batches.reconcile import reconcile

    import tempfile

    folder = Path(tempfile.mkdtemp(dir=tmp_path))
    (folder / "runs" / "0001-abc").mkdir(parents=True)
    (folder / "runs" / "0001-abc" / "result.json").write_bytes(data)
    entries = [bf.RunEntry(1, {"image": "x"})]
    reconcile(folder, entries)  # never raises
    assert entries[0].status in ("pending", "succeeded", "failed", "error", "rejected", "timed-out", "interrupted",
                                 "cancelled")
