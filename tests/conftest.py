"""Shared test fixtures: a clean manifest to mutate, the reference fixtures in ../shared, a real engine."""

from __future__ import annotations

import copy
import io
import json
import shutil
import tarfile
import uuid
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
BUSYBOX_IMAGE = "seed-runner/busybox:1"



def pytest_configure(config: pytest.Config) -> None:
    """The reference fixtures are required: without them, one line says what is missing, before any test."""
    missing = [name for name in ("seed-spec", "seed-cli-examples", "scale-examples", "docs")
               if not (SHARED / name).is_dir()]
    # Every run the suite makes is recorded in a run store of its own, never the user's (seed_runner.store).
    import os
    import tempfile

    os.environ["SEED_HOME"] = tempfile.mkdtemp(prefix="seed-test-home-")
    if missing:
        pytest.exit(f"the reference fixtures are missing: {SHARED} needs {', '.join(missing)} (the project's shared/ "
                    "folder, laid beside the checkout: CI has it there; clone or copy it beside this repository)",
                    returncode=3)


# The local registries (with and without basic auth) the publish/pull/search tests use.
pytest_plugins = ["tests.registry_fixture"]

# A manifest that uses every part of the spec and draws no finding at all: tests mutate a copy of it.
CLEAN_MANIFEST: dict[str, Any] = {
    "seedVersion": "1.0.0",
    "job": {
        "name": "clean-job",
        "jobVersion": "1.2.3",
        "packageVersion": "0.1.0",
        "title": "Clean job",
        "description": "A manifest with no findings.",
        "tags": ["test"],
        "maintainer": {"name": "Jane Doe", "email": "jane@example.com"},
        "timeout": 60,
        "resources": {"scalar": [
            {"name": "cpus", "value": 1},
            {"name": "mem", "value": 128},
            {"name": "disk", "value": 10, "inputMultiplier": 2},
        ]},
        "interface": {
            "command": "${INPUT_FILE} ${OPTIONAL_FILE/#/-o } ${OUTPUT_DIR} ${THRESHOLD} ${ALLOCATED_CPUS}",
            "inputs": {
                "files": [{"name": "INPUT_FILE", "mediaTypes": ["text/plain"]},
                          {"name": "OPTIONAL_FILE", "required": False}],
                "json": [{"name": "THRESHOLD", "type": "number"}],
            },
            "outputs": {
                "files": [{"name": "RESULT", "pattern": "result*.txt", "mediaType": "text/plain"}],
                "json": [{"name": "COUNT", "type": "integer", "key": "count"}],
            },
            "mounts": [{"name": "REFERENCE", "path": "/reference", "mode": "ro"}],
            "settings": [{"name": "DB_HOST"}, {"name": "DB_PASS", "secret": True}],
        },
        "errors": [{"code": 1, "name": "bad-input", "title": "Bad input", "category": "data"},
                   {"code": 2, "name": "failed"}],
    },
}


@pytest.fixture
def manifest() -> dict[str, Any]:
    """A fresh deep copy of CLEAN_MANIFEST."""
    return copy.deepcopy(CLEAN_MANIFEST)


@pytest.fixture
def write_manifest(tmp_path: Path) -> Callable[..., Path]:
    """Write a document (or raw bytes/text) as <tmp>/<name>/seed.manifest.json and return the file."""

    def write(document: Any, name: str = "job") -> Path:
        directory = tmp_path / name
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / "seed.manifest.json"
        if isinstance(document, bytes):
            path.write_bytes(document)
        elif isinstance(document, str):
            path.write_text(document, encoding="utf-8")
        else:
            path.write_text(json.dumps(document, indent=2), encoding="utf-8")
        return path

    return write


# -- the engine -------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def docker_client() -> Any:
    """A client of the real engine; the suite fails (never skips) when there is none: run `make test`."""
    import docker

    client = docker.from_env()
    client.ping()
    return client


@pytest.fixture(scope="session")
def busybox_image(docker_client: Any) -> str:
    """The FROM-scratch busybox base (scripts/build-base-images.sh builds it; built here too if missing)."""
    try:
        docker_client.images.get(BUSYBOX_IMAGE)
    except Exception:  # noqa: BLE001 - docker.errors.ImageNotFound
        busybox = Path("/bin/busybox").read_bytes()
        dockerfile = (b'FROM scratch\nCOPY busybox /bin/busybox\n'
                      b'RUN ["/bin/busybox", "--install", "-s", "/bin"]\nENV PATH=/bin\n')
        _build(docker_client, {"Dockerfile": dockerfile, "busybox": busybox}, BUSYBOX_IMAGE, {})
    return BUSYBOX_IMAGE


def _build(client: Any, files: dict[str, bytes], tag: str, labels: dict[str, str]) -> None:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = 0o755
            tar.addfile(info, io.BytesIO(data))
    buffer.seek(0)
    client.images.build(fileobj=buffer, custom_context=True, tag=tag, labels=labels, rm=True)


@pytest.fixture(scope="session")
def build_image(docker_client: Any, busybox_image: str) -> Iterator[Callable[..., str]]:
    """Build a busybox-based image with the given labels and tag; every image built is removed at the end."""
    built: list[str] = []

    def build(tag: str | None = None, labels: dict[str, str] | None = None, env: dict[str, str] | None = None) -> str:
        tag = tag or f"seed-runner-test/{uuid.uuid4().hex[:12]}:latest"
        lines = [f"FROM {busybox_image}"] + [f"ENV {k}={v}" for k, v in (env or {}).items()]
        _build(docker_client, {"Dockerfile": "\n".join(lines).encode() + b"\n"}, tag, labels or {})
        built.append(tag)
        return tag

    yield build
    for tag in built:
        try:
            docker_client.images.remove(tag, force=True)
        except Exception:  # noqa: BLE001 - best effort cleanup
            pass


def copy_shared(relative: str, destination: Path) -> Path:
    """Copy one ../shared fixture into a temporary directory (tests never write into ../shared)."""
    target = destination / Path(relative).name
    shutil.copy(SHARED / relative, target)
    return target


def check_result(document: dict[str, Any]) -> dict[str, Any]:
    """Fail unless ``document`` validates against schemas/seed-runner.result.schema.json; returns it."""
    import jsonschema

    from seed_runner.manifest.schemas import load_schema

    jsonschema.Draft202012Validator(load_schema("result")).validate(document)
    return document
