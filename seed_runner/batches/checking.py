"""A batch's rows checked and turned into what its drive keeps, one row at a time.

Each row is read, checked (``requests.batch_requests``), recorded (its ``RunEntry``: the request as compact
JSON text) and let go before the next is read: a large table is never held as rows, requests and records at
once, so the memory a row keeps is its record (and its request only when the record cannot give it back).
"""

from __future__ import annotations

import array
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping

from ..errors import SeedRunnerError
from ..executors.base import Footprint
from ..manifest.names import normalize_name
from ..problems import Problem, error
from ..runtime.plan import RunRequest
from ..store.recording import request_record
from . import folder as bf
from .requests import batch_requests, once_for_all, request_of
from .rows import Row, row_path


class RowFootprints:
    """Each row's footprint by its number (``get``, as a dict's): the few distinct footprints once, and for each
    row the index of its own in an array of 2-byte numbers by row number, not a dict entry of 100 bytes a row."""

    def __init__(self) -> None:
        self.distinct: list[Footprint] = []
        self.index: dict[int, int] = {}  # id(footprint) -> its index in ``distinct``
        self.of_row = array.array("H")
        self.others: dict[int, Footprint] = {}  # past 65,535 distinct footprints (or a row number past 4 million)

    def add(self, row: int, need: Footprint) -> None:
        found = self.index.get(id(need))
        if found is None and len(self.distinct) < 0xFFFF:
            found = self.index[id(need)] = len(self.distinct)
            self.distinct.append(need)
        if found is None or row >= 1 << 22:
            self.others[row] = need
            return
        if row >= len(self.of_row):
            self.of_row.extend([0xFFFF] * (row + 1 - len(self.of_row)))
        self.of_row[row] = found

    def get(self, row: int, default: Footprint | None = None) -> Footprint | None:
        if 0 <= row < len(self.of_row) and self.of_row[row] != 0xFFFF:
            return self.distinct[self.of_row[row]]
        return self.others.get(row, default)


@dataclass
class CheckedBatch:
    entries: list[bf.RunEntry] = field(default_factory=list)
    """One a row that passed, in the rows' order."""
    kept: dict[int, RunRequest] = field(default_factory=dict)
    """The requests their records cannot give back (a secret, a URL's credentials): the others are remade."""
    sizes: RowFootprints = field(default_factory=lambda: RowFootprints())
    """Each row's footprint: rows of one size share one."""
    secrets: dict[str, str] = field(default_factory=dict)
    """The secret settings every row shares (by name), put back into the records at submit (``request_of``)."""
    problems: list[Problem] = field(default_factory=list)
    """The rows' problems (the check's)."""
    unfit: list[Problem] = field(default_factory=list)
    """The rows that can never fit where the executor runs things (one line when it is every row)."""


def check_batch(manifest: Any, rows: Iterable[Row], template: RunRequest, runner: Any, *,
                image_env: Mapping[str, str] | None = None,
                resolve: Callable[[RunRequest], RunRequest] | None = None) -> CheckedBatch:
    """Every row checked against ``manifest`` and, when it passes, against what ``runner`` can hold
    (``check_fits``); what the batch keeps of each."""
    checked = CheckedBatch()
    secret = {normalize_name(s.name) for s in manifest.job.interface.settings if s.secret}
    checked.secrets = {name: value for name, value in ((normalize_name(k), v) for k, v in template.settings.items())
                       if name in secret}
    same: dict[int, Footprint] = {}  # by the allocations mapping, which rows of one size share while checked
    unfits: dict[int, SeedRunnerError] = {}  # why a size can never fit where the executor runs things
    unfit: list[Problem] = []
    packers: list[bf.RecordPacker] = []  # the batch's one, made from its first record

    def keep(number: int, request: RunRequest, allocations: Mapping[str, float]) -> None:
        record = bf.compact_text(request_record(request, manifest))
        if not packers:
            packers.append(bf.RecordPacker(record))
        entry = bf.RunEntry(number, record, packer=packers[0])
        checked.entries.append(entry)
        if request_of(entry.request, checked.secrets) != request:  # as it is read back at submit, from its text
            checked.kept[number] = request
        need = same.get(id(allocations))
        if need is None:
            need = same[id(allocations)] = Footprint.of(allocations)
            try:
                runner.check_fits(need)
            except SeedRunnerError as exc:
                unfits[id(allocations)] = exc
        checked.sizes.add(number, need)
        if id(allocations) in unfits:
            unfit.append(error("does-not-fit", row_path(number), f"row {number}: {unfits[id(allocations)]}"))

    _, checked.problems = batch_requests(manifest, rows, template, image_env=image_env, resolve=resolve, keep=keep)
    if unfit:  # a cap too small for every row: one line
        checked.unfit = once_for_all(unfit, {entry.row for entry in checked.entries})
    return checked
