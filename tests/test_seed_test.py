"""`seed test` on a real engine: every sample job passes its own cases (the images are built by
scripts/build-sample-jobs.sh), a wrong expectation fails with a clear line, a case that cannot run is an error
(never a pass), JUnit XML and --json count right, -k selects, --parallel runs cases side by side, and a job that
`seed init` scaffolds passes `seed test` once `seed build` built it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any, Callable

import pytest

import seed_runner
from seed_runner.authoring.scaffold_templates import LOCAL_BASES
from seed_runner.manifest.label import encode_label

pytestmark = pytest.mark.engine

REPO = Path(__file__).resolve().parents[1]
SEED = str(Path(sys.executable).with_name("seed"))
SAMPLE_JOBS = sorted(p.name for p in (REPO / "sample_jobs").iterdir() if (p / "tests").is_dir())


def seed(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run([SEED, *args], capture_output=True, text=True, timeout=600, cwd=cwd,
                          env={**os.environ, **(env or {})})
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc


def test_there_are_sample_jobs_with_cases() -> None:
    assert SAMPLE_JOBS == ["conformance", "python-stats", "watermark"]


@pytest.mark.parametrize("job", SAMPLE_JOBS)
def test_every_sample_job_passes_its_cases(job: str, tmp_path: Path) -> None:
    proc = seed("test", str(REPO / "sample_jobs" / job), "-o", str(tmp_path / "out"), "--json")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    report = json.loads(proc.stdout)
    assert report["summary"]["passed"] == report["summary"]["total"] >= 2
    cases = {case["name"]: case for case in report["cases"]}
    assert any(case["expected"] == "succeeded" for case in cases.values())
    assert any(case["expected"].startswith("failed ") for case in cases.values())  # a declared error too
    for case in cases.values():
        result = json.loads((Path(case["run_dir"]) / "result.json").read_text())  # each in its own run folder
        assert Path(case["run_dir"]).parent == tmp_path / "out" and result["status"] == case["got"].split()[0]
    assert json.loads((tmp_path / "out" / "report.json").read_text())["cases"] == report["cases"]
    assert f"run folders in {tmp_path / 'out'}" in proc.stderr  # says where


def _copy_cases(job: str, tmp_path: Path) -> Path:
    cases = tmp_path / "cases"
    shutil.copytree(REPO / "sample_jobs" / job / "tests", cases)
    if (REPO / "sample_jobs" / job / "example").is_dir():  # the cases reach ../../example
        shutil.copytree(REPO / "sample_jobs" / job / "example", tmp_path / "example")
    return cases


def _edit(case: Path, change: Callable[[dict[str, Any]], None]) -> None:
    document = json.loads((case / "case.json").read_text())
    change(document)
    (case / "case.json").write_text(json.dumps(document, indent=2))


def test_a_wrong_expectation_fails_with_a_clear_line(tmp_path: Path) -> None:
    cases = _copy_cases("watermark", tmp_path)
    _edit(cases / "stamps-a-png", lambda d: d["expect"]["outputs"]["OUTPUT_IMAGE"].update(names=["wrong.png"]))
    proc = seed("test", str(REPO / "sample_jobs" / "watermark"), "--cases", str(cases), "-o", str(tmp_path / "out"))
    assert proc.returncode == 1, proc.stdout + proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0].split() == ["RESULT", "CASE", "EXPECTED", "GOT", "TIME"]
    assert any(line.split()[:2] == ["FAIL", "stamps-a-png"] for line in lines)
    assert any(line.split()[:2] == ["PASS", "not-a-png"] for line in lines)
    assert ("FAIL stamps-a-png: outputs.OUTPUT_IMAGE: expected the files wrong.png, got input_watermark.png"
            in lines), lines
    assert f"  run folder: {tmp_path / 'out' / 'stamps-a-png'}" in lines
    assert lines[-1].startswith("1 passed, 1 failed, 0 errors in ")


def test_cases_that_cannot_run_are_errors_and_junit_counts_them(tmp_path: Path) -> None:
    cases = _copy_cases("watermark", tmp_path)
    _edit(cases / "not-a-png", lambda d: d["expect"].update(error="image-corupt"))  # fails: a typo is not a pass
    shutil.copytree(cases / "stamps-a-png", cases / "bad-json")
    (cases / "bad-json" / "case.json").write_text('{"expect": {"status": "succeeded",}}')
    shutil.copytree(cases / "stamps-a-png", cases / "missing-input")
    _edit(cases / "missing-input", lambda d: d["request"]["inputs"].update(INPUT_IMAGE="nowhere.png"))
    shutil.copytree(cases / "stamps-a-png", cases / "refused")
    _edit(cases / "refused", lambda d: d["request"]["inputs"].update(NO_SUCH_INPUT="../../example/input.png"))
    shutil.copytree(cases / "stamps-a-png", cases / "skipped")
    _edit(cases / "skipped", lambda d: d.update(skip="waiting for a bigger image"))
    junit = tmp_path / "reports" / "junit.xml"
    proc = seed("test", str(REPO / "sample_jobs" / "watermark"), "--cases", str(cases), "-o", str(tmp_path / "out"),
                "--junit", str(junit), "--json")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    report = json.loads(proc.stdout)
    status = {case["name"]: case["status"] for case in report["cases"]}
    assert status == {"bad-json": "error", "missing-input": "error", "not-a-png": "error", "refused": "error",
                      "skipped": "skipped", "stamps-a-png": "passed"}
    messages = {case["name"]: case["message"] for case in report["cases"]}
    assert "malformed JSON at line 1" in messages["bad-json"]
    assert "$.request.inputs.INPUT_IMAGE: nowhere.png does not exist" in messages["missing-input"]
    assert "declares no error 'image-corupt'" in messages["not-a-png"]
    assert "refused the request" in messages["refused"] and "NO_SUCH_INPUT" in messages["refused"]
    assert report["summary"] == {"total": 6, "passed": 1, "failed": 0, "errors": 4, "skipped": 1, "deselected": 0}

    suite = ET.parse(junit).getroot().find("testsuite")
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors"), suite.get("skipped")) == ("6", "0", "4",
                                                                                                       "1")
    testcases = {case.get("name"): case for case in suite.findall("testcase")}
    assert testcases["bad-json"].find("error").get("type") == "case-error"
    assert testcases["skipped"].find("skipped").get("message") == "waiting for a bigger image"
    assert testcases["stamps-a-png"].find("system-out").text.startswith("wrote /seed/outputs/input_watermark.png")
    assert all(case.get("classname") == "image-watermark" for case in testcases.values())


def test_a_failure_is_counted_as_a_junit_failure(tmp_path: Path) -> None:
    cases = _copy_cases("watermark", tmp_path)
    _edit(cases / "not-a-png", lambda d: d["expect"].update(exit_code=2))
    junit = tmp_path / "junit.xml"
    proc = seed("test", str(REPO / "sample_jobs" / "watermark"), "--cases", str(cases), "-o", str(tmp_path / "out"),
                "--junit", str(junit))
    assert proc.returncode == 1
    suite = ET.parse(junit).getroot().find("testsuite")
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors")) == ("2", "1", "0")
    failure = next(c for c in suite.findall("testcase") if c.get("name") == "not-a-png").find("failure")
    assert failure.get("message") == "exit_code: expected 2, got 1" and failure.get("type") == "expectation"


def test_k_selects_cases_and_selecting_none_is_a_usage_error(tmp_path: Path) -> None:
    proc = seed("test", str(REPO / "sample_jobs" / "python-stats"), "-k", "DATA", "-o", str(tmp_path / "a"), "--json")
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert [case["name"] for case in report["cases"]] == ["no-data"]
    assert report["summary"]["deselected"] == 2
    # Repeated, and a glob of the whole name (as seed conformance -k): *-data is no-data, TWO holds two-files.
    both = seed("test", str(REPO / "sample_jobs" / "python-stats"), "-k", "*-data", "-k", "TWO", "-o",
                str(tmp_path / "c"), "--json")
    assert both.returncode == 0, both.stderr
    assert [case["name"] for case in json.loads(both.stdout)["cases"]] == ["no-data", "two-files"]
    none = seed("test", str(REPO / "sample_jobs" / "python-stats"), "-k", "nothing-like-it", "-o", str(tmp_path / "b"))
    assert none.returncode == 2 and "selects none of the 3 cases" in none.stderr
    assert none.stderr.count("\n") == 1


@pytest.fixture
def sleeper(build_image: Callable[..., str]) -> str:
    """A job that sleeps SECONDS (busybox), to see cases run side by side."""
    manifest = {"seedVersion": "1.0.0", "job": {
        "name": "sleeper", "jobVersion": "1.0.0", "packageVersion": "1.0.0", "title": "Sleeper",
        "description": "Sleeps.", "maintainer": {"name": "Test", "email": "test@example.com"}, "timeout": 30,
        "interface": {"command": "sleep ${SECONDS}", "inputs": {"json": [{"name": "SECONDS", "type": "number"}]}}}}
    return build_image(labels={"com.ngageoint.seed.manifest": encode_label(manifest)})


def _sleep_cases(folder: Path, seconds: dict[str, float], timeout: float | None = None) -> Path:
    for name, value in seconds.items():
        (folder / name).mkdir(parents=True)
        request: dict[str, Any] = {"json": {"SECONDS": value}}
        expect: dict[str, Any] = {"status": "succeeded"}
        if timeout is not None:
            request["timeout"] = timeout
            expect = {"status": "timed-out"}
        (folder / name / "case.json").write_text(json.dumps({"request": request, "expect": expect}))
    return folder


def test_parallel_runs_cases_side_by_side(sleeper: str, tmp_path: Path) -> None:
    cases = _sleep_cases(tmp_path / "cases", {"first": 2, "second": 2})
    proc = seed("test", sleeper, "--cases", str(cases), "--parallel", "2", "-o", str(tmp_path / "out"), "--json")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    timings = [json.loads((tmp_path / "out" / name / "result.json").read_text())["timings"]
               for name in ("first", "second")]
    # The runs overlapped (each started before the other finished): the oracle of "side by side", which a
    # wall-clock bound on a loaded machine is not.
    assert timings[0]["started"] < timings[1]["finished"] and timings[1]["started"] < timings[0]["finished"]


def test_an_image_is_tested_with_cases_from_a_folder_and_a_timeout_can_be_expected(sleeper: str,
                                                                                    tmp_path: Path) -> None:
    cases = _sleep_cases(tmp_path / "cases", {"too-slow": 5}, timeout=1)
    report = seed_runner.test_job(sleeper, cases=cases, output_dir=tmp_path / "out")
    assert [(o.name, o.status, o.got.split()[0]) for o in report.outcomes] == [("too-slow", "passed", "timed-out")]
    assert report.exit_status == 0 and report.job == "sleeper"
    no_cases = seed("test", sleeper)
    assert no_cases.returncode == 2 and "an image carries no test cases; give them with --cases DIR" in no_cases.stderr


def test_the_machine_failing_is_exit_4_in_one_line(tmp_path: Path) -> None:
    cases = _copy_cases("watermark", tmp_path)
    down = seed("test", str(REPO / "sample_jobs" / "watermark"), "--cases", str(cases), cwd=tmp_path,
                env={"DOCKER_HOST": "tcp://127.0.0.1:9"})
    assert down.returncode == 4 and down.stderr.count("\n") == 1 and "does not answer" in down.stderr
    missing = seed("test", str(REPO / "sample_jobs" / "watermark"), "--image", "seed-runner-test/absent:1",
                   cwd=tmp_path)
    assert missing.returncode == 4 and "seed-runner-test/absent:1" in missing.stderr
    assert not (tmp_path / "seed-tests").exists()  # nothing half-made


@pytest.mark.parametrize("language", ["shell", "python"])
def test_init_build_test_passes_the_scaffolded_case(language: str, tmp_path: Path, docker_client: Any) -> None:
    name = f"seed-test-{language}-{os.urandom(3).hex()}"
    job = tmp_path / name
    created = seed("init", str(job), "--name", name, "-i", "text", "-i", "other", "-j", "count:integer",
                   "-o", "report", "-o", "data:*.csv", "--json-output", "total:integer", "--json-output", "mean:number",
                   "--json-output", "sizes:array", "--json-output", "label:string", "-e", "mode", "--secret", "token",
                   "--language", language, "--base-image", LOCAL_BASES[language])  # the default is public
    assert created.returncode == 0, created.stderr
    assert "tests/example/case.json" in created.stdout and "seed test" in created.stdout
    built = seed("build", str(job))
    assert built.returncode == 0, built.stderr
    try:
        proc = seed("test", str(job), "-o", str(tmp_path / "out"), "--json")
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert json.loads(proc.stdout)["summary"]["passed"] == 1
        # the scaffolded case checks something: a changed job fails it
        _edit(job / "tests" / "example", lambda d: d["expect"]["json_outputs"]["TOTAL"].update(equals=-1))
        failed = seed("test", str(job), "-o", str(tmp_path / "out2"))
        assert failed.returncode == 1 and "json_outputs.TOTAL: expected -1, got 42" in failed.stdout
    finally:
        docker_client.images.remove(f"{name}-0.1.0-seed:0.1.0", force=True)


def test_an_interrupt_stops_every_case_and_leaves_nothing_running(sleeper: str, tmp_path: Path,
                                                                   docker_client: Any) -> None:
    import signal

    cases = _sleep_cases(tmp_path / "cases", {"a": 30, "b": 30, "c": 30})
    proc = subprocess.Popen([SEED, "test", sleeper, "--cases", str(cases), "--parallel", "2", "-o",
                             str(tmp_path / "out")], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while len(docker_client.containers.list(filters={"ancestor": sleeper})) < 2:
        assert time.monotonic() < deadline and proc.poll() is None, proc.communicate()
        time.sleep(0.1)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, out + err
    assert "Traceback" not in err
    assert docker_client.containers.list(all=True, filters={"ancestor": sleeper}) == []
    assert not (tmp_path / "out" / "c").exists()  # the case not started never starts
    assert json.loads((tmp_path / "out" / "a" / "result.json").read_text())["status"] == "interrupted"


def test_an_invalid_manifest_in_the_folder_is_exit_1_with_its_findings(tmp_path: Path) -> None:
    job = tmp_path / "job"
    shutil.copytree(REPO / "sample_jobs" / "watermark", job)
    document = json.loads((job / "seed.manifest.json").read_text())
    del document["job"]["maintainer"]
    document["job"]["errors"][0]["code"] = "one"
    (job / "seed.manifest.json").write_text(json.dumps(document))
    proc = seed("test", str(job), cwd=tmp_path)
    assert proc.returncode == 1
    lines = proc.stderr.splitlines()
    assert lines[0].startswith(f"seed: error: {job / 'seed.manifest.json'} is not a valid Seed manifest: ")
    assert len(lines) == 2 and lines[1].startswith("  error ")  # the other finding
    assert not (tmp_path / "seed-tests").exists()


def test_a_mismatch_quoting_an_output_never_shows_a_secret(build_image: Callable[..., str], tmp_path: Path) -> None:
    manifest = {"seedVersion": "1.0.0", "job": {
        "name": "leaky", "jobVersion": "1.0.0", "packageVersion": "1.0.0", "title": "Leaky",
        "description": "Writes its secret into an output.", "maintainer": {"name": "T", "email": "t@example.com"},
        "timeout": 30, "interface": {
            "command": "sh -c 'echo \"token=$TOKEN\" > \"$OUTPUT_DIR/t.txt\"'",
            "outputs": {"files": [{"name": "OUT", "pattern": "t.txt"}]},
            "settings": [{"name": "TOKEN", "secret": True}]}}}
    image = build_image(labels={"com.ngageoint.seed.manifest": encode_label(manifest)})
    (tmp_path / "cases" / "leak").mkdir(parents=True)
    (tmp_path / "cases" / "leak" / "case.json").write_text(json.dumps({
        "request": {"settings": {"TOKEN": {"env": "LEAKY_TOKEN"}}},
        "expect": {"outputs": {"OUT": {"not_matches": ["token=.*"]}}}}))
    junit = tmp_path / "junit.xml"
    proc = seed("test", image, "--cases", str(tmp_path / "cases"), "-o", str(tmp_path / "out"), "--junit",
                str(junit), env={"LEAKY_TOKEN": "hunter2-very-secret"})
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert 'FAIL leak: outputs.OUT: t.txt: /token=.*/ matches "token=****"' in proc.stdout
    written = proc.stdout + proc.stderr + junit.read_text() + (tmp_path / "out" / "report.json").read_text()
    assert "hunter2" not in written
    assert "hunter2-very-secret" in (tmp_path / "out" / "leak" / "outputs" / "t.txt").read_text()  # it was there
