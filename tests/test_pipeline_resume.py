"""Ctrl-C (or SIGTERM) at a random moment of a pipeline, then `seed pipeline resume`: nothing is left running,
no run that succeeded is repeated, and the outputs are those of an uninterrupted run."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from .pipeline_fixtures import EXAMPLE, SEED, containers_created, containers_left, home, run_ids, seed, state, \
    text_jobs  # noqa: F401

pytestmark = pytest.mark.engine

SLOW = EXAMPLE.replace("  LIMIT: {type: integer, default: 10}\n",
                       "  LIMIT: {type: integer, default: 10}\n  DELAY: {type: integer, default: 1}\n") \
    .replace("inputs: {PART: item}", "inputs: {PART: item, DELAY: inputs.DELAY}")
LINES = [f"line {n}" for n in range(1, 7)]


def succeeded(folder: Path) -> dict[tuple[str, int], str]:
    return {(name, r["index"]): r["run_id"] for name, s in state(folder)["steps"].items() for r in s["runs"]
            if r["status"] in ("succeeded", "cached")}


@pytest.mark.parametrize("signum, seed_", [(signal.SIGINT, 1), (signal.SIGINT, 2), (signal.SIGTERM, 3)])
def test_stopped_at_a_random_moment_then_resumed(tmp_path: Path, home: Path, text_jobs: Any, docker_client: Any,
                                                 signum: int, seed_: int) -> None:
    pipeline = tmp_path / "slow.yaml"
    pipeline.write_text(SLOW)
    text = tmp_path / "in.txt"
    text.write_text("".join(f"{line}\n" for line in LINES))
    folder = tmp_path / "p"
    process = subprocess.Popen([SEED, "pipeline", "run", str(pipeline), "-i", f"TEXT={text}", "-o", str(folder),
                                "--parallel", "2"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               env=dict(os.environ))
    deadline = time.monotonic() + 60
    while not (folder / "pipeline.json").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(random.Random(seed_).uniform(0.0, 4.0))
    process.send_signal(signum)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode in (130, 0), stderr.decode()

    assert containers_left(docker_client, run_ids(folder)) == []  # every container stopped and removed
    before = succeeded(folder)
    if process.returncode == 130:
        assert state(folder)["status"] == "interrupted"
        assert b"seed pipeline resume" in stderr

    since = time.time()
    resumed = seed("pipeline", "resume", str(folder))
    assert resumed.returncode == 0, resumed.stderr
    after = succeeded(folder)
    assert all(after[key] == run_id for key, run_id in before.items())  # kept, not repeated
    created = containers_created(docker_client, since, run_ids(folder))
    assert not set(created) & set(before.values())
    assert len(after) == 1 + len(LINES) + 1
    expected = "".join(f"{line.upper()}\n" for line in LINES).encode()
    assert (folder / "outputs/SHOUTED/joined.txt").read_bytes() == expected


def test_resume_takes_a_run_that_ended_after_its_runner_was_killed(tmp_path: Path, home: Path, text_jobs: Any,
                                                                    docker_client: Any) -> None:
    """The runner killed (SIGKILL: no handler runs) while a run goes on: pipeline.json still says running;
    resume reads the run folder and the store, and does not run again what had succeeded."""
    pipeline = tmp_path / "slow.yaml"
    pipeline.write_text(SLOW)
    text = tmp_path / "in.txt"
    text.write_text("one\ntwo\n")
    folder = tmp_path / "p"
    process = subprocess.Popen([SEED, "pipeline", "run", str(pipeline), "-i", f"TEXT={text}", "-o", str(folder),
                                "-j", "DELAY=2"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               env=dict(os.environ))
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not (folder / "pipeline.json").exists() or \
            not any(r["status"] == "running" for r in state(folder)["steps"]["upper"]["runs"]):
        time.sleep(0.05)
        assert time.monotonic() < deadline
    process.kill()
    process.wait(timeout=30)
    # The runner is gone; its runs' containers are ended by the next run on the engine (the reaper), or here
    # by resume's own runs. pipeline.json was last written with the upper runs running.
    split_run = succeeded(folder)[("split", 0)]
    resumed = seed("pipeline", "resume", str(folder))
    assert resumed.returncode == 0, resumed.stderr
    assert succeeded(folder)[("split", 0)] == split_run
    assert (folder / "outputs/SHOUTED/joined.txt").read_bytes() == b"ONE\nTWO\n"
