"""Benchmark: `seed batch` of many runs of a trivial job against the engine's own floor.

Prints one line per figure:
  - wall time of `seed batch IMAGE --each INPUT=files/* --parallel 2 -q -o DIR` (N runs of busybox `true`,
    each its own run folder, result.json, log files, store record and crate) against
    `xargs -P 2 docker run --rm` of the same N containers, measured in the same run, alternating which goes
    first: the ratio (target <= 1.15);
  - the runner's peak RSS (VmHWM of the `seed` process) for N runs, and for N/4: flat when the two are close
    (target: the larger within 1.25x of the smaller).

Run: .venv/bin/python bench/batch.py [--runs 200] [--repeat 2]
Needs the engine and the base image (make images).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

BASE = "seed-runner/busybox:1"
IMAGE = "seed-bench-batch-1.0.0-seed:1.0.0"


def manifest() -> dict:
    return {"seedVersion": "1.0.0", "job": {
        "name": "bench-batch", "jobVersion": "1.0.0", "packageVersion": "1.0.0", "title": "bench",
        "description": "bench", "maintainer": {"name": "bench", "email": "bench@example.com"}, "timeout": 600,
        "resources": {"scalar": [{"name": "cpus", "value": 0.5}, {"name": "mem", "value": 16}]},
        "interface": {"command": "true ${INPUT}", "inputs": {"files": [{"name": "INPUT"}]}}}}


def build_job(docker: str, folder: Path) -> None:
    """The bench job's image (IMAGE: BASE with the manifest as its label), built in ``folder``."""
    label = json.dumps(manifest(), separators=(",", ":"))
    (folder / "Dockerfile").write_text(f"FROM {BASE}\n")
    subprocess.run([docker, "build", "-q", "--label", f"com.ngageoint.seed.manifest={label}", "-t", IMAGE,
                    str(folder)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)


def input_files(folder: Path, count: int) -> list[Path]:
    """``count`` one-line input files, made in ``folder`` (new)."""
    folder.mkdir()
    files = [folder / f"in{i:05d}.txt" for i in range(count)]
    for i, path in enumerate(files):
        path.write_text(f"{i}\n")
    return files


def peak_rss_kib(pid: int, done: threading.Event, box: dict[str, int]) -> None:
    """The process's VmHWM (its own peak resident set), read until it ends."""
    while not done.is_set():
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    box["peak"] = max(box.get("peak", 0), int(line.split()[1]))
        except OSError:
            return
        time.sleep(0.05)


def seed_batch(seed: str, files: Path, out: Path, parallel: int) -> tuple[float, int]:
    start = time.perf_counter()
    proc = subprocess.Popen([seed, "batch", IMAGE, "--each", f"INPUT={files}/*", "--parallel", str(parallel),
                             "--cpus", "64", "--mem", "65536", "-q", "-o", str(out)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    done, box = threading.Event(), {}
    watcher = threading.Thread(target=peak_rss_kib, args=(proc.pid, done, box))
    watcher.start()
    _, err = proc.communicate()
    done.set()
    watcher.join()
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"seed batch failed ({proc.returncode}): {err.decode()[-2000:]}")
    return elapsed, box.get("peak", 0)


def xargs_docker(docker: str, runs: int, parallel: int) -> float:
    start = time.perf_counter()
    lines = "".join(f"{i}\n" for i in range(runs)).encode()
    subprocess.run(["xargs", "-P", str(parallel), "-I{}", docker, "run", "--rm", IMAGE, "true", "{}"], input=lines,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--parallel", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    seed = str(Path(sys.executable).with_name("seed"))
    docker = shutil.which("docker") or "docker"
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        os.environ["SEED_HOME"] = str(root / "seed-home")
        build_job(docker, root)
        for count in (args.runs, max(1, args.runs // 4)):
            input_files(root / f"files{count}", count)
        xargs_docker(docker, 4, args.parallel)  # warm the engine
        ours, floor, peaks = [], [], {}
        for i in range(args.repeat):
            order = ("seed", "xargs") if i % 2 == 0 else ("xargs", "seed")
            for which in order:
                if which == "seed":
                    elapsed, peak = seed_batch(seed, root / f"files{args.runs}", root / f"out{i}", args.parallel)
                    ours.append(elapsed)
                    peaks[args.runs] = max(peaks.get(args.runs, 0), peak)
                else:
                    floor.append(xargs_docker(docker, args.runs, args.parallel))
        small = max(1, args.runs // 4)
        _, peaks[small] = seed_batch(seed, root / f"files{small}", root / "out-small", args.parallel)
        best_ours, best_floor = min(ours), min(floor)
        print(f"batch: seed batch of {args.runs} runs --parallel {args.parallel} {best_ours:.1f} s, xargs -P "
              f"{args.parallel} docker run --rm {best_floor:.1f} s, ratio {best_ours / best_floor:.2f} "
              f"(best of {args.repeat}; target <= 1.15)")
        print(f"batch memory: peak RSS of seed batch {peaks[args.runs] / 1024:.0f} MiB for {args.runs} runs, "
              f"{peaks[small] / 1024:.0f} MiB for {small} runs, ratio {peaks[args.runs] / max(1, peaks[small]):.2f} "
              "(flat: target <= 1.25)")
        subprocess.run([docker, "rmi", "-f", IMAGE], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


if __name__ == "__main__":
    main()
