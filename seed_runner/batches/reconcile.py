"""What ``seed batch resume`` does before it runs anything: believe the run folders over batch.json, and give back
what batch.json never kept (secret settings, URL credentials) row by row.

batch.json is rewritten at most once a second (and less often when it is large), so a runner killed at the
wrong moment (SIGKILL, a lost Dask scheduler) leaves it behind its runs: a row that succeeded may still say
``pending`` or ``scheduler-lost``. Every run folder of the batch (``runs/<row>-<run id>/``) holds its run's
``result.json`` once the run ended: ``reconcile`` takes each ended run from there, so that resume repeats no
finished row.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

from . import folder as bf
from .rows import Row

_ROW_DIGITS = 4


def reconcile(folder: Path, entries: list[bf.RunEntry]) -> int:
    """Bring each entry up to what its run folders say; returns how many attempts changed or were added."""
    from ..executors.dask_outputs import ended_in

    by_row: dict[int, list[Path]] = {}
    try:
        listed = sorted((folder / "runs").iterdir())
    except OSError:
        return 0
    for path in listed:
        number, _, run_id = path.name.partition("-")
        if number.isdigit() and run_id and path.is_dir():
            by_row.setdefault(int(number), []).append(path)
    changed = 0
    for entry in entries:
        if entry.status in ("succeeded", "cached") or entry.row not in by_row:
            continue
        known = {a.get("run_dir"): a for a in entry.attempts}
        for path in by_row[entry.row]:
            found = ended_in(str(path))
            if found is None:
                continue
            try:
                attempt = bf.attempt({**found.document, "run_dir": str(path)})
            except (AttributeError, TypeError):  # a result.json of the wrong shape: its end is not known
                continue
            recorded = known.get(str(path))
            if recorded is None:
                entry.attempts.append(attempt)
                changed += 1
            elif recorded.get("status") != attempt["status"]:
                recorded.clear()
                recorded.update(attempt)
                changed += 1
        # The attempt that counts is the last; a success found anywhere among them is the row's outcome.
        done = [a for a in entry.attempts if a.get("status") in ("succeeded", "cached")]
        if done and entry.attempts[-1] is not done[-1]:
            entry.attempts.remove(done[-1])
            entry.attempts.append(done[-1])
    return changed


def given_again(request: Mapping[str, Any], row: Row | None) -> tuple[dict[str, Any], dict[str, str]]:
    """(the row's file inputs, its settings) as the table gives them again, for what batch.json masked: a URL
    whose credentials were not written, a secret setting. ``row`` None: nothing given again."""
    from ..inputs.urls import MASK, holds_credentials
    from ..manifest.names import normalize_name

    if row is None:
        return {}, {}
    cells = {normalize_name(name): value for name, value in row.values.items()}
    files: dict[str, Any] = {}
    for name, values in (request.get("file_inputs") or {}).items():
        if any(MASK in str(v) for v in values) and normalize_name(name) in cells:
            cell = cells[normalize_name(name)]
            given = cell if isinstance(cell, list) else [cell]
            if all(isinstance(v, str) for v in given) and any(holds_credentials(v) for v in given):
                files[name] = given
    settings = {name: cells[normalize_name(name)] for name, value in (request.get("settings") or {}).items()
                if value == MASK and isinstance(cells.get(normalize_name(name)), str)}
    return files, settings


def masked_urls(request: Mapping[str, Any]) -> list[str]:
    """The file inputs of a recorded request whose URL lost its credentials when it was written."""
    from ..inputs.urls import MASK, is_url

    return [name for name, values in (request.get("file_inputs") or {}).items()
            if any(is_url(v) and MASK in v for v in values)]
