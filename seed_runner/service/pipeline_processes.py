"""Pipelines as processes (``seed serve --pipeline FILE``): each pipeline file is read and checked when the
server starts, and becomes a process whose id is the pipeline's name. Its description is derived from a
manifest-shaped stand-in (``pipeline_manifest``), so the routes, the execute request and the results read it as
they read a job's: the pipeline's inputs are the process's inputs (a file input a binary string, a JSON input its
type), its outputs the outputs of the steps they name.

A pipeline that cannot run (a problem of its file, a step image without a valid label, a setting of a step
that the server's configuration does not give) stops the server from starting: ``PipelineRefused``, one line
per problem.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

from ..errors import SeedRunnerError

IMAGE_PREFIX = "pipeline:"
"""A pipeline job's ``image`` in the run store (``seed runs`` shows it): ``pipeline:NAME``."""


class PipelineRefused(SeedRunnerError):
    """A pipeline given to the server that cannot be served; ``problems``: one line each."""

    exit_status = 2

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


def pipeline_manifest(pipeline: Any, manifests: Mapping[str, Any]) -> Any:
    """A Manifest standing for the pipeline: its name and version, its inputs, and its outputs typed as the step
    outputs (or pipeline inputs) they connect to. Pure."""
    from ..manifest.model import Manifest

    files, values = [], []
    for name, spec in pipeline.inputs.items():
        required = bool(spec.required) and not spec.has_default
        if spec.is_file:
            files.append({"name": name, "required": required, "mediaTypes": list(spec.media_types),
                          "multiple": bool(spec.multiple)})
        else:
            values.append({"name": name, "type": spec.type, "required": required})
    file_outputs, json_outputs = [], []
    for name, connection in pipeline.outputs.items():
        kind, detail = _output_kind(pipeline, manifests, connection)
        if kind == "file":
            file_outputs.append({"name": name, "pattern": "*", "mediaType": detail.get("media_type"),
                                 "multiple": detail.get("multiple", False), "required": False})
        else:
            json_outputs.append({"name": name, "type": detail.get("type", "string"), "required": False})
    steps = ", ".join(f"{step} ({s.image})" for step, s in pipeline.steps.items())
    document = {
        "seedVersion": "1.0.0",
        "job": {"name": pipeline.name, "jobVersion": pipeline_version(pipeline), "packageVersion": "1.0.0",
                "title": f"Pipeline {pipeline.name}",
                "description": f"A pipeline of {len(pipeline.steps)} steps: {steps}.",
                "tags": ["pipeline"], "maintainer": {"name": "seed serve", "email": "nobody@localhost"},
                "timeout": 0,
                "interface": {"inputs": {"files": files, "json": values},
                              "outputs": {"files": [{k: v for k, v in f.items() if v is not None}
                                                    for f in file_outputs], "json": json_outputs}}},
    }
    return Manifest.from_dict(document)


def pipeline_version(pipeline: Any) -> str:
    """A pipeline file has no version of its own (``seedPipeline`` is its format's): the process's version is
    the first 12 hex digits of the SHA-256 of the pipeline's document, so that a changed pipeline is a new
    version."""
    import hashlib
    import json

    from ..pipelines.writing import to_document

    text = json.dumps(to_document(pipeline), sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def _output_kind(pipeline: Any, manifests: Mapping[str, Any], connection: Any) -> tuple[str, dict[str, Any]]:
    if connection.kind == "input" and connection.name in pipeline.inputs:
        spec = pipeline.inputs[connection.name]
        return ("file", {"multiple": spec.multiple, "media_type": (spec.media_types or (None,))[0]}) \
            if spec.is_file else ("json", {"type": spec.type})
    if connection.kind == "output" and connection.step in manifests:
        step = pipeline.steps[connection.step]
        fan_out = step.for_each is not None
        interface = manifests[connection.step].job.interface
        for output in interface.file_outputs:
            if output.name == connection.name:
                return "file", {"media_type": output.media_type, "multiple": output.multiple or fan_out}
        for output in interface.json_outputs:
            if output.name == connection.name:
                return "json", {"type": "array" if fan_out else output.type}
    if connection.kind == "value":
        value = connection.value
        kind = {bool: "boolean", int: "integer", float: "number", str: "string", dict: "object", list: "array"}
        return "json", {"type": kind.get(type(value), "string")}
    return "file", {"multiple": True}


def description_extra(pipeline: Any) -> dict[str, Any]:
    """What a pipeline's process description adds to a job's: that it is a pipeline, and its steps."""
    return {"seedPipeline": {"steps": [{"name": name, "image": step.image,
                                        "needs": sorted(step.needs()),
                                        "forEach": step.for_each.text if step.for_each is not None else None}
                                       for name, step in pipeline.steps.items()]}}


def load_pipelines(files: tuple[Path, ...], config: Mapping[str, Mapping[str, Mapping[str, str]]]
                   ) -> dict[str, Any]:
    """The processes of the pipeline files, by id; PipelineRefused listing every problem of every file (each
    with its file, line and column) when one cannot be served."""
    from ..executors.base import RunOptions
    from ..pipelines.check import check
    from ..pipelines.start import PipelineRunError, load, manifests_of, step_settings
    from .catalog import Process

    found: dict[str, Any] = {}
    problems: list[str] = []
    for file in files:
        try:
            pipeline, _ = load(Path(file))
        except PipelineRunError as exc:
            problems.append(f"--pipeline {file}: {exc}")
            continue
        manifests, unreadable = manifests_of(pipeline, RunOptions())
        errors = list(unreadable)
        if not errors:
            errors = [p for p in check(pipeline, manifests) if p.is_error]
        if not errors:
            settings = (config.get(pipeline.name) or {}).get("settings") or {}
            errors = step_settings(pipeline, manifests, settings)[1]
        for problem in errors:
            where = _place(pipeline, problem)
            message = problem.message
            if problem.code == "missing-setting":  # a request never gives settings: only the server's file
                step, _, setting = (problem.path or "").removeprefix("$.steps.").partition(".settings.")
                message = (f"step {step}: setting {setting} has no value: give it in the --config file, "
                           f'{{"processes": {{"{pipeline.name}": {{"settings": {{"{setting}": ...}}}}}}}} '
                           f"(or \"{step}.{setting}\" for this step only)")
            problems.append(f"{file}{where}: {message}")
        if errors:
            continue
        if pipeline.name in found:
            problems.append(f"{file}: a second pipeline named {pipeline.name} (process ids must differ)")
            continue
        manifest = pipeline_manifest(pipeline, manifests)
        found[pipeline.name] = Process(pipeline.name, manifest.job.job_version, IMAGE_PREFIX + pipeline.name,
                                       manifest, pipeline=pipeline)
    if problems:
        raise PipelineRefused(problems)
    return found


def _place(pipeline: Any, problem: Any) -> str:
    if problem.line is None:
        return ""
    return f":{problem.line}" + (f":{problem.column}" if problem.column is not None else "")
