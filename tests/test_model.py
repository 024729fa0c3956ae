"""`load_manifest`: the typed model with the spec's defaults filled in (SEED-RULES 3.13.2)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Callable

import pytest

from seed_runner import InvalidManifestError, load_manifest
from seed_runner.manifest.model import FileInput, JsonOutput, Mount, Scalar, Setting

from .conftest import CLEAN_MANIFEST, SHARED


def test_defaults_are_filled() -> None:
    m = load_manifest(SHARED / "seed-spec/examples/watermark")
    job = m.job
    assert (job.name, job.job_version, job.package_version, job.timeout) == ("image-watermark", "0.1.0", "0.1.0", 30)
    assert job.interface.file_inputs == (FileInput("INPUT_IMAGE", required=True, media_types=(), multiple=False,
                                                   partial=False),)
    assert job.interface.file_outputs[0].required is True and job.interface.file_outputs[0].multiple is False
    assert [(e.code, e.name, e.title, e.category) for e in job.errors] == [
        (1, "image-Corrupt-1", None, "data"), (2, "algorithm-failure", None, "job")]
    assert m.image_name == "image-watermark-0.1.0-seed:0.1.0"


def test_the_complete_example() -> None:
    m = load_manifest(SHARED / "seed-spec/examples/complete/seed.manifest.json")
    face = m.job.interface
    assert face.command == "${INPUT_FILE} ${OUTPUT_DIR} ${VERSION}"
    assert face.json_outputs == (JsonOutput("cell_count", "integer", "cellCount", True),
                                 JsonOutput("dummy", "integer", "dummy", False))
    assert face.mounts == (Mount("MOUNT_PATH", "/the/container/path", "ro"), Mount("WRITE_PATH", "/write", "rw"))
    assert face.settings[2] == Setting("DB_PASS", secret=True)
    assert m.job.resources[3] == Scalar("disk", 1000, 4)
    assert [s.variable for s in m.job.resources] == ["ALLOCATED_CPUS", "ALLOCATED_MEM", "ALLOCATED_SHAREDMEM",
                                                     "ALLOCATED_DISK"]
    assert m.error_for_code(2).name == "error-name-two" and m.error_for_code(3) is None


def test_absent_resources_are_none_not_empty() -> None:
    assert load_manifest(SHARED / "seed-spec/examples/random-number").job.resources is None


def test_variables_are_normalized() -> None:
    m = load_manifest(SHARED / "seed-cli-examples/examples/addition-job")
    assert [j.variable for j in m.job.interface.json_inputs] == ["A", "B"]


def test_load_from_text_mapping_and_directory(tmp_path: Path, write_manifest: Callable) -> None:
    text = json.dumps(CLEAN_MANIFEST)
    assert load_manifest(text) == load_manifest(CLEAN_MANIFEST) == load_manifest(write_manifest(CLEAN_MANIFEST).parent)


def test_the_model_is_immutable() -> None:
    m = load_manifest(CLEAN_MANIFEST)
    with pytest.raises(AttributeError):
        m.job.name = "other"  # type: ignore[misc]
    with pytest.raises(TypeError):
        m.data["job"] = {}  # type: ignore[index]


def test_an_invalid_manifest_raises_with_every_finding() -> None:
    doc = json.loads(json.dumps(CLEAN_MANIFEST))
    doc["job"]["timeout"] = "soon"
    doc["job"]["interface"]["mounts"][0]["path"] = "relative"
    with pytest.raises(InvalidManifestError) as info:
        load_manifest(doc)
    assert {f.code for f in info.value.findings} == {"wrong-type", "mount-path-not-absolute"}
    assert "$.job" in str(info.value) and "(and 1 more)" in str(info.value)
