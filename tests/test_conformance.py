"""`seed conformance`: the catalog, the probes and the verdicts without an engine; on the engine, the suite passes
in full against the LocalExecutor (and Dask, and an executor that runs `docker run` itself) and fails test by test,
exactly the expected ids, against executors broken on purpose (tests/conformance_executors.py)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings, strategies as st

from seed_runner.conformance import catalog, judges
from seed_runner.conformance.catalog import TESTS
from seed_runner.conformance.images import probe_names, probes_folder
from seed_runner.conformance.recipes import RECIPES, SECRET
from seed_runner.conformance.report import ConformanceReport, TestOutcome
from seed_runner.conformance.suite import judge
from seed_runner.conformance.tap import parse_tap, verdict

from .conftest import REPO

SEED = str(Path(sys.executable).with_name("seed"))
IDS = {t.id for t in TESTS}


def _seed(*args: str, env: dict[str, str] | None = None, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run([SEED, "conformance", *args], cwd=REPO, capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, "COLUMNS": "300", **(env or {})})


# -- the catalog and the probes agree ----------------------------------------------------------------------------


def test_ids_are_unique_and_every_test_has_a_description_and_a_rule() -> None:
    assert len(IDS) == len(TESTS)
    for test in TESTS:
        assert re.fullmatch(r"[a-z]+\.[a-z0-9-]+", test.id), test.id
        assert test.description and "\n" not in test.description
        assert re.match(r"(spec \d+(\.\d+)?|contract: [A-Z])", test.rule), test.rule
    # A `contract: X` rule is a section of the runtime-contract page, which users are sent to.
    headings = set(re.findall(r"^## (.+)$", (REPO / "docs/explanation/runtime-contract.md").read_text(), re.M))
    for test in TESTS:
        for part in test.rule.split("; "):
            if part.startswith("contract: "):
                assert part.removeprefix("contract: ").split(" (")[0] in headings, (test.id, part)


def test_every_container_test_is_checked_by_its_probe_and_every_check_is_a_test() -> None:
    for probe in probe_names():
        script = (probes_folder() / probe / "probe.sh").read_text()
        checked = set(re.findall(r"^\s*(?:check|skip) ([a-z]+\.[a-z0-9-]+) ", script, re.M))
        expected = {t.id for t in TESTS if t.probe == probe and t.where == "container"}
        assert checked == expected, probe


def test_every_judge_exists_every_run_has_a_recipe_and_every_probe_is_used() -> None:
    assert {t.judge for t in TESTS if t.judge} == set(judges.JUDGES)
    assert set(catalog.runs_of(TESTS)) == set(RECIPES)
    assert {t.probe for t in TESTS} == set(probe_names())


def test_the_probe_manifests_are_valid() -> None:
    import seed_runner

    for probe in probe_names():
        result = seed_runner.validate(probes_folder() / probe)
        assert result.valid, (probe, result.errors)
        # Only the env probe's retry-Count, kept un-normalized on purpose (env.name-normalization), is warned about.
        assert [w.code for w in result.warnings] == (["name-not-normalized"] if probe == "env" else []), probe


def test_the_probe_files_go_into_the_wheel() -> None:
    # hatchling puts every file under seed_runner/ in the wheel except what git ignores.
    files = [str(p.relative_to(REPO)) for p in probes_folder().rglob("*") if p.is_file()]
    assert len(files) == 2 + 2 * len(probe_names())
    ignored = subprocess.run(["git", "check-ignore", *files], cwd=REPO, capture_output=True, text=True)
    assert ignored.stdout == ""


def test_a_changed_probe_gets_a_new_image_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import shutil

    from seed_runner.conformance import images

    before = images.probe_tag("env", "sha256:base")
    assert before == images.probe_tag("env", "sha256:base")
    assert before != images.probe_tag("env", "sha256:another-base")
    assert re.fullmatch(r"seed-conformance-env-1\.0\.0-seed:1\.0\.0-c[0-9a-f]{12}", before)
    copy = tmp_path / "probes"
    shutil.copytree(probes_folder(), copy)
    monkeypatch.setattr(images, "probes_folder", lambda: copy)
    assert images.probe_tag("env", "sha256:base") == before
    with open(copy / "env" / "probe.sh", "a") as script:
        script.write("# changed\n")
    assert images.probe_tag("env", "sha256:base") != before
    assert images.probe_tag("fs", "sha256:base") == images.probe_tag("fs", "sha256:base")
    built = json.loads(images.build_context("env", "1.0.0-cabc")["seed.manifest.json"])
    assert built["job"]["packageVersion"] == "1.0.0-cabc"


def test_select_takes_parts_of_ids_and_globs() -> None:
    assert catalog.select(None) == TESTS == catalog.select([])
    assert {t.id for t in catalog.select(["env.json-*"])} == {f"env.json-{k}" for k in
                                                              ("string", "integer", "number", "boolean", "object",
                                                               "array")}
    assert {t.id for t in catalog.select(["timeout"])} == {"timeout.enforced", "timeout.sigterm-first"}
    assert {t.id for t in catalog.select(["timeout", "limits.cpu"])} == {"timeout.enforced", "timeout.sigterm-first",
                                                                         "limits.cpu"}
    assert catalog.select(["no-such-test"]) == ()


def test_the_docs_table_is_the_catalog() -> None:
    page = (REPO / "docs/reference/conformance.md").read_text()
    assert catalog.markdown_table() in page


def test_the_docs_examples_are_command_lines_it_takes() -> None:
    # What they do is tested below (the local suite, -k, --junit, an executor class, Dask); here: that each line of
    # the docs page's block is one `seed conformance` accepts (--list stops before anything runs).
    import shlex

    page = (REPO / "docs/how-to/conformance.md").read_text()
    block = re.search(r"```sh\n(.*?)```", page[page.index("# Test a runner's conformance"):], re.S)
    assert block
    lines = [shlex.split(line.split("#")[0]) for line in block.group(1).splitlines()]
    assert len(lines) == 5 and all(line[:2] == ["seed", "conformance"] for line in lines)
    for line in lines:
        proc = _seed(*line[2:], "--list", timeout=60)
        assert proc.returncode == 0, (line, proc.stderr)


# -- TAP and the judges ------------------------------------------------------------------------------------------


def test_tap_lines_are_read_by_test_id() -> None:
    text = ("ok - env.a: first\nnot ok - env.a: second (got \"x\")\nok - env.b: fine # SKIP no cgroup\n"
            "ok 3 - env.c\n# a comment\n1..4\nnot a line\n")
    found = parse_tap(text)
    assert set(found) == {"env.a", "env.b", "env.c"}
    assert verdict(found["env.a"]) == (False, 'second (got "x")')
    assert verdict(found["env.b"]) == (True, "skipped: no cgroup")
    assert verdict(found["env.c"]) == (True, "")
    assert verdict([]) == (False, "the probe reported nothing for this test")


_IDS = st.from_regex(r"[a-z][a-z0-9]{0,6}\.[a-z0-9-]{1,12}", fullmatch=True)
_DETAILS = st.text(st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp"), blacklist_characters="#"), max_size=40)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.booleans(), _IDS, _DETAILS), max_size=8), st.text(max_size=200))
def test_tap_lines_round_trip_and_noise_never_breaks_the_reader(lines: list[tuple[bool, str, str]],
                                                                noise: str) -> None:
    text = "\n".join(f"{'ok' if ok else 'not ok'} - {tid}: {detail}" for ok, tid, detail in lines)
    found = parse_tap(text)
    for ok, tid, detail in lines:
        assert any(line.ok == ok and line.detail == detail.strip() for line in found[tid])
    parse_tap(noise + "\n" + text)  # never raises


_JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
                     lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner,
                                                                                  max_size=3), max_leaves=12)
_KEYS = st.sampled_from(["status", "error", "exit_code", "outputs", "json_outputs", "warnings", "timings",
                         "timed_out", "oom_killed", "message", "outputs_dir", "run_id", "run_dir"])


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(_KEYS, _JSON, max_size=8))
def test_no_document_makes_a_judge_raise(document: dict[str, Any]) -> None:
    # A broken executor may give any document: every test then fails (or passes), the suite never crashes.
    for test in TESTS:
        outcome = judge(test, document, 1.0)
        assert isinstance(outcome.passed, bool) and isinstance(outcome.message, str)


def test_the_host_judges_say_why_a_run_does_not_conform() -> None:
    by_id = catalog.BY_ID
    ran_on = {"status": "succeeded", "exit_code": 0, "error": None, "timed_out": False,
              "timings": {"duration_seconds": 15.2}, "outputs": {"TERMINATED": {"files": []}}}
    outcome = judge(by_id["timeout.enforced"], ran_on)
    assert not outcome.passed and "ended succeeded" in outcome.message
    assert not judge(by_id["timeout.sigterm-first"], ran_on).passed
    leak = {"status": "succeeded", "environment": {"DB_PASS": SECRET}}
    assert judge(by_id["settings.secret-masked"], leak).message.startswith("the value of the secret setting")
    escaped = {"status": "succeeded", "message": json.dumps(SECRET)}
    assert not judge(by_id["settings.secret-masked"], escaped).passed
    assert judge(by_id["settings.secret-masked"], {"status": "succeeded", "environment": {"DB_PASS": "****"}}).passed
    missing = {"status": "failed", "exit_code": 0, "error": {"name": "missing-required-output", "category": "job"}}
    assert judge(by_id["capture.missing-required-output"], missing).passed
    assert not judge(by_id["capture.unexpected-multiple-outputs"], missing).passed
    tap = {"status": "succeeded", "json_outputs": {"TAP": "not ok - fs.mount-rw: cannot write\n1..1"}}
    assert judge(by_id["fs.mount-rw"], tap).message == "cannot write"
    silent = judge(by_id["fs.mount-ro"], {"status": "error", "error": {"name": "docker-launch"}, "message": "boom"})
    assert silent.message == "the probe reported nothing for fs.mount-ro: its run ended error (docker-launch): boom"
    assert judge(by_id["fs.mount-ro"], None, why="refused").message == "refused"


def test_the_report_as_json_and_junit(tmp_path: Path) -> None:
    by_id = catalog.BY_ID
    report = ConformanceReport(executor="x:Y", base="b", started="2026-01-01T00:00:00Z", seconds=1.5, outcomes=[
        TestOutcome(by_id["env.output-dir"], True, "", 0.5),
        TestOutcome(by_id["limits.memory"], False, "the memory limit is 0 <&>", 0.25, "abc", "/runs/abc")])
    assert report.exit_status == 1 and not report.ok
    assert report.summary_line() == "1 passed, 1 failed of 2 tests in 1.5 s: x:Y does not conform"
    document = report.to_dict()
    assert document["counts"] == {"tests": 2, "passed": 1, "failed": 1}
    assert document["tests"][1]["status"] == "failed" and document["tests"][1]["rule"] == by_id["limits.memory"].rule
    suite = ET.parse(report.write_junit(tmp_path / "junit.xml")).getroot().find("testsuite")
    assert suite is not None and suite.get("tests") == "2" and suite.get("failures") == "1"
    failure = suite.find("testcase[@name='limits.memory']/failure")
    assert failure is not None and failure.get("message") == "the memory limit is 0 <&>"
    assert "run folder: /runs/abc" in (failure.text or "")


# -- the command, without an engine ------------------------------------------------------------------------------


def test_the_list_shows_every_test() -> None:
    proc = _seed("--list")
    assert proc.returncode == 0
    assert [line.split()[0] for line in proc.stdout.splitlines()] == [t.id for t in TESTS]
    listed = json.loads(_seed("--list", "--json", "-k", "outputs.").stdout)
    assert [t["id"] for t in listed] == [t.id for t in TESTS if t.id.startswith("outputs.")]


@pytest.mark.parametrize("args, words", [
    (("-k", "no-such-test"), "no conformance test matches no-such-test"),
    (("--executor-class", "no_such_module:X"), "cannot import no_such_module"),
    (("--executor-class", "json:JSONDecoder"), "is not an executor"),
    (("--executor-class", "json:dumps"), "Invalid value for --executor-class: json:dumps is not a class (it is a "
                                         "function)"),
    (("--executor-class", "fractions:Fraction.from_float"), "is not a class (it is a method)"),
    (("--executor-class", "tests.conformance_executors:DockerCliExecutor", "--executor-option", "nope=1"),
     "Invalid value for --executor-option: DockerCliExecutor does not take these options"),
    (("--executor-class", "seed_runner.executors.dask:DaskExecutor"), "Invalid value for --executor-class: "
                                                                      "DaskExecutor cannot be made without arguments"),
    (("--executor-class", "json"), "is not MODULE:CLASS"),
    (("--executor-option", "not a pair"), "is not KEY=VALUE"),
    (("--executor", "kubernetes"), "not an executor of seed-runner"),
    (("--scheduler", "tcp://127.0.0.1:1"), "go with --executor dask"),
    (("--shared-dir", "/tmp"), "with --executor slurm too"),
    (("--executor", "dask"), "needs --scheduler"),
    (("--executor-option", "no_such_option=1"), "does not take these options"),
])
def test_usage_errors_exit_2_with_one_line(args: tuple[str, ...], words: str) -> None:
    proc = _seed(*args, timeout=60)
    assert proc.returncode == 2, proc.stderr
    assert words in " ".join(proc.stderr.replace("│", " ").split())


def test_dask_without_its_extra_says_how_to_get_it(tmp_path: Path) -> None:
    fake = tmp_path / "distributed"
    fake.mkdir()
    (fake / "__init__.py").write_text("raise ImportError('No module named distributed')\n")
    proc = _seed("--executor", "dask", "--scheduler", "tcp://127.0.0.1:1", "--shared-dir", str(tmp_path),
                 env={"PYTHONPATH": str(tmp_path)}, timeout=60)
    assert proc.returncode == 2
    assert "pip install 'seed-runner[dask]'" in proc.stderr and len(proc.stderr.splitlines()) == 1


def test_no_engine_is_exit_4() -> None:
    proc = _seed("-k", "env.output-dir", env={"DOCKER_HOST": "tcp://127.0.0.1:1"}, timeout=120)
    assert proc.returncode == 4, proc.stderr
    assert proc.stderr.startswith("seed: error: ") and len(proc.stderr.splitlines()) == 1


# -- on the engine -----------------------------------------------------------------------------------------------


@pytest.mark.engine
def test_a_missing_base_is_exit_4_and_says_how_to_get_it(busybox_image: str) -> None:
    proc = _seed("--base", "seed-runner/no-such-base:1", timeout=120)
    assert proc.returncode == 4
    assert proc.stderr.splitlines() == [
        "seed: error: the probes' base image seed-runner/no-such-base:1 is not on the engine, and seed conformance "
        "never pulls: build it with scripts/build-base-images.sh (in a seed-runner checkout), or `docker pull "
        "busybox:stable` and give --base busybox:stable"]


@pytest.mark.engine
def test_the_suite_passes_in_full_against_the_local_executor(busybox_image: str, tmp_path: Path) -> None:
    proc = _seed("--json", "--junit", str(tmp_path / "junit.xml"))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    report = json.loads(proc.stdout)
    assert report["executor"] == "seed_runner.executors.local:LocalExecutor" and report["conforms"]
    assert [t["id"] for t in report["tests"] if t["status"] == "passed"] == [t.id for t in TESTS]
    assert report["work_dir"] is None  # removed: every test passed
    suite = ET.parse(tmp_path / "junit.xml").getroot().find("testsuite")
    assert suite is not None and suite.get("tests") == str(len(TESTS)) and suite.get("failures") == "0"
    # The probes were built (or found) once: another look builds nothing.
    from seed_runner.conformance.images import ensure_images

    built: list[str] = []
    assert set(ensure_images(probe_names(), progress=built.append).values()) == set(report["images"].values())
    assert built == []


def _broken(name: str, **options: Any) -> Any:
    from . import conformance_executors

    return getattr(conformance_executors, name)(**options)


@pytest.mark.engine
@pytest.mark.parametrize("name, options, failing", [
    ("DockerCliExecutor", {}, set()),
    ("DockerCliExecutor", {"memory_limit": False}, {"limits.memory", "limits.out-of-memory"}),
    ("DockerCliExecutor", {"json_indent": 2}, {"env.json-object", "env.json-array"}),
    ("QuotedStringsExecutor", {}, {"env.json-string", "command.expansion", "capture.missing-required-output",
                                   "capture.unexpected-multiple-outputs", "capture.outputs-json-missing",
                                   "capture.outputs-json-wrong-type"}),  # the capture probe's MODE is a string
    ("NoTimeoutExecutor", {}, {"timeout.enforced", "timeout.sigterm-first"}),
], ids=["docker-cli", "no-memory-limit", "pretty-json", "quoted-strings", "no-timeout"])
def test_the_suite_fails_exactly_the_tests_an_executor_breaks(name: str, options: dict[str, Any], failing: set[str],
                                                              busybox_image: str, tmp_path: Path) -> None:
    from seed_runner.conformance import run_suite

    executor = _broken(name, **options)
    try:
        report = run_suite(executor, work_dir=tmp_path)
    finally:
        executor.close()
    assert {o.test.id for o in report.failed} == failing, [(o.test.id, o.message) for o in report.failed]
    assert len(report.passed) == len(TESTS) - len(failing)
    assert report.exit_status == (1 if failing else 0)
    for outcome in report.failed:
        assert outcome.message  # each failure says why


@pytest.mark.engine
def test_a_scheduler_class_is_measured_through_the_command(busybox_image: str, tmp_path: Path) -> None:
    proc = _seed("--executor-class", "tests.conformance_executors:DockerCliExecutor",
                 "--executor-option", "read_only_inputs=false", "--executor-option", "parallel=2",
                 "--junit", str(tmp_path / "junit.xml"), "--work-dir", str(tmp_path / "work"))
    assert proc.returncode == 1, proc.stderr
    lines = proc.stdout.splitlines()
    assert len(lines) == 2 * 2 + len(TESTS) - 2 + 1  # one line a test, a reason under each failure, the summary
    failed = [line.split()[1] for line in lines if line.startswith("FAIL")]
    assert sorted(failed) == ["fs.input-folders-read-only", "fs.inputs-read-only"]
    assert lines[-1].startswith(f"{len(TESTS) - 2} passed, 2 failed of {len(TESTS)} tests in ")
    assert lines[-1].endswith("tests.conformance_executors:DockerCliExecutor does not conform")
    suite = ET.parse(tmp_path / "junit.xml").getroot().find("testsuite")
    assert suite is not None and suite.get("failures") == "2"
    assert "seed: the probe runs' folders are in " + str(tmp_path / "work") in proc.stderr


@pytest.mark.engine
def test_an_executor_that_starts_nothing_fails_test_by_test_and_reports_it(busybox_image: str,
                                                                          tmp_path: Path) -> None:
    # Its submit always raises: every test fails with that exception, the reports are written, exit 1 (not 4:
    # the machine is fine, the executor is at fault).
    selected = ("env.output-dir", "env.settings", "errors.declared-exit-code")
    proc = _seed("--executor-class", "tests.conformance_executors:RefusingExecutor", "--json",
                 "--junit", str(tmp_path / "junit.xml"), *(arg for test in selected for arg in ("-k", test)))
    assert proc.returncode == 1, proc.stderr
    why = "the executor failed to start the run: DoesNotFit: no room for any run here"
    report = json.loads(proc.stdout)
    assert [(t["id"], t["status"], t["message"]) for t in report["tests"]] == [(t, "failed", why) for t in selected]
    assert report["conforms"] is False and report["counts"] == {"tests": 3, "passed": 0, "failed": 3}
    lines = proc.stderr.splitlines()
    assert sorted(line.split()[1] for line in lines if line.startswith("FAIL")) == sorted(selected)
    assert lines.count(f"      {why}") == 3
    assert any(line.startswith("0 passed, 3 failed of 3 tests in ") for line in lines)
    suite = ET.parse(tmp_path / "junit.xml").getroot().find("testsuite")
    assert suite is not None and (suite.get("tests"), suite.get("failures")) == ("3", "3")
    assert {case.find("failure").get("message") for case in suite.findall("testcase")} == {why}


@pytest.mark.engine
def test_runs_that_never_end_are_given_up_after_the_timeout(busybox_image: str) -> None:
    from seed_runner.conformance import run_suite

    executor = _broken("StuckExecutor")
    try:
        report = run_suite(executor, select=["fs.mount-ro", "env.output-dir"], timeout=1)
    finally:
        executor.close(cancel=True)
    assert [(o.test.id, o.message) for o in report.outcomes] == [
        ("env.output-dir", "no result within the suite's 1 s"), ("fs.mount-ro", "no result within the suite's 1 s")]
    assert report.exit_status == 1


@pytest.mark.engine
def test_the_suite_passes_in_full_on_a_dask_cluster(busybox_image: str, tmp_path: Path) -> None:
    from .dask_cluster import WorkerSpec, start_cluster

    shared = tmp_path / "shared"
    shared.mkdir()
    cluster = start_cluster([WorkerSpec("w1", nthreads=2, resources="CPU=2,MEM=4096")], tmp_path / "cluster")
    try:
        proc = _seed("--executor", "dask", "--scheduler", cluster.address, "--shared-dir", str(shared), "--json")
    finally:
        cluster.stop()
    assert proc.returncode == 0, proc.stdout + proc.stderr
    report = json.loads(proc.stdout)
    assert report["executor"] == "seed_runner.executors.dask:DaskExecutor"
    assert report["counts"] == {"tests": len(TESTS), "passed": len(TESTS), "failed": 0}
    assert all(t["run_dir"].startswith(str(shared)) for t in report["tests"])
