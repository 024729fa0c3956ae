"""Benchmark: `seed validate` throughput and cold start.

Prints one line per figure:
  - manifests per second validating 10,000 documents (valid and invalid mixed) through the same code path as the
    CLI (`seed_runner.validate_all` on files: read, parse, schema, rules, command);
  - the same for in-memory documents (`validate_document`), which isolates parsing from file I/O;
  - manifests per second through the CLI as a pipeline uses it: `seed validate --recursive DIR > file` over
    3,000 files (human output to a file, so plain lines; and `--json` to a file), start-up included;
  - the same on 3,000 manifests with three warnings (name, timeout, error code), each with its own names and
    texts, against the same number of clean manifests varied alike, in the same run (interleaved rounds,
    medians): the ratio says what findings cost;
  - the median wall time of `seed validate one.json` against `python3 -c pass` measured in the same run, and
    the difference (target: at most 150 ms above the floor).

Run: .venv/bin/python bench/validate.py [--count 10000] [--repeat 21] [--rounds 7]
"""

from __future__ import annotations

import argparse
import copy
import json
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.conftest import CLEAN_MANIFEST  # noqa: E402  (the suite's clean manifest, reused as the base)


def corpus(count: int) -> list[object]:
    """Half valid manifests, half with one of several mistakes (schema and semantic)."""
    rng = random.Random(7)
    breakers = [
        lambda d: d["job"].pop("title"),
        lambda d: d["job"].update(timeout="60"),
        lambda d: d["job"]["interface"]["settings"][0].update(name="INPUT_FILE"),
        lambda d: d["job"]["interface"]["mounts"][0].update(path="relative"),
        lambda d: d["job"]["interface"].update(command="run $(id)"),
        lambda d: d["job"].update(name="bad_name"),
        lambda d: d["job"]["interface"]["outputs"]["files"][0].update(extra=1),
    ]
    docs = []
    for i in range(count):
        doc = copy.deepcopy(CLEAN_MANIFEST)
        doc["job"]["title"] = f"Job {i}"
        if i % 2:
            rng.choice(breakers)(doc)
        docs.append(doc)
    return docs


def throughput_files(docs: list[object]) -> tuple[float, int]:
    from seed_runner import validate_all

    with tempfile.TemporaryDirectory() as tmp:
        paths = []
        for i, doc in enumerate(docs):
            path = Path(tmp) / f"m{i}.json"
            path.write_text(json.dumps(doc))
            paths.append(str(path))
        start = time.perf_counter()
        results = validate_all(paths)
        elapsed = time.perf_counter() - start
    return len(docs) / elapsed, sum(not r.valid for r in results)


def throughput_documents(docs: list[object]) -> float:
    from seed_runner.validation import validate_document

    start = time.perf_counter()
    for doc in docs:
        validate_document(doc)
    return len(docs) / (time.perf_counter() - start)


def with_three_warnings() -> dict:
    """The clean manifest with three warnings: image-name-uppercase, timeout-not-positive, duplicate-error-code."""
    doc = copy.deepcopy(CLEAN_MANIFEST)
    doc["job"]["name"] = "Warn-Job"
    doc["job"]["timeout"] = 0
    doc["job"]["errors"][1]["code"] = 1
    return doc


def varied(doc: dict, i: int) -> dict:
    """``doc`` made the ``i``-th of its corpus: its own job name, title, description and input name (with the
    command that uses it), so that no two manifests are the same and no cache of any kind could answer for a
    copy; the findings stay the same."""
    doc = copy.deepcopy(doc)
    job = doc["job"]
    job["name"], job["title"] = f"{job['name']}-{i}", f"Job {i}"
    job["description"] = f"{job['description']} Copy {i} of the corpus."
    face = job["interface"]
    face["inputs"]["files"][0]["name"] = f"INPUT_FILE_{i}"
    face["command"] = face["command"].replace("${INPUT_FILE}", f"${{INPUT_FILE_{i}}}")
    return doc


def write_jobs(root: Path, docs: list[object], indent: int | None = None) -> Path:
    for i, doc in enumerate(docs):
        folder = root / f"j{i}"
        folder.mkdir(parents=True)
        (folder / "seed.manifest.json").write_text(json.dumps(doc, indent=indent))
    return root


def cli_seconds(seed: str, jobs: Path, *extra: str) -> float:
    """Wall time of one `seed validate --recursive DIR [extra] > file` call (start-up included)."""
    with tempfile.TemporaryFile() as out:
        start = time.perf_counter()
        subprocess.run([seed, "validate", "--recursive", str(jobs), *extra], stdout=out,
                       stderr=subprocess.DEVNULL, check=False)
        return time.perf_counter() - start


def cli_rate(seed: str, docs: list[object], *extra: str) -> float:
    """Manifests per second of one `seed validate --recursive DIR [extra] > file` call (start-up included)."""
    with tempfile.TemporaryDirectory() as tmp:
        return len(docs) / cli_seconds(seed, write_jobs(Path(tmp) / "jobs", docs), *extra)


def findings_against_clean(seed: str, count: int, rounds: int, *extra: str) -> tuple[float, float]:
    """(manifests/s on ``count`` manifests with three warnings, the same on clean ones): medians of ``rounds``
    interleaved calls each, so that machine noise hits both alike. Indented as people write them; each
    manifest differs from the others in its names and texts (``varied``)."""
    with tempfile.TemporaryDirectory() as tmp:
        warned = write_jobs(Path(tmp) / "warned", [varied(with_three_warnings(), i) for i in range(count)], indent=2)
        clean = write_jobs(Path(tmp) / "clean", [varied(CLEAN_MANIFEST, i) for i in range(count)], indent=2)
        warned_times, clean_times = [], []
        for _ in range(rounds):
            warned_times.append(cli_seconds(seed, warned, *extra))
            clean_times.append(cli_seconds(seed, clean, *extra))
    return count / statistics.median(warned_times), count / statistics.median(clean_times)


def median_wall(argv: list[str], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=21)
    parser.add_argument("--rounds", type=int, default=7, help="interleaved rounds of the findings corpus")
    args = parser.parse_args()

    docs = corpus(args.count)
    rate, invalid = throughput_files(docs)
    print(f"validate files: {rate:,.0f} manifests/s ({args.count} manifests, {invalid} invalid; target >= 5,000)")
    print(f"validate documents: {throughput_documents(docs):,.0f} manifests/s (no file I/O)")

    seed = str(Path(sys.executable).with_name("seed"))
    cli_docs = docs[:3000]
    print(f"seed validate --recursive, human output to a file: {cli_rate(seed, cli_docs):,.0f} manifests/s "
          f"({len(cli_docs)} manifests, start-up included; target >= 5,000)")
    print(f"seed validate --recursive --json to a file: {cli_rate(seed, cli_docs, '--json'):,.0f} manifests/s")
    for extra in ((), ("--json",)):
        warned, clean = findings_against_clean(seed, 3000, args.rounds, *extra)
        label = " ".join(("seed validate --recursive", *extra))
        print(f"{label}, 3,000 manifests with three warnings: {warned:,.0f} manifests/s, clean ones "
              f"{clean:,.0f} /s in the same rounds: ratio {warned / clean:.2f} (medians of {args.rounds}; "
              f"target >= 5,000/s)")
    with tempfile.TemporaryDirectory() as tmp:
        one = Path(tmp) / "one.json"
        one.write_text(json.dumps(CLEAN_MANIFEST))
        # Interleave the two commands so that machine noise hits both alike.
        floor_times, seed_times = [], []
        for _ in range(args.repeat):
            floor_times.append(median_wall([sys.executable, "-c", "pass"], 1))
            seed_times.append(median_wall([seed, "validate", str(one)], 1))
    floor, cold = statistics.median(floor_times), statistics.median(seed_times)
    print(f"cold start: seed validate one.json {cold * 1000:.0f} ms, python3 -c pass {floor * 1000:.0f} ms, "
          f"difference {(cold - floor) * 1000:.0f} ms (target <= 150 ms)")


if __name__ == "__main__":
    main()
