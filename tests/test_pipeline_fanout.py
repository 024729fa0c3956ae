"""Very large fan-outs: a forEach past the limit is refused in one line (before anything runs when its size is
known then), a fan-out of thousands is planned in little memory, and only a window of its runs is in the
executor's hands at once (a real LocalExecutor, real containers)."""

from __future__ import annotations

import tracemalloc
from pathlib import Path
from typing import Any

import pytest

import seed_runner
from seed_runner.executors import LocalExecutor
from seed_runner.pipelines import state as st
from seed_runner.pipelines.loading import parse_pipeline
from seed_runner.pipelines.plan import MAX_FOR_EACH, ready
from seed_runner.pipelines.running import RunEvent
from seed_runner.pipelines.start import run_pipeline

from .pipeline_fixtures import REPO, UPPER, containers_left, home, run_ids, seed, text_jobs  # noqa: F401

FAN_OUT = f"""\
seedPipeline: "1.0"
name: many
inputs:
  PARTS: {{type: file, multiple: true}}
  DELAY: {{type: integer, default: 0}}
steps:
  upper:
    image: {UPPER}
    forEach: inputs.PARTS
    inputs: {{PART: item, DELAY: inputs.DELAY}}
"""


def _planned(count: int, max_items: int = MAX_FOR_EACH) -> list[Any]:
    pipeline = parse_pipeline(FAN_OUT).pipeline
    assert pipeline is not None
    manifest = seed_runner.load_manifest(REPO / "sample_jobs/text-upper/seed.manifest.json")
    state = st.PipelineState("0" * 12, "many", Path("/nowhere/p"), {}, {
        "PARTS": {"files": [f"/nowhere/in/part-{n:05d}.txt" for n in range(count)]}, "DELAY": {"value": 0}},
        steps={"upper": st.StepState()})
    ids = iter(range(10**9))
    return ready(pipeline, {"upper": manifest}, state, lambda: f"{next(ids):012x}", max_items=max_items)


def test_a_fan_out_of_thousands_is_planned_in_little_memory() -> None:
    tracemalloc.start()
    try:
        decisions = _planned(5000)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert [(d.step, d.state, len(d.runs)) for d in decisions] == [("upper", "run", 5000)]
    assert decisions[0].runs[4999].request.file_inputs == {"PART": ["/nowhere/in/part-04999.txt"]}
    assert peak < 40 * 2**20, f"planning 5000 runs peaked at {peak / 2**20:.1f} MiB"  # about 3 KiB a run


def test_a_fan_out_past_the_limit_fails_its_step_in_one_line() -> None:
    [decision] = _planned(31, max_items=30)
    assert decision.state == "failed" and decision.runs == ()
    assert decision.reason == ("step upper: forEach inputs.PARTS gives 31 items, more than the limit of 30; raise "
                               "it with --max-items 31 (max_items=31 in Python) if that many runs are meant")
    assert _planned(30, max_items=30)[0].state == "run"


@pytest.mark.engine
def test_a_fan_out_over_an_input_past_the_limit_is_refused_before_anything_runs(
        tmp_path: Path, home: Path, text_jobs: Any) -> None:
    (tmp_path / "many.yaml").write_text(FAN_OUT)
    parts = []
    for n in range(4):
        parts += ["-i", f"PARTS={tmp_path / f'p{n}.txt'}"]
        (tmp_path / f"p{n}.txt").write_text(f"part {n}\n")
    refused = seed("pipeline", "run", str(tmp_path / "many.yaml"), *parts, "--max-items", "3", "-o",
                   str(tmp_path / "p"), cwd=tmp_path)
    assert refused.returncode == 2, refused.stderr
    assert "too-many-items" in refused.stderr and "gives 4 items, more than the limit of 3" in refused.stderr
    assert "Traceback" not in refused.stderr and not (tmp_path / "p").exists()  # nothing ran, no folder
    ran = seed("pipeline", "run", str(tmp_path / "many.yaml"), *parts, "--max-items", "4", "-o",
               str(tmp_path / "p"), cwd=tmp_path)
    assert ran.returncode == 0, ran.stderr


@pytest.mark.engine
def test_only_a_window_of_a_large_fan_out_is_submitted_at_once(tmp_path: Path, home: Path, text_jobs: Any,
                                                                 docker_client: Any) -> None:
    count = 2000
    (tmp_path / "in").mkdir()
    for n in range(count):
        (tmp_path / "in" / f"part-{n:05d}.txt").write_text(f"part {n}\n")
    (tmp_path / "many.yaml").write_text(FAN_OUT)
    executor = LocalExecutor(parallel=1)
    window = executor.submit_window
    assert window < count
    in_flight: list[int] = [0]
    most = [0]
    ended = [0]

    def count_runs(event: RunEvent) -> None:
        if event.kind == "started":
            in_flight[0] += 1
            most[0] = max(most[0], in_flight[0])
        elif event.kind == "ended":
            in_flight[0] -= 1
            ended[0] += 1
            if ended[0] == 3:  # enough seen: stop it as Ctrl-C would
                raise KeyboardInterrupt

    try:
        result = run_pipeline(tmp_path / "many.yaml", inputs={"PARTS": sorted((tmp_path / "in").iterdir())},
                              json_inputs={"DELAY": 1}, folder=tmp_path / "p", executor=executor, cache=False,
                              on_event=count_runs)
    finally:
        executor.close(cancel=True)
    assert result.status == "interrupted"
    assert most[0] == window, f"{most[0]} runs were submitted at once; the window is {window}"
    runs = result.document["steps"]["upper"]["runs"]
    assert len(runs) == count  # every run is known (and recorded), only the window was submitted
    never = [r for r in runs if not r["request"]]  # compact until submitted: no request record yet
    assert count - window - 2 <= len(never) <= count - window  # a run or two submitted as the first ended
    assert {(r["status"], r["attempts"]) for r in never} == {("interrupted", 0)}
    assert containers_left(docker_client, run_ids(tmp_path / "p")) == []


@pytest.mark.engine
def test_a_fan_out_over_a_step_s_output_past_the_limit_fails_its_step_and_resumes_when_raised(
        tmp_path: Path, home: Path, text_jobs: Any) -> None:
    from .pipeline_fixtures import EXAMPLE, state

    (tmp_path / "shout.yaml").write_text(EXAMPLE)
    (tmp_path / "in.txt").write_text("one\ntwo\nthree\n")
    folder = tmp_path / "p"
    ran = seed("pipeline", "run", "shout.yaml", "-i", "TEXT=in.txt", "-o", str(folder), "--max-items", "2",
               cwd=tmp_path)
    assert ran.returncode == 1, ran.stderr
    assert "seed: upper failed: step upper: forEach split.PARTS gives 3 items, more than the limit of 2; raise it " \
           "with --max-items 3" in ran.stderr
    split = state(folder)["steps"]["split"]["runs"][0]["run_id"]
    resumed = seed("pipeline", "resume", str(folder), "--max-items", "3")
    assert resumed.returncode == 0, resumed.stderr
    after = state(folder)
    assert after["steps"]["split"]["runs"][0]["run_id"] == split  # kept, not repeated
    assert [r["status"] for r in after["steps"]["upper"]["runs"]] == ["succeeded"] * 3
    assert (folder / "outputs/SHOUTED/joined.txt").read_text() == "ONE\nTWO\nTHREE\n"
