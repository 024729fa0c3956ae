"""The pipeline folder and its state file, ``pipeline.json``::

    pipeline.json              the state: each step's state, and each of its runs (status, run folder, outputs)
    pipeline.lock              held (flock) by the one process that runs or resumes the pipeline
    runs/<step>-<n>-<run id>/  each run's folder (n: its place in a forEach, 0 otherwise)
    outputs/<NAME>/            the pipeline's outputs (hard links, else copies, of the runs' files)
    ro-crate-metadata.json     one RO-Crate for the whole pipeline (``lineage``)

``pipeline.json`` is rewritten whole (``runtime.atomic``) as runs end, so a reader never sees half a file; a
run is written ``succeeded`` only once its result says so. Run folders are kept relative to the folder, so a
pipeline folder can be moved and still resumed. Secret values are never written (``****``).
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator

from ..runtime.folder_lock import held
from ..runtime.atomic import write_text_atomically

STATE_FILE = "pipeline.json"
LOCK_FILE = "pipeline.lock"
STATE_VERSION = 1
DONE = frozenset({"succeeded", "cached"})
"""Run statuses that count as success (``cached``: taken from the result cache, or from an earlier attempt)."""
ENDED_STEP = frozenset({"succeeded", "failed", "skipped", "stopped"})
"""Step states that are final for this pass (``stopped``: a step it needs failed, or the pipeline stopped)."""


class PipelineFolderError(ValueError):
    """Not a pipeline folder, or one that cannot be used: one line."""


def now_text() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def default_folder(name: str, pipeline_id: str) -> Path:
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    return Path("seed-runs") / f"pipeline-{name}-{stamp}-{pipeline_id[:6]}"


@dataclass
class RunState:
    """One run of a step (one of a forEach's, or the step's only one)."""

    index: int
    run_id: str
    run_dir: str
    """Relative to the pipeline folder."""
    status: str = "pending"
    """pending, running, then the run's own status (succeeded, failed, error, cancelled, interrupted...)."""
    item: Any = None
    """The forEach item: a file (relative to the pipeline folder when inside it) or a JSON value."""
    inputs_from: list[str] = field(default_factory=list)
    """The runs whose outputs this run reads."""
    request: dict[str, Any] = field(default_factory=dict)
    """What the run was asked (store.recording.request_record: secrets masked), to compare on resume."""
    error: str | None = None
    message: str | None = None
    exit_code: int | None = None
    cached_from: str | None = None
    outputs: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    """Output name -> [{path (relative to the run's outputs/), media_type, sha256, size}]."""
    json_outputs: dict[str, Any] = field(default_factory=dict)
    attempts: int = 0

    @property
    def succeeded(self) -> bool:
        return self.status in DONE


@dataclass
class StepState:
    state: str = "pending"
    """pending, running, succeeded, failed, skipped, stopped."""
    reason: str | None = None
    runs: list[RunState] = field(default_factory=list)


@dataclass
class PipelineState:
    pipeline_id: str
    name: str
    folder: Path
    definition: dict[str, Any]
    """How to load the pipeline again: {"path", "text"} of its file, or {"document"} of one built in Python."""
    inputs: dict[str, Any]
    """Input name -> {"files": [absolute paths or URLs]} or {"value": JSON value}."""
    settings: dict[str, dict[str, str]] = field(default_factory=dict)
    """Step -> setting -> value given at run time (secrets: ``****``; resume asks for them again)."""
    options: dict[str, Any] = field(default_factory=dict)
    steps: dict[str, StepState] = field(default_factory=dict)
    status: str = "running"
    created: str = field(default_factory=now_text)
    outputs: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    """Pipeline output -> [{"path": outputs/NAME/..., "from": the run's file}] (relative to the folder), or
    [{"value": ...}] for a JSON output."""

    def run_path(self, run: RunState) -> Path:
        return self.folder / run.run_dir

    def to_dict(self) -> dict[str, Any]:
        steps = {name: {"state": s.state, "reason": s.reason, "runs": [asdict(r) for r in s.runs]}
                 for name, s in self.steps.items()}
        counts: dict[str, int] = {}
        for step in self.steps.values():
            counts[step.state] = counts.get(step.state, 0) + 1
        return {"pipeline_version": STATE_VERSION, "pipeline_id": self.pipeline_id, "name": self.name,
                "status": self.status, "complete": self.status in ("succeeded", "failed"),
                "created": self.created, "updated": now_text(), "counts": counts, "options": self.options,
                "inputs": self.inputs, "settings": self.settings, "outputs": self.outputs, "steps": steps,
                "definition": self.definition}


def write(state: PipelineState) -> None:
    text = json.dumps(state.to_dict(), indent=1, ensure_ascii=True, default=str) + "\n"
    write_text_atomically(state.folder / STATE_FILE, text)


def load(folder: Path) -> PipelineState:
    path = folder / STATE_FILE
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise PipelineFolderError(f"{folder} holds no {STATE_FILE}: it is not a pipeline folder") from None
    except (OSError, ValueError) as exc:
        raise PipelineFolderError(f"cannot read {path} ({exc})") from None
    if not isinstance(document, dict) or document.get("pipeline_version") != STATE_VERSION:
        raise PipelineFolderError(f"{path} is not a pipeline state this seed-runner reads (pipeline_version "
                                  f"{STATE_VERSION})")
    try:
        steps = {name: StepState(s["state"], s.get("reason"), [RunState(**r) for r in s["runs"]])
                 for name, s in document["steps"].items()}
        return PipelineState(document["pipeline_id"], document["name"], folder.absolute(), document["definition"],
                             document["inputs"], document.get("settings") or {}, document.get("options") or {},
                             steps, document.get("status", "running"), document.get("created", now_text()),
                             document.get("outputs") or {})
    except (KeyError, TypeError, AttributeError) as exc:
        raise PipelineFolderError(f"{path} is damaged ({type(exc).__name__}: {exc}); run the pipeline again in a "
                                  "new folder") from None


def claim(folder: Path) -> Path:
    """A new or empty folder for a pipeline (an existing pipeline folder is for resume)."""
    folder = folder.absolute()
    if folder.exists():
        if not folder.is_dir():
            raise PipelineFolderError(f"{folder} is a file; give a new folder for the pipeline (-o DIR)")
        if any(folder.iterdir()):
            raise PipelineFolderError(f"{folder} is not empty; give a new folder (-o DIR), or resume the pipeline "
                                      "that is there (seed pipeline resume DIR)")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "runs").mkdir()  # atomic: of two pipelines given one folder at once, one wins
    except FileExistsError:
        raise PipelineFolderError(f"{folder} was just taken by another pipeline; give a new folder (-o DIR)") \
            from None
    except OSError as exc:
        raise PipelineFolderError(f"cannot create the pipeline folder {folder} ({exc.strerror})") from None
    return folder


@contextlib.contextmanager
def hold(folder: Path) -> Iterator[None]:
    """Hold ``pipeline.lock`` for a block: a pipeline runs, or resumes, in one process at a time. The lock dies
    with its process, so a pipeline whose runner was killed can be resumed at once."""
    path = folder / LOCK_FILE
    with held(path, unopenable=lambda why: PipelineFolderError(f"cannot open {path} ({why})"),
              in_use=lambda pid: PipelineFolderError(f"the pipeline in {folder} is in use by another process (pid "
                                                     f"{pid}); wait for it to end, or stop it, then resume")):
        yield


def run_folder_name(step: str, index: int, run_id: str) -> str:
    return f"runs/{step}-{index:04d}-{run_id}"


def take_result(run: RunState, document: dict[str, Any]) -> None:
    """What the state keeps of a run's result document."""
    error = document.get("error") or {}
    run.status = "cached" if document.get("status") == "succeeded" and document.get("cached_from") \
        else str(document.get("status"))
    run.error = error.get("name") or error.get("code")
    run.message = document.get("message")
    run.exit_code = document.get("exit_code")
    run.cached_from = document.get("cached_from")
    run.outputs = {name: [{"path": f.get("path"), "media_type": f.get("media_type"), "sha256": f.get("sha256"),
                           "size": f.get("size"), "metadata": f.get("metadata")}
                          for f in output.get("files") or ()]
                   for name, output in (document.get("outputs") or {}).items()}
    run.json_outputs = dict(document.get("json_outputs") or {})
