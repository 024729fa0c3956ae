"""`seed pipeline graph`: Mermaid, dot and a self-laid-out SVG, with each step's state after a run."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from typer.testing import CliRunner

from seed_runner.cli.app import app
from seed_runner.pipelines import graph
from seed_runner.pipelines.loading import parse_pipeline
from seed_runner.pipelines.model import Connection, Pipeline, Step

from .test_pipeline_loading import EXAMPLE

SVG = "{http://www.w3.org/2000/svg}"
STATES = {"split": "succeeded", "upper": "failed", "join": "stopped"}


@pytest.fixture
def pipeline() -> Pipeline:
    return parse_pipeline(EXAMPLE).pipeline


def test_edges_are_data_conditions_and_outputs(pipeline: Pipeline) -> None:
    found = {(e.source, e.target, e.label, e.control) for e in graph.edges(pipeline)}
    assert found == {("input:TEXT", "step:split", "TEXT", False),
                     ("step:split", "step:upper", "for each PARTS", False),
                     ("step:upper", "step:join", "UPPER", False),
                     ("step:split", "step:join", "when", True), ("input:LIMIT", "step:join", "when", True),
                     ("step:join", "output:SHOUTED", "JOINED", False)}


def test_mermaid_with_states(pipeline: Pipeline) -> None:
    text = graph.mermaid(pipeline, STATES)
    assert text.startswith("flowchart TD\n")
    assert "  s0 -->|for each PARTS| s1" in text and "  s0 -.->|when| s2" in text
    assert "classDef failed fill:#fee2e2" in text and "  class s1 failed" in text
    assert "class s0 succeeded" in text and "class s2 stopped" in text


def test_dot_with_states(pipeline: Pipeline) -> None:
    text = graph.dot(pipeline, {"join": "skipped"})
    assert text.startswith('digraph "shout" {') and text.rstrip().endswith("}")
    assert '"step:split" -> "step:join" [label="when", style=dashed];' in text
    assert '"step:join" [label="join\\ntext-join-1.0.0-seed:1.0.0\\nskipped · conditional"' in text
    assert 'style="filled,dashed"' in text


def test_svg_is_well_formed_layered_and_coloured(pipeline: Pipeline) -> None:
    root = ET.fromstring(graph.svg(pipeline, STATES))
    assert root.tag == f"{SVG}svg"
    boxes = {g.find(f"{SVG}title").text: g.find(f"{SVG}rect") for g in root.iter(f"{SVG}g")
             if g.find(f"{SVG}rect") is not None}
    assert set(boxes) == {"input TEXT", "input LIMIT", "step split (succeeded)", "step upper (failed)",
                          "step join (stopped)", "output SHOUTED"}
    rows = {name: float(rect.get("y")) for name, rect in boxes.items()}
    assert rows["input TEXT"] == rows["input LIMIT"] < rows["step split (succeeded)"] < rows["step upper (failed)"]
    assert rows["step upper (failed)"] < rows["step join (stopped)"] < rows["output SHOUTED"]
    assert boxes["step upper (failed)"].get("stroke") == graph.STATE_COLOURS["failed"][1]
    width, height = float(root.get("width")), float(root.get("height"))
    for rect in boxes.values():  # every box inside the picture
        assert 0 <= float(rect.get("x")) and float(rect.get("x")) + float(rect.get("width")) <= width
        assert float(rect.get("y")) + float(rect.get("height")) <= height
    assert len([p for p in root.iter(f"{SVG}path") if p.get("marker-end")]) == 6  # one arrow an edge


def test_odd_names_are_escaped_and_a_cycle_is_still_drawn() -> None:
    steps = {"a<b&\"c": Step("a<b&\"c", image="x\u2028y", inputs={"I": Connection.output("d", "O")}),
             "d": Step("d", image="i", inputs={"I": Connection.output("a<b&\"c", "O")})}
    pipeline = Pipeline("odd]name", "1.0", steps=steps)
    ET.fromstring(graph.svg(pipeline))  # well-formed
    assert sorted(node for row in graph.layers(pipeline) for node in row) == ["step:a<b&\"c", "step:d"]
    label = graph.mermaid(pipeline).split('["', 1)[1].split('"]')[0]
    assert label.startswith("a#lt;b#amp;#quot;c<br/>x\\u2028y") and '"' not in label
    assert "digraph \"odd]name\"" in graph.dot(pipeline)


def _write_example(tmp_path: Path) -> Path:
    path = tmp_path / "shout.yaml"
    path.write_text(EXAMPLE)
    return path


@pytest.mark.parametrize("shape", ["run", "mapping"])
def test_cli_graph_reads_states_from_a_run_folder_or_a_mapping(tmp_path: Path, shape: str) -> None:
    path = _write_example(tmp_path)
    run = tmp_path / "run"
    run.mkdir()
    if shape == "run":  # pipeline.json as `seed pipeline run` writes it
        document = {"pipeline_version": 1, "name": "shout", "status": "failed",
                    "steps": {name: {"state": state, "runs": []} for name, state in STATES.items()}}
        document["steps"]["upper"]["runs"] = [{"index": i, "status": s} for i, s in
                                              enumerate(["succeeded", "failed", "succeeded", "interrupted"])]
        (run / "pipeline.json").write_text(json.dumps(document))
        state = run
    else:
        state = tmp_path / "states.json"
        state.write_text(json.dumps(STATES))
    result = CliRunner().invoke(app, ["pipeline", "graph", str(path), "--state", str(state)])
    assert result.exit_code == 0, result.output
    assert "class s1 failed" in result.stdout
    if shape == "run":  # a forEach step's runs, counted in its box
        assert "failed · 4 runs, 1 failed, 1 interrupted" in result.stdout
    out = tmp_path / "g.svg"
    result = CliRunner().invoke(app, ["pipeline", "graph", str(path), "-s", str(state), "-f", "svg", "-o", str(out)])
    assert result.exit_code == 0 and result.stdout == ""
    assert "step upper (failed)" in out.read_text()


def test_cli_graph_refuses_a_bad_state_file_and_a_broken_pipeline(tmp_path: Path) -> None:
    path = _write_example(tmp_path)
    bad = tmp_path / "bad.json"
    bad.write_text("[1, 2]")
    result = CliRunner().invoke(app, ["pipeline", "graph", str(path), "--state", str(bad)])
    assert result.exit_code == 2 and "holds no steps" in result.output
    broken = tmp_path / "broken.yaml"
    broken.write_text("seedPipeline: '1.0'\nname: x\nsteps: {a: {imag: i}}\n")
    result = CliRunner().invoke(app, ["pipeline", "graph", str(broken)])
    assert result.exit_code == 1 and f"{broken}:3:" in result.stderr


def test_no_svg_edge_crosses_a_box_it_does_not_join(pipeline: Pipeline) -> None:
    import re

    root = ET.fromstring(graph.svg(pipeline))
    boxes = [tuple(float(r.get(k)) for k in ("x", "y", "width", "height")) for r in root.iter(f"{SVG}rect")]
    for path in (p for p in root.iter(f"{SVG}path") if p.get("marker-end")):
        x1, y1, c1x, c1y, c2x, c2y, x2, y2 = map(float, re.findall(r"-?\d+(?:\.\d+)?", path.get("d")))
        for step in range(1, 20):
            t = step / 20
            x = (1 - t) ** 3 * x1 + 3 * (1 - t) ** 2 * t * c1x + 3 * (1 - t) * t ** 2 * c2x + t ** 3 * x2
            y = (1 - t) ** 3 * y1 + 3 * (1 - t) ** 2 * t * c1y + 3 * (1 - t) * t ** 2 * c2y + t ** 3 * y2
            inside = [b for b in boxes if b[0] < x < b[0] + b[2] and b[1] + 1 < y < b[1] + b[3] - 1]
            assert not inside, f"{path.get('d')} crosses {inside} at t={t}"
