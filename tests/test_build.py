"""`seed build` on the real engine: the label, the tag, build arguments, the engine's verdict (never stderr),
refusals before anything is built, no implicit pull; and init -> build -> validate the image -> run, end to end.

Every image built here has a unique name and is removed in the fixture's teardown.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

from seed_runner import validate
from seed_runner.authoring.build import BuildError, BuildResult, base_images, build_job, docker_name_problems, reference_problems
from seed_runner.manifest.label import encode_label
from seed_runner.manifest.names import LABEL
from seed_runner.authoring.scaffold import init_job

from .conftest import BUSYBOX_IMAGE, check_result

SEED = str(Path(sys.executable).with_name("seed"))
PYTHON_IMAGE = "seed-runner/python:1"


def seed(*args: str, env: dict[str, str] | None = None, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run([SEED, *args], capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, "COLUMNS": "200", **(env or {})})


@pytest.fixture
def cleanup(docker_client: Any) -> Iterator[list[str]]:
    """Image references to remove at the end of the test (built or not)."""
    references: list[str] = []
    yield references
    for reference in references:
        try:
            docker_client.images.remove(reference, force=True)
        except Exception:  # noqa: BLE001 - not built, or already gone
            pass


@pytest.fixture
def new_job(tmp_path: Path, cleanup: list[str]) -> Callable[..., Path]:
    """Scaffold a job with a unique name (its image is removed at teardown); returns its folder."""

    def make(folder: str = "job", **options: Any) -> Path:
        name = options.pop("name", f"seed-test-{uuid.uuid4().hex[:10]}")
        # The scaffold's default base is public; this machine cannot pull, so the local one is given explicitly.
        options.setdefault("base_image", PYTHON_IMAGE if options.get("language") == "python" else BUSYBOX_IMAGE)
        path = tmp_path / folder
        init_job(path, name=name, **options)
        cleanup.append(f"{name}-{options.get('job_version', '0.1.0')}-seed:{options.get('package_version', '0.1.0')}")
        return path

    return make


def edit_manifest(folder: Path, change: Callable[[dict[str, Any]], None]) -> None:
    path = folder / "seed.manifest.json"
    document = json.loads(path.read_text())
    change(document)
    path.write_text(json.dumps(document, indent=2))


class NoEngine:
    """A docker client that fails the test if anything touches it: proves a refusal came before the engine."""

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"the engine was used ({name}) before the refusal")


# -- end to end ---------------------------------------------------------------------------------------------


@pytest.mark.engine
@pytest.mark.parametrize("language", ["shell", "python"])
def test_init_build_validate_run_end_to_end(new_job: Callable[..., Path], tmp_path: Path, language: str,
                                            docker_client: Any) -> None:
    folder = new_job(language=language, inputs=["input-file", "extra"], json_inputs=["config:object", "n:integer"],
                     outputs=["result:*.csv", "summary"], json_outputs=["total:integer", "label:string"],
                     settings=["db-host"], secrets=["db-pass"])
    lines: list[str] = []
    result = build_job(folder, progress=lines.append)
    assert isinstance(result, BuildResult) and result.warnings == ()
    assert result.image == result.manifest.image_name
    assert docker_client.images.get(result.image).id == result.image_id
    assert any(line.startswith("Step ") for line in lines) and all("\n" not in line for line in lines)

    image_check = validate(result.image)
    assert image_check.findings == () and image_check.kind == "image"

    (tmp_path / "in").mkdir()
    first, extra = tmp_path / "in" / "first file.txt", tmp_path / "in" / "extra.txt"
    first.write_text("one\ntwo\nthree\n")
    extra.write_text("x" * 100)
    run_dir = tmp_path / "run"
    proc = seed("run", result.image, "-i", f"INPUT_FILE={first}", "-i", f"extra={extra}",
                "-j", 'CONFIG={"a": 1}', "-j", "N=7", "-e", "DB_HOST=db.example", "-e", "DB_PASS",
                "-o", str(run_dir), "--json", env={"DB_PASS": "very-secret-value"})
    assert proc.returncode == 0, proc.stderr
    document = check_result(json.loads(proc.stdout))
    assert document["status"] == "succeeded"
    assert [f["path"] for f in document["outputs"]["RESULT"]["files"]] == ["result.csv"]
    assert [f["path"] for f in document["outputs"]["SUMMARY"]["files"]] == ["summary.txt"]
    assert document["json_outputs"] == {"TOTAL": 114, "LABEL": f"{result.manifest.job.name} 0.1.0"}
    report = (run_dir / "outputs" / "result.csv").read_text()
    assert "INPUT_FILE: first file.txt, 14 bytes, 3 lines" in report and "DB_HOST: db.example" in report
    assert 'CONFIG (object): {"a":1}' in report.replace('{"a": 1}', '{"a":1}')
    assert "allocated: cpus 1.000000" in report
    everything = proc.stdout + proc.stderr + "".join(p.read_text() for p in (run_dir / "outputs").rglob("*.*"))
    assert "very-secret-value" not in everything


@pytest.mark.engine
def test_the_run_line_printed_by_build_runs_once_filled_in(new_job: Callable[..., Path], tmp_path: Path) -> None:
    folder = new_job()
    proc = seed("build", str(folder))
    assert proc.returncode == 0, proc.stderr
    line = next(part for part in proc.stdout.splitlines() if "seed run" in part)
    command = line.split("try it: ", 1)[1]
    assert command.endswith("-i INPUT_FILE=PATH")
    (tmp_path / "input.txt").write_text("data\n")
    words = command.replace("PATH", str(tmp_path / "input.txt")).split()[1:]  # drop "seed"
    run = seed(*words, "-o", str(tmp_path / "run"))
    assert run.returncode == 0, run.stderr
    assert (tmp_path / "run" / "outputs" / "report.txt").exists()


# -- what the image is --------------------------------------------------------------------------------------


@pytest.mark.engine
def test_the_label_is_the_compact_manifest_and_the_tag_follows_seed(new_job: Callable[..., Path],
                                                                    docker_client: Any) -> None:
    folder = new_job(json_inputs=["config:object"], title="Ünïcode $HOME / \\ \"quotes\"")
    result = build_job(folder)
    image = docker_client.images.get(result.image)
    written = json.loads((folder / "seed.manifest.json").read_text())
    label = image.labels[LABEL]
    assert label == encode_label(written) == json.dumps(written, separators=(",", ":"), ensure_ascii=False)
    assert json.loads(label) == written
    job = written["job"]
    assert result.image == f"{job['name']}-{job['jobVersion']}-seed:{job['packageVersion']}"
    assert result.image in image.tags and image.id == result.image_id


@pytest.mark.engine
def test_build_arguments_reach_the_dockerfile(new_job: Callable[..., Path], docker_client: Any) -> None:
    folder = new_job()
    dockerfile = folder / "Dockerfile"
    dockerfile.write_text(dockerfile.read_text() + "ARG GREETING=unset\nENV SEEN_GREETING=${GREETING}\n")
    result = build_job(folder, build_args={"GREETING": "hello from a build arg",
                                           "BASE_IMAGE": BUSYBOX_IMAGE})
    env = docker_client.images.get(result.image).attrs["Config"]["Env"]
    assert "SEEN_GREETING=hello from a build arg" in env


@pytest.mark.engine
def test_a_step_writing_to_stderr_is_not_a_failure(new_job: Callable[..., Path], docker_client: Any) -> None:
    folder = new_job()
    marker = uuid.uuid4().hex
    (folder / "Dockerfile").write_text(f"FROM {BUSYBOX_IMAGE}\nRUN echo 'warning: {marker}' >&2; echo out\n"
                                       "COPY run.sh /app/run.sh\nENTRYPOINT [\"/bin/sh\", \"/app/run.sh\"]\n")
    lines: list[str] = []
    result = build_job(folder, progress=lines.append)
    assert f"warning: {marker}" in lines  # the builder's colour codes are gone
    assert docker_client.images.get(result.image).id == result.image_id


@pytest.mark.engine
def test_a_failing_step_is_a_build_error_with_the_engines_message(new_job: Callable[..., Path],
                                                                  docker_client: Any) -> None:
    folder = new_job()
    (folder / "Dockerfile").write_text(f"FROM {BUSYBOX_IMAGE}\nRUN echo boom >&2; exit 3\n")
    lines: list[str] = []
    with pytest.raises(BuildError) as caught:
        build_job(folder, progress=lines.append)
    message = str(caught.value)
    assert caught.value.exit_status == 1 and "\n" not in message
    assert "Step 2/" in message and "returned a non-zero code: 3" in message
    assert "boom" in lines
    import docker.errors

    name = json.loads((folder / "seed.manifest.json").read_text())["job"]["name"]
    with pytest.raises(docker.errors.ImageNotFound):  # nothing was tagged
        docker_client.images.get(f"{name}-0.1.0-seed:0.1.0")


@pytest.mark.engine
def test_cli_shows_the_engines_message_for_a_failing_step(new_job: Callable[..., Path]) -> None:
    folder = new_job()
    (folder / "Dockerfile").write_text(f"FROM {BUSYBOX_IMAGE}\nRUN /bin/no-such-tool\n")
    proc = seed("build", str(folder))
    assert proc.returncode == 1
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("seed: error: the build failed at 'Step 2/3 : RUN /bin/no-such-tool'")
    assert "returned a non-zero code: 127" in last and "Traceback" not in proc.stderr


# -- refusals before the engine -------------------------------------------------------------------------------


def test_a_missing_folder_manifest_or_dockerfile_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(BuildError, match="no such folder") as caught:
        build_job(tmp_path / "nope", docker_client=NoEngine())
    assert caught.value.exit_status == 2
    (tmp_path / "empty").mkdir()
    with pytest.raises(BuildError, match="has no seed.manifest.json.*seed init") as caught:
        build_job(tmp_path / "empty", docker_client=NoEngine())
    assert caught.value.exit_status == 2
    init_job(tmp_path / "job", name="no-dockerfile")
    (tmp_path / "job" / "Dockerfile").unlink()
    with pytest.raises(BuildError, match="has no Dockerfile") as caught:
        build_job(tmp_path / "job", docker_client=NoEngine())
    assert caught.value.exit_status == 2


def test_an_invalid_manifest_stops_the_build_with_every_finding(tmp_path: Path) -> None:
    init_job(tmp_path / "job", name="invalid-job")

    def break_it(document: dict[str, Any]) -> None:
        document["job"]["timeout"] = "soon"
        document["job"]["interface"]["command"] = "$(rm -rf /)"

    edit_manifest(tmp_path / "job", break_it)
    with pytest.raises(BuildError, match=r"is not a valid Seed manifest: .*\(and 1 more error\)") as caught:
        build_job(tmp_path / "job", docker_client=NoEngine())
    assert caught.value.exit_status == 1
    assert {f.code for f in caught.value.validation.errors} >= {"wrong-type", "command-substitution"}


@pytest.mark.parametrize("change, message", [
    (lambda job: job.update(name="Upper-Case"), r"job.name 'Upper-Case' has upper-case letters.*'upper-case'"),
    (lambda job: job.update(jobVersion="1.0.0+build.5"), r"job.jobVersion '1.0.0\+build.5' has build metadata"),
    (lambda job: job.update(packageVersion="1.0.0+sha.abc"), r"job.packageVersion .* Docker tag cannot hold"),
    (lambda job: job.update(packageVersion="1.0.0-" + "a" * 130), r"136 characters .* Docker limits to 128"),
    (lambda job: job.update(name="-dash-first"), r"is not one Docker accepts"),
])
def test_names_docker_cannot_hold_are_refused_before_building(tmp_path: Path, change: Callable[[dict], None],
                                                              message: str) -> None:
    init_job(tmp_path / "job", name="naming")
    edit_manifest(tmp_path / "job", lambda document: change(document["job"]))
    with pytest.raises(BuildError, match=message) as caught:
        build_job(tmp_path / "job", docker_client=NoEngine())
    assert caught.value.exit_status == 1 and "\n" not in str(caught.value)
    assert "Docker cannot name the image" in str(caught.value)


def test_an_invalid_tag_is_a_usage_error(tmp_path: Path) -> None:
    init_job(tmp_path / "job", name="tagged")
    with pytest.raises(BuildError, match="--tag 'Bad:1' is not a Docker image reference.*upper-case") as caught:
        build_job(tmp_path / "job", tag="Bad:1", docker_client=NoEngine())
    assert caught.value.exit_status == 2


# -- no implicit pull -------------------------------------------------------------------------------------------


@pytest.mark.engine
def test_a_missing_base_image_fails_fast_without_the_network(new_job: Callable[..., Path]) -> None:
    folder = new_job()
    missing = f"seed-runner-test/not-here-{uuid.uuid4().hex[:8]}:1"
    lines: list[str] = []
    started = time.monotonic()
    with pytest.raises(BuildError) as caught:
        build_job(folder, build_args={"BASE_IMAGE": missing}, progress=lines.append)
    assert time.monotonic() - started < 5
    message = str(caught.value)
    assert caught.value.exit_status == 4
    assert f"the base image '{missing}' (from the build argument BASE_IMAGE)" in message
    assert "never pulls" in message and "--pull" in message and "--build-arg BASE_IMAGE=" in message
    assert lines == []  # refused before the engine started the build (it would try a registry)


@pytest.mark.engine
def test_with_pull_the_engine_is_asked_and_its_error_reported(new_job: Callable[..., Path], registry: Any) -> None:
    """--pull hands the base images to the engine (which asks a registry); a registry that answers "no such
    image" is the Dockerfile's fault: the engine's message, exit 1."""
    folder = new_job()
    missing = f"{registry.host}/seed-runner-test/absent-{uuid.uuid4().hex[:8]}:1"
    with pytest.raises(BuildError, match=r"the build failed at 'Step 2/.*FROM \$\{BASE_IMAGE\}'") as caught:
        build_job(folder, build_args={"BASE_IMAGE": missing}, pull=True)
    assert caught.value.exit_status == 1


@pytest.mark.engine
def test_a_registry_that_cannot_be_reached_is_a_system_failure(new_job: Callable[..., Path]) -> None:
    """Issue 17.1: the network's fault is exit 4 (a pipeline retries it), not 1 (the job's)."""
    folder = new_job()
    with socket.socket() as probe:  # a loopback port nothing listens on: the engine's pull is refused
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(BuildError) as caught:
        build_job(folder, build_args={"BASE_IMAGE": f"127.0.0.1:{port}/seed-runner-test/base:1"}, pull=True)
    message = str(caught.value)
    assert caught.value.exit_status == 4 and "\n" not in message
    assert "could not pull a base image" in message and "connection refused" in message
    assert "--build-arg BASE_IMAGE=" in message


@pytest.mark.engine
def test_a_scaffold_built_as_the_ci_recipe_builds_it_pulls_its_public_base_or_says_the_network_failed(
        tmp_path: Path, cleanup: list[str]) -> None:
    """The scaffold's default base is public (busybox:stable), so the README's CI recipe (`seed build --pull`)
    works on a CI runner. This machine cannot pull: then exit 4 and one line, never exit 1 (the job's fault)."""
    name = f"seed-test-public-{uuid.uuid4().hex[:8]}"
    init_job(tmp_path / "job", name=name)
    cleanup.append(f"{name}-0.1.0-seed:0.1.0")
    assert "ARG BASE_IMAGE=busybox:stable\n" in (tmp_path / "job" / "Dockerfile").read_text()
    proc = seed("build", "--pull", "-q", str(tmp_path / "job"))
    assert "Traceback" not in proc.stderr
    if proc.returncode != 0:  # no network here
        lines = proc.stderr.strip().splitlines()
        assert proc.returncode == 4 and len(lines) == 1, proc.stderr
        assert lines[0].startswith("seed: error: the build could not pull a base image")


@pytest.mark.engine
def test_copy_from_a_missing_image_is_refused_too(new_job: Callable[..., Path]) -> None:
    folder = new_job()
    (folder / "Dockerfile").write_text(f"FROM {BUSYBOX_IMAGE} AS base\nFROM base\n"
                                       "COPY --from=seed-runner-test/absent:9 /x /x\n")
    with pytest.raises(BuildError, match=r"'seed-runner-test/absent:9' of COPY --from at .*Dockerfile:3") as caught:
        build_job(folder)
    assert caught.value.exit_status == 4


def test_base_images_of_a_dockerfile() -> None:
    dockerfile = "\n".join([
        "# escape=\\",
        "ARG BASE=busybox:1",
        "ARG OTHER",
        "# a comment",
        "FROM --platform=linux/amd64 ${BASE} AS builder",
        "RUN make \\",
        "  # a comment inside a continuation",
        "  all",
        "FROM builder",
        "FROM ${OTHER:-python:3} AS second",
        "COPY --from=builder /a /a",
        "COPY --from=0 /a /a",
        "COPY --chown=1:1 --from=tools:2 /t /t",
        "FROM scratch",
        "from $BASE",
    ])
    found = base_images(dockerfile)
    assert [(b.reference, b.line, b.instruction) for b in found] == [
        ("busybox:1", 5, "FROM"), ("python:3", 10, "FROM"), ("tools:2", 13, "COPY --from"), ("busybox:1", 15, "FROM")]
    assert found[0].variables == ("BASE",)
    assert [b.reference for b in base_images(dockerfile, {"BASE": "local/base:2", "OTHER": "o:1"})] == [
        "local/base:2", "o:1", "tools:2", "local/base:2"]
    assert [b.reference for b in base_images("FROM a\nARG LATE=x\nFROM ${LATE}", {"LATE": "y"})] == ["a"]


def test_docker_reference_grammar() -> None:
    assert reference_problems("registry.example:5000/org/my-job-1.0.0-seed:1.0.0") == []
    assert reference_problems("localhost/a__b.c-d:v1.0_x") == []
    assert "upper-case" in reference_problems("org/Name:1")[0]
    assert reference_problems("Registry/name:1") == []  # Docker reads a capitalised first part as a registry
    assert "has a '+'" in reference_problems("a:1.0+x")[0]
    assert "128" in reference_problems("a:" + "1" * 129)[0]
    assert "digest" in reference_problems("a@sha256:" + "0" * 64)[0]
    assert reference_problems("a/-b:1") and reference_problems("a:-1") and reference_problems("a//b")
    assert docker_name_problems("my-job", "1.0.0-rc.1", "1.0.0") == []


# -- --tag and the command line ---------------------------------------------------------------------------------


@pytest.mark.engine
def test_a_tag_replaces_the_seed_name_with_a_warning(new_job: Callable[..., Path], cleanup: list[str],
                                                     docker_client: Any) -> None:
    folder = new_job()
    tag = f"seed-runner-test/custom-{uuid.uuid4().hex[:8]}"
    cleanup.append(f"{tag}:latest")
    result = build_job(folder, tag=tag)
    assert result.image == f"{tag}:latest"
    assert docker_client.images.get(result.image).id == result.image_id
    assert [w.code for w in result.warnings] == ["image-name-mismatch"]


@pytest.mark.engine
def test_cli_build_prints_progress_on_stderr_and_the_run_line(new_job: Callable[..., Path]) -> None:
    folder = new_job(json_inputs=["threshold:number"], inputs=["images"], settings=["mode"], secrets=["token"])
    proc = seed("build", str(folder), "--build-arg", f"BASE_IMAGE={BUSYBOX_IMAGE}")
    assert proc.returncode == 0, proc.stderr
    name = json.loads((folder / "seed.manifest.json").read_text())["job"]["name"]
    image = f"{name}-0.1.0-seed:0.1.0"
    assert "Step 1/" in proc.stderr and "Successfully tagged" in proc.stderr
    assert f"LABEL {LABEL}=<the manifest" in proc.stderr  # not the whole manifest again
    assert f"built {image}" in proc.stdout
    assert f"seed run {image} -i IMAGES=PATH -j THRESHOLD=1.5 -e MODE=VALUE -e TOKEN" in proc.stdout
    quiet = seed("build", "-q", "--json", str(folder))
    assert quiet.returncode == 0 and quiet.stderr == ""
    document = json.loads(quiet.stdout)
    assert set(document) == {"image", "imageId", "warnings", "run"} and document["image"] == image
    assert document["imageId"].startswith("sha256:") and document["run"].startswith(f"seed run {image}")


def test_cli_exit_statuses_before_the_engine(tmp_path: Path) -> None:
    missing = seed("build", str(tmp_path / "nope"))
    assert missing.returncode == 2 and "no such folder" in missing.stderr
    (tmp_path / "empty").mkdir()
    assert seed("build", str(tmp_path / "empty")).returncode == 2
    init_job(tmp_path / "job", name="cli-invalid")
    bad_arg = seed("build", str(tmp_path / "job"), "--build-arg", "NOEQUALS")
    assert bad_arg.returncode == 2 and "is not KEY=VALUE" in bad_arg.stderr
    edit_manifest(tmp_path / "job", lambda d: d["job"].update(timeout="soon", name="bad_name"))
    invalid = seed("build", str(tmp_path / "job"))
    assert invalid.returncode == 1
    assert "wrong-type" in invalid.stderr and "invalid-name" in invalid.stderr  # every finding is shown
    assert invalid.stderr.strip().splitlines()[-1].startswith("seed: error: ")
    assert "Traceback" not in invalid.stderr
    for stream in (missing, invalid):
        assert stream.stdout == ""


def test_cli_engine_unavailable_is_exit_4(tmp_path: Path) -> None:
    init_job(tmp_path / "job", name="no-engine")
    proc = seed("build", str(tmp_path / "job"), env={"DOCKER_HOST": f"unix://{tmp_path}/no-such.sock"}, timeout=60)
    assert proc.returncode == 4
    assert "the Docker engine does not answer" in proc.stderr and "Traceback" not in proc.stderr


def test_a_manifest_file_names_its_folder(tmp_path: Path) -> None:
    init_job(tmp_path / "job", name="Upper")  # lower-cased by init
    edit_manifest(tmp_path / "job", lambda d: d["job"].update(name="Upper"))
    with pytest.raises(BuildError, match="job.name 'Upper'"):
        build_job(tmp_path / "job" / "seed.manifest.json", docker_client=NoEngine())
