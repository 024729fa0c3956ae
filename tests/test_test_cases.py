"""`seed test` without an engine: the case format and its loader (every bad case is one line naming the file and
the place, never a pass; hostile JSON never crashes it), the comparison of a result document with a case, the
JUnit XML writer (any text gives a document a JUnit reader parses, with the right counts), and the schema as
`seed schema test-case` prints it. The engine side is in test_seed_test.py."""

from __future__ import annotations

import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from seed_runner.testing.cases import CaseError, Expectations, discover, load_case, parse_case
from seed_runner.testing.expectations import compare, got_summary, json_difference
from seed_runner.testing.junit import JUnitCase, junit_xml
from seed_runner.testing.suite import select_cases

SEED = str(Path(sys.executable).with_name("seed"))


def _case(tmp_path: Path, document: Any, name: str = "one", files: dict[str, str] | None = None) -> Path:
    folder = tmp_path / name
    folder.mkdir(parents=True, exist_ok=True)
    for relative, text in (files or {}).items():
        (folder / relative).parent.mkdir(parents=True, exist_ok=True)
        (folder / relative).write_text(text)
    file = folder / "case.json"
    file.write_text(document if isinstance(document, str) else json.dumps(document, indent=2))
    return file


# -- the loader ----------------------------------------------------------------------------------------------


def test_a_full_case_loads_typed(tmp_path: Path) -> None:
    file = _case(tmp_path, {
        "description": "all of it",
        "request": {"inputs": {"A": "a.txt", "B": ["b/1.txt", "b/2.txt"]}, "json": {"N": 3, "S": "x"},
                    "settings": {"HOST": "db", "PASS": {"env": "CASE_PASS"}},
                    "mounts": {"RO": "b", "RW": {"empty": True}}, "resources": {"mem": 128}, "timeout": 9},
        "expect": {"error": "no-data", "exit_code": 3, "max_seconds": 5,
                   "outputs": {"OUT": {"count": 1, "sha256": "AB" * 32, "contains": ["x"], "matches": ["^a$"]}},
                   "json_outputs": {"N": {"equals": 3}, "M": {"subset": {"a": 1}}, "Z": {"absent": True}},
                   "stderr": {"contains": ["no number"]}}},
        files={"a.txt": "a", "b/1.txt": "1", "b/2.txt": "2"})
    case = load_case(file)
    assert case.name == "one" and case.folder == file.parent
    assert case.request.inputs == {"A": ("a.txt",), "B": ("b/1.txt", "b/2.txt")}
    assert case.request.mounts == {"RO": "b", "RW": None}
    assert case.expect.status == "failed"  # implied by the error
    assert case.expect.outputs["OUT"]["sha256"] == "ab" * 32  # hashes compared in lower case
    assert case.expect.describe() == "failed no-data (exit 3)"
    assert Expectations().describe() == "succeeded"


@pytest.mark.parametrize("document, where, words", [
    ('{"expect": {"status": "ok"}}', "$.expect.status", "is not one of"),
    ('{"expect": {"statuss": "failed"}}', "$.expect", "unknown member 'statuss'"),
    ('{"expect": {"outputs": {"A": {"count": "two"}}}}', "$.expect.outputs.A.count", "expected an integer"),
    ('{"expect": {"outputs": {"A": {"contans": ["x"]}}}}', "$.expect.outputs.A", "unknown member 'contans'"),
    ('{"expect": {"outputs": {"A": {"sha256": "abc"}}}}', "$.expect.outputs.A.sha256", "SHA-256"),
    ('{"expect": {"json_outputs": {"A": 5}}}', "$.expect.json_outputs.A", '{"equals": ...}'),
    ('{"expect": {"stdout": {"matches": ["(open"]}}}', "$.expect.stdout.matches[0]", "regular expression"),
    ('{"expect": {"error": "x", "status": "succeeded"}}', "$.expect.error", "with status 'succeeded'"),
    ('{"expect": {"exit_code": 3, "status": "succeeded"}}', "$.expect.exit_code", "a success exits 0"),
    ('{"request": {"inputs": {"A": "missing.txt"}}}', "$.request.inputs.A", "does not exist"),
    ('{"request": {"inputs": {"A": "/etc/hostname"}}}', "$.request.inputs.A", "is absolute"),
    ('{"request": {"mounts": {"M": "file.txt"}}}', "$.request.mounts.M", "is not a folder"),
    ('{"request": {"timeout": -1}}', "$.request.timeout", "minimum"),
    ('{"expect": {}, "expect": {}}', "$.expect", "more than once"),
    ('{"expect": ', "line 1, column 12", "malformed JSON"),
    ('[]', "$", "expected an object"),
    ('', "", "is empty"),
    ('{"request": {"json": {"N": 1e400}}}', "$.request.json.N", "too large"),
])
def test_a_bad_case_is_one_line_naming_file_place_and_problem(tmp_path: Path, document: str, where: str,
                                                                words: str) -> None:
    file = _case(tmp_path, document, files={"file.txt": "x"})
    with pytest.raises(CaseError) as caught:
        load_case(file)
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(f"{file}:") and where in message and words in message, message


def test_a_schema_problem_names_the_line_and_column_of_its_member(tmp_path: Path) -> None:
    file = _case(tmp_path, {"request": {"inputs": {"A": "a.txt"}},
                            "expect": {"outputs": {"A": {"count": 1, "contans": ["x"]}}}}, files={"a.txt": "a"})
    lines = file.read_text().splitlines()
    line = next(i for i, text in enumerate(lines, 1) if '"A": {' in text and "count" not in text and i > 3)
    column = lines[line - 1].index('"A"') + 1
    with pytest.raises(CaseError) as caught:
        load_case(file)
    assert str(caught.value).startswith(f"{file}:{line}:{column}: $.expect.outputs.A: unknown member 'contans'")
    file.write_text('{\n  "request": {"inputs": {"A": "missing.txt"}}\n}')
    with pytest.raises(CaseError, match=r"case\.json:2:26: \$\.request\.inputs\.A: missing\.txt does not exist"):
        load_case(file)


def test_a_case_file_that_is_not_utf8_or_too_large_or_unreadable(tmp_path: Path) -> None:
    file = _case(tmp_path, "{}")
    file.write_bytes(b'{"description": "\xff"}')
    with pytest.raises(CaseError, match="not valid UTF-8"):
        load_case(file)
    file.write_bytes(b" " * (1024 * 1024 + 1))
    with pytest.raises(CaseError, match="too large for a case file"):
        load_case(file)
    with pytest.raises(CaseError, match="cannot read the case"):
        load_case(tmp_path / "nowhere" / "case.json")


def test_discovery_skips_hidden_folders_and_folders_without_a_case(tmp_path: Path) -> None:
    for name in ("b-case", "a-case", ".hidden", "data"):
        (tmp_path / name).mkdir()
    for name in ("b-case", "a-case", ".hidden"):
        (tmp_path / name / "case.json").write_text("{}")
    found = discover(tmp_path)
    assert [f.parent.name for f in found] == ["a-case", "b-case"]
    assert discover(tmp_path / "a-case") == [tmp_path / "a-case" / "case.json"]  # a case folder is itself
    assert [f.parent.name for f in select_cases(found, "B-C")] == ["b-case"]  # -k: a substring, any case
    assert select_cases(found, None) == found and select_cases(found, "zzz") == []


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=20)
KEYS = st.sampled_from(["request", "expect", "description", "skip", "inputs", "json", "settings", "mounts",
                        "outputs", "json_outputs", "status", "error", "count", "names", "sha256", "contains",
                        "matches", "geometry", "equals", "subset", "absent", "stdout", "timeout", "env", "empty"])
CASE_LIKE = st.recursive(JSON_VALUES, lambda children: st.dictionaries(KEYS, children, max_size=5), max_leaves=30)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(document=CASE_LIKE)
def test_fuzz_any_json_is_a_case_or_one_line(tmp_path: Path, document: Any) -> None:
    _check_one_line_or_case(tmp_path, json.dumps(document).encode())


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=200) | st.text(max_size=200).map(lambda t: t.encode("utf-8", "surrogatepass")))
def test_fuzz_any_bytes_are_a_case_or_one_line(tmp_path: Path, data: bytes) -> None:
    _check_one_line_or_case(tmp_path, data)


def test_fuzz_deep_and_wide_documents(tmp_path: Path) -> None:
    for data in (b"[" * 100_000, b'{"expect": ' * 5000, b'{"request": {"json": {"A": ' + b"[" * 120 + b"]" * 120
                 + b"}}}", b'{"description": "' + b"x" * 900_000 + b'"}'):
        _check_one_line_or_case(tmp_path, data)


def _check_one_line_or_case(tmp_path: Path, data: bytes) -> None:
    try:
        case = parse_case(data, file=tmp_path / "fuzz" / "case.json")
    except CaseError as exc:
        assert "\n" not in str(exc) and str(exc).startswith(str(tmp_path / "fuzz" / "case.json") + ":")
    else:
        assert case.expect.status in ("succeeded", "failed", "timed-out")


# -- the comparison ------------------------------------------------------------------------------------------


def _document(tmp_path: Path, **changes: Any) -> dict[str, Any]:
    (tmp_path / "run" / "outputs").mkdir(parents=True, exist_ok=True)
    (tmp_path / "run" / "logs").mkdir(exist_ok=True)
    (tmp_path / "run" / "outputs" / "a.txt").write_text("hello\nworld 42\n")
    (tmp_path / "run" / "logs" / "stdout.log").write_text("wrote a.txt\n")
    (tmp_path / "run" / "logs" / "stderr.log").write_text("")
    document = {"status": "succeeded", "exit_code": 0, "error": None, "message": None,
                "timings": {"duration_seconds": 1.5}, "run_dir": str(tmp_path / "run"),
                "outputs_dir": str(tmp_path / "run" / "outputs"),
                "outputs": {"OUT": {"files": [{"path": "a.txt", "size": 15, "sha256": "0" * 64,
                                               "media_type": "text/plain", "metadata_path": "a.txt.metadata.json",
                                               "metadata": {"type": "Feature", "geometry": {"type": "Point"},
                                                            "bbox": [1.0, 2.0, 1.0, 2.0]}}]}},
                "json_outputs": {"N": 3, "OBJ": {"a": 1, "b": [1, 2]}, "F": 0.1 + 0.2}}
    document.update(changes)
    return document


def _expect(**values: Any) -> Expectations:
    return Expectations(**values)


def test_a_run_that_is_what_the_case_expects_has_no_mismatch(tmp_path: Path) -> None:
    expect = _expect(exit_code=0, max_seconds=2,
                     outputs={"OUT": {"count": 1, "names": ["a.txt"], "glob": "*.txt", "media_type": "text/plain",
                                      "sha256": {"a.txt": "0" * 64}, "contains": ["world"],
                                      "not_contains": ["secret"], "matches": [r"^world \d+$"],
                                      "not_matches": ["^hello$x"],
                                      "geometry": {"type": "Point", "bbox": [1, 2, 1, 2.0000001]}}},
                     json_outputs={"N": {"equals": 3.0}, "OBJ": {"subset": {"b": [1, 2]}},
                                   "F": {"equals": 0.3, "tolerance": 1e-9}, "GONE": {"absent": True}},
                     stdout={"contains": ["wrote"]}, stderr={"not_contains": ["error"]})
    assert compare(expect, _document(tmp_path)) == []


@pytest.mark.parametrize("expect, where, words", [
    (_expect(status="failed", error="no-data"), "status", "expected failed no-data, got succeeded"),
    (_expect(max_seconds=1), "max_seconds", "ran 1.50 s, over 1 s"),
    (_expect(outputs={"OUT": {"count": 2}}), "outputs.OUT", "expected 2 files, got 1 (a.txt)"),
    (_expect(outputs={"OUT": {"names": ["b.txt"]}}), "outputs.OUT", "expected the files b.txt, got a.txt"),
    (_expect(outputs={"OUT": {"glob": "*.csv"}}), "outputs.OUT", "a.txt does not match '*.csv'"),
    (_expect(outputs={"OUT": {"sha256": "1" * 64}}), "outputs.OUT", "a.txt: sha256 0000"),
    (_expect(outputs={"OUT": {"contains": ["absent text"]}}), "outputs.OUT", 'does not contain "absent text"'),
    (_expect(outputs={"OUT": {"not_contains": ["world"]}}), "outputs.OUT", 'a.txt: contains "world"'),
    (_expect(outputs={"OUT": {"matches": ["^nope"]}}), "outputs.OUT", "nothing matches /^nope/"),
    (_expect(outputs={"OUT": {"not_matches": [r"\d+"]}}), "outputs.OUT", 'matches "42"'),
    (_expect(outputs={"OUT": {"geometry": {"type": "Polygon"}}}), "outputs.OUT", "geometry Point, expected Polygon"),
    (_expect(outputs={"OUT": {"geometry": {"bbox": [0, 0, 1, 1]}}}), "outputs.OUT", "side-car bbox"),
    (_expect(outputs={"MISSING": {"count": 0}}), "outputs.MISSING", "no such output"),
    (_expect(json_outputs={"N": {"equals": 4}}), "json_outputs.N", "expected 4, got 3"),
    (_expect(json_outputs={"N": {"equals": True}}), "json_outputs.N", "expected true, got 3"),
    (_expect(json_outputs={"OBJ": {"equals": {"a": 1}}}), "json_outputs.OBJ", "unexpected member 'b'"),
    (_expect(json_outputs={"OBJ": {"subset": {"b": [1]}}}), "json_outputs.OBJ", "expected 1 items at .b, got 2"),
    (_expect(json_outputs={"N": {"absent": True}}), "json_outputs.N", "expected no value, got 3"),
    (_expect(json_outputs={"X": {"equals": 1}}), "json_outputs.X", "no value"),
    (_expect(stdout={"contains": ["nothing like it"]}), "stdout", "does not contain"),
])
def test_every_difference_is_one_clear_mismatch(tmp_path: Path, expect: Expectations, where: str, words: str) -> None:
    found = compare(expect, _document(tmp_path))
    assert len(found) == 1, found
    assert found[0].where == where and words in found[0].message, found[0].line()


def test_a_link_out_of_the_output_folder_is_never_read(tmp_path: Path) -> None:
    document = _document(tmp_path)
    secret = tmp_path / "host-file.txt"
    secret.write_text("host secret")
    (tmp_path / "run" / "outputs" / "a.txt").unlink()
    (tmp_path / "run" / "outputs" / "a.txt").symlink_to(secret)
    found = compare(_expect(outputs={"OUT": {"contains": ["host secret"]}}), document)
    assert [m.message for m in found] == ["a.txt: is a link out of the output folder; its content is not checked"]


def test_how_runs_are_summarized() -> None:
    assert got_summary({"status": "succeeded", "exit_code": 0}) == "succeeded"
    assert got_summary({"status": "failed", "exit_code": 3, "error": {"name": "no-data"}}) == "failed no-data (exit 3)"
    assert got_summary({"status": "rejected", "exit_code": None, "error": {"name": "invalid-request"}}) == \
        "rejected invalid-request"
    assert json_difference(1, 1.0) is None and json_difference([1, {"a": 2}], [1, {"a": 2, "b": 3}], subset=True) \
        is None
    assert json_difference(0, False) is not None and json_difference("1", 1) is not None


# -- JUnit XML -----------------------------------------------------------------------------------------------


def test_junit_shape_and_counts() -> None:
    data = junit_xml([("ok", "job", "passed", 0.5), ("bad", "job", "failed", 1.25, "outputs.X: expected 2 files",
                                                       "outputs.X: expected 2 files\nrun folder: /r", "out", "err"),
                      JUnitCase("broken", "job", "error", 0.0, "invalid case", kind="case-error"),
                      JUnitCase("later", "job", "skipped", 0.0, "not yet")],
                     suite="job", timestamp="2026-01-01T00:00:00Z", hostname="ci", properties={"image": "i:1"})
    root = ET.fromstring(data)
    assert root.tag == "testsuites" and root.get("tests") == "4"
    suite = root.find("testsuite")
    assert (suite.get("failures"), suite.get("errors"), suite.get("skipped"), suite.get("time")) == ("1", "1", "1",
                                                                                                       "1.750")
    cases = {case.get("name"): case for case in suite.findall("testcase")}
    assert cases["ok"].get("time") == "0.500" and list(cases["ok"]) == []
    failure = cases["bad"].find("failure")
    assert failure.get("message") == "outputs.X: expected 2 files" and "run folder: /r" in failure.text
    assert cases["bad"].find("system-out").text == "out" and cases["bad"].find("system-err").text == "err"
    assert cases["broken"].find("error").get("type") == "case-error"
    assert cases["later"].find("skipped").get("message") == "not yet"
    assert suite.find("properties/property").attrib == {"name": "image", "value": "i:1"}
    with pytest.raises(ValueError):
        junit_xml([("x", "y", "exploded", 1.0)], suite="s")


TEXT = st.text(alphabet=st.characters(codec=None, min_codepoint=0, max_codepoint=0x10FFFF), max_size=40)


@settings(max_examples=200, deadline=None)
@given(cases=st.lists(st.tuples(TEXT, TEXT, st.sampled_from(["passed", "failed", "error", "skipped"]),
                                st.floats(allow_nan=True, allow_infinity=True), TEXT, TEXT,
                                st.none() | TEXT, st.none() | TEXT), max_size=6), suite=TEXT)
def test_fuzz_any_text_gives_a_junit_document_with_the_right_counts(cases: list[tuple], suite: str) -> None:
    root = ET.fromstring(junit_xml(cases, suite=suite, hostname="h"))
    element = root.find("testsuite")
    assert element.get("tests") == str(len(cases)) == str(len(element.findall("testcase")))
    for status, tag, attribute in (("failed", "failure", "failures"), ("error", "error", "errors"),
                                   ("skipped", "skipped", "skipped")):
        count = sum(1 for case in cases if case[2] == status)
        assert element.get(attribute) == str(count) == str(len(element.findall(f"testcase/{tag}")))
    for case in element.findall("testcase"):
        assert float(case.get("time")) >= 0


# -- the schema ----------------------------------------------------------------------------------------------


def test_seed_schema_test_case_prints_the_bundled_schema_and_it_checks_the_sample_cases() -> None:
    import jsonschema

    proc = subprocess.run([SEED, "schema", "test-case"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    schema = json.loads(proc.stdout)
    jsonschema.Draft202012Validator.check_schema(schema)
    cases = sorted((Path(__file__).resolve().parents[1] / "sample_jobs").glob("*/tests/*/case.json"))
    assert len(cases) >= 7
    for file in cases:
        jsonschema.Draft202012Validator(schema).validate(json.loads(file.read_text()))
        load_case(file)  # and the loader agrees
