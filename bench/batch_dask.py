"""Benchmark: a batch through DaskExecutor on two local Dask workers, against the engine's own floor.

Prints one line per figure:
  - wall time of N runs of a trivial job (busybox `true`, bench/batch.py's image: manifest in the label, one
    input file a run, cpus 0.5 and mem 16 declared) submitted to a DaskExecutor whose cluster is a real
    `dask scheduler` and two `dask worker`s of one thread each (declaring CPU=1,MEM=2048), run folders on a
    shared folder, from the executor's creation (the shared-folder probe included) to the last result, against
    `xargs -P 2 docker run --rm` of the same N containers, measured in the same run, alternating which goes
    first: the ratio (target <= 1.5);
  - the client's peak RSS (VmHWM of this process, which is the Dask client) after N/4 runs and after N: flat
    when the two are close.

Run: .venv/bin/python bench/batch_dask.py [--runs 200] [--repeat 2]
Needs the engine and the base image (make images), and the dask extra (make setup installs it).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests.dask_cluster: the tests' real cluster

from batch import IMAGE, build_job, input_files, xargs_docker  # noqa: E402 - bench/batch.py: the same job, the same floor

from tests.dask_cluster import WorkerSpec, start_cluster  # noqa: E402


def peak_rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def dask_batch(address: str, files: list[Path], shared: Path) -> tuple[float, float, float]:
    """(wall seconds, peak RSS after a quarter of the runs, peak RSS at the end)."""
    from distributed import Client

    from seed_runner.executors import DaskExecutor
    from seed_runner.runtime.plan import RunRequest

    shared.mkdir()
    with Client(address, set_as_default=False) as client:
        start = time.perf_counter()
        with DaskExecutor(client, shared_dir=shared) as executor:
            futures = [executor.submit(RunRequest(image=IMAGE, file_inputs={"INPUT": [str(f)]})) for f in files]
            quarter = peak = 0.0
            for done, future in enumerate(executor.as_completed(futures), 1):
                status = future.result().document["status"]
                if status != "succeeded":
                    raise SystemExit(f"run {future.run_id} ended {status}: {future.result().document['message']}")
                if done == len(files) // 4:
                    quarter = peak_rss_mib()
        elapsed = time.perf_counter() - start
        peak = peak_rss_mib()
    return elapsed, quarter, peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    docker = shutil.which("docker") or "docker"
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        os.environ["SEED_HOME"] = str(root / "seed-home")  # the workers inherit it: a store of their own
        build_job(docker, root)
        files = input_files(root / "files", args.runs)
        cluster = start_cluster([WorkerSpec(f"w{i}", nthreads=1, resources="CPU=1,MEM=2048") for i in range(2)],
                                root / "dask")
        try:
            xargs_docker(docker, 4, 2)  # warm the engine
            dask_batch(cluster.address, files[:4], root / "warm")  # and the workers' imports
            ours, floor, quarter, peak = [], [], 0.0, 0.0
            for i in range(args.repeat):
                for which in (("dask", "xargs") if i % 2 == 0 else ("xargs", "dask")):
                    if which == "dask":
                        elapsed, at_quarter, at_end = dask_batch(cluster.address, files, root / f"shared{i}")
                        ours.append(elapsed)
                        if not peak:  # VmHWM only grows: the first batch's pair is the one that tells growth
                            quarter, peak = at_quarter, at_end
                    else:
                        floor.append(xargs_docker(docker, args.runs, 2))
        finally:
            cluster.stop()
            subprocess.run([docker, "rmi", "-f", IMAGE], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        best_ours, best_floor = min(ours), min(floor)
        print(f"dask batch: {args.runs} runs on 2 Dask workers {best_ours:.1f} s, xargs -P 2 docker run --rm "
              f"{best_floor:.1f} s, ratio {best_ours / best_floor:.2f} (best of {args.repeat}; target <= 1.5)")
        print(f"dask batch memory: the client's peak RSS {quarter:.0f} MiB after {args.runs // 4} runs, {peak:.0f} MiB "
              f"after {args.runs} (ratio {peak / max(quarter, 1):.2f}; flat: target <= 1.25)")


if __name__ == "__main__":
    main()
