"""A batch's rows as run requests, every one checked against the manifest before any run starts.

A row's values override the options every run shares (``-i/-j/-e/-m``) by name. Every row is planned
(``make_plan``, the same check a single run gets) and every problem is listed with its row number: a batch with
any problem runs nothing (exit status 2).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

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


def _located(value: str, base: Path) -> str:
    """A relative path is the table's folder's; a URL stays as it is."""
    if "://" in value or Path(value).is_absolute():
        return value
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


def row_request(manifest: Manifest, row: Row, template: RunRequest
                ) -> RunRequest | tuple[RunRequest, list[Problem]]:
    """The template with the row's values; with the problems of cells that name nothing of the job's or that
    cannot be read, when there are some (the rest of the row is still checked)."""
    interface = manifest.job.interface
    files, jsons, settings = ({normalize_name(x.name) for x in group} for group in
                              (interface.file_inputs, interface.json_inputs, interface.settings))
    file_inputs = _by_name(template.file_inputs)
    json_inputs = _by_name(template.json_inputs)
    setting_values = _by_name(template.settings)
    problems: list[Problem] = []
    for column, value in row.values.items():
        name = normalize_name(column)
        if name in files:
            got: Any = _file_value(row, column, value)
            target: dict[str, Any] = file_inputs
        elif name in jsons:
            got, target = _json_value(row, column, value), json_inputs
        elif name in settings:
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
    request = replace(template, file_inputs=file_inputs, json_inputs=json_inputs, settings=setting_values)
    return (request, problems) if problems else request


def batch_requests(manifest: Manifest, rows: Sequence[Row], template: RunRequest, *,
                   image_env: Mapping[str, str] | None = None,
                   resolve: Callable[[RunRequest], RunRequest] | None = None) -> tuple[list[BatchRun], list[Problem]]:
    """Every row as a request, planned; all problems, each naming its row (``$.rows[N]...``). ``resolve``
    turns URL inputs into local files before the check (``seed_runner.inputs.resolve_url_inputs``; it raises
    PlanError); the runs get the request as the row gave it, so the run store records the URL."""
    runs: list[BatchRun] = []
    problems: list[Problem] = []
    sizes: dict[tuple[tuple[str, float], ...], Mapping[str, float]] = {}  # one mapping for rows of one size
    for row in rows:
        request = row_request(manifest, row, template)
        cells: list[Problem] = []
        if isinstance(request, tuple):
            request, cells = request
            problems += cells
        try:
            planned = resolve(request) if resolve is not None else request
            plan = make_plan(manifest, replace(planned, run_dir="/seed-runner-check"), image_env=image_env)
        except PlanError as exc:
            problems += [replace(p, path=row_path(row.number) + p.path.removeprefix("$"),
                                 message=f"row {row.number}: {p.message}") for p in exc.problems]
            continue
        if not cells:
            allocations = tuple(sorted(plan.allocations.items()))
            runs.append(BatchRun(row.number, request, sizes.setdefault(allocations, dict(allocations))))
    if not rows and not problems:
        problems.append(error("no-rows", "$.rows", "the batch has no rows: nothing to run"))
    return runs, once_for_all(problems, {row.number for row in rows})


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


def request_of(record: Mapping[str, Any]) -> RunRequest:
    """The request a batch.json record (``request_record``) was made from, when nothing of it was masked: a batch
    keeps a row's request only when this does not give it back (a secret, a URL's credentials, a relative path),
    and makes it again from the record when the row is submitted."""
    json_inputs = {name: JsonText(v["text"]) if "text" in v else v["value"]
                   for name, v in record["json_inputs"].items()}
    return RunRequest(image=record["image"], file_inputs=record["file_inputs"], json_inputs=json_inputs,
                      settings=record["settings"], mounts=record["mounts"], resources=record["resources"],
                      timeout=record["timeout"], grace_period=record["grace_period"], user=record["user"],
                      network=record["network"])
