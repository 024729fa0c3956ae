"""A pipeline file (YAML or JSON) read into a :class:`~seed_runner.pipelines.model.Pipeline`, with places.

``read_pipeline`` never raises for a bad file: it gives back every problem found (the YAML itself, then the
schema's, each with its line and column) and the pipeline when there were none. ``load_pipeline`` is the
short form for callers that only want a pipeline: it raises :class:`PipelineError` (one line) instead.
A Scale recipe definition (``{"version": "6", "nodes": ...}``) is recognised and converted (``scale``).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Mapping

from ..errors import SeedRunnerError
from ..problems import Problem, error, has_errors, json_path, one_line
from .model import (MISSING, PIPELINE_VERSION, Condition, Connection, Filter, Pipeline, PipelineInput, Position,
                    Step)
from .yamltext import Located, Path_, YamlError, parse_yaml

_NAME = r"[A-Za-z_][A-Za-z0-9_-]*"
_REFERENCE = re.compile(rf"^(?:inputs\.(?P<input>{_NAME})|(?P<step>{_NAME})\.(?P<output>[^\s.]\S*))$")


class PipelineError(SeedRunnerError):
    """A pipeline file that cannot be read or has errors; ``problems`` holds every one."""

    def __init__(self, source: str, problems: list[Problem]):
        self.source = source
        self.problems = list(problems)
        errors = [p for p in self.problems if p.is_error] or self.problems
        first = errors[0] if errors else None
        where = f"{source}:{first.line}:{first.column}" if first and first.line else source
        more = f" (and {len(errors) - 1} more; `seed pipeline check` lists them)" if len(errors) > 1 else ""
        super().__init__(f"{where}: {first.message if first else 'not a pipeline'}{more}")


@dataclass
class Loaded:
    """What reading a pipeline file gave: the pipeline (None when it has errors) and every problem."""

    pipeline: Pipeline | None
    problems: list[Problem] = field(default_factory=list)
    kind: str = "pipeline"
    """``pipeline`` (our format) or ``scale`` (a Scale recipe definition)."""


def read_pipeline(path: str | Path, *, job_types: Mapping[str, str] | None = None) -> Loaded:
    """Read a pipeline file, or a Scale recipe (``job_types`` maps its ``NAME:VERSION`` to an image, or to
    ``manifest:PATH``), with every problem placed at its line and column."""
    path = Path(path)
    try:
        with open(path, "rb") as fh:
            data = fh.read(8 * 1024 * 1024)
    except OSError as exc:
        return Loaded(None, [error("unreadable-file", None, f"cannot read {path}: {exc.strerror or exc}; check "
                                   "the path")])
    return parse_pipeline(data, source=path, job_types=job_types)


def load_pipeline(path: str | Path, *, job_types: Mapping[str, str] | None = None) -> Pipeline:
    """The pipeline of a file; raises :class:`PipelineError` when it cannot be read or has errors."""
    loaded = read_pipeline(path, job_types=job_types)
    if loaded.pipeline is None or has_errors(loaded.problems):
        raise PipelineError(str(path), loaded.problems)
    return loaded.pipeline


def parse_pipeline(data: bytes | str, *, source: Path | None = None,
                   job_types: Mapping[str, str] | None = None) -> Loaded:
    """A pipeline (or Scale recipe) text, read as :func:`read_pipeline` reads a file."""
    try:
        located = parse_yaml(data)
    except YamlError as exc:
        problem = error(exc.code, None, exc.detail)
        return Loaded(None, [problem.at(exc.position.line, exc.position.column) if exc.position else problem])
    document = located.data
    if isinstance(document, dict) and "nodes" in document and "seedPipeline" not in document:
        from .scale import recipe_pipeline

        pipeline, problems = recipe_pipeline(located, source=source, job_types=job_types or {})
        return Loaded(pipeline, located.problems + problems, "scale")
    problems = located.problems + schema_problems(located)
    if has_errors(problems):
        return Loaded(None, problems)
    try:
        return Loaded(_pipeline(located, source), problems)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:  # the two validators disagreed: a bug
        return Loaded(None, [*problems, error("schema", None, f"the document does not fit the pipeline format "
                                              f"({type(exc).__name__}: {one_line(str(exc))[:200]}); please report "
                                              "it, with the file")])


# ------------------------------------------------------------------------------ the schema


@lru_cache(maxsize=1)
def _schema() -> dict[str, Any]:
    from ..manifest.schemas import schema_dir

    with open(schema_dir() / "seed.pipeline.schema.json", encoding="utf-8") as fh:
        return json.load(fh)


@lru_cache(maxsize=1)
def _validator() -> Any:
    """The validator that explains (jsonschema: paths and schema parts to build messages from)."""
    import jsonschema

    return jsonschema.Draft202012Validator(_schema())


@lru_cache(maxsize=1)
def _fast_validator() -> Any:
    """The validator that gives the verdict (jsonschema-rs, compiled: a 1,000-step pipeline in milliseconds)."""
    import jsonschema_rs

    return jsonschema_rs.Draft202012Validator(_schema())


def schema_problems(located: Located) -> list[Problem]:
    """The document's departures from the pipeline schema, one problem each, placed."""
    if _fast_validator().is_valid(located.data):  # the usual case; explaining is only for the invalid
        return []
    problems = []
    for err in sorted(_validator().iter_errors(located.data), key=lambda e: list(map(str, e.absolute_path))):
        path = tuple(err.absolute_path)
        message, place_path, on_key = _schema_message(err, path)
        place = located.key_at(place_path) if on_key else located.value_at(place_path)
        problem = error("schema", json_path(path), one_line(message))
        problems.append(problem.at(place.line, place.column) if place else problem)
    return problems


def _where(path: Path_) -> str:
    return json_path(path)[2:] or "the document"


def _short(value: Any) -> str:
    text = json.dumps(value, default=str)
    return text if len(text) <= 60 else text[:57] + "..."


def _schema_message(err: Any, path: Path_) -> tuple[str, Path_, bool]:
    """(message, where to place it, whether at the key) for one jsonschema error, in words a user acts on."""
    where = _where(path)
    kind = err.validator
    if kind == "additionalProperties":
        extra = sorted(set(err.instance) - set(err.schema.get("properties", {})))
        if extra:
            return (f"{where}: unknown key {extra[0]!r}; the keys allowed here are "
                    f"{', '.join(sorted(err.schema.get('properties', {}))) or 'names of your choice'}",
                    path + (extra[0],), True)
    if kind == "required":
        return f"{where}: {err.message.replace(' is a required property', ' is missing')}", path, False
    if kind == "anyOf" and path and len(path) == 2 and path[0] == "steps":
        return f"{where}: a step needs an image (or a manifest file while developing)", path, True
    if kind == "propertyNames" or "propertyNames" in list(err.schema_path):
        rule = ("is reserved; choose another" if err.instance in ("inputs", "item") else
                "is not allowed: letters, digits, '_' and '-', starting with a letter or '_'")
        return f"{where}: the name {_short(err.instance)} {rule}", path + (str(err.instance),), True
    defs = _validator().schema["$defs"]
    if kind == "oneOf" and err.schema is defs["connection"]:
        return (f"{where}: {_short(err.instance)} is not a connection; write inputs.NAME, STEP.OUTPUT, item or "
                "{value: ...}", path, False)
    if kind == "pattern" and err.schema is defs["reference"]:
        return f"{where}: {_short(err.instance)} is not a reference; write inputs.NAME or STEP.OUTPUT", path, False
    if kind == "pattern":
        return (f"{where}: {_short(err.instance)} is not a valid name: letters, digits, '_' and '-', starting "
                "with a letter or '_'", path, False)
    if kind == "type":
        return f"{where}: {_short(err.instance)} is not of type {err.validator_value}", path, False
    if kind == "enum":
        return (f"{where}: {_short(err.instance)} is not one of "
                f"{', '.join(map(str, err.validator_value))}", path, False)
    if kind == "const":
        return f"{where}: must be {_short(err.validator_value)}, not {_short(err.instance)}", path, False
    if kind == "oneOf" and path and len(path) >= 4 and path[-2] == "settings":
        return f"{where}: a setting is a string, a number, a boolean, or {{secret: true}}", path, False
    return f"{where}: {_short(err.instance)} {err.message.split(' ', 1)[-1] if err.message else 'is invalid'}", \
        path, False


# ------------------------------------------------------------------------------ the model


def parse_connection(text: Any, position: Position | None = None) -> Connection:
    """A connection as written: ``inputs.NAME``, ``STEP.OUTPUT``, ``item``, or ``{value: ...}``."""
    if isinstance(text, dict):
        return Connection.literal(text.get("value"), position)
    if text == "item":
        return Connection.item(position)
    match = _REFERENCE.match(str(text))
    if match is None:
        raise ValueError(f"{text!r} is not a connection")
    if match["input"]:
        return Connection.input(match["input"], position)
    return Connection.output(match["step"], match["output"], position)


def _filter_value(value: Any, steps: Mapping[str, Any], position: Position | None) -> Any:
    """A filter value: a reference when it names a pipeline input or a step's output, else the literal."""
    if isinstance(value, dict) and set(value) == {"value"}:
        return value["value"]
    if isinstance(value, str):
        match = _REFERENCE.match(value)
        if match and (match["input"] or match["step"] in steps):
            return parse_connection(value, position)
    return value


def _pipeline(located: Located, source: Path | None) -> Pipeline:
    doc = located.data
    base = source.parent if source is not None else Path.cwd()
    inputs = {name: _input(located, name, spec) for name, spec in (doc.get("inputs") or {}).items()}
    steps = {name: _step(located, name, spec, doc["steps"], base) for name, spec in doc["steps"].items()}
    outputs = {name: parse_connection(text, located.value_at(("outputs", name)))
               for name, text in (doc.get("outputs") or {}).items()}
    places = {key: located.keys[(key,)] for key in doc if (key,) in located.keys}
    places.update({f"outputs.{name}": located.keys[("outputs", name)] for name in outputs
                   if ("outputs", name) in located.keys})
    return Pipeline(name=doc["name"], version=str(doc.get("seedPipeline", PIPELINE_VERSION)), inputs=inputs,
                    steps=steps, outputs=outputs, source=source, position=located.value_at(()), places=places)


def _input(located: Located, name: str, spec: dict[str, Any]) -> PipelineInput:
    default = spec.get("default", MISSING)
    return PipelineInput(name=name, type=spec["type"], required=spec.get("required", default is MISSING),
                         multiple=spec.get("multiple", False), media_types=tuple(spec.get("mediaTypes", ())),
                         default=default, position=located.key_at(("inputs", name)))


def _step(located: Located, name: str, spec: dict[str, Any], steps: Mapping[str, Any], base: Path) -> Step:
    at = ("steps", name)
    places: dict[str, Position] = {}
    for key in spec:
        if at + (key,) in located.keys:
            places[key] = located.keys[at + (key,)]
    for group in ("inputs", "settings", "mounts", "resources"):
        for member in spec.get(group) or {}:
            if at + (group, member) in located.keys:
                places[f"{group}.{member}"] = located.keys[at + (group, member)]
    for i, _ in enumerate(spec.get("after") or ()):
        if (position := located.value_at(at + ("after", i))) is not None:
            places[f"after[{i}]"] = position
    conditions = []
    for key, accept in (("when", True), ("unless", False)):
        if key in spec:
            conditions.append(_condition(located, at + (key,), spec[key], accept, steps))
    return Step(
        name=name, image=spec.get("image"),
        manifest=(base / spec["manifest"]) if spec.get("manifest") else None,
        inputs={k: parse_connection(v, located.value_at(at + ("inputs", k))) for k, v in
                (spec.get("inputs") or {}).items()},
        for_each=parse_connection(spec["forEach"], located.value_at(at + ("forEach",))) if "forEach" in spec
        else None,
        conditions=tuple(conditions),
        settings={k: _setting(v) for k, v in (spec.get("settings") or {}).items()},
        mounts=dict(spec.get("mounts") or {}),
        resources={k: float(v) for k, v in (spec.get("resources") or {}).items()},
        after=tuple(spec.get("after") or ()), position=located.key_at(at), places=places)


def _setting(value: Any) -> str | None:
    if isinstance(value, dict):
        return None  # {secret: true}: named here, its value given at run time
    if isinstance(value, bool):
        return "true" if value else "false"
    return value if isinstance(value, str) else json.dumps(value)


def _condition(located: Located, at: Path_, spec: dict[str, Any], accept: bool, steps: Mapping[str, Any]
               ) -> Condition:
    # `acceptance: false` inverts: `when` with it is `unless`, and `unless` with it is `when`.
    accept_when = accept if spec.get("acceptance", True) else not accept
    filters = []
    for i, item in enumerate(spec["filters"]):
        here = at + ("filters", i)
        filters.append(Filter(
            name=parse_connection(item["name"], located.value_at(here + ("name",))), type=item["type"],
            condition=item["condition"],
            values=tuple(_filter_value(v, steps, located.value_at(here + ("values", j)))
                         for j, v in enumerate(item["values"])),
            fields=tuple(tuple(path) for path in item.get("fields", ())), all_fields=item.get("all_fields", True),
            all_files=item.get("all_files", False), position=located.value_at(here)))
    return Condition(filters=tuple(filters), all=spec.get("all", True), accept_when=accept_when,
                     position=located.key_at(at))
