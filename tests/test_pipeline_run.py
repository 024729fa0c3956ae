"""`seed pipeline run` end to end on the real engine: the example pipeline's outputs byte for byte, its
containers counted in the engine's own events (5, then 0 on an identical rerun, then 3 after a one-line
change), a failing fan-out run, --keep-going with two branches, and conditions (when, unless)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from .pipeline_fixtures import EXAMPLE, containers_created, containers_left, home, run_ids, seed, state, \
    text_jobs  # noqa: F401

pytestmark = pytest.mark.engine


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text)
    return path


def test_the_example_runs_then_reruns_only_what_changed(tmp_path: Path, home: Path, text_jobs: Any,
                                                         docker_client: Any) -> None:
    pipeline = write(tmp_path, "shout.yaml", EXAMPLE)
    text = write(tmp_path, "in.txt", "hello world\nsecond line\nthird\n")

    since = time.time()
    first = seed("pipeline", "run", str(pipeline), "-i", f"TEXT={text}", "-o", str(tmp_path / "p1"))
    assert first.returncode == 0, first.stderr
    assert (tmp_path / "p1/outputs/SHOUTED/joined.txt").read_bytes() == b"HELLO WORLD\nSECOND LINE\nTHIRD\n"
    assert len(containers_created(docker_client, since, run_ids(tmp_path / "p1"))) == 5
    document = state(tmp_path / "p1")
    assert document["status"] == "succeeded" and document["complete"] is True
    assert [len(s["runs"]) for s in document["steps"].values()] == [1, 3, 1]

    since = time.time()
    again = seed("pipeline", "run", str(pipeline), "-i", f"TEXT={text}", "-o", str(tmp_path / "p2"))
    assert again.returncode == 0, again.stderr
    assert containers_created(docker_client, since, run_ids(tmp_path / "p2")) == []
    assert {r["status"] for s in state(tmp_path / "p2")["steps"].values() for r in s["runs"]} == {"cached"}
    assert (tmp_path / "p2/outputs/SHOUTED/joined.txt").read_bytes() == b"HELLO WORLD\nSECOND LINE\nTHIRD\n"

    text.write_text("hello world\nsecond line, changed\nthird\n")
    since = time.time()
    changed = seed("pipeline", "run", str(pipeline), "-i", f"TEXT={text}", "-o", str(tmp_path / "p3"))
    assert changed.returncode == 0, changed.stderr
    ran = containers_created(docker_client, since, run_ids(tmp_path / "p3"))
    steps = state(tmp_path / "p3")["steps"]
    fresh = {r["run_id"]: (name, r["index"]) for name, s in steps.items() for r in s["runs"]
             if r["status"] == "succeeded"}
    assert sorted(fresh[run] for run in ran) == [("join", 0), ("split", 0), ("upper", 1)]
    assert (tmp_path / "p3/outputs/SHOUTED/joined.txt").read_bytes() == \
        b"HELLO WORLD\nSECOND LINE, CHANGED\nTHIRD\n"

    # --no-cache runs everything again
    since = time.time()
    forced = seed("pipeline", "run", str(pipeline), "-i", f"TEXT={text}", "-o", str(tmp_path / "p4"), "--no-cache")
    assert forced.returncode == 0, forced.stderr
    assert len(containers_created(docker_client, since, run_ids(tmp_path / "p4"))) == 5

    # the store: the pipelines, and each one's runs
    listed = seed("pipelines")
    assert listed.returncode == 0 and listed.stdout.count("shout") == 4
    pid = state(tmp_path / "p3")["pipeline_id"]
    runs = seed("runs", "--pipeline", pid)
    lines = runs.stdout.splitlines()  # a header, then a line a run
    assert runs.returncode == 0 and lines[0].startswith("RUN ") and len(lines) == 1 + 5, runs.stdout
    shown = seed("pipelines", "show", pid[:8])
    assert shown.returncode == 0 and '"pipeline_id": "' + pid in shown.stdout


def test_a_failing_fan_out_run_stops_join_and_says_why(tmp_path: Path, home: Path, text_jobs: Any) -> None:
    pipeline = write(tmp_path, "shout.yaml", EXAMPLE)
    text = write(tmp_path, "in.txt", "loud\nthis one is quiet\nloud again\n")
    proc = seed("pipeline", "run", str(pipeline), "-i", f"TEXT={text}", "-o", str(tmp_path / "p"))
    assert proc.returncode == 1, proc.stderr
    assert "quiet-text" in proc.stderr and "upper[1] failed" in proc.stderr
    steps = state(tmp_path / "p")["steps"]
    assert steps["upper"]["state"] == "failed" and steps["join"]["state"] == "stopped"
    assert steps["join"]["runs"] == [] and not list((tmp_path / "p/runs").glob("join-*"))
    assert [r["error"] for r in steps["upper"]["runs"] if r["status"] == "failed"] == ["quiet-text"]
    assert not (tmp_path / "p/outputs").exists()  # no half a result presented as the pipeline's


BRANCHES = """\
seedPipeline: "1.0"
name: branches
inputs:
  BAD: {type: file}
  GOOD: {type: file}
  DELAY: {type: integer}
steps:
  bad:
    image: text-upper-1.0.0-seed:1.0.0
    inputs: {PART: inputs.BAD}
  good:
    image: text-upper-1.0.0-seed:1.0.0
    inputs: {PART: inputs.GOOD, DELAY: inputs.DELAY}
  joined:
    image: text-join-1.0.0-seed:1.0.0
    inputs: {PARTS: good.UPPER}
"""


@pytest.mark.parametrize("keep_going", [True, False])
def test_keep_going_finishes_the_other_branch(tmp_path: Path, home: Path, text_jobs: Any, keep_going: bool,
                                              docker_client: Any) -> None:
    pipeline = write(tmp_path, "branches.yaml", BRANCHES)
    bad, good = write(tmp_path, "bad.txt", "quiet\n"), write(tmp_path, "good.txt", "good\n")
    proc = seed("pipeline", "run", str(pipeline), "-i", f"BAD={bad}", "-i", f"GOOD={good}", "-j", "DELAY=3",
                "-o", str(tmp_path / "p"), *(["--keep-going"] if keep_going else []))
    assert proc.returncode == 1, proc.stderr
    steps = state(tmp_path / "p")["steps"]
    assert steps["bad"]["state"] == "failed"
    if keep_going:
        assert steps["good"]["state"] == "succeeded" and steps["joined"]["state"] == "succeeded"
        assert (tmp_path / "p" / steps["joined"]["runs"][0]["run_dir"] / "outputs/joined.txt").read_text() == "GOOD\n"
    else:  # stopped at once: the slow branch's container was stopped, the step after it never started
        assert steps["good"]["runs"][0]["status"] == "cancelled" and steps["joined"]["state"] == "stopped"
        assert containers_left(docker_client, run_ids(tmp_path / "p")) == []


CONDITIONS = EXAMPLE.replace("outputs:\n  SHOUTED: join.JOINED\n", """\
  short:
    image: text-join-1.0.0-seed:1.0.0
    unless: {filters: [{name: split.COUNT, type: integer, condition: "<=", values: [inputs.LIMIT]}]}
    inputs: {PARTS: split.PARTS}
  after_join:
    image: text-upper-1.0.0-seed:1.0.0
    inputs: {PART: join.JOINED}
""")


@pytest.mark.parametrize("limit, ran, skipped", [(10, {"join", "after_join"}, {"short"}),
                                                 (2, {"short"}, {"join", "after_join"})])
def test_a_condition_true_or_false_and_its_else_branch(tmp_path: Path, home: Path, text_jobs: Any, limit: int,
                                                       ran: set[str], skipped: set[str]) -> None:
    pipeline = write(tmp_path, "cond.yaml", CONDITIONS)
    text = write(tmp_path, "in.txt", "a\nb\nc\n")
    proc = seed("pipeline", "run", str(pipeline), "-i", f"TEXT={text}", "-j", f"LIMIT={limit}",
                "-o", str(tmp_path / "p"))
    assert proc.returncode == 0, proc.stderr
    steps = state(tmp_path / "p")["steps"]
    assert {n for n, s in steps.items() if s["state"] == "succeeded"} == {"split", "upper"} | ran
    assert {n for n, s in steps.items() if s["state"] == "skipped"} == skipped
    assert all(steps[n]["runs"] == [] for n in skipped)


def test_a_pipeline_with_a_missing_input_is_refused_and_nothing_starts(tmp_path: Path, home: Path,
                                                                        text_jobs: Any) -> None:
    pipeline = write(tmp_path, "shout.yaml", EXAMPLE)
    proc = seed("pipeline", "run", str(pipeline), "-j", "LIMIT=x", "-o", str(tmp_path / "p"))
    assert proc.returncode == 2
    assert "input TEXT is required" in proc.stderr and "LIMIT" in proc.stderr
    assert not (tmp_path / "p").exists()


# -- a Scale recipe --------------------------------------------------------------------------------------------

RECIPE = Path(__file__).resolve().parents[1].parent / "shared/scale-examples/recipes/recipe-definition-v6-full.json"


def scale_job(build_image: Any, name: str, version: str, command: str, interface: dict[str, Any]) -> str:
    import json
    import uuid

    from seed_runner.manifest.names import LABEL

    document = {"seedVersion": "1.0.0", "job": {
        "name": name, "jobVersion": f"{version}.0", "packageVersion": "1.0.0", "title": name,
        "description": "a Scale job type of the example recipe, as a busybox job", "timeout": 60,
        "maintainer": {"name": "n", "email": "n@example.com"}, "interface": {"command": command, **interface}}}
    return build_image(f"pipe-run-test/{name}-{uuid.uuid4().hex[:8]}:1", labels={LABEL: json.dumps(document)})


def test_scale_s_example_recipe_runs_with_its_job_types_mapped(tmp_path: Path, home: Path, build_image: Any) -> None:
    """The example recipe of Scale's docs, its two sub-recipe nodes (which seed-runner refuses, as the first
    run shows) made job nodes: node_a, node_b, the condition node_c (accepting TIFFs), then node_d (accepted)
    and not node_e (acceptance: false). The example also reads an output ``output_a`` of the condition node,
    which has none (its outputs are its inputs): that connection is made ``input_b``, as Scale means it."""
    import json

    tiffs = {"files": [{"name": "input_a", "mediaTypes": ["image/tiff"], "multiple": True}]}
    out = {"files": [{"name": "output_a", "mediaType": "image/tiff", "pattern": "*.tif", "multiple": True}]}
    one = scale_job(build_image, "job-type-1", "1.0", "sh -c 'for f in ${INPUT_A}/*; do cp $f "
                    "${OUTPUT_DIR}/$(basename $f .tif).a.tif; done'", {"inputs": tiffs, "outputs": out})
    two = scale_job(build_image, "job-type-2", "2.0", "sh -c 'cat ${INPUT_A}/* ${INPUT_B}/* > ${OUTPUT_DIR}/b.tif'",
                    {"inputs": {"files": [*tiffs["files"], {**tiffs["files"][0], "name": "input_b"}]},
                     "outputs": out})
    three = scale_job(build_image, "job-type-3", "1.0", "sh -c 'echo ${INPUT_A} > ${OUTPUT_DIR}/d.tif'",
                      {"inputs": {"files": [{"name": "input_b", "multiple": True}],
                                  "json": [{"name": "input_a", "type": "integer", "required": False}]},
                       "outputs": out})
    foo = [tmp_path / "x.tif", tmp_path / "y.tif"]
    for path in foo:
        path.write_bytes(b"II*\x00" + path.name.encode())
    maps = ["--job-type", f"job-type-1:1.0={one}", "--job-type", f"job-type-2:2.0={two}"]

    refused = seed("pipeline", "run", str(RECIPE), *maps, "-i", f"foo={foo[0]}", "-o", str(tmp_path / "no"))
    assert refused.returncode == 2 and "sub-recipe" in refused.stderr and not (tmp_path / "no").exists()

    recipe = json.loads(RECIPE.read_text())
    for node in ("node_d", "node_e"):
        recipe["nodes"][node]["node_type"] = {"node_type": "job", "job_type_name": "job-type-3",
                                              "job_type_version": "1.0", "job_type_revision": 1}
        # A condition node's outputs are its inputs: the example's node_c.output_a is node_c.input_b.
        recipe["nodes"][node]["input"]["input_b"]["output"] = "input_b"
    (tmp_path / "recipe.json").write_text(json.dumps(recipe))
    proc = seed("pipeline", "run", str(tmp_path / "recipe.json"), *maps, "--job-type", f"job-type-3:1.0={three}",
                "-i", f"foo={foo[0]}", "-i", f"foo={foo[1]}", "-j", "bar=7", "-o", str(tmp_path / "p"))
    assert proc.returncode == 0, proc.stderr
    steps = state(tmp_path / "p")["steps"]
    assert {n: s["state"] for n, s in steps.items()} == {
        "node_a": "succeeded", "node_b": "succeeded", "node_d": "succeeded", "node_e": "skipped"}
    node_b = steps["node_b"]["runs"][0]
    assert (tmp_path / "p" / node_b["run_dir"] / "outputs/b.tif").read_bytes() == \
        b"II*\x00x.tifII*\x00y.tifII*\x00x.tifII*\x00y.tif"
    node_d = steps["node_d"]["runs"][0]
    assert (tmp_path / "p" / node_d["run_dir"] / "outputs/d.tif").read_text() == "7\n"
    assert node_d["inputs_from"] == [node_b["run_id"]]


# -- the plan alone (no engine) --------------------------------------------------------------------------------

def _planning(tmp_path: Path, text: str) -> tuple[Any, Any, Any]:
    from seed_runner import load_manifest
    from seed_runner.pipelines import parse_pipeline
    from seed_runner.pipelines import state as st

    pipeline = parse_pipeline(text).pipeline
    jobs = Path(__file__).resolve().parents[1] / "sample_jobs"
    manifests = {name: load_manifest(jobs / step.image.split("-1.0.0")[0] / "seed.manifest.json")
                 for name, step in pipeline.steps.items()}
    state = st.PipelineState("p1", pipeline.name, tmp_path, {}, {"TEXT": {"files": ["/in.txt"]}, "LIMIT": {"value": 2}},
                             steps={name: st.StepState() for name in pipeline.steps})
    return pipeline, manifests, state


def _ended(state: Any, step: str, outputs: dict[str, Any], json_outputs: dict[str, Any] | None = None,
           count: int = 1) -> None:
    from seed_runner.pipelines import state as st

    state.steps[step].state = "succeeded"
    state.steps[step].runs = [st.RunState(i, f"{step}{i}", f"runs/{step}-{i}", "succeeded", outputs=outputs,
                                          json_outputs=json_outputs or {}) for i in range(count)]


def test_the_plan_decides_a_step_once_its_needs_have_ended(tmp_path: Path) -> None:
    from seed_runner.pipelines.plan import ready

    ids = iter(f"{n:012x}" for n in range(100))
    pipeline, manifests, state = _planning(tmp_path, EXAMPLE)
    first = ready(pipeline, manifests, state, lambda: next(ids))
    assert [(d.step, d.state, len(d.runs)) for d in first] == [("split", "run", 1)]
    assert first[0].runs[0].request.file_inputs == {"TEXT": ["/in.txt"]}
    state.steps["split"].state = "running"
    assert ready(pipeline, manifests, state, lambda: next(ids)) == []  # nothing else until split has ended

    parts = [{"path": f"part-{i}.txt", "media_type": "text/plain"} for i in (1, 2, 3)]
    _ended(state, "split", {"PARTS": parts}, {"COUNT": 3})
    upper = ready(pipeline, manifests, state, lambda: next(ids))
    assert [(d.step, d.state, len(d.runs)) for d in upper] == [("upper", "run", 3)]
    assert [r.request.file_inputs["PART"] for r in upper[0].runs] == \
        [[str(tmp_path / "runs/split-0/outputs" / p["path"])] for p in parts]
    assert all(r.inputs_from == ("split0",) and r.request.pipeline_id == "p1" for r in upper[0].runs)

    _ended(state, "upper", {"UPPER": [{"path": "x.txt"}]}, count=3)
    join = ready(pipeline, manifests, state, lambda: next(ids))
    assert [(d.step, d.state) for d in join] == [("join", "skipped")]  # COUNT 3 > LIMIT 2
    state.inputs["LIMIT"] = {"value": 3}
    join = ready(pipeline, manifests, state, lambda: next(ids))
    assert join[0].state == "run" and len(join[0].runs[0].request.file_inputs["PARTS"]) == 3
    assert join[0].runs[0].inputs_from == ("upper0", "upper1", "upper2")


def test_a_failure_stops_what_needs_it_and_several_files_into_one_is_a_failure(tmp_path: Path) -> None:
    from seed_runner.pipelines.plan import ready

    ids = iter(f"{n:012x}" for n in range(100))
    pipeline, manifests, state = _planning(tmp_path, EXAMPLE)
    state.steps["split"].state = "failed"
    decided = ready(pipeline, manifests, state, lambda: next(ids))
    assert [(d.step, d.state) for d in decided] == [("upper", "stopped")]
    state.steps["upper"].state = "stopped"
    assert [(d.step, d.state) for d in ready(pipeline, manifests, state, lambda: next(ids))] == [("join", "stopped")]

    single = EXAMPLE.replace("    forEach: split.PARTS                    # one run per file of split's output PARTS\n",
                             "").replace("inputs: {PART: item}", "inputs: {PART: split.PARTS}")
    pipeline, manifests, state = _planning(tmp_path, single)
    _ended(state, "split", {"PARTS": [{"path": "a"}, {"path": "b"}]}, {"COUNT": 2})
    decided = ready(pipeline, manifests, state, lambda: next(ids))
    assert decided[0].state == "failed" and "takes one file, but split.PARTS gave 2" in (decided[0].reason or "")


def test_for_each_over_a_json_array_input(tmp_path: Path) -> None:
    from seed_runner.pipelines.plan import ready

    text = EXAMPLE.replace("  LIMIT: {type: integer, default: 10}\n", "  LIMIT: {type: integer, default: 10}\n"
                           "  DELAYS: {type: array}\n").replace(
        "    forEach: split.PARTS                    # one run per file of split's output PARTS\n"
        "    inputs: {PART: item}", "    forEach: inputs.DELAYS\n    inputs: {PART: inputs.TEXT, DELAY: item}")
    pipeline, manifests, state = _planning(tmp_path, text)
    state.inputs["DELAYS"] = {"value": [0, 1, 2]}
    _ended(state, "split", {"PARTS": []}, {"COUNT": 0})
    ids = iter(f"{n:012x}" for n in range(100))
    decided = ready(pipeline, manifests, state, lambda: next(ids))
    assert [r.request.json_inputs for r in decided[0].runs] == [{"DELAY": 0}, {"DELAY": 1}, {"DELAY": 2}]
    assert [r.item for r in decided[0].runs] == [0, 1, 2]


def test_a_pipeline_in_use_is_not_resumed_by_another_process(tmp_path: Path) -> None:
    from seed_runner.pipelines import state as st
    from seed_runner.pipelines.start import PipelineRunError, resume_pipeline

    folder = st.claim(tmp_path / "p")
    st.write(st.PipelineState("abc", "n", folder, {}, {}))
    with st.hold(folder):  # as a running `seed pipeline run` holds it
        import multiprocessing

        with multiprocessing.get_context("spawn").Pool(1) as pool:
            message = pool.apply(_resume_message, (str(folder),))
    assert "in use by another process" in message and "\n" not in message
    with pytest.raises(PipelineRunError, match="does not hold the pipeline"):  # free again: it is read
        resume_pipeline(folder)


def _resume_message(folder: str) -> str:
    from seed_runner.pipelines.start import PipelineRunError, resume_pipeline

    try:
        resume_pipeline(folder)
    except PipelineRunError as exc:
        return str(exc)
    return "resumed"


def test_a_step_that_could_never_fit_is_refused_before_anything_starts(tmp_path: Path, home: Path,
                                                                      text_jobs: Any) -> None:
    pipeline = write(tmp_path, "big.yaml", EXAMPLE.replace("    inputs: {PART: item}",
                                                            "    inputs: {PART: item}\n    resources: {cpus: 64}"))
    text = write(tmp_path, "in.txt", "a\n")
    proc = seed("pipeline", "run", str(pipeline), "-i", f"TEXT={text}", "-o", str(tmp_path / "p"))
    assert proc.returncode == 2 and "does-not-fit" in proc.stderr and "step upper" in proc.stderr
    assert not (tmp_path / "p").exists()
