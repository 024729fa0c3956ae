"""What a batch runs, without Docker: tables (CSV, JSON Lines), --each patterns, and every row checked against the
manifest with its row number before anything runs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from seed_runner import load_manifest
from seed_runner.batches.requests import batch_requests
from seed_runner.batches.rows import RowsError, each_rows, read_table
from seed_runner.runtime.json_inputs import JsonText
from seed_runner.runtime.plan import RunRequest

JOB = {"seedVersion": "1.0.0", "job": {
    "name": "rows-job", "jobVersion": "1.0.0", "packageVersion": "1.0.0", "title": "t", "description": "d",
    "maintainer": {"name": "n", "email": "e"}, "timeout": 60,
    "interface": {
        "command": "echo ${IMAGE} ${THRESHOLD} ${MODE}",
        "inputs": {"files": [{"name": "IMAGE"}, {"name": "MASK", "required": False}],
                   "json": [{"name": "THRESHOLD", "type": "number"}, {"name": "OPTIONS", "type": "object",
                                                                       "required": False}]},
        "settings": [{"name": "MODE"}, {"name": "TOKEN", "secret": True}]}}}


@pytest.fixture
def manifest():
    return load_manifest(JOB)


@pytest.fixture
def data(tmp_path: Path) -> Path:
    for name in ("a.tif", "b.tif", "c.tif", "m1.png", "m2.png"):
        (tmp_path / name).write_bytes(b"x")
    return tmp_path


def template(**kw) -> RunRequest:
    return RunRequest(image="rows-job-1.0.0-seed:1.0.0", settings={"MODE": "fast", "TOKEN": "s3cret"}, **kw)


def test_a_csv_table_gives_one_request_per_row(manifest, data: Path) -> None:
    (data / "opts.json").write_text('{"k": [1, 2]}')
    (data / "runs.csv").write_text("image,threshold,Options,mode\n"
                                   "a.tif,0.5,@opts.json,\n"
                                   "\n"
                                   "b.tif,2,,slow\n")
    rows, problems = read_table(data / "runs.csv")
    runs, more = batch_requests(manifest, rows, template())
    assert problems == more == []
    assert [r.row for r in runs] == [1, 3]  # the blank line is no run, the numbering is the table's
    first, second = (r.request for r in runs)
    assert first.file_inputs["IMAGE"] == [str(data / "a.tif")]  # relative to the table's folder
    assert first.json_inputs["THRESHOLD"] == "0.5" and isinstance(first.json_inputs["THRESHOLD"], JsonText)
    assert json.loads(first.json_inputs["OPTIONS"]) == {"k": [1, 2]}
    assert first.settings == {"MODE": "fast", "TOKEN": "s3cret"}  # an empty cell: the shared value
    assert second.settings["MODE"] == "slow" and "OPTIONS" not in second.json_inputs


def test_a_json_lines_table_takes_values_as_they_are(manifest, data: Path) -> None:
    (data / "runs.jsonl").write_text('{"IMAGE": "a.tif", "THRESHOLD": 1.5, "OPTIONS": {"x": null}}\n'
                                     '{"IMAGE": ["b.tif"], "THRESHOLD": 3, "MASK": null}\n')
    rows, problems = read_table(data / "runs.jsonl")
    runs, more = batch_requests(manifest, rows, template())
    assert problems == more == []
    assert runs[0].request.json_inputs == {"THRESHOLD": 1.5, "OPTIONS": {"x": None}}
    assert runs[1].request.file_inputs == {"IMAGE": [str(data / "b.tif")]}


def test_every_problem_is_listed_with_its_row(manifest, data: Path) -> None:
    (data / "runs.csv").write_text("IMAGE,THRESHOLD,COLOUR\n"
                                   "a.tif,1,red\n"
                                   "missing.tif,1,\n"
                                   "b.tif,not-a-number,\n"
                                   ",2,\n"
                                   "c.tif\n")
    rows, problems = read_table(data / "runs.csv")
    runs, more = batch_requests(manifest, rows, template())
    problems += more
    assert runs == []
    lines = sorted(f"{p.path} {p.code}" for p in problems)
    assert lines == ["$.rows[1].COLOUR unknown-column",
                     "$.rows[2].file_inputs.IMAGE input-not-found",
                     "$.rows[3].json_inputs.THRESHOLD invalid-json-input",
                     "$.rows[4].file_inputs.IMAGE missing-input",
                     "$.rows[5] row-width"], lines
    assert all(p.message.startswith(f"row {p.path[7]}") for p in problems if p.code != "row-width")


def test_each_zips_and_product_crosses(data: Path) -> None:
    rows, problems = each_rows([("IMAGE", "*.tif")], base=data)
    assert problems == [] and [r.values["IMAGE"] for r in rows] == [[str(data / n)] for n in ("a.tif", "b.tif",
                                                                                               "c.tif")]
    rows, problems = each_rows([("IMAGE", "*.tif"), ("MASK", "*.png")], base=data)
    assert rows == [] and problems[0].code == "each-counts" and "IMAGE: 3, MASK: 2" in problems[0].message
    rows, problems = each_rows([("IMAGE", "*.tif"), ("MASK", "*.png")], product=True, base=data)
    assert len(rows) == 6 and problems == []
    rows, problems = each_rows([("IMAGE", "*.jpeg")], base=data)
    assert problems[0].code == "no-match" and "matches no file" in problems[0].message


@pytest.mark.parametrize("name, content, message", [
    ("runs.txt", "IMAGE\na\n", "a batch table is .csv or .jsonl"),
    ("runs.csv", "", "has no header row"),
    ("runs.csv", "IMAGE\n\"unclosed\n", "not valid CSV"),
    ("runs.csv", b"IMAGE\n\xff\n", "is not UTF-8 text"),
])
def test_a_table_that_cannot_be_read_is_one_line(tmp_path: Path, name: str, content, message: str) -> None:
    path = tmp_path / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    with pytest.raises(RowsError, match=message):
        read_table(path)


def test_a_special_file_is_not_a_table(tmp_path: Path) -> None:
    import os

    fifo = tmp_path / "runs.csv"
    os.mkfifo(fifo)
    with pytest.raises(RowsError, match="not a regular file"):
        read_table(fifo)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.lists(st.sampled_from(['"', ",", "\n", "\r", "{", "}", "[", "]", "@", ":", "\\ud800", "1e999",
                                      "null", "IMAGE", "THRESHOLD", "a.tif", "x" * 50, "[" * 2000])
                     | st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=20),
                     max_size=40).map("".join),
       kind=st.sampled_from([".csv", ".jsonl"]))
def test_any_table_gives_rows_and_problems_or_one_error_never_a_crash(tmp_path: Path, text: str, kind: str) -> None:
    path = tmp_path / f"fuzz{kind}"
    path.write_text(text, encoding="utf-8")
    manifest = load_manifest(JOB)
    try:
        rows, problems = read_table(path)
    except RowsError as exc:
        assert "\n" not in str(exc)
        return
    runs, more = batch_requests(manifest, rows, template())
    for problem in problems + more:
        assert problem.path.startswith("$.rows") and problem.message and "\n" not in problem.message
    assert {r.row for r in runs} <= {r.number for r in rows}
