"""The examples of the README and of the docs pages work as written: the `seed validate` sample output is what
the tool prints, the `seed run` lines of the sample jobs and the `seed test` lines run from the repository's
root, the example test case follows the case schema, and the README's tour runs in a fresh folder."""

from __future__ import annotations

import copy
import json
import os
import re
import shlex
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest

from .conftest import CLEAN_MANIFEST

REPO = Path(__file__).resolve().parents[1]
README = (REPO / "README.md").read_text()
SEED = str(Path(sys.executable).with_name("seed"))


def page(name: str) -> str:
    return README if name == "README.md" else (REPO / "docs" / name).read_text()


def _block_after(text: str, marker: str) -> list[str]:
    """The lines of the first fenced block after ``marker``."""
    rest = text[text.index(marker):]
    match = re.search(r"```[a-z]*\n(.*?)```", rest, re.S)
    assert match, marker
    return match.group(1).splitlines()


@pytest.mark.parametrize("where, marker", [("README.md", "A manifest with a problem gets one line"),
                                           ("reference/validate.md", "on a terminal the same lines stand")])
def test_the_validate_sample_output_is_what_the_tool_prints(tmp_path: Path, where: str, marker: str) -> None:
    block = _block_after(page(where), marker)
    command, *expected = block
    doc = copy.deepcopy(CLEAN_MANIFEST)  # the example: a setting that collides with an input, timeout 0
    doc["job"]["interface"]["settings"][0]["name"] = "input-file"
    doc["job"]["timeout"] = 0
    (tmp_path / "jobs/bad").mkdir(parents=True)
    (tmp_path / "jobs/bad/seed.manifest.json").write_text(json.dumps(doc, indent=2))
    argv = shlex.split(command.removeprefix("$ "))
    proc = subprocess.run([SEED, *argv[1:]], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1
    assert proc.stdout.splitlines() == expected


RUN_LINES = sorted({line for where, marker in [("getting-started.md", "## A first run"), ("reference/run.md", "# `seed run`"),
                                               ("README.md", "## A five-minute tour")]
                    for line in _block_after(page(where), marker)
                    if line.startswith("seed run ") and ("image-watermark" in line or "python-stats" in line)})


@pytest.mark.engine
@pytest.mark.parametrize("line", RUN_LINES)
def test_the_seed_run_examples_of_the_sample_jobs_run(line: str, tmp_path: Path) -> None:
    assert len(RUN_LINES) == 2
    argv = shlex.split(line)
    proc = subprocess.run([SEED, *argv[1:], "-o", str(tmp_path / "run"), "--json"], cwd=REPO, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["status"] == "succeeded"


TEST_LINES = [line.split("  #")[0].strip() for line in _block_after(page("reference/test-case.md"), "# `seed test`")
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

    text = page("reference/test-case.md")
    rest = text[text.index("A case (`seed schema test-case`"):]
    example = json.loads(re.search(r"```json\n(.*?)```", rest, re.S).group(1))
    jsonschema.Draft202012Validator(load_schema("test-case")).validate(example)
    assert {"inputs", "json", "settings", "mounts", "resources", "timeout"} <= set(example["request"])


@pytest.mark.engine
def test_the_readme_tour_runs(tmp_path: Path, docker_client: Any) -> None:
    """Init, build, test, run, then a batch and its resume (nothing left to resume: it exits 0 at once)."""
    name = f"word-count-r{uuid.uuid4().hex[:8]}"
    tour = README[README.index("Write your own job"):README.index("And from Python")]
    lines = [line.split("  #")[0].strip().replace("word-count", name)
             for block in re.findall(r"```sh\n(.*?)```", tour, re.S) for line in block.splitlines()]
    assert [line.split()[:2] for line in lines] == [["seed", "init"], ["seed", "build"], ["seed", "test"],
                                                    ["seed", "run"], ["seed", "batch"], ["seed", "batch"]]
    (tmp_path / "notes.txt").write_text("one two three\n")
    (tmp_path / "notes").mkdir()
    for i in range(3):
        (tmp_path / "notes" / f"{i}.txt").write_text("a b\n")
    env = {**os.environ, "PATH": f"{Path(SEED).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    try:
        for line in lines:
            proc = subprocess.run(["bash", "-c", line], cwd=tmp_path, capture_output=True, text=True, env=env,
                                  timeout=300)
            assert proc.returncode == 0, (line, proc.stdout, proc.stderr)
        counts = json.loads((tmp_path / "counts/batch.json").read_text())
        assert counts["status"] == "succeeded" and counts["counts"]["total"] == 3
    finally:
        try:
            docker_client.images.remove(f"{name}-0.1.0-seed:0.1.0", force=True)
        except Exception:  # noqa: BLE001 - never built
            pass


@pytest.mark.engine
def test_the_readme_pipeline_tour_runs(tmp_path: Path) -> None:
    """The README's pipeline lines, on the tutorial's own shout.yaml: check, run, then the graph of the run."""
    tutorial = (REPO / "docs" / "tutorials" / "pipeline.md").read_text()
    (tmp_path / "shout.yaml").write_text(re.search(r"cat > shout.yaml <<'YAML'\n(.*?)\nYAML\n", tutorial, re.S)[1]
                                         + "\n")
    (tmp_path / "story.txt").write_text("once upon a time\nthere was a job\nthat ran in a pipeline\n")
    tour = README[README.index("Compose jobs into a pipeline"):README.index("Serve every Seed image")]
    lines = [line.split("  #")[0].strip() for block in re.findall(r"```sh\n(.*?)```", tour, re.S)
             for line in block.splitlines()]
    assert [line.split()[:3] for line in lines] == [["seed", "pipeline", "check"], ["seed", "pipeline", "run"],
                                                    ["seed", "pipeline", "graph"]]
    env = {**os.environ, "PATH": f"{Path(SEED).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    for line in lines:
        proc = subprocess.run(["bash", "-c", line], cwd=tmp_path, capture_output=True, text=True, env=env,
                              timeout=600)
        assert proc.returncode == 0, (line, proc.stdout, proc.stderr)
    assert (tmp_path / "shout-run" / "pipeline.json").is_file()
    assert "<svg" in (tmp_path / "shout.svg").read_text()[:400]
