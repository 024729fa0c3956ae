"""`seed init`: every option combination scaffolds a job that strict validation has nothing to say about, whose
entry script does what its manifest promises (checked here without an engine: the script runs on the host with
the environment an executor injects, and the harvest captures every output), and refusals are one line.

The engine end-to-end (init -> build -> validate the image -> run) is in test_build.py.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from seed_runner import load_manifest, validate
from seed_runner.outputs.harvesting import harvest
from seed_runner.runtime.plan import encode_json_input, json_type_problem
from seed_runner.authoring.scaffold import ScaffoldError, init_job, job_name_from
from seed_runner.authoring.scaffold_templates import LOCAL_BASES, PUBLIC_BASES

SEED = str(Path(sys.executable).with_name("seed"))

# Option sets, each scaffolded in both languages.
VARIANTS: dict[str, dict[str, Any]] = {
    "defaults": {},
    "file-inputs": {"inputs": ["input-file", "Second_Input", "third"]},
    "json-inputs": {"json_inputs": ["config:object", "count:integer", "ratio:number", "flag:boolean",
                                    "items:array", "label:string", "plain"]},
    "outputs": {"outputs": ["result:*.csv", "summary", "nested:sub/dir/*.txt", "pick:[abc]?.log",
                            "everything:out-*", "hostile:it's \"$(quoted)\" `x`.txt", "spaced:a dir/my file.*"]},
    "json-outputs": {"json_outputs": ["total:integer", "mean:number", "name:string", "ok:boolean",
                                      "sizes:array", "stats:object"]},
    "settings-secrets": {"settings": ["db-host", "VERSION"], "secrets": ["db-pass", "api_token"]},
    "everything": {"inputs": ["input-file", "other"], "json_inputs": ["config:object", "threshold:number"],
                   "outputs": ["result:*.csv", "log"], "json_outputs": [("cell-count", "integer"), "label"],
                   "settings": ["db-host"], "secrets": ["db-pass"], "title": "Everything at once",
                   "description": "A job with every kind of interface member."},
    "only-json-in-and-out": {"json_inputs": [("threshold", "number")], "json_outputs": ["above:integer"]},
}

EXAMPLE_VALUES = {"string": "hello world", "integer": 42, "number": 2.5, "boolean": True,
                  "object": {"a": [1, 2]}, "array": ["x", 1]}


def _run_script_like_an_executor(folder: Path, tmp: Path) -> tuple[subprocess.CompletedProcess[str], Path]:
    """Run the entry script on the host with the variables `seed run` would inject (host paths here)."""
    manifest = load_manifest(folder)
    face = manifest.job.interface
    env = {"PATH": os.environ["PATH"], "OUTPUT_DIR": str(tmp / "out"), "ALLOCATED_CPUS": "1.000000",
           "ALLOCATED_MEM": "64", "ALLOCATED_DISK": "64.000000"}
    (tmp / "out").mkdir()
    for number, spec in enumerate(face.file_inputs):
        path = tmp / f"input {number}.txt"  # a space: the script must quote
        path.write_text("line\n" * (number + 1))
        env[spec.variable] = str(path)
    for spec in face.json_inputs:
        env[spec.variable] = encode_json_input(EXAMPLE_VALUES[spec.type], spec.type)
    for setting in face.settings:
        env[setting.variable] = "the-secret-value" if setting.secret else "a value"
    script = folder / ("run.py" if (folder / "run.py").exists() else "run.sh")
    interpreter = [sys.executable] if script.suffix == ".py" else ["/bin/sh"]
    proc = subprocess.run([*interpreter, str(script)], env=env, capture_output=True, text=True, timeout=60)
    return proc, tmp / "out"


@pytest.mark.parametrize("language", ["shell", "python"])
@pytest.mark.parametrize("variant", VARIANTS)
def test_every_scaffold_is_strictly_valid_and_its_script_keeps_the_manifests_promises(
        tmp_path: Path, language: str, variant: str) -> None:
    folder = tmp_path / "job"
    written = init_job(folder, name=f"{variant}-job", language=language, **VARIANTS[variant])
    script = "run.py" if language == "python" else "run.sh"
    manifest_inputs = load_manifest(folder).job.interface.file_inputs
    case_inputs = [f"tests/example/{f.name.lower().replace('_', '-')}.txt" for f in manifest_inputs]
    assert sorted(str(p.relative_to(folder)) for p in written) == sorted(
        ["seed.manifest.json", "Dockerfile", script, "README.md", ".dockerignore", "tests/example/case.json",
         *case_inputs])
    result = validate(folder)
    assert result.findings == (), [f.message for f in result.findings]
    assert result.is_valid(strict=True)
    document = json.loads((folder / "seed.manifest.json").read_text())
    job = document["job"]
    assert document["seedVersion"] == "1.0.0" and job["name"] == f"{variant}-job"
    assert {s["name"] for s in job["resources"]["scalar"]} == {"cpus", "mem", "disk"}
    assert len(job["errors"]) >= 2
    command = job["interface"]["command"]
    manifest = result.manifest
    for spec in (*manifest.job.interface.file_inputs, *manifest.job.interface.json_inputs):
        assert "${" + spec.variable + "}" in command  # the command passes every input
    assert all(o.pattern for o in manifest.job.interface.file_outputs)

    dockerfile = (folder / "Dockerfile").read_text()
    # A public base (issue 17.1: a local-only default broke the README's CI recipe on a CI runner).
    assert f"ARG BASE_IMAGE={PUBLIC_BASES[language]}\n" in dockerfile and "FROM ${BASE_IMAGE}" in dockerfile
    assert PUBLIC_BASES[language] in ("busybox:stable", "python:3.12-slim")
    assert f"--build-arg BASE_IMAGE={LOCAL_BASES[language]}" in dockerfile  # what a machine that cannot pull gives
    entrypoint = next(line for line in dockerfile.splitlines() if line.startswith("ENTRYPOINT"))
    assert json.loads(entrypoint.removeprefix("ENTRYPOINT ")) == (  # exec form
        ["python3", "/app/run.py"] if language == "python" else ["/bin/sh", "/app/run.sh"])
    readme = (folder / "README.md").read_text()
    assert "seed build" in readme and "seed validate" in readme and f"seed run {manifest.image_name}" in readme
    if language == "python":
        compile((folder / script).read_text(), script, "exec")
        assert "import" in (folder / script).read_text() and "requests" not in (folder / script).read_text()
    else:
        assert subprocess.run(["/bin/sh", "-n", str(folder / script)]).returncode == 0
        assert os.access(folder / script, os.X_OK)

    proc, out = _run_script_like_an_executor(folder, tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "the-secret-value" not in proc.stdout + proc.stderr
    harvested = harvest(manifest, out)
    assert harvested.failures == (), harvested.failures
    for output in manifest.job.interface.file_outputs:
        assert harvested.files[output.name], output.name
        for captured in harvested.files[output.name]:
            assert "the-secret-value" not in (out / captured.path).read_text()
    for output in manifest.job.interface.json_outputs:
        assert json_type_problem(harvested.json[output.name], output.type) is None
    assert _scaffolded_case_mismatches(folder, tmp_path / "case") == []


def _scaffolded_case_mismatches(folder: Path, tmp: Path) -> list[Any]:
    """Run the entry script with the request of tests/example/case.json (as an executor would) and compare the
    outcome with the case's expectations: `seed test` would pass it."""
    from seed_runner.testing.cases import load_case
    from seed_runner.testing.expectations import compare

    case = load_case(folder / "tests" / "example" / "case.json")
    manifest = load_manifest(folder)
    types = {spec.name: spec.type for spec in manifest.job.interface.json_inputs}
    out, logs = tmp / "outputs", tmp / "logs"
    out.mkdir(parents=True)
    logs.mkdir()
    env = {"PATH": os.environ["PATH"], "OUTPUT_DIR": str(out)}
    env.update({name: str(case.path(paths[0])) for name, paths in case.request.inputs.items()})
    env.update({name: encode_json_input(value, types[name]) for name, value in case.request.json.items()})
    env.update(case.request.settings)
    script = folder / ("run.py" if (folder / "run.py").exists() else "run.sh")
    interpreter = [sys.executable] if script.suffix == ".py" else ["/bin/sh"]
    proc = subprocess.run([*interpreter, str(script)], env=env, capture_output=True, timeout=60)
    (logs / "stdout.log").write_bytes(proc.stdout)
    (logs / "stderr.log").write_bytes(proc.stderr)
    harvested = harvest(manifest, out).to_dict()
    document = {"status": "succeeded" if proc.returncode == 0 else "failed", "exit_code": proc.returncode,
                "error": None, "timings": {"duration_seconds": 0.1}, "run_dir": str(tmp), "outputs_dir": str(out),
                "outputs": harvested["outputs"], "json_outputs": harvested["json_outputs"]}
    return [m.line() for m in compare(case.expect, document)]


def test_defaults_give_one_file_input_and_one_report_output(tmp_path: Path) -> None:
    init_job(tmp_path / "My_Cool Job")
    manifest = load_manifest(tmp_path / "My_Cool Job")
    face = manifest.job.interface
    assert manifest.job.name == "my-cool-job"  # the folder's name, made valid
    assert manifest.job.title == "My Cool Job"
    assert [f.name for f in face.file_inputs] == ["INPUT_FILE"]
    assert [(o.name, o.pattern) for o in face.file_outputs] == [("REPORT", "report.txt")]
    assert face.command == '"${INPUT_FILE}" "${OUTPUT_DIR}"'
    assert manifest.image_name == "my-cool-job-0.1.0-seed:0.1.0"


def test_names_are_normalized_to_their_variable_form(tmp_path: Path) -> None:
    init_job(tmp_path / "j", name="Mixed-Case", inputs=["input-file"], json_inputs=["my-config:object"],
             outputs=["out-file:*.txt"], settings=["db-host"], secrets=["Db-Pass"], json_outputs=["cell-count"])
    face = load_manifest(tmp_path / "j").job.interface
    assert load_manifest(tmp_path / "j").job.name == "mixed-case"  # Docker names are lower-case
    assert [f.name for f in face.file_inputs] == ["INPUT_FILE"]
    assert [j.name for j in face.json_inputs] == ["MY_CONFIG"]
    assert [o.name for o in face.file_outputs] == ["OUT_FILE"]
    assert [(s.name, s.secret) for s in face.settings] == [("DB_HOST", False), ("DB_PASS", True)]
    assert [(j.name, j.type) for j in face.json_outputs] == [("CELL_COUNT", "string")]


def test_a_pattern_matching_several_of_the_jobs_files_is_multiple(tmp_path: Path) -> None:
    init_job(tmp_path / "j", outputs=["a:*.txt", "b:b.txt"])
    outputs = {o.name: o for o in load_manifest(tmp_path / "j").job.interface.file_outputs}
    assert outputs["A"].multiple and not outputs["B"].multiple


def test_base_image_maintainer_and_versions(tmp_path: Path) -> None:
    init_job(tmp_path / "j", language="python", base_image="python:3.12-slim", maintainer_name="Jane Doe",
             maintainer_email="jane@example.com", job_version="2.0.0", package_version="1.0.1")
    job = load_manifest(tmp_path / "j").job
    assert (job.maintainer.name, job.maintainer.email) == ("Jane Doe", "jane@example.com")
    assert (job.job_version, job.package_version) == ("2.0.0", "1.0.1")
    assert "ARG BASE_IMAGE=python:3.12-slim" in (tmp_path / "j" / "Dockerfile").read_text()


def test_a_folder_that_is_not_empty_is_refused_without_force(tmp_path: Path) -> None:
    folder = tmp_path / "j"
    folder.mkdir()
    (folder / "notes.txt").write_text("mine")
    with pytest.raises(ScaffoldError, match=r"is not empty \(notes.txt\).*--force"):
        init_job(folder)
    assert sorted(p.name for p in folder.iterdir()) == ["notes.txt"]
    init_job(folder, force=True)
    assert (folder / "notes.txt").read_text() == "mine" and (folder / "seed.manifest.json").exists()
    (folder / "run.sh").write_text("changed")
    init_job(folder, force=True)  # the scaffold's own files are overwritten
    assert (folder / "run.sh").read_text().startswith("#!/bin/sh")


def test_force_never_writes_through_a_symbolic_link(tmp_path: Path) -> None:
    folder = tmp_path / "j"
    folder.mkdir()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    precious = elsewhere / "precious.txt"
    precious.write_text("keep me")
    precious.chmod(0o600)
    script_target = elsewhere / "script.txt"
    script_target.write_text("mine too")
    script_target.chmod(0o600)
    (folder / "README.md").symlink_to(precious)
    (folder / "run.sh").symlink_to(script_target)
    (folder / "Dockerfile").symlink_to(elsewhere / "missing")  # a dangling link creates nothing elsewhere
    init_job(folder, force=True)
    assert precious.read_text() == "keep me" and (precious.stat().st_mode & 0o777) == 0o600
    assert script_target.read_text() == "mine too" and (script_target.stat().st_mode & 0o777) == 0o600
    assert not (elsewhere / "missing").exists()
    for name, mode in (("README.md", 0o644), ("run.sh", 0o755), ("Dockerfile", 0o644)):
        path = folder / name
        assert not path.is_symlink() and path.is_file() and (path.stat().st_mode & 0o777) == mode
    assert (folder / "run.sh").read_text().startswith("#!/bin/sh")


def test_force_never_writes_the_case_through_a_linked_tests_folder(tmp_path: Path) -> None:
    folder, elsewhere = tmp_path / "j", tmp_path / "elsewhere"
    folder.mkdir()
    elsewhere.mkdir()
    (folder / "tests").symlink_to(elsewhere)
    with pytest.raises(ScaffoldError, match="tests is a symbolic link"):
        init_job(folder, force=True)
    assert list(elsewhere.iterdir()) == [] and sorted(p.name for p in folder.iterdir()) == ["tests"]


@pytest.mark.parametrize("base_image", ["busybox\nRUN echo pwned", "Foo Bar", "", "busybox@latest",
                                        "busybox:1 --platform=x"])
def test_a_base_image_that_is_not_an_image_name_is_refused(tmp_path: Path, base_image: str) -> None:
    with pytest.raises(ScaffoldError, match=r"base image .* is not an image name") as caught:
        init_job(tmp_path / "j", base_image=base_image)
    assert "\n" not in str(caught.value)
    assert not (tmp_path / "j").exists()


def test_a_base_image_with_a_digest_is_accepted(tmp_path: Path) -> None:
    base = "registry.example:5000/org/base:1@sha256:" + "a" * 64
    init_job(tmp_path / "j", base_image=base)
    assert f"ARG BASE_IMAGE={base}\n" in (tmp_path / "j" / "Dockerfile").read_text()


def test_cli_refuses_a_base_image_on_one_line(tmp_path: Path) -> None:
    proc = seed("init", str(tmp_path / "j"), "--base-image", "busybox\nRUN echo pwned")
    assert proc.returncode == 2, proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and "base image" in proc.stderr
    assert not (tmp_path / "j" / "Dockerfile").exists()


@pytest.mark.parametrize("options, message", [
    ({"name": "bad_name"}, r"job name 'bad_name' is not valid.*try 'bad-name'"),
    ({"name": "has space"}, r"job name 'has space' is not valid"),
    ({"name": "-leading"}, r"starts with '-'"),
    ({"inputs": ["a.b"]}, r"input name 'a.b' is not valid.*try 'A_B'"),
    ({"inputs": ["1st"]}, r"does not start with a letter"),
    ({"inputs": ["output-dir"]}, r"becomes OUTPUT_DIR, a variable the runner injects"),
    ({"settings": ["allocated-mem"]}, r"becomes ALLOCATED_MEM"),
    ({"settings": ["input_metadata"]}, r"becomes INPUT_METADATA"),
    ({"inputs": ["path"]}, r"would replace the container's PATH"),
    ({"inputs": ["input-file"], "settings": ["INPUT_FILE"]}, r"both become the variable INPUT_FILE"),
    ({"settings": ["x"], "secrets": ["X"]}, r"both become the variable X"),
    ({"outputs": ["out", "OUT:*.csv"]}, r"are the same output OUT"),
    ({"outputs": ["out"], "json_outputs": ["out:integer"]}, r"are the same output OUT"),
    ({"json_inputs": ["n:int"]}, r"type 'int' is not a JSON type.*did you mean 'integer'"),
    ({"json_outputs": [":integer"]}, r"has no name"),
    ({"outputs": ["o:/abs/*.txt"]}, r"is absolute"),
    ({"outputs": ["o:../up.txt"]}, r"climbs out"),
    ({"outputs": ["o:**/*.txt"]}, r"not recursive"),
    ({"outputs": ["o:seed.outputs.json"]}, r"not outputs"),
    ({"outputs": ["o:[]"]}, r"cannot make a file name"),
    ({"job_version": "1.0"}, r"would not pass .*jobVersion"),
    ({"package_version": "1.0.0+build"}, r"would not pass .*build metadata"),
    ({"language": "perl"}, r"language 'perl'"),
])
def test_invalid_requests_are_refused_and_nothing_is_written(tmp_path: Path, options: dict[str, Any],
                                                            message: str) -> None:
    with pytest.raises(ScaffoldError, match=message) as caught:
        init_job(tmp_path / "j", **options)
    assert "\n" not in str(caught.value) and caught.value.exit_status == 2
    assert not (tmp_path / "j").exists()


def test_job_name_from_any_text() -> None:
    assert job_name_from("My_Cool Job.v2") == "my-cool-job-v2"
    assert job_name_from("__") == "seed-job"
    assert job_name_from("Ünïcode") == "n-code"


# -- the command line ----------------------------------------------------------------------------------


def seed(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([SEED, *args], capture_output=True, text=True, timeout=60, cwd=cwd)


def test_cli_init_then_strict_validation(tmp_path: Path) -> None:
    proc = seed("init", str(tmp_path / "job"), "--name", "cli-job", "-i", "input-file", "-j", "config:object",
                "-o", "result:*.csv", "--json-output", "count:integer", "-e", "db-host", "--secret", "db-pass",
                "-l", "python", "--title", "CLI job")
    assert proc.returncode == 0, proc.stderr
    assert "created the job cli-job" in proc.stdout and "seed build" in proc.stdout
    assert (tmp_path / "job" / "run.py").exists()
    check = seed("validate", "--strict", str(tmp_path / "job"))
    assert check.returncode == 0, check.stdout
    assert "0 errors, 0 warnings" in check.stdout


def test_cli_init_in_the_current_folder_takes_its_name(tmp_path: Path) -> None:
    folder = tmp_path / "Folder_Name"
    folder.mkdir()
    proc = seed("init", cwd=folder)
    assert proc.returncode == 0, proc.stderr
    assert load_manifest(folder).job.name == "folder-name"


@pytest.mark.parametrize("args, message", [
    (["--name", "Bad_Name"], "job name 'Bad_Name' is not valid"),
    (["-i", "white space"], "input name 'white space' is not valid"),
    (["-j", "x:float"], "type 'float' is not a JSON type"),
    (["--language", "perl"], "perl"),
])
def test_cli_refusals_are_one_line_with_exit_status_2(tmp_path: Path, args: list[str], message: str) -> None:
    proc = seed("init", str(tmp_path / "job"), *args)
    assert proc.returncode == 2
    assert message in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "job").exists()


def test_cli_refuses_a_folder_that_is_not_empty(tmp_path: Path) -> None:
    (tmp_path / "job").mkdir()
    (tmp_path / "job" / "keep.txt").write_text("x")
    proc = seed("init", str(tmp_path / "job"))
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and "is not empty" in proc.stderr and "--force" in proc.stderr
    assert seed("init", str(tmp_path / "job"), "--force").returncode == 0


def test_cli_refuses_a_file_as_the_folder(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    proc = seed("init", str(tmp_path / "file"))
    assert proc.returncode == 2 and "is a file" in proc.stderr


def test_scaffold_files_are_readable_by_anyone(tmp_path: Path) -> None:
    """`seed run` runs the job as the invoking user: the COPY'd script must not be private to its owner."""
    old = os.umask(0o077)
    try:
        init_job(tmp_path / "j")
    finally:
        os.umask(old)
    assert (tmp_path / "j" / "run.sh").stat().st_mode & 0o777 == 0o755
    assert (tmp_path / "j" / "seed.manifest.json").stat().st_mode & 0o777 == 0o644
    shutil.rmtree(tmp_path / "j")
