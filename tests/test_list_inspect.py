"""`seed list` (the local Seed images) and `seed inspect` (one job, for its user), on the real engine.

The spec's complete example is read from ../shared beside the checkout, never copied into the project.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

from seed_runner import load_manifest
from seed_runner.authoring.build import build_job
from seed_runner.authoring.describe import (DescribeError, SeedImage, describe, image_list_document, json_example,
                                  list_seed_images, run_line)
from seed_runner.manifest.label import encode_label
from seed_runner.manifest.names import LABEL
from seed_runner.authoring.scaffold import init_job

from .conftest import BUSYBOX_IMAGE, CLEAN_MANIFEST, SHARED

SEED = str(Path(sys.executable).with_name("seed"))
COMPLETE = SHARED / "seed-spec" / "examples" / "complete" / "seed.manifest.json"


def seed(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([SEED, *args], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "COLUMNS": "200", **(env or {})})


@pytest.fixture(scope="module")
def built_job(docker_client: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """One scaffolded job built once for the module (removed at the end)."""
    folder = tmp_path_factory.mktemp("listed") / "job"
    name = f"seed-test-list-{uuid.uuid4().hex[:8]}"
    init_job(folder, name=name, title="Listed job", json_inputs=["config:object"], secrets=["token"],
             base_image=BUSYBOX_IMAGE)  # the default is public: this machine cannot pull
    result = build_job(folder)
    yield result
    docker_client.images.remove(result.image, force=True)


# -- seed list ----------------------------------------------------------------------------------------------


@pytest.mark.engine
def test_a_built_image_is_listed_with_its_fields(built_job: Any) -> None:
    images = list_seed_images()
    assert all(isinstance(i, SeedImage) for i in images)
    mine = next(i for i in images if built_job.image in i.references)
    job = built_job.manifest.job
    assert (mine.name, mine.job_version, mine.package_version, mine.title) == (
        job.name, "0.1.0", "0.1.0", "Listed job")
    assert mine.labeled and mine.problem is None and mine.id == built_job.image_id
    assert mine.size > 1_000_000  # the busybox base
    assert abs(mine.created.timestamp() - time.time()) < 600 and mine.created.tzinfo is not None


@pytest.mark.engine
def test_unlabelled_seed_repositories_and_odd_labels_are_told_apart(build_image: Callable[..., str]) -> None:
    unique = uuid.uuid4().hex[:8]
    # An ENV of its own makes each a new image (a bare FROM would only add a tag to the shared base image).
    unlabelled = build_image(f"seed-runner-test-{unique}-1.0.0-seed:1.0.0", env={"ONE": unique})
    document = json.loads(json.dumps(CLEAN_MANIFEST))
    # Its own ENV too: the same label on the same base would be the image other tests tagged with good names.
    misnamed = build_image(f"seed-runner-test/misnamed-{unique}:latest", labels={LABEL: encode_label(document)},
                           env={"THREE": unique})
    garbled = build_image(f"seed-runner-test-garbled-{unique}-seed:1", labels={LABEL: "{not json"})
    plain = build_image(f"seed-runner-test/plain-{unique}:latest", env={"TWO": unique})
    by_reference = {ref: image for image in list_seed_images() for ref in image.references}
    assert not by_reference[unlabelled].labeled and "no com.ngageoint.seed.manifest label" in \
        by_reference[unlabelled].problem
    assert by_reference[misnamed].labeled and by_reference[misnamed].name == "clean-job"
    assert "does not end in '-seed'" in by_reference[misnamed].problem
    assert by_reference[garbled].labeled and by_reference[garbled].name is None
    assert "cannot be parsed" in by_reference[garbled].problem
    assert plain not in by_reference  # neither the label nor a -seed repository


@pytest.mark.engine
def test_cli_list_table_and_json(built_job: Any, build_image: Callable[..., str]) -> None:
    unique = uuid.uuid4().hex[:8]
    unlabelled = build_image(f"seed-runner-test-{unique}-2.0.0-seed:2.0.0", env={"UNIQUE": unique})
    proc = seed("list")
    assert proc.returncode == 0, proc.stderr
    # Not a terminal: one tab-separated line per image, never wrapped, whole image names.
    lines = proc.stdout.splitlines()
    assert lines[0].split("\t") == ["name", "job version", "package", "title", "size", "created", "images"]
    row = next(line.split("\t") for line in lines if built_job.image in line)
    assert row[0] == built_job.manifest.job.name and row[3] == "Listed job" and row[4].endswith("MB")
    assert built_job.image in row[6].split(",")
    assert f"{unlabelled}: not a Seed image (a -seed repository without the com.ngageoint.seed.manifest label" \
        in proc.stdout
    assert all(len(line.split("\t")) == 7 for line in lines[1:] if "\t" in line)

    as_json = seed("list", "--json")
    assert as_json.returncode == 0
    document = json.loads(as_json.stdout)
    assert document["reportVersion"] == 1 and isinstance(document["images"], list)
    entry = next(i for i in document["images"] if built_job.image in i["references"])
    assert set(entry) == {"id", "references", "name", "jobVersion", "packageVersion", "title", "size", "created",
                          "labeled", "problem"}
    assert entry["labeled"] is True and entry["name"] == built_job.manifest.job.name
    assert entry["created"].endswith("Z") and entry["id"] == built_job.image_id
    assert any(i["references"] == [unlabelled] and i["labeled"] is False for i in document["images"])
    assert image_list_document([])["images"] == []


def test_list_on_a_terminal_is_a_table(built_job: Any) -> None:
    from rich.console import Console

    from seed_runner.authoring.describe import list_seed_images, print_image_list

    console = Console(record=True, width=250, force_terminal=True, highlight=False)
    print_image_list(list_seed_images(), console=console)
    text = console.export_text()
    header = next(line for line in text.splitlines() if "job version" in line)
    assert all(column in header for column in ("name", "package", "title", "size", "created", "image"))
    assert any(built_job.image in line and "Listed job" in line for line in text.splitlines())


def test_cli_list_without_an_engine_is_exit_4(tmp_path: Path) -> None:
    proc = seed("list", env={"DOCKER_HOST": f"unix://{tmp_path}/none.sock"})
    assert proc.returncode == 4 and "does not answer" in proc.stderr and "Traceback" not in proc.stderr


# -- seed inspect ------------------------------------------------------------------------------------------


def test_inspect_names_everything_the_complete_example_declares() -> None:
    proc = seed("inspect", str(COMPLETE))
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    manifest = load_manifest(COMPLETE)
    job = manifest.job
    face = job.interface
    assert job.title in out and job.description in out and "my-job-1.0.0-seed:1.0.0" in out
    lines = out.splitlines()

    def row(name: str) -> str:
        return next(line for line in lines if line.strip().startswith(name + " "))

    assert "image/x-hdf5-image" in row("INPUT_FILE") and "partial" in row("INPUT_FILE")
    assert "string" in row("INPUT_JSON") and "json" in row("INPUT_JSON")
    for output in face.file_outputs:
        assert output.pattern in row(output.name) and output.media_type in row(output.name)
    assert "yes" in row("output_file_pngs").split("image/png")[1]  # required, multiple
    assert "no" in row("output_file_csv").split("text/csv")[1]
    assert "cellCount" in row("cell_count") and "integer" in row("cell_count")
    assert "dummy" in row("dummy")
    assert "secret" in row("DB_PASS") and "secret" not in row("DB_HOST") and "secret" not in row("VERSION")
    assert "/the/container/path" in row("MOUNT_PATH") and "ro" in row("MOUNT_PATH")
    assert "/write" in row("WRITE_PATH") and "rw" in row("WRITE_PATH")
    for resource in job.resources:
        assert resource.name in out and resource.variable in row(resource.name)
    assert "1000 MiB" in row("disk") and "4" in row("disk").split("MiB")[1]
    for error in job.errors:
        assert error.name in row(str(error.code)) and error.category in row(str(error.code))
    assert ("seed run my-job-1.0.0-seed:1.0.0 -i INPUT_FILE=PATH -j INPUT_JSON=text -e VERSION=VALUE "
            "-e DB_HOST=VALUE -e DB_PASS -m MOUNT_PATH=HOST_PATH -m WRITE_PATH=HOST_PATH") in out
    assert "John Doe" in out and "3600 s" in out and "${INPUT_FILE} ${OUTPUT_DIR} ${VERSION}" in out


def test_inspect_json_round_trips_the_manifest() -> None:
    written = json.loads(COMPLETE.read_text())
    proc = seed("inspect", str(COMPLETE), "--json")
    assert proc.returncode == 0 and json.loads(proc.stdout) == written
    compact = seed("inspect", str(COMPLETE.parent), "--compact")
    assert compact.stdout.rstrip("\n") == encode_label(written)


@pytest.mark.engine
def test_inspect_an_image_prints_exactly_its_label(built_job: Any, docker_client: Any) -> None:
    label = docker_client.images.get(built_job.image).labels[LABEL]
    proc = seed("inspect", built_job.image, "--json", "--compact")
    assert proc.returncode == 0 and proc.stdout.rstrip("\n") == label
    assert json.loads(seed("inspect", built_job.image, "--json").stdout) == json.loads(label)
    human = seed("inspect", built_job.image)
    assert human.returncode == 0
    assert f"seed run {built_job.image} -j 'CONFIG={{\"key\": \"value\"}}' -e TOKEN" in human.stdout
    description = describe(built_job.image)
    assert description.kind == "image" and description.image == built_job.image
    assert description.document == json.loads(label)


@pytest.mark.engine
def test_a_retagged_image_is_still_described(built_job: Any, docker_client: Any) -> None:
    other = f"seed-runner-test/retagged-{uuid.uuid4().hex[:8]}:x"
    docker_client.images.get(built_job.image).tag(other)
    try:
        description = describe(other)
        assert description.manifest.job.name == built_job.manifest.job.name
        assert run_line(description.manifest, description.image).startswith(f"seed run {other} ")
    finally:
        docker_client.images.remove(other)


def test_inspect_a_job_folder_and_the_python_api(tmp_path: Path) -> None:
    init_job(tmp_path / "job", name="described")
    description = describe(tmp_path / "job")
    assert description.kind == "directory" and description.image == "described-0.1.0-seed:0.1.0"
    assert description.warnings == () and description.manifest.job.name == "described"


@pytest.mark.parametrize("source, status, message", [
    ("./no/such/manifest.json", 2, "no such file or folder"),
    pytest.param("no-such-image-for-seed-tests:1", 2, "no file, folder or local image named",
                 marks=pytest.mark.engine),  # the engine says it has no such image
])
def test_inspect_a_typo_is_exit_2(source: str, status: int, message: str) -> None:
    proc = seed("inspect", source)
    assert proc.returncode == status and message in proc.stderr
    assert proc.stderr.count("\n") == 1 and proc.stdout == ""


@pytest.mark.parametrize("source, message", [
    ("Foo Bar", "upper-case letters"),
    ("foo bar", "is not one Docker accepts"),
    ("busybox\nrun x", "is not one Docker accepts"),
    ("busybox@sha256:xyz", "the digest 'sha256:xyz'"),
])
def test_inspect_a_malformed_image_name_is_exit_2_without_asking_the_engine(source: str, message: str) -> None:
    # An engine that cannot answer shows the engine is never asked: the name alone is refused.
    proc = seed("inspect", source, env={"DOCKER_HOST": "unix:///nonexistent/seed-tests.sock"})
    assert proc.returncode == 2, proc.stderr
    assert "no such file, folder or local image" in proc.stderr and message in proc.stderr
    assert proc.stderr.count("\n") == 1 and proc.stdout == ""
    with pytest.raises(DescribeError) as caught:
        describe(source)
    assert caught.value.exit_status == 2


def test_inspect_an_empty_source_is_a_usage_error() -> None:
    proc = seed("inspect", "")
    assert proc.returncode == 2 and "the source is empty" in proc.stderr
    assert proc.stderr.count("\n") == 1 and proc.stdout == ""
    with pytest.raises(DescribeError, match="the source is empty") as caught:
        describe("")
    assert caught.value.exit_status == 2


def test_inspect_a_folder_without_a_manifest_is_exit_2(tmp_path: Path) -> None:
    proc = seed("inspect", str(tmp_path))
    assert proc.returncode == 2 and "has no seed.manifest.json" in proc.stderr


def test_inspect_an_invalid_manifest_is_exit_1(write_manifest: Callable[..., Path]) -> None:
    document = json.loads(json.dumps(CLEAN_MANIFEST))
    document["job"]["timeout"] = "soon"
    del document["job"]["title"]
    path = write_manifest(document)
    proc = seed("inspect", str(path))
    assert proc.returncode == 1
    assert "holds no valid Seed manifest" in proc.stderr and "and 1 more" in proc.stderr
    assert "Traceback" not in proc.stderr
    with pytest.raises(DescribeError) as caught:
        describe(path)
    assert caught.value.exit_status == 1


@pytest.mark.engine
def test_inspect_an_image_without_the_label_is_exit_1(build_image: Callable[..., str]) -> None:
    image = build_image()
    proc = seed("inspect", image)
    assert proc.returncode == 1 and "has no com.ngageoint.seed.manifest label" in proc.stderr


def test_inspect_an_image_without_an_engine_is_exit_4(tmp_path: Path) -> None:
    proc = seed("inspect", "some-job-1.0.0-seed:1.0.0", env={"DOCKER_HOST": f"unix://{tmp_path}/none.sock"})
    assert proc.returncode == 4 and "Traceback" not in proc.stderr


# -- the run line --------------------------------------------------------------------------------------------


def test_run_line_covers_required_inputs_settings_and_mounts() -> None:
    manifest = load_manifest(CLEAN_MANIFEST)
    assert run_line(manifest) == (
        "seed run clean-job-1.2.3-seed:0.1.0 -i INPUT_FILE=PATH -j THRESHOLD=1.5 -e DB_HOST=VALUE -e DB_PASS "
        "-m REFERENCE=HOST_PATH")
    assert "-i OPTIONAL_FILE=PATH" in run_line(manifest, optional=True)
    assert run_line(manifest, "registry:5000/x/clean-job-1.2.3-seed:0.1.0").startswith(
        "seed run registry:5000/x/clean-job-1.2.3-seed:0.1.0 ")


def test_run_line_examples_are_typed_and_quoted() -> None:
    document = json.loads(json.dumps(CLEAN_MANIFEST))
    face = document["job"]["interface"]
    face["inputs"]["files"] = [{"name": "MANY", "multiple": True}]
    face["inputs"]["json"] = [{"name": f"J_{t.upper()}", "type": t}
                              for t in ("string", "integer", "number", "boolean", "object", "array")]
    face["command"] = "${OUTPUT_DIR}"
    line = run_line(load_manifest(document))
    assert ("-i MANY=DIR -j J_STRING=text -j J_INTEGER=1 -j J_NUMBER=1.5 -j J_BOOLEAN=true "
            "-j 'J_OBJECT={\"key\": \"value\"}' -j 'J_ARRAY=[\"item\"]'") in line
    for json_type in ("integer", "number", "boolean", "object", "array"):
        json.loads(json_example(json_type))  # every example but a string's is JSON of its type
