"""Benchmark: what `seed batch` spends on a large table before its first run: checking every row, and the memory
each row holds while the batch runs.

Prints one line per figure, for N rows of a two-column table (a file input, a JSON input) of a job given by
--manifest (no engine needed):
  - the check's wall time (read the table, plan every row, make each row's record) for N rows, and the floor of
    the same run: Python's csv module reading the same table into lists; target: <= 10 s for 100,000 rows;
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
    "resources": {"scalar": [{"name": "cpus", "value": 0.5}, {"name": "mem", "value": 16}]},
    "interface": {"command": "sh -c 'sleep ${PAUSE}; test -s ${DATA}'",
                  "inputs": {"files": [{"name": "DATA"}], "json": [{"name": "PAUSE", "type": "number"}]}}}}


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
    from seed_runner.batches import folder as bf
    from seed_runner.batches.requests import batch_requests
    from seed_runner.batches.rows import read_table
    from seed_runner.runtime.plan import RunRequest
    from seed_runner.store.recording import request_record

    manifest = load_manifest(JOB)
    gc.collect()
    before = rss_kib()
    started = time.perf_counter()
    if kind == "drive":
        from seed_runner.batches.start import run_batch
        from seed_runner.executors import RunOptions

        out = table.parent / f"out-{time.monotonic_ns()}"
        result = run_batch("bench-rows:1", table=table, options=RunOptions(manifest=manifest),
                           executor=InstantExecutor(), folder=out)
        assert result.status == "succeeded", result.status
        took = time.perf_counter() - started
        return {"seconds": took, "kib": rss_kib("VmHWM") - before, "kept": True}
    if kind == "floor":
        with open(table, newline="") as file:
            kept: object = list(csv.reader(file))
    else:
        rows, problems = read_table(table)
        runs, more = batch_requests(manifest, rows, RunRequest("bench-rows:1"))
        assert not problems and not more, (problems + more)[:3]
        from seed_runner.batches.requests import request_of

        entries = [bf.RunEntry(run.row, request_record(run.request, manifest)) for run in runs]
        kept = (entries, {run.row: run.request for run, entry in zip(runs, entries)
                          if request_of(entry.request) != run.request})  # what run_batch keeps
        del rows, runs
    took = time.perf_counter() - started
    gc.collect()
    return {"seconds": took, "kib": rss_kib() - before, "kept": bool(kept)}


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
        table = Path(scratch) / "runs.csv"
        (Path(scratch) / "d.txt").write_text("x")
        table.write_text("DATA,PAUSE\n" + "d.txt,0\n" * args.rows)
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
    print(f"memory a row holds: {seed['kib'] * 1024 / n:.0f} bytes (the table's lists alone: "
          f"{floor['kib'] * 1024 / n:.0f} bytes; target <= 1024 bytes)")
    drive = figures["drive"]
    print(f"the whole batch ({n} runs that end at once): {drive['seconds']:.1f} s, peak memory "
          f"{drive['kib'] * 1024 / n:.0f} bytes a row")


if __name__ == "__main__":
    main()
