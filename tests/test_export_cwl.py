"""`seed export cwl`, with cwltool as the oracle: every export passes `cwltool --validate`, and each sample job's
test cases and the conformance probes give the same outcome and the same output bytes under cwltool as under
`seed run` (the runner itself, on the same engine)."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from seed_runner.api import load_manifest
from seed_runner.export import UnsupportedCommand, cwl_tool
from seed_runner.export.yaml_text import to_yaml
from seed_runner.runtime.plan import RunRequest

pytestmark = pytest.mark.engine

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
SEED, CWLTOOL = str(BIN / "seed"), str(BIN / "cwltool")
SAMPLE_IMAGES = {"watermark": "image-watermark-0.1.0-seed:0.1.0", "python-stats": "python-stats-1.0.0-seed:1.0.0",
                 "conformance": "seed-conformance-1.0.0-seed:1.0.0"}
# The limits are opt-in in cwltool; the docs say to pass these.
CWLTOOL_OPTIONS = ["--quiet", "--strict-memory-limit", "--strict-cpu-limit"]
PROBE_RUNS = [("env", "main"), ("fs", "main"), ("resources", "main"), ("outputs", "main"),
              ("errors", "declared"), ("capture", "nojson")]


def _files_of(paths: list[str], multiple: bool) -> Any:
    files = []
    for path in map(Path, paths):
        files += sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    entries = [{"class": "File", "path": str(p.absolute())} for p in files]
    return entries if multiple else entries[0]


def cwl_job(manifest: Any, request: RunRequest) -> dict[str, Any]:
    """The cwltool job document of a seed-runner request (a multiple input's folders become their files)."""
    face = manifest.job.interface
    job: dict[str, Any] = {}
    for spec in face.file_inputs:
        given = next((v for k, v in request.file_inputs.items() if k.upper().replace("-", "_") == spec.variable), None)
        if given:
            job[spec.name] = _files_of([str(p) for p in given], spec.multiple)
    for spec in face.json_inputs:
        if spec.name in request.json_inputs:
            job[spec.name] = request.json_inputs[spec.name]
    for setting in face.settings:
        if setting.name in request.settings:
            job[setting.name] = request.settings[setting.name]
    for mount in face.mounts:
        job[mount.name] = {"class": "Directory", "path": str(Path(request.mounts[mount.name]).absolute())}
    return job


def run_both(manifest: Any, request: RunRequest, image: str, folder: Path) -> tuple[dict, dict]:
    """(seed run's view, cwltool's view): status, exit code, each output's files as {name: sha256}, JSON outputs."""
    from seed_runner import run

    result = run(request, manifest=manifest)
    doc = result.document
    seed_view = {"status": "succeeded" if doc["status"] == "succeeded" else "failed",
                 "exit_code": doc.get("exit_code"),
                 "files": {name: sorted((Path(f["path"]).name, f["sha256"]) for f in entry.get("files", ()))
                           for name, entry in (doc.get("outputs") or {}).items()},
                 "json": doc.get("json_outputs") or {}}
    tool_file, job_file, out = folder / "tool.cwl", folder / "job.json", folder / "cwl-out"
    tool_file.write_text(to_yaml(cwl_tool(manifest, image=image)))
    job_file.write_text(json.dumps(cwl_job(manifest, request)))
    proc = subprocess.run([CWLTOOL, *CWLTOOL_OPTIONS, "--outdir", str(out), str(tool_file), str(job_file)],
                          capture_output=True, text=True, timeout=600)
    outputs = json.loads(proc.stdout) if proc.returncode == 0 else {}
    face = manifest.job.interface
    files = {}
    for spec in face.file_outputs:
        value = outputs.get(spec.name)
        listed = value if isinstance(value, list) else [value] if value else []
        files[spec.name] = sorted((f["basename"], hashlib.sha256(Path(f["path"]).read_bytes()).hexdigest())
                                  for f in listed)
    cwl_view = {"status": "succeeded" if proc.returncode == 0 else "failed",
                "exit_code": doc.get("exit_code") if proc.returncode != 0 else 0,
                "files": files,
                "json": {s.name: outputs[s.name] for s in face.json_outputs if outputs.get(s.name) is not None}}
    if proc.returncode != 0:  # cwltool says which exit code failed the tool
        cwl_view["exit_code"] = _exit_code(proc.stderr)
    cwl_view["stderr"] = proc.stderr
    seed_view["files"] = {k: v for k, v in seed_view["files"].items() if v or k in files}
    return seed_view, cwl_view


def _exit_code(stderr: str) -> int | None:
    import re

    if "Error collecting output" in stderr and "exited with status" not in stderr:
        return 0  # the tool ended well; its outputs did not fit, as a capture failure of seed run
    found = re.findall(r"exited with status:? (\d+)|exit code (\d+)|returned (\d+)", stderr)
    for groups in reversed(found):
        for group in groups:
            if group:
                return int(group)
    return None


def sample_cases() -> list[tuple[str, Path]]:
    return [(job, case) for job in SAMPLE_IMAGES for case in sorted((REPO / "sample_jobs" / job / "tests").glob("*"))
            if (case / "case.json").is_file()]


@pytest.mark.parametrize("job", sorted(SAMPLE_IMAGES))
def test_every_sample_export_is_valid_cwl(job: str, tmp_path: Path) -> None:
    tool = tmp_path / f"{job}.cwl"
    proc = subprocess.run([SEED, "export", "cwl", SAMPLE_IMAGES[job], "-o", str(tool)], capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    check = subprocess.run([CWLTOOL, "--validate", str(tool)], capture_output=True, text=True, timeout=300)
    assert check.returncode == 0 and "is valid CWL" in check.stdout + check.stderr, check.stderr


def _case_request(job: str, case_dir: Path, tmp: Path) -> RunRequest:
    from seed_runner.testing.cases import load_case

    case = load_case(case_dir / "case.json")
    mounts = {}
    for name, relative in case.request.mounts.items():
        folder = case.path(relative) if relative is not None else tmp / "mounts" / name
        folder.mkdir(parents=True, exist_ok=True)
        mounts[name] = str(Path(folder).absolute())
    settings = {k: v for k, v in case.request.settings.items() if isinstance(v, str)}
    return RunRequest(image=SAMPLE_IMAGES[job], run_dir=str(tmp / "seed-run"), json_inputs=dict(case.request.json),
                      file_inputs={k: [str(case.path(p).absolute()) for p in v] for k, v in case.request.inputs.items()},
                      settings=settings, mounts=mounts)


def test_sample_jobs_give_the_same_bytes_under_cwltool(tmp_path: Path) -> None:
    cases = sample_cases()
    assert len(cases) >= 7

    def one(index_case: tuple[int, tuple[str, Path]]) -> tuple[str, dict, dict]:
        index, (job, case_dir) = index_case
        folder = tmp_path / f"{index}-{case_dir.name}"
        folder.mkdir()
        manifest = load_manifest(SAMPLE_IMAGES[job])
        request = _case_request(job, case_dir, folder)
        seed_view, cwl_view = run_both(manifest, request, SAMPLE_IMAGES[job], folder)
        return f"{job}/{case_dir.name}", seed_view, cwl_view

    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(one, enumerate(cases)))
    assert "(not given) is unset, not empty" in _assert_same(results)
    assert any(s["status"] == "succeeded" for _, s, _ in results)
    assert any(s["status"] == "failed" for _, s, _ in results)  # declared errors are told apart too


def test_conformance_probes_give_the_same_bytes_under_cwltool(tmp_path: Path) -> None:
    from seed_runner.conformance.images import ensure_images
    from seed_runner.conformance.recipes import make_request

    images = ensure_images({probe for probe, _ in PROBE_RUNS})

    def one(index_run: tuple[int, tuple[str, str]]) -> tuple[str, dict, dict]:
        index, (probe, run_name) = index_run
        folder = tmp_path / f"{index}-{probe}-{run_name}"
        request = make_request(probe, run_name, images[probe], folder / "given")
        manifest = load_manifest(images[probe])
        seed_view, cwl_view = run_both(manifest, request, images[probe], folder)
        return f"{probe}/{run_name}", seed_view, cwl_view

    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(one, enumerate(PROBE_RUNS)))
    # every known difference is real (the docs list no more than there is)
    assert _assert_same(results) == set(KNOWN_CHECKS) - {"(not given) is unset, not empty"}


# What CWL cannot express (docs/how-to/export-cwl.md), as the checks the probes and the conformance job report
# differently under cwltool; any other difference fails.
KNOWN_CHECKS = {
    "env.optional-unset": "an optional input not given is set empty: CWL's EnvVarRequirement cannot unset",
    "limits.no-extra-swap": "cwltool's --strict-memory-limit sets no swap limit",
    "limits.cpu": "cwltool gives whole cores",
    "limits.shared-memory": "CWL has no /dev/shm size",
    "(not given) is unset, not empty": "the conformance job's own wording of env.optional-unset",
}


def _known(line: str) -> bool:
    return any(key in line for key in KNOWN_CHECKS)


def _assert_same(results: list[tuple[str, dict, dict]]) -> set[str]:
    """Equal outcomes, equal output bytes (a failed tool has no outputs in CWL, so only after a success), equal
    JSON outputs, but for the known checks; returns the known checks that differed."""
    differ, seen = [], set()
    for name, seed_view, cwl_view in results:
        stderr = cwl_view.pop("stderr", "")
        failing = [line for line in stderr.splitlines() if line.startswith("not ok")]
        if name.startswith("conformance/") and failing and all(_known(line) for line in failing):
            # the conformance job exits with its number of failed checks: only known ones may fail
            assert cwl_view["exit_code"] == len(failing), (name, failing)
            seen.update(key for key in KNOWN_CHECKS for line in failing if key in line)
            continue
        if seed_view["status"] != "succeeded":
            cwl_view["files"] = seed_view["files"] = {}
        for key in set(seed_view["json"]) & set(cwl_view["json"]):
            ours, theirs = str(seed_view["json"][key]).splitlines(), str(cwl_view["json"][key]).splitlines()
            if len(ours) == len(theirs) > 1:
                for index, (mine, other) in enumerate(zip(ours, theirs)):
                    check = mine.removeprefix("ok - ").partition(":")[0]
                    if mine != other and _known(mine) and other.startswith(f"not ok - {check}:"):
                        seen.update(k for k in KNOWN_CHECKS if k in mine)
                        theirs[index] = mine
                cwl_view["json"][key] = "\n".join(theirs)
                seed_view["json"][key] = "\n".join(ours)
        if cwl_view != seed_view:
            differ.append(f"{name}:\n  seed run: {seed_view}\n  cwltool:  {cwl_view}\n  {stderr[-600:]}")
    assert not differ, "\n".join(differ)
    return seen


def test_a_glob_pattern_in_the_command_is_refused_in_one_line(manifest: dict, tmp_path: Path) -> None:
    manifest["job"]["interface"]["command"] = "${INPUT_FILE%.*} ${OUTPUT_DIR}"
    path = tmp_path / "seed.manifest.json"
    path.write_text(json.dumps(manifest))
    proc = subprocess.run([SEED, "export", "cwl", str(path)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1
    assert proc.stderr.count("\n") == 1 and "glob pattern" in proc.stderr and "${INPUT_FILE%.*}" in proc.stderr
    with pytest.raises(UnsupportedCommand):
        cwl_tool(load_manifest(path))


def test_a_missing_image_is_exit_2_and_no_engine_exit_4(tmp_path: Path) -> None:
    proc = subprocess.run([SEED, "export", "cwl", "no-such-image-seed:9"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and "no file, directory or local image" in proc.stderr
    env = {**os.environ, "DOCKER_HOST": f"unix://{tmp_path}/none.sock"}
    proc = subprocess.run([SEED, "export", "cwl", "some-image-seed:1"], capture_output=True, text=True, timeout=60,
                          env=env)
    assert proc.returncode == 4 and proc.stderr.startswith("seed: error:")
