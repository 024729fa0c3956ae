"""A batch's rows as run requests, every one checked against the manifest before any run starts.

A row's values override the options every run shares (``-i/-j/-e/-m``) by name. Every row is planned
(``make_plan``, the same check a single run gets) and every problem is listed with its row number: a batch with
any problem runs nothing (exit status 2).
"""

from __future__ import annotations

import array
import dataclasses
import functools
import math
import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping

from ..manifest.model import Manifest
from ..manifest.names import normalize_name
from ..problems import Problem, error
from ..runtime.json_inputs import JsonText
from ..runtime.plan import PlanError, RunRequest, make_plan
from .rows import Row, row_path


@dataclass(frozen=True, slots=True)  # one a row: 100,000 of them
class BatchRun:
    row: int
    request: RunRequest
    allocations: Mapping[str, float] | None = None
    """The resources its plan allocates (from the check), for the executor's packing."""


def _by_name(given: Mapping[str, Any]) -> dict[str, Any]:
    return {normalize_name(name): value for name, value in given.items()}


_PLAIN_RELATIVE = re.compile(r"(?!\.\.?(?:/|$))[^/]+(?:/(?!\.\.?(?:/|$))[^/]+)*")
"""A relative path pathlib would leave as it is (no empty or ``.`` segment, no trailing ``/``), so that joining
its text to the folder's is what ``base / value`` gives, without pathlib's cost over 100,000 rows."""


@functools.lru_cache(maxsize=64)
def _folder_text(base: Path) -> str:
    return str(base)


def _located(value: str, base: Path) -> str:
    """A relative path is the table's folder's; a URL stays as it is."""
    if "://" in value or value.startswith("/"):
        return value
    folder = _folder_text(base)
    if folder != "/" and base.is_absolute() and _PLAIN_RELATIVE.fullmatch(value):
        return f"{folder}/{value}"
    return str(base / value)


def _file_value(row: Row, name: str, value: Any) -> list[str] | Problem:
    values = value if isinstance(value, list) else [value]
    if not values or not all(isinstance(v, str) and v for v in values):
        return error("invalid-cell", row_path(row.number, name),
                     f"row {row.number}: {name} must be a path (or a list of paths), not {value!r}")
    return [_located(v, row.base) for v in values]


def _json_value(row: Row, name: str, value: Any) -> Any:
    if not row.text_cells:
        return value  # JSON Lines: the value itself
    if value.startswith("@"):
        from ..manifest.jsontext import MAX_DOCUMENT_BYTES
        from ..manifest.sources import NotARegularFile, read_regular_file

        path = _located(value[1:], row.base)
        try:
            data = read_regular_file(path, MAX_DOCUMENT_BYTES)
            if len(data) > MAX_DOCUMENT_BYTES:
                raise OSError(0, f"larger than {MAX_DOCUMENT_BYTES // 1048576} MiB")
            return JsonText(data.decode("utf-8"))
        except NotARegularFile:  # a folder, /dev/zero, a FIFO: nothing is read from it
            return error("invalid-cell", row_path(row.number, name), f"row {row.number}: {name}: {path} is not a "
                                                                      "regular file; give a JSON file after '@'")
        except (OSError, UnicodeDecodeError) as exc:
            why = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
            return error("invalid-cell", row_path(row.number, name), f"row {row.number}: {name}: cannot read "
                                                                      f"{path} ({why})")
    return JsonText(value)


def _setting_value(row: Row, name: str, value: Any) -> str | Problem:
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
        return str(value)
    return error("invalid-cell", row_path(row.number, name),
                 f"row {row.number}: setting {name} must be text, not {type(value).__name__}")


class _Shared:
    """What every row's request starts from, worked out once a batch: the names of the job's inputs and settings,
    the template's values by name, and each column's name normalized (a table has few columns, 100,000 rows)."""

    def __init__(self, manifest: Manifest, template: RunRequest) -> None:
        interface = manifest.job.interface
        self.template = template
        self.fields = {f.name: getattr(template, f.name) for f in dataclasses.fields(template)}
        self.kinds = {normalize_name(x.name): kind for kind, group in
                      (("setting", interface.settings), ("json", interface.json_inputs),
                       ("file", interface.file_inputs)) for x in group}  # a file input's name wins, as before
        self.file_inputs, self.json_inputs, self.settings = (
            _by_name(given) for given in (template.file_inputs, template.json_inputs, template.settings))
        self.columns: dict[str, str] = {}

    def name(self, column: str) -> str:
        found = self.columns.get(column)
        if found is None:
            found = self.columns[column] = normalize_name(column)
        return found


def row_request(manifest: Manifest, row: Row, template: RunRequest, shared: _Shared | None = None
                ) -> RunRequest | tuple[RunRequest, list[Problem]]:
    """The template with the row's values; with the problems of cells that name nothing of the job's or that
    cannot be read, when there are some (the rest of the row is still checked)."""
    shared = shared if shared is not None else _Shared(manifest, template)
    file_inputs = dict(shared.file_inputs)
    json_inputs = dict(shared.json_inputs)
    setting_values = dict(shared.settings)
    problems: list[Problem] = []
    for column, value in row.values.items():
        name = shared.name(column)
        kind = shared.kinds.get(name)
        if kind == "file":
            got: Any = _file_value(row, column, value)
            target: dict[str, Any] = file_inputs
        elif kind == "json":
            got, target = _json_value(row, column, value), json_inputs
        elif kind == "setting":
            got, target = _setting_value(row, column, value), setting_values
        else:
            problems.append(error("unknown-column", row_path(row.number, column),
                                  f"row {row.number}: {column!r} is not a file input, JSON input or setting of "
                                  f"{manifest.job.name}"))
            continue
        if isinstance(got, Problem):
            problems.append(got)
        else:
            target[name] = got
    request = RunRequest(**{**shared.fields, "file_inputs": file_inputs, "json_inputs": json_inputs,
                            "settings": setting_values})  # what replace() makes, without its cost a row
    return (request, problems) if problems else request


Keep = Callable[[int, RunRequest, Mapping[str, float]], None]
"""Called with each row that passed (its number, its request, its plan's allocations), in the rows' order."""


def batch_requests(manifest: Manifest, rows: Iterable[Row], template: RunRequest, *,
                   image_env: Mapping[str, str] | None = None,
                   resolve: Callable[[RunRequest], RunRequest] | None = None,
                   keep: Keep | None = None) -> tuple[list[BatchRun], list[Problem]]:
    """Every row as a request, checked; all problems, each naming its row (``$.rows[N]...``). ``resolve``
    turns URL inputs into local files before the check (``seed_runner.inputs.resolve_url_inputs``; it raises
    PlanError); the runs get the request as the row gave it, so the run store records the URL.

    Each row passes or fails exactly as ``make_plan`` would have it: the first row of each shape (the names it
    gives) is planned whole, and the later ones have their own values checked (``row_check``), falling back to
    ``make_plan`` for any doubt. ``rows`` may be a stream: with ``keep`` each row that passed is handed over as it
    is checked and none is kept here (the list returned is empty), so that a large table is never held as rows,
    requests and records at once."""
    from .row_check import RowCheck

    runs: list[BatchRun] = []
    problems: list[Problem] = []
    sizes: dict[tuple[tuple[str, float], ...], Mapping[str, float]] = {}  # one mapping for rows of one size
    shared = _Shared(manifest, template)
    fast = RowCheck(manifest, template)
    numbers = array.array("q")  # every row's number (8 bytes each): which rows "every row" means
    for row in rows:
        numbers.append(row.number)
        request = row_request(manifest, row, template, shared)
        cells: list[Problem] = []
        if isinstance(request, tuple):
            request, cells = request
            problems += cells
        found = fast.allocations(request) if not cells else None
        if found is None:
            try:
                planned = resolve(request) if resolve is not None else request
                plan = make_plan(manifest, replace(planned, run_dir="/seed-runner-check"), image_env=image_env)
            except PlanError as exc:
                problems += [replace(p, path=row_path(row.number) + p.path.removeprefix("$"),
                                     message=f"row {row.number}: {p.message}") for p in exc.problems]
                continue
            found = plan.allocations
            if not cells and planned is request:
                fast.passed(request)
        if not cells:
            allocations = tuple(sorted(found.items()))
            allocated = sizes.setdefault(allocations, dict(allocations))
            if keep is not None:
                keep(row.number, request, allocated)
            else:
                runs.append(BatchRun(row.number, request, allocated))
    if not numbers and not problems:
        problems.append(error("no-rows", "$.rows", "the batch has no rows: nothing to run"))
    return runs, once_for_all(problems, set(numbers)) if problems else problems


MASKED = "****"
"""A secret setting's value in a request record (``store.recording``)."""

_IN_ROW = re.compile(r"\$\.rows\[(\d+)\]")


def once_for_all(problems: list[Problem], numbers: set[int]) -> list[Problem]:
    """A problem every row has (a shared option's, a misspelled header's) said once as ``$.rows[*]``, "every
    row: ...", not once a row: a bad ``--timeout`` over 10,000 rows is one line."""
    if len(numbers) < 2:
        return problems
    keys: list[tuple[Any, ...]] = []
    rows_of: dict[tuple[Any, ...], set[int]] = {}
    for problem in problems:
        found = _IN_ROW.match(problem.path)
        number = int(found.group(1)) if found else 0
        tail = problem.path[found.end():] if found else problem.path
        keys.append((problem.code, problem.severity, tail, problem.message.removeprefix(f"row {number}: ")))
        rows_of.setdefault(keys[-1], set()).add(number)
    everywhere = {key for key, rows in rows_of.items() if rows == numbers}
    said: list[Problem] = []
    said_once: set[tuple[Any, ...]] = set()
    for key, problem in zip(keys, problems):  # in the order found; a shared one where it was first found
        if key not in everywhere:
            said.append(problem)
        elif key not in said_once:
            said_once.add(key)
            said.append(replace(problem, path=f"$.rows[*]{key[2]}", message=f"every row: {key[3]}"))
    return said


def request_of(record: Mapping[str, Any], secrets: Mapping[str, str] | None = None) -> RunRequest:
    """The request a batch.json record (``request_record``) was made from, when nothing of it was masked: a batch
    keeps a row's request only when this does not give it back (a secret, a URL's credentials, a relative path),
    and makes it again from the record when the row is submitted. ``secrets``: the values of the secret settings
    every row shares (``--secret``), put back where the record masks them, so that a batch keeps no row's request
    for a secret that is the same in every row."""
    json_inputs = {name: JsonText(v["text"]) if "text" in v else v["value"]
                   for name, v in record["json_inputs"].items()}
    settings = record["settings"]
    if secrets:
        settings = {name: secrets.get(name, value) if value == MASKED else value for name, value in settings.items()}
    return RunRequest(image=record["image"], file_inputs=record["file_inputs"], json_inputs=json_inputs,
                      settings=settings, mounts=record["mounts"], resources=record["resources"],
                      timeout=record["timeout"], grace_period=record["grace_period"], user=record["user"],
                      network=record["network"])
