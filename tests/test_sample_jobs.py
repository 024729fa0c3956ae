"""The sample jobs, built by `make images`, run end to end through `seed run` on the real engine.

The conformance job checks the runtime contract from inside the container and exits with the number of
failed checks; under `seed run` it must exit 0, as root and as an unprivileged user.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.engine

SEED = str(Path(sys.executable).with_name("seed"))
CONFORMANCE = "seed-conformance-1.0.0-seed:1.0.0"
PYTHON_STATS = "python-stats-1.0.0-seed:1.0.0"
WATERMARK = "image-watermark-0.1.0-seed:0.1.0"
REPO = Path(__file__).resolve().parents[1]


def seed(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([SEED, *args], capture_output=True, timeout=300, env={**os.environ, **(env or {})})


@pytest.fixture
def conformance_inputs(tmp_path: Path) -> dict[str, Path]:
    inputs = tmp_path / "in"
    files = inputs / "files"
    files.mkdir(parents=True)
    (inputs / "input.txt").write_text("conformance input\n")
    (files / "one.txt").write_text("1\n")
    (files / "two.txt").write_text("2\n" * 1000)
    (files / "nested").mkdir()  # a directory inside: the runner must still present a flat directory
    (files / "nested" / "three.txt").write_text("3\n")
    mount, write = tmp_path / "mount", tmp_path / "write"
    mount.mkdir()
    write.mkdir()
    (mount / "data.txt").write_text("reference")
    # World-writable host files: a read-only check must then come from the mount, not from permissions.
    for path in [inputs, files, mount, write, *inputs.rglob("*")]:
        path.chmod(0o777 if path.is_dir() else 0o666)
    return {"input": inputs / "input.txt", "files": files, "mount": mount, "write": write, "run": tmp_path / "run"}


@pytest.mark.parametrize("user", ["invoker", "1000:1000"])
def test_the_conformance_job_passes(conformance_inputs: dict[str, Path], user: str) -> None:
    p = conformance_inputs
    proc = seed("run", CONFORMANCE, "-i", f"INPUT_FILE={p['input']}", "-i", f"INPUT_FILES={p['files']}",
                "-j", "INPUT_JSON=hello world", "-j", "COUNT=42", "-j", 'OPTIONS={"a": 1, "b": [true, null]}',
                "-j", "FLAG=true", "-e", "VERSION=1", "-e", "DB_HOST=db.example", "-e", "DB_PASS",
                "-m", f"MOUNT_PATH={p['mount']}", "-m", f"WRITE_PATH={p['write']}", "-o", str(p["run"]),
                "--user", user, "--json", env={"DB_PASS": "conformance-secret"})
    report = (p["run"] / "outputs" / "result.txt").read_text()
    assert proc.returncode == 0, report
    assert "not ok" not in report and "# 0 of" in report
    document = json.loads(proc.stdout)
    assert document["status"] == "succeeded" and document["exit_code"] == 0
    assert document["json_outputs"] == {"CHECKS": 39}
    assert [f["path"] for f in document["outputs"]["RESULT"]["files"]] == ["result.txt"]
    assert b"conformance-secret" not in proc.stdout + proc.stderr


def test_a_broken_contract_is_caught_by_the_conformance_job(conformance_inputs: dict[str, Path]) -> None:
    """Overriding mem to 128 MiB makes ALLOCATED_MEM and the cgroup limit disagree with the job's expectations."""
    p = conformance_inputs
    proc = seed("run", CONFORMANCE, "-i", f"INPUT_FILE={p['input']}", "-i", f"INPUT_FILES={p['files']}",
                "-j", "INPUT_JSON=x", "-j", "COUNT=1", "-j", "OPTIONS={}", "-j", "FLAG=false", "-e", "VERSION=1",
                "-e", "DB_HOST=h", "-e", "DB_PASS=p", "-m", f"MOUNT_PATH={p['mount']}",
                "-m", f"WRITE_PATH={p['write']}", "-o", str(p["run"]), "--resource", "mem=128", "--json")
    document = json.loads(proc.stdout)
    assert proc.returncode == 1
    assert document["exit_code"] == 2 and document["error"]["name"] == "two-checks-failed"


def number_files(tmp_path: Path) -> Path:
    """A DATA_FILES folder for python-stats: five numbers in two files."""
    data = tmp_path / "data"
    data.mkdir()
    (data / "a.csv").write_text("1\n2\n3\n")
    (data / "b.txt").write_text("10\n20\n")
    return data


def test_the_python_sample_job(tmp_path: Path) -> None:
    data = number_files(tmp_path)
    proc = seed("run", PYTHON_STATS, "-i", f"DATA_FILES={data}", "-j", 'CONFIG={"precision": 2, "label": "demo"}',
                "-j", "THRESHOLD=2.5", "-o", str(tmp_path / "run"), "--json")
    assert proc.returncode == 0, proc.stderr.decode()
    outputs = tmp_path / "run" / "outputs"
    produced = sorted(p.name for p in outputs.iterdir())
    assert "summary.json" in produced and "seed.outputs.json" in produced
    assert {"a.csv.stats.txt", "b.txt.stats.txt", "footprint.txt", "footprint.txt.metadata.json"} <= set(produced)
    values = json.loads((outputs / "seed.outputs.json").read_text())
    assert values["TOTAL_COUNT"] == 5 and values["LABEL"] == "demo" and values["ABOVE_THRESHOLD"] == 3


def test_the_python_sample_job_declared_error(tmp_path: Path) -> None:
    empty = tmp_path / "data"
    empty.mkdir()
    (empty / "nothing.txt").write_text("no numbers here\n")
    proc = seed("run", PYTHON_STATS, "-i", f"DATA_FILES={empty}", "-j", "CONFIG={}", "-o", str(tmp_path / "run"),
                "--json")
    document = json.loads(proc.stdout)
    assert proc.returncode == 1 and document["error"]["name"] == "no-data" and document["error"]["category"] == "data"
    assert b"No Data" in proc.stderr or b"no-data" in proc.stderr  # the human summary names the error


def test_the_watermark_sample_and_its_declared_data_error(tmp_path: Path) -> None:
    good = seed("run", WATERMARK, "-i", f"INPUT_IMAGE={REPO / 'sample_jobs/watermark/example/input.png'}",
                "-o", str(tmp_path / "good"))
    assert good.returncode == 0, good.stderr.decode()
    assert (tmp_path / "good/outputs/input_watermark.png").read_bytes().startswith(b"\x89PNG")
    not_png = tmp_path / "fake.png"
    not_png.write_text("not an image")
    bad = seed("run", WATERMARK, "-i", f"INPUT_IMAGE={not_png}", "-o", str(tmp_path / "bad"))
    assert bad.returncode == 1
    assert b"Image Corrupt" in bad.stderr and b"not a readable PNG" in bad.stderr


def test_the_python_sample_job_result_lists_every_output_value_and_sidecar(tmp_path: Path) -> None:
    """The result document of a real run: every output file with its hash, every JSON value, every side-car."""
    import hashlib

    from .conftest import check_result

    data = number_files(tmp_path)
    proc = seed("run", PYTHON_STATS, "-i", f"DATA_FILES={data}", "-j", 'CONFIG={"label": "demo"}',
                "-j", "THRESHOLD=2.5", "-o", str(tmp_path / "run"), "--json")
    document = check_result(json.loads(proc.stdout))
    outputs_dir = tmp_path / "run" / "outputs"
    listed = {name: [f["path"] for f in output["files"]] for name, output in document["outputs"].items()}
    assert listed == {"SUMMARY": ["summary.json"], "FILE_STATS": ["a.csv.stats.txt", "b.txt.stats.txt"],
                      "FOOTPRINT": ["footprint.txt"]}
    for output in document["outputs"].values():
        for file in output["files"]:
            content = (outputs_dir / file["path"]).read_bytes()
            assert file["size"] == len(content) and file["sha256"] == hashlib.sha256(content).hexdigest()
            sidecar = outputs_dir / (file["path"] + ".metadata.json")
            assert (file["metadata"] is not None) == sidecar.exists()
            if sidecar.exists():
                written = json.loads(sidecar.read_text())
                assert file["metadata"]["type"] == written["type"] == "Feature"
                assert file["metadata"]["geometry"] == written["geometry"]
    footprint = document["outputs"]["FOOTPRINT"]["files"][0]["metadata"]
    assert footprint["geometry"]["type"] == "Polygon" and footprint["data_started"].endswith("Z")
    west, south, east, north = footprint["bbox"]
    assert west <= footprint["center"][0] <= east and south <= footprint["center"][1] <= north
    values = json.loads((outputs_dir / "seed.outputs.json").read_text())
    assert document["json_outputs"] == {"TOTAL_COUNT": values["TOTAL_COUNT"], "OVERALL_MEAN": values["overallMean"],
                                        "LABEL": values["LABEL"], "ABOVE_THRESHOLD": values["ABOVE_THRESHOLD"]}
    assert document["capture_failures"] == [] and document["warnings"] == []
