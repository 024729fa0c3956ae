"""Smaller edges: `-o` with a name too long for the file system is exit 2 in one line (it was exit 70); a mistyped
image leaves no run folder, result.json or run record behind (still exit 4); an executor whose futures raise a
BaseException fails each test of `seed conformance` with a one-line reason (it printed a raw traceback).

Each test here failed before its fix (issue 16, item 16)."""

from __future__ import annotations

import concurrent.futures as cf
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[1]
SEED = str(Path(sys.executable).with_name("seed"))
LONG = "a" * 300


def seed(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run([SEED, *args], capture_output=True, text=True, timeout=600, cwd=cwd,
                          env={**os.environ, **(env or {})})
    assert "Traceback" not in proc.stderr and "internal error" not in proc.stderr, proc.stderr
    return proc


@pytest.mark.engine
def test_a_run_folder_name_too_long_is_exit_2_in_one_line(tmp_path: Path) -> None:
    proc = seed("run", "seed-runner/busybox:1", "-o", str(tmp_path / LONG), "--json")
    assert proc.returncode == 2, proc.stderr
    document = json.loads(proc.stdout)
    assert document["status"] == "rejected" and document["error"]["name"] == "run-folder-unavailable"
    assert "File name too long" in document["message"] and "give another with -o" in document["message"]
    assert LONG not in document["message"]  # shortened: the message stays readable


@pytest.mark.engine
def test_a_test_folder_name_too_long_is_exit_2_in_one_line(tmp_path: Path) -> None:
    proc = seed("test", str(REPO / "sample_jobs" / "watermark"), "-o", str(tmp_path / LONG))
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.count("\n") == 1 and "File name too long" in proc.stderr


@pytest.mark.engine
def test_a_mistyped_image_leaves_nothing_behind_and_is_still_exit_4(tmp_path: Path) -> None:
    home = tmp_path / "home"
    proc = seed("run", "seed-runner/busybox-typo:1", "-o", str(tmp_path / "run"), cwd=tmp_path,
                env={"SEED_HOME": str(home)})
    assert proc.returncode == 4 and "is not on the local engine" in proc.stderr
    assert not (tmp_path / "run").exists()
    default = seed("run", "seed-runner/busybox-typo:1", cwd=tmp_path, env={"SEED_HOME": str(home)})
    assert default.returncode == 4
    assert not any((tmp_path / "seed-runs").glob("*"))  # no fresh folder under ./seed-runs either
    listing = seed("runs", "--json", env={"SEED_HOME": str(home)})
    assert json.loads(listing.stdout)["runs"] == []  # nothing to list: nothing ran


class Fatal(BaseException):
    """Not an Exception: what a careless executor may let out of its futures."""


class BaseExceptionExecutor:
    """Every run's future raises a BaseException (a SystemExit, or one of its own); `seed conformance
    --executor-class tests.test_misc_edges:BaseExceptionExecutor`."""

    def __init__(self, kind: str = "fatal") -> None:
        self.kind = kind

    def submit(self, request: Any, options: Any = None) -> cf.Future[Any]:
        future: cf.Future[Any] = cf.Future()
        future.set_exception(SystemExit(3) if self.kind == "exit" else Fatal("the worker\nfell over"))
        return future

    def as_completed(self, futures: Any, timeout: float | None = None) -> Any:
        return cf.as_completed(futures, timeout)

    def close(self, *, cancel: bool = False, reason: str = "cancelled") -> None:
        pass


@pytest.mark.parametrize("kind, why", [("fatal", "the run's future raised Fatal: the worker\\nfell over"),
                                       ("exit", "the run's future raised SystemExit: 3")])
def test_a_future_raising_a_base_exception_fails_each_test(kind: str, why: str, tmp_path: Path) -> None:
    from seed_runner.conformance.catalog import runs_of, select
    from seed_runner.conformance.suite import _run

    tests = list(select(["env.output-dir", "errors.declared-exit-code"]))
    runs = runs_of(tests)
    images = {probe: f"seed-conformance-{probe}-1.0.0-seed:1.0.0" for probe, _ in runs}
    outcomes = _run(BaseExceptionExecutor(kind), tests, runs, images, tmp_path / "work", 10.0, None)
    assert sorted((o.test.id, o.passed, o.message) for o in outcomes) == [
        (t.id, False, why) for t in sorted(tests, key=lambda t: t.id)]


@pytest.mark.engine
def test_seed_conformance_with_such_an_executor_reports_failures_not_a_traceback(tmp_path: Path) -> None:
    proc = seed("conformance", "--executor-class", "tests.test_misc_edges:BaseExceptionExecutor", "-k",
                "env.output-dir", "--work-dir", str(tmp_path / "work"), cwd=REPO)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "the run's future raised Fatal: the worker\\nfell over" in proc.stdout
