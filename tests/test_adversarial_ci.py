"""`seed test`, `seed conformance` and `seed validate --format sarif|github` broken the way real users break them:
a FIFO named case.json, expectations that check nothing (content checks of an output that captured no file, a
pattern that matches the empty text), case folders whose names no report can carry, JUnit that the Jenkins xunit
plugin's schema refuses, a SARIF log of a tree with a file name that is not UTF-8, a conformance timeout that is
not a number of seconds, `--list -k` selecting nothing, and an executor whose runs outlive the suite's timeout.

Each test here failed before its fix."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
import time
import unicodedata
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any, Callable

import pytest
from hypothesis import given, settings, strategies as st

from seed_runner.manifest.label import encode_label
from seed_runner.problems import error
from seed_runner.testing.cases import CaseError, Expectations, load_case, parse_case, showable
from seed_runner.testing.expectations import compare
from seed_runner.testing.junit import JUnitCase, junit_xml
from seed_runner.validation import ValidationResult
from seed_runner.validation.reports import escape_data, github_commands, sarif_log

from .conftest import REPO, CLEAN_MANIFEST

SEED = str(Path(sys.executable).with_name("seed"))


def _seed(*args: str, cwd: Path | None = None, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run([SEED, *args], capture_output=True, text=True, timeout=timeout, cwd=cwd or REPO,
                          env={**os.environ, "COLUMNS": "300"})
    assert "Traceback" not in proc.stderr and "internal error" not in proc.stderr, proc.stderr
    return proc


# -- seed test: case files ------------------------------------------------------------------------------------


def test_a_fifo_named_case_json_is_an_error_not_a_hang(tmp_path: Path) -> None:
    (tmp_path / "stuck").mkdir()
    fifo = tmp_path / "stuck" / "case.json"
    os.mkfifo(fifo)
    outcome: list[BaseException | object] = []
    reader = threading.Thread(target=lambda: outcome.append(_try(load_case, fifo)), daemon=True)
    reader.start()
    reader.join(timeout=10)
    if reader.is_alive():  # it blocked in open(): let it go before failing (a writer ends the wait)
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
        reader.join(timeout=10)
        pytest.fail("reading a FIFO named case.json blocked (seed test would hang, deaf to SIGTERM)")
    assert isinstance(outcome[0], CaseError) and "not a regular file" in str(outcome[0]), outcome


def _try(function: Callable[..., Any], *args: Any) -> Any:
    try:
        return function(*args)
    except Exception as exc:  # noqa: BLE001 - the test looks at what was raised
        return exc


@pytest.mark.parametrize("where, checks", [
    (("expect", "outputs", "OUT"), {"matches": ["z*"]}),
    (("expect", "outputs", "OUT"), {"matches": ["^ok$", "(?:)"]}),
    (("expect", "stdout"), {"matches": ["x?"]}),
    (("expect", "stderr"), {"not_matches": ["^"]}),
])
def test_a_pattern_that_matches_the_empty_text_is_refused(where: tuple[str, ...], checks: dict[str, Any],
                                                          tmp_path: Path) -> None:
    document: dict[str, Any] = {}
    node = document
    for part in where[:-1]:
        node = node.setdefault(part, {})
    node[where[-1]] = checks
    key = next(iter(checks))
    index = len(checks[key]) - 1
    with pytest.raises(CaseError) as caught:
        parse_case(json.dumps(document), file=tmp_path / "case.json")
    message = str(caught.value)
    assert f"$.{'.'.join(where)}.{key}[{index}]: " in message and "empty text" in message, message
    assert "\n" not in message


def test_a_pattern_that_needs_text_is_fine(tmp_path: Path) -> None:
    case = parse_case(json.dumps({"expect": {"outputs": {"OUT": {"matches": ["^mean: \\d+$", "z+"]}},
                                             "stdout": {"not_matches": ["(?i)traceback"]}}}),
                      file=tmp_path / "case.json")
    assert case.expect.outputs["OUT"]["matches"] == ["^mean: \\d+$", "z+"]


def _document(files: list[dict[str, Any]], outputs_dir: Path) -> dict[str, Any]:
    return {"status": "succeeded", "exit_code": 0, "outputs_dir": str(outputs_dir),
            "outputs": {"OUT": {"files": files}}, "json_outputs": {}}


@pytest.mark.parametrize("checks", [
    {"contains": ["must be here"]},
    {"matches": ["^x+$"]},
    {"sha256": "0" * 64},
    {"media_type": "text/plain"},
    {"geometry": {"type": "Point"}},
    {"glob": "*.txt"},
])
def test_a_check_of_every_file_fails_when_the_output_captured_none(checks: dict[str, Any], tmp_path: Path) -> None:
    mismatches = compare(Expectations(outputs={"OUT": checks}), _document([], tmp_path))
    assert [m.where for m in mismatches] == ["outputs.OUT"], mismatches
    assert "no file" in mismatches[0].message and "count" in mismatches[0].message, mismatches


@pytest.mark.parametrize("checks", [{"count": 0}, {"names": []}, {"not_contains": ["x"]}, {"not_matches": ["x"]},
                                    {"count": 0, "not_contains": ["x"]}])
def test_checks_that_hold_for_no_file_still_pass_with_none(checks: dict[str, Any], tmp_path: Path) -> None:
    assert compare(Expectations(outputs={"OUT": checks}), _document([], tmp_path)) == []


def test_a_check_of_every_file_still_reads_each_captured_file(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("first\n")
    (tmp_path / "b.txt").write_text("second\n")
    files = [{"path": "a.txt", "sha256": "x"}, {"path": "b.txt", "sha256": "y"}]
    assert compare(Expectations(outputs={"OUT": {"contains": ["\n"]}}), _document(files, tmp_path)) == []
    found = compare(Expectations(outputs={"OUT": {"not_contains": ["second"]}}), _document(files, tmp_path))
    assert [m.message for m in found] == ['b.txt: contains "second"']  # in the second file of the output


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(codec=None, min_codepoint=0, max_codepoint=0x10FFFF)))
def test_fuzz_showable_text_is_utf8_without_control_characters(text: str) -> None:
    shown = showable(text)
    shown.encode("utf-8")  # strict
    assert len(shown) == len(text) and not any(unicodedata.category(c) in ("Cc", "Cs") for c in shown)
    assert showable(shown) == shown
    if text.isprintable():
        assert shown == text
    escape_data(text).encode("utf-8")  # strict: a workflow command is UTF-8 too, whatever the text


# -- seed test: JUnit as the Jenkins xunit plugin's junit-10.xsd has it -----------------------------------------

# The attributes junit-10.xsd (jenkinsci/xunit-plugin, which validates every report it reads) allows, and its
# SUREFIRE_TIME pattern; xunit refuses a report with any other attribute.
_TESTSUITES = {"name", "time", "tests", "failures", "errors"}
_TESTSUITE = {"name", "tests", "failures", "errors", "group", "time", "skipped", "timestamp", "hostname", "id",
              "package", "file", "log", "url"}
_TESTCASE = {"name", "time", "classname", "group"}
_TIME = re.compile(r"(([0-9]{0,3},)*[0-9]{3}|[0-9]{0,3})*(\.[0-9]*)?")


def test_junit_fits_the_jenkins_xunit_schema() -> None:
    cases = [JUnitCase("ok", "job", "passed", 1234.5), JUnitCase("bad <&\"'>", "job", "failed", 0.25, "why"),
             JUnitCase("broken", "job", "error", 0.0, "can't", kind="case-error"),
             JUnitCase("later", "job", "skipped", 0.0, "not yet", stdout="out", stderr="err")]
    root = ET.fromstring(junit_xml(cases, suite="job", timestamp="2026-01-01T00:00:00Z", hostname="ci",
                                   properties={"image": "i:1"}))
    assert root.tag == "testsuites" and set(root.attrib) <= _TESTSUITES, root.attrib
    suite = root.find("testsuite")
    assert {"name", "tests", "failures", "errors"} <= set(suite.attrib) <= _TESTSUITE, suite.attrib
    assert suite.get("skipped") == "1"  # the suite still says how many were skipped
    for element in (root, suite, *suite.findall("testcase")):
        assert _TIME.fullmatch(element.get("time")), element.get("time")
    for case in suite.findall("testcase"):
        assert set(case.attrib) <= _TESTCASE and {child.tag for child in case} <= {
            "skipped", "error", "failure", "system-out", "system-err"}


# -- seed validate --format: a tree with a file name that is not UTF-8 -------------------------------------------


def _result_of(file: str) -> ValidationResult:
    finding = error("missing-member", "$.job.maintainer.email", "required member 'email' is missing").at(9, 5)
    return ValidationResult(file, "file", (finding,), file=file)


def test_a_file_name_that_is_not_utf8_gives_a_sarif_log_and_commands(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    name = os.fsdecode(b"bad-\xff name") + "/seed.manifest.json"  # as os.listdir gives it back
    log = sarif_log([_result_of(name)])
    text = json.dumps(log, ensure_ascii=False).encode("utf-8")  # a reader gets UTF-8 (no lone surrogate)
    uri = json.loads(text)["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
    assert uri == "bad-%FF%20name/seed.manifest.json"  # the file's own bytes, percent-encoded
    [line] = github_commands([_result_of(name)])
    line.encode("utf-8")  # strict: the runner reads UTF-8
    assert line.startswith("::error file=bad-\ufffd name/seed.manifest.json,line=9,col=5,title=missing-member::")


def test_seed_validate_sarif_of_a_tree_with_a_name_that_is_not_utf8(tmp_path: Path) -> None:
    bad = dict(CLEAN_MANIFEST, job={**CLEAN_MANIFEST["job"], "maintainer": {"name": "No Email"}})
    for folder in (b"ok", b"bad-\xff"):
        path = os.path.join(os.fsencode(tmp_path), b"jobs", folder)
        os.makedirs(path)
        with open(os.path.join(path, b"seed.manifest.json"), "w") as out:
            json.dump(bad, out)
    for fmt in ("sarif", "github"):
        proc = subprocess.run([SEED, "validate", "--format", fmt, "--recursive", "jobs"], capture_output=True,
                              cwd=tmp_path, timeout=120, env={**os.environ, "PYTHONIOENCODING": "utf-8"})
        assert proc.returncode == 1, proc.stderr  # invalid manifests, not a crash (70)
        text = proc.stdout.decode("utf-8")  # strict
        if fmt == "sarif":
            uris = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
                    for r in json.loads(text)["runs"][0]["results"]}
            assert uris == {"jobs/ok/seed.manifest.json", "jobs/bad-%FF/seed.manifest.json"}
        else:
            assert "file=jobs/bad-\ufffd/seed.manifest.json" in text


# -- seed conformance without an engine ---------------------------------------------------------------------------


def test_conformance_list_with_k_selecting_nothing_is_a_usage_error() -> None:
    proc = _seed("conformance", "--list", "-k", "no-such-test-at-all")
    assert proc.returncode == 2 and "no conformance test matches no-such-test-at-all" in proc.stderr
    assert proc.stdout == ""
    assert _seed("conformance", "--list", "-k", "env.json-*").stdout.count("\n") == 6


@pytest.mark.parametrize("seconds", ["inf", "nan", "1e12"])
def test_a_conformance_timeout_that_no_clock_can_wait_is_a_usage_error(seconds: str) -> None:
    proc = _seed("conformance", "--timeout", seconds, "-k", "env.settings", "--base", "seed-runner-test/none:0")
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert proc.stderr.count("\n") == 1 and "--timeout" in proc.stderr, proc.stderr


# -- on the engine ----------------------------------------------------------------------------------------------


@pytest.fixture
def true_job(build_image: Callable[..., str]) -> str:
    manifest = {"seedVersion": "1.0.0", "job": {
        "name": "truthy", "jobVersion": "1.0.0", "packageVersion": "1.0.0", "title": "True",
        "description": "Succeeds.", "maintainer": {"name": "T", "email": "t@example.com"}, "timeout": 30,
        "interface": {"command": "true"}}}
    return build_image(labels={"com.ngageoint.seed.manifest": encode_label(manifest)})


@pytest.mark.engine
def test_case_folder_names_no_report_can_carry_are_case_errors(true_job: str, tmp_path: Path) -> None:
    import seed_runner

    cases = os.path.join(os.fsencode(tmp_path), b"cases")
    names = [b"fine", b"bad-\xff", b"esc\x1b[31mred", b"new\nline"]
    for name in names:
        os.makedirs(os.path.join(cases, name))
        with open(os.path.join(cases, name, b"case.json"), "w") as out:
            out.write("{}")
    report = seed_runner.test_job(true_job, cases=os.fsdecode(cases), output_dir=tmp_path / "out")
    outcomes = {o.name: o for o in report.outcomes}
    assert set(outcomes) == {"fine", "bad-\ufffd", "esc\ufffd[31mred", "new\ufffdline"}, outcomes
    assert outcomes["fine"].status == "passed"
    for name in ("bad-\ufffd", "esc\ufffd[31mred", "new\ufffdline"):
        outcome = outcomes[name]
        assert (outcome.status, outcome.error_kind, outcome.run_dir) == ("error", "case", None), outcome
        assert "rename" in outcome.message and "\n" not in outcome.message
    assert report.exit_status == 1  # the case's fault, not the machine's (4)
    json.dumps(report.to_dict(), ensure_ascii=False).encode("utf-8")  # every name and path is text a reader takes
    assert sorted(os.listdir(tmp_path / "out")) == ["fine", "report.json"]


_STUCK_EXECUTOR = '''
import concurrent.futures as cf

from seed_runner.executors.local import LocalExecutor


class StuckTimeoutProbe(LocalExecutor):
    """The timeout probe's run never ends (a queue that never schedules it) until the executor is closed with
    cancel=True; every other run is the LocalExecutor's."""

    def __init__(self):
        super().__init__()
        self.stuck = []

    def submit(self, request, *options):
        if "-timeout-" in request.image:
            future = cf.Future()
            future.set_running_or_notify_cancel()
            self.stuck.append(future)
            return future
        return super().submit(request, *options)

    def as_completed(self, futures, timeout=None):
        return cf.as_completed(futures, timeout)

    def close(self, *, cancel=False, reason="cancelled"):
        if cancel:
            for future in self.stuck:
                if not future.done():
                    future.set_exception(RuntimeError(reason))
        cf.wait(self.stuck)
        super().close(cancel=cancel, reason=reason)
'''


@pytest.mark.engine
def test_conformance_ends_when_runs_outlive_its_timeout(tmp_path: Path) -> None:
    (tmp_path / "stuck_executor.py").write_text(_STUCK_EXECUTOR)
    junit = tmp_path / "conformance.xml"
    started = time.monotonic()
    try:
        proc = _seed("conformance", "--executor-class", "stuck_executor:StuckTimeoutProbe", "-k", "env.settings",
                     "-k", "timeout.enforced", "--timeout", "3", "--work-dir", str(tmp_path / "work"), "--junit",
                     str(junit), cwd=tmp_path, timeout=120)
    except subprocess.TimeoutExpired:
        pytest.fail("seed conformance waited forever for a run past its --timeout")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "no result within the suite's 3 s" in proc.stdout
    assert proc.stdout.splitlines()[-1].startswith("1 passed, 1 failed of 2 tests in ")
    suite = ET.parse(junit).getroot().find("testsuite")
    assert (suite.get("tests"), suite.get("failures")) == ("2", "1")
    assert time.monotonic() - started < 100
