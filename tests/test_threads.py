"""The library as a scheduler plugs it in: many runs at once from threads of one process.

The runs happen in a fresh interpreter (a subprocess), so that shapely and the other lazily imported modules
are imported for the first time by the racing threads themselves, as in a scheduler that starts and at once
runs jobs side by side.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.engine

REPO = Path(__file__).resolve().parents[1]
PYTHON_STATS = "python-stats-1.0.0-seed:1.0.0"
THREADS = 8
RUNS = 200

SCRIPT = r"""
import json, sys, threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import seed_runner

base, image, threads, runs = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
barrier = threading.Barrier(threads)

def one(i):
    if i < threads:
        barrier.wait()  # the first runs of every thread start together
    data = base / f"data{i}"
    data.mkdir()
    (data / "a.csv").write_text("".join(f"{n}\n" for n in range(i % 7 + 1)))
    (data / "b.txt").write_text(f"{i}\n")
    request = seed_runner.RunRequest(image=image, file_inputs={"DATA_FILES": [data]},
                                     json_inputs={"CONFIG": {"precision": 2, "label": f"run {i}"}},
                                     run_dir=base / f"run{i}")
    try:
        result = seed_runner.run(request)
    except BaseException as exc:
        return {"i": i, "exception": f"{type(exc).__name__}: {exc}"}
    return {"i": i, "status": result.document["status"], "exit_status": result.exit_status}

with ThreadPoolExecutor(threads) as pool:
    print(json.dumps(list(pool.map(one, range(runs)))))
"""


def test_many_runs_from_many_threads_are_each_correct_and_written(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-c", SCRIPT, str(tmp_path), PYTHON_STATS, str(THREADS), str(RUNS)],
                          capture_output=True, text=True, timeout=1200, cwd=REPO)
    assert proc.returncode == 0, proc.stderr[-3000:]
    outcomes = json.loads(proc.stdout)
    assert len(outcomes) == RUNS
    assert [o for o in outcomes if "exception" in o] == []
    assert [o for o in outcomes if o["status"] != "succeeded"] == []
    for i in range(RUNS):
        run = tmp_path / f"run{i}"
        document = json.loads((run / "result.json").read_text())
        assert document["status"] == "succeeded" and document["exit_code"] == 0
        numbers = list(range(i % 7 + 1)) + [i]
        assert document["json_outputs"]["TOTAL_COUNT"] == len(numbers)
        assert document["json_outputs"]["LABEL"] == f"run {i}"
        assert document["json_outputs"]["OVERALL_MEAN"] == pytest.approx(sum(numbers) / len(numbers), abs=0.01)
        footprint, = document["outputs"]["FOOTPRINT"]["files"]
        # The side-car went through the whole check (schema, GeoJSON, shapely) in a racing thread.
        assert footprint["metadata"] is not None and footprint["metadata"]["geometry"]["type"]
        assert footprint["metadata"]["bbox"] and footprint["metadata"]["center"]
        for captured in (f for output in document["outputs"].values() for f in output["files"]):
            data = (run / "outputs" / captured["path"]).read_bytes()
            assert captured["size"] == len(data)
            assert captured["sha256"] == hashlib.sha256(data).hexdigest()
        assert document["warnings"] == [] and document["capture_failures"] == []
