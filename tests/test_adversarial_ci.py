"""`seed test`, `seed conformance` and `seed validate --format sarif|github` broken the way real users break them:
a FIFO named case.json, expectations that check nothing (content checks of an output that captured no file, a
pattern that matches the empty text), case folders whose names no report can carry, JUnit that the Jenkins xunit
plugin's schema refuses, a SARIF log of a tree with a file name that is not UTF-8, a conformance timeout that is
not a number of seconds, `--list -k` selecting nothing, and an executor whose runs outlive the suite's timeout;
then an executor that starts no run, fails every run or ignores the timeout of its own as_completed (its tests
fail, the reports are written), `-k` that selects alike in both commands, and file names with a newline or bytes
that are not UTF-8 in `seed validate`'s text and JSON.

Each test here failed before its fix."""

from __future__ import annotations

import concurrent.futures as cf
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


# -- seed conformance: an executor at fault fails its tests, never the suite ------------------------------------


class _BrokenExecutor:
    """Every run broken one way (``how``); its as_completed ignores the timeout, as a careless one would."""

    def __init__(self, how: str):
        self.how = how

    def submit(self, request: Any, options: Any = None) -> Any:
        if self.how == "submit-raises":
            raise RuntimeError("no scheduler today")
        if self.how == "not-a-future":
            return object()
        future: cf.Future[Any] = cf.Future()
        if self.how == "future-raises":
            future.set_exception(OSError("lost the worker"))
        elif self.how == "no-document":
            future.set_result(42)
        return future  # "never-ends": never settled

    def as_completed(self, futures: Any, timeout: float | None = None) -> Any:
        return cf.as_completed(futures)  # the timeout ignored

    def close(self, *, cancel: bool = False, reason: str = "cancelled") -> None:
        pass


@pytest.mark.parametrize("how, why", [
    ("submit-raises", "the executor failed to start the run: RuntimeError: no scheduler today"),
    ("not-a-future", "the executor's submit gave a object, not a concurrent.futures.Future"),
    ("future-raises", "the run's future raised OSError: lost the worker"),
    ("no-document", "the run's result has no result document (got int)"),
    ("never-ends", "no result within the suite's 1 s"),
])
def test_an_executor_at_fault_fails_the_tests_of_each_run(how: str, why: str, tmp_path: Path) -> None:
    from seed_runner.conformance.catalog import runs_of, select
    from seed_runner.conformance.suite import _run

    tests = list(select(["env.output-dir", "fs.mount-ro", "errors.declared-exit-code"]))
    runs = runs_of(tests)
    images = {probe: f"seed-conformance-{probe}-1.0.0-seed:1.0.0" for probe, _ in runs}
    found: list[Any] = []
    worker = threading.Thread(target=lambda: found.append(_try(_run, _BrokenExecutor(how), tests, runs, images,
                                                                 tmp_path / "work", 1.0, None)), daemon=True)
    started = time.monotonic()
    worker.start()
    worker.join(timeout=30)
    assert not worker.is_alive(), "the suite waited on an executor that ignores its timeout"
    assert time.monotonic() - started < 10
    outcomes = found[0]
    assert isinstance(outcomes, list), outcomes  # verdicts, not an exception (exit 4 is the machine's)
    assert sorted((o.test.id, o.passed, o.message) for o in outcomes) == [
        (t.id, False, why) for t in sorted(tests, key=lambda t: t.id)]


# -- -k: one rule for seed test and seed conformance -------------------------------------------------------------


@pytest.mark.parametrize("patterns, chosen", [
    (["json-s"], {"env.json-string"}),
    (["ENV.JSON-S"], {"env.json-string"}),  # any case, in both
    (["env.json-[sn]*"], {"env.json-string", "env.json-number"}),  # a glob of the whole name
    (["fs.*-ro"], {"fs.mount-ro", "fs.mount-default-ro"}),
    (["timeout.*", "limits.cpu"], {"timeout.enforced", "timeout.sigterm-first", "limits.cpu"}),
    (["env.json-"], {"env.json-string", "env.json-integer", "env.json-number", "env.json-boolean",
                     "env.json-object", "env.json-array"}),
    (["env.json"], {"env.json-string", "env.json-integer", "env.json-number", "env.json-boolean",
                    "env.json-object", "env.json-array"}),
    (["env.json*"], {"env.json-string", "env.json-integer", "env.json-number", "env.json-boolean",
                     "env.json-object", "env.json-array"}),
    (["json*"], set()),  # a glob is of the whole name: json* does not start it
])
def test_k_selects_alike_in_seed_test_and_seed_conformance(patterns: list[str], chosen: set[str],
                                                          tmp_path: Path) -> None:
    from seed_runner.conformance.catalog import TESTS, select
    from seed_runner.testing.suite import select_cases

    assert {t.id for t in select(patterns)} == chosen
    files = [tmp_path / t.id / "case.json" for t in TESTS]  # cases named as the tests
    assert {f.parent.name for f in select_cases(files, patterns)} == chosen
    if len(patterns) == 1:  # seed test's older spelling: one text
        assert {f.parent.name for f in select_cases(files, patterns[0])} == chosen


@settings(max_examples=300, deadline=None)
@given(st.text(min_size=1), st.data())
def test_fuzz_k_a_part_of_a_name_or_the_name_itself_selects_it(name: str, data: st.DataObject) -> None:
    from seed_runner.testing.selection import matches

    start = data.draw(st.integers(0, len(name) - 1))
    part = name[start:data.draw(st.integers(start + 1, len(name)))]
    if not set("*?[") & set(part.casefold()):
        assert matches(name, part) and matches(name.upper(), part.lower())
    escaped = "".join(f"[{c}]" if c in "*?[" else c for c in name)  # the name as a glob of itself
    assert matches(name, escaped) and matches(name, escaped + "*")


# -- seed validate: names that break a line or are not UTF-8 -----------------------------------------------------


def _tree_with_odd_names(root: Path) -> bytes:
    bad = dict(CLEAN_MANIFEST, job={**CLEAN_MANIFEST["job"], "maintainer": {"name": "No Email"}})
    jobs = os.path.join(os.fsencode(root), b"jobs")
    for folder in (b"new\nline", b"bad-\xff", b"back\\slash"):
        os.makedirs(os.path.join(jobs, folder))
        with open(os.path.join(jobs, folder, b"seed.manifest.json"), "w") as out:
            json.dump(bad, out)
    return jobs


def test_seed_validate_text_keeps_one_line_per_finding_whatever_the_name(tmp_path: Path) -> None:
    _tree_with_odd_names(tmp_path)
    proc = subprocess.run([SEED, "validate", "--recursive", "jobs"], capture_output=True, cwd=tmp_path, timeout=120)
    assert proc.returncode == 1, proc.stderr
    lines = proc.stdout.decode("utf-8").splitlines()  # strict: no raw byte that is not UTF-8 either
    assert len(lines) == 3 + 1, lines  # one finding each, then the summary
    assert sorted(line.partition(": ")[0] for line in lines[:-1]) == [
        "jobs/back\\slash/seed.manifest.json",  # as it is: nothing in the name needs escaping
        "jobs/bad-\\xff/seed.manifest.json", "jobs/new\\nline/seed.manifest.json"]
    assert all(" missing-member $.job.maintainer.email: " in line for line in lines[:-1])
    missing = subprocess.run([SEED, "validate", "no\nsuch.json"], capture_output=True, text=True, cwd=tmp_path,
                             timeout=120)
    assert missing.stdout.splitlines()[0] == ("no\\nsuch.json: error source-not-found $: no\\nsuch.json: no such "
                                             "file or directory; check the path")


def test_seed_validate_json_is_valid_utf8_whatever_the_name(tmp_path: Path) -> None:
    from urllib.parse import unquote_to_bytes

    _tree_with_odd_names(tmp_path)
    proc = subprocess.run([SEED, "validate", "--format", "json", "--recursive", "jobs", os.fsdecode(b"no\xff.json")],
                          capture_output=True, cwd=tmp_path, timeout=120)
    assert proc.returncode == 1, proc.stderr
    text = proc.stdout.decode("utf-8")
    document = json.loads(text)
    json.dumps(document, ensure_ascii=False).encode("utf-8")  # strict: no lone surrogate anywhere
    assert "\\udcff" not in text
    results = {r["source"]: r for r in document["results"]}
    bad = results["jobs/bad-\ufffd/seed.manifest.json"]
    assert bad["file"] == "jobs/bad-\ufffd/seed.manifest.json"
    assert unquote_to_bytes(bad["fileBytes"]) == unquote_to_bytes(bad["sourceBytes"]) == \
        b"jobs/bad-\xff/seed.manifest.json"  # the name's own bytes, to find the file by
    assert results["jobs/new\nline/seed.manifest.json"].keys() == bad.keys() - {"sourceBytes", "fileBytes"}
    missing = results["no\ufffd.json"]
    assert missing["findings"][0]["message"].startswith("no\ufffd.json: no such file")
    assert unquote_to_bytes(missing["sourceBytes"]) == b"no\xff.json"


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
@pytest.mark.parametrize("as_completed", ["cf.as_completed(futures, timeout)", "cf.as_completed(futures)"],
                         ids=["honours-timeout", "ignores-timeout"])
def test_conformance_ends_when_runs_outlive_its_timeout(as_completed: str, tmp_path: Path) -> None:
    # The suite waits on the futures itself: an executor whose as_completed ignores the timeout cannot hang it.
    source = _STUCK_EXECUTOR.replace("cf.as_completed(futures, timeout)", as_completed)
    assert as_completed in source
    (tmp_path / "stuck_executor.py").write_text(source)
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
