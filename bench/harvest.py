"""Benchmark: harvest throughput (files captured per second) on a real output folder.

Prints one line per figure:
  - files/s harvesting COUNT small outputs, each with a small valid Point sidecar (SHA-256, media type,
    sidecar parsed, schema-checked and checked with shapely; target >= 5,000 files/s);
  - files/s for the same outputs without sidecars (the floor: listing, matching, hashing);
  - files/s of the bare loop a harvester cannot beat, open + read + sha256 of every output in Python,
    measured in the same run as the ratio's peer;
  - seconds to harvest one output whose side-car is a ~105 MB MultiPoint point cloud, as a multiple of
    `json.load` of the same side-car (the floor: a harvester must at least parse it; target <= 10x).
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


def write_point_cloud(folder: Path) -> Path:
    """One output and a ~105 MB MultiPoint side-car; returns the side-car's path."""
    rng = random.Random(5)
    chunk_text = ",".join(json.dumps([rng.uniform(-179, 179), rng.uniform(-89, 89)]) for _ in range(1000))
    sidecar = folder / "cloud.laz.metadata.json"
    with open(sidecar, "w") as handle:
        handle.write('{"type": "MultiPoint", "coordinates": [')
        handle.write(",".join([chunk_text] * (105_000_000 // len(chunk_text) + 1)))
        handle.write("]}")
    (folder / "cloud.laz").write_bytes(b"laz")
    return sidecar


def best_seconds(action, repeat: int) -> float:
    return 1 / best_rate(action, 1, repeat)


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

    cloud_manifest = Manifest.from_dict({**MANIFEST, "job": {**MANIFEST["job"], "interface": {"outputs": {
        "files": [{"name": "CLOUD", "pattern": "*.laz"}]}}}})
    with tempfile.TemporaryDirectory() as tmp:
        sidecar = write_point_cloud(Path(tmp))
        assert harvest(cloud_manifest, Path(tmp)).files["CLOUD"][0].metadata is not None
        repeat = max(1, min(args.repeat, 3))
        took = best_seconds(lambda: harvest(cloud_manifest, Path(tmp)), repeat)

        def parse_only() -> None:
            with open(sidecar, "rb") as handle:
                json.load(handle)

        floor_seconds = best_seconds(parse_only, repeat)
        print(f"harvest of a {sidecar.stat().st_size / 1e6:.0f} MB MultiPoint side-car: {took:.2f} s, "
              f"{took / floor_seconds:.1f}x json.load of it ({floor_seconds:.2f} s; target <= 10x)")


if __name__ == "__main__":
    main()
