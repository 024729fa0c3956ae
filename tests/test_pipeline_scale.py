"""Scale recipe definitions: Scale's own full example converted, checked and written as a pipeline file."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from seed_runner.cli.app import app
from seed_runner.pipelines.checking import check_pipeline
from seed_runner.pipelines.loading import parse_pipeline, read_pipeline
from seed_runner.pipelines.scale import parse_job_types

REPO = Path(__file__).resolve().parents[1]
FULL = REPO.parent / "shared" / "scale-examples" / "recipes" / "recipe-definition-v6-full.json"


def _write_manifest(folder: Path, name: str, inputs: dict, outputs: dict) -> Path:
    """A test job type's manifest (a file: no engine needed)."""
    base = json.loads((REPO / "tests" / "data" / "pipeline_check" / "text-split.manifest.json").read_text())
    base["job"]["name"] = name
    base["job"]["interface"] = {"command": "${OUTPUT_DIR}", "inputs": inputs, "outputs": outputs}
    path = folder / f"{name}.manifest.json"
    path.write_text(json.dumps(base))
    return path


@pytest.fixture
def job_types(tmp_path: Path) -> dict[str, str]:
    """The example's job types mapped to manifests that fit its connections."""
    tiffs = {"name": "input_a", "mediaTypes": ["image/tiff"], "multiple": True}
    one = _write_manifest(tmp_path, "job-type-1", {"files": [tiffs]},
                          {"files": [{"name": "output_a", "pattern": "*.tif", "mediaType": "image/tiff",
                                      "multiple": True}]})
    two = _write_manifest(tmp_path, "job-type-2",
                          {"files": [tiffs, {"name": "input_b", "multiple": True}]},
                          {"files": [{"name": "output_a", "pattern": "*.tif", "mediaType": "image/tiff",
                                      "multiple": True}]})
    three = _write_manifest(tmp_path, "job-type-3",
                            {"files": [{"name": "input_b", "multiple": True}],
                             "json": [{"name": "input_a", "type": "integer", "required": False}]},
                            {"files": [{"name": "out", "pattern": "*"}]})
    return {"job-type-1:1.0": f"manifest:{one}", "job-type-2:2.0": f"manifest:{two}",
            "job-type-3:1.0": f"manifest:{three}"}


def _line_of(text: str, snippet: str) -> int:
    return text[: text.index(snippet)].count("\n") + 1


def test_the_full_example_converts_and_its_sub_recipes_are_refused_at_their_lines(job_types: dict) -> None:
    text = FULL.read_text()
    result = check_pipeline(FULL, job_types=job_types)
    assert result.kind == "scale"
    assert [(p.code, p.line, p.column) for p in result.problems] == [
        ("unused-input", _line_of(text, '"name": "bar"') - 1, 7),  # its entry; only sub-recipes read it
        ("scale-sub-recipe", _line_of(text, '"node_d"'), 5), ("scale-sub-recipe", _line_of(text, '"node_e"'), 5)]
    assert "sub-recipe" in result.problems[1].message and "recipe-type-1" in result.problems[1].message
    pipeline = result.pipeline
    assert list(pipeline.steps) == ["node_a", "node_b"]
    assert pipeline.inputs["foo"].multiple and pipeline.inputs["foo"].media_types == ("image/tiff",)
    assert pipeline.inputs["bar"].type == "integer" and not pipeline.inputs["bar"].required
    assert pipeline.steps["node_b"].inputs["input_b"].text == "node_a.output_a"
    assert pipeline.steps["node_b"].after == ()  # its input from node_a says it already
    assert pipeline.steps["node_b"].needs() == {"node_a"}


def _with_job_nodes() -> dict:
    """The full example with its two sub-recipe nodes made job nodes (reading node_c's passed-on input_b)."""
    recipe = json.loads(FULL.read_text())
    for name in ("node_d", "node_e"):
        node = recipe["nodes"][name]
        node["node_type"] = {"node_type": "job", "job_type_name": "job-type-3", "job_type_version": "1.0",
                             "job_type_revision": 1}
        node["input"]["input_b"]["output"] = "input_b"
    return recipe


def test_condition_nodes_become_when_and_unless_with_their_outputs_resolved(job_types: dict) -> None:
    loaded = parse_pipeline(json.dumps(_with_job_nodes(), indent=2), job_types=job_types)
    assert loaded.problems == []
    d, e = loaded.pipeline.steps["node_d"], loaded.pipeline.steps["node_e"]
    assert d.inputs["input_b"].text == "node_b.output_a"  # through the condition node, to its source
    assert [c.accept_when for c in d.conditions] == [True] and [c.accept_when for c in e.conditions] == [False]
    (condition,) = d.conditions
    assert condition.origin == "node_c" and condition.filters[0].name.text == "node_b.output_a"
    assert condition.filters[0].type == "media-type" and condition.filters[0].values == ("image/tiff",)
    assert d.after == () and d.needs() == {"node_b"}


def test_converted_recipe_checks_clean_and_round_trips(tmp_path: Path, job_types: dict) -> None:
    recipe = tmp_path / "recipe.json"
    recipe.write_text(json.dumps(_with_job_nodes(), indent=2))
    result = check_pipeline(recipe, job_types=job_types)
    assert [p.code for p in result.problems] == []
    out = tmp_path / "converted.yaml"
    cli = CliRunner().invoke(app, ["pipeline", "convert", str(recipe), "-o", str(out),
                                   *[f"--job-type={k}={v}" for k, v in job_types.items()]])
    assert cli.exit_code == 0, cli.output
    text = out.read_text()
    assert "unless:" in text and "when:" in text and "seedPipeline: '1.0'" in text
    again = read_pipeline(out)
    assert again.kind == "pipeline" and again.problems == []
    assert again.pipeline.steps == result.pipeline.steps and again.pipeline.inputs == result.pipeline.inputs
    checked = check_pipeline(out)
    assert checked.problems == []


def test_convert_refuses_with_every_problem_listed(tmp_path: Path) -> None:
    recipe = tmp_path / "full.json"
    shutil.copy(FULL, recipe)
    cli = CliRunner().invoke(app, ["pipeline", "convert", str(recipe), "--job-type", "job-type-1:1.0=img:1"])
    assert cli.exit_code == 1
    lines = cli.stderr.splitlines()
    assert sum("scale-sub-recipe" in line for line in lines) == 2
    assert any("unmapped-job-type" in line and "job-type-2:2.0" in line for line in lines)
    assert lines[-1].endswith("not converted: 3 errors")
    assert cli.stdout == ""


def test_check_of_a_recipe_names_each_unmapped_job_type(tmp_path: Path, job_types: dict) -> None:
    recipe = tmp_path / "recipe.json"
    recipe.write_text(json.dumps(_with_job_nodes(), indent=2))
    cli = CliRunner().invoke(app, ["pipeline", "check", str(recipe)])
    assert cli.exit_code == 1
    unmapped = [line for line in cli.stdout.splitlines() if "unmapped-job-type" in line]
    assert len(unmapped) == 4 and all(line.startswith(f"{recipe}:") for line in unmapped)
    # Paths name the recipe's own members, not the converted pipeline's.
    assert " $.nodes.node_a: " in unmapped[0]
    recipe_json = _with_job_nodes()
    recipe_json["nodes"]["node_b"]["input"]["input_b"]["output"] = "nope"
    recipe.write_text(json.dumps(recipe_json, indent=2))
    problems = check_pipeline(recipe, job_types=job_types).problems
    assert [(p.code, p.path) for p in problems] == [("unknown-output", "$.nodes.node_b.input.input_b")]


@pytest.mark.parametrize("bad", ["job-type-1:1.0", "=img", "job-type-1:1.0="])
def test_a_bad_job_type_option_is_a_usage_error(bad: str) -> None:
    with pytest.raises(ValueError, match="NAME:VERSION=IMAGE"):
        parse_job_types([bad])
    cli = CliRunner().invoke(app, ["pipeline", "check", str(FULL), "--job-type", bad])
    assert cli.exit_code == 2


def test_versions_other_than_6_and_7_are_refused() -> None:
    loaded = parse_pipeline('{"version": "1.0", "nodes": {}}')
    assert [(p.code, p.line, p.column) for p in loaded.problems] == [("scale-version", 1, 13)]
    assert loaded.pipeline is None


def test_a_dependency_that_carries_no_data_becomes_after() -> None:
    job = {"node_type": "job", "job_type_name": "t", "job_type_version": "1", "job_type_revision": 1}
    recipe = {"version": "7", "input": {"json": [{"name": "n", "type": "integer"}]}, "nodes": {
        "a": {"dependencies": [], "input": {"X": {"type": "recipe", "input": "n"}}, "node_type": job},
        "b": {"dependencies": [{"name": "a"}, {"name": "ghost"}], "input": {"X": {"type": "recipe", "input": "n"}},
              "node_type": job}}}
    text = json.dumps(recipe, indent=2)
    loaded = parse_pipeline(text, job_types={"t": "t:1"})
    assert loaded.pipeline.steps["b"].after == ("a",) and loaded.pipeline.steps["a"].image == "t:1"
    assert [(p.code, p.line) for p in loaded.problems] == [("unknown-step", _line_of(text, '"name": "ghost"') - 1)]
