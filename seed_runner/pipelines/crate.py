"""One RO-Crate for a whole pipeline (``ro-crate-metadata.json`` in its folder), in the Workflow Run Crate
profile (https://w3id.org/ro/wfrun/workflow/0.5).

- The pipeline is the crate's ``mainEntity`` (``pipeline.yaml``, a ``ComputationalWorkflow``), with its inputs
  and outputs as ``FormalParameter``s and a ``HowToStep`` per step, each step's image a ``SoftwareApplication``.
- The pipeline run is one ``CreateAction`` (its inputs as ``object``, its published outputs as ``result``).
- Every run of every step is a ``CreateAction`` with its image as ``instrument``: the files it read are its
  ``object``, the files it wrote its ``result``. A file one run wrote and another read is one entity
  (``runs/<run>/outputs/<path>``), the ``result`` of the first and an ``object`` of the second, so each
  output's lineage is read from the crate alone: the action whose ``result`` it is, that action's
  ``object``s, and so on back to the pipeline's inputs (``file://`` URIs: they stay the user's).
- A ``ControlAction`` per run ties it to its step, and one ``OrganizeAction`` (seed-runner) to the whole run.

Written by hand, as ``runtime.provenance`` is (the ``rocrate`` library reads it back in the tests).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Mapping
from urllib.parse import quote

from ..runtime.atomic import write_text_atomically
from . import state as st
from .model import Pipeline

CRATE_FILE = "ro-crate-metadata.json"
DEFINITION_FILE = "pipeline.yaml"
PROFILES = ("https://w3id.org/ro/wfrun/process/0.5", "https://w3id.org/ro/wfrun/workflow/0.5",
            "https://w3id.org/workflowhub/workflow-ro-crate/1.0")
WORKFLOW_RUN_CRATE = "https://w3id.org/ro/wfrun/workflow/0.5"
STATUS = {"succeeded": "CompletedActionStatus", "cached": "CompletedActionStatus",
          "running": "ActiveActionStatus", "pending": "PotentialActionStatus"}


def ref(identifier: str) -> dict[str, str]:
    return {"@id": identifier}


def write_crate(pipeline: Pipeline, manifests: Mapping[str, Any], state: st.PipelineState) -> None:
    definition = state.definition
    text = definition.get("text")
    if text is None and definition.get("document"):
        from .writing import dump_yaml
        from .loading import parse_pipeline

        text = dump_yaml(parse_pipeline(json.dumps(definition["document"])).pipeline or pipeline)
    if text is not None:
        write_text_atomically(state.folder / DEFINITION_FILE, text)
    document = crate_document(pipeline, manifests, state, has_definition=text is not None)
    write_text_atomically(state.folder / CRATE_FILE, json.dumps(document, indent=1, ensure_ascii=True) + "\n")


class _Graph:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.entities: dict[str, dict[str, Any]] = {}

    def add(self, entity: dict[str, Any]) -> dict[str, str]:
        self.entities.setdefault(entity["@id"], {}).update({k: v for k, v in entity.items() if v is not None})
        return ref(entity["@id"])

    def file(self, path: str, **properties: Any) -> dict[str, str]:
        """A file by its place: inside the pipeline folder a data entity (relative id), else a file:// URI."""
        inside = f"{self.folder}/"
        identifier = path[len(inside):] if path.startswith(inside) else \
            path if "://" in path else f"file://{quote(str(Path(path).absolute()))}"
        return self.add({"@id": identifier, "@type": "File", "name": Path(path).name, **properties})


def crate_document(pipeline: Pipeline, manifests: Mapping[str, Any], state: st.PipelineState, *,
                   has_definition: bool = True) -> dict[str, Any]:
    graph = _Graph(state.folder)
    workflow_id = DEFINITION_FILE if has_definition else "#pipeline"
    run_action = f"#pipeline-run-{state.pipeline_id}"
    language = graph.add({"@id": "#seed-pipeline", "@type": "ComputerLanguage", "name": "Seed pipeline",
                          "version": pipeline.version})
    parameters_in = [graph.add({"@id": f"#input-{name}", "@type": "FormalParameter", "name": name,
                                "additionalType": "File" if spec.is_file else spec.type.capitalize(),
                                "valueRequired": spec.required})
                     for name, spec in pipeline.inputs.items()]
    parameters_out = [graph.add({"@id": f"#output-{name}", "@type": "FormalParameter", "name": name})
                      for name in pipeline.outputs]
    steps, images = [], {}
    for position, name in enumerate(pipeline.order()):
        step = pipeline.steps[name]
        manifest = manifests.get(name)
        images[name] = graph.add({
            "@id": f"#image-{name}", "@type": "SoftwareApplication", "name": step.image,
            "alternateName": f"{manifest.job.name} {manifest.job.job_version}" if manifest else None,
            "softwareVersion": manifest.job.package_version if manifest else None})
        steps.append(graph.add({"@id": f"#step-{name}", "@type": "HowToStep", "name": name,
                                "position": str(position), "workExample": images[name]}))
    graph.add({"@id": workflow_id, "@type": ["File", "SoftwareSourceCode", "ComputationalWorkflow", "HowTo"],
               "name": pipeline.name, "programmingLanguage": language, "input": parameters_in,
               "output": parameters_out, "hasPart": list(images.values()), "step": steps})

    inputs = []
    for name, given in state.inputs.items():
        if "files" in given:
            inputs += [graph.file(str(p), exampleOfWork=ref(f"#input-{name}")) for p in given["files"]]
        else:
            inputs.append(graph.add({"@id": f"#pipeline-input-{name}", "@type": "PropertyValue", "name": name,
                                     "value": _text(given.get("value")), "exampleOfWork": ref(f"#input-{name}")}))
    controls = []
    for name in pipeline.order():
        for run in state.steps[name].runs:
            if run.status in ("pending",):
                continue
            action = _run_action(graph, state, name, run, images[name])
            controls.append(graph.add({"@id": f"#control-{run.run_id}", "@type": "ControlAction",
                                       "name": f"orchestrate {name} [{run.index}]", "instrument": ref(f"#step-{name}"),
                                       "object": action, "actionStatus": _status(run.status)}))
    results = []
    for name, files in state.outputs.items():
        for entry in files:
            if "path" in entry:
                source = entry.get("from")
                results.append(graph.file(str(state.folder / entry["path"]), exampleOfWork=ref(f"#output-{name}"),
                                          isBasedOn=ref(source) if source else None))
            else:
                results.append(graph.add({"@id": f"#pipeline-output-{name}", "@type": "PropertyValue", "name": name,
                                          "value": _text(entry.get("value")),
                                          "exampleOfWork": ref(f"#output-{name}")}))
    graph.add({"@id": run_action, "@type": "CreateAction", "name": f"seed pipeline run {state.pipeline_id} of "
               f"{pipeline.name}", "identifier": state.pipeline_id, "instrument": ref(workflow_id),
               "object": inputs, "result": results, "actionStatus": _status(state.status),
               "startTime": state.created, "endTime": st.now_text() if state.status != "running" else None,
               "description": f"status: {state.status}"})
    engine = graph.add({"@id": "#seed-runner", "@type": "SoftwareApplication", "name": "seed-runner"})
    graph.add({"@id": "#organize", "@type": "OrganizeAction", "name": "seed-runner's orchestration",
               "instrument": engine, "object": controls, "result": ref(run_action)})
    parts = [ref(i) for i, e in graph.entities.items() if e.get("@type") == "File"]  # file:// ones too
    if has_definition:
        parts.insert(0, ref(workflow_id))
    root = {"@id": "./", "@type": "Dataset", "name": f"pipeline {pipeline.name} ({state.pipeline_id})",
            "datePublished": state.created, "conformsTo": [ref(p) for p in PROFILES],
            "mainEntity": ref(workflow_id), "mentions": ref(run_action), "hasPart": _unique(parts)}
    profiles = [{"@id": p, "@type": "CreativeWork", "name": p.rsplit("/", 2)[-2], "version": p.rsplit("/", 1)[-1]}
                for p in PROFILES]
    metadata = {"@id": CRATE_FILE, "@type": "CreativeWork", "conformsTo": ref("https://w3id.org/ro/crate/1.1"),
                "about": ref("./")}
    return {"@context": "https://w3id.org/ro/crate/1.1/context",
            "@graph": [metadata, root, *profiles, *graph.entities.values()]}


def _run_action(graph: _Graph, state: st.PipelineState, step: str, run: st.RunState,
                image: dict[str, str]) -> dict[str, str]:
    request = run.request or {}
    objects = [graph.file(str(p)) for paths in (request.get("file_inputs") or {}).values() for p in paths]
    for name, given in (request.get("json_inputs") or {}).items():
        objects.append(graph.add({"@id": f"#run-{run.run_id}-input-{name}", "@type": "PropertyValue", "name": name,
                                  "value": _text(given.get("value", given.get("text")))}))
    results = []
    for name, files in sorted(run.outputs.items()):
        for file in files:
            path = state.run_path(run) / "outputs" / str(file.get("path"))
            results.append(graph.file(str(path), description=f"output {name}", sha256=file.get("sha256"),
                                      contentSize=file.get("size"), encodingFormat=file.get("media_type")))
    for name, value in sorted(run.json_outputs.items()):
        results.append(graph.add({"@id": f"#run-{run.run_id}-output-{name}", "@type": "PropertyValue",
                                  "name": name, "value": _text(value)}))
    action = {"@id": f"#run-{run.run_id}", "@type": "CreateAction", "name": f"{step} [{run.index}]: run "
              f"{run.run_id}", "identifier": run.run_id, "instrument": image, "object": objects,
              "result": results, "actionStatus": _status(run.status), "description": f"status: {run.status}"
              + (f", taken from run {run.cached_from}" if run.cached_from else "")}
    if not run.succeeded and run.status not in ("running", "pending"):
        action["error"] = run.message or run.error or run.status
    return graph.add(action)


def _status(status: str) -> str:
    return STATUS.get(status, "FailedActionStatus")


def _text(value: Any) -> Any:
    return json.dumps(value, separators=(",", ":")) if isinstance(value, (dict, list)) else value


def _unique(items: list[dict[str, str]]) -> list[dict[str, str]]:
    seen: set[str] = set()
    return [i for i in items if not (i["@id"] in seen or seen.add(i["@id"]))]  # type: ignore[func-returns-value]
