"""Benchmark: a batch through SlurmExecutor on this machine's one-node Slurm cluster, against LocalExecutor.

Prints one line per figure:
  - wall time of N runs of bench/batch.py's trivial job (busybox `true`, one input file a run, cpus 0.5 and
    mem 16 declared: one Slurm CPU a run, so 2 at once on a 2-CPU node) through SlurmExecutor (one job array),
    against the same N runs through LocalExecutor(parallel=2), measured in the same run, alternating which goes
    first: the ratio;
  - where Slurm's time goes: the submission (submit of every run to the array's job id), the wait from the
    submission to each run's start on the node (scheduling, slurmstepd, the node's Python starting), and the run
    itself (the container's run and harvest, from the result documents), each as a mean a run;
  - the time to submit 10,000 runs (submit of each, until the one sbatch gave every run its job id; the
    array is cancelled at once after): target < 10 s.

Run: .venv/bin/python bench/batch_slurm.py [--runs 200] [--repeat 1] [--submit 10000]
Needs the engine, the base image (make images) and a Slurm cluster (scripts/ensure-slurm.sh).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from batch import IMAGE, build_job, input_files  # noqa: E402 - bench/batch.py: the same job


def through(executor_kind: str, files: list[Path], out: Path) -> dict[str, float]:
    from seed_runner.executors import LocalExecutor, SlurmExecutor
    from seed_runner.runtime.plan import RunRequest

    out.mkdir()
    starts: dict[str, float] = {}
    began = time.perf_counter()
    executor = (SlurmExecutor(on_start=lambda f: starts.setdefault(str(f.run_id), time.perf_counter()), poll=2.0)
                if executor_kind == "slurm" else LocalExecutor(parallel=2))
    with executor:
        futures = [executor.submit(RunRequest(image=IMAGE, file_inputs={"INPUT": [str(f)]},
                                              run_dir=str(out / f.stem))) for f in files]
        submitted = None
        if executor_kind == "slurm":
            while not all(f.slurm_job for f in futures if not f.done()):
                time.sleep(0.01)
            submitted = time.perf_counter()
        runs = []
        for future in executor.as_completed(futures):
            document = future.result().document
            if document["status"] != "succeeded":
                raise SystemExit(f"run {future.run_id} ended {document['status']}: {document.get('message')}")
            runs.append((document["timings"].get("duration_seconds") or 0.0))
    elapsed = time.perf_counter() - began
    figures = {"wall": elapsed, "run": sum(runs) / len(runs)}
    if submitted is not None:
        figures["submit"] = submitted - began
        figures["wait"] = sum(starts[str(f.run_id)] - submitted for f in futures if str(f.run_id) in starts) / \
            max(1, len(starts))
    return figures


def submit_many(count: int, root: Path) -> float:
    from seed_runner.executors import SlurmExecutor
    from seed_runner.runtime.plan import RunRequest

    out = root / "many"
    out.mkdir()
    executor = SlurmExecutor(poll=5.0)
    began = time.perf_counter()
    request = RunRequest(image=IMAGE, file_inputs={"INPUT": [str(root / "files" / "in00000.txt")]})
    size = executor.footprint(request)  # as a batch does: it sizes its rows as it checks them, then submits
    futures = [executor.submit(replace(request, run_dir=str(out / f"r{i}")), footprint=size) for i in range(count)]
    while not all(f.slurm_job for f in futures):
        time.sleep(0.01)
    elapsed = time.perf_counter() - began
    arrays = {f.slurm_job.split("_")[0] for f in futures if f.slurm_job}
    executor.close(cancel=True)
    if len(arrays) != 1:
        raise SystemExit(f"{count} runs went as {len(arrays)} arrays, not one")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--submit", type=int, default=10000)
    args = parser.parse_args()
    docker = shutil.which("docker") or "docker"
    with tempfile.TemporaryDirectory(dir=os.getcwd()) as tmp:  # below the working folder: the node sees it
        root = Path(tmp)
        os.environ["SEED_HOME"] = str(root / "seed-home")
        build_job(docker, root)
        files = input_files(root / "files", args.runs)
        try:
            through("local", files[:4], root / "warm-local")
            through("slurm", files[:4], root / "warm-slurm")
            best: dict[str, dict[str, float]] = {}
            for i in range(args.repeat):
                for kind in (("slurm", "local") if i % 2 == 0 else ("local", "slurm")):
                    figures = through(kind, files, root / f"{kind}{i}")
                    if kind not in best or figures["wall"] < best[kind]["wall"]:
                        best[kind] = figures
            many = submit_many(args.submit, root) if args.submit else None
        finally:
            subprocess.run([docker, "rmi", "-f", IMAGE], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        slurm, local = best["slurm"], best["local"]
        print(f"slurm batch: {args.runs} runs through SlurmExecutor {slurm['wall']:.1f} s, through "
              f"LocalExecutor(parallel=2) {local['wall']:.1f} s, ratio {slurm['wall'] / local['wall']:.2f} "
              f"(best of {args.repeat})")
        slot, local_slot = 2 * slurm["wall"] / args.runs, 2 * local["wall"] / args.runs
        print(f"slurm batch, where the time goes: submission {slurm['submit']:.2f} s for all {args.runs} (the "
              f"probe job included); each run holds a CPU for {slot:.2f} s (local: {local_slot:.2f} s), of which the "
              f"run itself (container and harvest) {slurm['run']:.2f} s (local: {local['run']:.2f} s); the rest is "
              f"Slurm's start and end of the job and the node's Python; a run waits {slurm['wait']:.1f} s on "
              "average from the submission to its start (the queue: 2 at a time)")
        if many is not None:
            print(f"slurm submission: {args.submit} runs submitted (one sbatch, one array) in {many:.2f} s "
                  "(target < 10 s)")


if __name__ == "__main__":
    main()
