"""Benchmark: `seed serve` against floors measured in the same run.

Prints one line per figure:
  - async submit latency (`POST /processes/ID/execution` with `Prefer: respond-async`, the job recorded before
    the 201) p50 and p99 with 50 clients at once, against the server's own floor: `GET /conformance` (HTTP, the
    framework, no work) with the same 50 clients; the ratio of the p50s;
  - completed-job throughput: N jobs of a trivial busybox job submitted to the server and all ended, against
    `seed batch` of the same N runs, both with --parallel 2: the ratio of the times (target <= 1.25);
  - `GET /jobs` (10 per page, and 1000) with 10,000 jobs in the run store: the median time (target < 100 ms).

Run: .venv/bin/python bench/serve.py [--runs 60]
Needs the engine and the base image (make images).
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from serve_fixture import Server  # noqa: E402

BASE = "seed-runner/busybox:1"
IMAGE = "seed-bench-serve-1.0.0-seed:1.0.0"
CLIENTS = 50


def manifest() -> dict:
    return {"seedVersion": "1.0.0", "job": {
        "name": "seed-bench-serve", "jobVersion": "1.0.0", "packageVersion": "1.0.0", "title": "bench",
        "description": "bench", "maintainer": {"name": "bench", "email": "bench@example.com"}, "timeout": 600,
        "resources": {"scalar": [{"name": "cpus", "value": 0.5}, {"name": "mem", "value": 16}]},
        "interface": {"command": "true ${INPUT}", "inputs": {"files": [{"name": "INPUT"}]}}}}


def _latencies(url: str, calls: int, request: dict) -> list[float]:
    def one(_: int) -> float:
        with httpx.Client(timeout=120) as client:
            start = time.perf_counter()
            answer = client.request(**request, url=url)
            elapsed = time.perf_counter() - start
            assert answer.status_code in (200, 201), answer.text
            return elapsed

    with concurrent.futures.ThreadPoolExecutor(CLIENTS) as pool:
        return list(pool.map(one, range(calls)))


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def _wait_all(server: Server, count: int) -> None:
    """Until no job is accepted or running (a light poll: one job a page), then check all succeeded."""
    with server.client() as client:
        while client.get("/jobs", params={"status": "accepted,running", "limit": 1}).json()["jobs"]:
            time.sleep(0.2)
        ended = client.get("/jobs", params={"status": "successful", "limit": 1000}).json()["jobs"]
        assert len(ended) == count, (len(ended), count)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=60)
    args = parser.parse_args()
    seed = str(Path(sys.executable).with_name("seed"))
    docker = shutil.which("docker") or "docker"
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        label = json.dumps(manifest(), separators=(",", ":"))
        (root / "Dockerfile").write_text(f"FROM {BASE}\n")
        subprocess.run([docker, "build", "-q", "--label", f"com.ngageoint.seed.manifest={label}", "-t", IMAGE,
                        str(root)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        try:
            body = {"inputs": {"INPUT": "x\n"}}
            # 1. submit latency
            home = root / "latency"
            home.mkdir()
            server = Server(home, "--images", "seed-bench-serve-*", "--parallel", "2", "--queue", "100000").start()
            try:
                submit = _latencies(server.url + "/processes/seed-bench-serve/execution", 200, {
                    "method": "POST", "json": body, "headers": {"Prefer": "respond-async"}})
                # the floor under the same load: the 200 jobs run meanwhile (they take far longer than this)
                floor = _latencies(server.url + "/conformance", 200, {"method": "GET"})
                _wait_all(server, 200)
            finally:
                server.stop()
            print(f"serve submit: async submit p50 {_pct(submit, .5):.1f} ms, p99 {_pct(submit, .99):.1f} ms with "
                  f"{CLIENTS} clients; floor GET /conformance p50 {_pct(floor, .5):.1f} ms, p99 "
                  f"{_pct(floor, .99):.1f} ms; p50 ratio {_pct(submit, .5) / _pct(floor, .5):.2f}")
            # 2. throughput against seed batch
            files = root / "files"
            files.mkdir()
            for i in range(args.runs):
                (files / f"in{i:05d}.txt").write_text(f"{i}\n")
            home = root / "throughput"
            home.mkdir()
            server = Server(home, "--images", "seed-bench-serve-*", "--parallel", "2",
                            "--queue", str(args.runs + 10)).start()
            try:
                start = time.perf_counter()
                _latencies(server.url + "/processes/seed-bench-serve/execution", args.runs, {
                    "method": "POST", "json": body, "headers": {"Prefer": "respond-async"}})
                _wait_all(server, args.runs)
                served = time.perf_counter() - start
            finally:
                server.stop()
            os.environ["SEED_HOME"] = str(root / "batch-home")
            start = time.perf_counter()
            subprocess.run([seed, "batch", IMAGE, "--each", f"INPUT={files}/*", "--parallel", "2", "-q", "-o",
                            str(root / "batch-out")], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                           check=True)
            batch = time.perf_counter() - start
            print(f"serve throughput: {args.runs} jobs through seed serve {served:.1f} s, seed batch {batch:.1f} s, "
                  f"ratio {served / batch:.2f} (target <= 1.25)")
            # 3. GET /jobs with 10,000 jobs
            home = root / "listing"
            home.mkdir()
            from seed_runner.store.runstore import RunStore

            jobs_dir = home / "serve-jobs"
            with RunStore.open(home / "runs.sqlite3") as store:
                now = time.time()
                for i in range(10_000):
                    job_id = f"{i:016x}"
                    store.record_started({"id": job_id, "image": IMAGE, "job_name": "seed-bench-serve",
                                          "status": "succeeded" if i % 10 else "failed",
                                          "run_dir": str(jobs_dir / job_id / "run"), "recorded_at": now - i})
            server = Server(home, "--images", "seed-bench-serve-*").start()
            try:
                with server.client() as client:
                    assert len(client.get("/jobs").json()["jobs"]) == 10
                    timings = {}
                    for limit in (10, 1000):
                        times = []
                        for _ in range(20):
                            start = time.perf_counter()
                            answer = client.get("/jobs", params={"limit": limit})
                            times.append(time.perf_counter() - start)
                            assert len(answer.json()["jobs"]) == limit
                        timings[limit] = statistics.median(times) * 1000
            finally:
                server.stop()
            print(f"serve listing: GET /jobs with 10,000 jobs in the store: {timings[10]:.1f} ms (10 a page), "
                  f"{timings[1000]:.1f} ms (1000 a page), median of 20 (target < 100 ms)")
        finally:
            subprocess.run([docker, "rmi", "-f", IMAGE], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


if __name__ == "__main__":
    main()
