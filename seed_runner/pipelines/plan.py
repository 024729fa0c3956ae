"""What can start now: a pure "ready now?" over the pipeline's graph and its state.

A step is decided once every step it needs has ended (not level by level: a step waits only for its own
needs). Its decision is one of:

- ``stopped``: a step it needs failed or was stopped (its reason names which);
- ``skipped``: a step it needs was skipped, or one of its conditions (``when``/``unless``) does not accept;
- ``failed``: its inputs cannot be given (a single-file input fed several files, say), or its ``forEach`` gives
  more items than ``max_items`` (MAX_FOR_EACH unless raised);
- ``run``: its runs, one per ``forEach`` item (or one), each a ``RunRequest`` whose inputs are the files and
  values of the runs it needs, and which names those runs (``input_runs``) for the lineage.

Nothing here touches the engine, the store or the clock: run ids come from ``new_id``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from ..manifest.model import Manifest
from ..manifest.names import normalize_name
from ..runtime.plan import RunRequest
from .model import Connection, Pipeline, Step
from .state import DONE, ENDED_STEP, PipelineState, RunState, run_folder_name


@dataclass(frozen=True)
class FileRef:
    """A file flowing between steps: where it is, and the run that wrote it (None: a pipeline input)."""

    path: str
    run_id: str | None = None
    media_type: str | None = None
    metadata: Any = None

    @property
    def name(self) -> str:
        return Path(self.path).name


@dataclass(frozen=True)
class PlannedRun:
    step: str
    index: int
    request: RunRequest
    item: Any = None
    inputs_from: tuple[str, ...] = ()


@dataclass(frozen=True)
class Decision:
    step: str
    state: str
    """run, skipped, stopped or failed."""
    reason: str | None = None
    runs: tuple[PlannedRun, ...] = field(default=())


MAX_FOR_EACH = 10_000
"""The most runs one ``forEach`` may make unless raised (``--max-items``, ``max_items=``): a fan-out past it is
most often a mistake (a folder of a million tiles fed to a step), and its plan alone holds a request a run."""


def too_many(step: str, connection: Connection, count: int, limit: int) -> str:
    """The one line refusing a fan-out past the limit."""
    return (f"step {step}: forEach {connection.text} gives {count} items, more than the limit of {limit}; "
            f"raise it with --max-items {count} (max_items={count} in Python) if that many runs are meant")


class InputsError(ValueError):
    """A step's inputs cannot be made from what the steps it needs gave (one line, the step fails)."""


def ready(pipeline: Pipeline, manifests: Mapping[str, Manifest], state: PipelineState,
          new_id: Callable[[], str], secrets: Mapping[str, Mapping[str, str]] | None = None,
          max_items: int = MAX_FOR_EACH) -> list[Decision]:
    """A decision for every pending step whose needs have all ended, in the pipeline's order."""
    decisions = []
    for name in pipeline.order():
        if state.steps[name].state != "pending":
            continue
        needs = pipeline.graph()[name]
        if any(state.steps[n].state not in ENDED_STEP for n in needs):
            continue
        decisions.append(decide(pipeline, manifests, state, name, new_id, (secrets or {}).get(name) or {},
                                max_items))
    return decisions


def decide(pipeline: Pipeline, manifests: Mapping[str, Manifest], state: PipelineState, name: str,
           new_id: Callable[[], str], secrets: Mapping[str, str], max_items: int = MAX_FOR_EACH) -> Decision:
    step = pipeline.steps[name]
    needs = sorted(pipeline.graph()[name])
    broken = [n for n in needs if state.steps[n].state in ("failed", "stopped")]
    if broken:
        return Decision(name, "stopped", f"needs {', '.join(broken)}, which did not succeed")
    skipped = [n for n in needs if state.steps[n].state == "skipped"]
    if skipped:
        return Decision(name, "skipped", f"needs {', '.join(skipped)}, which was skipped")
    values = Values(pipeline, manifests, state)
    try:
        for condition in step.conditions:
            from .filters import accepts

            if not accepts(condition, values.for_filter):  # accept_when (unless) applied by accepts
                word = "when" if condition.accept_when else "unless"
                return Decision(name, "skipped", f"its {word} condition "
                                f"({', '.join(f.name.text + ' ' + f.condition for f in condition.filters)}) "
                                f"{'did not accept' if condition.accept_when else 'accepted'}")
        items: Sequence[Any] = [None] if step.for_each is None else values.items(step.for_each)
        if step.for_each is not None and len(items) > max_items:
            return Decision(name, "failed", too_many(name, step.for_each, len(items), max_items))
        runs = tuple(_planned(step, manifests[name], values, state, index, item, new_id, secrets)
                     for index, item in enumerate(items))
    except InputsError as exc:
        return Decision(name, "failed", str(exc))
    return Decision(name, "run", None if step.for_each is None else f"{len(runs)} items", runs)


def _planned(step: Step, manifest: Manifest, values: "Values", state: PipelineState, index: int, item: Any,
             new_id: Callable[[], str], secrets: Mapping[str, str]) -> PlannedRun:
    face = manifest.job.interface
    file_names = {normalize_name(f.name): f for f in face.file_inputs}
    file_inputs: dict[str, list[str]] = {}
    json_inputs: dict[str, Any] = {}
    sources: list[str] = []
    for input_name, connection in step.inputs.items():
        spec = file_names.get(normalize_name(input_name))
        if spec is not None:
            files = values.files(connection, item)
            if files is None:
                continue
            if len(files) > 1 and not spec.multiple:
                raise InputsError(f"step {step.name}: input {input_name} takes one file, but {connection.text} "
                                  f"gave {len(files)}; use forEach: {connection.text}")
            file_inputs[input_name] = [f.path for f in files]
            sources += [f.run_id for f in files if f.run_id]
        else:
            value = values.value(connection, item)
            if value is ABSENT:
                continue
            json_inputs[input_name] = value
            sources += values.runs_of(connection)
    if isinstance(item, FileRef) and item.run_id:
        sources.append(item.run_id)
    settings = {k: v for k, v in step.settings.items() if v is not None}
    settings.update(secrets)
    run_id = new_id()
    request = RunRequest(image=step.image or "", file_inputs=file_inputs, json_inputs=json_inputs,
                         settings=settings, mounts=dict(step.mounts), resources=dict(step.resources),
                         run_id=run_id, run_dir=str(state.folder / run_folder_name(step.name, index, run_id)),
                         label=f"{state.name}.{step.name}" + (f"[{index}]" if step.for_each else ""),
                         pipeline_id=state.pipeline_id, input_runs=tuple(dict.fromkeys(sources)))
    shown = item.path if isinstance(item, FileRef) else item
    return PlannedRun(step.name, index, request, shown, tuple(dict.fromkeys(sources)))


ABSENT = object()


class Values:
    """The values and files connections give, from the pipeline's inputs and the runs that ended."""

    def __init__(self, pipeline: Pipeline, manifests: Mapping[str, Manifest], state: PipelineState) -> None:
        self.pipeline, self.manifests, self.state = pipeline, manifests, state

    def _runs(self, step: str) -> list[RunState]:
        return sorted((r for r in self.state.steps[step].runs if r.status in DONE), key=lambda r: r.index)

    def runs_of(self, connection: Connection) -> list[str]:
        return [r.run_id for r in self._runs(connection.step)] if connection.kind == "output" and \
            connection.step else []

    def is_files(self, connection: Connection) -> bool:
        if connection.kind == "input":
            spec = self.pipeline.inputs.get(connection.name or "")
            return bool(spec and spec.is_file)
        if connection.kind == "output" and connection.step in self.manifests:
            face = self.manifests[connection.step].job.interface
            return normalize_name(connection.name or "") in {normalize_name(o.name) for o in face.file_outputs}
        return False

    def files(self, connection: Connection, item: Any = None) -> list[FileRef] | None:
        """The files a connection gives (None: an optional pipeline input not given)."""
        if connection.kind == "item":
            return [item] if isinstance(item, FileRef) else [FileRef(str(item))]
        if connection.kind == "value":
            value = connection.value
            return [FileRef(str(v)) for v in (value if isinstance(value, list) else [value])]
        if connection.kind == "input":
            given = self.state.inputs.get(connection.name or "")
            if not given or "files" not in given:
                return None
            return [FileRef(p) for p in given["files"]]
        found = []
        wanted = normalize_name(connection.name or "")
        for run in self._runs(connection.step or ""):
            for name, files in run.outputs.items():
                if normalize_name(name) == wanted:
                    found += [FileRef(str(self.state.run_path(run) / "outputs" / f["path"]), run.run_id,
                                      f.get("media_type"), f.get("metadata")) for f in files]
        return found

    def value(self, connection: Connection, item: Any = None) -> Any:
        if connection.kind == "item":
            return item.path if isinstance(item, FileRef) else item
        if connection.kind == "value":
            return connection.value
        if connection.kind == "input":
            given = self.state.inputs.get(connection.name or "")
            if not given:
                return ABSENT
            return given.get("value", given.get("files", ABSENT))
        step = self.pipeline.steps.get(connection.step or "")
        wanted = normalize_name(connection.name or "")
        values = [v for run in self._runs(connection.step or "") for k, v in run.json_outputs.items()
                  if normalize_name(k) == wanted]
        if step is not None and step.for_each is not None:
            return values  # one value a run: the list of them
        return values[0] if values else ABSENT

    def items(self, connection: Connection) -> list[Any]:
        """A forEach's items: the files of a file output or input, else the elements of a JSON array."""
        if self.is_files(connection):
            return list(self.files(connection) or [])
        value = self.value(connection)
        if value is ABSENT:
            return []
        if not isinstance(value, list):
            raise InputsError(f"forEach: {connection.text} is not a list of files nor a JSON array "
                              f"(it is {type(value).__name__})")
        return value

    def for_filter(self, connection: Connection) -> Any:
        """``filters.accepts``' resolver: a JSON value, or a list of FileFacts for files."""
        if self.is_files(connection):
            from .filters import FileFacts

            return [FileFacts(f.name, f.media_type, f.metadata if isinstance(f.metadata, dict) else {})
                    for f in self.files(connection) or []]
        value = self.value(connection)
        return None if value is ABSENT else value


def fan_outs_too_large(pipeline: Pipeline, inputs: Mapping[str, Any], max_items: int) -> list[tuple[str, str]]:
    """(step, refusal) for each ``forEach`` over a pipeline input or a literal whose size is known before anything
    runs and is past ``max_items`` (a fan-out over a step's output is decided when that step has run)."""
    found = []
    for name, step in pipeline.steps.items():
        connection = step.for_each
        if connection is None or connection.kind not in ("input", "value"):
            continue
        if connection.kind == "value":
            given: Any = connection.value
        else:
            kept = inputs.get(connection.name or "") or {}
            given = kept.get("files", kept.get("value"))
        if isinstance(given, list) and len(given) > max_items:
            found.append((name, too_many(name, connection, len(given), max_items)))
    return found
