"""Benchmark: what `seed run` costs over a bare `docker run --rm`, and its memory under a flood of output.

Prints one line per figure:
  - median wall time of `seed run` on a trivial job (busybox `true`) against `docker run --rm` of the same
    image and command, measured in pairs in one run: the difference in ms (target <= 65 ms, the reference Go
    CLI's overhead on this machine class) and the ratio;
  - the runner's peak RSS while the job writes 1 GB to stdout (target <= 100 MB).

Run: .venv/bin/python bench/run_overhead.py [--repeat 15] [--flood-mb 1000]
Needs the engine and the base image (make images).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BASE = "seed-runner/busybox:1"
IMAGE = "seed-bench-1.0.0-seed:1.0.0"


def manifest(command: str) -> dict:
    return {"seedVersion": "1.0.0", "job": {
        "name": "bench", "jobVersion": "1.0.0", "packageVersion": "1.0.0", "title": "bench", "description": "bench",
        "maintainer": {"name": "bench", "email": "bench@example.com"}, "timeout": 600,
        "interface": {"command": command}}}


def timed(argv: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--flood-mb", type=int, default=1000)
    args = parser.parse_args()
    seed = str(Path(sys.executable).with_name("seed"))
    docker = shutil.which("docker") or "docker"

    with tempfile.TemporaryDirectory() as tmp:
        # Every run is recorded in the run store, as a user's is: a store of its own, not the user's.
        os.environ["SEED_HOME"] = str(Path(tmp) / "seed-home")
        # A real Seed image: the manifest in its label, as `seed run IMAGE` reads it.
        label = json.dumps(manifest("true"), separators=(",", ":"))
        (Path(tmp) / "Dockerfile").write_text(f"FROM {BASE}\n")
        subprocess.run([docker, "build", "-q", "--label", f"com.ngageoint.seed.manifest={label}", "-t", IMAGE, tmp],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        bare = [docker, "run", "--rm", IMAGE, "true"]
        timed(bare)  # warm the engine's caches for both
        seed_times, bare_times = [], []
        for i in range(args.repeat):
            run_dir = Path(tmp) / f"run{i}"
            seed_times.append(timed([seed, "run", IMAGE, "-o", str(run_dir), "-q"]))
            bare_times.append(timed(bare))
        ours, floor = statistics.median(seed_times), statistics.median(bare_times)
        print(f"run overhead: seed run {ours * 1000:.0f} ms, docker run --rm {floor * 1000:.0f} ms, "
              f"difference {(ours - floor) * 1000:.0f} ms, ratio {ours / floor:.2f} (median of {args.repeat} pairs; "
              "target <= 65 ms)")

        flood = Path(tmp) / "flood.json"
        flood.write_text(json.dumps(manifest(f"head -c {args.flood_mb * 1000000} /dev/zero")))
        start = time.perf_counter()
        # A child of its own, so that ru_maxrss is the runner's alone.
        probe = ("import resource, subprocess, sys; subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, check=True);"
                 " print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
        out = subprocess.run([sys.executable, "-c", probe, seed, "run", BASE, "--manifest", str(flood),
                              "-o", str(Path(tmp) / "flood"), "-q"], capture_output=True, text=True, check=True)
        elapsed = time.perf_counter() - start
        peak = int(out.stdout)
        written = (Path(tmp) / "flood" / "logs" / "stdout.log").stat().st_size
        print(f"flood: peak runner RSS {peak / 1024:.0f} MiB while the job wrote {written / 1e9:.2f} GB to stdout "
              f"in {elapsed:.1f} s ({written / 1e6 / elapsed:.0f} MB/s; RSS target <= 100 MB)")
        subprocess.run([docker, "rmi", IMAGE], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)


if __name__ == "__main__":
    main()
