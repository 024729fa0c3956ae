"""Benchmark: a pipeline of 1 -> N (fan-out) -> 1 trivial runs against the same N + 2 runs through `seed run`,
`seed batch` and `seed run`, on the local executor.

The pipeline is the tutorial's (text-split of an N-line file, text-upper once per part, text-join of the N
parts), run with `seed pipeline run --no-cache --parallel P -q`. The floor, measured in the same run, is what a
user would do by hand with the same tools: `seed run text-split`, `seed batch text-upper --each
PART=parts/* --parallel P`, then `seed run text-join` of the N files, one after the other. Which goes first
alternates; the best of each is compared (target: the pipeline within 1.15x of the floor).

Run: .venv/bin/python bench/pipeline.py [--runs 100] [--parallel 2] [--repeat 2]
Needs the engine and the sample jobs (make images).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SPLIT, UPPER, JOIN = ("text-split-1.0.0-seed:1.0.0", "text-upper-1.0.0-seed:1.0.0", "text-join-1.0.0-seed:1.0.0")
PIPELINE = f"""\
seedPipeline: "1.0"
name: bench
inputs:
  TEXT: {{type: file}}
steps:
  split:
    image: {SPLIT}
    inputs: {{TEXT: inputs.TEXT}}
  upper:
    image: {UPPER}
    forEach: split.PARTS
    inputs: {{PART: item}}
  join:
    image: {JOIN}
    inputs: {{PARTS: upper.UPPER}}
outputs:
  SHOUTED: join.JOINED
"""


def check(proc: subprocess.CompletedProcess[bytes], what: str) -> None:
    if proc.returncode != 0:
        raise SystemExit(f"{what} failed ({proc.returncode}): {proc.stderr.decode()[-2000:]}")


def pipeline(seed: str, work: Path, text: Path, parallel: int, n: int) -> float:
    out = work / f"pipeline-{n}"
    start = time.perf_counter()
    check(subprocess.run([seed, "pipeline", "run", str(work / "bench.yaml"), "-i", f"TEXT={text}", "--no-cache",
                          "--parallel", str(parallel), "-q", "-o", str(out)], capture_output=True), "the pipeline")
    return time.perf_counter() - start


def by_hand(seed: str, work: Path, text: Path, parallel: int, n: int) -> float:
    split, batch, join = work / f"split-{n}", work / f"batch-{n}", work / f"join-{n}"
    start = time.perf_counter()
    check(subprocess.run([seed, "run", SPLIT, "-i", f"TEXT={text}", "-q", "-o", str(split)], capture_output=True),
          "seed run text-split")
    check(subprocess.run([seed, "batch", UPPER, "--each", f"PART={split}/outputs/part-*.txt", "--parallel",
                          str(parallel), "-q", "-o", str(batch)], capture_output=True), "seed batch text-upper")
    parts = sorted(batch.glob("runs/*/outputs/*.txt"))
    check(subprocess.run([seed, "run", JOIN, *[a for p in parts for a in ("-i", f"PARTS={p}")], "-q", "-o",
                          str(join)], capture_output=True), "seed run text-join")
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=100, help="The fan-out's runs (N).")
    parser.add_argument("--parallel", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    seed = str(Path(sys.executable).with_name("seed"))
    with tempfile.TemporaryDirectory(prefix="seed-bench-pipeline-") as tmp:
        work = Path(tmp)
        os.environ["SEED_HOME"] = str(work / "home")  # a store of its own
        (work / "bench.yaml").write_text(PIPELINE)
        text = work / "in.txt"
        text.write_text("".join(f"line {i}\n" for i in range(args.runs)))
        pipelines, floors = [], []
        for n in range(args.repeat):
            if n % 2 == 0:
                pipelines.append(pipeline(seed, work, text, args.parallel, n))
                floors.append(by_hand(seed, work, text, args.parallel, n))
            else:
                floors.append(by_hand(seed, work, text, args.parallel, n))
                pipelines.append(pipeline(seed, work, text, args.parallel, n))
        best, floor = min(pipelines), min(floors)
        print(f"pipeline 1 -> {args.runs} -> 1 runs, --parallel {args.parallel}: {best:.1f} s; seed run + seed batch "
              f"+ seed run of the same {args.runs + 2} runs: {floor:.1f} s; ratio {best / floor:.2f} (target <= 1.15)"
              f"; all pipelines {[round(p, 1) for p in pipelines]}, all floors {[round(f, 1) for f in floors]}")


if __name__ == "__main__":
    main()
