"""A pipeline as a CWL v1.2 ``Workflow`` (``seed export cwl PIPELINE.yaml``).

One document with a ``$graph``: the workflow (``#main``), one ``CommandLineTool`` a step (``cwl_tool`` of the
step's manifest, with the step's resources; ``#STEP-job``), and one small ``ExpressionTool`` a step that may be
skipped (``#STEP-gate``). A ``$graph`` rather than tools inline under ``run:`` because the tools' namespaces
(``cwltool:``, ``iana:``) must sit at the document's root, and because each tool stays runnable alone
(``cwltool export.cwl#split-job``).

What maps to what:

- pipeline inputs -> workflow inputs (``file`` -> ``File``/``File[]``, JSON types as the tool's); each setting
  of each step -> a workflow input ``STEP.NAME`` (its value the default; a secret has none and is listed in
  cwltool's ``Secrets`` hint); each mount -> a ``Directory`` input ``STEP.NAME`` defaulting to its host path;
- ``STEP.OUTPUT`` -> a step output source; a file input fed by a ``forEach`` step's files (a fan-in), or a
  multiple input fed by anything, gets ``linkMerge: merge_flattened`` and ``pickValue: all_non_null``;
  ``{value: ...}`` -> ``default``; ``item`` -> the scattered ``seed_item`` through ``valueFrom``;
- ``forEach`` -> ``scatter`` over ``seed_item`` (the files of a file output or input, the elements of a JSON array);
- ``when``/``unless`` (JSON, ``filename`` and ``media-type`` filters; and being downstream of a step that may be skipped) -> the step's gate, an expression
  evaluating Scale's data filter once for the step (``cwl_conditions``), and ``when: $(inputs.seed_run)``; a
  step that needs a skipped step is skipped, as ``seed pipeline run`` skips it, because its gate needs the
  gates of the steps it needs; ``after`` -> an unused step input from the needed step (CWL orders by data);
- pipeline outputs -> workflow outputs (an array for a ``forEach`` step, ``null`` when the step was skipped).

Pure: a pipeline and each step's manifest in, a dict out; ``UnsupportedPipeline`` (one line) for the rest.
"""

from __future__ import annotations

import copy
import dataclasses
import json
from typing import Any, Mapping

from ..manifest.model import Manifest, Scalar
from ..manifest.names import normalize_name
from ..pipelines.model import Connection, Pipeline, Step
from .cwl import _JSON_TYPES, cwl_tool
from .cwl_conditions import (FILTERS_LIB, UnsupportedPipeline, condition_spec, gate_expression, media_type_lib,
                             uses_media_types)

__all__ = ["UnsupportedPipeline", "cwl_workflow"]

ITEM = "seed_item"
RUN = "seed_run"
FLAT_LIB = r"""
function seedFlat(v) {
  if (v === null || v === undefined) { return []; }
  if (!Array.isArray(v)) { return [v]; }
  return v.reduce(function (acc, x) { return acc.concat(seedFlat(x)); }, []);
}
function seedOneFile(v, what) {
  var files = seedFlat(v);
  if (files.length > 1) { throw what + " takes one file, but " + files.length + " came: use forEach"; }
  return files.length ? files[0] : null;
}
"""


def cwl_workflow(pipeline: Pipeline, manifests: Mapping[str, Manifest],
                 image_envs: Mapping[str, Mapping[str, str]] | None = None) -> dict[str, Any]:
    """The ``$graph`` document of ``pipeline`` (``manifests``: step -> its manifest, as the check reads them;
    ``image_envs``: image -> its ENV, for commands that read it)."""
    return _Export(pipeline, manifests, image_envs or {}).document()


class _Export:
    def __init__(self, pipeline: Pipeline, manifests: Mapping[str, Manifest],
                 image_envs: Mapping[str, Mapping[str, str]]) -> None:
        self.pipeline, self.manifests, self.image_envs = pipeline, manifests, image_envs
        self.order = pipeline.order()
        self.skippable: set[str] = set()
        for name in self.order:  # needs come first in the order
            step = pipeline.steps[name]
            if step.conditions or step.needs() & self.skippable:
                self.skippable.add(name)
        self.inputs: dict[str, Any] = {}
        self.steps: dict[str, Any] = {}
        self.graph: list[dict[str, Any]] = []
        self.secrets: list[str] = []
        self.features: set[str] = set()

    def document(self) -> dict[str, Any]:
        for spec in self.pipeline.inputs.values():
            self.inputs[spec.name] = self._pipeline_input(spec)
        for name in self.order:
            self._step(self.pipeline.steps[name])
        requirements: dict[str, Any] = {"InlineJavascriptRequirement": {"expressionLib": [FLAT_LIB]}}
        for feature in ("ScatterFeatureRequirement", "MultipleInputFeatureRequirement",
                        "StepInputExpressionRequirement"):
            if feature in self.features:
                requirements[feature] = {}
        main: dict[str, Any] = {"class": "Workflow", "id": "main", "label": self.pipeline.name,
                                "doc": f"The seed-runner pipeline {self.pipeline.name!r} "
                                       f"(seedPipeline {self.pipeline.version})",
                                "requirements": requirements, "inputs": self.inputs,
                                "outputs": {name: self._output(name, c) for name, c in self.pipeline.outputs.items()},
                                "steps": self.steps}
        if self.secrets:
            main["hints"] = {"cwltool:Secrets": {"secrets": self.secrets}}
        namespaces = {"cwltool": "http://commonwl.org/cwltool#"}
        for tool in self.graph:
            namespaces.update(tool.pop("$namespaces", {}))
            tool.pop("cwlVersion", None)
        return {"cwlVersion": "v1.2", "$namespaces": namespaces, "$graph": [main, *self.graph]}

    # ------------------------------------------------------------------ inputs

    def _pipeline_input(self, spec: Any) -> dict[str, Any]:
        if spec.is_file:
            entry: dict[str, Any] = {"type": ("File[]" if spec.multiple else "File") + ("" if spec.required else "?")}
            if spec.media_types:
                entry["doc"] = "media types: " + ", ".join(spec.media_types)
            return entry
        optional = not spec.required or spec.has_default
        entry = {"type": _JSON_TYPES[spec.type] + ("?" if optional else "")}
        if spec.has_default:
            entry["default"] = spec.default
        return entry

    def _step(self, step: Step) -> None:
        manifest = self.manifests[step.name]
        image = step.image or manifest.image_name
        tool = cwl_tool(_with_resources(manifest, step), image=image, image_env=self.image_envs.get(image))
        tool["id"] = f"{step.name}-job"
        if ITEM in tool["inputs"] or RUN in tool["inputs"]:
            raise UnsupportedPipeline(f"step {step.name!r}: its job has an input named {ITEM} or {RUN}, names the "
                                      "export keeps for itself")
        self.graph.append(tool)
        face = manifest.job.interface
        entries: dict[str, Any] = {}
        for input_name, connection in step.inputs.items():
            target = next((s for s in (*face.file_inputs, *face.json_inputs)
                           if normalize_name(s.name) == normalize_name(input_name)), None)
            if target is None:  # the check reports it; an unknown input cannot be exported
                raise UnsupportedPipeline(f"step {step.name!r}: its job has no input {input_name!r}")
            multiple = getattr(target, "multiple", False) if target in face.file_inputs else None
            entries[target.name] = self._in(step, connection, multiple, f"step {step.name} input {target.name}")
        for setting in face.settings:
            given = next((v for k, v in step.settings.items() if normalize_name(k) == normalize_name(setting.name)),
                         None)
            named = any(normalize_name(k) == normalize_name(setting.name) for k in step.settings)
            wf_name = f"{step.name}.{setting.name}"
            self.inputs[wf_name] = {"type": "string", "doc": f"setting {setting.name} of step {step.name}"}
            if given is not None:
                self.inputs[wf_name]["default"] = given
            if setting.secret or (named and given is None):
                self.secrets.append(wf_name)
            entries[setting.name] = {"source": wf_name}
        for mount in face.mounts:
            wf_name = f"{step.name}.{mount.name}"
            self.inputs[wf_name] = {"type": "Directory", "doc": f"mount {mount.name} of step {step.name}"}
            path = next((v for k, v in step.mounts.items() if normalize_name(k) == normalize_name(mount.name)), None)
            if path is not None:
                self.inputs[wf_name]["default"] = {"class": "Directory", "location": path}
            entries[mount.name] = {"source": wf_name}
        for index, need in enumerate(step.after):
            entries[f"seed_after_{index}"] = {"source": self._any_output(step, need)}
        entry: dict[str, Any] = {"run": f"#{step.name}-job", "in": entries,
                                 "out": list(tool["outputs"])}
        if step.for_each is not None:
            entries[ITEM] = self._scattered(step, step.for_each)
            entry["scatter"] = ITEM
            self.features.add("ScatterFeatureRequirement")
        if step.name in self.skippable:
            self._gate(step)
            entries[RUN] = {"source": f"{step.name}-gate/ran"}
            entry["when"] = f"$(inputs.{RUN})"
        self.steps[step.name] = entry

    def _in(self, step: Step, connection: Connection, multiple: bool | None, what: str) -> dict[str, Any]:
        """The ``in`` entry of a tool input fed by ``connection`` (``multiple``: None for a JSON input)."""
        kind = connection.kind
        if kind == "value":
            value = connection.value
            if multiple is None:
                return {"default": value}
            files = [{"class": "File", "location": str(v)} for v in (value if isinstance(value, list) else [value])]
            return {"default": files if multiple else files[0]}
        if kind == "item":
            self.features.add("StepInputExpressionRequirement")
            return {"valueFrom": f"$([inputs.{ITEM}])" if multiple else f"$(inputs.{ITEM})"}
        source = self._source(connection)
        if multiple is None:
            return {"source": source}
        scattered, many = self._shape(connection)
        if multiple:
            self.features.add("MultipleInputFeatureRequirement")
            entry: dict[str, Any] = {"source": [source], "linkMerge": "merge_flattened", "pickValue": "all_non_null"}
            if scattered and many:  # each run gave a list: flatten the list of lists
                self.features.add("StepInputExpressionRequirement")
                entry["valueFrom"] = "$(seedFlat(self))"
            return entry
        if scattered or many:
            self.features.add("StepInputExpressionRequirement")
            return {"source": source, "valueFrom": f"$(seedOneFile(self, {json.dumps(what)}))"}
        return {"source": source}

    def _scattered(self, step: Step, connection: Connection) -> dict[str, Any]:
        """``seed_item``: the forEach's items, as one flat list (none when its step was skipped)."""
        if connection.kind in ("item", "value"):
            raise UnsupportedPipeline(f"step {step.name!r}: forEach over {connection.text} cannot be scattered")
        scattered, many = self._shape(connection)
        if scattered and many:
            raise UnsupportedPipeline(f"step {step.name!r}: forEach over {connection.text}, the files of every run "
                                      "of a forEach step, is a list of lists in CWL, which scatter cannot flatten")
        self.features.add("MultipleInputFeatureRequirement")
        return {"source": [self._source(connection)], "linkMerge": "merge_flattened", "pickValue": "all_non_null"}

    def _shape(self, connection: Connection) -> tuple[bool, bool]:
        """(comes from a forEach step, each value may hold several files)."""
        if connection.kind == "input":
            spec = self.pipeline.inputs[connection.name or ""]
            return False, spec.multiple
        if connection.kind != "output":
            return False, False
        step = self.pipeline.steps[connection.step or ""]
        face = self.manifests[step.name].job.interface
        spec = next((o for o in face.file_outputs if normalize_name(o.name) == normalize_name(connection.name or "")),
                    None)
        return step.for_each is not None, bool(spec and spec.multiple)

    def _source(self, connection: Connection) -> str:
        if connection.kind == "input":
            return connection.name or ""
        step = connection.step or ""
        return f"{step}/{self._output_name(step, connection.name or '')}"

    def _output_name(self, step: str, name: str) -> str:
        face = self.manifests[step].job.interface
        for spec in (*face.file_outputs, *face.json_outputs):
            if normalize_name(spec.name) == normalize_name(name):
                return spec.name
        raise UnsupportedPipeline(f"{step}.{name}: step {step!r} has no output {name!r}")

    def _any_output(self, step: Step, need: str) -> str:
        face = self.manifests[need].job.interface
        outputs = [*face.file_outputs, *face.json_outputs]
        if not outputs:
            raise UnsupportedPipeline(f"step {step.name!r}: after {need!r}, a job with no outputs; CWL orders steps "
                                      "only through data")
        return f"{need}/{outputs[0].name}"

    # ------------------------------------------------------------------ conditions

    def _gate(self, step: Step) -> None:
        """``STEP-gate``: ``ran`` is true when every skippable step it needs ran and its conditions accept."""
        gate_in: dict[str, Any] = {}
        tool_in: dict[str, Any] = {}
        needs = []
        for need in sorted(step.needs() & self.skippable):
            key = f"n{len(needs)}"
            needs.append(key)
            gate_in[key] = {"source": f"{need}-gate/ran"}
            tool_in[key] = "boolean"
        refs: dict[Connection, int] = {}

        def reference(connection: Connection) -> int:
            if connection not in refs:
                refs[connection] = len(refs)
                key = f"v{refs[connection]}"
                if connection.kind == "value":
                    gate_in[key] = {"default": connection.value}
                else:
                    gate_in[key] = {"source": self._source(connection)}
                tool_in[key] = "Any?"
            return refs[connection]

        conditions = [condition_spec(step.name, c, reference) for c in step.conditions]
        library = [FILTERS_LIB, media_type_lib()] if uses_media_types(conditions) else [FILTERS_LIB]
        self.graph.append({"class": "ExpressionTool", "id": f"{step.name}-gate",
                           "doc": f"Whether step {step.name} runs (its needs ran, its conditions accept)",
                           "requirements": {"InlineJavascriptRequirement": {"expressionLib": library}},
                           "inputs": tool_in, "outputs": {"ran": "boolean"},
                           "expression": gate_expression(needs, conditions)})
        self.steps[f"{step.name}-gate"] = {"run": f"#{step.name}-gate", "in": gate_in, "out": ["ran"]}

    # ------------------------------------------------------------------ outputs

    def _output(self, name: str, connection: Connection) -> dict[str, Any]:
        if connection.kind == "input":
            return {"type": self.inputs[connection.name or ""]["type"], "outputSource": connection.name}
        step = connection.step or ""
        tool = next(t for t in self.graph if t["id"] == f"{step}-job")
        kind: Any = _expanded(copy.deepcopy(tool["outputs"][self._output_name(step, connection.name or "")]["type"]))
        if self.pipeline.steps[step].for_each is not None:
            kind = {"type": "array", "items": kind}
        if step in self.skippable and not (isinstance(kind, list) and "null" in kind):
            kind = ["null", kind]
        return {"type": kind, "outputSource": self._source(connection)}


def _expanded(kind: Any) -> Any:
    """A type without CWL's shorthands (``X?``, ``X[]``), which hold only at the top of a ``type``."""
    if isinstance(kind, str) and kind.endswith("?"):
        return ["null", _expanded(kind[:-1])]
    if isinstance(kind, str) and kind.endswith("[]"):
        return {"type": "array", "items": _expanded(kind[:-2])}
    return kind


def _with_resources(manifest: Manifest, step: Step) -> Manifest:
    """The manifest with the step's ``resources`` in place of the job's own (as ``seed pipeline run`` asks)."""
    if not step.resources:
        return manifest
    scalars = {s.name: s for s in manifest.job.resources or ()}
    for name, value in step.resources.items():
        scalars[name] = Scalar(name, value, 0.0)
    job = dataclasses.replace(manifest.job, resources=tuple(scalars.values()))
    return dataclasses.replace(manifest, job=job)
