"""Benchmark: what `seed batch` spends on a large table before its first run: checking every row, and the memory
each row holds while the batch runs.

Prints one line per figure, for N rows of a table of a job given by --manifest (no engine needed) with what a
real job has: two file inputs (one optional; the table names 1,000 distinct files), three JSON inputs (a
number, an integer and an optional object), two settings (one from the table, one given to every row with -e),
a secret setting given to every row (--secret), resources with an inputMultiplier, and a command using them:
  - the check's wall time (read the table, check every row, make each row's record: ``batches.checking``, what
    ``seed batch --table`` does before its first run) for N rows, and the floor of the same run: Python's csv
    module reading the same table into lists; target: <= 10 s for 100,000 rows;
  - the memory a row holds once checked (the process's resident set after the check, less before it, divided
    by N), against the floor's (the table's lists); target: <= 1 KiB a row;
  - the whole batch's peak memory a row (VmHWM less the resident set before, divided by N): `run_batch` of the
    table on an executor that ends each run at once, 64 runs submitted at a time (the LocalExecutor's window),
    batch.json rewritten as it goes.

Run: .venv/bin/python bench/batch_rows.py [--rows 100000]
"""

from __future__ import annotations

import argparse
import csv
import gc
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
JOB = {"seedVersion": "1.0.0", "job": {
    "name": "bench-rows", "jobVersion": "1.0.0", "packageVersion": "1.0.0", "title": "t", "description": "d",
    "maintainer": {"name": "n", "email": "e"}, "timeout": 60,
    "resources": {"scalar": [{"name": "cpus", "value": 0.5}, {"name": "mem", "value": 16, "inputMultiplier": 2},
                             {"name": "disk", "value": 10, "inputMultiplier": 1}]},
    "interface": {"command": "sh -c 'sleep ${PAUSE}; test -s ${DATA} && cat ${AUX}' ${MODE} ${LEVEL} ${REGION}",
                  "inputs": {"files": [{"name": "DATA", "mediaTypes": ["text/plain"]},
                                       {"name": "AUX", "required": False}],
                             "json": [{"name": "PAUSE", "type": "number"}, {"name": "LEVEL", "type": "integer"},
                                      {"name": "OPTS", "type": "object", "required": False}]},
                  "settings": [{"name": "MODE"}, {"name": "REGION"}, {"name": "TOKEN", "secret": True}]}}}
FILES = 1000
"""Distinct data files the table names (row i names file i % FILES)."""


def write_table(folder: Path, rows: int) -> Path:
    """runs.csv: DATA,AUX,PAUSE,LEVEL,OPTS,MODE (REGION is given to every row), each row's own values."""
    (folder / "data").mkdir()
    for i in range(FILES):
        (folder / "data" / f"scan-{i:04d}.txt").write_text("x" * (i % 7 + 1))
    (folder / "aux.txt").write_text("aux")
    table = folder / "runs.csv"
    with open(table, "w", newline="") as out:
        out.write("DATA,AUX,PAUSE,LEVEL,OPTS,MODE\n")
        for i in range(rows):
            aux, opts = ("aux.txt", f'"{{""k"": {i}}}"') if i % 2 else ("", "")  # optional: every other row
            out.write(f"data/scan-{i % FILES:04d}.txt,{aux},0.{i % 10},{i},{opts},{'fast' if i % 3 else 'slow'}\n")
    return table


def rss_kib(field: str = "VmRSS") -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    return 0


class InstantExecutor:
    """Runs that end at once (a thread ends each), 64 submitted at a time: what remains is the batch's own cost."""

    submit_window = 64

    def __init__(self) -> None:
        import concurrent.futures

        self.pool = concurrent.futures.ThreadPoolExecutor(2)

    def check_fits(self, need: object) -> None:
        pass

    def submit(self, request: object, options: object = None, *, footprint: object = None) -> object:
        from seed_runner.executors.base import Footprint, RunFuture, RunOptions

        future = RunFuture(request, options or RunOptions(), footprint or Footprint())

        def end() -> None:
            future.set_running_or_notify_cancel()
            document = {"run_id": request.run_id, "status": "succeeded", "run_dir": request.run_dir,  # type: ignore
                        "exit_code": 0, "timings": {"duration_seconds": 0.001}, "outputs": None}
            future.set_result(type("Result", (), {"document": document})())

        self.pool.submit(end)
        return future

    def close(self, *, cancel: bool = False, reason: str = "cancelled") -> None:
        self.pool.shutdown()


def measure(kind: str, table: Path) -> dict[str, float]:
    """(in a process of its own) seconds and KiB of resident memory kept, for ``kind``: floor or seed."""
    sys.path.insert(0, str(REPO))
    from seed_runner import load_manifest
    from seed_runner.batches.checking import check_batch
    from seed_runner.batches.rows import table_rows
    from seed_runner.inputs import resolve_url_inputs
    from seed_runner.runtime.plan import RunRequest

    manifest = load_manifest(JOB)
    template = RunRequest("bench-rows:1", settings={"REGION": "eu-west", "TOKEN": "bench-secret"})
    gc.collect()
    before = rss_kib()
    started, cpu = time.perf_counter(), time.process_time()
    if kind == "drive":
        from seed_runner.batches.start import run_batch
        from seed_runner.executors import RunOptions

        out = table.parent / f"out-{time.monotonic_ns()}"
        result = run_batch("bench-rows:1", table=table, options=RunOptions(manifest=manifest), template=template,
                           executor=InstantExecutor(), folder=out)
        assert result.status == "succeeded", result.status
        took = time.perf_counter() - started
        return {"seconds": took, "kib": rss_kib("VmHWM") - before, "kept": True}
    if kind == "floor":
        with open(table, newline="") as file:
            kept: object = list(csv.reader(file))
    else:  # what run_batch does before its first run, and keeps
        rows, problems = table_rows(table)
        checked = check_batch(manifest, rows, template, InstantExecutor(), resolve=resolve_url_inputs)
        assert not problems and not checked.problems, (problems + checked.problems)[:3]
        kept = (checked.entries, checked.kept, checked.sizes)
    took, cpu = time.perf_counter() - started, time.process_time() - cpu
    gc.collect()
    return {"seconds": took, "cpu": cpu, "kib": rss_kib() - before, "peak": rss_kib("VmHWM") - before,
            "kept": bool(kept)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--measure", choices=("floor", "seed", "drive"))
    parser.add_argument("--table")
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(args.measure, Path(args.table))))
        return
    with tempfile.TemporaryDirectory(prefix="seed-bench-rows-") as scratch:
        table = write_table(Path(scratch), args.rows)
        figures = {}
        for kind in ("floor", "seed", "drive"):
            proc = subprocess.run([sys.executable, __file__, "--measure", kind, "--table", str(table)],
                                  capture_output=True, text=True, check=True)
            figures[kind] = json.loads(proc.stdout)
    floor, seed = figures["floor"], figures["seed"]
    n = args.rows
    print(f"check of {n} rows: {seed['seconds']:.2f} s ({seed['seconds'] / n * 1e6:.0f} us a row); the csv "
          f"module's read alone: {floor['seconds']:.3f} s (ratio {seed['seconds'] / max(floor['seconds'], 1e-9):.0f}); "
          f"scaled to 100,000 rows: {seed['seconds'] / n * 100_000:.1f} s (target <= 10 s)")
    print(f"the check's CPU time: {seed['cpu']:.2f} s, the csv module's {floor['cpu']:.3f} s (ratio "
          f"{seed['cpu'] / max(floor['cpu'], 1e-9):.0f}; the machine's load stretches wall times, not these)")
    print(f"memory a row holds: {seed['kib'] * 1024 / n:.0f} bytes, the check's peak {seed['peak'] * 1024 / n:.0f} "
          f"bytes (the table's lists alone: {floor['kib'] * 1024 / n:.0f} bytes; target <= 1024 bytes)")
    drive = figures["drive"]
    print(f"the whole batch ({n} runs that end at once): {drive['seconds']:.1f} s, peak memory "
          f"{drive['kib'] * 1024 / n:.0f} bytes a row")


if __name__ == "__main__":
    main()
