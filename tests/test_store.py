"""The run store: every run recorded (also 20 at once), `seed runs` (list, filters, show, rm, prune), `seed logs`
(--follow on a live run), `seed rerun` (a changed input reported), abbreviated ids, and a store that is corrupt
or locked (the run still happens and says it was not recorded), a runner killed with SIGKILL ("runner gone").
"""

from __future__ import annotations

import json
import os
import signal
import shutil
import sqlite3
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any, Callable

import pytest

from seed_runner import load_manifest
from seed_runner.manifest.names import LABEL
from seed_runner.runtime.plan import RunRequest
from seed_runner.runtime.runner import run
from seed_runner.store import RunNotFound, RunStore, StoreError
from seed_runner.store.runstore import SCHEMA_VERSION

from .conftest import check_result

SEED = str(Path(sys.executable).with_name("seed"))


def job(command: str, name: str = "store-test", **interface: Any) -> dict[str, Any]:
    return {"seedVersion": "1.0.0", "job": {
        "name": name, "jobVersion": "1.0.0", "packageVersion": "1.0.0", "title": "t", "description": "d",
        "maintainer": {"name": "n", "email": "e"}, "timeout": 60, "interface": {"command": command, **interface}}}


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "home"
    monkeypatch.setenv("SEED_HOME", str(home))
    return home


def seed(*args: str, cwd: Path | None = None, **kwargs: Any) -> subprocess.CompletedProcess:
    return subprocess.run([SEED, *args], capture_output=True, text=True, cwd=cwd, timeout=120, **kwargs)


def listed(home: Path) -> list[dict[str, Any]]:
    proc = seed("runs", "--json")
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)["runs"]


# -- the store alone --------------------------------------------------------------------------------------


def record(store: RunStore, run_id: str, status: str = "succeeded", age: float = 0.0, **extra: Any) -> None:
    store.record_started({"id": run_id, "status": status, "image": "img:1", "job_name": "j", "job_version": "1",
                          "recorded_at": time.time() - age, **extra})


def test_abbreviated_and_ambiguous_ids(tmp_path: Path) -> None:
    with RunStore.open(tmp_path / "s.db") as store:
        record(store, "abc111000000")
        record(store, "abc222000000")
        assert store.get("abc1")["id"] == "abc111000000"
        assert store.get("ABC2220")["id"] == "abc222000000"
        with pytest.raises(RunNotFound, match="ambiguous: abc111000000, abc222000000"):
            store.get("abc")
        with pytest.raises(RunNotFound, match="no run 'ff'"):
            store.get("ff")
        with pytest.raises(RunNotFound, match="not a run id"):
            store.get("abc%")
        assert sqlite3.connect(tmp_path / "s.db").execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert store._db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_prune_by_age_keep_failed_and_never_a_running_run(tmp_path: Path) -> None:
    folders = {}
    with RunStore.open(tmp_path / "s.db") as store:
        for run_id, status, age in (("a1", "succeeded", 10 * 86400), ("a2", "failed", 10 * 86400),
                                    ("a3", "running", 10 * 86400), ("a4", "succeeded", 3600)):
            folders[run_id] = tmp_path / run_id
            (folders[run_id] / "logs").mkdir(parents=True)
            record(store, run_id, status, age, run_dir=str(folders[run_id]))
        assert [r["id"] for r in store.prune(7 * 86400, keep_failed=True)] == ["a1"]
        assert not folders["a1"].exists() and folders["a2"].exists()
        assert [r["id"] for r in store.prune(7 * 86400)] == ["a2"]
        assert sorted(r["id"] for r in store.list()) == ["a3", "a4"]


def test_the_store_lives_in_the_user_data_folder_or_seed_home(monkeypatch: pytest.MonkeyPatch) -> None:
    import platformdirs

    from seed_runner.store import default_path

    monkeypatch.delenv("SEED_HOME")
    for xdg in ("", "/tmp/xdg-data"):
        monkeypatch.setenv("XDG_DATA_HOME", xdg)
        assert default_path() == Path(platformdirs.user_data_dir("seed-runner", appauthor=False)) / "runs.sqlite3"
    monkeypatch.setenv("SEED_HOME", "/tmp/elsewhere")
    assert default_path() == Path("/tmp/elsewhere/runs.sqlite3")


def test_a_store_of_a_newer_version_is_refused(tmp_path: Path) -> None:
    db = sqlite3.connect(tmp_path / "s.db")
    db.execute("PRAGMA user_version = 99")
    db.close()
    with pytest.raises(StoreError, match="newer seed-runner"):
        RunStore.open(tmp_path / "s.db")


# -- runs on the engine -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def jobs(build_image: Callable[..., str]) -> dict[str, str]:
    """Labelled images: `cat` of a file input, a job that prints slowly, a job that sleeps long."""
    unique = uuid.uuid4().hex[:8]
    images = {}
    for key, document in (
            ("cat", job("cat ${INPUT_FILE}", f"store-cat-{unique}", inputs={"files": [{"name": "INPUT_FILE"}]},
                        settings=[{"name": "TOKEN", "secret": True}, {"name": "MODE"}])),
            ("slow", job("sh -c 'echo start; sleep 1; echo tick1; sleep 1; echo tick2; sleep 1; echo done'",
                         f"store-slow-{unique}")),
            ("sleep", job("sh -c 'echo start; sleep 60'", f"store-sleep-{unique}"))):
        name = document["job"]["name"]
        images[key] = build_image(f"{name}-1.0.0-seed:1.0.0", labels={LABEL: json.dumps(document)})
    return images


@pytest.mark.engine
def test_twenty_runs_finishing_at_once_leave_twenty_rows(busybox_image: str, tmp_path: Path, home: Path) -> None:
    manifest = load_manifest(job("true"))
    results: list[Any] = []
    barrier = threading.Barrier(20)

    def one(i: int) -> None:
        barrier.wait()
        results.append(run(RunRequest(image=busybox_image, run_dir=tmp_path / f"run{i}"), manifest=manifest))

    threads = [threading.Thread(target=one, args=(i,)) for i in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [r.outcome.status for r in results] == ["succeeded"] * 20
    assert not [w for r in results for w in r.document["warnings"] if w["code"] == "run-not-recorded"]
    with RunStore.open() as store:
        rows = store.list()
    assert sorted(r["id"] for r in rows) == sorted(r.document["run_id"] for r in results)
    assert {r["status"] for r in rows} == {"succeeded"}


@pytest.mark.engine
def test_list_filters_json_show_and_rm(jobs: dict[str, str], tmp_path: Path, home: Path) -> None:
    data = tmp_path / "in.txt"
    data.write_text("hello\n")
    ok = seed("run", jobs["cat"], "-i", f"INPUT_FILE={data}", "-e", "TOKEN=hunter2-secret", "-e", "MODE=fast",
              "--name", "first", "-q", "-o", str(tmp_path / "ok"))
    assert ok.returncode == 0, ok.stderr
    bad = seed("run", jobs["cat"], "--manifest",
               str(_write(tmp_path / "bad.json", job("sh -c 'exit 3'", "store-bad"))), "-q", "-o", str(tmp_path / "bad"))
    assert bad.returncode == 1, bad.stderr
    runs = listed(home)
    assert [r["status"] for r in runs] == ["failed", "succeeded"]  # newest first
    first = runs[1]
    assert first["label"] == "first" and first["exit_code"] == 0 and first["run_dir"] == str(tmp_path / "ok")
    assert first["settings"] == {"TOKEN": "****", "MODE": "fast"}
    assert first["inputs"]["INPUT_FILE"][0]["path"] == str(data)
    assert len(first["inputs"]["INPUT_FILE"][0]["sha256"]) == 64 and first["digest"].startswith("sha256:")
    assert "hunter2" not in (home / "runs.sqlite3").read_bytes().decode("latin-1")
    assert runs[0]["error_name"] and runs[0]["error_category"]

    proc = seed("runs", "--status", "failed")
    assert proc.returncode == 0 and proc.stdout.count("\n") == 2 and "failed" in proc.stdout, proc.stdout  # + header
    assert seed("runs", "--job", "store-bad", "--json").stdout.count('"id"') == 1
    assert "no runs recorded that match" in seed("runs", "--since", "2999-01-01").stdout
    assert seed("runs", "--since", "1h", "--json").stdout.count('"id"') == 2

    shown = seed("runs", "show", first["id"][:6])
    assert shown.returncode == 0 and json.loads(shown.stdout) == json.loads((tmp_path / "ok/result.json").read_text())
    assert seed("logs", first["id"][:6]).stdout == "hello\n"

    missing = seed("runs", "show", "fffffffffff")
    assert missing.returncode == 2 and missing.stderr.startswith("seed: error: no run 'fffffffffff'")
    gone = seed("runs", "rm", first["id"][:8])
    assert gone.returncode == 0, gone.stderr
    assert not (tmp_path / "ok").exists() and [r["id"] for r in listed(home)] == [runs[0]["id"]]


def _write(path: Path, document: dict[str, Any]) -> Path:
    path.write_text(json.dumps(document))
    return path


@pytest.mark.engine
def test_rerun_unchanged_and_changed_input(jobs: dict[str, str], tmp_path: Path, home: Path) -> None:
    data = tmp_path / "in.txt"
    data.write_text("one\n")
    first = seed("run", jobs["cat"], "-i", f"INPUT_FILE={data}", "-e", "TOKEN=s3cret", "-e", "MODE=m", "-q", "-o",
                 str(tmp_path / "r1"), cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    run_id = listed(home)[0]["id"]
    refused = seed("rerun", run_id, cwd=tmp_path)
    assert refused.returncode == 2 and "TOKEN is a secret" in refused.stderr
    again = seed("rerun", run_id, "-e", "TOKEN=s3cret", "--json", cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert "input changed" not in again.stderr and json.loads(again.stdout)["status"] == "succeeded"
    data.write_text("two\n")
    changed = seed("rerun", run_id[:7], "-e", "TOKEN=s3cret", "-q", cwd=tmp_path)
    assert changed.returncode == 0, changed.stderr
    assert f"input changed since run {run_id}: INPUT_FILE: {data} (changed: sha256" in changed.stderr
    runs = listed(home)
    assert len(runs) == 3 and len({r["id"] for r in runs}) == 3
    assert (Path(runs[0]["run_dir"]) / "logs/stdout.log").read_text() == "two\n"


@pytest.mark.engine
def test_rerun_repeats_manifest_strict_and_pull(registry: Any, seed_image: Callable[..., str], docker_client: Any,
                                                tmp_path: Path, home: Path) -> None:
    from .registry_fixture import push, unique_name

    repository = unique_name("rerun")
    push(docker_client, registry, seed_image(), repository, "1.0.0")  # its label's job only echoes hello
    reference = f"{registry.host}/{repository}:1.0.0"
    given = _write(tmp_path / "m.json", job(  # the given manifest's job writes an invalid side-car
        "sh -c 'echo from the given manifest; echo x > $OUTPUT_DIR/a.txt; echo {bad > $OUTPUT_DIR/a.txt.metadata.json'",
        "rerun-given", outputs={"files": [{"name": "A", "pattern": "a.txt"}]}))
    first = seed("run", reference, "--pull", "--strict", "--manifest", str(given), "-q", "-o", str(tmp_path / "r1"))
    assert first.returncode == 1, first.stderr  # --strict: the invalid side-car fails the run
    original = listed(home)[0]
    given.unlink()  # the rerun takes the manifest as it was given, from the record
    mark = registry.log_mark()
    again = seed("rerun", original["id"][:8], "--json")
    assert again.returncode == 1, again.stderr
    assert (f"seed: rerun of {original['id']} as it was run: --manifest (the manifest it was given, as recorded), "
            "--strict, --pull") in again.stderr
    document = json.loads(again.stdout)
    assert document["error"]["name"] == "invalid-metadata" and document["job"]["name"] == "rerun-given"
    assert (Path(document["run_dir"]) / "logs/stdout.log").read_text() == "from the given manifest\n"
    assert any(path.startswith(f"/v2/{repository}/manifests/") for _, path, _ in registry.requests(mark))  # pulled
    record = RunStore.open().get(document["run_id"])
    assert record["request"]["strict"] is True and record["request"]["pull"] is True
    assert record["request"]["manifest"]["job"]["name"] == "rerun-given"

    plain = seed("run", reference, "-q", "-o", str(tmp_path / "r2"))  # the label, no --strict, no --pull
    assert plain.returncode == 0, plain.stderr
    mark = registry.log_mark()
    rerun_plain = seed("rerun", listed(home)[0]["id"], "-q")
    assert rerun_plain.returncode == 0 and "as it was run" not in rerun_plain.stderr, rerun_plain.stderr
    assert registry.requests(mark) == []  # no --pull: the registry was not asked


@pytest.mark.engine
def test_logs_follow_a_live_run(jobs: dict[str, str], tmp_path: Path, home: Path) -> None:
    runner = subprocess.Popen([SEED, "run", jobs["slow"], "-q", "-o", str(tmp_path / "slow")],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        run_id = _wait_running(home, runner)
        follow = seed("logs", run_id, "--follow")
        assert follow.returncode == 0, follow.stderr
        assert follow.stdout == "start\ntick1\ntick2\ndone\n"
        assert runner.wait(timeout=60) == 0
        assert seed("logs", run_id, "--stderr").stdout == ""
    finally:
        runner.kill()
        runner.wait()


def _wait_running(home: Path, runner: subprocess.Popen) -> str:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if runner.poll() is not None:
            raise AssertionError(f"the runner ended ({runner.returncode}) before its run was listed")
        if (home / "runs.sqlite3").exists():
            runs = [r for r in listed(home) if r["state"] == "running"]
            if runs:
                return runs[0]["id"]
        time.sleep(0.1)
    raise AssertionError("no run started")


@pytest.mark.engine
def test_a_runner_killed_with_sigkill_shows_as_gone(jobs: dict[str, str], tmp_path: Path, home: Path,
                                                   docker_client: Any) -> None:
    runner = subprocess.Popen([SEED, "run", jobs["sleep"], "-q", "-o", str(tmp_path / "k")],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    run_id = "-"
    try:
        run_id = _wait_running(home, runner)
        runner.send_signal(signal.SIGKILL)
        runner.wait(timeout=30)
        runs = listed(home)
        assert runs[0]["id"] == run_id and runs[0]["status"] == "running" and runs[0]["state"] == "runner gone"
        assert "runner gone" in seed("runs").stdout
        shown = json.loads(seed("runs", "show", run_id).stdout)
        assert shown["status"] == "runner gone" and "runner died" in shown["message"]
        assert shown["container"] in ("running", "gone")  # gone: another test's run reaped it already
        assert seed("runs", "--status", "runner gone", "--json").stdout.count('"id"') == 1
    finally:
        runner.kill()
        runner.wait()
        for container in docker_client.containers.list(all=True, filters={"label": f"io.seed-runner.run-id={run_id}"}):
            container.remove(force=True)


@pytest.mark.engine
def test_a_corrupt_store_never_blocks_a_run(busybox_image: str, tmp_path: Path, home: Path) -> None:
    home.mkdir()
    (home / "runs.sqlite3").write_bytes(os.urandom(4096))
    manifest_file = _write(tmp_path / "m.json", job("echo hi"))
    proc = seed("run", busybox_image, "--manifest", str(manifest_file), "-q", "-o", str(tmp_path / "r"))
    assert proc.returncode == 0, proc.stderr
    assert "seed: warning: the run could not be recorded in the run store" in proc.stderr
    assert "is corrupt" in proc.stderr
    result = check_result(json.loads((tmp_path / "r/result.json").read_text()))
    assert [w["code"] for w in result["warnings"]] == ["run-not-recorded"]
    listing = seed("runs")
    assert listing.returncode == 4 and listing.stdout == ""
    assert listing.stderr.count("\n") == 1 and "is corrupt" in listing.stderr, listing.stderr


@pytest.mark.engine
def test_a_locked_store_never_blocks_a_run(busybox_image: str, tmp_path: Path, home: Path) -> None:
    RunStore.open().close()
    holder = sqlite3.connect(home / "runs.sqlite3", isolation_level=None)
    holder.execute("PRAGMA locking_mode = EXCLUSIVE")
    holder.execute("BEGIN EXCLUSIVE")
    holder.execute("CREATE TABLE held (x)")  # an exclusive lock on the whole file, for as long as we like
    try:
        manifest_file = _write(tmp_path / "m.json", job("echo hi"))
        proc = seed("run", busybox_image, "--manifest", str(manifest_file), "-q", "-o", str(tmp_path / "r"))
        assert proc.returncode == 0, proc.stderr
        assert "could not be recorded" in proc.stderr and "locked" in proc.stderr, proc.stderr
        listing = seed("runs")
        assert listing.returncode == 4 and listing.stderr.count("\n") == 1 and "locked" in listing.stderr
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert listed(home) == []  # the run was not recorded, and the store works again


def test_a_store_that_already_has_a_later_column_migrates_without_adding_it_twice(tmp_path: Path) -> None:
    """A store at schema 2 that a build with other step numbers gave a later column (executor_job) and a later
    version: the migration adds exactly what is missing (cache_record too), keeps every row, and the store opens."""
    from seed_runner.store.runstore import _COLUMNS, RunStore as Store

    path = tmp_path / "runs.sqlite3"
    shutil.copy(Path(__file__).parent / "data" / "runs-v2.sqlite3", path)
    db = sqlite3.connect(path)
    db.execute("ALTER TABLE runs ADD COLUMN executor_job TEXT")
    db.execute("PRAGMA user_version = 3")  # and says a version past the step (cache_record) it never had
    db.commit()
    rows = len(db.execute("SELECT * FROM runs").fetchall())
    db.close()
    with Store.open(path) as store:
        assert len(store.list()) == rows
    after = sqlite3.connect(path)
    assert after.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    names = [r[1] for r in after.execute("PRAGMA table_info(runs)")]
    assert names.count("executor_job") == 1 and "cache_record" in names
    assert len(after.execute("PRAGMA table_info(runs)").fetchall()) == len(_COLUMNS)
    after.close()
