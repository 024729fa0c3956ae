"""The tutorials work as written: every ```sh block of docs/tutorials/first-job.md, batch.md and service.md runs,
in order, in a fresh folder, on the real engine; a block titled with a file name (```sh title="word-count/run.sh")
is a file the reader writes, included from docs/ with `--8<--`, and is written there. The only changes: the job's
name is made unique to the test, the registry is the test's own, the server listens on a free port, and the
block that says "press Ctrl-C" gets a SIGINT once its first run has ended."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.engine

REPO = Path(__file__).resolve().parents[1]
DOCS = REPO / "docs"
BIN = Path(sys.executable).parent
FENCE = re.compile(r"^```(\w+)([^\n]*)\n(.*?)^```", re.S | re.M)
INCLUDE = re.compile(r'^--8<-- "([^"]+)"$')


def blocks(page: str) -> list[tuple[str, str | None, str]]:
    """(language, title or None, body) of every fenced block of a docs page, in order."""
    found = []
    for language, header, body in FENCE.findall((DOCS / page).read_text()):
        title = re.search(r'title="([^"]+)"', header)
        found.append((language, title.group(1) if title else None, body))
    return found


def _env() -> dict[str, str]:
    return {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}", "NO_COLOR": "1",
            "COLUMNS": "200"}


def _interrupted(body: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run the block's one command and press Ctrl-C (SIGINT) once its first run has ended."""
    (line,) = [line for line in body.splitlines() if line.strip() and not line.startswith("#")]
    proc = subprocess.Popen(["bash", "-c", f"exec {line}"], cwd=cwd, env=_env(), stderr=subprocess.PIPE, text=True)
    seen = []
    assert proc.stderr is not None
    for text in proc.stderr:
        seen.append(text)
        if text.startswith("seed: row "):
            proc.send_signal(signal.SIGINT)
            break
    seen.append(proc.stderr.read())
    proc.wait(timeout=300)
    return subprocess.CompletedProcess(line, proc.returncode, "", "".join(seen))


def walk(page: str, cwd: Path, replace: dict[str, str]) -> list[tuple[str, subprocess.CompletedProcess[str]]]:
    """Do every step of the page; returns (block, what it printed) for each shell block."""
    done = []
    for language, title, body in blocks(page):
        for old, new in replace.items():
            body = body.replace(old, new)
            title = title.replace(old, new) if title else title
        if title is not None:  # a file the reader writes
            include = INCLUDE.match(body.strip())
            assert include, (page, title)
            (cwd / title).write_text((DOCS / include.group(1)).read_text())
            continue
        if language != "sh":  # output, or a file shown whole
            continue
        if "press Ctrl-C" in body:
            proc = _interrupted(body, cwd)
            assert proc.returncode == 130, proc.stderr
        else:
            proc = subprocess.run(["bash", "-euo", "pipefail", "-c", body], cwd=cwd, env=_env(),
                                  capture_output=True, text=True, timeout=600)
            assert proc.returncode == 0, (body, proc.stdout, proc.stderr)
        assert "Traceback" not in proc.stderr, proc.stderr
        done.append((body, proc))
    return done


def test_the_first_job_tutorial_from_init_to_publish(tmp_path: Path, registry: Any, docker_client: Any) -> None:
    name = f"word-count-t{uuid.uuid4().hex[:8]}"
    image = f"{name}-0.1.0-seed:0.1.0"
    try:
        steps = walk("tutorials/first-job.md", tmp_path, {"word-count": name, "127.0.0.1:5000": registry.host})
        commands = [body for body, _ in steps]
        for step in ("seed init", "seed validate --strict", "seed build", "seed test", "seed run", "seed publish"):
            assert any(step in body for body in commands), step
        printed = {body.splitlines()[-1]: proc.stdout for body, proc in steps}
        assert "1 passed, 0 failed, 0 errors" in printed[f"seed test {name}"]
        assert printed["cat first-run/outputs/report.txt"].endswith("word-count: 9 words in notes.txt\n9 words\n")
        assert name in printed[f"seed search word --registry {registry.host}"]
        result = json.loads((tmp_path / "first-run/result.json").read_text())
        assert result["status"] == "succeeded" and result["image"]["reference"] == image
    finally:
        for ref in (image, f"{registry.host}/{image}"):
            try:
                docker_client.images.remove(ref, force=True)
            except Exception:  # noqa: BLE001 - not built, or already gone
                pass


def test_the_batch_tutorial_stops_and_resumes(tmp_path: Path) -> None:
    (tmp_path / "sample_jobs").symlink_to(REPO / "sample_jobs")  # the tutorial runs in the checkout
    walk("tutorials/batch.md", tmp_path, {})
    stamped = json.loads((tmp_path / "stamped/batch.json").read_text())
    assert stamped["status"] == "succeeded" and stamped["complete"] is True
    assert stamped["counts"] == {"total": 40, "succeeded": 40}
    attempts = [len(run["attempts"]) for run in stamped["runs"]]
    assert 1 in attempts and 2 in attempts  # the runs that had succeeded were kept, the others ran again
    table = json.loads((tmp_path / "from-table/batch.json").read_text())
    assert table["counts"] == {"total": 2, "succeeded": 2}


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_the_service_tutorial_serves_runs_and_stops(tmp_path: Path) -> None:
    """seed serve in the background on a free port, two executions by curl, the run history, then kill."""
    port = str(_free_port())
    try:
        steps = walk("tutorials/service.md", tmp_path, {"5050": port})
        printed = {body.splitlines()[-1]: proc.stdout for body, proc in steps}
        assert f"http://127.0.0.1:{port}/" in printed["cat serve.log"]
        assert any("DATA_FILES CONFIG THRESHOLD -> SUMMARY" in out for out in printed.values())
        results = json.loads((tmp_path / "results.json").read_text())
        assert results["TOTAL_COUNT"] == 5 and results["LABEL"] == "by HTTP"
        assert json.loads((tmp_path / "status.json").read_text())["status"] == "successful"
        assert any('"OVERALL_MEAN": 5.0' in out for out in printed.values())
        assert any('"overall_mean": 7.2' in out for out in printed.values())  # the SUMMARY file, by its link
        assert "python-stats 1.0.0" in printed["seed runs --limit 2"]
    finally:
        pid = tmp_path / "serve.pid"
        if pid.exists():  # the tutorial's last step kills it; a failed step before it must not leave it running
            try:
                os.kill(int(pid.read_text()), signal.SIGTERM)
            except ProcessLookupError:
                pass
