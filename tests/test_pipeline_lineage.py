"""A pipeline's lineage: the crate alone (read with the ``rocrate`` library) leads from each output back to the
pipeline's input, run by run; the run store names each run's pipeline and the runs it read; a schema-2 store
gets those columns in place."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from seed_runner.store import RunStore
from seed_runner.store.runstore import _COLUMNS, _MIGRATIONS, SCHEMA_VERSION

from .pipeline_fixtures import EXAMPLE, home, seed, state, text_jobs  # noqa: F401

V1_STORE = Path(__file__).parent / "data" / "runs-v1.sqlite3"


def _ids(value: Any) -> list[str]:
    items = value if isinstance(value, list) else [value] if value is not None else []
    return [item.id if hasattr(item, "id") else item["@id"] for item in items]


def lineage(crate: Any, file_id: str) -> list[tuple[str, list[str]]]:
    """(action, the files it read) for every action on the way from ``file_id`` back to files no action wrote,
    found from the crate's ``result`` and ``object`` links alone (breadth first)."""
    writer = {}
    for entity in crate.get_entities():
        if entity.type == "CreateAction" and entity.id.startswith("#run-"):
            for result in _ids(entity.get("result")):
                writer[result] = entity
    found, todo, seen = [], [file_id], set()
    while todo:
        current = todo.pop(0)
        action = writer.get(current)
        if action is None or action.id in seen:
            continue
        seen.add(action.id)
        read = [i for i in _ids(action.get("object")) if not i.startswith("#")]
        found.append((action.get("name"), read))
        todo += read
    return found


@pytest.mark.engine
def test_each_output_s_lineage_is_in_the_crate_and_the_store(tmp_path: Path, home: Path, text_jobs: Any) -> None:
    from rocrate.rocrate import ROCrate

    pipeline = tmp_path / "shout.yaml"
    pipeline.write_text(EXAMPLE)
    text = tmp_path / "in.txt"
    text.write_text("one\ntwo\n")
    proc = seed("pipeline", "run", str(pipeline), "-i", f"TEXT={text}", "-o", str(tmp_path / "p"))
    assert proc.returncode == 0, proc.stderr

    crate = ROCrate(str(tmp_path / "p"))
    root = crate.root_dataset
    assert "https://w3id.org/ro/wfrun/workflow/0.5" in _ids(root.get("conformsTo"))
    workflow = crate.mainEntity
    assert workflow.id == "pipeline.yaml" and "ComputationalWorkflow" in workflow.type
    assert (tmp_path / "p/pipeline.yaml").read_text() == EXAMPLE

    published = crate.get("outputs/SHOUTED/joined.txt")
    produced = _ids(published.get("isBasedOn"))[0]
    chain = lineage(crate, produced)
    steps = [name.split(" ")[0] for name, _ in chain]
    assert steps == ["join", "upper", "upper", "split"]
    join_reads = chain[0][1]
    assert len(join_reads) == 2 and all("/outputs/part-000" in f and f.startswith("runs/upper-") for f in join_reads)
    assert chain[-1][1] == [f"file://{text}"]  # back to the pipeline's input, which stays the user's
    runs = state(tmp_path / "p")["steps"]
    split_id = runs["split"]["runs"][0]["run_id"]
    assert all(r["inputs_from"] == [split_id] for r in runs["upper"]["runs"])

    # the run store: each run names its pipeline and the runs it read
    from seed_runner.store.history import runs as recorded

    pid = state(tmp_path / "p")["pipeline_id"]
    records = {r["id"]: r for r in recorded(pipeline=pid)}
    assert len(records) == 4 and {r["pipeline_id"] for r in records.values()} == {pid}
    join_id = runs["join"]["runs"][0]["run_id"]
    assert sorted(records[join_id]["input_runs"]) == sorted(r["run_id"] for r in runs["upper"]["runs"])
    assert records[split_id]["input_runs"] is None


def test_a_schema_3_store_gets_the_pipeline_columns_in_place(tmp_path: Path) -> None:
    """The pipelines' step of the migration, alone: a store at schema 3 (made from the schema-2 fixture and
    the 2 -> 3 step) keeps every row, and gains pipeline_id, input_runs and the pipelines table."""
    path = tmp_path / "runs.sqlite3"
    shutil.copy(V1_STORE.with_name("runs-v2.sqlite3"), path)
    db = sqlite3.connect(path)
    db.executescript(_MIGRATIONS[2] + "; PRAGMA user_version = 3;")
    rows = db.execute("SELECT * FROM runs ORDER BY id").fetchall()
    db.close()
    with RunStore.open(path) as store:
        assert [r["pipeline_id"] for r in store.list()] == [None, None]
        store.record_pipeline({"id": "abc123abc123", "name": "p", "folder": "/x", "status": "succeeded"})
        assert store.pipelines("abc")[0]["folder"] == "/x"
        store.record_started({"id": "feedface0002", "status": "succeeded", "pipeline_id": "abc123abc123",
                              "input_runs": ["0011"]})
        assert store.list(pipeline="abc123")[0]["input_runs"] == ["0011"]
    after = sqlite3.connect(path)
    assert after.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION  # every later step too
    assert after.execute("SELECT * FROM runs WHERE id != 'feedface0002' ORDER BY id").fetchall() == \
        [row + (None,) * (len(_COLUMNS) - len(row)) for row in rows]
    after.close()
