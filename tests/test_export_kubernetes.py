"""`seed export kubernetes`: every sample job's Job validates strictly against the Kubernetes OpenAPI schema
(kubernetes-validate), golden checks hold the contract fields, and the init container's script runs for real in
a BusyBox container (downloads from a loopback HTTP server, writes a valid INPUT_METADATA)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any, Iterator

import kubernetes_validate
import pytest
import yaml

from seed_runner.api import load_manifest
from seed_runner.export.kubernetes import ExportProblem, KubernetesRequest, kubernetes_job
from seed_runner.runtime.command import expand_command
from tests.kubelet_expansion import kubelet_expand
from tests.loopback import serving_folder

REPO = Path(__file__).resolve().parents[1]
SEED = str(Path(sys.executable).with_name("seed"))
K8S_VERSION = kubernetes_validate.latest_version()

SAMPLES = {
    "watermark": dict(file_inputs={"INPUT_IMAGE": ["https://data.example/in/input.png"]}),
    "python-stats": dict(file_inputs={"DATA_FILES": ["https://data.example/a.csv", "https://data.example/b.txt"]},
                         json_inputs={"CONFIG": {"precision": 2, "label": "k8s"}, "THRESHOLD": 2.5}),
    "conformance": dict(file_inputs={"INPUT_FILE": ["https://data.example/input.txt"],
                                     "INPUT_FILES": ["https://data.example/one.txt"]},
                        json_inputs={"INPUT_JSON": "hello world", "COUNT": 42, "OPTIONS": {"a": 1}, "FLAG": True},
                        settings={"VERSION": "1", "DB_HOST": "db.example"},
                        mounts={"MOUNT_PATH": "reference-data", "WRITE_PATH": "scratch:run-1"}),
}


def _export(job: str, **extra: Any) -> tuple[Any, dict]:
    manifest = load_manifest(REPO / "sample_jobs" / job)
    request = KubernetesRequest(image=manifest.image_name, **{**SAMPLES[job], **extra})
    return manifest, kubernetes_job(manifest, request)


@pytest.mark.parametrize("job", sorted(SAMPLES))
def test_every_sample_job_validates_strictly(job: str) -> None:
    _, document = _export(job)
    kubernetes_validate.validate(document, K8S_VERSION, strict=True)  # raises ValidationError


@pytest.mark.parametrize("job", sorted(SAMPLES))
def test_the_contract_fields(job: str) -> None:
    manifest, document = _export(job)
    spec = document["spec"]
    pod = spec["template"]["spec"]
    container = pod["containers"][0]
    env = {e["name"]: e for e in container["env"]}
    assert spec["backoffLimit"] == 0 and pod["restartPolicy"] == "Never"
    assert spec["activeDeadlineSeconds"] == manifest.job.timeout
    rules = spec["podFailurePolicy"]["rules"]
    assert [r["onExitCodes"]["values"] for r in rules] == [[e.code] for e in manifest.job.errors]
    assert all(r["action"] == "FailJob" and r["onExitCodes"]["containerName"] == container["name"] for r in rules)
    assert env["OUTPUT_DIR"]["value"] == "/seed/outputs"
    assert env["INPUT_METADATA"]["value"] == "/seed/input-metadata.json"
    for scalar in manifest.job.resources or ():
        assert scalar.variable in env
    mounts = {m["mountPath"]: m for m in container["volumeMounts"]}
    assert mounts["/seed/inputs"]["readOnly"] is True and "readOnly" not in mounts["/seed/outputs"]
    # the command, expanded by the runner's own expander against the container-side values
    values = {name: e["value"] for name, e in env.items() if "value" in e}
    assert container["args"] == expand_command(manifest.job.interface.command, values)
    resources = {s.name: s.value for s in manifest.job.resources or ()}
    if "mem" in resources:
        assert container["resources"]["limits"]["memory"] == f"{int(resources['mem'])}Mi"
    if "sharedMem" in resources:
        shm = next(v for v in pod["volumes"] if v["name"] == "seed-shm")
        assert shm["emptyDir"] == {"medium": "Memory", "sizeLimit": f"{int(resources['sharedMem'])}Mi"}
        assert mounts["/dev/shm"]["name"] == "seed-shm"


def test_secret_settings_are_references_never_values() -> None:
    manifest, document = _export("conformance", settings_secret="conformance-secrets")
    env = {e["name"]: e for e in document["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["DB_PASS"] == {"name": "DB_PASS", "valueFrom": {"secretKeyRef": {"name": "conformance-secrets",
                                                                                "key": "DB_PASS"}}}
    with pytest.raises(ExportProblem, match="DB_PASS is secret"):
        _export("conformance", settings={**SAMPLES["conformance"]["settings"], "DB_PASS": "hunter2-value"})


def test_a_secret_the_command_reads_is_expanded_by_the_kubelet(manifest: dict, tmp_path: Path) -> None:
    manifest["job"]["interface"]["command"] = "--token ${TOKEN} ${TEXT} ${INPUT_FILE}"
    manifest["job"]["interface"]["settings"] = [{"name": "TOKEN", "secret": True}]
    manifest["job"]["interface"]["inputs"]["json"] = [{"name": "TEXT", "type": "string"}]
    manifest["job"]["interface"]["inputs"]["files"] = [{"name": "INPUT_FILE"}]
    manifest["job"]["interface"].pop("mounts", None)
    path = tmp_path / "seed.manifest.json"
    path.write_text(json.dumps(manifest))
    document = kubernetes_job(load_manifest(path), KubernetesRequest(
        image="x:1", file_inputs={"INPUT_FILE": ["https://data.example/f.txt"]}, json_inputs={"TEXT": "$(HOME)"}))
    args = document["spec"]["template"]["spec"]["containers"][0]["args"]
    assert args[:3] == ["--token", "$(TOKEN)", "$$(HOME)"]  # a value is never expanded by the kubelet
    kubernetes_validate.validate(document, K8S_VERSION, strict=True)


def test_the_cli_writes_yaml_and_refuses_in_one_line(tmp_path: Path) -> None:
    out = tmp_path / "job.yaml"
    proc = subprocess.run([SEED, "export", "kubernetes", str(REPO / "sample_jobs" / "watermark"), "-i",
                           "INPUT_IMAGE=https://data.example/x.png", "-o", str(out)], capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0, proc.stderr
    kubernetes_validate.validate(yaml.safe_load(out.read_text()), K8S_VERSION, strict=True)
    proc = subprocess.run([SEED, "export", "kubernetes", str(REPO / "sample_jobs" / "watermark"), "-i",
                           "INPUT_IMAGE=https://user:pw@data.example/x.png"], capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and "credentials" in proc.stderr
    assert "pw@" not in proc.stderr
    proc = subprocess.run([SEED, "export", "kubernetes", str(REPO / "sample_jobs" / "python-stats")],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and "DATA_FILES is required" in proc.stderr and "CONFIG is required" in proc.stderr


@pytest.fixture
def http_files(tmp_path: Path) -> Iterator[str]:
    served = tmp_path / "served"
    served.mkdir()
    (served / "a.csv").write_text("1\n2\n3\n")
    (served / "b.txt").write_text("10\n20\n")
    with serving_folder(served) as port:
        yield f"http://127.0.0.1:{port}"


@pytest.mark.engine
def test_the_init_container_script_stages_inputs_and_metadata(http_files: str, tmp_path: Path,
                                                               busybox_image: str) -> None:
    manifest = load_manifest(REPO / "sample_jobs" / "python-stats")
    document = kubernetes_job(manifest, KubernetesRequest(
        image=manifest.image_name, file_inputs={"DATA_FILES": [f"{http_files}/a.csv", f"{http_files}/b.txt"]},
        json_inputs={"CONFIG": {"label": "x"}}))
    stager = document["spec"]["template"]["spec"]["initContainers"][0]
    inputs, meta = tmp_path / "inputs", tmp_path / "meta"
    inputs.mkdir()
    meta.mkdir()
    script = [kubelet_expand(word, {}) for word in stager["command"]]  # what the kubelet hands the container
    proc = subprocess.run(["docker", "run", "--rm", "--network", "host", "-v", f"{inputs}:/seed/inputs",
                           "-v", f"{meta}:/seed/meta", busybox_image, *script],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert (inputs / "DATA_FILES" / "a.csv").read_text() == "1\n2\n3\n"
    metadata = json.loads((meta / "input-metadata.json").read_text())
    assert metadata == {"JOB": {
        "DATA_FILES": [
            {"file_name": "a.csv", "path": "/seed/inputs/DATA_FILES/a.csv", "media_type": "text/csv", "file_size": 6},
            {"file_name": "b.txt", "path": "/seed/inputs/DATA_FILES/b.txt", "media_type": "text/plain",
             "file_size": 6}],
        "CONFIG": {"label": "x"}}}
