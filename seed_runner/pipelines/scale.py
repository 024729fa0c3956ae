"""A Scale recipe definition (v6 or v7) converted to a :class:`Pipeline`, with its places kept.

- Each job node becomes a step; its job type (``NAME:VERSION``) maps to an image, or to ``manifest:PATH``
  (``--job-type``). A job type with no mapping is kept (``Step.job_type``, no image): the check reports it.
- A condition node runs no container: its data filter becomes a :class:`Condition` on every node depending on
  it (``acceptance: false`` becomes ``unless``), inherited down chains of condition nodes, and its outputs
  (which are its inputs, passed on) are resolved to where they came from.
- A recipe node (a sub-recipe) is refused with a ``scale-sub-recipe`` problem; the rest is still converted so
  that every other problem shows too.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Iterable, Mapping

from ..problems import Problem, error, json_path
from .model import Condition, Connection, Filter, Pipeline, PipelineInput, Position, Step
from .yamltext import Located

VERSIONS = ("6", "7")
MANIFEST_PREFIX = "manifest:"


def parse_job_types(items: Iterable[str]) -> dict[str, str]:
    """``NAME:VERSION=IMAGE`` (or ``=manifest:PATH``) options as a mapping; raises ValueError (one line)."""
    out: dict[str, str] = {}
    for item in items:
        key, sep, target = item.partition("=")
        if not sep or not key.strip() or not target.strip():
            raise ValueError(f"--job-type {item!r} is not NAME:VERSION=IMAGE (or NAME:VERSION=manifest:PATH)")
        out[key.strip()] = target.strip()
    return out


def recipe_path(path: str | None) -> str | None:
    """A problem's path in a converted pipeline (``$.steps.X.inputs.Y``) as the recipe's (``$.nodes.X.input.Y``),
    so that a report on a recipe names its own members."""
    if not path:
        return path
    match = re.match(r"^\$\.steps(\.[^.\[]+|\['(?:[^'\\]|\\.)*'\])(.*)$", path)
    if match is None:
        return "$.input" if path.startswith("$.inputs") else path
    node, rest = match.groups()
    if rest.startswith(".inputs"):
        rest = ".input" + rest[len(".inputs"):]
    elif rest.startswith((".when", ".unless", ".after")):
        rest = ".dependencies"
    return f"$.nodes{node}{rest}"


def recipe_pipeline(located: Located, *, source: Path | None, job_types: Mapping[str, str]
                    ) -> tuple[Pipeline | None, list[Problem]]:
    """The pipeline of a recipe definition, and the problems of converting it."""
    return _Converter(located, source, job_types).convert()


class _Converter:
    def __init__(self, located: Located, source: Path | None, job_types: Mapping[str, str]):
        self.located = located
        self.doc = located.data
        self.source = source
        self.job_types = job_types
        self.problems: list[Problem] = []
        self.nodes: dict[str, dict[str, Any]] = {}

    def add(self, code: str, path: tuple[Any, ...], message: str, on_key: bool = False) -> None:
        place = self.located.key_at(path) if on_key else self.located.value_at(path)
        problem = error(code, json_path(path), message)
        problem = problem.at(place.line, place.column) if place else problem
        if problem not in self.problems:  # a condition node is read once for each node under it
            self.problems.append(problem)

    def _dict(self, value: Any, path: tuple[Any, ...], what: str) -> dict[str, Any]:
        """``value`` when it is a mapping (or absent); else a problem, and an empty mapping."""
        if value is None or isinstance(value, dict):
            return value or {}
        self.add("scale-invalid", path, f"{what} must be a mapping (an object), not {type(value).__name__}")
        return {}

    def _list(self, value: Any, path: tuple[Any, ...], what: str) -> list[Any]:
        if value is None or isinstance(value, list):
            return value or []
        self.add("scale-invalid", path, f"{what} must be a list, not {type(value).__name__}")
        return []

    def convert(self) -> tuple[Pipeline | None, list[Problem]]:
        version = str(self.doc.get("version", ""))
        if version not in VERSIONS:
            self.add("scale-version", ("version",), f"the recipe definition's version is {version or 'missing'}; "
                     "seed-runner reads versions 6 and 7")
            return None, self.problems
        nodes = self.doc.get("nodes")
        if not isinstance(nodes, dict):
            self.add("scale-invalid", ("nodes",), "nodes must be a mapping of node names to nodes")
            return None, self.problems
        for name, node in nodes.items():
            kind = node.get("node_type", {}).get("node_type") if isinstance(node, dict) and isinstance(
                node.get("node_type"), dict) else None
            if kind not in ("job", "condition", "recipe"):
                self.add("scale-invalid", ("nodes", name), f"node {name!r}: node_type.node_type must be job, "
                         "condition or recipe", on_key=True)
                continue
            self.nodes[name] = node
        steps = {}
        for name, node in self.nodes.items():
            kind = node["node_type"]["node_type"]
            if kind == "recipe":
                spec = node["node_type"]
                self.add("scale-sub-recipe", ("nodes", name), f"node {name!r} is a sub-recipe "
                         f"({spec.get('recipe_type_name')} revision {spec.get('recipe_type_revision')}); "
                         "seed-runner does not run sub-recipes: put its jobs in this recipe, or write a pipeline "
                         "file", on_key=True)
            elif kind == "job":
                steps[name] = self._step(name, node)
        name = self.source.stem if self.source is not None else "recipe"
        name = "".join(c if c.isalnum() or c in "_-" else "-" for c in name) or "recipe"
        if not (name[0].isalpha() or name[0] == "_"):
            name = f"recipe-{name}"
        pipeline = Pipeline(name=name, version="1.0", inputs=self._inputs(), steps=steps, source=self.source,
                            position=self.located.value_at(()))
        return pipeline, self.problems

    def _inputs(self) -> dict[str, PipelineInput]:
        face = self._dict(self.doc.get("input"), ("input",), "the recipe's input")
        out = {}
        for kind in ("files", "json"):
            for i, spec in enumerate(self._list(face.get(kind), ("input", kind), f"input.{kind}")):
                if not isinstance(spec, dict) or not isinstance(spec.get("name"), str):
                    self.add("scale-invalid", ("input", kind, i), "a recipe input needs a name")
                    continue
                out[spec["name"]] = PipelineInput(
                    name=spec["name"], type="file" if kind == "files" else str(spec.get("type", "string")),
                    required=bool(spec.get("required", True)), multiple=bool(spec.get("multiple", False)),
                    media_types=tuple(spec.get("media_types") or ()),
                    position=self.located.value_at(("input", kind, i)))
        return out

    # -------------------------------------------------------------------------- job nodes

    def _step(self, name: str, node: dict[str, Any]) -> Step:
        at = ("nodes", name)
        spec = node["node_type"]
        job_type = f"{spec.get('job_type_name')}:{spec.get('job_type_version')}"
        target = self.job_types.get(job_type) or self.job_types.get(str(spec.get("job_type_name")))
        image = manifest = None
        if target and target.startswith(MANIFEST_PREFIX):
            manifest = Path(target[len(MANIFEST_PREFIX):]).absolute()
        elif target:
            image = target
        inputs = {}
        places: dict[str, Position] = {}
        for input_name, connection in self._dict(node.get("input"), at + ("input",), f"node {name!r} input").items():
            here = at + ("input", input_name)
            resolved = self._connection(connection, here, set())
            if resolved is not None:
                inputs[input_name] = resolved
                if (key := self.located.keys.get(here)) is not None:
                    places[f"inputs.{input_name}"] = key
        if (key := self.located.keys.get(at + ("input",))) is not None:
            places["inputs"] = key
        conditions, after = self._dependencies(name, node, set())
        # A dependency that data already implies (an input or a filter reads from it) needs no `after`.
        implied = {c.step for c in (*inputs.values(), *(c for cond in conditions for c in cond.connections()))
                   if c.kind == "output"}
        after = [a for a in after if a not in implied]
        for i, _ in enumerate(after):
            places[f"after[{i}]"] = self.located.value_at(at + ("dependencies",)) or self.located.keys[at]
        return Step(name=name, image=image, manifest=manifest, inputs=inputs, conditions=tuple(conditions),
                    after=tuple(after), job_type=job_type, position=self.located.keys.get(at), places=places)

    def _dependencies(self, name: str, node: dict[str, Any], seen: set[str]) -> tuple[list[Condition], list[str]]:
        """The conditions a node runs under, and the job nodes it waits for (through condition nodes too)."""
        conditions: list[Condition] = []
        after: list[str] = []
        deps = self._list(node.get("dependencies"), ("nodes", name, "dependencies"), f"node {name!r} dependencies")
        for i, dep in enumerate(deps):
            here = ("nodes", name, "dependencies", i)
            parent = dep.get("name") if isinstance(dep, dict) else None
            if parent not in self.nodes:
                self.add("unknown-step", here, f"node {name!r} depends on {parent!r}, which is no node of this "
                         "recipe")
                continue
            kind = self.nodes[parent]["node_type"]["node_type"]
            if kind != "condition":
                if parent not in after:
                    after.append(parent)
                continue
            if parent in seen:
                self.add("cycle", here, f"condition nodes depend on each other in a cycle through {parent!r}")
                continue
            conditions.append(self._condition(parent, bool(dep.get("acceptance", True))))
            inherited, waits = self._dependencies(parent, self.nodes[parent], seen | {parent})
            conditions.extend(inherited)
            after.extend(w for w in waits if w not in after)
        return conditions, after

    def _condition(self, name: str, accept: bool) -> Condition:
        node = self.nodes[name]
        at = ("nodes", name, "node_type", "data_filter")
        spec = self._dict(node["node_type"].get("data_filter"), at, f"condition node {name!r} data_filter")
        inputs = self._dict(node.get("input"), ("nodes", name, "input"), f"node {name!r} input")
        filters = []
        for i, item in enumerate(self._list(spec.get("filters"), at + ("filters",), "data_filter.filters")):
            here = at + ("filters", i)
            if not isinstance(item, dict) or not isinstance(item.get("name"), str):
                self.add("scale-invalid", here, f"condition node {name!r}: a filter needs a name")
                continue
            connection = inputs.get(item["name"])
            if connection is None:
                self.add("unknown-input", here + ("name",), f"condition node {name!r} filters on {item['name']!r}, "
                         "which is none of its inputs")
                continue
            resolved = self._connection(connection, ("nodes", name, "input", item["name"]), set())
            if resolved is None:
                continue
            values = item.get("values") if isinstance(item.get("values"), list) else []
            filters.append(Filter(
                name=Connection(resolved.kind, resolved.name, resolved.step, resolved.value,
                                self.located.value_at(here + ("name",))),
                type=str(item.get("type", "")), condition=str(item.get("condition", "")), values=tuple(values),
                fields=tuple(tuple(p) for p in item.get("fields") or () if isinstance(p, list)),
                all_fields=bool(item.get("all_fields", True)), all_files=bool(item.get("all_files", False)),
                position=self.located.value_at(here)))
        return Condition(filters=tuple(filters), all=bool(spec.get("all", True)), accept_when=accept,
                         position=self.located.keys.get(("nodes", name)), origin=name)

    def _connection(self, spec: Any, here: tuple[Any, ...], seen: set[str]) -> Connection | None:
        """A node input's connection; through a condition node to where its value came from."""
        position = self.located.value_at(here)
        if not isinstance(spec, dict) or spec.get("type") not in ("recipe", "dependency"):
            self.add("scale-invalid", here, "a node input is {type: recipe, input: NAME} or {type: dependency, "
                     "node: NODE, output: NAME}")
            return None
        if spec["type"] == "recipe":
            return Connection.input(str(spec.get("input")), position)
        node, output = str(spec.get("node")), str(spec.get("output"))
        parent = self.nodes.get(node)
        if parent is None or parent["node_type"]["node_type"] != "condition":
            return Connection.output(node, output, position)
        if node in seen:
            self.add("cycle", here, f"condition nodes pass data to each other in a cycle through {node!r}")
            return None
        inputs = self._dict(parent.get("input"), ("nodes", node, "input"), f"node {node!r} input")
        passed = inputs.get(output)
        if passed is None:
            names = ", ".join(sorted(inputs)) or "none"
            self.add("unknown-output", here, f"condition node {node!r} passes on only its inputs ({names}); it has "
                     f"no output {output!r}")
            return None
        resolved = self._connection(passed, ("nodes", node, "input", output), seen | {node})
        if resolved is None:
            return None
        return Connection(resolved.kind, resolved.name, resolved.step, resolved.value, position)
