"""A large batch's check made cheap (issue 16): rows of one shape are planned whole once, later rows have only
their own values checked (``batches.row_check``), and every row still passes or fails exactly as ``make_plan``
would have it, with its messages. Without Docker."""

from __future__ import annotations

import csv
import io
import json
import os
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from seed_runner import load_manifest
from seed_runner.batches import requests as batch_requests_module
from seed_runner.batches import row_check
from seed_runner.batches.requests import _located, batch_requests, once_for_all, row_request
from seed_runner.batches.rows import RowsError, read_table, row_path, table_rows
from seed_runner.runtime.json_inputs import json_type_problem, parse_json_input
from seed_runner.runtime.plan import PlanError, RunRequest, make_plan
from seed_runner.store.recording import _recorded_path

JOB = {"seedVersion": "1.0.0", "job": {
    "name": "check-job", "jobVersion": "1.0.0", "packageVersion": "1.0.0", "title": "t", "description": "d",
    "maintainer": {"name": "n", "email": "e"}, "timeout": 60,
    "resources": {"scalar": [{"name": "cpus", "value": 0.5},
                             {"name": "mem", "value": 16, "inputMultiplier": 1e10}]},  # 1 GiB: too large
    "interface": {
        "command": "run ${DATA} ${N} ${S} ${MODE}",
        "inputs": {"files": [{"name": "DATA"}, {"name": "AUX", "required": False},
                             {"name": "LIST", "multiple": True, "required": False}],
                   "json": [{"name": "N", "type": "number"}, {"name": "I", "type": "integer", "required": False},
                            {"name": "S", "type": "string", "required": False},
                            {"name": "O", "type": "object", "required": False}]},
        "settings": [{"name": "MODE"}, {"name": "KEY", "secret": True}]}}}
TEMPLATE = RunRequest("check-job-1.0.0-seed:1.0.0", settings={"MODE": "fast", "KEY": "s3cret"},
                      json_inputs={"S": "shared"})


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    where = tmp_path_factory.mktemp("rows")
    for name in ("a.txt", "b.txt", "same/a.txt"):
        (where / name).parent.mkdir(exist_ok=True)
        (where / name).write_text("data")
    (where / "empty.txt").write_bytes(b"")
    (where / "folder").mkdir()
    (where / "folder" / "x.txt").write_text("x")
    with open(where / "huge.bin", "wb") as sparse:  # 1 GiB, no blocks: its mem allocation is too large
        sparse.truncate(1 << 30)
    os.mkfifo(where / "pipe")
    return where


def checked_as_before(manifest, rows, template):
    """The oracle: every row planned whole by ``make_plan`` (the check before issue 16's fast path)."""
    runs, problems = [], []
    for row in rows:
        request = row_request(manifest, row, template)
        cells = []
        if isinstance(request, tuple):
            request, cells = request
            problems += cells
        try:
            plan = make_plan(manifest, replace(request, run_dir="/seed-runner-check"))
        except PlanError as exc:
            problems += [replace(p, path=row_path(row.number) + p.path.removeprefix("$"),
                                 message=f"row {row.number}: {p.message}") for p in exc.problems]
            continue
        if not cells:
            runs.append((row.number, request, dict(plan.allocations)))
    return runs, once_for_all(problems, {row.number for row in rows})


FILES = ["a.txt", "b.txt", "same/a.txt", "./a.txt", "a.txt/", "missing.txt", "folder", "empty.txt", "huge.bin",
         "pipe", "folder//x.txt", "../rows/a.txt", "", "/dev/null", "a.txt,b.txt"]
NUMBERS = ["1", "0.5", "-3", "10.25", "1e5", "01", "1.", "abc", "NaN", "true", '"7"', "", " 2", "123456789012345678",
           "@missing.json", "-0", "0.000000000000001"]
WORDS = ["plain", "two words", "true", "null", "7", '"quoted"', "", "Infinity", "NaN", "x\x01y", "tab\tin",
         "back\\slash", "[1]", "émigré", "_under", "./dot"]
OBJECTS = ["", '{"k": 1}', "[1]", '{"k": 1, "k": 2}', "{", "@missing.json"]
SETTINGS = ["", "slow", "x\x01", "ünï"]


COLUMNS = ["data", "AUX", "list", "N", "i", "S", "O", "mode"]
GOOD = ["a.txt", "b.txt", "a.txt", "1", "2", "word", '{"k": 1}', "slow"]
CANDIDATES = [FILES, ["", "a.txt", "missing.txt", "folder", "huge.bin"], ["", "folder", "a.txt", "missing"],
              NUMBERS, NUMBERS, WORDS, OBJECTS, SETTINGS]


def check_table(folder: Path, rows: list[list[str]]) -> None:
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(COLUMNS)
    writer.writerows(rows)
    (folder / "runs.csv").write_text(text.getvalue())
    manifest = load_manifest(JOB)
    rows_read, problems = read_table(folder / "runs.csv")
    runs, more = batch_requests(manifest, rows_read, TEMPLATE)
    assert (([(r.row, r.request, dict(r.allocations)) for r in runs], more)
            == checked_as_before(manifest, rows_read, TEMPLATE))


def test_each_cell_of_a_row_passes_or_fails_as_make_plan_has_it(folder: Path) -> None:
    mutants = [GOOD[:column] + [value] + GOOD[column + 1:]
               for column, values in enumerate(CANDIDATES) for value in values]
    check_table(folder, [GOOD] + mutants)  # the good row first: every later row of its shape is checked fast


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(*(st.sampled_from([good] * len(values) + values)
                            for good, values in zip(GOOD, CANDIDATES))), min_size=1, max_size=12))
def test_every_row_passes_or_fails_as_make_plan_has_it(folder: Path, cells: list[tuple[str, ...]]) -> None:
    check_table(folder, [list(row) for row in cells * 2])  # every shape met again, the second time checked fast


def test_json_lines_rows_too(folder: Path) -> None:
    lines = [{"data": "a.txt", "n": 1, "s": "w"}, {"data": "b.txt", "n": 2.5, "s": 3}, {"data": "a.txt", "n": True},
             {"data": "a.txt", "n": 1, "o": {"k": [1]}}, {"data": "a.txt", "n": 1, "o": [1]},
             {"data": "a.txt", "n": 1, "mode": 7}, {"data": "a.txt", "n": 1, "mode": "x\u0000"},
             {"data": ["a.txt", "b.txt"], "n": 1}, {"data": "a.txt", "n": 2 ** 70}]
    (folder / "runs.jsonl").write_text("".join(json.dumps(line) + "\n" for line in lines * 2))
    manifest = load_manifest(JOB)
    rows, problems = read_table(folder / "runs.jsonl")
    runs, more = batch_requests(manifest, rows, TEMPLATE)
    assert ([(r.row, r.request, dict(r.allocations)) for r in runs], more) == checked_as_before(manifest, rows,
                                                                                                TEMPLATE)
    assert more  # the bad ones are said, each by its row


def test_rows_of_one_shape_are_planned_whole_once(folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    planned = []

    def counted(*args, **kwargs):
        planned.append(args[1])
        return make_plan(*args, **kwargs)

    monkeypatch.setattr(batch_requests_module, "make_plan", counted)
    (folder / "runs.csv").write_text("DATA,N,MODE\n" + "".join(f"{'ab'[i % 2]}.txt,{i},slow\n" for i in range(500))
                                     + "a.txt,1,\n" + "missing.txt,2,slow\n")
    rows, problems = read_table(folder / "runs.csv")
    runs, more = batch_requests(load_manifest(JOB), rows, TEMPLATE)
    assert len(runs) == 501 and len(planned) == 2  # one shape (an empty MODE: -e's), and the row that fails
    assert [p.message for p in more] == [f"row 502: input DATA: {folder / 'missing.txt'} does not exist"]


@given(st.text(alphabet="0123456789.-eE+ ", max_size=20) | st.from_regex(row_check._DECIMAL, fullmatch=True)
       | st.from_regex(row_check._INTEGER, fullmatch=True))
def test_a_plain_number_cell_reads_as_the_strict_parser_reads_it(text: str) -> None:
    for expected, pattern in (("integer", row_check._INTEGER), ("number", row_check._INTEGER),
                              ("number", row_check._DECIMAL)):
        if pattern.fullmatch(text):
            value = parse_json_input(text, expected)
            assert json_type_problem(value, expected) is None
            assert json.dumps(value) == text or float(text) == value


@given(st.text(max_size=30) | st.from_regex(row_check._WORD, fullmatch=True))
def test_a_plain_word_cell_is_the_string_itself_as_the_strict_parser_has_it(text: str) -> None:
    if row_check._WORD.fullmatch(text):
        assert parse_json_input(text, "string") == text


@given(st.text(alphabet="ab./\\: é\x00", max_size=16))
def test_paths_are_joined_and_recorded_as_pathlib_has_them(value: str) -> None:
    base = Path("/data/tables")
    expected = value if "://" in value or Path(value).is_absolute() else str(base / value)
    assert _located(value, base) == expected
    if value.startswith("/") and "://" not in value:
        assert _recorded_path(value) == str(Path(value).absolute())


def test_a_broken_table_is_said_before_any_row_is_read(tmp_path: Path) -> None:
    (tmp_path / "runs.csv").write_text("DATA,N\n" + "a.txt,1\n" * 1000 + 'a.txt,"1\n')
    with pytest.raises(RowsError, match="not valid CSV at line 1002"):
        table_rows(tmp_path / "runs.csv")  # the stream's first row is not asked for


# -- what a large batch keeps a row ---------------------------------------------------------------------------

@given(st.dictionaries(st.text(max_size=8), st.text(max_size=40) | st.integers() | st.none(), max_size=6))
def test_a_packed_request_record_reads_back_whatever_it_holds(record: dict) -> None:
    from seed_runner.batches import folder as bf

    packer = bf.RecordPacker(bf.compact_text({"image": "x", "file_inputs": {"DATA": ["/data/a.txt"]}}))
    entry = bf.RunEntry(7, record, packer=packer)
    assert entry.request == record and entry.request_text == bf.compact_text(record)


def test_a_packed_record_is_a_fraction_of_its_text() -> None:
    from seed_runner.batches import folder as bf

    first = {"image": "job:1", "file_inputs": {"DATA": ["/data/scans/scan-0001.tif"]}, "settings": {"MODE": "a"},
             "json_inputs": {"N": {"text": "1"}}, "timeout": None, "user": "invoker"}
    packer = bf.RecordPacker(bf.compact_text(first))
    other = {**first, "file_inputs": {"DATA": ["/data/scans/scan-0917.tif"]}, "json_inputs": {"N": {"text": "917"}}}
    entry = bf.RunEntry(917, other, packer=packer)
    assert len(entry._request) < len(bf.compact_text(other)) / 4
    assert entry.request == other


def test_row_footprints_give_each_row_its_own() -> None:
    from seed_runner.batches.checking import RowFootprints
    from seed_runner.executors.base import Footprint

    small, large = Footprint(cpus=1, mem=10), Footprint(cpus=2, mem=20)
    kept = RowFootprints()
    for row in (1, 2, 5, 9, 5_000_000):
        kept.add(row, small if row % 2 else large)
    assert [kept.get(row) for row in (1, 2, 3, 5, 9, 5_000_000, 0, -1)] == [small, large, None, small, small, large,
                                                                            None, None]


def test_a_batch_documents_runs_are_a_read_only_list_made_run_by_run(tmp_path: Path) -> None:
    from seed_runner.batches import folder as bf

    entries = [bf.RunEntry(n, {"image": "x", "n": n}) for n in (1, 2, 3)]
    entries[1].attempts.append({"run_id": "r2", "status": "succeeded", "run_dir": str(tmp_path / "runs" / "0002-r2")})
    document = bf.write_summary(tmp_path, {"batch_id": "b"}, entries, status="succeeded", started=0.0, full=True)
    runs = document["runs"]
    assert len(runs) == 3 and [r["row"] for r in runs] == [1, 2, 3] and runs[-1]["request"] == {"image": "x", "n": 3}
    assert runs[1]["run_dir"] == "runs/0002-r2" and runs[0:2] == list(runs)[0:2]
    assert json.loads(json.dumps(document, default=list))["runs"] == json.loads((tmp_path / "batch.json").read_text())[
        "runs"]


def test_a_secret_every_row_shares_keeps_no_rows_request(folder: Path) -> None:
    from seed_runner.batches.checking import check_batch
    from seed_runner.batches.requests import request_of

    class Anywhere:
        def check_fits(self, need: object) -> None:
            pass

    (folder / "runs.csv").write_text("DATA,N,KEY\na.txt,1,\nb.txt,2,\na.txt,3,own-secret\n")
    rows, problems = read_table(folder / "runs.csv")
    manifest = load_manifest(JOB)
    checked = check_batch(manifest, rows, TEMPLATE, Anywhere())
    assert not problems and not checked.problems
    assert "s3cret" not in "".join(entry.request_text for entry in checked.entries)  # masked in every record
    assert list(checked.kept) == [3]  # its own secret: kept; the shared one is put back from the template
    expected = {run.row: run.request for run in batch_requests(manifest, read_table(folder / "runs.csv")[0],
                                                                TEMPLATE)[0]}
    for entry in checked.entries:
        given = checked.kept.get(entry.row) or request_of(entry.request, checked.secrets)
        assert given == expected[entry.row] and given.settings["KEY"] in ("s3cret", "own-secret")
