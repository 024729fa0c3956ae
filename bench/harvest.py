"""Benchmark: harvest throughput (files captured per second) on a real output folder.

Prints one line per figure:
  - files/s harvesting COUNT small outputs, each with a small valid Point sidecar (SHA-256, media type,
    sidecar parsed, schema-checked and checked with shapely; target >= 5,000 files/s);
  - files/s for the same outputs without sidecars (the floor: listing, matching, hashing);
  - files/s of the bare loop a harvester cannot beat, open + read + sha256 of every output in Python,
    measured in the same run as the ratio's peer.
Each figure is the best of REPEAT runs on a warm page cache (the folder is written once).

Run: .venv/bin/python bench/harvest.py [--count 10000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from seed_runner.outputs.harvesting import harvest  # noqa: E402
from seed_runner.manifest.model import Manifest  # noqa: E402

MANIFEST = {
    "seedVersion": "1.0.0",
    "job": {
        "name": "bench-harvest", "jobVersion": "1.0.0", "packageVersion": "1.0.0", "title": "Bench",
        "description": "Many small outputs.", "maintainer": {"name": "Bench", "email": "bench@example.com"},
        "timeout": 60,
        "interface": {"outputs": {"files": [{"name": "TILES", "pattern": "tile-*.dat", "multiple": True}]}},
    },
}


def write_folder(folder: Path, count: int, *, sidecars: bool) -> None:
    rng = random.Random(11)
    for i in range(count):
        (folder / f"tile-{i:05d}.dat").write_bytes(rng.randbytes(rng.randint(200, 4000)))
        if sidecars:
            sidecar = {"type": "Feature",
                       "geometry": {"type": "Point", "coordinates": [rng.uniform(-180, 180), rng.uniform(-90, 90)]},
                       "properties": {"dataStarted": "2024-05-01T10:00:00-04:00", "sourceSensor": "bench"}}
            (folder / f"tile-{i:05d}.dat.metadata.json").write_text(json.dumps(sidecar))


def best_rate(action, count: int, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        action()
        best = min(best, time.perf_counter() - start)
    return count / best


def bare_hash_loop(folder: Path) -> None:
    for entry in os.scandir(folder):
        if entry.name.endswith(".dat"):
            with open(entry.path, "rb") as handle:
                hashlib.sha256(handle.read()).hexdigest()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    manifest = Manifest.from_dict(MANIFEST)

    with tempfile.TemporaryDirectory() as tmp:
        with_sidecars, without = Path(tmp, "with"), Path(tmp, "without")
        with_sidecars.mkdir()
        without.mkdir()
        write_folder(with_sidecars, args.count, sidecars=True)
        write_folder(without, args.count, sidecars=False)

        check = harvest(manifest, with_sidecars)  # also warms the imports (shapely, numpy, jsonschema-rs)
        attached = sum(f.metadata is not None for f in check.files["TILES"])
        assert attached == args.count and not check.warnings and not check.failures, check.warnings[:3]

        rate = best_rate(lambda: harvest(manifest, with_sidecars), args.count, args.repeat)
        print(f"harvest with sidecars: {rate:,.0f} files/s ({args.count} outputs, each with a valid Point "
              f"sidecar, sha256 included; target >= 5,000 files/s)")
        plain = best_rate(lambda: harvest(manifest, without), args.count, args.repeat)
        print(f"harvest without sidecars: {plain:,.0f} files/s ({args.count} outputs, sha256 included)")
        floor = best_rate(lambda: bare_hash_loop(without), args.count, args.repeat)
        print(f"bare scandir + read + sha256 loop: {floor:,.0f} files/s (harvest without sidecars runs at "
              f"{plain / floor:.2f}x of it)")


if __name__ == "__main__":
    main()
