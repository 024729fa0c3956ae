"""Run folders and run records leaving the worker: the copy to ``outputs_to`` (fsspec) and the run store.

With ``outputs_to`` (no shared folder), a run is made in the worker's spool folder and copied, once it has
ended, to ``<outputs_to>/<folder name>`` (everything but ``work/inputs``, the staged copies of the input files);
the spool's folder is then removed. The result document's ``run_dir`` and ``outputs_dir`` name the copy (a path
for ``file://``, else the URL), and so does the run store's record. A copy that fails turns the run into a
system error (``outputs-not-copied``) and keeps the spool's folder on the worker, which the message names.

The run store: a worker records its runs in its own store (``SEED_HOME`` on its host), as any run does; the
task gives the record back, and the client writes it into its own store (the same row when both share one), so
that `seed runs` on the submitting machine lists every run of the executor. A run lost with its worker is
recorded there by the client (status ``error``).
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .recording import restate

if TYPE_CHECKING:
    from ..runtime.runner import RunResult

_SKIPPED = ("work/inputs",)
"""Not copied: the staged copies (hard links) of the input files, which are the user's already."""


def copy_out(result: "RunResult", url: str) -> "RunResult":
    """Copy the run folder to ``<url>/<its name>`` and remove it here; the result then names the copy."""
    import fsspec

    local = Path(str(result.run_dir))
    try:
        fs, root = fsspec.core.url_to_fs(url)
        target = f"{root.rstrip('/')}/{local.name}"
        on_disk = "file" in _protocols(fs)
        shown = target if on_disk else f"{url.rstrip('/')}/{local.name}"  # the URL as the user wrote it
        document = _moved(result.document, str(local), shown)
        _write_document(local / "result.json", document)
        if fs.exists(target):  # a lost attempt's partial copy, or an earlier run of the same name
            fs.rm(target, recursive=True)
        folders, sources, targets = _files(local, target)
        for folder in folders:  # empty ones too (outputs/ of a job that wrote nothing)
            fs.makedirs(folder, exist_ok=True)
        fs.put(sources, targets)
    except Exception as exc:  # noqa: BLE001 - any file system's failure: the run says so, the folder stays
        return _not_copied(result, url, f"{type(exc).__name__}: {exc}")
    restate(str(result.document.get("run_id")), run_dir=shown)
    shutil.rmtree(local, ignore_errors=True)
    try:
        local.parent.rmdir()  # <spool>/<run id>
    except OSError:
        pass
    return replace(result, document=document, run_dir=Path(shown) if on_disk else None)


def _protocols(fs: Any) -> tuple[str, ...]:
    protocol = fs.protocol
    return (protocol,) if isinstance(protocol, str) else tuple(protocol)


def _files(local: Path, target: str) -> tuple[list[str], list[str], list[str]]:
    """(the folders to make, the files to copy, where each goes)."""
    folders, sources, targets = [], [], []
    for directory, subdirs, names in os.walk(local):
        relative = os.path.relpath(directory, local)
        subdirs[:] = [d for d in subdirs if os.path.normpath(os.path.join(relative, d)) not in _SKIPPED]
        there = target if relative == "." else f"{target}/{relative}"
        folders.append(there)
        for name in names:
            sources.append(os.path.join(directory, name))
            targets.append(f"{there}/{name}")
    return folders, sources, targets


def _moved(document: dict[str, Any], local: str, shown: str) -> dict[str, Any]:
    moved = dict(document)
    for member in ("run_dir", "outputs_dir"):
        value = moved.get(member)
        if isinstance(value, str) and (value == local or value.startswith(local + "/")):
            moved[member] = shown + value[len(local):]
    return moved


def _write_document(path: Path, document: dict[str, Any]) -> None:
    from ..runtime.atomic import write_text_atomically

    write_text_atomically(path, json.dumps(document, indent=2) + "\n", encoding="ascii")  # as the runner does


def _not_copied(result: "RunResult", url: str, why: str) -> "RunResult":
    from ..runtime.outcome import system_failure

    message = f"the run folder could not be copied to {url} ({why}); it is kept on the worker at {result.run_dir}"
    outcome = system_failure("outputs-not-copied", message)
    document = {**result.document, "status": outcome.status, "error": outcome.error.to_dict()  # type: ignore[union-attr]
                , "message": message}
    try:
        _write_document(Path(str(result.run_dir)) / "result.json", document)
    except OSError:
        pass
    restate(str(document.get("run_id")), document=document)
    return replace(result, outcome=outcome, document=document)



def ended_in(run_dir: str | None) -> "RunResult | None":
    """The result a run wrote in its folder (``result.json``), when it says the run ended; None otherwise. For a
    run whose scheduler was lost: it may have ended on its worker all the same."""
    if not run_dir:
        return None
    from ..manifest.jsontext import MAX_DOCUMENT_BYTES, parse_json_document
    from ..manifest.sources import read_regular_file
    from ..runtime.outcome import EXIT_BY_STATUS, BUILTIN, Outcome, RunError
    from ..runtime.runner import RunResult

    try:
        data = read_regular_file(Path(run_dir) / "result.json", MAX_DOCUMENT_BYTES)
    except OSError:
        return None
    document, problems = parse_json_document(data, what="result.json")
    if problems or not isinstance(document, dict) or not isinstance(document.get("status"), str) or \
            document["status"] not in EXIT_BY_STATUS:
        return None  # no end written (yet), or not a result document: the run's end is not known
    error = document.get("error") if isinstance(document.get("error"), dict) else None
    named = None if error is None else BUILTIN.get(str(error.get("name"))) or RunError(
        str(error.get("name")), str(error.get("title") or ""), str(error.get("description") or ""),
        error.get("category") if error.get("category") in ("job", "data", "system") else "system")
    message = document.get("message") if isinstance(document.get("message"), str) else None
    return RunResult(Outcome(document["status"], named, message), document, Path(run_dir))
