"""`seed harvest` (capture alone, on a folder produced elsewhere) and harvesting inside `seed run`."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from seed_runner import harvest_folder, load_manifest

from .conftest import SHARED, check_result

SEED = str(Path(sys.executable).with_name("seed"))
COMPLETE = SHARED / "seed-spec/examples/complete"


def seed(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([SEED, *args], capture_output=True, text=True, timeout=120)


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """The outputs the spec's complete example job writes with VERSION=1."""
    out = tmp_path / "out"
    out.mkdir()
    (out / "outfile1.png").write_bytes(b"\x89PNG one")
    (out / "outfile2.png").write_bytes(b"\x89PNG two")
    (out / "outfile.csv").write_text("a,b\n1,2\n")
    (out / "outfile.csv.metadata.json").write_text((COMPLETE / "outfile.csv.metadata.json").read_text())
    (out / "seed.outputs.json").write_text((COMPLETE / "seed.outputs.json").read_text())
    return out


def test_harvest_of_the_complete_example(folder: Path, tmp_path: Path) -> None:
    proc = seed("harvest", str(COMPLETE / "seed.manifest.json"), str(folder), "--json",
                "--result", str(tmp_path / "result.json"))
    assert proc.returncode == 0, proc.stderr
    document = check_result(json.loads(proc.stdout))
    assert json.loads((tmp_path / "result.json").read_text()) == document
    assert document["status"] == "succeeded" and document["run_id"] is None
    assert [f["path"] for f in document["outputs"]["output_file_pngs"]["files"]] == ["outfile1.png", "outfile2.png"]
    (csv,) = document["outputs"]["output_file_csv"]["files"]
    assert csv["media_type"] == "text/csv" and csv["metadata"]["geometry"]["type"] == "Polygon"
    assert document["json_outputs"] == {"cell_count": 3, "dummy": 1}


def test_a_missing_required_output_fails(folder: Path) -> None:
    for png in folder.glob("*.png"):
        png.unlink()
    proc = seed("harvest", str(COMPLETE), str(folder), "--json")
    document = check_result(json.loads(proc.stdout))
    assert proc.returncode == 1
    assert document["status"] == "failed" and document["error"]["name"] == "missing-required-output"
    assert "output_file_pngs" in document["message"]


def test_an_invalid_sidecar_is_a_warning_unless_strict(folder: Path) -> None:
    (folder / "outfile.csv.metadata.json").write_text(
        '{"type": "Feature", "properties": {}, "geometry": {"type": "Polygon", '
        '"coordinates": [[[0, 0], [1, 0], [1, 1], [0, 1]]]}}')
    lenient = seed("harvest", str(COMPLETE), str(folder), "--json")
    document = check_result(json.loads(lenient.stdout))
    assert lenient.returncode == 0
    assert document["outputs"]["output_file_csv"]["files"][0]["metadata"] is None
    assert [w["code"] for w in document["warnings"]] == ["invalid-metadata"]
    strict = seed("harvest", "--strict", str(COMPLETE), str(folder), "--json")
    assert strict.returncode == 1
    assert json.loads(strict.stdout)["error"]["name"] == "invalid-metadata"


def test_usage_errors(folder: Path, tmp_path: Path) -> None:
    assert seed("harvest", str(COMPLETE), str(tmp_path / "nope")).returncode == 2
    assert seed("harvest", str(tmp_path / "no-manifest"), str(folder)).returncode == 2


def test_the_python_twin(folder: Path) -> None:
    result = harvest_folder(load_manifest(COMPLETE), folder)
    assert result.exit_status == 0 and result.document["json_outputs"]["cell_count"] == 3


def busybox_job(command: str, outputs: list[dict[str, Any]], timeout: int = 30) -> Any:
    """A manifest for the busybox base: `command` runs in the container's shell, `outputs` are file outputs."""
    return load_manifest({"seedVersion": "1.0.0", "job": {
        "name": "writer", "jobVersion": "1.0.0", "packageVersion": "1.0.0", "title": "t", "description": "d",
        "maintainer": {"name": "n", "email": "e"}, "timeout": timeout,
        "interface": {"command": f"sh -c '{command}'", "outputs": {"files": outputs}}}})


@pytest.mark.engine
def test_seed_run_harvests_and_a_missing_output_fails_the_run(busybox_image: str, tmp_path: Path) -> None:
    from seed_runner.runtime.plan import RunRequest
    from seed_runner.runtime.runner import run

    job = busybox_job("echo 1 > $OUTPUT_DIR/a.txt; echo 2 > $OUTPUT_DIR/b.txt",
                      [{"name": "ONE", "pattern": "*.txt"}, {"name": "REPORT", "pattern": "report.pdf"}])
    result = run(RunRequest(image=busybox_image, run_dir=tmp_path / "run"), manifest=job)
    document = check_result(result.document)
    assert result.exit_status == 1 and document["exit_code"] == 0
    assert document["error"]["name"] == "missing-required-output"  # failures rank: missing before multiple
    assert {f["code"] for f in document["capture_failures"]} == {"unexpected-multiple-outputs",
                                                                 "missing-required-output"}


@pytest.mark.engine
def test_a_timed_out_run_still_lists_what_it_wrote(busybox_image: str, tmp_path: Path) -> None:
    from seed_runner.runtime.plan import RunRequest
    from seed_runner.runtime.runner import run

    job = busybox_job("echo part > $OUTPUT_DIR/part.txt; sleep 30", [{"name": "PART", "pattern": "part.txt"}],
                      timeout=1)
    result = run(RunRequest(image=busybox_image, run_dir=tmp_path / "run", grace_period=1), manifest=job)
    document = check_result(result.document)
    assert document["status"] == "timed-out" and result.exit_status == 3
    assert [f["path"] for f in document["outputs"]["PART"]["files"]] == ["part.txt"]


def test_an_image_source_without_an_engine_is_exit_4(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    seed = str(Path(sys.executable).with_name("seed"))
    (tmp_path / "out").mkdir()
    env = {**os.environ, "DOCKER_HOST": f"unix://{tmp_path}/no-engine.sock"}
    proc = subprocess.run([seed, "harvest", "some-job-1.0.0-seed:1.0.0", str(tmp_path / "out")], capture_output=True,
                          text=True, env=env, timeout=60)
    assert proc.returncode == 4, proc.stderr
    assert "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
