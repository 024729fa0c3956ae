"""`seed run` from the outside: refused requests, missing images, option errors, the --json document."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import check_result

pytestmark = pytest.mark.engine

SEED = str(Path(sys.executable).with_name("seed"))
WATERMARK = "image-watermark-0.1.0-seed:0.1.0"
REPO = Path(__file__).resolve().parents[1]
PNG = REPO / "sample_jobs/watermark/example/input.png"


def seed(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([SEED, *args], capture_output=True, text=True, timeout=120)


def test_a_missing_image_is_a_system_error_with_a_result(tmp_path: Path) -> None:
    proc = seed("run", "no-such-job-1.0.0-seed:1.0.0", "-o", str(tmp_path / "run"), "--json")
    assert proc.returncode == 4
    assert "is not on the local engine" in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "run").exists()  # a typo leaves no run folder behind (issue 16)
    result = check_result(json.loads(proc.stdout))
    assert result["status"] == "error" and result["error"]["name"] == "image-not-found"
    assert result["error"]["category"] == "system"


def test_a_request_that_does_not_fit_is_refused_with_every_problem(tmp_path: Path) -> None:
    proc = seed("run", WATERMARK, "-i", f"NOPE={PNG}", "-e", "X=1", "-o", str(tmp_path / "run"), "--json")
    assert proc.returncode == 2
    document = check_result(json.loads(proc.stdout))
    assert document["status"] == "rejected" and document["error"]["name"] == "invalid-request"
    # Issue 17.3: a refusal is the request's fault (category request), not the system's, which a scheduler retries.
    assert document["error"]["category"] == "request" and document["result_version"] == 3
    assert "(invalid-request, category request)" in proc.stderr
    assert {(p["severity"], p["code"], p["path"]) for p in document["problems"]} == {
        ("error", "unknown-input", "$.file_inputs.NOPE"), ("error", "unknown-setting", "$.settings.X"),
        ("error", "missing-input", "$.file_inputs.INPUT_IMAGE")}
    problems = [p["message"] for p in document["problems"]]
    assert any("-i NOPE" in p for p in problems) and any("-e X" in p for p in problems)
    assert any("input INPUT_IMAGE is required" in p for p in problems)
    assert all(p in proc.stderr for p in problems)  # the human summary lists them too
    assert proc.stderr.count("input INPUT_IMAGE is required") == 1  # each problem once
    assert not (tmp_path / "run").exists() and document["run_dir"] is None  # a refusal leaves no folder
    again = seed("run", WATERMARK, "-i", f"INPUT_IMAGE={PNG}", "-o", str(tmp_path / "run"), "--json")
    assert again.returncode == 0, again.stderr  # and -o DIR can be used again


def test_malformed_options_are_usage_errors(tmp_path: Path) -> None:
    for args in (["-i", "INPUT_IMAGE"], ["--resource", "mem=lots"], ["-j", "X=@/no/such/file.json"],
                 ["--manifest", str(tmp_path / "missing.json")], ["--secret", "X=/dev/zero"]):
        proc = seed("run", WATERMARK, *args, "-o", str(tmp_path / "never"))
        assert proc.returncode == 2, (args, proc.stderr)
        assert "Traceback" not in proc.stderr
    assert not (tmp_path / "never").exists()


def test_run_never_raises_for_a_folder_no_path_can_name() -> None:
    from seed_runner import RunRequest, run

    result = run(RunRequest(image=WATERMARK, run_dir="nul\0byte"))
    assert result.outcome.status == "rejected" and result.document["error"]["name"] == "run-folder-unavailable"
    assert "NUL" in result.document["message"]


def test_a_used_run_folder_is_refused(tmp_path: Path) -> None:
    used = tmp_path / "used"
    used.mkdir()
    (used / "keep.txt").write_text("mine")
    proc = seed("run", WATERMARK, "-i", f"INPUT_IMAGE={PNG}", "-o", str(used))
    assert proc.returncode == 2 and "is not empty" in proc.stderr
    assert "(run-folder-unavailable, category request)" in proc.stderr
    assert sorted(p.name for p in used.iterdir()) == ["keep.txt"]


def test_json_document_and_default_run_folder(tmp_path: Path) -> None:
    proc = subprocess.run([SEED, "run", WATERMARK, "-i", f"INPUT_IMAGE={PNG}", "--json"], capture_output=True,
                          text=True, timeout=120, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    document = check_result(json.loads(proc.stdout))
    run_dir = Path(document["run_dir"])
    assert run_dir.parent == tmp_path / "seed-runs" and run_dir.name.startswith("image-watermark-")
    assert (run_dir / "result.json").is_file() and (run_dir / "logs" / "stdout.log").is_file()
    assert document["job"] == {"name": "image-watermark", "jobVersion": "0.1.0", "packageVersion": "0.1.0",
                               "title": "Image Watermarker"}
    assert document["command"] == ["/seed/inputs/INPUT_IMAGE/input.png", "/seed/outputs"]
    assert "wrote /seed/outputs/input_watermark.png" in proc.stderr  # the job's stdout, on stderr under --json


def test_the_run_folders_suffix_is_the_run_id_that_seed_logs_takes(tmp_path: Path) -> None:
    """Issue 17.2: the folder ended in one id and the run had another, so `seed logs <what you see>` failed."""
    proc = subprocess.run([SEED, "run", WATERMARK, "-i", f"INPUT_IMAGE={PNG}", "--json"], capture_output=True,
                          text=True, timeout=120, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    document = json.loads(proc.stdout)
    suffix = Path(document["run_dir"]).name.rsplit("-", 1)[1]
    assert suffix == document["run_id"]
    logs = seed("logs", suffix)
    assert logs.returncode == 0, logs.stderr
    assert "wrote /seed/outputs/input_watermark.png" in logs.stdout


def test_the_library_default_run_folder_is_new_and_named_by_the_run_id(tmp_path: Path, monkeypatch) -> None:
    from seed_runner import RunRequest, run

    monkeypatch.chdir(tmp_path)
    request = RunRequest(image=WATERMARK, file_inputs={"INPUT_IMAGE": [PNG]})
    assert request.run_dir is None  # None: a new folder, said by the type, not by "."
    result = run(request)
    assert result.outcome.status == "succeeded"
    assert result.run_dir.parent == tmp_path / "seed-runs"
    assert result.run_dir.name.endswith("-" + result.document["run_id"]) and result.run_id == result.document["run_id"]
    (image,) = result.output_paths("OUTPUT_IMAGE")  # absolute: no join with outputs_dir by every caller
    assert image.is_absolute() and image.is_file() and image == result.run_dir / "outputs" / "input_watermark.png"
    given = run(RunRequest(image=WATERMARK, file_inputs={"INPUT_IMAGE": [PNG]}, run_id="../escape"))
    assert given.run_dir.parent == tmp_path / "seed-runs"  # an id no folder name can hold gets a random suffix


def test_pull_fetches_a_missing_image_from_a_registry(tmp_path: Path, registry, docker_client) -> None:
    """`seed run --pull` (the runner's own Engine API client) against a real registry; never without --pull."""
    published = seed("publish", WATERMARK, "--registry", registry.host, "--org", "pulltest", "--force")
    assert published.returncode == 0, published.stderr
    remote = f"{registry.host}/pulltest/{WATERMARK}"
    docker_client.images.remove(remote, force=True) if docker_client.images.list(remote) else None
    without = seed("run", remote, "-i", f"INPUT_IMAGE={PNG}", "-o", str(tmp_path / "no-pull"))
    assert without.returncode == 4 and "--pull" in without.stderr  # never pulled implicitly
    pulled = seed("run", remote, "--pull", "-i", f"INPUT_IMAGE={PNG}", "-o", str(tmp_path / "pulled"), "--json")
    assert pulled.returncode == 0, pulled.stderr
    assert check_result(json.loads(pulled.stdout))["status"] == "succeeded"
    docker_client.images.remove(remote, force=True)
