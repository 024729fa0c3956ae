#!/usr/bin/env python3
"""python-stats: per-file statistics of number files, as a Seed job (standard library only).

Usage: stats.py CONFIG DATA_DIR OUTPUT_DIR [--threshold NUMBER]

Every argument falls back to the Seed variable of the same role (CONFIG, DATA_FILES, OUTPUT_DIR, THRESHOLD).
CONFIG is a JSON object {"precision": int 0-15 (default 3), "label": str (default "run")}. DATA_DIR holds the
files directly; each line holds one number (CSV: the first field), blank lines, '#' comments and lines that are
not a finite number (a header) are skipped.

Writes into OUTPUT_DIR: summary.json, <file>.stats.txt (+ a GeoJSON Point side-car each), footprint.txt (+ a
GeoJSON Polygon side-car) and seed.outputs.json. Exit status: 0 success, 3 no-data, 4 bad-config.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import sys
from datetime import datetime, timezone

EXIT_NO_DATA = 3
EXIT_BAD_CONFIG = 4


class JobError(Exception):
    def __init__(self, code: int, message: str):
        super().__init__(message)
        self.code = code


class Parser(argparse.ArgumentParser):
    def error(self, message: str):  # a wrong command line is a configuration error, not argparse's status 2
        self.print_usage(sys.stderr)
        raise JobError(EXIT_BAD_CONFIG, message)


def parse_args(argv: list[str]) -> argparse.Namespace:
    env = os.environ
    parser = Parser(prog="stats.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("config", nargs="?", default=env.get("CONFIG"), help="JSON object (default: $CONFIG)")
    parser.add_argument("data_dir", nargs="?", default=env.get("DATA_FILES"),
                        help="directory of number files (default: $DATA_FILES)")
    parser.add_argument("output_dir", nargs="?", default=env.get("OUTPUT_DIR"), help="default: $OUTPUT_DIR")
    # Empty counts as unset: an engine that cannot unset a variable (CWL's EnvVarRequirement) sets it empty.
    parser.add_argument("--threshold", default=env.get("THRESHOLD") or None,
                        help="count the numbers above it (default: $THRESHOLD, unset or empty = no count)")
    args = parser.parse_args(argv)
    for name, value in (("CONFIG", args.config), ("DATA_DIR", args.data_dir), ("OUTPUT_DIR", args.output_dir)):
        if not value:
            parser.error(f"{name} is missing (argument or environment variable)")
    return args


def read_config(text: str) -> tuple[int, str]:
    try:
        config = json.loads(text)
    except ValueError as exc:
        raise JobError(EXIT_BAD_CONFIG, f"CONFIG is not JSON: {exc}") from None
    if not isinstance(config, dict):
        raise JobError(EXIT_BAD_CONFIG, f"CONFIG must be a JSON object, not {type(config).__name__}")
    unknown = sorted(set(config) - {"precision", "label"})
    if unknown:
        raise JobError(EXIT_BAD_CONFIG, f"CONFIG has unknown members {unknown}; known: precision, label")
    precision = config.get("precision", 3)
    if isinstance(precision, bool) or not isinstance(precision, int) or not 0 <= precision <= 15:
        raise JobError(EXIT_BAD_CONFIG, f"CONFIG precision must be an integer from 0 to 15, not {precision!r}")
    label = config.get("label", "run")
    if not isinstance(label, str):
        raise JobError(EXIT_BAD_CONFIG, f"CONFIG label must be a string, not {label!r}")
    return precision, label


def read_threshold(text: str | None) -> float | None:
    if text is None:
        return None
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise JobError(EXIT_BAD_CONFIG, f"THRESHOLD must be a finite number, not {text!r}")
    return value


def scan(path: str, threshold: float | None) -> dict:
    """Streamed statistics of one file (first CSV field of each line); memory stays flat whatever the size."""
    count = skipped = above = 0
    total, low, high = 0.0, math.inf, -math.inf
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for raw in handle:
            digest.update(raw)
            field = raw.split(b",", 1)[0].strip().removeprefix(b"\xef\xbb\xbf").strip(b'"')
            if not field or field.startswith(b"#"):
                continue
            try:
                value = float(field)
            except ValueError:
                value = math.nan
            if not math.isfinite(value):
                skipped += 1
                continue
            count += 1
            total += value
            low, high = min(low, value), max(high, value)
            if threshold is not None and value > threshold:
                above += 1
    return {"count": count, "skipped": skipped, "sum": total, "min": low, "max": high, "above": above,
            "location": location(digest.digest())}


def inputs_seen() -> list[str] | None:
    """The input names of the INPUT_METADATA file ({"JOB": {...}}), or None when it is absent or unreadable."""
    path = os.environ.get("INPUT_METADATA")
    if not path:
        return None
    try:
        with open(path, encoding="utf-8") as handle:
            job = json.load(handle).get("JOB")
        return list(job) if isinstance(job, dict) else None
    except (OSError, ValueError, AttributeError) as exc:
        print(f"stats.py: ignoring INPUT_METADATA {path}: {exc}", file=sys.stderr)
        return None


def location(digest: bytes) -> list[float]:
    """A synthetic, stable [lon, lat] for a file (the sample data carries no position): from its SHA-256."""
    lon = int.from_bytes(digest[:4], "big") / 0xFFFFFFFF * 340 - 170
    lat = int.from_bytes(digest[4:8], "big") / 0xFFFFFFFF * 160 - 80
    return [round(lon, 6), round(lat, 6)]


def footprint(points: list[list[float]], margin: float = 1.0) -> list[list[list[float]]]:
    """The bounding box of the points plus a margin, as a closed counter-clockwise ring (RFC 7946)."""
    west = max(-180.0, min(p[0] for p in points) - margin)
    east = min(180.0, max(p[0] for p in points) + margin)
    south = max(-90.0, min(p[1] for p in points) - margin)
    north = min(90.0, max(p[1] for p in points) + margin)
    return [[[west, south], [east, south], [east, north], [west, north], [west, south]]]


def write_json(path: str, document) -> None:
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(document, handle, indent=2)
        handle.write("\n")


def iso_now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def main(argv: list[str]) -> int:
    started = iso_now()
    args = parse_args(argv)
    precision, label = read_config(args.config)
    threshold = read_threshold(args.threshold)
    if not os.path.isdir(args.data_dir):
        raise JobError(EXIT_NO_DATA, f"DATA_FILES {args.data_dir} is not a directory")
    names = sorted(n for n in os.listdir(args.data_dir) if os.path.isfile(os.path.join(args.data_dir, n)))
    if not names:
        raise JobError(EXIT_NO_DATA, f"DATA_FILES {args.data_dir} holds no files")

    files, scans = {}, []
    for name in names:
        result = scan(os.path.join(args.data_dir, name), threshold)
        scans.append(result)
        count = result["count"]
        files[name] = {"count": count, "skipped": result["skipped"],
                       "mean": round(result["sum"] / count, precision) if count else None,
                       "min": round(result["min"], precision) if count else None,
                       "max": round(result["max"], precision) if count else None}
        print(f"{name}: {count} numbers, {result['skipped']} lines skipped")
    total = sum(r["count"] for r in scans)
    if not total:
        raise JobError(EXIT_NO_DATA, f"no number found in the {len(names)} file(s) of {args.data_dir}")

    out = args.output_dir
    for (name, stats), result in zip(files.items(), scans):
        stats_file = os.path.join(out, f"{name}.stats.txt")
        with open(stats_file, "w", encoding="utf-8") as handle:
            handle.write(f"file: {name}\n")
            for key in ("count", "skipped", "mean", "min", "max"):
                value = stats[key]
                text = "-" if value is None else (str(value) if isinstance(value, int) else f"{value:.{precision}f}")
                handle.write(f"{key}: {text}\n")
        write_json(stats_file + ".metadata.json", {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": result["location"]},
            "properties": {"file": name, "count": stats["count"], "mean": stats["mean"],
                           "dataStarted": started, "dataEnded": iso_now(), "dataTypes": ["statistics", "text"]}})

    mean = round(math.fsum(r["sum"] for r in scans) / total, precision)
    outputs = {"TOTAL_COUNT": total, "overallMean": mean, "LABEL": label}
    summary = {"label": label, "precision": precision, "threshold": threshold, "files": files,
               "total_count": total, "overall_mean": mean, "inputs_seen": inputs_seen()}
    if threshold is not None:
        outputs["ABOVE_THRESHOLD"] = summary["above_threshold"] = sum(r["above"] for r in scans)
    write_json(os.path.join(out, "summary.json"), summary)

    ended = iso_now()
    with open(os.path.join(out, "footprint.txt"), "w", encoding="utf-8") as handle:
        handle.write(f"{label}: bounding box (1 degree margin) of the synthetic locations of {len(names)} file(s)\n")
    write_json(os.path.join(out, "footprint.txt.metadata.json"), {
        "type": "Feature",
        "geometry": {"type": "Polygon", "coordinates": footprint([r["location"] for r in scans])},
        "properties": {"label": label, "files": names, "dataStarted": started, "dataEnded": ended,
                       "dataTypes": ["statistics", "footprint"]}})
    write_json(os.path.join(out, "seed.outputs.json"), outputs)
    print(f"{label}: {total} numbers in {len(names)} file(s), mean {mean:.{precision}f}"
          + (f", {outputs['ABOVE_THRESHOLD']} above {threshold:g}" if threshold is not None else ""))
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except JobError as exc:
        print(f"stats.py: {exc}", file=sys.stderr)
        sys.exit(exc.code)
