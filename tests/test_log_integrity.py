"""Log integrity: `logs/stdout.log` and `logs/stderr.log` hold exactly the bytes the job wrote, once, in order.

Attaching before start with ``logs=1`` as well as ``stream=1`` is a known race of the engine (DESIGN.md
"Engines"): output written while the attach is being set up arrived twice (about 1 run in 150). The runner
attaches before start with ``stream=1`` alone; these tests hold it to that, on the real engine many times over
and on a fake engine for the request itself.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Callable
from urllib.parse import parse_qs, urlsplit

import pytest

import seed_runner
from seed_runner.runtime.plan import RunRequest

from .test_engine_robustness import (  # noqa: F401 - fake_engine and quick_bounds are fixtures
    FakeEngine, a_plan, answer, fake_engine, lifecycle, quick_bounds, run_plan, silent_attach)

RUNS = 300
THREADS = 12
LINES = 20
# The first bytes come at once, on both streams: the moment the race was about.
SCRIPT = ("echo first-out; echo first-err >&2; "
          f"for i in $(seq 1 {LINES}); do echo out-$i; echo err-$i >&2; done; printf tail-out; printf tail-err >&2")
EXPECTED_OUT = b"first-out\n" + b"".join(b"out-%d\n" % i for i in range(1, LINES + 1)) + b"tail-out"
EXPECTED_ERR = b"first-err\n" + b"".join(b"err-%d\n" % i for i in range(1, LINES + 1)) + b"tail-err"


def _manifest() -> Any:
    return seed_runner.load_manifest({"seedVersion": "1.0.0", "job": {
        "name": "log-integrity", "jobVersion": "1.0.0", "packageVersion": "1.0.0", "title": "t", "description": "d",
        "maintainer": {"name": "n", "email": "e"}, "timeout": 120,
        "interface": {"command": f"sh -c '{SCRIPT}'"}}})


@pytest.mark.engine
def test_every_byte_of_300_runs_arrives_once(busybox_image: str, tmp_path: Path) -> None:
    manifest = _manifest()

    def one(index: int) -> tuple[int, str, bytes, bytes]:
        result = seed_runner.run(RunRequest(image=busybox_image, run_dir=tmp_path / f"run-{index}"),
                                 manifest=manifest)
        logs = Path(result.run_dir) / "logs"
        return index, result.outcome.status, (logs / "stdout.log").read_bytes(), (logs / "stderr.log").read_bytes()

    with ThreadPoolExecutor(THREADS) as pool:
        results = list(pool.map(one, range(RUNS)))
    bad = [(i, status, out, err) for i, status, out, err in results
           if (status, out, err) != ("succeeded", EXPECTED_OUT, EXPECTED_ERR)]
    assert bad == [], f"{len(bad)} of {RUNS} runs differ; first: {bad[0]!r}"


def test_the_attach_asks_for_the_stream_only(fake_engine: Callable[..., FakeEngine], tmp_path: Path,
                                             quick_bounds: None) -> None:
    fake = fake_engine(*lifecycle(attach=silent_attach, wait=answer(200, {"StatusCode": 0})))
    run_plan(a_plan(tmp_path), tmp_path, 20)
    [attach] = fake.calls("POST", "/attach")
    query = parse_qs(urlsplit(attach.path).query)
    assert query.get("stream") == ["1"] and "logs" not in query, attach.path
