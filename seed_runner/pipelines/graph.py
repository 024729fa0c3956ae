"""A pipeline drawn: Mermaid text, Graphviz dot text, or an SVG laid out here (no program to install).

Pure: ``mermaid(pipeline, states)``, ``dot(pipeline, states)``, ``svg(pipeline, states)``. ``states`` maps a
step to its state after a run (``pending``, ``running``, ``succeeded``, ``failed``, ``skipped``, ``stopped``,
``interrupted``); each state has its colour. ``notes`` maps a step to a short note shown in its box (how its
runs went, for a step run once per item: ``5 runs, 1 failed``). The SVG is layered by depth: pipeline inputs on
top, each step one row below the deepest step it needs, the pipeline's outputs at the bottom.
"""

from __future__ import annotations

import graphlib
import json
from dataclasses import dataclass
from html import escape as _html_escape
from typing import Mapping

from ..problems import one_line
from .model import Connection, Pipeline

STATE_COLOURS: Mapping[str, tuple[str, str]] = {  # fill, stroke
    "pending": ("#f4f4f5", "#a1a1aa"), "running": ("#dbeafe", "#2563eb"), "succeeded": ("#dcfce7", "#16a34a"),
    "failed": ("#fee2e2", "#dc2626"), "skipped": ("#f4f4f5", "#71717a"), "stopped": ("#ffedd5", "#ea580c"),
    "interrupted": ("#fef9c3", "#ca8a04"),
}
_DEFAULT = ("#ffffff", "#52525b")
_IO = ("#eef2ff", "#6366f1")


@dataclass(frozen=True)
class Edge:
    source: str
    """A node id: ``step:NAME``, ``input:NAME`` or ``output:NAME``."""
    target: str
    label: str
    control: bool = False
    """An ordering or condition edge (dashed), not data."""


def escape(text: str, quote: bool = True) -> str:
    """XML text: markup characters escaped, and characters XML cannot hold (controls) shown as escapes."""
    return _html_escape(one_line(text), quote=quote)


def _node_id(connection: Connection) -> str | None:
    if connection.kind == "input":
        return f"input:{connection.name}"
    if connection.kind == "output":
        return f"step:{connection.step}"
    return None


def edges(pipeline: Pipeline) -> list[Edge]:
    """The graph's edges: data (inputs, forEach), conditions and ``after`` (dashed), the pipeline's outputs."""
    found: dict[tuple[str, str, bool], list[str]] = {}

    def add(source: str | None, target: str, label: str, control: bool = False) -> None:
        known = source is not None and (source.startswith("input:") and source[6:] in pipeline.inputs
                                        or source.startswith("step:") and source[5:] in pipeline.steps)
        if known:
            labels = found.setdefault((source, target, control), [])  # type: ignore[arg-type]
            if label and label not in labels:
                labels.append(label)

    for step in pipeline.steps.values():
        target = f"step:{step.name}"
        for connection in step.inputs.values():
            add(_node_id(connection), target, connection.name or "")
        if step.for_each is not None:
            add(_node_id(step.for_each), target, f"for each {step.for_each.name}")
        for condition in step.conditions:
            for connection in condition.connections():
                add(_node_id(connection), target, "when" if condition.accept_when else "unless", True)
        for need in step.after:
            add(f"step:{need}", target, "", True)
    for name, connection in pipeline.outputs.items():
        add(_node_id(connection), f"output:{name}", connection.name or "")
    # A data edge makes a control edge between the same nodes redundant.
    return [Edge(s, t, ", ".join(labels), control) for (s, t, control), labels in found.items()
            if not (control and (s, t, False) in found)]


def _step_label(pipeline: Pipeline, name: str, states: Mapping[str, str],
                notes: Mapping[str, str] | None = None) -> list[str]:
    step = pipeline.steps[name]
    lines = [name, step.image or (step.manifest.name if step.manifest else step.job_type or "")]
    fan = (notes or {}).get(name) or ("for each" if step.for_each else "")
    marks = [m for m in (fan, "conditional" if step.conditions else "") if m]
    if name in states:
        marks.insert(0, states[name])
    if marks:
        lines.append(" · ".join(marks))
    return [line for line in lines if line]


# ------------------------------------------------------------------------------ Mermaid and dot


def mermaid(pipeline: Pipeline, states: Mapping[str, str] | None = None,
            notes: Mapping[str, str] | None = None) -> str:
    states = states or {}
    ids = _short_ids(pipeline)
    out = ["flowchart TD"]
    for name in pipeline.inputs:
        out.append(f'  {ids["input:" + name]}(["{_mermaid_text(name)}"])')
    for name in pipeline.steps:
        label = "<br/>".join(_mermaid_text(line) for line in _step_label(pipeline, name, states, notes))
        out.append(f'  {ids["step:" + name]}["{label}"]')
    for name in pipeline.outputs:
        out.append(f'  {ids["output:" + name]}[/"{_mermaid_text(name)}"/]')
    for edge in edges(pipeline):
        arrow = "-.->" if edge.control else "-->"
        label = f"|{_mermaid_text(edge.label)}|" if edge.label else ""
        out.append(f"  {ids[edge.source]} {arrow}{label} {ids[edge.target]}")
    for state, (fill, stroke) in STATE_COLOURS.items():
        members = [ids["step:" + n] for n, s in states.items() if s == state and n in pipeline.steps]
        if members:
            out.append(f"  classDef {state} fill:{fill},stroke:{stroke}")
            out.append(f"  class {','.join(members)} {state}")
    return "\n".join(out) + "\n"


_MERMAID_ENTITIES = {"#": "#35;", "&": "#amp;", "<": "#lt;", ">": "#gt;", '"': "#quot;", "|": "#124;",
                     "[": "#91;", "]": "#93;", "{": "#123;", "}": "#125;", "(": "#40;", ")": "#41;"}


def _mermaid_text(text: str) -> str:
    """Text inside a Mermaid label: its own entity codes (``#quot;``) for what would end or break the label."""
    return "".join(_MERMAID_ENTITIES.get(char, char) for char in one_line(text))


def _short_ids(pipeline: Pipeline) -> dict[str, str]:
    ids: dict[str, str] = {}
    for prefix, names in (("i", pipeline.inputs), ("s", pipeline.steps), ("o", pipeline.outputs)):
        kind = {"i": "input", "s": "step", "o": "output"}[prefix]
        for index, name in enumerate(names):
            ids[f"{kind}:{name}"] = f"{prefix}{index}"
    return ids


def dot(pipeline: Pipeline, states: Mapping[str, str] | None = None, notes: Mapping[str, str] | None = None) -> str:
    states = states or {}
    out = [f"digraph {json.dumps(pipeline.name)} {{", "  rankdir=TB;",
           '  node [fontname="Helvetica", fontsize=11];', '  edge [fontname="Helvetica", fontsize=9];']
    for name in pipeline.inputs:
        out.append(f'  {json.dumps("input:" + name)} [label={json.dumps(name)}, shape=oval, style=filled, '
                   f'fillcolor="{_IO[0]}", color="{_IO[1]}"];')
    for name in pipeline.steps:
        fill, stroke = STATE_COLOURS.get(states.get(name, ""), _DEFAULT)
        style = "filled,dashed" if states.get(name) == "skipped" else "filled,rounded"
        label = "\\n".join(line.replace("\\", "\\\\").replace('"', '\\"')
                           for line in _step_label(pipeline, name, states, notes))
        out.append(f'  {json.dumps("step:" + name)} [label="{label}", shape=box, style="{style}", '
                   f'fillcolor="{fill}", color="{stroke}"];')
    for name in pipeline.outputs:
        out.append(f'  {json.dumps("output:" + name)} [label={json.dumps(name)}, shape=parallelogram, '
                   f'style=filled, fillcolor="{_IO[0]}", color="{_IO[1]}"];')
    for edge in edges(pipeline):
        attrs = [f"label={json.dumps(edge.label)}"] if edge.label else []
        if edge.control:
            attrs.append("style=dashed")
        out.append(f"  {json.dumps(edge.source)} -> {json.dumps(edge.target)}"
                   + (f" [{', '.join(attrs)}]" if attrs else "") + ";")
    out.append("}")
    return "\n".join(out) + "\n"


# ------------------------------------------------------------------------------ SVG

_BOX_W, _BOX_H, _GAP_X, _GAP_Y, _MARGIN, _CHAR_W = 210, 58, 36, 64, 20, 6.0
_DETOUR = 60.0  # how far right of the boxes an edge that skips rows bends out
_LABEL_ROOM = 110.0  # room on the right for the labels of those edges


def layers(pipeline: Pipeline) -> list[list[str]]:
    """Node ids by depth: inputs first, then each step one below the deepest node it needs, outputs last.
    Steps in a cycle (which the check refuses) are put below everything else, so a picture is still drawn."""
    graph = pipeline.graph()
    depth: dict[str, int] = {}
    todo = {name: set(needs) for name, needs in graph.items()}
    level = 1
    try:  # one pass in topological order; a cycle falls back to the rounds below
        for name in pipeline.order():
            depth[name] = 1 + max((depth[n] for n in graph[name]), default=0)
            level = max(level, depth[name])
        todo = {}
    except graphlib.CycleError:
        depth.clear()
    while todo:
        ready = [name for name, needs in todo.items() if not needs - depth.keys()]
        if not ready:  # a cycle: place the rest together
            ready = list(todo)
        for name in ready:
            depth[name] = 1 + max((depth[n] for n in graph[name] if n in depth), default=0)
            level = max(level, depth[name])
            del todo[name]
    rows: list[list[str]] = [[f"input:{n}" for n in pipeline.inputs]]
    rows += [[f"step:{n}" for n in pipeline.steps if depth[n] == d] for d in range(1, level + 1)]
    rows.append([f"output:{n}" for n in pipeline.outputs])
    return [row for row in rows if row]


def svg(pipeline: Pipeline, states: Mapping[str, str] | None = None, notes: Mapping[str, str] | None = None) -> str:
    states = states or {}
    rows = layers(pipeline)
    width = max(len(row) for row in rows) * (_BOX_W + _GAP_X) - _GAP_X + 2 * _MARGIN + _DETOUR + _LABEL_ROOM
    height = len(rows) * (_BOX_H + _GAP_Y) - _GAP_Y + 2 * _MARGIN
    where: dict[str, tuple[float, float]] = {}
    for r, row in enumerate(rows):
        row_width = len(row) * (_BOX_W + _GAP_X) - _GAP_X
        left = (width - _DETOUR - _LABEL_ROOM - row_width) / 2
        for c, node in enumerate(row):
            where[node] = (left + c * (_BOX_W + _GAP_X), _MARGIN + r * (_BOX_H + _GAP_Y))
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
           f'viewBox="0 0 {width:.0f} {height:.0f}" font-family="Helvetica, Arial, sans-serif" font-size="12">',
           f"<title>{escape(pipeline.name)}</title>",
           '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" '
           'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#52525b"/></marker></defs>']
    for edge in edges(pipeline):
        out.append(_svg_edge(edge, where))
    for node, (x, y) in where.items():
        out.append(_svg_node(pipeline, node, x, y, states, notes or {}))
    out.append("</svg>")
    return "\n".join(out) + "\n"


def _svg_edge(edge: Edge, where: Mapping[str, tuple[float, float]]) -> str:
    (sx, sy), (tx, ty) = where[edge.source], where[edge.target]
    if ty <= sy or ty - sy > _BOX_H + _GAP_Y + 1:
        # An edge that skips a row (or goes back up, in a cycle) leaves and enters by the right sides, and
        # bends out to the right of both, so as to pass beside the boxes between instead of through them.
        x1, y1, x2, y2 = sx + _BOX_W, sy + _BOX_H / 2, tx + _BOX_W, ty + _BOX_H / 2
        side = max(x1, x2) + _DETOUR
        c1x, c1y, c2x, c2y = side, y1, side, y2
    else:
        x1, y1, x2, y2 = sx + _BOX_W / 2, sy + _BOX_H, tx + _BOX_W / 2, ty
        bend = max(abs(y2 - y1) / 2, 30)
        c1x, c1y, c2x, c2y = x1, y1 + bend, x2, y2 - bend
    dash = ' stroke-dasharray="5,4"' if edge.control else ""
    path = f"M{x1:.1f},{y1:.1f} C{c1x:.1f},{c1y:.1f} {c2x:.1f},{c2y:.1f} {x2:.1f},{y2:.1f}"
    parts = [f'<path d="{path}" fill="none" stroke="#52525b" stroke-width="1.2"{dash} marker-end="url(#arrow)"/>']
    if edge.label:
        label = _fit(edge.label, 28)
        # The label at the curve's middle (t = 1/2).
        middle_x, middle_y = (x1 + 3 * c1x + 3 * c2x + x2) / 8, (y1 + 3 * c1y + 3 * c2y + y2) / 8
        parts.append(f'<text x="{middle_x + 4:.1f}" y="{middle_y:.1f}" font-size="10" '
                     f'fill="#3f3f46">{escape(label)}</text>')
    return "<g>" + "".join(parts) + "</g>"


def _svg_node(pipeline: Pipeline, node: str, x: float, y: float, states: Mapping[str, str],
              notes: Mapping[str, str]) -> str:
    kind, _, name = node.partition(":")
    if kind == "step":
        state = states.get(name, "")
        fill, stroke = STATE_COLOURS.get(state, _DEFAULT)
        lines = _step_label(pipeline, name, states, notes)
        dash = ' stroke-dasharray="6,4"' if state == "skipped" else ""
        shape = (f'<rect x="{x:.1f}" y="{y:.1f}" width="{_BOX_W}" height="{_BOX_H}" rx="8" fill="{fill}" '
                 f'stroke="{stroke}" stroke-width="1.6"{dash}/>')
    else:
        lines = [name, "input" if kind == "input" else "output"]
        shape = (f'<rect x="{x:.1f}" y="{y:.1f}" width="{_BOX_W}" height="{_BOX_H}" rx="{_BOX_H / 2}" '
                 f'fill="{_IO[0]}" stroke="{_IO[1]}" stroke-width="1.4"/>')
    text = []
    top = y + _BOX_H / 2 - (len(lines) - 1) * 7.5 + 4
    for i, line in enumerate(lines):
        weight = ' font-weight="bold"' if i == 0 else ' fill="#3f3f46" font-size="10"'
        text.append(f'<text x="{x + _BOX_W / 2:.1f}" y="{top + i * 15:.1f}" text-anchor="middle"{weight}>'
                    f"{escape(_fit(line, int(_BOX_W / _CHAR_W) - 2))}</text>")
    state_title = f" ({states[name]})" if kind == "step" and name in states else ""
    return (f'<g class="{kind}"><title>{escape(kind)} {escape(name)}{escape(state_title)}</title>{shape}'
            + "".join(text) + "</g>")


def _fit(text: str, width: int) -> str:
    return text if len(text) <= width else text[: max(width - 1, 1)] + "…"
