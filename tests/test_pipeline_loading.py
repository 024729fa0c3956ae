"""Reading a pipeline file: the issue's example as written, every key, connections, places, the schema."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
from typer.testing import CliRunner

from seed_runner.cli.app import app
from seed_runner.manifest.schemas import schema_path
from seed_runner.pipelines.loading import PipelineError, load_pipeline, parse_pipeline
from seed_runner.pipelines.model import MISSING, Connection, Position
from seed_runner.pipelines.writing import dump_yaml, to_document

from .test_pipeline_check import SHOUT

EXAMPLE = """\
seedPipeline: "1.0"
name: shout
inputs:
  TEXT: {type: file, mediaTypes: [text/plain]}
  LIMIT: {type: integer, default: 10}
steps:
  split:
    image: text-split-1.0.0-seed:1.0.0      # or  manifest: path/to/seed.manifest.json  while developing
    inputs:
      TEXT: inputs.TEXT
  upper:
    image: text-upper-1.0.0-seed:1.0.0
    forEach: split.PARTS                    # one run per file of split's output PARTS
    inputs:
      PART: item
  join:
    image: text-join-1.0.0-seed:1.0.0
    when: {filters: [{name: split.COUNT, type: integer, condition: "<=", values: [inputs.LIMIT]}]}
    inputs:
      PARTS: upper.UPPER                    # fan-in: every file of every run of upper, as one multiple input
outputs:
  SHOUTED: join.JOINED
"""


def test_the_issue_example_reads_as_written() -> None:
    loaded = parse_pipeline(EXAMPLE)
    assert loaded.problems == [] and loaded.kind == "pipeline"
    p = loaded.pipeline
    assert (p.name, p.version, list(p.steps)) == ("shout", "1.0", ["split", "upper", "join"])
    assert p.inputs["TEXT"].is_file and p.inputs["TEXT"].media_types == ("text/plain",) and p.inputs["TEXT"].required
    assert p.inputs["LIMIT"].default == 10 and not p.inputs["LIMIT"].required
    assert p.steps["split"].inputs["TEXT"] == Connection.input("TEXT")
    assert p.steps["upper"].for_each == Connection.output("split", "PARTS")
    assert p.steps["upper"].inputs["PART"] == Connection.item()
    (condition,) = p.steps["join"].conditions
    assert condition.accept_when and condition.all
    (item,) = condition.filters
    assert (item.name, item.type, item.condition, item.values) == (
        Connection.output("split", "COUNT"), "integer", "<=", (Connection.input("LIMIT"),))
    assert p.outputs == {"SHOUTED": Connection.output("join", "JOINED")}
    assert p.order() == ("split", "upper", "join")
    assert p.downstream("split") == {"upper", "join"}


def test_places_are_the_keys_and_values_as_written() -> None:
    p = parse_pipeline(EXAMPLE).pipeline
    assert p.steps["upper"].position == Position(11, 3)
    assert p.steps["upper"].for_each.position == Position(13, 14)
    assert p.steps["upper"].place("forEach") == Position(13, 5)
    assert p.steps["join"].inputs["PARTS"].position == Position(20, 14)
    assert p.steps["join"].place("inputs.PARTS") == Position(20, 7)
    assert p.inputs["LIMIT"].position == Position(5, 3)


def test_json_is_yaml_too() -> None:
    document = to_document(parse_pipeline(EXAMPLE).pipeline)
    again = parse_pipeline(json.dumps(document, indent=2))
    assert again.problems == [] and again.pipeline == parse_pipeline(EXAMPLE).pipeline


def test_every_other_key() -> None:
    text = """\
seedPipeline: "1.0"
name: all-keys
description: every key there is
inputs:
  N: {type: number, required: false, description: a number}
  FILES: {type: file, multiple: true}
steps:
  a:
    manifest: jobs/a.json
    description: the first
    inputs:
      X: {value: {nested: [1, 2]}}
      Y: inputs.N
    settings: {MODE: fast, LEVEL: 3, ON: true, TOKEN: {secret: true}}
    mounts: {DATA: /srv/data}
    resources: {cpus: 0.5, mem: 512}
  b:
    image: b:1
    after: [a]
    unless: {filters: [{name: inputs.N, type: number, condition: between, values: [1, 2]}], all: false}
    when: {filters: [{name: inputs.N, type: number, condition: ">", values: [0]}], acceptance: false}
"""
    loaded = parse_pipeline(text, source=Path("/work/p/pipeline.yaml"))
    assert loaded.problems == []
    a, b = loaded.pipeline.steps["a"], loaded.pipeline.steps["b"]
    assert a.manifest == Path("/work/p/jobs/a.json") and a.image is None
    assert a.inputs["X"] == Connection.literal({"nested": [1, 2]})
    assert dict(a.settings) == {"MODE": "fast", "LEVEL": "3", "ON": "true", "TOKEN": None}
    assert dict(a.mounts) == {"DATA": "/srv/data"} and dict(a.resources) == {"cpus": 0.5, "mem": 512.0}
    assert b.after == ("a",) and b.needs() == {"a"}
    # when with acceptance: false -> accept_when False (Scale's else branch); unless -> False too
    assert [(c.accept_when, c.all) for c in b.conditions] == [(False, True), (False, False)]
    assert loaded.pipeline.inputs["N"].default is MISSING and not loaded.pipeline.inputs["N"].required
    assert loaded.pipeline.inputs["FILES"].multiple


def test_filter_values_are_references_only_when_they_name_an_input_or_a_step() -> None:
    text = EXAMPLE.replace("values: [inputs.LIMIT]", 'values: [inputs.LIMIT, split.COUNT, notes.txt, {value: split.X}]')
    (item,) = parse_pipeline(text).pipeline.steps["join"].conditions[0].filters
    assert item.values == (Connection.input("LIMIT"), Connection.output("split", "COUNT"), "notes.txt", "split.X")


def test_write_and_read_back_are_the_same_pipeline() -> None:
    first = parse_pipeline(SHOUT, source=Path("/x/p.yaml")).pipeline
    text = dump_yaml(first, relative_to=Path("/x"))
    assert "manifest: text-split.manifest.json" in text
    assert parse_pipeline(text, source=Path("/x/p.yaml")).pipeline == first


@pytest.mark.parametrize("text, code, line, column", [
    ("seedPipeline: '2.0'\nname: x\nsteps: {a: {image: i}}\n", "schema", 1, 15),
    ("seedPipeline: '1.0'\nname: x\nsteps: {}\n", "schema", 3, 8),
    ("seedPipeline: '1.0'\nname: x\nsteps: {a: {description: no image}}\n", "schema", 3, 9),
    ("seedPipeline: '1.0'\nname: x\nsteps: {a: {image: i, inputs: {X: 'in puts'}}}\n", "schema", 3, 35),
    ("seedPipeline: '1.0'\nname: x\nsteps: {item: {image: i}}\n", "schema", 3, 9),
    ("seedPipeline: '1.0'\nname: x\nsteps: {a: {image: i, resources: {cpus: -1}}}\n", "schema", 3, 41),
    ("name: [unclosed\n", "invalid-yaml", 2, 1),
    ("- a\n- b\n", "schema", 1, 1),
])
def test_problems_name_their_place(text: str, code: str, line: int, column: int) -> None:
    loaded = parse_pipeline(text)
    assert loaded.pipeline is None
    assert (loaded.problems[0].code, loaded.problems[0].line, loaded.problems[0].column) == (code, line, column)
    assert "\n" not in loaded.problems[0].message


def test_load_pipeline_raises_one_line_naming_the_place(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text("seedPipeline: '1.0'\nname: x\nsteps: {a: {imag: i}, b: {image: j, forEach: item}}\n")
    with pytest.raises(PipelineError) as caught:
        load_pipeline(path)
    assert str(caught.value).startswith(f"{path}:3:")
    assert "more; `seed pipeline check` lists them" in str(caught.value) and "\n" not in str(caught.value)
    with pytest.raises(PipelineError, match="cannot read"):
        load_pipeline(tmp_path / "missing.yaml")


def test_the_schema_is_printed_and_holds_the_example() -> None:
    result = CliRunner().invoke(app, ["schema", "pipeline"])
    assert result.exit_code == 0
    schema = json.loads(result.stdout)
    assert schema == json.loads(schema_path("pipeline").read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    import yaml

    jsonschema.validate(yaml.safe_load(EXAMPLE), schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**yaml.safe_load(EXAMPLE), "extra": 1}, schema)
