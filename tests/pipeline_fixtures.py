"""What the pipeline tests share: the text-* sample jobs (built here when `make images` has not), the example
pipeline, `seed` as a subprocess with a run store of the test's own, and the engine's count of containers."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[1]
SEED = str(Path(sys.executable).with_name("seed"))
SPLIT, UPPER, JOIN = ("text-split-1.0.0-seed:1.0.0", "text-upper-1.0.0-seed:1.0.0", "text-join-1.0.0-seed:1.0.0")
RUN_LABEL = "io.seed-runner.run-id"

EXAMPLE = """\
seedPipeline: "1.0"
name: shout
inputs:
  TEXT: {type: file, mediaTypes: [text/plain]}
  LIMIT: {type: integer, default: 10}
steps:
  split:
    image: text-split-1.0.0-seed:1.0.0
    inputs: {TEXT: inputs.TEXT}
  upper:
    image: text-upper-1.0.0-seed:1.0.0
    forEach: split.PARTS                    # one run per file of split's output PARTS
    inputs: {PART: item}
  join:
    image: text-join-1.0.0-seed:1.0.0
    when: {filters: [{name: split.COUNT, type: integer, condition: "<=", values: [inputs.LIMIT]}]}
    inputs: {PARTS: upper.UPPER}            # fan-in: every file of every run of upper, as one multiple input
outputs:
  SHOUTED: join.JOINED
"""


@pytest.fixture(scope="session")
def text_jobs(docker_client: Any, busybox_image: str) -> tuple[str, str, str]:
    """The three text jobs' images (scripts/build-sample-jobs.sh builds them in `make images`; here too when
    they are missing, by the same script)."""
    missing = []
    for image in (SPLIT, UPPER, JOIN):
        try:
            docker_client.images.get(image)
        except Exception:  # noqa: BLE001 - docker.errors.ImageNotFound
            missing.append(f"sample_jobs/{image.split('-1.0.0')[0]}")
    if missing:
        subprocess.run(["scripts/build-sample-jobs.sh", *missing], cwd=REPO, check=True, capture_output=True,
                       env={**os.environ, "PYTHON": sys.executable}, timeout=600)
    return SPLIT, UPPER, JOIN


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A run store of the test's own: the result cache sees only this test's runs."""
    home = tmp_path / "home"
    monkeypatch.setenv("SEED_HOME", str(home))
    monkeypatch.delenv("SEED_CACHE", raising=False)
    return home


def seed(*args: str, cwd: Path | None = None, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run([SEED, *args], capture_output=True, text=True, timeout=timeout, cwd=cwd,
                          env=dict(os.environ))


def state(folder: Path) -> dict[str, Any]:
    return json.loads((folder / "pipeline.json").read_text())


def run_ids(folder: Path) -> list[str]:
    return [r["run_id"] for s in state(folder)["steps"].values() for r in s["runs"]]


def containers_created(docker_client: Any, since: float, run_ids_: list[str]) -> list[str]:
    """The runs (of ``run_ids_``) the engine created a container for since ``since``: its own events."""
    events = docker_client.events(since=int(since) - 1, until=int(time.time()) + 1, decode=True,
                                  filters={"type": "container", "event": "create"})
    wanted = set(run_ids_)
    # The query is in whole seconds (and a second wider): each event's own nanoseconds say whether it came after
    # ``since``, so that a run created in the second before it is not counted as created again.
    return [e["Actor"]["Attributes"].get(RUN_LABEL) for e in events
            if e["Actor"]["Attributes"].get(RUN_LABEL) in wanted and e.get("timeNano", since * 1e9) >= since * 1e9]


def containers_left(docker_client: Any, run_ids_: list[str], *, running_only: bool = False) -> list[dict[str, Any]]:
    """The engine's containers of these runs, from one listing (other tests' containers come and go: no
    inspect of each, which would race their removal)."""
    listed = docker_client.api.containers(all=not running_only, filters={"label": RUN_LABEL})
    return [c for c in listed if (c.get("Labels") or {}).get(RUN_LABEL) in set(run_ids_)]
