"""docs/tutorials/pipeline.md works as written: its shell blocks run, in order, in an empty folder (all but
`make images`, which the suite's fixtures stand in for), then its Python blocks; what the page says they do,
they do."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from .pipeline_fixtures import REPO, home, text_jobs  # noqa: F401

PAGE = REPO / "docs" / "tutorials" / "pipeline.md"


def blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", PAGE.read_text(), re.S)


@pytest.mark.engine
def test_the_tutorial_s_examples_run(tmp_path: Path, home: Path, text_jobs: Any) -> None:
    shell = [b for b in blocks("sh") if "make images" not in b]
    assert len(shell) >= 8
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    script = "set -e\n" + "\n".join(shell)
    proc = subprocess.run(["bash", "-c", script], cwd=tmp_path, capture_output=True, text=True, env=env,
                          timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert (tmp_path / "runs/first/outputs/SHOUTED/joined.txt").read_text() == "HELLO WORLD\nSECOND LINE\nTHIRD\n"
    second = json.loads((tmp_path / "runs/second/pipeline.json").read_text())["steps"]
    assert sorted(r["status"] for s in second.values() for r in s["runs"]) == \
        ["cached", "cached", "succeeded", "succeeded", "succeeded"]  # three containers: split, one upper, join
    assert (tmp_path / "shout.svg").read_text().lstrip().startswith(("<svg", "<?xml"))
    assert "exit status 130" in proc.stdout  # the Ctrl-C, then resume
    assert (tmp_path / "runs/slow/outputs/SHOUTED/joined.txt").read_text() == \
        "HELLO WORLD\nSECOND LINE, CHANGED\nTHIRD\n"
    assert json.loads((tmp_path / "runs/recipe/pipeline.json").read_text())["status"] == "succeeded"
    lineage = [line for line in proc.stdout.splitlines() if " read " in line]
    assert [line.split(" ")[0] for line in lineage] == ["join", "upper", "upper", "upper", "split"]
    assert lineage[-1].endswith(f"file://{tmp_path}/in.txt")

    for code in blocks("python"):
        ran = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, env=env,
                             timeout=300)
        assert ran.returncode == 0 and "succeeded" in ran.stdout, ran.stderr
