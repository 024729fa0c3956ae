"""Numbers and files at the edges of a run request: values past what the engine, the clock or a 64-bit float
holds, JSON null as a manifest, the same file twice, and `-j NAME=@FILE` with a huge, endless or blocking file.
Each is refused with a clear problem (a plan problem, or a usage error) or handled; none crashes."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from seed_runner import InvalidManifestError, load_manifest
from seed_runner.runtime.plan import JsonText, PlanError, RunRequest, make_plan

from .conftest import check_result

SEED = str(Path(sys.executable).with_name("seed"))


def job(timeout: Any = 60, resources: list[dict] | None = None, **interface: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {"seedVersion": "1.0.0", "job": {
        "name": "edge", "jobVersion": "1.0.0", "packageVersion": "1.0.0", "title": "t", "description": "d",
        "maintainer": {"name": "n", "email": "e"}, "timeout": timeout,
        "interface": {"command": "true", **interface}}}
    if resources is not None:
        doc["job"]["resources"] = {"scalar": resources}
    return doc


def problems(manifest: dict[str, Any], tmp_path: Path, **request: Any) -> list[tuple[str, str | None]]:
    with pytest.raises(PlanError) as refused:
        make_plan(load_manifest(manifest), RunRequest(image="edge-1.0.0-seed:1.0.0", run_dir=tmp_path / "run",
                                                      **request))
    for problem in refused.value.problems:
        assert "\n" not in problem.message
    return [(p.code, p.path) for p in refused.value.problems]


@pytest.mark.parametrize("name,value", [("cpus", 1e300), ("mem", 1e300), ("sharedMem", 1e300), ("gpus", 1e300),
                                        ("cpus", 1e10), ("mem", 1e13)])
def test_a_resource_past_what_the_engine_holds_is_refused(tmp_path: Path, name: str, value: float) -> None:
    assert problems(job(resources=[{"name": name, "value": value}]), tmp_path) == [
        ("resource-too-large", f"$.resources.{name}")]


def test_an_allocation_that_overflows_to_infinity_is_refused(tmp_path: Path) -> None:
    data = tmp_path / "in.txt"
    data.write_bytes(b"x" * 2 * 1048576)
    manifest = job(resources=[{"name": "disk", "value": 1, "inputMultiplier": 1e308}],
                   inputs={"files": [{"name": "F"}]})
    assert problems(manifest, tmp_path, file_inputs={"F": [data]}) == [("invalid-resource", "$.resources.disk")]


def test_resources_at_the_edge_still_plan(tmp_path: Path) -> None:
    manifest = job(resources=[{"name": "cpus", "value": 9e9}, {"name": "mem", "value": 8e12},
                              {"name": "disk", "value": 1e300}])
    plan = make_plan(load_manifest(manifest), RunRequest(image="edge-1.0.0-seed:1.0.0", run_dir=tmp_path / "r"))
    assert plan.nano_cpus == 9 * 10 ** 18 and plan.memory_bytes == 8 * 10 ** 12 * 1048576


@pytest.mark.parametrize("timeout", [10 ** 10, 10 ** 30, 10 ** 300], ids=["1e10", "1e30", "1e300"])
def test_a_manifest_timeout_past_what_a_runner_can_wait_is_refused(tmp_path: Path, timeout: int) -> None:
    assert problems(job(timeout=timeout), tmp_path) == [("invalid-timeout", "$.job.timeout")]
    # --timeout overrides it
    plan = make_plan(load_manifest(job(timeout=timeout)),
                     RunRequest(image="edge-1.0.0-seed:1.0.0", run_dir=tmp_path / "r", timeout=5))
    assert plan.timeout == 5


@pytest.mark.parametrize("timeout", [10 ** 400, 1e300, threading.TIMEOUT_MAX * 2], ids=["1e400", "1e300", "2x"])
def test_a_requested_timeout_past_what_a_runner_can_wait_is_refused(tmp_path: Path, timeout: Any) -> None:
    assert problems(job(), tmp_path, timeout=timeout) == [("invalid-timeout", "$.timeout")]


@pytest.mark.parametrize("kind", ["number", "integer"])
def test_json_inputs_past_a_64_bit_float_are_refused(tmp_path: Path, kind: str) -> None:
    manifest = job(inputs={"json": [{"name": "J", "type": kind}]})
    assert problems(manifest, tmp_path, json_inputs={"J": JsonText("9" * 400)}) == [
        ("invalid-json-input", "$.json_inputs.J")]
    assert problems(manifest, tmp_path, json_inputs={"J": JsonText("-1e400")}) == [
        ("invalid-json-input", "$.json_inputs.J")]
    assert problems(manifest, tmp_path, json_inputs={"J": 10 ** 400}) == [("json-input-type", "$.json_inputs.J")]


def test_json_that_no_reader_holds_is_refused_for_a_string_input_too(tmp_path: Path) -> None:
    manifest = job(inputs={"json": [{"name": "S", "type": "string"}]})
    for text in ('"\\ud800"', "1e400", "[" * 300 + "]" * 300):
        assert problems(manifest, tmp_path, json_inputs={"S": JsonText(text)}) == [
            ("invalid-json-input", "$.json_inputs.S")]
    plan = make_plan(load_manifest(manifest), RunRequest(image="edge-1.0.0-seed:1.0.0", run_dir=tmp_path / "r",
                                                         json_inputs={"S": JsonText("not json")}))
    assert plan.environment["S"] == "not json"


def test_a_nul_in_a_value_is_refused(tmp_path: Path) -> None:
    manifest = job(inputs={"json": [{"name": "S", "type": "string"}]}, settings=[{"name": "E"}])
    assert problems(manifest, tmp_path, json_inputs={"S": JsonText('"a\\u0000b"')}, settings={"E": "x\0y"}) == [
        ("invalid-json-input", "$.json_inputs.S"), ("invalid-setting", "$.settings.E")]


def test_the_same_file_twice_for_a_multiple_input_is_taken_once(tmp_path: Path) -> None:
    data = tmp_path / "a.txt"
    data.write_text("a")
    manifest = job(inputs={"files": [{"name": "FILES", "multiple": True}]})
    plan = make_plan(load_manifest(manifest), RunRequest(
        image="edge-1.0.0-seed:1.0.0", run_dir=tmp_path / "run",
        file_inputs={"FILES": [data, Path(os.path.relpath(data)), tmp_path / "." / "a.txt"]}))
    (staged,) = plan.staged
    assert staged.files == (str(data),)
    assert [w.code for w in plan.warnings] == ["input-file-repeated"] * 2
    assert len(plan.input_metadata["JOB"]["FILES"]) == 1


@pytest.mark.parametrize("value", ["1e400", "-1e400", "9" * 400], ids=["1e400", "-1e400", "400-digits"])
def test_a_resource_past_a_64_bit_float_is_named_by_the_validator(tmp_path: Path, value: str) -> None:
    from seed_runner import validate

    path = tmp_path / "seed.manifest.json"
    text = json.dumps(job(resources=[{"name": "cpus", "value": 7}]))
    path.write_text(text.replace('"value": 7', f'"value": {value}'))
    (finding,) = validate(path).findings
    assert (finding.code, finding.path) == ("number-too-large", "$.job.resources.scalar[0].value")
    assert "too large" in finding.message and "null" not in finding.message


def test_json_null_is_no_manifest(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    path = tmp_path / "null.json"
    path.write_text("null")
    with pytest.raises(InvalidManifestError) as refused:
        load_manifest(path)
    assert [f.code for f in refused.value.findings] == ["not-an-object"]


# -- the command line ---------------------------------------------------------------------------------------


def seed_run(busybox_image: str, manifest: dict[str, Any], tmp_path: Path, *args: str
             ) -> subprocess.CompletedProcess[bytes]:
    doc = tmp_path / "seed.manifest.json"
    doc.write_text(json.dumps(manifest))
    proc = subprocess.run([SEED, "run", busybox_image, "--manifest", str(doc), *args], capture_output=True,
                          timeout=60)
    assert b"Traceback" not in proc.stderr and b"internal error" not in proc.stderr, proc.stderr
    return proc


@pytest.mark.engine
@pytest.mark.parametrize("manifest,code", [
    (job(resources=[{"name": "cpus", "value": 1e300}]), "resource-too-large"),
    (job(resources=[{"name": "mem", "value": 1e300}]), "resource-too-large"),
    (job(timeout=10 ** 10), "invalid-timeout"),
    (job(timeout=10 ** 30), "invalid-timeout"),
    (job(inputs={"json": [{"name": "J", "type": "number"}]}), "invalid-json-input"),
], ids=["cpus", "mem", "timeout-1e10", "timeout-1e30", "json-400-digits"])
def test_seed_run_refuses_edge_numbers_with_a_result(busybox_image: str, tmp_path: Path, manifest: dict,
                                                     code: str) -> None:
    args = ["-j", "J=" + "9" * 400] if code == "invalid-json-input" else []
    proc = seed_run(busybox_image, manifest, tmp_path, *args, "-o", str(tmp_path / "run"), "--json")
    assert proc.returncode == 2, proc.stderr
    document = check_result(json.loads(proc.stdout))
    assert not (tmp_path / "run").exists()  # a refusal leaves no folder
    assert document["status"] == "rejected" and code in [p["code"] for p in document["problems"]]


@pytest.mark.engine
def test_seed_run_refuses_the_manifest_null(busybox_image: str, tmp_path: Path) -> None:
    doc = tmp_path / "null.json"
    doc.write_text("null")
    proc = subprocess.run([SEED, "run", busybox_image, "--manifest", str(doc)], capture_output=True, timeout=60)
    assert proc.returncode == 2 and b"JSON object" in proc.stderr, proc.stderr


@pytest.mark.engine
def test_seed_run_takes_the_same_file_twice_once(busybox_image: str, tmp_path: Path) -> None:
    data = tmp_path / "a.txt"
    data.write_text("a")
    manifest = copy.deepcopy(job(inputs={"files": [{"name": "FILES", "multiple": True}]}))
    manifest["job"]["interface"]["command"] = "ls ${FILES}"
    proc = seed_run(busybox_image, manifest, tmp_path, "-i", f"FILES={data}", "-i", f"FILES={data}",
                    "-o", str(tmp_path / "run"))
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "run/logs/stdout.log").read_text() == "a.txt\n"


@pytest.mark.parametrize("special", ["/dev/zero", "fifo", "directory", "huge"])
def test_json_input_files_are_bounded_and_regular(tmp_path: Path, special: str) -> None:
    target = {"/dev/zero": "/dev/zero", "fifo": str(tmp_path / "fifo"), "directory": str(tmp_path),
              "huge": str(tmp_path / "huge.json")}[special]
    if special == "fifo":
        os.mkfifo(target)
    if special == "huge":
        with open(target, "wb") as fh:
            fh.truncate(64 * 1048576)  # sparse: 64 MiB of NUL bytes
    doc = tmp_path / "seed.manifest.json"
    doc.write_text(json.dumps(job(inputs={"json": [{"name": "J", "type": "object"}]})))
    proc = subprocess.run([SEED, "run", "edge-1.0.0-seed:1.0.0", "--manifest", str(doc), "-j", f"J=@{target}",
                           "-o", str(tmp_path / "run")], capture_output=True, timeout=30,
                          env={**os.environ, "COLUMNS": "1000"})  # the usage error in one line
    assert proc.returncode == 2, proc.stderr
    assert b"Traceback" not in proc.stderr and b"internal error" not in proc.stderr
    words = b"MiB" if special == "huge" else b"not a regular file"
    assert words in proc.stderr, proc.stderr
