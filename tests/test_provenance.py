"""Provenance: every run that started leaves ``ro-crate-metadata.json`` (RO-Crate 1.1, Process Run Crate), read
back here with the ``rocrate`` library itself and checked against the run's result document, on the real engine.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from rocrate.rocrate import ROCrate

from seed_runner import load_manifest
from seed_runner.runtime import provenance
from seed_runner.runtime.plan import RunRequest
from seed_runner.runtime.runner import run

from .conftest import check_result

pytestmark = pytest.mark.engine

SEED = str(Path(sys.executable).with_name("seed"))
PYTHON_STATS = "python-stats-1.0.0-seed:1.0.0"
WATERMARK = "image-watermark-0.1.0-seed:0.1.0"
REPO = Path(__file__).resolve().parents[1]
SECRET = "pr0v-s3cret-value"


def seed(*args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([SEED, *args], capture_output=True, timeout=300)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def the_action(crate: ROCrate) -> Any:
    actions = [e for e in crate.get_entities() if e.type == "CreateAction"]
    assert len(actions) == 1
    return actions[0]


def ids(value: Any) -> list[str]:
    return [e.id for e in (value if isinstance(value, list) else [value] if value is not None else [])]


def check_crate(run_dir: Path, document: dict[str, Any], image_id: str, inputs: list[Path]) -> ROCrate:
    """The crate read back with rocrate says what the result document says."""
    crate = ROCrate(run_dir)
    assert crate.metadata["conformsTo"] == "https://w3id.org/ro/crate/1.1"  # rocrate gives a lone @id as a string
    assert provenance.PROCESS_RUN_CRATE in ids(crate.root_dataset["conformsTo"])
    action = the_action(crate)
    assert action.id in ids(crate.root_dataset["mentions"])
    timings = document["timings"]
    assert (action["startTime"], action["endTime"]) == (timings["started"], timings["finished"])
    expected = "CompletedActionStatus" if document["status"] == "succeeded" else "FailedActionStatus"
    assert action["actionStatus"] == expected
    instrument = action["instrument"]
    assert instrument.type == "SoftwareApplication"
    assert instrument["name"] == document["image"]["reference"] and instrument["identifier"] == image_id
    objects = ids(action["object"])
    for path in inputs:
        entity = crate.dereference(f"file://{quote(str(path.absolute()))}")
        assert entity is not None and entity.id in objects, path
        assert entity["sha256"] == sha256(path) and entity["contentSize"] == path.stat().st_size
    results = ids(action["result"])
    for output in (document["outputs"] or {}).values():
        for file in output["files"]:
            entity = crate.dereference(f"outputs/{file['path']}")
            assert entity is not None and entity.type == "File" and entity.id in results
            assert (entity["sha256"], entity["encodingFormat"], entity["contentSize"]) == (
                file["sha256"], file["media_type"], file["size"])
            assert entity["sha256"] == sha256(run_dir / "outputs" / file["path"])
    for name, value in (document["json_outputs"] or {}).items():
        entity = crate.dereference(f"#output-{name}")
        assert entity.type == "PropertyValue" and entity["value"] == value and entity.id in results
    result_file = crate.dereference("result.json")
    assert result_file is not None and result_file.id in results and result_file["about"].id == action.id
    assert json.loads((run_dir / "result.json").read_text()) == document
    return crate


def test_a_python_stats_run_has_its_crate(tmp_path: Path, docker_client: Any) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "a.csv").write_text("1\n2\n3\n")
    (data / "b.txt").write_text("10\n20\n")
    proc = seed("run", PYTHON_STATS, "-i", f"DATA_FILES={data}", "-j", 'CONFIG={"label": "demo"}',
                "-j", "THRESHOLD=2.5", "-o", str(tmp_path / "run"), "--json")
    assert proc.returncode == 0, proc.stderr.decode()
    document = check_result(json.loads(proc.stdout))
    assert document["warnings"] == []
    crate = check_crate(tmp_path / "run", document, docker_client.images.get(PYTHON_STATS).id,
                        [data / "a.csv", data / "b.txt"])
    objects = ids(the_action(crate)["object"])
    config, threshold = crate.dereference("#input-CONFIG"), crate.dereference("#input-THRESHOLD")
    assert config.type == threshold.type == "PropertyValue"
    assert json.loads(config["value"]) == {"label": "demo"} and threshold["value"] == 2.5
    assert {config.id, threshold.id} <= set(objects)


def test_a_watermark_run_has_its_crate(tmp_path: Path, docker_client: Any) -> None:
    image = REPO / "sample_jobs/watermark/example/input.png"
    proc = seed("run", WATERMARK, "-i", f"INPUT_IMAGE={image}", "-o", str(tmp_path / "run"), "--json")
    assert proc.returncode == 0, proc.stderr.decode()
    document = check_result(json.loads(proc.stdout))
    crate = check_crate(tmp_path / "run", document, docker_client.images.get(WATERMARK).id, [image])
    assert crate.dereference(f"file://{quote(str(image))}")["encodingFormat"] == "image/png"
    assert crate.dereference("outputs/input_watermark.png")["encodingFormat"] == "image/png"


def test_a_failed_run_has_a_crate_with_a_failed_status(tmp_path: Path, docker_client: Any) -> None:
    empty = tmp_path / "data"
    empty.mkdir()
    (empty / "nothing.txt").write_text("no numbers here\n")
    proc = seed("run", PYTHON_STATS, "-i", f"DATA_FILES={empty}", "-j", "CONFIG={}", "-o", str(tmp_path / "run"),
                "--json")
    document = check_result(json.loads(proc.stdout))
    assert proc.returncode == 1 and document["status"] == "failed"
    crate = check_crate(tmp_path / "run", document, docker_client.images.get(PYTHON_STATS).id,
                        [empty / "nothing.txt"])
    action = the_action(crate)
    assert action["actionStatus"] == "FailedActionStatus" and action["error"] == document["message"]


def test_the_runner_process_never_imports_rocrate(tmp_path: Path) -> None:
    """rocrate (requests, ssl) is imported by the writer child only: `seed run` itself stays lean."""
    probe = ("import atexit, sys\n"
             "atexit.register(lambda: print('IMPORTED', [m for m in ('rocrate', 'requests', 'ssl', 'jinja2') "
             "if m in sys.modules], file=sys.stderr))\n"
             "from seed_runner.cli.app import main\n"
             f"sys.argv = ['seed', 'run', {WATERMARK!r}, '-i', 'INPUT_IMAGE={REPO}/sample_jobs/watermark/example/"
             f"input.png', '-o', {str(tmp_path / 'run')!r}, '-q']\n"
             "main()\n")
    proc = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "IMPORTED []" in proc.stderr, proc.stderr
    assert (tmp_path / "run" / provenance.CRATE_FILE).is_file()


def test_a_refused_run_has_no_folder_and_no_crate(tmp_path: Path) -> None:
    proc = seed("run", PYTHON_STATS, "-o", str(tmp_path / "run"), "--json")  # DATA_FILES is required
    assert proc.returncode == 2 and json.loads(proc.stdout)["status"] == "rejected"
    assert not (tmp_path / "run").exists()


SECRET_MANIFEST = {"seedVersion": "1.0.0", "job": {
    "name": "secret-crate", "jobVersion": "1.0.0", "packageVersion": "1.0.0", "title": "t", "description": "d",
    "maintainer": {"name": "n", "email": "e"}, "timeout": 60,
    "interface": {"command": "sh -c 'echo $TOKEN $MODE > $OUTPUT_DIR/out.txt'",
                  "inputs": {"json": [{"name": "NOTE", "type": "string"}]},
                  "outputs": {"files": [{"name": "OUT", "pattern": "out.txt"}]},
                  "settings": [{"name": "TOKEN", "secret": True}, {"name": "MODE", "secret": False}]}}}


def test_a_secret_setting_appears_nowhere_in_the_crate(tmp_path: Path, busybox_image: str) -> None:
    manifest = tmp_path / "seed.manifest.json"
    manifest.write_text(json.dumps(SECRET_MANIFEST))
    result = run(RunRequest(image=busybox_image, json_inputs={"NOTE": f"the token is {SECRET}"},
                            settings={"TOKEN": SECRET, "MODE": "fast"}, run_dir=tmp_path / "run"),
                 manifest=load_manifest(manifest))
    assert result.document["status"] == "succeeded", result.document
    assert SECRET in (tmp_path / "run/outputs/out.txt").read_text()  # the job did get it
    text = (tmp_path / "run" / provenance.CRATE_FILE).read_text()
    for piece in {SECRET[i:i + 6] for i in range(len(SECRET) - 5)}:
        assert piece not in text
    crate = ROCrate(tmp_path / "run")
    assert crate.dereference("#setting-TOKEN")["value"] == "****"
    assert crate.dereference("#setting-MODE")["value"] == "fast"
    assert crate.dereference("#input-NOTE")["value"] == "the token is ****"
    outputs = result.document["outputs"]["OUT"]["files"]
    assert crate.dereference("outputs/out.txt")["sha256"] == outputs[0]["sha256"]


def test_a_crate_that_cannot_be_made_is_a_warning_not_a_failure(tmp_path: Path, busybox_image: str,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: Any, **kwargs: Any) -> str:
        raise RuntimeError(f"no crate today {SECRET}")

    monkeypatch.setattr(provenance, "crate_facts", broken)
    manifest = tmp_path / "seed.manifest.json"
    manifest.write_text(json.dumps(SECRET_MANIFEST))
    result = run(RunRequest(image=busybox_image, json_inputs={"NOTE": "n"}, settings={"TOKEN": SECRET, "MODE": "m"},
                            run_dir=tmp_path / "run"), manifest=load_manifest(manifest))
    assert result.document["status"] == "succeeded" and result.exit_status == 0
    assert not (tmp_path / "run" / provenance.CRATE_FILE).exists()
    written = json.loads((tmp_path / "run/result.json").read_text())
    (problem,) = [w for w in written["warnings"] if w["code"] == "provenance-not-written"]
    assert "no crate today ****" in problem["message"] and SECRET not in json.dumps(written)


def test_a_timed_out_run_has_a_crate_with_a_failed_status(tmp_path: Path, busybox_image: str) -> None:
    manifest = tmp_path / "seed.manifest.json"
    manifest.write_text(json.dumps({**SECRET_MANIFEST, "job": {**SECRET_MANIFEST["job"], "interface": {
        "command": "sleep 30"}}}))
    result = run(RunRequest(image=busybox_image, run_dir=tmp_path / "run", timeout=1, grace_period=1),
                 manifest=load_manifest(manifest))
    assert result.document["status"] == "timed-out"
    action = the_action(ROCrate(tmp_path / "run"))
    assert action["actionStatus"] == "FailedActionStatus" and action["description"] == "status: timed-out"
    assert action["endTime"] == result.document["timings"]["finished"]


def test_the_crate_is_the_one_rocrate_makes_from_the_same_facts(tmp_path: Path, busybox_image: str,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """The crate is written without rocrate (its import costs every run about 90 ms): rocrate is the oracle."""
    import copy

    from .crate_oracle import crate_text

    seen: list[dict[str, Any]] = []
    original = provenance.crate_document

    def recording(facts: dict[str, Any]) -> dict[str, Any]:
        seen.append(copy.deepcopy(facts))
        return original(facts)

    monkeypatch.setattr(provenance, "crate_document", recording)
    manifest = tmp_path / "seed.manifest.json"
    manifest.write_text(json.dumps(SECRET_MANIFEST))
    data = tmp_path / "data"
    data.mkdir()
    (data / "a.csv").write_text("1\n2\n3\n")
    requests = [  # file inputs, JSON inputs and outputs, side-cars; and settings, one of them secret
        (RunRequest(image=PYTHON_STATS, file_inputs={"DATA_FILES": [data]}, json_inputs={"CONFIG": {"label": "x"}},
                    run_dir=tmp_path / "stats"), None),
        (RunRequest(image=busybox_image, json_inputs={"NOTE": "n"}, settings={"TOKEN": SECRET, "MODE": "m"},
                    run_dir=tmp_path / "secret"), load_manifest(manifest)),
    ]
    for request, job in requests:
        result = run(request, manifest=job)
        assert result.document["status"] == "succeeded", result.document
        ours = json.loads((Path(request.run_dir) / provenance.CRATE_FILE).read_text())
        assert ours == json.loads(crate_text(seen.pop())), request.run_dir
        assert SECRET not in json.dumps(ours)
