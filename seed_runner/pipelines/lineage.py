"""What a pipeline leaves besides its runs: its outputs, its crate, its record in the run store, and (on
resume) what its run folders and the store say of the runs pipeline.json had not seen end.

Every run's own store record names its pipeline and the runs it read (``RunRequest.pipeline_id`` and
``input_runs``, written by ``store.recording``); the pipeline's own row (``seed pipelines``) is written here.
Nothing here raises for a record or a crate that cannot be written: the pipeline's result stands.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path
from typing import Any, Mapping

from ..runtime.run_result import read_result
from . import state as st
from .model import Pipeline

OUTPUTS = "outputs"


def record_pipeline(state: st.PipelineState) -> None:
    """The pipeline's row in the run store (``seed pipelines``); a warning on stderr when it cannot be."""
    from ..store.runstore import RunStore, StoreError

    document = state.to_dict()
    try:
        with RunStore.open() as store:
            store.record_pipeline({"id": state.pipeline_id, "name": state.name, "folder": str(state.folder),
                                   "status": state.status, "created": state.created,
                                   "updated": document["updated"], "counts": document["counts"]})
    except (StoreError, OSError) as exc:
        print(f"seed: warning: pipeline {state.pipeline_id} could not be recorded in the run store: {exc}",
              file=sys.stderr)


def finish(pipeline: Pipeline, manifests: Mapping[str, Any], state: st.PipelineState) -> None:
    """After a pass: the pipeline's outputs (when it succeeded), its crate, its state and its record."""
    if state.status == "succeeded":
        publish(pipeline, state)
    try:
        from .crate import write_crate

        write_crate(pipeline, manifests, state)
    except Exception as exc:  # noqa: BLE001 - provenance must never take a pipeline down
        print(f"seed: warning: the pipeline's ro-crate-metadata.json could not be written: "
              f"{type(exc).__name__}: {exc}", file=sys.stderr)
    st.write(state)
    record_pipeline(state)


def publish(pipeline: Pipeline, state: st.PipelineState) -> None:
    """``outputs/<NAME>/``: hard links (else copies) of the files of each pipeline output; a JSON output's
    value in pipeline.json (``outputs``)."""
    from .plan import ABSENT, Values

    values = Values(pipeline, {}, state)
    root = state.folder / OUTPUTS
    for name, connection in pipeline.outputs.items():
        if connection.kind == "output" and state.steps.get(connection.step or "") and \
                state.steps[connection.step or ""].state == "skipped":
            state.outputs[name] = []
            continue
        files = [f for f in values.files(connection) or []] if connection.kind in ("output", "input") else []
        if files and all(Path(f.path).is_file() for f in files):
            target = root / name
            shutil.rmtree(target, ignore_errors=True)
            target.mkdir(parents=True)
            shown = []
            for index, file in enumerate(files):
                destination = target / Path(file.path).name
                if destination.exists():  # two runs of a forEach wrote the same name
                    destination = target / f"{index:04d}-{Path(file.path).name}"
                try:
                    os.link(file.path, destination)
                except OSError:
                    shutil.copy2(file.path, destination)
                shown.append({"path": str(destination.relative_to(state.folder)),
                              "from": os.path.relpath(file.path, state.folder)})
            state.outputs[name] = shown
        else:
            value = values.value(connection)
            state.outputs[name] = [] if value is ABSENT else [{"value": value}]


def reconcile(state: st.PipelineState) -> None:
    """Before a resume: a run pipeline.json left unfinished may have ended after all (the process was killed
    between the end and the write): its run folder's result.json, else the run store, says so. A run recorded
    as succeeded whose folder is gone is run again."""
    records = _store_records([r.run_id for s in state.steps.values() for r in s.runs if not r.succeeded])
    for step in state.steps.values():
        for run in step.runs:
            if run.succeeded:
                if not state.run_path(run).is_dir():
                    run.status = "missing"
                continue
            document = read_result(state.run_path(run))
            if document is None and run.run_id in records:
                record = records[run.run_id]
                if record.get("status") == "succeeded" and record.get("run_dir"):
                    document = read_result(Path(record["run_dir"]))
            if document is not None and document.get("run_id") == run.run_id:
                st.take_result(run, document)
            elif run.status in ("running", "pending"):
                run.status = "interrupted"


def _store_records(run_ids: list[str]) -> dict[str, dict[str, Any]]:
    if not run_ids:
        return {}
    from ..store.runstore import RunNotFound, RunStore, StoreError

    found: dict[str, dict[str, Any]] = {}
    try:
        with RunStore.open(create=False) as store:
            for run_id in run_ids:
                try:
                    found[run_id] = store.get(run_id)
                except RunNotFound:
                    pass
    except StoreError:
        pass
    return found
