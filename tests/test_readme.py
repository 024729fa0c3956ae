"""The README's examples work as written: its `seed validate` sample output is what the tool prints, and its
`seed run` lines for the sample jobs run from the repository's root."""

from __future__ import annotations

import copy
import json
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import CLEAN_MANIFEST

REPO = Path(__file__).resolve().parents[1]
README = (REPO / "README.md").read_text()
SEED = str(Path(sys.executable).with_name("seed"))


def _block_after(marker: str) -> list[str]:
    """The lines of the first fenced block after ``marker``."""
    rest = README[README.index(marker):]
    match = re.search(r"```[a-z]*\n(.*?)```", rest, re.S)
    assert match, marker
    return match.group(1).splitlines()


def test_the_validate_sample_output_is_what_the_tool_prints(tmp_path: Path) -> None:
    block = _block_after("on a terminal the same lines stand")
    command, *expected = block
    doc = copy.deepcopy(CLEAN_MANIFEST)  # the README's example: a setting that collides with an input, timeout 0
    doc["job"]["interface"]["settings"][0]["name"] = "input-file"
    doc["job"]["timeout"] = 0
    (tmp_path / "jobs/bad").mkdir(parents=True)
    (tmp_path / "jobs/bad/seed.manifest.json").write_text(json.dumps(doc, indent=2))
    argv = shlex.split(command.removeprefix("$ "))
    proc = subprocess.run([SEED, *argv[1:]], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1
    assert proc.stdout.splitlines() == expected


RUN_LINES = [line for line in _block_after("## `seed run`") if line.startswith("seed run ") and
             ("image-watermark" in line or "python-stats" in line)]


@pytest.mark.engine
@pytest.mark.parametrize("line", RUN_LINES)
def test_the_seed_run_examples_of_the_sample_jobs_run(line: str, tmp_path: Path) -> None:
    assert len(RUN_LINES) == 2
    argv = shlex.split(line)
    proc = subprocess.run([SEED, *argv[1:], "-o", str(tmp_path / "run"), "--json"], cwd=REPO, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["status"] == "succeeded"


TEST_LINES = [line.split("  #")[0].strip() for line in _block_after("## Testing a job: `seed test`")
              if line.startswith("seed test ")]


@pytest.mark.engine
@pytest.mark.parametrize("line", TEST_LINES)
def test_the_seed_test_examples_pass(line: str, tmp_path: Path) -> None:
    assert len(TEST_LINES) == 3
    argv = shlex.split(line)
    if "--junit" in argv:  # written where the test can look, not into the checkout
        argv[argv.index("--junit") + 1] = str(tmp_path / "junit.xml")
    proc = subprocess.run([SEED, *argv[1:], "-o", str(tmp_path / "out")], cwd=REPO, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "0 failed, 0 errors" in proc.stdout or json.loads(proc.stdout)["summary"]["failed"] == 0
    assert "--junit" not in argv or (tmp_path / "junit.xml").read_text().count("<testcase ") >= 1


def test_the_example_case_follows_the_case_schema() -> None:
    import jsonschema

    from seed_runner.manifest.schemas import load_schema

    rest = README[README.index("A case (`seed schema test-case`"):]
    example = json.loads(re.search(r"```json\n(.*?)```", rest, re.S).group(1))
    jsonschema.Draft202012Validator(load_schema("test-case")).validate(example)
    assert {"inputs", "json", "settings", "mounts", "resources", "timeout"} <= set(example["request"])
