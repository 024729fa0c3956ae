"""`seed validate IMAGE` against images built on the real engine (rule 17 and both label encodings)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any, Callable

import pytest

from seed_runner import validate, validate_all
from seed_runner.manifest.label import encode_label
from seed_runner.manifest.names import LABEL

from .conftest import CLEAN_MANIFEST

pytestmark = pytest.mark.engine

GOOD_TAG = "clean-job-1.2.3-seed:0.1.0"


def seed_cli_label(manifest: dict) -> str:
    """seed-cli's encoding (SEED-RULES 2): a JSON string literal, then `$` and `/` escaped."""
    literal = json.dumps(json.dumps(manifest, separators=(",", ":")))
    return literal.replace("$", "\\$").replace("/", "\\/")


@pytest.fixture(scope="module")
def good_image(build_image: Callable[..., str]) -> str:
    return build_image(GOOD_TAG, {LABEL: encode_label(CLEAN_MANIFEST)})


def codes(result: Any) -> list[str]:
    return [f.code for f in result.findings]


def test_an_image_with_a_good_label_and_name_is_valid(good_image: str) -> None:
    result = validate(good_image)
    assert result.kind == "image"
    assert result.findings == ()
    assert result.manifest is not None and result.manifest.image_name == GOOD_TAG


def test_an_image_id_is_checked_by_its_tags(good_image: str, docker_client: Any) -> None:
    image_id = docker_client.images.get(good_image).id
    assert validate(image_id).findings == ()
    assert validate(image_id.removeprefix("sha256:")[:12]).findings == ()


def test_the_seed_cli_label_encoding_is_read(build_image: Callable[..., str]) -> None:
    manifest = json.loads(json.dumps(CLEAN_MANIFEST))
    manifest["job"]["name"] = "cli-job"
    manifest["job"]["description"] = "Reads /data/in and writes $OUTPUT_DIR/out"
    tag = build_image("cli-job-1.2.3-seed:0.1.0", {LABEL: seed_cli_label(manifest)})
    result = validate(tag)
    assert result.findings == ()
    assert result.manifest.job.description == manifest["job"]["description"]


def test_a_broken_label(build_image: Callable[..., str]) -> None:
    tag = build_image("broken-1.0.0-seed:1.0.0", {LABEL: '{"seedVersion": "1.0.0", "job": '})
    result = validate(tag)
    assert codes(result) == ["invalid-label"]
    assert "line 1, column" in result.findings[0].message


def test_an_image_without_the_label(build_image: Callable[..., str]) -> None:
    result = validate(build_image())
    assert codes(result) == ["missing-label"]


def test_a_wrongly_named_image(build_image: Callable[..., str]) -> None:
    tag = build_image("seed-runner-test/wrong-name:latest", {LABEL: encode_label(CLEAN_MANIFEST)})
    result = validate(tag)
    assert sorted(codes(result)) == ["image-name-mismatch", "image-repository-suffix"]
    assert "clean-job-1.2.3-seed:0.1.0" in " ".join(f.message for f in result.findings)


def test_a_registry_prefix_is_allowed(build_image: Callable[..., str]) -> None:
    tag = build_image("localhost:5000/org/clean-job-1.2.3-seed:0.1.0", {LABEL: encode_label(CLEAN_MANIFEST)})
    assert validate(tag).findings == ()


def test_the_image_environment_counts_as_injected(build_image: Callable[..., str]) -> None:
    manifest = json.loads(json.dumps(CLEAN_MANIFEST))
    manifest["job"]["interface"]["command"] = "${APP_HOME}/run ${INPUT_FILE} ${OUTPUT_DIR}"
    manifest["job"]["name"] = "env-job"
    tag = build_image("env-job-1.2.3-seed:0.1.0", {LABEL: encode_label(manifest)}, env={"APP_HOME": "/app"})
    assert validate(tag).findings == ()


def test_a_missing_image_is_one_finding() -> None:
    result = validate("no-such-job-1.0.0-seed:9.9.9")
    assert codes(result) == ["image-not-found"]
    assert "build or pull" in result.findings[0].message


def test_an_unreachable_engine_spoils_only_the_image_sources(tmp_path: Path, write_manifest: Callable) -> None:
    good = write_manifest(CLEAN_MANIFEST)
    env = {**os.environ, "DOCKER_HOST": f"unix://{tmp_path}/no-engine.sock"}
    seed = str(Path(sys.executable).with_name("seed"))
    proc = subprocess.run([seed, "validate", "--json", "some-job-1.0.0-seed:1.0.0", str(good)],
                          capture_output=True, text=True, env=env, timeout=60)
    assert proc.returncode == 4, proc.stderr  # a system problem, not an invalid job: CI can tell them apart
    image, file = json.loads(proc.stdout)["results"]
    assert [f["code"] for f in image["findings"]] == ["engine-unavailable"]
    assert file["valid"] is True
    bad = write_manifest(b"[]")
    files_only = subprocess.run([seed, "validate", str(bad)], capture_output=True, text=True, env=env, timeout=60)
    assert files_only.returncode == 1  # files never need the engine: an invalid one is the job's problem


def test_images_and_files_in_one_call(good_image: str, write_manifest: Callable) -> None:
    results = validate_all([good_image, write_manifest(b"[]")])
    assert [r.kind for r in results] == ["image", "file"]
    assert [r.valid for r in results] == [True, False]
