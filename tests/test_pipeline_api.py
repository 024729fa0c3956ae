"""The Python twins: workflows as code (a future's output as the input of the next run), a pipeline built in
Python run by ``seed_runner.pipelines.run``, and a damaged pipeline.json read as one line (fuzzed)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from seed_runner.executors import LocalExecutor, OutputRef
from seed_runner.pipelines import Connection, Pipeline, PipelineInput, Step
from seed_runner.pipelines.start import PipelineRunError, resume_pipeline
from seed_runner.runtime.plan import RunRequest
from seed_runner.store.history import runs as recorded

from .pipeline_fixtures import JOIN, SPLIT, UPPER, home, text_jobs  # noqa: F401


@pytest.mark.engine
def test_a_future_s_output_is_the_input_of_the_next_run(tmp_path: Path, home: Path, text_jobs: Any) -> None:
    text = tmp_path / "in.txt"
    text.write_text("abc\ndef\n")
    with LocalExecutor(parallel=2) as executor:
        split = executor.submit(RunRequest(SPLIT, file_inputs={"TEXT": [str(text)]}, run_dir=str(tmp_path / "s")))
        # submitted before split has ended: it waits for it
        join = executor.submit(RunRequest(JOIN, file_inputs={"PARTS": [split.output("PARTS")]},
                                          run_dir=str(tmp_path / "j")))
        upper = executor.submit(RunRequest(UPPER, file_inputs={"PART": [join.output("JOINED")]},
                                           run_dir=str(tmp_path / "u")))
        documents = [f.result(timeout=120).document for f in (split, join, upper)]
    assert [d["status"] for d in documents] == ["succeeded"] * 3
    assert (tmp_path / "u/outputs/joined.txt").read_text() == "ABC\nDEF\n"
    records = {r["id"]: r for r in recorded()}
    assert records[join.run_id]["input_runs"] == [split.run_id]  # the provenance links the two runs
    assert records[upper.run_id]["input_runs"] == [join.run_id]


@pytest.mark.engine
def test_a_run_whose_source_failed_never_starts(tmp_path: Path, home: Path, text_jobs: Any) -> None:
    quiet = tmp_path / "quiet.txt"
    quiet.write_text("quiet\n")
    with LocalExecutor() as executor:
        failed = executor.submit(RunRequest(UPPER, file_inputs={"PART": [str(quiet)]}, run_dir=str(tmp_path / "u")))
        after = executor.submit(RunRequest(JOIN, file_inputs={"PARTS": [OutputRef(failed, "UPPER")]},
                                           run_dir=str(tmp_path / "j")))
        document = after.result(timeout=120).document
    assert document["status"] == "cancelled" and f"run {failed.run_id} ended failed" in document["message"]
    assert not (tmp_path / "j").exists()


def shout_in_python() -> Pipeline:
    return Pipeline(
        name="shout-py", version="1.0",
        inputs={"TEXT": PipelineInput("TEXT", "file")},
        steps={"split": Step("split", image=SPLIT, inputs={"TEXT": Connection.input("TEXT")}),
               "upper": Step("upper", image=UPPER, for_each=Connection.output("split", "PARTS"),
                             inputs={"PART": Connection.item()}),
               "join": Step("join", image=JOIN, inputs={"PARTS": Connection.output("upper", "UPPER")})},
        outputs={"SHOUTED": Connection.output("join", "JOINED")})


@pytest.mark.engine
def test_a_pipeline_built_in_python_runs_and_resumes(tmp_path: Path, home: Path, text_jobs: Any) -> None:
    import seed_runner.pipelines as pipelines

    text = tmp_path / "in.txt"
    text.write_text("x\ny\n")
    result = pipelines.run(shout_in_python(), inputs={"TEXT": text}, folder=tmp_path / "p")
    assert result.status == "succeeded" and result.exit_status == 0
    assert (tmp_path / "p/outputs/SHOUTED/joined.txt").read_text() == "X\nY\n"
    again = resume_pipeline(tmp_path / "p")  # nothing left to do: every run kept
    assert again.status == "succeeded"
    before = {r["run_id"] for s in result.document["steps"].values() for r in s["runs"]}
    assert {r["run_id"] for s in again.document["steps"].values() for r in s["runs"]} == before


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.one_of(st.binary(max_size=300),
                 st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=8),
                              lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner,
                                                                                        max_size=3), max_leaves=10)
                 .map(lambda v: json.dumps({"pipeline_version": 1, "pipeline_id": "a", "name": "n", "steps": v,
                                            "definition": v, "inputs": v}).encode())))
def test_a_damaged_pipeline_json_is_one_line(tmp_path_factory: Any, data: bytes) -> None:
    folder = tmp_path_factory.mktemp("damaged")
    (folder / "pipeline.json").write_bytes(data)
    try:
        resume_pipeline(folder)
    except PipelineRunError as exc:
        assert "\n" not in str(exc) and str(exc)
    else:  # pragma: no cover - a damaged state must never run
        raise AssertionError("a damaged pipeline.json was resumed")


@pytest.mark.engine
def test_a_secret_is_written_nowhere_and_resume_asks_for_it_again(tmp_path: Path, home: Path,
                                                                   build_image: Any) -> None:
    import subprocess
    import sys
    import uuid

    from seed_runner.manifest.names import LABEL

    secret = f"s3cret-{uuid.uuid4().hex}"
    document = {"seedVersion": "1.0.0", "job": {
        "name": "pipe-secret", "jobVersion": "1.0.0", "packageVersion": "1.0.0", "title": "t", "description": "d",
        "maintainer": {"name": "n", "email": "n@example.com"}, "timeout": 30,
        "interface": {"command": "sh -c 'echo ${#TOKEN} > ${OUTPUT_DIR}/length.txt; echo $GREETING >> "
                                 "${OUTPUT_DIR}/length.txt'",
                      "settings": [{"name": "TOKEN", "secret": True}, {"name": "GREETING"}],
                      "outputs": {"files": [{"name": "LENGTH", "pattern": "length.txt"}]}}}}
    image = build_image(f"pipe-run-test/secret-{uuid.uuid4().hex[:8]}:1", labels={LABEL: json.dumps(document)})
    (tmp_path / "p.yaml").write_text(f"""\
seedPipeline: "1.0"
name: secret
steps:
  first:
    image: {image}
    settings: {{TOKEN: {{secret: true}}, GREETING: hi}}
  second:
    image: {image}
    settings: {{TOKEN: {{secret: true}}, GREETING: again}}
    after: [first]
""")
    seed = str(Path(sys.executable).with_name("seed"))
    ran = subprocess.run([seed, "pipeline", "run", str(tmp_path / "p.yaml"), "-e", f"first.TOKEN={secret}",
                          "-e", f"second.TOKEN={secret}x", "-o", str(tmp_path / "run"), "-j", "X=1"],
                         capture_output=True, text=True, timeout=120)
    assert ran.returncode == 2 and "no input X" in ran.stderr  # refused: nothing written
    ran = subprocess.run([seed, "pipeline", "run", str(tmp_path / "p.yaml"), "-e", f"first.TOKEN={secret}",
                          "-e", f"second.TOKEN={secret}x", "-o", str(tmp_path / "run")],
                         capture_output=True, text=True, timeout=120)
    assert ran.returncode == 0, ran.stderr
    first = json.loads((tmp_path / "run/pipeline.json").read_text())["steps"]["first"]["runs"][0]
    assert (tmp_path / "run" / first["run_dir"] / "outputs/length.txt").read_text() == f"{len(secret)}\nhi\n"
    written = b"".join(p.read_bytes() for p in (tmp_path / "run").rglob("*") if p.is_file())
    written += b"".join(p.read_bytes() for p in home.glob("*") if p.is_file())
    assert secret.encode() not in written and b"hi" in written

    # resume asks for the secret again: without it, refused (nothing runs); the rest is as recorded
    state = json.loads((tmp_path / "run/pipeline.json").read_text())
    state["steps"]["second"] = {"state": "pending", "reason": None, "runs": []}
    (tmp_path / "run/pipeline.json").write_text(json.dumps(state))
    refused = subprocess.run([seed, "pipeline", "resume", str(tmp_path / "run")], capture_output=True, text=True,
                             timeout=120)
    assert refused.returncode == 2 and "setting TOKEN has no value" in refused.stderr
    resumed = subprocess.run([seed, "pipeline", "resume", str(tmp_path / "run"), "-e", f"TOKEN={secret}"],
                             capture_output=True, text=True, timeout=120)
    assert resumed.returncode == 0, resumed.stderr
    second = json.loads((tmp_path / "run/pipeline.json").read_text())["steps"]["second"]["runs"][0]
    assert (tmp_path / "run" / second["run_dir"] / "outputs/length.txt").read_text() == f"{len(secret)}\nagain\n"
