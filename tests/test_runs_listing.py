"""`seed runs` as a person reads it: a header row, the name, batch and folder of each run, control characters
escaped (a run name can neither drive the terminal nor forge a row); a read-only SEED_HOME still listed;
`seed runs rm` of a run still going refused, or with --force the run stopped first.

Each test here failed before its fix (issue 16, items 5, 12 and 16; issue 17, rough edge 7)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Iterator

import pytest
from hypothesis import given, settings, strategies as st

from seed_runner.store import RunStore

from .test_store import _wait_running, home, jobs, listed, seed  # noqa: F401 - fixtures

SEED = str(Path(sys.executable).with_name("seed"))
HOSTILE = "x\x1b[2J\x1b]0;pwned\x07\nabababababab  2026-01-01 00:00:00  succeeded"


def _record(store: RunStore, run_id: str, **extra: Any) -> None:
    store.record_started({"id": run_id, "status": "succeeded", "image": "img:1", "job_name": "job",
                          "job_version": "1", "recorded_at": time.time(), "duration": 1.5, **extra})


def test_runs_has_a_header_and_the_name_batch_and_folder_of_each_run(home: Path) -> None:
    with RunStore.open() as store:
        _record(store, "a" * 32, label="nightly", batch_id="b" * 32, run_dir="/data/runs/a")
        _record(store, "c" * 32, run_dir=None)
    lines = seed("runs").stdout.splitlines()
    assert lines[0].split() == ["RUN", "RECORDED", "STATE", "TIME", "JOB", "NAME", "BATCH", "FOLDER"]
    cells = {line.split()[0]: line.split() for line in lines[1:]}
    assert cells["a" * 12][-3:] == ["nightly", "b" * 12, "/data/runs/a"]
    assert cells["c" * 12][-3:] == ["-", "-", "-"]
    row = next(line for line in lines if "nightly" in line)
    assert row.index("nightly") == lines[0].index("NAME")  # aligned under the header
    document = json.loads(seed("runs", "--json").stdout)  # --json has the members of these columns
    assert {r["id"]: (r["label"], r["batch_id"], r["run_dir"]) for r in document["runs"]}["a" * 32] == (
        "nightly", "b" * 32, "/data/runs/a")


def test_control_characters_in_a_run_are_shown_escaped(home: Path) -> None:
    with RunStore.open() as store:
        _record(store, "d" * 32, label=HOSTILE, job_name="job\x1b[31m", run_dir="/tmp/a\rb")
    proc = seed("runs")
    assert proc.returncode == 0, proc.stderr
    assert "\x1b" not in proc.stdout and "\x07" not in proc.stdout and "\r" not in proc.stdout
    assert proc.stdout.count("\n") == 2  # the header and one row: the newline forged none
    assert "x\\x1b[2J\\x1b]0;pwned\\x07\\nabababababab" in proc.stdout and "job\\x1b[31m" in proc.stdout


@settings(max_examples=200, deadline=None)
@given(texts=st.lists(st.text(max_size=30), min_size=3, max_size=3))
def test_fuzz_every_run_is_one_row_without_control_characters(texts: list[str]) -> None:
    from seed_runner.cli.store import run_table

    record = {"id": "e" * 32, "recorded_at": 0.0, "state": texts[0], "duration": None, "job_name": texts[1],
              "image": "i", "job_version": None, "label": texts[2], "batch_id": None, "run_dir": texts[0]}
    table = run_table([record])
    assert table.count("\n") == 2
    assert not any(ord(c) < 0x20 and c != "\n" or 0x7f <= ord(c) <= 0x9f for c in table)


@pytest.fixture
def readable_home(monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A SEED_HOME that another user can reach (pytest's own temporary folders are the owner's alone)."""
    base = Path(tempfile.mkdtemp(prefix="seed-ro-"))
    base.chmod(0o755)
    monkeypatch.setenv("SEED_HOME", str(base / "home"))
    yield base / "home"
    for folder, _, _ in os.walk(base):
        os.chmod(folder, 0o755)
    shutil.rmtree(base, ignore_errors=True)


def _as_reader(*args: str) -> subprocess.CompletedProcess[str]:
    """`seed ARGS` by a process that cannot write the store (root ignores file modes: then as nobody)."""
    prefix = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"] if os.geteuid() == 0 else []
    return subprocess.run([*prefix, SEED, *args], capture_output=True, text=True, timeout=120)


def test_a_read_only_store_is_listed(readable_home: Path) -> None:
    with RunStore.open() as store:
        _record(store, "f" * 32, label="kept")
    for folder, _, files in os.walk(readable_home):
        for name in files:
            os.chmod(Path(folder) / name, 0o444)
        os.chmod(folder, 0o555)
    listing = _as_reader("runs")
    assert listing.returncode == 0, listing.stderr
    assert "kept" in listing.stdout and listing.stdout.splitlines()[0].startswith("RUN")
    document = _as_reader("runs", "--json")
    assert document.returncode == 0 and json.loads(document.stdout)["runs"][0]["label"] == "kept"
    shown = _as_reader("runs", "show", "ffff")
    assert shown.returncode == 0 and json.loads(shown.stdout)["status"] == "succeeded"
    removed = _as_reader("runs", "rm", "ffff")  # a write: refused in one line, the store untouched
    assert removed.returncode == 4 and "read-only" in removed.stderr and removed.stderr.count("\n") == 1
    assert "Traceback" not in removed.stderr


@pytest.mark.engine
def test_rm_refuses_a_run_still_going_and_force_stops_it_first(jobs: dict[str, str], tmp_path: Path, home: Path,
                                                               docker_client: Any) -> None:
    runner = subprocess.Popen([SEED, "run", jobs["sleep"], "-q", "-o", str(tmp_path / "going")],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    run_id = "-"
    try:
        run_id = _wait_running(home, runner)
        refused = seed("runs", "rm", run_id[:10])
        assert refused.returncode == 2, refused.stdout + refused.stderr
        assert f"run {run_id[:12]} is still going" in refused.stderr and "--force" in refused.stderr
        assert (tmp_path / "going").is_dir() and [r["id"] for r in listed(home)] == [run_id]
        assert runner.poll() is None  # still going, untouched

        forced = seed("runs", "rm", "--force", run_id[:10])
        assert forced.returncode == 0, forced.stdout + forced.stderr
        assert f"stopped {run_id[:12]}" in forced.stdout and f"removed {run_id[:12]}" in forced.stdout
        assert not (tmp_path / "going").exists() and listed(home) == []
        out, err = runner.communicate(timeout=60)
        assert "runner-failure" not in out + err  # its runner saw the stop, not its folder vanish
        assert docker_client.containers.list(all=True, filters={"label": f"io.seed-runner.run-id={run_id}"}) == []
    finally:
        if runner.poll() is None:
            runner.kill()
            runner.wait()
        for container in docker_client.containers.list(all=True, filters={"label": f"io.seed-runner.run-id={run_id}"}):
            container.remove(force=True)
