"""`seed run` on the real engine: the runtime contract as a job sees it, and how runs end."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from seed_runner import load_manifest
from seed_runner.runtime.plan import RunRequest
from seed_runner.runtime.runner import run

from .conftest import check_result

pytestmark = pytest.mark.engine

SEED = str(Path(sys.executable).with_name("seed"))


def manifest(command: str, **job: Any) -> Any:
    """A busybox job whose command is `sh -c SCRIPT` (the container's shell, not ours, runs SCRIPT)."""
    doc = {
        "seedVersion": "1.0.0",
        "job": {
            "name": "engine-test", "jobVersion": "1.0.0", "packageVersion": "1.0.0", "title": "t",
            "description": "d", "maintainer": {"name": "n", "email": "e"}, "timeout": 30,
            "interface": {"command": command},
            **job,
        },
    }
    return load_manifest(doc)


def go(busybox_image: str, tmp_path: Path, m: Any, **request: Any):
    request.setdefault("run_dir", tmp_path / "run")
    result = run(RunRequest(image=busybox_image, **request), manifest=m)
    check_result(result.document)
    assert json.loads((Path(result.run_dir) / "result.json").read_text()) == result.document
    return result


def read(result, name: str = "stdout") -> bytes:
    return (Path(result.run_dir) / "logs" / f"{name}.log").read_bytes()


def test_the_environment_as_the_job_sees_it(busybox_image: str, tmp_path: Path) -> None:
    data = tmp_path / "in.txt"
    data.write_text("hello")
    m = manifest("env", interface={
        "command": "env",
        "inputs": {"files": [{"name": "INPUT_FILE"}, {"name": "OPTIONAL_FILE", "required": False}],
                   "json": [{"name": "CONFIG", "type": "object"}, {"name": "WORDS", "type": "string"},
                            {"name": "MAYBE", "type": "integer", "required": False}]},
        "settings": [{"name": "DB_HOST"}]},
        resources={"scalar": [{"name": "cpus", "value": 0.5}, {"name": "mem", "value": 32},
                              {"name": "disk", "value": 1, "inputMultiplier": 1048576}]})
    result = go(busybox_image, tmp_path, m, file_inputs={"INPUT_FILE": [data]},
                json_inputs={"CONFIG": {"a": [1, "x"]}, "WORDS": "two words"}, settings={"DB_HOST": "db"})
    assert result.outcome.status == "succeeded", result.document
    env = dict(line.split("=", 1) for line in read(result).decode().splitlines() if "=" in line)
    expected = {"OUTPUT_DIR": "/seed/outputs", "INPUT_METADATA": "/seed/input-metadata.json",
                "INPUT_FILE": "/seed/inputs/INPUT_FILE/in.txt", "CONFIG": '{"a":[1,"x"]}', "WORDS": "two words",
                "DB_HOST": "db", "ALLOCATED_CPUS": "0.500000", "ALLOCATED_MEM": "32",
                "ALLOCATED_DISK": f"{1 + 5:.6f}"}
    assert {k: env.get(k) for k in expected} == expected
    assert "OPTIONAL_FILE" not in env and "MAYBE" not in env


def test_inputs_are_read_only_mounts_keep_their_modes_outputs_are_the_invokers(
        busybox_image: str, tmp_path: Path) -> None:
    data = tmp_path / "in.txt"
    data.write_text("hello")
    ro, rw = tmp_path / "ro", tmp_path / "rw"
    ro.mkdir()
    rw.mkdir()
    script = ("cat $INPUT_FILE; "
              "echo x >> $INPUT_FILE && echo INPUT-WRITABLE; "
              "touch /seed/inputs/INPUT_FILE/new && echo INPUT-FOLDER-WRITABLE; "
              "mkdir /seed/inputs/INPUT_FILE/sub && echo INPUT-FOLDER-WRITABLE; "
              "rm -f $INPUT_FILE; test -f $INPUT_FILE || echo INPUT-REMOVABLE; "
              "touch /seed/inputs/new && echo INPUTS-ROOT-WRITABLE; "
              "touch /ro/x && echo RO-WRITABLE; "
              "touch /rw/x && echo RW-OK; "
              "echo x > $INPUT_METADATA && echo METADATA-WRITABLE; "
              "echo out > $OUTPUT_DIR/out.txt && echo OUT-OK")
    m = manifest("", interface={"command": f"sh -c '{script}'", "inputs": {"files": [{"name": "INPUT_FILE"}]},
                                "mounts": [{"name": "RO", "path": "/ro"}, {"name": "RW", "path": "/rw", "mode": "rw"}]})
    result = go(busybox_image, tmp_path, m, file_inputs={"INPUT_FILE": [data]}, mounts={"RO": ro, "RW": rw})
    out = read(result).decode()
    assert "hello" in out and "RW-OK" in out and "OUT-OK" in out
    assert "INPUT-WRITABLE" not in out and "RO-WRITABLE" not in out and "METADATA-WRITABLE" not in out
    # The input's folder is read-only too (not only the file), so the job cannot add files beside it.
    assert "INPUT-FOLDER-WRITABLE" not in out and "INPUT-REMOVABLE" not in out
    assert "INPUTS-ROOT-WRITABLE" not in out
    assert data.read_text() == "hello"
    produced = Path(result.run_dir) / "outputs" / "out.txt"
    assert (produced.stat().st_uid, produced.stat().st_gid) == (os.getuid(), os.getgid())


def test_a_non_root_user_can_write_its_outputs(busybox_image: str, tmp_path: Path) -> None:
    m = manifest("", interface={"command": "sh -c 'id -u; echo x > $OUTPUT_DIR/out.txt && echo OUT-OK'"})
    result = go(busybox_image, tmp_path, m, user="4321:4321")
    assert read(result).decode().split() == ["4321", "OUT-OK"]


def test_a_multiple_input_is_one_flat_directory(busybox_image: str, tmp_path: Path) -> None:
    a, b = tmp_path / "one", tmp_path / "two"
    a.mkdir()
    b.mkdir()
    (a / "x.csv").write_text("1")
    (b / "y.csv").write_text("2")
    m = manifest("", interface={"command": "sh -c 'ls -A $FILES; cat $INPUT_METADATA'",
                                "inputs": {"files": [{"name": "FILES", "multiple": True}]}})
    result = go(busybox_image, tmp_path, m, file_inputs={"FILES": [a / "x.csv", b / "y.csv"]})
    out = read(result).decode()
    assert out.startswith("x.csv\ny.csv\n")
    metadata = json.loads(out.split("\n", 2)[2])
    assert [f["path"] for f in metadata["JOB"]["FILES"]] == ["/seed/inputs/FILES/x.csv", "/seed/inputs/FILES/y.csv"]


def test_declared_and_undeclared_exit_codes(busybox_image: str, tmp_path: Path) -> None:
    errors = [{"code": 3, "name": "bad-data", "title": "Bad Data", "description": "The data is bad.",
               "category": "data"}]
    declared = go(busybox_image, tmp_path, manifest("", interface={"command": "sh -c 'exit 3'"}, errors=errors))
    assert declared.outcome.status == "failed" and declared.exit_status == 1
    assert declared.document["error"] == {"name": "bad-data", "title": "Bad Data",
                                          "description": "The data is bad.", "category": "data"}
    undeclared = go(busybox_image, tmp_path / "2", manifest("", interface={"command": "sh -c 'exit 5'"},
                                                             errors=errors))
    assert undeclared.document["error"]["name"] == "algorithm-unknown"
    assert undeclared.document["error"]["category"] == "job" and undeclared.document["exit_code"] == 5


def test_a_job_past_its_timeout_is_stopped(busybox_image: str, tmp_path: Path) -> None:
    # `trap '' TERM`: the job ignores SIGTERM, so only SIGKILL after the grace period ends it.
    m = manifest("", interface={"command": "sh -c 'trap \"\" TERM; sleep 60'"}, timeout=1)
    start = time.monotonic()
    result = go(busybox_image, tmp_path, m, grace_period=1)
    elapsed = time.monotonic() - start
    assert result.outcome.status == "timed-out" and result.exit_status == 3
    assert result.document["error"]["name"] == "timeout" and result.document["timed_out"] is True
    assert elapsed < 30  # SIGKILL after the 1 s grace, not the job's 60 s sleep (slack for a loaded engine)


def test_a_job_over_its_memory_limit_is_out_of_memory(busybox_image: str, tmp_path: Path) -> None:
    hog = "x=$(head -c 100000000 /dev/zero | tr \"\\\\0\" a); echo ${#x}"
    m = manifest("", interface={"command": f"sh -c '{hog}'"},
                 resources={"scalar": [{"name": "mem", "value": 16}]})
    result = go(busybox_image, tmp_path, m)
    assert result.document["oom_killed"] is True, result.document
    assert result.document["error"]["name"] == "out-of-memory"


def test_non_utf8_output_is_kept_byte_for_byte(busybox_image: str, tmp_path: Path) -> None:
    m = manifest("", interface={"command": "sh -c 'printf \"\\377\\376ok\\n\"; printf \"\\200err\" >&2'"})
    result = go(busybox_image, tmp_path, m)
    assert read(result) == b"\xff\xfeok\n" and read(result, "stderr") == b"\x80err"


def test_secrets_never_appear_in_anything_the_runner_writes_or_prints(busybox_image: str, tmp_path: Path) -> None:
    secret = "s3cr3t-Value-42"
    doc_manifest = tmp_path / "seed.manifest.json"
    doc = {"seedVersion": "1.0.0", "job": {
        "name": "secret-test", "jobVersion": "1.0.0", "packageVersion": "1.0.0", "title": "t", "description": "d",
        "maintainer": {"name": "n", "email": "e"}, "timeout": 30,
        "interface": {"command": "sh -c 'echo pass=$DB_PASS; echo $DB_PASS >&2; echo arg=$0 $DB_PASS' ${DB_PASS}",
                      "settings": [{"name": "DB_PASS", "secret": True}]},
        "errors": [{"code": 9, "name": "x"}]}}
    doc_manifest.write_text(json.dumps(doc))
    env = {**os.environ, "DB_PASS": secret}
    proc = subprocess.run([SEED, "run", busybox_image, "--manifest", str(doc_manifest), "-e", "DB_PASS",
                           "-o", str(tmp_path / "run"), "--json"], capture_output=True, env=env, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert secret.encode() not in proc.stdout + proc.stderr
    assert b"pass=****" in proc.stderr  # the job's stdout, echoed to stderr under --json
    written = [p for p in (tmp_path / "run").rglob("*") if p.is_file()]
    assert len(written) >= 4
    for path in written:
        assert secret.encode() not in path.read_bytes(), path
    document = json.loads(proc.stdout)
    assert document["environment"]["DB_PASS"] == "****" and "****" in document["command"]


def write_manifest_file(tmp_path: Path, command: str, timeout: int = 300) -> Path:
    """A manifest file for `seed run --manifest` (the busybox base has no label)."""
    doc = tmp_path / "seed.manifest.json"
    doc.write_text(json.dumps({"seedVersion": "1.0.0", "job": {
        "name": "cli-job", "jobVersion": "1.0.0", "packageVersion": "1.0.0", "title": "t", "description": "d",
        "maintainer": {"name": "n", "email": "e"}, "timeout": timeout, "interface": {"command": command}}}))
    return doc


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_signal_mid_run_leaves_no_container(busybox_image: str, tmp_path: Path, docker_client: Any,
                                              signum: int) -> None:
    doc = write_manifest_file(tmp_path, "sh -c 'echo started; sleep 300'")
    proc = subprocess.Popen([SEED, "run", busybox_image, "--manifest", str(doc), "-o", str(tmp_path / "run")],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout.readline() == b"started\n"
    proc.send_signal(signum)
    proc.wait(timeout=30)
    assert proc.returncode == 130
    result = check_result(json.loads((tmp_path / "run" / "result.json").read_text()))
    assert result["status"] == "interrupted"
    leftovers = docker_client.containers.list(all=True, filters={"label": f"io.seed-runner.run-id={result['run_id']}"})
    assert leftovers == []


def test_leftovers_of_a_killed_runner_are_cleaned_up(busybox_image: str, docker_client: Any) -> None:
    from seed_runner.engine import reaper

    # A dead runner of this machine, pid namespace and user (tests/test_reaper.py has the other cases).
    container = docker_client.containers.create(busybox_image, ["sleep", "300"], labels={
        **reaper.here().labels(), "io.seed-runner.run-id": "orphan", "io.seed-runner.runner-pid": "999999999"})
    proc = subprocess.run([SEED, "cleanup"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0
    assert docker_client.containers.list(all=True, filters={"id": container.id}) == []


def test_200_mb_of_output_does_not_grow_the_runner(busybox_image: str, tmp_path: Path) -> None:
    doc = write_manifest_file(tmp_path, "sh -c 'head -c 200000000 /dev/zero'")
    probe = ("import resource, subprocess, sys; "
             "subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, check=True); "
             "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
    proc = subprocess.run([sys.executable, "-c", probe, SEED, "run", busybox_image, "--manifest", str(doc),
                           "-o", str(tmp_path / "run"), "--quiet"], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    peak_mib = int(proc.stdout) / 1024
    assert (tmp_path / "run/logs/stdout.log").stat().st_size == 200_000_000
    assert peak_mib < 100, f"runner peak RSS {peak_mib:.0f} MiB"
