"""`seed runs --json` at the store's speed: SQLite writes each record as JSON text itself (``json_object``), the
JSON members pass through as they were stored (never decoded in Python and encoded again), and the document is
written at once, one record a line.

Why: ``json.dumps(indent=2)`` of 10,000 decoded records runs Python's pure-Python encoder (its C encoder takes no
indent) and took about 1 s; decoding the stored members another 0.1 s. The text written holds the same members and
values as the records ``RunStore.list`` returns, with ``state`` added and ``request`` left out.
"""

from __future__ import annotations

import json
from typing import Any, BinaryIO

from .runstore import _COLUMNS, _JSON_COLUMNS, RunStore

LEFT_OUT = ("request", "cache_record")  # the request is in `seed runs show`; a listing never needed it
# (nor the result cache's record of a run's files)
# recorded_at is written by Python: SQLite 3.40 prints a REAL with 15 digits, and a Unix time needs 17.
_MEMBERS = [c for c in _COLUMNS if c not in LEFT_OUT and c != "recorded_at"]
_SELECT = "json_object({}), id, status, cached_from, recorded_at".format(
    ", ".join(f"'{c}', json({c})" if c in _JSON_COLUMNS else f"'{c}', {c}" for c in _MEMBERS))
SHOWN_BY_STATE = ("running", "runner gone")  # states judged in Python (is the runner alive?), not stored


def write_json(store: RunStore, out: BinaryIO, *, status: str | None = None, job: str | None = None,
               since: float | None = None, limit: int | None = None, batch: str | None = None,
               pipeline: str | None = None) -> int:
    """Write ``{"store": PATH, "runs": [record, ...]}`` (newest first, filtered as ``RunStore.list``) to ``out``;
    returns the number of records."""
    from .history import state

    by_state = status in SHOWN_BY_STATE
    rows = store.rows(*store.query(_SELECT, status="running" if by_state else status, job=job, since=since,
                                   limit=None if by_state else limit, batch=batch, pipeline=pipeline))
    states: dict[str, str] = {}
    if any(row[2] == "running" for row in rows):  # rare: judge those runners (their lock, their process)
        for record in store.list(status="running", job=job, since=since, brief=True, batch=batch,
                                 pipeline=pipeline):
            states[record["id"]] = state(record)
    lines = []
    for text, run_id, stored, cached_from, recorded_at in rows:
        shown = states.get(run_id) or ("cached" if stored == "succeeded" and cached_from else stored)
        if by_state and shown != status:
            continue
        lines.append(f'{text[:-1]},"recorded_at":{_number(recorded_at)},"state":{json.dumps(shown)}}}')
        if by_state and limit and len(lines) >= limit:
            break
    head = '{"store": %s, "runs": [' % json.dumps(str(store.path))
    out.write((head + ("\n" + ",\n".join(lines) + "\n" if lines else "") + "]}\n").encode("utf-8"))
    out.flush()
    return len(lines)


def _number(value: Any) -> str:
    return "null" if value is None else repr(float(value))
