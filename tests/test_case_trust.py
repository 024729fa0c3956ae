"""A `seed test` case is untrusted input (CI runs it on strangers' pull requests): every path it names resolves
inside the job folder, links included; its host mounts are read-only unless `--trust-mounts`; its regular
expressions are matched in bounded time, and SIGTERM stops `seed test` while one runs.

Each test here failed before its fix (issue 16, items 9 and 10)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable

import pytest
from hypothesis import given, settings, strategies as st

from seed_runner.manifest.label import encode_label
from seed_runner.testing.cases import load_case
from seed_runner.testing.containment import containment_problem, job_roots

SEED = str(Path(sys.executable).with_name("seed"))


def _case(folder: Path, request: dict[str, Any], expect: dict[str, Any] | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "case.json").write_text(json.dumps({"request": request, "expect": expect or {}}))
    return folder / "case.json"


@pytest.fixture
def job(tmp_path: Path) -> Path:
    """A job folder with tests/, shared data beside the cases, and a secret folder beside the job folder."""
    folder = tmp_path / "job"
    (folder / "tests" / "data").mkdir(parents=True)
    (folder / "example").mkdir()
    (folder / "example" / "in.txt").write_text("in")
    (folder / "tests" / "data" / "shared.txt").write_text("shared")
    (tmp_path / "secret").mkdir()
    (tmp_path / "secret" / "key.txt").write_text("private")
    return folder


def _problem(job: Path, request: dict[str, Any], *, anywhere: bool = False) -> str | None:
    case = load_case(_case(job / "tests" / "one", request))
    found = containment_problem(case, job_roots(job / "tests", job), mounts_anywhere=anywhere)
    return None if found is None else found[1]


def test_paths_inside_the_job_folder_are_fine(job: Path) -> None:
    (job / "tests" / "one").mkdir(parents=True)
    os.symlink("../data/shared.txt", job / "tests" / "one" / "link.txt")  # a link that stays inside
    assert _problem(job, {"inputs": {"A": "../../example/in.txt", "B": ["../data/shared.txt", "link.txt"]},
                          "mounts": {"M": "../data", "N": {"empty": True}}}) is None


@pytest.mark.parametrize("request_", [
    {"inputs": {"A": "../../../secret/key.txt"}},  # climbs out with ..
    {"mounts": {"M": "../../../secret"}},
    {"inputs": {"A": "shadow"}},  # a link to /etc/shadow
    {"inputs": {"A": "folder"}},  # a folder holding a link out
    {"mounts": {"M": "out"}},  # a link to a folder outside
], ids=["input-dotdot", "mount-dotdot", "input-link", "folder-with-link", "mount-link"])
def test_a_path_that_reaches_outside_is_a_case_error(job: Path, request_: dict[str, Any]) -> None:
    here = job / "tests" / "one"
    here.mkdir(parents=True)
    os.symlink("/etc/shadow", here / "shadow")
    (here / "folder").mkdir()
    os.symlink(job.parent / "secret" / "key.txt", here / "folder" / "key.txt")
    os.symlink(job.parent / "secret", here / "out")
    problem = _problem(job, request_)
    assert problem is not None and "reaches outside the job folder" in problem, problem
    assert "\n" not in problem


def test_trust_mounts_lets_a_mount_lie_anywhere_but_never_an_input(job: Path) -> None:
    assert _problem(job, {"mounts": {"M": "../../../secret"}}, anywhere=True) is None
    assert _problem(job, {"inputs": {"A": "../../../secret/key.txt"}}, anywhere=True) is not None


def test_an_image_with_cases_is_held_to_the_folder_the_cases_sit_in(tmp_path: Path) -> None:
    cases = tmp_path / "checkout" / "tests"
    assert job_roots(cases, None) == ((tmp_path / "checkout").resolve(),)
    _case(cases / "one", {})
    assert job_roots(cases / "one", None) == ((tmp_path / "checkout").resolve(),)  # one case given alone


# -- on the engine -------------------------------------------------------------------------------------------

WRITER = {"seedVersion": "1.0.0", "job": {
    "name": "mount-writer", "jobVersion": "1.0.0", "packageVersion": "1.0.0", "title": "Mount writer",
    "description": "Writes into its mount.", "maintainer": {"name": "T", "email": "t@example.com"}, "timeout": 60,
    "interface": {"command": "sh -c 'echo pwned > /data/written.txt'",
                  "mounts": [{"name": "DATA", "path": "/data", "mode": "rw"}]}}}


def seed(*args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run([SEED, *args], capture_output=True, text=True, timeout=timeout)
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc


@pytest.mark.engine
def test_a_case_mount_is_read_only_and_inside_unless_trusted(build_image: Callable[..., str],
                                                             tmp_path: Path) -> None:
    image = build_image(labels={"com.ngageoint.seed.manifest": encode_label(WRITER)})
    outside = tmp_path / "outside"
    outside.mkdir()
    inside = tmp_path / "checkout" / "data"
    inside.mkdir(parents=True)
    cases = tmp_path / "checkout" / "tests"
    _case(cases / "climbs", {"mounts": {"DATA": "../../../outside"}})
    _case(cases / "inside", {"mounts": {"DATA": "../../data"}})
    proc = seed("test", image, "--cases", str(cases), "-o", str(tmp_path / "out"), "--json")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    report = {case["name"]: case for case in json.loads(proc.stdout)["cases"]}
    assert report["climbs"]["status"] == "error"
    assert "reaches outside the job folder" in report["climbs"]["message"]
    assert "--trust-mounts" in report["climbs"]["message"]
    assert report["inside"]["status"] == "failed"  # ran, but could not write: the mount was read-only
    assert list(outside.iterdir()) == [] and list(inside.iterdir()) == []

    trusted = seed("test", image, "--cases", str(cases), "-o", str(tmp_path / "out2"), "--json", "--trust-mounts")
    assert trusted.returncode == 0, trusted.stdout + trusted.stderr
    assert (outside / "written.txt").read_text() == "pwned\n" and (inside / "written.txt").exists()


BACKTRACK = "(x+x+)+y"  # backtracks without end against a line of x's without a y


@pytest.mark.engine
def test_a_pattern_that_backtracks_fails_in_bounded_time_and_sigterm_stops_seed_test(
        build_image: Callable[..., str], tmp_path: Path) -> None:
    manifest = {"seedVersion": "1.0.0", "job": {
        "name": "xs", "jobVersion": "1.0.0", "packageVersion": "1.0.0", "title": "Xs", "description": "Prints x.",
        "maintainer": {"name": "T", "email": "t@example.com"}, "timeout": 60,
        "interface": {"command": "sh -c 'printf \"%05000d\\n\" 0 | tr 0 x'"}}}
    image = build_image(labels={"com.ngageoint.seed.manifest": encode_label(manifest)})
    cases = tmp_path / "checkout" / "tests"
    _case(cases / "slow", {}, {"stdout": {"matches": [BACKTRACK]}})
    started = time.monotonic()
    proc = seed("test", image, "--cases", str(cases), "-o", str(tmp_path / "out"), timeout=120)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert f"FAIL slow: stdout: /{BACKTRACK}/ took over 5 s against 5001 characters and was stopped" in proc.stdout
    assert time.monotonic() - started < 90

    # SIGTERM while the pattern runs: seed test stops (the match lets go of the interpreter's lock).
    _case(cases / "slower", {}, {"stdout": {"matches": [BACKTRACK, BACKTRACK + "z", BACKTRACK + "w"]}})
    running = subprocess.Popen([SEED, "test", image, "--cases", str(cases), "-k", "slower", "-o",
                                str(tmp_path / "out3")], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    result = tmp_path / "out3" / "slower" / "result.json"
    deadline = time.monotonic() + 90
    while not result.exists():
        assert time.monotonic() < deadline and running.poll() is None, running.communicate()
        time.sleep(0.05)
    time.sleep(1.0)  # matching now
    sent = time.monotonic()
    running.send_signal(signal.SIGTERM)
    out, err = running.communicate(timeout=60)
    assert running.returncode == 130, out + err
    assert time.monotonic() - sent < 30  # the case's regular expressions get 10 s in all (a loaded machine: more)
    assert "Traceback" not in err


def test_a_backtracking_pattern_is_bounded_in_the_library(tmp_path: Path) -> None:
    """Without the engine: compare() against a log, in a child process that must end (it hung before)."""
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "stdout.log").write_text("x" * 5000 + "\n")
    code = ("import json, sys\n"
            "from seed_runner.testing.cases import Expectations\n"
            "from seed_runner.testing.expectations import compare\n"
            f"found = compare(Expectations(stdout={{'matches': [{BACKTRACK!r}], 'not_matches': [{BACKTRACK!r}]}}),"
            f" {{'status': 'succeeded', 'run_dir': {str(tmp_path)!r}}})\n"
            "print(json.dumps([m.line() for m in found]))\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    lines = json.loads(proc.stdout)
    assert len(lines) == 2 and "took over 5 s" in lines[0] and "was stopped" in lines[0], lines
    # the second gets what is left of the case's 10 s (on a loaded machine, perhaps nothing): never a pass
    assert "took over" in lines[1] or "the case's 10 s for regular expressions ran out" in lines[1], lines


@settings(max_examples=300, deadline=None)
@given(pattern=st.text(alphabet=st.sampled_from(list("ab()[]{}+*?|^$\\.-,0123456789:<>=!PpLx")), max_size=24),
       text=st.text(alphabet="ab\n", max_size=200))
def test_fuzz_a_case_pattern_is_a_one_line_case_error_or_a_bounded_match(pattern: str, text: str,
                                                                          tmp_path_factory: Any) -> None:
    from seed_runner.testing.cases import CaseError, parse_case
    from seed_runner.testing.expectations import _text_mismatches

    file = tmp_path_factory.getbasetemp() / "fuzz" / "case.json"
    document = {"expect": {"stdout": {"matches": [pattern]}}}
    try:
        case = parse_case(json.dumps(document), file=file)
    except CaseError as exc:
        assert "\n" not in str(exc)
        return
    started = time.monotonic()
    found = _text_mismatches(case.expect.stdout or {}, text.encode(), time.monotonic() + 2)
    assert time.monotonic() - started < 5 and all("\n" not in line for line in found)
