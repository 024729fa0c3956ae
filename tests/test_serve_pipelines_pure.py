"""A pipeline's process description, without Docker: derived from the pipeline and its steps' manifests, valid
against the official `process` schema, and an execute request read against it as against a job's."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings, strategies as st

from seed_runner.manifest.model import Manifest
from seed_runner.pipelines.loading import parse_pipeline
from seed_runner.service.documents import process_description
from seed_runner.service.execute_request import BadExecute, read_execute
from seed_runner.service.pipeline_processes import description_extra, pipeline_manifest, pipeline_version

sys.path.insert(0, str(Path(__file__).parent))
from ogc_schemas import check  # noqa: E402
from pipeline_fixtures import EXAMPLE  # noqa: E402

REPO = Path(__file__).resolve().parents[1]


def _manifests() -> dict[str, Manifest]:
    read = {name: Manifest.from_dict(json.loads((REPO / "sample_jobs" / f"text-{name}" / "seed.manifest.json")
                                                .read_text())) for name in ("split", "upper", "join")}
    return read


def _pipeline(text: str = EXAMPLE):  # type: ignore[no-untyped-def]
    loaded = parse_pipeline(text)
    assert loaded.pipeline is not None, loaded.problems
    return loaded.pipeline


def test_the_shout_pipeline_is_described_as_a_process() -> None:
    pipeline = _pipeline()
    manifest = pipeline_manifest(pipeline, _manifests())
    described = check("process", {**process_description(manifest, "http://x"), **description_extra(pipeline)})
    assert described["id"] == "shout" and described["version"] == pipeline_version(pipeline)
    assert described["inputs"]["TEXT"]["minOccurs"] == 1 and described["inputs"]["LIMIT"]["minOccurs"] == 0
    assert described["outputs"]["SHOUTED"]["schema"]["contentMediaType"] == "text/plain"
    assert "3 steps" in described["description"] and "text-upper-1.0.0-seed:1.0.0" in described["description"]
    assert described["seedPipeline"]["steps"][1] == {"name": "upper", "image": "text-upper-1.0.0-seed:1.0.0",
                                                     "needs": ["split"], "forEach": "split.PARTS"}


def test_a_fan_out_s_output_is_many_files_and_a_changed_pipeline_a_new_version() -> None:
    fanned = EXAMPLE.replace("SHOUTED: join.JOINED", "SHOUTED: join.JOINED\n  PARTS: upper.UPPER")
    pipeline = _pipeline(fanned)
    described = process_description(pipeline_manifest(pipeline, _manifests()), "http://x")
    assert described["outputs"]["PARTS"]["schema"]["type"] == "array"
    assert pipeline_version(pipeline) != pipeline_version(_pipeline())


def test_an_execute_request_is_read_against_the_pipeline_s_inputs() -> None:
    manifest = pipeline_manifest(_pipeline(), _manifests())
    wanted = read_execute({"inputs": {"TEXT": "hello", "LIMIT": 3}}, manifest)
    assert wanted.json_inputs == {"LIMIT": 3} and list(wanted.file_inputs) == ["TEXT"]
    with pytest.raises(BadExecute, match="TEXT"):
        read_execute({"inputs": {"LIMIT": 3}}, manifest)
    with pytest.raises(BadExecute, match="SETTING"):
        read_execute({"inputs": {"TEXT": "x", "SETTING": "secret"}}, manifest)  # never an input: no way to settings


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=400))
def test_any_pipeline_that_loads_gets_a_valid_description(text: str) -> None:
    loaded = parse_pipeline(EXAMPLE + text)
    if loaded.pipeline is None:
        return
    manifest = pipeline_manifest(loaded.pipeline, {})  # no step read: every output typed as files
    check("process", {**process_description(manifest, "http://x"), **description_extra(loaded.pipeline)})


_NAMES = st.from_regex(r"[A-Z][A-Z0-9_]{0,8}", fullmatch=True)
_JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=10),
                     lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner,
                                                                                max_size=3), max_leaves=8)


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(_NAMES, st.fixed_dictionaries(
           {"type": st.sampled_from(["file", "string", "integer", "number", "boolean", "object", "array", "x"])},
           optional={"mediaTypes": st.lists(st.text(max_size=30), max_size=3), "multiple": st.booleans(),
                     "required": st.booleans()}), max_size=4),
       st.dictionaries(_NAMES, st.one_of(st.sampled_from(["split.PARTS", "split.COUNT", "inputs.TEXT", "nope.X"]),
                                         st.builds(lambda v: {"value": v}, _JSON)), max_size=4))
def test_hostile_inputs_and_outputs_give_a_valid_description_or_a_problem(inputs: dict, outputs: dict) -> None:
    document = {"seedPipeline": "1.0", "name": "fuzzed", "inputs": {"TEXT": {"type": "file"}, **inputs},
                "steps": {"split": {"image": "text-split-1.0.0-seed:1.0.0", "inputs": {"TEXT": "inputs.TEXT"}}},
                "outputs": outputs}
    loaded = parse_pipeline(json.dumps(document))
    if loaded.pipeline is None:
        assert loaded.problems
        return
    manifest = pipeline_manifest(loaded.pipeline, _manifests())
    check("process", {**process_description(manifest, "http://x"), **description_extra(loaded.pipeline)})
