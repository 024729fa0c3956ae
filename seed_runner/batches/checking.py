"""A batch's rows checked and turned into what its drive keeps, one row at a time.

Each row is read, checked (``requests.batch_requests``), recorded (its ``RunEntry``: the request as compact
JSON text) and let go before the next is read: a large table is never held as rows, requests and records at
once, so the memory a row keeps is its record (and its request only when the record cannot give it back).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping

from ..errors import SeedRunnerError
from ..executors.base import Footprint
from ..problems import Problem, error
from ..runtime.plan import RunRequest
from ..store.recording import request_record
from . import folder as bf
from .requests import batch_requests, once_for_all, request_of
from .rows import Row, row_path


@dataclass
class CheckedBatch:
    entries: list[bf.RunEntry] = field(default_factory=list)
    """One a row that passed, in the rows' order."""
    kept: dict[int, RunRequest] = field(default_factory=dict)
    """The requests their records cannot give back (a secret, a URL's credentials): the others are remade."""
    sizes: dict[int, Footprint] = field(default_factory=dict)
    """Each row's footprint: rows of one size share one."""
    problems: list[Problem] = field(default_factory=list)
    """The rows' problems (the check's); when there are none, those of rows that can never fit the executor."""


def check_batch(manifest: Any, rows: Iterable[Row], template: RunRequest, runner: Any, *,
                image_env: Mapping[str, str] | None = None,
                resolve: Callable[[RunRequest], RunRequest] | None = None) -> CheckedBatch:
    """Every row checked against ``manifest`` and, when it passes, against what ``runner`` can hold
    (``check_fits``); what the batch keeps of each."""
    checked = CheckedBatch()
    same: dict[int, Footprint] = {}  # by the allocations mapping, which rows of one size share while checked
    unfits: dict[int, SeedRunnerError] = {}  # why a size can never fit where the executor runs things
    unfit: list[Problem] = []

    def keep(number: int, request: RunRequest, allocations: Mapping[str, float]) -> None:
        entry = bf.RunEntry(number, request_record(request, manifest))
        checked.entries.append(entry)
        if request_of(entry.request) != request:  # as it is read back at submit, from its text
            checked.kept[number] = request
        need = same.get(id(allocations))
        if need is None:
            need = same[id(allocations)] = Footprint.of(allocations)
            try:
                runner.check_fits(need)
            except SeedRunnerError as exc:
                unfits[id(allocations)] = exc
        checked.sizes[number] = need
        if id(allocations) in unfits:
            unfit.append(error("does-not-fit", row_path(number), f"row {number}: {unfits[id(allocations)]}"))

    _, checked.problems = batch_requests(manifest, rows, template, image_env=image_env, resolve=resolve, keep=keep)
    if not checked.problems and unfit:  # a cap too small for every row: one line
        checked.problems = once_for_all(unfit, {entry.row for entry in checked.entries})
    return checked
