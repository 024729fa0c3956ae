"""Benchmark: `seed pipeline check` of a generated 1,000-step pipeline, apart from reading the labels.

Prints one line per figure:
  - the time to read the file (YAML with places, the schema) and check it against its steps' manifests (already
    read: that is the engine's part, one label an image), best of --repeat: target < 1 s;
  - the same against the floor measured in the same run: PyYAML's own C loader reading the same text into plain
    data (no places, no schema, no check): the ratio says what places, schema and check cost on top.

The pipeline: chains of text-split -> text-upper (forEach) -> text-join (a `when` on split's COUNT), a third of
them joined into one last step, so there are fan-outs, fan-ins, conditions and long paths.

Run: .venv/bin/python bench/pipeline_check.py [--steps 1000] [--repeat 5]
Needs no engine (the manifests come from tests/data/pipeline_check).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from seed_runner.manifest.model import Manifest  # noqa: E402
from seed_runner.pipelines.check import check  # noqa: E402
from seed_runner.pipelines.loading import parse_pipeline  # noqa: E402

DATA = REPO / "tests" / "data" / "pipeline_check"


def generate(steps: int) -> tuple[str, dict[str, str]]:
    """A pipeline of about ``steps`` steps (YAML text) and step -> job name."""
    lines = ['seedPipeline: "1.0"', "name: bench", "inputs:", "  TEXT: {type: file, mediaTypes: [text/plain]}",
             "  LIMIT: {type: integer, default: 10}", "steps:"]
    jobs: dict[str, str] = {}
    chains = max(-(-steps // 3), 1)  # at least ``steps`` steps
    for i in range(chains):
        source = "inputs.TEXT" if i % 3 == 0 else f"upper{i - 1}.UPPER"
        lines += [f"  split{i}:", f"    image: text-split-1.0.0-seed:1.0.0", "    inputs:",
                  f"      TEXT: {source}" if i % 3 == 0 else f"      TEXT: join{i - 1}.JOINED",
                  f"  upper{i}:", "    image: text-upper-1.0.0-seed:1.0.0", f"    forEach: split{i}.PARTS",
                  "    inputs:", "      PART: item", "      DELAY: {value: 0}",
                  f"  join{i}:", "    image: text-join-1.0.0-seed:1.0.0",
                  f"    when: {{filters: [{{name: split{i}.COUNT, type: integer, condition: '<=', "
                  "values: [inputs.LIMIT]}]}",
                  "    inputs:", f"      PARTS: upper{i}.UPPER"]
        jobs.update({f"split{i}": "text-split", f"upper{i}": "text-upper", f"join{i}": "text-join"})
    lines += ["outputs:", f"  LAST: join{chains - 1}.JOINED"]
    return "\n".join(lines) + "\n", jobs


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    import yaml

    text, jobs = generate(args.steps)
    manifests_by_job = {job: Manifest.from_dict(json.loads((DATA / f"{job}.manifest.json").read_text()))
                        for job in set(jobs.values())}
    manifests = {step: manifests_by_job[job] for step, job in jobs.items()}
    ours, floor, found = [], [], None
    for _ in range(args.repeat):
        start = time.perf_counter()
        yaml.load(text, Loader=yaml.CSafeLoader)
        floor.append(time.perf_counter() - start)
        start = time.perf_counter()
        loaded = parse_pipeline(text)
        found = check(loaded.pipeline, manifests)
        ours.append(time.perf_counter() - start)
    assert loaded.problems == [] and loaded.pipeline is not None
    best, best_floor = min(ours), min(floor)
    print(f"steps: {len(loaded.pipeline.steps)}, problems found: {len(found)} (conditional-input warnings: "
          f"{sum(p.code == 'conditional-input' for p in found)})")
    print(f"read + check: {best * 1000:.0f} ms (best of {args.repeat}; target < 1000 ms: "
          f"{'met' if best < 1.0 else 'NOT met'})")
    print(f"floor, yaml.CSafeLoader alone: {best_floor * 1000:.0f} ms; ratio {best / best_floor:.1f}")


if __name__ == "__main__":
    main()
