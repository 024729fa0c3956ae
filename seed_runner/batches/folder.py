"""The batch folder::

    batch.json        the summary: counts, durations, and per run its row, status, error, outputs, attempts
    batch.csv         one line per run (row, status, error, exit code, seconds, run id, run folder)
    runs/0001-<id>/   each run's folder (a retried run has one folder per attempt)

``batch.json`` is rewritten (atomically) as runs end, so a reader never sees half a file; ``complete`` is true
only once every run has ended, and ``status`` says how the batch ended (``running`` while it runs,
``interrupted`` after a Ctrl-C). It also keeps each run's request (secret values never: ``****``) for
``seed batch resume``.
"""

from __future__ import annotations

import csv
import io
import json
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ..runtime.atomic import write_text_atomically

BATCH_FILE = "batch.json"
CSV_FILE = "batch.csv"
BATCH_VERSION = 1
CSV_COLUMNS = ("row", "status", "error", "exit_code", "duration_seconds", "attempts", "run_id", "run_dir")


class BatchFolderError(ValueError):
    """Not a batch folder, or one that cannot be written: one line."""


def now_text() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def default_folder(job_name: str, batch_id: str) -> Path:
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    return Path("seed-runs") / f"batch-{job_name}-{stamp}-{batch_id[:6]}"


def claim(folder: Path) -> Path:
    """A new or empty folder for a batch (an existing batch folder is for resume)."""
    folder = folder.absolute()
    if folder.exists():
        if not folder.is_dir():
            raise BatchFolderError(f"{folder} is a file; give a new folder for the batch (-o DIR)")
        if any(folder.iterdir()):
            raise BatchFolderError(f"{folder} is not empty; give a new folder (-o DIR), or resume the batch "
                                   "that is there (seed batch resume DIR)")
    try:
        (folder / "runs").mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise BatchFolderError(f"cannot create the batch folder {folder} ({exc.strerror})") from None
    return folder


def run_folder(folder: Path, row: int, run_id: str) -> Path:
    return folder / "runs" / f"{row:04d}-{run_id}"


@dataclass
class RunEntry:
    """One row of the batch: its request and the attempts made so far (the last one counts)."""

    row: int
    request: dict[str, Any]
    attempts: list[dict[str, Any]] = field(default_factory=list)

    @property
    def last(self) -> dict[str, Any] | None:
        return self.attempts[-1] if self.attempts else None

    @property
    def status(self) -> str:
        return self.last["status"] if self.last else "pending"

    def to_dict(self, folder: Path) -> dict[str, Any]:
        last = self.last or {}
        run_dir = last.get("run_dir")
        return {"row": self.row, "status": self.status, "run_id": last.get("run_id"),
                "run_dir": _relative(run_dir, folder), "exit_code": last.get("exit_code"),
                "error": last.get("error"), "message": last.get("message"),
                "duration_seconds": last.get("duration_seconds"), "outputs": last.get("outputs"),
                "attempts": [{**a, "run_dir": _relative(a.get("run_dir"), folder)} for a in self.attempts],
                "request": self.request}


def _relative(path: str | None, folder: Path) -> str | None:
    if not path:
        return None
    try:
        return str(Path(path).relative_to(folder))
    except ValueError:
        return path


def attempt(document: dict[str, Any]) -> dict[str, Any]:
    """What batch.json keeps of one run's result document."""
    error = document.get("error") or {}
    outputs = {name: [f.get("path") for f in output.get("files", [])]
               for name, output in (document.get("outputs") or {}).items()}
    timings = document.get("timings") or {}
    return {"run_id": document.get("run_id"), "status": document.get("status"), "run_dir": document.get("run_dir"),
            "exit_code": document.get("exit_code"), "error": error.get("name"),
            "category": error.get("category"), "message": document.get("message"),
            "duration_seconds": timings.get("duration_seconds"), "outputs": outputs or None}


def write_summary(folder: Path, header: dict[str, Any], entries: list[RunEntry], *, status: str,
                  started: float) -> dict[str, Any]:
    """batch.json and batch.csv, each written to a temporary file and renamed."""
    counts: dict[str, int] = {"total": len(entries)}
    for entry in entries:
        counts[entry.status] = counts.get(entry.status, 0) + 1
    seconds = [e.last["duration_seconds"] for e in entries if e.last and e.last.get("duration_seconds") is not None]
    document = {
        "batch_version": BATCH_VERSION, **header, "status": status,
        "complete": status not in ("running", "interrupted") and "pending" not in counts,
        "updated": now_text(), "counts": counts,
        "durations": {"wall_seconds": round(time.monotonic() - started, 3),
                      "run_seconds_total": round(sum(seconds), 3),
                      "run_seconds_max": max(seconds) if seconds else None,
                      "run_seconds_mean": round(sum(seconds) / len(seconds), 3) if seconds else None},
        "runs": [entry.to_dict(folder) for entry in entries],
    }
    write_text_atomically(folder / BATCH_FILE, json.dumps(document, indent=2, ensure_ascii=True) + "\n")
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for run in document["runs"]:
        writer.writerow([run["row"], run["status"], run["error"] or "", _cell(run["exit_code"]),
                         _cell(run["duration_seconds"]), len(run["attempts"]), run["run_id"] or "",
                         run["run_dir"] or ""])
    write_text_atomically(folder / CSV_FILE, text.getvalue())
    return document


def _cell(value: Any) -> str:
    return "" if value is None else str(value)




def load(folder: Path) -> dict[str, Any]:
    path = folder / BATCH_FILE
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BatchFolderError(f"{folder} holds no {BATCH_FILE}: it is not a batch folder") from None
    except (OSError, ValueError) as exc:
        raise BatchFolderError(f"cannot read {path} ({exc})") from None
    if not isinstance(document, dict) or document.get("batch_version") != BATCH_VERSION:
        raise BatchFolderError(f"{path} is not a batch summary this seed-runner reads (batch_version "
                               f"{BATCH_VERSION})")
    return document


def entries_of(document: dict[str, Any], folder: Path) -> list[RunEntry]:
    """The runs of a loaded batch.json, run folders made absolute again."""
    entries = []
    for run in document.get("runs", []):
        attempts = [{**a, "run_dir": str(folder / a["run_dir"]) if a.get("run_dir") and
                     not Path(a["run_dir"]).is_absolute() else a.get("run_dir")} for a in run.get("attempts", [])]
        entries.append(RunEntry(run["row"], run["request"], attempts))
    return entries
