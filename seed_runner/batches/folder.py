"""The batch folder::

    batch.json        the summary: counts, durations, and per run its row, status, error, outputs, attempts
    batch.csv         one line per run (row, status, error, exit code, seconds, run id, run folder)
    runs/0001-<id>/   each run's folder (a retried run has one folder per attempt)
    batch.lock        held (flock) by the one process that runs or resumes the batch

``batch.json`` is rewritten (atomically) as runs end, so a reader never sees half a file; ``complete`` is true
only once every run has ended, and ``status`` says how the batch ended (``running`` while it runs,
``interrupted`` after a Ctrl-C). It also keeps each run's request (secret values never: ``****``; a URL without
its userinfo and query values) and the executor's description for ``seed batch resume``, which reads it back
bounded and strictly (``summary_file``) and believes the run folders over it (``reconcile``).
"""

from __future__ import annotations

import contextlib
import csv
import json
import os
import threading
import time
import zlib
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator, Sequence, overload

from ..runtime.folder_lock import held


BATCH_FILE = "batch.json"
CSV_FILE = "batch.csv"
LOCK_FILE = "batch.lock"
BATCH_VERSION = 1
UNKNOWN_ENDS = frozenset({"scheduler-lost", "not-submitted"})
"""Errors of a run whose end is not known (or that never ran): the batch is not complete; resume settles them."""
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
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "runs").mkdir()  # atomic: of two batches given one folder at the same instant, one wins
    except FileExistsError:
        raise BatchFolderError(f"{folder} was just taken by another batch; give a new folder (-o DIR)") from None
    except OSError as exc:
        raise BatchFolderError(f"cannot create the batch folder {folder} ({exc.strerror})") from None
    return folder


@contextlib.contextmanager
def hold(folder: Path) -> Iterator[None]:
    """Hold the batch folder's lock (``batch.lock``) for a block: a batch runs, or resumes, in one process at a
    time. The lock dies with its process, so a batch whose runner was killed can be resumed at once."""
    path = folder / LOCK_FILE
    with held(path, unopenable=lambda why: BatchFolderError(f"cannot open {path} ({why})"),
              in_use=lambda pid: BatchFolderError(f"the batch in {folder} is in use by another seed batch (pid "
                                                  f"{pid}); wait for it to end, or stop it, then resume")):
        yield


def run_folder(folder: Path, row: int, run_id: str) -> Path:
    return folder / "runs" / f"{row:04d}-{run_id}"


def compact_text(record: dict[str, Any]) -> str:
    """A run's request record as the compact JSON text a RunEntry keeps."""
    return json.dumps(record, ensure_ascii=True, separators=(",", ":"))


class RecordPacker:
    """A batch's run requests, each kept as its compact JSON text deflated against the first one's (zlib's preset
    dictionary): rows differ by a few values, so a record of 350 bytes keeps as about 20. 100,000 of them are held
    while a batch runs; packing one takes about 5 us, unpacking (at each submit and batch.json rewrite) 1.5."""

    __slots__ = ("dictionary",)
    WINDOW_BITS = -10  # raw deflate, a 1 KiB window: a record is short, and so is each packer's state
    MEMORY_LEVEL = 2

    def __init__(self, first: str) -> None:
        self.dictionary = first.encode("ascii")[-1024:]

    def pack(self, text: str) -> bytes:
        packer = zlib.compressobj(6, zlib.DEFLATED, self.WINDOW_BITS, self.MEMORY_LEVEL, zdict=self.dictionary)
        return packer.compress(text.encode("ascii")) + packer.flush()

    def unpack(self, packed: bytes) -> str:
        unpacker = zlib.decompressobj(self.WINDOW_BITS, zdict=self.dictionary)
        return (unpacker.decompress(packed) + unpacker.flush()).decode("ascii")


class RunEntry:
    """One row of the batch: its request and the attempts made so far (the last one counts). The request is kept
    as compact JSON text (a tenth of the memory of its dicts: a batch holds 100,000 of them), read on demand;
    with a ``packer`` (the batch's ``RecordPacker``) that text is kept deflated."""

    __slots__ = ("row", "_request", "_packer", "attempts")

    def __init__(self, row: int, request: dict[str, Any] | str, attempts: list[dict[str, Any]] | None = None,
                 *, packer: RecordPacker | None = None) -> None:
        self.row = row
        text = request if isinstance(request, str) else compact_text(request)
        self._packer = packer
        self._request: str | bytes = packer.pack(text) if packer is not None else text
        self.attempts: list[dict[str, Any]] = [] if attempts is None else attempts

    @property
    def request_text(self) -> str:
        packed = self._request
        return packed if isinstance(packed, str) else self._packer.unpack(packed)  # type: ignore[union-attr]

    @property
    def request(self) -> dict[str, Any]:
        return json.loads(self.request_text)  # type: ignore[no-any-return]

    @property
    def last(self) -> dict[str, Any] | None:
        return self.attempts[-1] if self.attempts else None

    @property
    def status(self) -> str:
        return self.last["status"] if self.last else "pending"

    def to_dict(self, folder: Path, *, request: bool = True) -> dict[str, Any]:
        last = self.last or {}
        run_dir = last.get("run_dir")
        document = {"row": self.row, "status": self.status, "run_id": last.get("run_id"),
                    "run_dir": _relative(run_dir, folder), "exit_code": last.get("exit_code"),
                    "error": last.get("error"), "message": last.get("message"),
                    "duration_seconds": last.get("duration_seconds"), "outputs": last.get("outputs"),
                    "attempts": [{**a, "run_dir": _relative(a.get("run_dir"), folder)} for a in self.attempts]}
        if request:
            document["request"] = self.request
        return document


def _relative(path: str | None, folder: Path) -> str | None:
    if not path:
        return None
    inside = f"{folder}/"  # a string's prefix, not pathlib: this runs for every attempt at every rewrite
    return path[len(inside):] if path.startswith(inside) else path


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
                  started: float, full: bool = False) -> dict[str, Any]:
    """batch.json and batch.csv, each written to a temporary file and renamed. The document returned has its
    runs only when ``full`` (at the end, not at every rewrite), as a ``SummaryRuns`` view made from the entries
    run by run when asked: never 100,000 dicts with their requests at once."""
    counts: dict[str, int] = {"total": len(entries)}
    for entry in entries:
        counts[entry.status] = counts.get(entry.status, 0) + 1
    seconds = [e.last["duration_seconds"] for e in entries if e.last and e.last.get("duration_seconds") is not None]
    document = {
        "batch_version": BATCH_VERSION, **header, "status": status,
        "complete": status not in ("running", "interrupted") and "pending" not in counts and not any(
            e.last and e.last.get("error") in UNKNOWN_ENDS for e in entries),
        "updated": now_text(), "counts": counts,
        "durations": {"wall_seconds": round(time.monotonic() - started, 3),
                      "run_seconds_total": round(sum(seconds), 3),
                      "run_seconds_max": max(seconds) if seconds else None,
                      "run_seconds_mean": round(sum(seconds) / len(seconds), 3) if seconds else None},
    }
    head = json.dumps(document, indent=2, ensure_ascii=True)
    # Written a run at a time, straight to the temporary files: the summary of 100,000 runs is never held whole
    # (as dicts, or as one text). One line a run, by the C encoder (indent=2 is Python's, 4 times slower).
    summary_tmp, table_tmp = _temporary(folder / BATCH_FILE), _temporary(folder / CSV_FILE)
    try:
        with open(summary_tmp, "w", encoding="utf-8") as summary, \
                open(table_tmp, "w", encoding="utf-8", newline="") as table:
            writer = csv.writer(table, lineterminator="\n")
            writer.writerow(CSV_COLUMNS)
            summary.write(f'{head[:-2]},\n  "runs": [')
            for index, entry in enumerate(entries):
                run = entry.to_dict(folder, request=False)
                summary.write(f'{"," if index else ""}\n    {json.dumps(run, ensure_ascii=True)[:-1]}, '
                              f'"request": {entry.request_text}}}')
                writer.writerow([run["row"], run["status"], run["error"] or "", _cell(run["exit_code"]),
                                 _cell(run["duration_seconds"]), len(run["attempts"]), run["run_id"] or "",
                                 run["run_dir"] or ""])
            summary.write("\n  ]\n}\n" if entries else "]\n}\n")
        os.replace(summary_tmp, folder / BATCH_FILE)
        os.replace(table_tmp, folder / CSV_FILE)
    finally:
        summary_tmp.unlink(missing_ok=True)
        table_tmp.unlink(missing_ok=True)
    document["runs"] = SummaryRuns(entries, folder) if full else []
    return document


class SummaryRuns(Sequence[dict[str, Any]]):
    """batch.json's runs, each made from its row's entry when it is asked for (a read-only list: index, slice,
    iterate, ``len``; ``json.dumps(document, default=list)`` writes it). Holding them as dicts with their requests
    was most of a large batch's memory at its end (4 KiB a run)."""

    def __init__(self, entries: list[RunEntry], folder: Path) -> None:
        self._entries, self._folder = entries, folder

    def __len__(self) -> int:
        return len(self._entries)

    @overload
    def __getitem__(self, index: int) -> dict[str, Any]: ...

    @overload
    def __getitem__(self, index: slice) -> list[dict[str, Any]]: ...

    def __getitem__(self, index: int | slice) -> dict[str, Any] | list[dict[str, Any]]:
        if isinstance(index, slice):
            return [entry.to_dict(self._folder) for entry in self._entries[index]]
        return self._entries[index].to_dict(self._folder)

    def __eq__(self, other: object) -> bool:
        return list(self) == list(other) if isinstance(other, (list, SummaryRuns)) else NotImplemented

    def __repr__(self) -> str:
        return f"SummaryRuns({len(self)} runs)"


def _temporary(path: Path) -> Path:
    """A temporary name beside ``path`` (renamed over it once written: a reader never sees half a file)."""
    return path.with_name(f".{path.name}.{os.getpid()}-{threading.get_ident()}.tmp")


def _cell(value: Any) -> str:
    return "" if value is None else str(value)


def load(folder: Path) -> dict[str, Any]:
    """batch.json of ``folder``, read bounded and strictly (``summary_file``); BatchFolderError of one line."""
    from .summary_file import SummaryError, read_summary

    path = folder / BATCH_FILE
    try:
        return read_summary(path)
    except FileNotFoundError:
        raise BatchFolderError(f"{folder} holds no {BATCH_FILE}: it is not a batch folder") from None
    except SummaryError as exc:
        raise BatchFolderError(str(exc)) from None


def entries_of(document: dict[str, Any], folder: Path) -> list[RunEntry]:
    """The runs of a loaded batch.json, run folders made absolute again."""
    entries = []
    for index, run in enumerate(document["runs"]):
        try:
            attempts = [{**a, "run_dir": str(folder / a["run_dir"]) if a.get("run_dir") and
                         not Path(a["run_dir"]).is_absolute() else a.get("run_dir")} for a in run["attempts"]]
            if not isinstance(run["row"], int) or not isinstance(run["request"], dict):
                raise TypeError
        except (KeyError, TypeError, AttributeError):
            raise BatchFolderError(f"{folder / BATCH_FILE} is damaged (runs[{index}] lacks its row, request or "
                                   "attempts); run the batch again in a new folder") from None
        entries.append(RunEntry(run["row"], run["request"], attempts))
    return entries
