"""The run plan (pure, no Docker): environment, paths, mounts, resources, command, and pre-flight checks."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from seed_runner import load_manifest
from seed_runner.runtime.plan import JsonText, PlanError, RunRequest, make_plan

from .conftest import CLEAN_MANIFEST, SHARED


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    data = tmp_path / "data"
    data.mkdir()
    (data / "a.txt").write_bytes(b"x" * 1048576)  # 1 MiB
    (data / "b.txt").write_bytes(b"y" * 524288)  # 0.5 MiB
    single = tmp_path / "input.txt"
    single.write_text("hello")
    reference = tmp_path / "reference"
    reference.mkdir()
    return {"data": data, "single": single, "reference": reference, "run": tmp_path / "run"}


def request(files: dict[str, Path], **changes: Any) -> RunRequest:
    base = dict(image="clean-job-1.2.3-seed:0.1.0", file_inputs={"INPUT_FILE": [files["single"]]},
                json_inputs={"THRESHOLD": 0.5}, settings={"DB_HOST": "db", "DB_PASS": "hunter2"},
                mounts={"REFERENCE": files["reference"]}, run_dir=files["run"], user="1000:1000")
    base.update(changes)
    return RunRequest(**base)


@pytest.fixture
def manifest():
    return load_manifest(CLEAN_MANIFEST)


def test_environment(manifest, files) -> None:
    plan = make_plan(manifest, request(files))
    assert dict(plan.environment) == {
        "OUTPUT_DIR": "/seed/outputs",
        "INPUT_METADATA": "/seed/input-metadata.json",
        "INPUT_FILE": "/seed/inputs/INPUT_FILE/input.txt",
        "THRESHOLD": "0.5",
        "DB_HOST": "db",
        "DB_PASS": "hunter2",
        "ALLOCATED_CPUS": "1.000000",
        "ALLOCATED_MEM": "128",
        "ALLOCATED_DISK": f"{10 + 2 * 5 / 1048576:.6f}",
    }
    assert "OPTIONAL_FILE" not in plan.environment  # optional and not given: unset, not empty


def test_the_command_is_expanded_against_container_paths(manifest, files) -> None:
    plan = make_plan(manifest, request(files))
    assert plan.command == ("/seed/inputs/INPUT_FILE/input.txt", "/seed/outputs", "0.5", "1.000000")
    plan = make_plan(manifest, request(files, file_inputs={"INPUT_FILE": [files["single"]],
                                                           "OPTIONAL_FILE": [files["data"] / "a.txt"]}))
    assert plan.command[:3] == ("/seed/inputs/INPUT_FILE/input.txt", "-o", "/seed/inputs/OPTIONAL_FILE/a.txt")


def test_mounts_are_read_only_except_outputs_and_rw_mounts(manifest, files) -> None:
    plan = make_plan(manifest, request(files))
    mounts = {m.target: (m.source, m.read_only) for m in plan.mounts}
    assert mounts == {
        "/seed/inputs": (str(files["run"] / "work/inputs"), True),
        "/seed/inputs/INPUT_FILE": (str(files["run"] / "work/inputs/INPUT_FILE"), True),
        "/seed/inputs/INPUT_FILE/input.txt": (str(files["single"]), True),
        "/reference": (str(files["reference"]), True),
        "/seed/outputs": (str(files["run"] / "outputs"), False),
        "/seed/input-metadata.json": (str(files["run"] / "work/input-metadata.json"), True),
    }
    doc = json.loads(json.dumps(CLEAN_MANIFEST))
    doc["job"]["interface"]["mounts"][0]["mode"] = "rw"
    plan = make_plan(load_manifest(doc), request(files))
    assert {m.target: m.read_only for m in plan.mounts}["/reference"] is False


def test_json_encodings(files) -> None:
    m = load_manifest(SHARED / "seed-cli-examples/examples/addition-job")  # a, b: optional integers
    plan = make_plan(m, RunRequest(image="x", file_inputs={"INPUT_FILE": [files["single"]]},
                                   json_inputs={"a": 3}, settings={"SETTING_ONE": "1", "SETTING_TWO": "2"},
                                   mounts={"MOUNT_BIN": files["reference"], "MOUNT_TMP": files["reference"]},
                                   run_dir=files["run"]))
    assert plan.environment["A"] == "3" and "B" not in plan.environment
    doc = json.loads(json.dumps(CLEAN_MANIFEST))
    doc["job"]["interface"]["inputs"]["json"] = [
        {"name": "S", "type": "string"}, {"name": "O", "type": "object"}, {"name": "L", "type": "array"},
        {"name": "T", "type": "boolean"}, {"name": "I", "type": "integer"}, {"name": "N", "type": "number"}]
    doc["job"]["interface"]["command"] = "${INPUT_FILE}"
    plan = make_plan(load_manifest(doc), request(files, json_inputs={
        "S": "two words", "O": {"k": [1, 2]}, "L": ["a", 1], "T": True, "I": 42, "N": 3.5}))
    env = plan.environment
    assert (env["S"], env["O"], env["L"], env["T"], env["I"], env["N"]) == (
        "two words", '{"k":[1,2]}', '["a",1]', "true", "42", "3.5")
    # Command-line text: JSON, or plain text for a string input.
    plan = make_plan(load_manifest(doc), request(files, json_inputs={
        "S": JsonText("plain text"), "O": JsonText('{"k": 1}'), "L": JsonText("[]"), "T": JsonText("false"),
        "I": JsonText("7"), "N": JsonText("1e3")}))
    assert (plan.environment["S"], plan.environment["O"], plan.environment["N"]) == ("plain text", '{"k":1}', "1000.0")


def test_multiple_inputs_flat_directory_and_input_multiplier(files) -> None:
    m = load_manifest(SHARED / "seed-cli-examples/examples/multi-addition-job")
    one_dir = make_plan(m, RunRequest(image="x", file_inputs={"INPUT_FILE": [files["data"]]}, run_dir=files["run"]))
    assert one_dir.environment["INPUT_FILE"] == "/seed/inputs/INPUT_FILE"
    assert (str(files["data"]), "/seed/inputs/INPUT_FILE", True) in [
        (b.source, b.target, b.read_only) for b in one_dir.mounts]
    # Nothing is copied: only an empty mount point, in the read-only /seed/inputs.
    assert [(s.directory, s.files) for s in one_dir.staged] == [(str(files["run"] / "work/inputs/INPUT_FILE"), ())]
    several = make_plan(m, RunRequest(image="x", run_dir=files["run"], file_inputs={
        "INPUT_FILE": [files["data"] / "a.txt", files["single"]]}))
    (staged,) = several.staged
    assert staged.directory == str(files["run"] / "work/inputs/INPUT_FILE")
    assert [Path(f).name for f in staged.files] == ["a.txt", "input.txt"]
    # disk: value 0.0 (multi-addition: inputMultiplier 4.0 on disk) -> 1.5 MiB of input
    scalar = {s.name: s for s in m.job.resources}["disk"]
    expected = scalar.value + scalar.input_multiplier * 1.5
    assert one_dir.allocations["disk"] == pytest.approx(expected)
    assert one_dir.input_metadata["JOB"]["INPUT_FILE"] == [
        {"file_name": "a.txt", "path": "/seed/inputs/INPUT_FILE/a.txt", "media_type": "text/plain",
         "file_size": 1048576},
        {"file_name": "b.txt", "path": "/seed/inputs/INPUT_FILE/b.txt", "media_type": "text/plain",
         "file_size": 524288}]


def test_allocation_formats_follow_the_complete_example(files) -> None:
    """ALLOCATED_* strings that the spec's complete example job.sh checks (DECISIONS)."""
    m = load_manifest(SHARED / "seed-spec/examples/complete/seed.manifest.json")
    plan = make_plan(m, RunRequest(
        image="x", file_inputs={"INPUT_FILE": [files["data"] / "a.txt"]}, json_inputs={"INPUT_JSON": "s"},
        settings={"VERSION": "1", "DB_HOST": "h", "DB_PASS": "p"}, run_dir=files["run"],
        mounts={"MOUNT_PATH": files["reference"], "WRITE_PATH": files["reference"]}))
    env = plan.environment
    assert (env["ALLOCATED_CPUS"], env["ALLOCATED_MEM"], env["ALLOCATED_SHAREDMEM"], env["ALLOCATED_DISK"]) == (
        "1.000000", "1024", "1024", "1004.000000")
    assert plan.nano_cpus == 1_000_000_000 and plan.memory_bytes == 1024 * 1048576
    assert plan.shm_bytes == 1024 * 1048576 and plan.disk_mib == 1004


def test_every_problem_is_reported_together(manifest, files) -> None:
    with pytest.raises(PlanError) as info:
        make_plan(manifest, RunRequest(
            image="x", run_dir=files["run"],
            file_inputs={"INPUT_FILE": [files["data"] / "a.txt", files["single"]], "NOPE": ["x"]},
            json_inputs={"THRESHOLD": True},
            settings={"DB_HOST": "db"},
            mounts={}))
    problems = [p.message for p in info.value.problems]
    assert {(p.code, p.path) for p in info.value.problems} == {
        ("unknown-input", "$.file_inputs.NOPE"), ("input-takes-one-file", "$.file_inputs.INPUT_FILE"),
        ("json-input-type", "$.json_inputs.THRESHOLD"), ("missing-setting", "$.settings.DB_PASS"),
        ("missing-mount", "$.mounts.REFERENCE")}
    assert all(p.severity == "error" for p in info.value.problems)
    assert any("NOPE" in p and "declares no input" in p for p in problems)
    assert any("INPUT_FILE takes one file, but 2 were given" in p for p in problems)
    assert any("THRESHOLD must be a JSON number, got true" in p for p in problems)
    assert any("setting DB_PASS has no value" in p for p in problems)
    assert any("mount REFERENCE" in p and "-m REFERENCE=HOST_PATH" in p for p in problems)
    assert len(problems) == 5
    assert "hunter2" not in str(info.value)


def test_booleans_are_not_integers_and_missing_files_are_named(files) -> None:
    doc = json.loads(json.dumps(CLEAN_MANIFEST))
    doc["job"]["interface"]["inputs"]["json"] = [{"name": "THRESHOLD", "type": "integer"}]
    with pytest.raises(PlanError) as info:
        make_plan(load_manifest(doc), request(files, json_inputs={"THRESHOLD": False},
                                              file_inputs={"INPUT_FILE": [files["run"] / "missing.txt"]}))
    assert tuple(p.message for p in info.value.problems) == (
        f"input INPUT_FILE: {files['run'] / 'missing.txt'} does not exist",
        "input THRESHOLD must be a JSON integer, got false")


def test_unknown_resources_need_an_override(manifest, files) -> None:
    doc = json.loads(json.dumps(CLEAN_MANIFEST))
    doc["job"]["resources"]["scalar"].append({"name": "licenses", "value": 2})
    with pytest.raises(PlanError, match="resource licenses is not one seed-runner can allocate"):
        make_plan(load_manifest(doc), request(files))
    plan = make_plan(load_manifest(doc), request(files, resources={"licenses": 3, "mem": 256}))
    assert plan.environment["ALLOCATED_LICENSES"] == "3.000000"
    assert plan.environment["ALLOCATED_MEM"] == "256" and plan.memory_bytes == 256 * 1048576


def test_media_type_mismatch_is_a_warning(manifest, files) -> None:
    odd = files["run"].parent / "picture.png"
    odd.write_bytes(b"\x89PNG")
    plan = make_plan(manifest, request(files, file_inputs={"INPUT_FILE": [odd]}))
    assert [(w.severity, w.code, w.path, w.message) for w in plan.warnings] == [
        ("warning", "input-media-type", "$.file_inputs.INPUT_FILE",
         "input INPUT_FILE: picture.png looks like image/png, not text/plain")]


def test_secrets_are_masked_in_the_display_view(manifest, files) -> None:
    plan = make_plan(manifest, request(files))
    assert plan.environment["DB_PASS"] == "hunter2"
    assert plan.masked_environment["DB_PASS"] == "****"
    assert "hunter2" not in repr(plan)


def test_names_are_matched_after_normalization(files) -> None:
    doc = json.loads((SHARED / "seed-cli-examples/testdata/complete-denormalized/seed.manifest.json").read_text())
    del doc["job"]["interface"]["outputs"]["json"][1]["key"]  # "" is an error here (see test_reference_fixtures)
    m = load_manifest(doc)
    names = {i.name for i in m.job.interface.file_inputs}
    assert "inPut-File" in names
    plan = make_plan(m, RunRequest(
        image="x", run_dir=files["run"], file_inputs={"input-file": [files["single"]]},
        json_inputs={"INPUT_JSON": "s"}, settings={"version": "1", "db-host": "h", "DB_PASS": "p"},
        mounts={"mount-path": files["reference"], "write_path": files["reference"]}))
    assert plan.environment["INPUT_FILE"] == "/seed/inputs/INPUT_FILE/input.txt"
    assert plan.environment["VERSION"] == "1"
