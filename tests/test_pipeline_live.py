"""The live view of `seed pipeline run` on a terminal (a real pty): a bar a step, counting its runs, left in its
last state; no plain line a run (those are for pipes), and the final line said."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from .pipeline_fixtures import EXAMPLE, home, text_jobs  # noqa: F401
from .terminal import on_a_terminal

pytestmark = pytest.mark.engine

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def last_frame(text: str) -> dict[str, str]:
    """Each step's bar as the terminal was left: step -> what follows its bar (``3/3 3 succeeded``)."""
    bars: dict[str, str] = {}
    for line in ANSI.sub("", text).replace("\r", "\n").splitlines():
        found = re.match(r"^(\w+) +[━╺╸]+ +(\d+/\d+.*?)\s*$", line)
        if found:
            bars[found.group(1)] = found.group(2)
    return bars


def test_on_a_terminal_each_step_has_a_bar_counting_its_runs(tmp_path: Path, home: Path, text_jobs: Any) -> None:
    (tmp_path / "shout.yaml").write_text(EXAMPLE)
    (tmp_path / "in.txt").write_text("hello world\nsecond line\nthird\n")
    status, text = on_a_terminal(["pipeline", "run", "shout.yaml", "-i", "TEXT=in.txt", "-o", "p"], tmp_path)
    assert status == 0, text
    assert last_frame(text) == {"split": "1/1 1 succeeded", "upper": "3/3 3 succeeded", "join": "1/1 1 succeeded"}
    assert "running" in text  # the bars were live while the runs ran
    assert "seed: upper[0]" not in text  # no plain line a run on a terminal (those are for pipes)
    assert "\x1b[?25h" in text  # the cursor shown again
    assert re.search(r"seed: pipeline [0-9a-f]{12} succeeded: 3 succeeded; ", text), text


def test_a_step_whose_run_failed_says_so_on_its_bar(tmp_path: Path, home: Path, text_jobs: Any) -> None:
    (tmp_path / "shout.yaml").write_text(EXAMPLE)
    (tmp_path / "in.txt").write_text("hello world\nbe quiet\nthird\n")  # "quiet": that part's run fails
    status, text = on_a_terminal(["pipeline", "run", "shout.yaml", "-i", "TEXT=in.txt", "-o", "p", "--keep-going"],
                                 tmp_path)
    assert status == 1, text
    bars = last_frame(text)
    assert bars["upper"] == "3/3 2 succeeded, 1 failed", bars  # not the last run's status alone
    assert bars["join"].startswith("0/0 stopped"), bars
    assert "seed: upper failed: 1 of 3 runs did not succeed" in ANSI.sub("", text)
