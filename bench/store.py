"""Benchmark: `seed runs` from a run store of 10,000 runs, against `seed --version`.

Prints one line per figure: the median wall time of `seed runs` (every run, plain lines to a file), of
`seed runs --limit 20`, `seed runs --status failed` and `seed runs --json`, each minus the median of
`seed --version` measured in interleaved pairs in the same run (target: `seed runs` within 150 ms of it); and the
cost of the two transactions a run adds (record_started + record_finished), in process.

Run: .venv/bin/python bench/store.py [--count 10000] [--repeat 21]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from seed_runner.store import RunStore  # noqa: E402
from seed_runner.store.runstore import _COLUMNS  # noqa: E402

STATUSES = ("succeeded",) * 8 + ("failed", "timed-out")


def fill(path: Path, count: int) -> None:
    """``count`` finished runs of 20 jobs, one transaction (the store's own schema and pragmas)."""
    now = time.time()
    rows = []
    for i in range(count):
        row = dict.fromkeys(_COLUMNS)
        row.update(id=os.urandom(6).hex(), image=f"job{i % 20}-1.0.0-seed:1.0.0", job_name=f"job{i % 20}",
                   job_version="1.0.0", package_version="1.0.0", status=STATUSES[i % len(STATUSES)],
                   exit_code=0, duration=1.5, run_dir=f"/tmp/seed-runs/run{i}", recorded_at=now - i * 60,
                   settings='{"MODE": "fast", "TOKEN": "****"}', resources='{"cpus": 1.0, "mem": 64.0}',
                   inputs='{"INPUT_FILE": [{"path": "/data/in.png", "sha256": "%s"}]}' % ("ab" * 32))
        rows.append(tuple(row.values()))
    with RunStore.open(path) as store:
        db = store._db
        db.execute("BEGIN")
        db.executemany(f"INSERT INTO runs VALUES ({', '.join('?' * len(_COLUMNS))})", rows)
        db.execute("COMMIT")


def timed(argv: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    with open(os.devnull, "wb") as sink:
        subprocess.run(argv, stdout=sink, stderr=subprocess.DEVNULL, check=True, env=env)
    return time.perf_counter() - start


def per_run_cost(path: Path, repeat: int = 200) -> float:
    """Median seconds of one run's two transactions (each opening the store, as the runner does)."""
    times = []
    for i in range(repeat):
        start = time.perf_counter()
        with RunStore.open(path) as store:
            store.record_started({"id": f"bench{i:07x}", "status": "running", "image": "x", "job_name": "x"})
        record = {"id": f"bench{i:07x}"}
        with RunStore.open(path) as store:
            store.record_finished({"run_id": f"bench{i:07x}", "status": "succeeded", "exit_code": 0,
                                   "timings": {"duration_seconds": 0.1}}, record)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=10000)
    parser.add_argument("--repeat", type=int, default=21)
    args = parser.parse_args()
    seed = str(Path(sys.executable).with_name("seed"))
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "SEED_HOME": tmp}
        fill(Path(tmp) / "runs.sqlite3", args.count)
        floor_argv = [seed, "--version"]
        for label, extra in (("seed runs", []), ("seed runs --limit 20", ["--limit", "20"]),
                             ("seed runs --status failed", ["--status", "failed"]), ("seed runs --json", ["--json"])):
            argv = [seed, "runs", *extra]
            timed(argv, env), timed(floor_argv, env)  # warm the caches
            ours, floor = [], []
            for _ in range(args.repeat):
                ours.append(timed(argv, env))
                floor.append(timed(floor_argv, env))
            a, b = statistics.median(ours), statistics.median(floor)
            print(f"{label}: {a * 1000:.0f} ms vs seed --version {b * 1000:.0f} ms: +{(a - b) * 1000:.0f} ms "
                  f"({args.count} runs, median of {args.repeat} pairs; target <= 150 ms)")
        cost = per_run_cost(Path(tmp) / "runs.sqlite3")
        print(f"per run: record_started + record_finished (two transactions, each opening the store) "
              f"{cost * 1000:.2f} ms median")


if __name__ == "__main__":
    main()
