"""Hostile pipeline files: each gives one-line problems (or a pipeline), never a traceback, and in bounded time.

Alias bombs, deep nesting, huge numbers, duplicate keys, tags that construct Python objects, bytes that are not
UTF-8, and documents of every shape generated around a valid pipeline; `check` then runs on whatever was read.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from seed_runner.cli.app import app
from seed_runner.pipelines import graph
from seed_runner.pipelines.check import check
from seed_runner.pipelines.loading import parse_pipeline
from seed_runner.pipelines.writing import to_document

from .test_pipeline_loading import EXAMPLE


def _one_line_problems_or_a_pipeline(data: bytes | str) -> Any:
    loaded = parse_pipeline(data)
    for problem in loaded.problems:
        assert problem.message and "\n" not in problem.message and "\r" not in problem.message
        assert "Traceback" not in problem.message
    if loaded.pipeline is not None:
        for problem in check(loaded.pipeline, {}):  # no manifests: every name-only check still runs
            assert "\n" not in problem.message
        graph.svg(loaded.pipeline)
        graph.mermaid(loaded.pipeline)
    else:
        assert loaded.problems, "no pipeline and no problem"
    return loaded


def _bomb(levels: int, width: int = 10) -> str:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, levels):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * width) + "]")
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("text, code", [
    (_bomb(9), "too-many-nodes"),                                # a billion laughs
    ("x: " + "[" * 5000 + "]" * 5000 + "\n", None),             # deep nesting (the composer's own limit, or ours)
    ("x: " + "{a: " * 80 + "1" + "}" * 80 + "\n", "too-deeply-nested"),
    ("x: " + "9" * 5000 + "\n", "number-too-large"),
    ("x: 18446744073709551616\n", "number-too-large"),
    ("x: 1.0e+999\n", "invalid-number"),
    ("x: .nan\n", "invalid-number"),
    ("a: 1\na: 2\n", "duplicate-key"),
    ("x: !!python/object/apply:os.system [echo pwned]\n", "unsupported-tag"),
    ("x: !!binary aGVsbG8=\n", "unsupported-tag"),
    ("x: !custom 1\n", "unsupported-tag"),
    ("x: &a [*a]\n", None),                                      # a recursive alias
    ("? [a, b]\n: c\n", "invalid-key"),
    ("x: {<<: 3}\n", "invalid-merge"),
    ("a: 1\n---\nb: 2\n", "invalid-yaml"),                       # two documents
    ("", "empty-document"),
    ("# only a comment\n", "empty-document"),
])
def test_hostile_yaml_gives_one_line_problems(text: str, code: str | None) -> None:
    loaded = _one_line_problems_or_a_pipeline(text)
    assert loaded.pipeline is None
    if code is not None:
        assert loaded.problems[0].code == code, loaded.problems


def test_bytes_that_are_not_utf8_and_huge_files() -> None:
    assert parse_pipeline(b"name: \xff\xfe\n").problems[0].code == "invalid-encoding"
    assert parse_pipeline(b"x" * (5 * 1024 * 1024)).problems[0].code == "document-too-large"


def test_the_cli_says_one_line_a_problem_for_a_bomb(tmp_path: Path) -> None:
    path = tmp_path / "bomb.yaml"
    path.write_text(_bomb(9))
    result = CliRunner().invoke(app, ["pipeline", "check", str(path)])
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert len(lines) == 2 and lines[0].startswith(f"{path}:") and "too-many-nodes" in lines[0]
    assert "Traceback" not in result.output


FRAGMENTS = ["&a ", "*a", "<<: ", "[", "]", "{", "}", ", ", ": ", "- ", "\n", "  ", "\t", "'", '"', "!!str ",
             "!!python/name:os.system ", "!x ", "? ", "9" * 30, "1e400", ".inf", "~", "yes", "inputs.X", "item",
             "seedPipeline: '1.0'\n", "name: n\n", "steps:\n", "  a:\n", "    image: i\n", "    inputs:\n",
             "      X: ", "forEach: ", "when: ", "filters: ", "%YAML 1.1\n", "---\n", "...\n", "\x00", "\ufeff",
             "\u2028", "é"]


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(FRAGMENTS), max_size=40))
def test_fragments_of_yaml_never_raise(parts: list[str]) -> None:
    _one_line_problems_or_a_pipeline("".join(parts))


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300))
def test_any_bytes_never_raise(data: bytes) -> None:
    _one_line_problems_or_a_pipeline(data)


JSON = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-2**70, max_value=2**70) | st.floats(allow_nan=False)
    | st.text(max_size=8) | st.sampled_from(["item", "inputs.TEXT", "split.PARTS", "upper.UPPER", "ghost.X"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
        st.sampled_from(["image", "inputs", "forEach", "when", "unless", "value", "filters", "name", "type",
                         "condition", "values", "settings", "secret", "after", "x"]) | st.text(max_size=4),
        inner, max_size=4),
    max_leaves=10)
PATHS = [("steps", "split"), ("steps", "upper", "inputs"), ("steps", "upper", "forEach"), ("steps", "join", "when"),
         ("steps", "join", "when", "filters", 0), ("inputs", "LIMIT"), ("outputs",), ("steps", "join", "after"),
         ("steps", "split", "settings"), ("steps", "new")]


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(PATHS), JSON, st.booleans())
def test_mutated_pipelines_never_raise(path: tuple, value: Any, as_json: bool) -> None:
    document = to_document(parse_pipeline(EXAMPLE).pipeline)
    target: Any = document
    for key in path[:-1]:
        target = target[key] if not isinstance(target, dict) or key in target else target.setdefault(key, {})
        if not isinstance(target, (dict, list)):
            return
    if isinstance(target, dict):
        target[path[-1]] = value
    elif isinstance(target, list) and target:
        target[0] = value
    import yaml

    text = json.dumps(document) if as_json else yaml.safe_dump(document)
    _one_line_problems_or_a_pipeline(text)


SCALE = Path(__file__).resolve().parents[1].parent / "shared" / "scale-examples" / "recipes" / \
    "recipe-definition-v6-full.json"
SCALE_PATHS = [("version",), ("input",), ("input", "files"), ("input", "files", 0), ("input", "json", 0, "type"),
               ("nodes",), ("nodes", "node_a"), ("nodes", "node_a", "input"), ("nodes", "node_a", "input", "input_a"),
               ("nodes", "node_b", "dependencies"), ("nodes", "node_b", "dependencies", 0),
               ("nodes", "node_c", "node_type"), ("nodes", "node_c", "node_type", "data_filter"),
               ("nodes", "node_c", "node_type", "data_filter", "filters", 0),
               ("nodes", "node_c", "node_type", "data_filter", "filters", 0, "values"),
               ("nodes", "node_d", "node_type", "node_type"), ("nodes", "node_a", "node_type", "job_type_name")]


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(SCALE_PATHS), JSON | st.sampled_from(["job", "condition", "recipe", "dependency"]))
def test_mutated_scale_recipes_never_raise(path: tuple, value: Any) -> None:
    document = json.loads(SCALE.read_text())
    target: Any = document
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    loaded = parse_pipeline(json.dumps(document, indent=1), job_types={"job-type-1:1.0": "a:1"})
    for problem in loaded.problems:
        assert "\n" not in problem.message
    if loaded.pipeline is not None:
        check(loaded.pipeline, {})
        graph.dot(loaded.pipeline)
