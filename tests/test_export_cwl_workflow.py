"""`seed export cwl PIPELINE.yaml`, with cwltool as the oracle: the tutorial's `shout` pipeline gives the same
output bytes under cwltool as under `seed pipeline run` (the real engine), its condition true and false; every
export the tests make passes `cwltool --validate`; what a CWL Workflow cannot say is refused in one line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from .pipeline_fixtures import EXAMPLE, home, seed, text_jobs  # noqa: F401 - fixtures

REPO = Path(__file__).resolve().parents[1]
CWLTOOL = str(Path(sys.executable).with_name("cwltool"))
CWLTOOL_OPTIONS = ["--quiet", "--strict-memory-limit", "--strict-cpu-limit"]
MANIFEST = {name: REPO / "sample_jobs" / name / "seed.manifest.json"
            for name in ("text-split", "text-upper", "text-join", "conformance")}

# Everything else the export maps, on manifest files (no engine): a JSON forEach, an `unless` with `all: false`
# (a JSON filter and a filename filter), literals, settings (one a secret), mounts, resources, `after`, and
# a skip that reaches a step through `after` only.
FEATURES = f"""\
seedPipeline: "1.0"
name: features
inputs:
  TEXT: {{type: file}}
  MANY: {{type: file, multiple: true}}
  WORDS: {{type: array, default: [a, b]}}
  MODE: {{type: string, default: fast}}
steps:
  split:
    manifest: {MANIFEST["text-split"]}
    inputs: {{TEXT: inputs.TEXT}}
  check:
    manifest: {MANIFEST["conformance"]}
    forEach: inputs.WORDS
    unless:
      all: false
      filters:
        - {{name: inputs.MODE, type: string, condition: in, values: [slow, careful]}}
        - {{name: split.PARTS, type: filename, condition: contains, values: ["0009"]}}
    inputs: {{INPUT_FILE: inputs.TEXT, INPUT_FILES: split.PARTS, INPUT_JSON: item, COUNT: split.COUNT,
             OPTIONS: {{value: {{a: 1}}}}, FLAG: {{value: true}}}}
    settings: {{VERSION: "1.0", DB_HOST: db, DB_PASS: {{secret: true}}}}
    mounts: {{MOUNT_PATH: /tmp, WRITE_PATH: /tmp}}
    resources: {{mem: 64}}
  join:
    manifest: {MANIFEST["text-join"]}
    after: [check]
    inputs: {{PARTS: inputs.MANY}}
outputs:
  CHECKED: check.RESULT
  JOINED: join.JOINED
"""

RECIPE = {"version": "6", "input": {"files": [{"name": "TEXT", "media_types": ["text/plain"]}], "json": []},
          "nodes": {
              "split": {"dependencies": [], "input": {"TEXT": {"type": "recipe", "input": "TEXT"}},
                        "node_type": {"node_type": "job", "job_type_name": "text-split",
                                      "job_type_version": "1.0.0", "job_type_revision": 1}},
              "join": {"dependencies": [{"name": "split"}],
                       "input": {"PARTS": {"type": "dependency", "node": "split", "output": "PARTS"}},
                       "node_type": {"node_type": "job", "job_type_name": "text-join",
                                     "job_type_version": "1.0.0", "job_type_revision": 1}}}}


def export(tmp_path: Path, name: str, text: str, *options: str) -> Path:
    source, target = tmp_path / f"{name}.yaml", tmp_path / f"{name}.cwl"
    source.write_text(text)
    done = seed("export", "cwl", str(source), "-o", str(target), *options)
    assert done.returncode == 0, done.stderr
    return target


def validate(document: Path) -> None:
    done = subprocess.run([CWLTOOL, "--validate", str(document)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0 and "is valid CWL" in done.stdout, done.stdout + done.stderr


def test_every_construct_exports_to_a_workflow_cwltool_validates(tmp_path: Path) -> None:
    target = export(tmp_path, "features", FEATURES)
    validate(target)
    document = json.loads(json.dumps(__import__("yaml").safe_load(target.read_text())))
    main = document["$graph"][0]
    assert main["hints"]["cwltool:Secrets"]["secrets"] == ["check.DB_PASS"]
    assert main["inputs"]["check.VERSION"] == {"type": "string", "doc": "setting VERSION of step check",
                                               "default": "1.0"}
    assert "default" not in main["inputs"]["check.DB_PASS"]
    check = main["steps"]["check"]
    assert check["scatter"] == "seed_item" and check["when"] == "$(inputs.seed_run)"
    assert check["in"]["OPTIONS"] == {"default": {"a": 1}}
    assert check["in"]["INPUT_FILES"]["linkMerge"] == "merge_flattened"
    # join is skipped when check is (through `after` alone): its gate needs check's gate.
    assert main["steps"]["join-gate"]["in"] == {"n0": {"source": "check-gate/ran"}}
    tools = {tool["id"]: tool for tool in document["$graph"][1:]}
    assert tools["check-job"]["requirements"]["ResourceRequirement"]["ramMin"] == 64


def test_a_scale_recipe_exports_with_its_job_types(tmp_path: Path) -> None:
    validate(export(tmp_path, "recipe", json.dumps(RECIPE),
                    "-t", f"text-split:1.0.0=manifest:{MANIFEST['text-split']}",
                    "-t", f"text-join:1.0.0=manifest:{MANIFEST['text-join']}"))


@pytest.mark.parametrize("words", ["meta-data", "item", "list of lists"])
def test_what_cwl_cannot_say_is_refused_in_one_line(tmp_path: Path, words: str) -> None:
    text = EXAMPLE
    for job in ("text-split", "text-upper", "text-join"):
        text = text.replace(f"image: {job}-1.0.0-seed:1.0.0", f"manifest: {MANIFEST[job]}")
    if words == "meta-data":  # a filter on files' side-car metadata: split.PARTS instead of split.COUNT
        text = text.replace("name: split.COUNT, type: integer, condition: \"<=\", values: [inputs.LIMIT]",
                            "name: split.PARTS, type: meta-data, condition: \"==\", values: [1], fields: [[a]]")
    elif words == "list of lists":  # split runs per file too: upper's forEach meets a list of lists of files
        text = text.replace("    inputs: {TEXT: inputs.TEXT}", "    forEach: inputs.TEXT\n    inputs: {TEXT: item}")
        text = "\n".join(line for line in text.splitlines() if "when:" not in line)  # COUNT is a list now
    else:  # a condition on each item of a forEach, where CWL's `when` is the step's
        text = text.replace("    inputs: {PART: item}", "    inputs: {PART: item}\n    when: {filters: [{name: item, "
                            "type: filename, condition: contains, values: [\"0001\"]}]}")
    source = tmp_path / "refused.yaml"
    source.write_text(text)
    done = seed("export", "cwl", str(source))
    assert done.returncode == 1, done.stderr
    assert done.stdout == "" and len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert ("join" if words == "meta-data" else "upper") in done.stderr and words.split()[0] in done.stderr


@pytest.mark.engine
@pytest.mark.parametrize("limit, runs_join", [(10, True), (2, False)])
def test_shout_gives_the_same_bytes_under_cwltool_as_under_seed_pipeline_run(
        tmp_path: Path, home: Path, text_jobs: tuple[str, str, str], limit: int, runs_join: bool) -> None:  # noqa: F811
    text = tmp_path / "in.txt"
    text.write_bytes(b"hello world\nsecond line\nthird\n")
    target = export(tmp_path, "shout", EXAMPLE)
    validate(target)
    ran = seed("pipeline", "run", str(tmp_path / "shout.yaml"), "-i", f"TEXT={text}", "-j", f"LIMIT={limit}",
               "-o", str(tmp_path / "seed-out"), "--no-cache", timeout=600)
    assert ran.returncode == 0, ran.stderr
    seed_files = sorted((tmp_path / "seed-out" / "outputs" / "SHOUTED").glob("*")) if runs_join else []
    job = tmp_path / "job.json"
    job.write_text(json.dumps({"TEXT": {"class": "File", "path": str(text)}, "LIMIT": limit}))
    done = subprocess.run([CWLTOOL, *CWLTOOL_OPTIONS, "--outdir", str(tmp_path / "cwl-out"), str(target), str(job)],
                          capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    shouted = json.loads(done.stdout)["SHOUTED"]
    if runs_join:
        assert [p.name for p in seed_files] == ["joined.txt"]
        assert Path(shouted["path"]).read_bytes() == seed_files[0].read_bytes() == b"HELLO WORLD\nSECOND LINE\nTHIRD\n"
    else:
        assert shouted is None
        assert not (tmp_path / "seed-out" / "outputs" / "SHOUTED").exists() or not seed_files
        assert json.loads((tmp_path / "seed-out" / "pipeline.json").read_text())["steps"]["join"]["state"] == "skipped"
