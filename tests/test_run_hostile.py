"""`seed run` against hostile requests and jobs: secrets that split or hide in keys, names that are not UTF-8,
bad limits, signals, two runs racing for one folder (found by review; each must fail cleanly or be masked)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from .conftest import check_result

pytestmark = pytest.mark.engine

SEED = str(Path(sys.executable).with_name("seed"))


def manifest_file(tmp_path: Path, command: str, **interface: Any) -> Path:
    path = tmp_path / "seed.manifest.json"
    path.write_text(json.dumps({"seedVersion": "1.0.0", "job": {
        "name": "hostile", "jobVersion": "1.0.0", "packageVersion": "1.0.0", "title": "t", "description": "d",
        "maintainer": {"name": "n", "email": "e"}, "timeout": 60,
        "interface": {"command": command, **interface}}}))
    return path


def seed_run(busybox_image: str, doc: Path, *args: str, env: dict[str, str] | None = None,
             ) -> subprocess.CompletedProcess[bytes]:
    proc = subprocess.run([SEED, "run", busybox_image, "--manifest", str(doc), *args], capture_output=True,
                          timeout=120, env={**os.environ, **(env or {})})
    assert b"Traceback" not in proc.stderr and b"internal error" not in proc.stderr, proc.stderr
    return proc


SECRET_SETTING = {"settings": [{"name": "TOKEN", "secret": True}]}


def test_a_secret_split_into_words_is_masked_in_the_command(busybox_image: str, tmp_path: Path) -> None:
    doc = manifest_file(tmp_path, "echo ${TOKEN}", **SECRET_SETTING)
    proc = seed_run(busybox_image, doc, "-e", "TOKEN=hunter2 tiger", "-o", str(tmp_path / "run"), "--json")
    assert proc.returncode == 0, proc.stderr
    document = check_result(json.loads(proc.stdout))
    assert document["command"] == ["echo", "****"]
    for word in (b"hunter2", b"tiger"):
        assert word not in proc.stdout + proc.stderr + (tmp_path / "run/result.json").read_bytes()


def test_a_secret_in_a_json_output_key_is_masked(busybox_image: str, tmp_path: Path) -> None:
    script = """sh -c 'printf "{\\"OBJ\\": {\\"%s\\": 1}}" "$TOKEN" > $OUTPUT_DIR/seed.outputs.json'"""
    doc = manifest_file(tmp_path, script, outputs={"json": [{"name": "OBJ", "type": "object"}]}, **SECRET_SETTING)
    proc = seed_run(busybox_image, doc, "-e", "TOKEN=hunter2", "-o", str(tmp_path / "run"), "--json")
    assert proc.returncode == 0, proc.stderr
    document = check_result(json.loads(proc.stdout))
    assert document["json_outputs"] == {"OBJ": {"****": 1}}
    assert b"hunter2" not in proc.stdout + proc.stderr + (tmp_path / "run/result.json").read_bytes()


def test_a_short_secret_does_not_corrupt_paths_and_hashes(busybox_image: str, tmp_path: Path) -> None:
    doc = manifest_file(tmp_path, "sh -c 'echo data > $OUTPUT_DIR/a.txt'",
                        outputs={"files": [{"name": "OUT", "pattern": "*.txt", "mediaType": "text/plain"}]},
                        **SECRET_SETTING)
    proc = seed_run(busybox_image, doc, "-e", "TOKEN=a", "-o", str(tmp_path / "run"), "--json")
    (file,) = check_result(json.loads(proc.stdout))["outputs"]["OUT"]["files"]
    assert file["path"] == "a.txt" and file["media_type"] == "text/plain"
    import hashlib

    assert file["sha256"] == hashlib.sha256(b"data\n").hexdigest()


def test_names_that_are_not_utf8(busybox_image: str, tmp_path: Path) -> None:
    bad = Path(os.fsdecode(bytes(tmp_path) + b"/bad\xff.txt"))
    bad.write_text("x")
    doc = manifest_file(tmp_path, "cat ${INPUT_FILE}", inputs={"files": [{"name": "INPUT_FILE"}]})
    refused = seed_run(busybox_image, doc, "-i", f"INPUT_FILE={bad}", "-o", str(tmp_path / "refused"))
    assert refused.returncode == 2 and b"not valid UTF-8" in refused.stderr
    assert not (tmp_path / "refused").exists()  # refused before anything started: no folder left
    # A job may write such a name itself: it is not captured (a warning says why), and the result document
    # stays valid, strict JSON.
    writer = manifest_file(tmp_path, "sh -c 'echo x > \"$OUTPUT_DIR/$(printf \"odd\\377\").txt\"'",
                           outputs={"files": [{"name": "OUT", "pattern": "*.txt"}]})
    proc = seed_run(busybox_image, writer, "-o", str(tmp_path / "writer"))
    document = check_result(json.loads((tmp_path / "writer/result.json").read_bytes().decode("utf-8", "strict")))
    assert proc.returncode == 1 and document["error"]["name"] == "missing-required-output"
    assert any(w["code"] == "unreadable-output" and "not UTF-8" in w["message"] for w in document["warnings"])


@pytest.mark.parametrize("args", [["--timeout", "inf"], ["--timeout", "-5"], ["--grace", "-3"],
                                  ["--timeout", "nan"]])
def test_bad_limits_are_refused_before_anything_starts(busybox_image: str, tmp_path: Path, args: list[str]) -> None:
    proc = seed_run(busybox_image, manifest_file(tmp_path, "true"), *args, "-o", str(tmp_path / "run"))
    assert proc.returncode == 2, proc.stderr
    assert not (tmp_path / "run").exists()


def test_json_inputs_are_read_strictly(busybox_image: str, tmp_path: Path) -> None:
    doc = manifest_file(tmp_path, "true", inputs={"json": [{"name": "J", "type": "object"}]})
    nan = seed_run(busybox_image, doc, "-j", 'J={"a": NaN}', "-o", str(tmp_path / "nan"))
    assert nan.returncode == 2 and b"NaN" in nan.stderr
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100_000 + "]" * 100_000)
    refused = seed_run(busybox_image, doc, "-j", f"J=@{deep}", "-o", str(tmp_path / "deep"))
    assert refused.returncode == 2 and b"deeply" in refused.stderr
    latin = tmp_path / "latin.json"
    latin.write_bytes(b'{"caf\xe9": 1}')
    assert seed_run(busybox_image, doc, "-j", f"J=@{latin}", "-o", str(tmp_path / "latin")).returncode == 2


def test_subfolders_of_a_multiple_input_are_left_out_with_a_warning(busybox_image: str, tmp_path: Path) -> None:
    data = tmp_path / "data"
    (data / "sub").mkdir(parents=True)
    (data / "a.txt").write_text("a")
    (data / "sub" / "b.txt").write_text("b")
    doc = manifest_file(tmp_path, "ls ${FILES}", inputs={"files": [{"name": "FILES", "multiple": True}]})
    proc = seed_run(busybox_image, doc, "-i", f"FILES={data}", "-o", str(tmp_path / "run"), "--json")
    document = check_result(json.loads(proc.stdout))
    assert [w["code"] for w in document["warnings"]] == ["input-subfolders-skipped"]
    assert (tmp_path / "run/logs/stdout.log").read_text() == "a.txt\n"


def test_two_runs_never_share_a_folder(busybox_image: str, tmp_path: Path) -> None:
    doc = manifest_file(tmp_path, "sh -c 'sleep 1'")
    run_dir = tmp_path / "shared"
    procs = [subprocess.Popen([SEED, "run", busybox_image, "--manifest", str(doc), "-o", str(run_dir), "-q"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(2)]
    codes = sorted(p.wait(timeout=60) for p in procs)
    assert codes == [0, 2]


def test_a_file_as_run_folder(busybox_image: str, tmp_path: Path) -> None:
    afile = tmp_path / "afile"
    afile.write_text("mine")
    proc = seed_run(busybox_image, manifest_file(tmp_path, "true"), "-o", str(afile))
    assert proc.returncode == 2 and b"is a file" in proc.stderr and afile.read_text() == "mine"


def test_sighup_stops_the_job_and_writes_the_result(busybox_image: str, tmp_path: Path, docker_client: Any) -> None:
    doc = manifest_file(tmp_path, "sh -c 'echo started; sleep 300'")
    proc = subprocess.Popen([SEED, "run", busybox_image, "--manifest", str(doc), "-o", str(tmp_path / "run")],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout.readline() == b"started\n"
    proc.send_signal(signal.SIGHUP)
    assert proc.wait(timeout=30) == 130
    result = check_result(json.loads((tmp_path / "run/result.json").read_text()))
    assert result["status"] == "interrupted"
    assert docker_client.containers.list(all=True, filters={"label": f"io.seed-runner.run-id={result['run_id']}"}
                                         ) == []
