"""`seed validate` and `seed schema` from the outside: exit codes, human output, the --json document."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Callable

import pytest
from typer.testing import CliRunner

from seed_runner.cli.app import app
from seed_runner.manifest.schemas import schema_path

from .conftest import CLEAN_MANIFEST, REPO, SHARED

runner = CliRunner()
SEED = str(Path(sys.executable).with_name("seed"))


@pytest.fixture
def good(write_manifest: Callable) -> Path:
    return write_manifest(CLEAN_MANIFEST, "good")


@pytest.fixture
def bad(write_manifest: Callable) -> Path:
    doc = json.loads(json.dumps(CLEAN_MANIFEST))
    doc["job"]["interface"]["settings"][0]["name"] = "INPUT_FILE"
    del doc["job"]["maintainer"]["email"]
    return write_manifest(doc, "bad")


@pytest.fixture
def warned(write_manifest: Callable) -> Path:
    doc = json.loads(json.dumps(CLEAN_MANIFEST))
    doc["job"]["timeout"] = 0
    return write_manifest(doc, "warned")


def test_valid_manifest_exits_0(good: Path) -> None:
    result = runner.invoke(app, ["validate", str(good)])
    assert result.exit_code == 0, result.output
    # Not a terminal: plain lines, never wrapped.
    assert result.output.splitlines() == [f"{good}: valid clean-job 1.2.3 (package 0.1.0)",
                                          "1 source checked: 1 valid, 0 invalid (0 errors, 0 warnings)"]


def test_without_a_terminal_each_finding_is_one_plain_line(bad: Path) -> None:
    result = runner.invoke(app, ["validate", str(bad)], terminal_width=40)
    lines = result.output.splitlines()
    assert len(lines) == 3 and lines[-1].startswith("1 source checked: 0 valid, 1 invalid (2 errors")
    for line in lines[:2]:
        source, severity_code_path, message = line.split(": ", 2)
        assert source == str(bad) and severity_code_path.split()[0] == "error" and message
    assert any(line.startswith(f"{bad}: error name-collision $.job.interface.settings[0].name: setting ")
               for line in lines)


def test_on_a_terminal_findings_are_coloured_under_their_source(bad: Path) -> None:
    from rich.console import Console

    from seed_runner import validate_all
    from seed_runner.cli.render import print_validation

    console = Console(record=True, width=400, force_terminal=True, color_system="standard", highlight=False)
    print_validation(validate_all([bad]), console=console)
    styled = console.export_text(clear=False, styles=True)
    text = console.export_text()
    assert "\x1b[31m" in styled  # errors in red
    assert text.startswith(f"✘ {bad}\n")
    assert "\n  error name-collision $.job.interface.settings[0].name: setting " in text


def test_invalid_manifest_exits_1_and_names_every_problem(bad: Path) -> None:
    result = runner.invoke(app, ["validate", str(bad)])
    assert result.exit_code == 1
    assert "name-collision" in result.output and "$.job.interface.settings[0].name" in result.output
    assert "missing-member" in result.output and "$.job.maintainer.email" in result.output
    assert "0 valid, 1 invalid (2 errors" in result.output


def test_a_directory_means_its_seed_manifest(good: Path) -> None:
    assert runner.invoke(app, ["validate", str(good.parent)]).exit_code == 0


def test_strict_makes_warnings_fail(warned: Path) -> None:
    assert runner.invoke(app, ["validate", str(warned)]).exit_code == 0
    result = runner.invoke(app, ["validate", "--strict", str(warned)])
    assert result.exit_code == 1 and "timeout-not-positive" in result.output


def test_json_document(good: Path, bad: Path, tmp_path: Path) -> None:
    result = runner.invoke(app, ["validate", "--json", str(good), str(bad), str(tmp_path / "missing.json")])
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert report["reportVersion"] == 1 and report["valid"] is False and report["strict"] is False
    assert report["summary"] == {"sources": 3, "valid": 1, "invalid": 2, "errors": 3, "warnings": 0}
    first, second, third = report["results"]
    assert first == {"source": str(good), "kind": "file", "valid": True, "errors": 0, "warnings": 0,
                     "job": {"name": "clean-job", "jobVersion": "1.2.3", "packageVersion": "0.1.0",
                             "title": "Clean job", "image": "clean-job-1.2.3-seed:0.1.0"},
                     "file": str(good), "findings": []}
    assert second["job"] is None and second["valid"] is False
    assert {f["code"] for f in second["findings"]} == {"name-collision", "missing-member"}
    # A finding of a file says where it is in the file; one without a place (no such file) has no line.
    assert set(second["findings"][0]) == {"severity", "code", "path", "message", "line", "column"}
    assert third["findings"][0]["code"] == "source-not-found" and "line" not in third["findings"][0]


def test_usage_errors_exit_2() -> None:
    assert runner.invoke(app, ["validate"]).exit_code == 2
    assert runner.invoke(app, ["validate", "--no-such-option", "x"]).exit_code == 2
    assert runner.invoke(app, ["schema", "bogus"]).exit_code == 2


def test_schema_command_prints_the_bundled_schemas() -> None:
    for kind in ("manifest", "metadata"):
        result = runner.invoke(app, ["schema", kind])
        assert result.exit_code == 0
        assert json.loads(result.stdout) == json.loads(schema_path(kind).read_text())
    result = runner.invoke(app, ["schema", "--path"])
    assert Path(result.stdout.strip()) == schema_path("manifest")
    # The metadata schema never points at the network (SEED-RULES 3.13.3).
    assert "http://json-schema.org/geojson" not in schema_path("metadata").read_text()


# -- real processes ------------------------------------------------------------------------------


def run_seed(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([SEED, *args], capture_output=True, text=True, timeout=60)


def test_subprocess_exit_codes_and_streams(good: Path, bad: Path) -> None:
    ok = run_seed("validate", "--json", str(good))
    assert ok.returncode == 0 and json.loads(ok.stdout)["valid"] is True
    failed = run_seed("validate", "--json", str(bad))
    assert failed.returncode == 1 and json.loads(failed.stdout)["summary"]["invalid"] == 1
    usage = run_seed("validate")
    assert usage.returncode == 2 and usage.stdout == ""
    quiet = run_seed("validate", "-q", str(bad))
    assert quiet.returncode == 1 and quiet.stdout == ""


def test_version() -> None:
    result = run_seed("--version")
    assert result.returncode == 0 and result.stdout.startswith("seed-runner ")


def test_the_sample_jobs_are_valid() -> None:
    result = run_seed("validate", "--strict", "--recursive", str(REPO / "sample_jobs"))
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_spec_examples_validate(tmp_path: Path) -> None:
    examples = SHARED / "seed-spec" / "examples"
    result = run_seed("validate", "--json", "--recursive", str(examples))
    report = json.loads(result.stdout)
    assert result.returncode == 0, result.stdout
    assert report["summary"]["sources"] == 3


def test_a_directory_that_cannot_be_searched_is_a_finding_not_a_crash(tmp_path: Path) -> None:
    # `seed validate DIR` asked whether DIR/seed.manifest.json exists, and a directory without search
    # permission made that question raise: exit 70 ("internal error"), the other sources left unchecked.
    import os
    import shutil

    locked = tmp_path / "locked"
    locked.mkdir()
    (locked / "seed.manifest.json").write_text("{}")
    locked.chmod(0)
    prefix: list[str] = []
    if os.geteuid() == 0:  # root searches any directory: run without the capabilities that let it
        if shutil.which("setpriv") is None:
            pytest.skip("setpriv is needed to drop root's file capabilities")
        prefix = ["setpriv", "--bounding-set=-dac_override,-dac_read_search",
                  "--inh-caps=-dac_override,-dac_read_search"]
    try:
        result = subprocess.run([*prefix, SEED, "validate", str(locked), str(tmp_path / "missing.json"),
                                 f"{locked.name}/in"],  # also an image reference's spelling: what is there wins
                                cwd=tmp_path, capture_output=True, text=True, timeout=60)
    finally:
        locked.chmod(0o700)
    assert result.returncode == 1, result.stderr
    assert "internal error" not in result.stderr
    assert f"{locked}: error unreadable-source" in result.stdout and "Permission denied" in result.stdout
    assert "missing.json: error source-not-found" in result.stdout  # the next source is still checked
    # A file in the folder that cannot be searched: out of reach, not "no such file or local image".
    assert f"{locked.name}/in: error unreadable-source" in result.stdout
    assert "Permission denied" in result.stdout.split(f"{locked.name}/in:")[1]


def test_validate_leaves_the_collectors_thresholds_as_it_found_them(good: Path, bad: Path) -> None:
    # The command raises them while it validates (its results hold no cycles); a process that runs it in-process
    # (a test, a script driving the typer app) must not be left with a collector that runs 140 times less often.
    import gc

    before = gc.get_threshold()
    for args in (["validate", str(good)], ["validate", "--json", str(bad)], ["validate", "-r", str(bad.parent)]):
        runner.invoke(app, args)
        assert gc.get_threshold() == before
