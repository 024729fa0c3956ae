"""A :class:`Pipeline` written back as the pipeline-file document (what ``loading`` reads), and as YAML.

``to_document(pipeline)`` is the dict; ``loading.parse_pipeline(dump_yaml(pipeline))`` gives back an equal
pipeline (a test holds it). ``seed pipeline convert`` writes a Scale recipe this way; a run keeps this
document to resume a pipeline built in Python.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from .model import PIPELINE_VERSION, Condition, Connection, Filter, Pipeline, PipelineInput, Step


def to_document(pipeline: Pipeline, *, relative_to: Path | None = None) -> dict[str, Any]:
    """The pipeline as a pipeline-file document. Manifest paths are written relative to ``relative_to`` (the
    folder the document will be saved in) when given, else as they are."""
    doc: dict[str, Any] = {"seedPipeline": PIPELINE_VERSION, "name": pipeline.name}
    if pipeline.inputs:
        doc["inputs"] = {name: _input(spec) for name, spec in pipeline.inputs.items()}
    doc["steps"] = {name: _step(step, relative_to) for name, step in pipeline.steps.items()}
    if pipeline.outputs:
        doc["outputs"] = {name: _connection(c) for name, c in pipeline.outputs.items()}
    return doc


def dump_yaml(pipeline: Pipeline, *, relative_to: Path | None = None) -> str:
    """The pipeline as YAML text, keys in the order of the format."""
    import yaml

    return yaml.safe_dump(to_document(pipeline, relative_to=relative_to), sort_keys=False, allow_unicode=True,
                          default_flow_style=False, width=120)


def _input(spec: PipelineInput) -> dict[str, Any]:
    out: dict[str, Any] = {"type": spec.type}
    if spec.required != (not spec.has_default):
        out["required"] = spec.required
    if spec.multiple:
        out["multiple"] = True
    if spec.media_types:
        out["mediaTypes"] = list(spec.media_types)
    if spec.has_default:
        out["default"] = spec.default
    return out


def _connection(connection: Connection) -> Any:
    return {"value": connection.value} if connection.kind == "value" else connection.text


def _step(step: Step, relative_to: Path | None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if step.image is not None:
        out["image"] = step.image
    if step.manifest is not None:
        path = step.manifest
        if relative_to is not None:
            path = Path(os.path.relpath(os.path.abspath(path), os.path.abspath(relative_to)))
        out["manifest"] = path.as_posix()
    if step.for_each is not None:
        out["forEach"] = _connection(step.for_each)
    for condition in step.conditions:  # one `when` and one `unless` at most in a file; more are merged
        key = "when" if condition.accept_when else "unless"
        if key in out:
            out.setdefault("_more", []).append(condition)
        else:
            out[key] = _condition(condition)
    extra = out.pop("_more", [])
    if extra:  # a Scale step under several condition nodes: every condition must hold, so all filters AND-ed
        for condition in extra:
            key = "when" if condition.accept_when else "unless"
            out[key] = _and(out[key], _condition(condition), key == "when")
    if step.inputs:
        out["inputs"] = {name: _connection(c) for name, c in step.inputs.items()}
    if step.settings:
        out["settings"] = {name: {"secret": True} if value is None else value for name, value in step.settings.items()}
    if step.mounts:
        out["mounts"] = dict(step.mounts)
    if step.resources:
        out["resources"] = {name: int(v) if float(v).is_integer() else v for name, v in step.resources.items()}
    if step.after:
        out["after"] = list(step.after)
    return out


def _and(first: dict[str, Any], second: dict[str, Any], when: bool) -> dict[str, Any]:
    """Two conditions of the same side as one: ``when`` both accept needs all filters of both (both must be
    ``all``); ``unless`` either accepts needs any (both must be ``any`` or single filters)."""
    wanted = when
    for part in (first, second):
        if part.get("all", True) != wanted and len(part["filters"]) > 1:
            raise ValueError("this step has several conditions that one when/unless cannot express; split it")
    merged: dict[str, Any] = {"filters": first["filters"] + second["filters"]}
    if not wanted:
        merged["all"] = False
    return merged


def _condition(condition: Condition) -> dict[str, Any]:
    out: dict[str, Any] = {"filters": [_filter(f) for f in condition.filters]}
    if not condition.all:
        out["all"] = False
    return out


def _filter(item: Filter) -> dict[str, Any]:
    out: dict[str, Any] = {"name": item.name.text, "type": item.type, "condition": item.condition,
                           "values": [_value(v) for v in item.values]}
    if item.fields:
        out["fields"] = [list(path) for path in item.fields]
    if not item.all_fields:
        out["all_fields"] = False
    if item.all_files:
        out["all_files"] = True
    return out


def _value(value: Any) -> Any:
    if isinstance(value, Connection):
        return _connection(value)
    if isinstance(value, str) and ("." in value and not value.startswith(("/", "."))):
        return {"value": value}  # a string that could read as a reference stays a literal
    return value
