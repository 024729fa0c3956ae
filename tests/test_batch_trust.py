"""`seed batch` and what it writes, on the real engine (issue 16, items 4, 7 and 8): URL credentials written
nowhere, resume that believes the run folders over a lagging batch.json and takes the table again for what was
not written, the executor kept for resume, and a Ctrl-C during submission that leaves every row with a state and
starts nothing more. Each test failed before its fix."""

from __future__ import annotations

import base64
import http.server
import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any, Iterator

import pytest

from seed_runner import load_manifest
from seed_runner.batches.rows import Row
from seed_runner.batches.start import run_batch
from seed_runner.executors import LocalExecutor, RunOptions
from seed_runner.runtime.plan import RunRequest

from .test_batch import CHECKER, SEED
from .loopback import serving

pytestmark = pytest.mark.engine

USER, PASSWORD = "alice", "pw-batch-5e1f0c"
SECRETS = {"password": PASSWORD, "access_token": "tok-batch-91ad3c", "jwt": "jwt-batch-44b7e2",
           "pass": "pass-batch-0c9d8e"}


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        expected = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
        query = self.path.partition("?")[2]
        allowed = self.headers.get("Authorization") == expected and all(
            f"{name}={value}" in query for name, value in SECRETS.items() if name != "password")
        body, status = (b"hello\n", 200) if allowed else (b"no", 401)
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)
        self.close_connection = True


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    with serving(_Handler) as port:
        yield f"127.0.0.1:{port}"


def files_holding(root: Path, secrets: list[str], *, but: Path | None = None) -> list[str]:
    found = []
    for path in root.rglob("*"):
        if path.is_file() and not path.is_symlink() and (but is None or not path.is_relative_to(but)):
            data = path.read_bytes()
            found += [f"{path}: {secret}" for secret in secrets if secret.encode() in data]
    return found


def test_url_credentials_are_written_nowhere_and_resume_takes_the_table_again(tmp_path: Path, server: str,
                                                                              busybox_image: str) -> None:
    inputs = tmp_path / "inputs"  # the user's own files: the only place the secrets may be
    inputs.mkdir()
    (inputs / "job.json").write_text(json.dumps(CHECKER))
    url = (f"http://{USER}:{PASSWORD}@{server}/data.txt?access_token={SECRETS['access_token']}&jwt={SECRETS['jwt']}"
           f"&pass={SECRETS['pass']}&v=1")
    (inputs / "runs.csv").write_text(f"DATA,PAUSE\n{url},0\n")
    home = tmp_path / "home"
    env = {**os.environ, "SEED_HOME": str(home)}
    env.pop("SEED_PUBLIC_QUERY_PARAMS", None)
    proc = subprocess.run([SEED, "batch", busybox_image, "--manifest", str(inputs / "job.json"), "--table",
                           str(inputs / "runs.csv"), "-o", "out", "--json"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    secrets = list(SECRETS.values())
    assert not [s for s in secrets if s in proc.stdout + proc.stderr]
    assert files_holding(tmp_path, secrets, but=inputs) == []  # batch folder, run folders, store, download cache
    batch = json.loads((tmp_path / "out" / "batch.json").read_text())
    recorded = batch["runs"][0]["request"]["file_inputs"]["DATA"]
    assert recorded == [f"http://****@{server}/data.txt?access_token=****&jwt=****&pass=****&v=****"]  # a URL still

    shutil.rmtree(tmp_path / "out" / "runs")  # the row must run again, and needs its credentials
    asked = subprocess.run([SEED, "batch", "resume", "out"], cwd=tmp_path, env=env, capture_output=True, text=True,
                           timeout=120)
    assert asked.returncode == 2, asked.stderr
    assert asked.stderr.strip() == ("seed: error: row 1: the URL of input DATA held credentials (user:password@ or "
                                    "query values), which were not written down; give the table again (--table "
                                    "FILE), or the URL for every row (-i DATA=URL)")
    resumed = subprocess.run([SEED, "batch", "resume", "out", "--table", str(inputs / "runs.csv"), "--json"],
                             cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    assert not [s for s in secrets if s in resumed.stdout + resumed.stderr]
    assert files_holding(tmp_path, secrets, but=inputs) == []
    assert json.loads((tmp_path / "out" / "batch.json").read_text())["counts"] == {"total": 1, "succeeded": 1}
    shutil.rmtree(tmp_path / "out" / "runs")  # once more, the URL given for every row (a shared -i, say)
    shared = subprocess.run([SEED, "batch", "resume", "out", "-i", f"data={url}"], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=300)
    assert shared.returncode == 0, shared.stderr
    assert files_holding(tmp_path, secrets, but=inputs) == []


def test_resume_believes_the_run_folders_over_a_batch_json_left_behind(tmp_path: Path, busybox_image: str) -> None:
    (tmp_path / "job.json").write_text(json.dumps(CHECKER))
    (tmp_path / "d.txt").write_text("x")
    (tmp_path / "runs.csv").write_text("DATA,PAUSE\nd.txt,0\nd.txt,0\nd.txt,0\n")
    first = subprocess.run([SEED, "batch", busybox_image, "--manifest", "job.json", "--table", "runs.csv", "-o",
                            "out", "--parallel", "2"], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert first.returncode == 0, first.stderr
    # What a runner killed between a run's end and the next write of batch.json leaves (written at most once a
    # second): row 1 still pending, row 2 lost with its Dask scheduler, though both ended well in their folders.
    path = tmp_path / "out" / "batch.json"
    batch = json.loads(path.read_text())
    batch["runs"][0].update(status="pending", attempts=[])
    batch["runs"][1]["attempts"][-1].update(status="error", error="scheduler-lost")
    batch["runs"][1]["status"] = "error"
    batch.update(status="running", complete=False)
    path.write_text(json.dumps(batch))
    again = subprocess.run([SEED, "batch", "resume", "out"], cwd=tmp_path, capture_output=True, text=True,
                           timeout=300)
    assert again.returncode == 0, again.stderr
    assert len(list((tmp_path / "out" / "runs").iterdir())) == 3  # not 5: no finished row ran again
    batch = json.loads(path.read_text())
    assert batch["counts"] == {"total": 3, "succeeded": 3} and batch["complete"] is True
    assert [len(run["attempts"]) for run in batch["runs"]] == [1, 1, 1]


def test_the_executor_and_its_caps_are_kept_for_resume(tmp_path: Path, busybox_image: str) -> None:
    (tmp_path / "job.json").write_text(json.dumps(CHECKER))
    (tmp_path / "d.txt").write_text("")
    proc = subprocess.run([SEED, "batch", busybox_image, "--manifest", "job.json", "--each", "DATA=d.txt", "-o",
                           "out", "--parallel", "1", "--cpus", "1", "--mem", "500", "-j", "PAUSE=0"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 1, proc.stderr  # the empty file
    kept = json.loads((tmp_path / "out" / "batch.json").read_text())["options"]["executor"]
    assert kept == {"kind": "local", "parallel": 1, "cpus": 1.0, "mem": 500.0, "gpus": None}
    # Resume makes the same executor: its caps refuse a row of 0.5 cpus no more than the first time, and a cap
    # given again overrides the kept one (0.25 cpus: the row never fits, said before anything runs).
    refused = subprocess.run([SEED, "batch", "resume", "out", "--cpus", "0.25"], cwd=tmp_path, capture_output=True,
                             text=True, timeout=120)
    assert refused.returncode == 2 and "0.25 cpus" in refused.stderr, refused.stderr
    (tmp_path / "d.txt").write_text("now full")
    resumed = subprocess.run([SEED, "batch", "resume", "out"], cwd=tmp_path, capture_output=True, text=True,
                             timeout=300)
    assert resumed.returncode == 0, resumed.stderr


class _InterruptedWhileSubmitting(LocalExecutor):
    """A LocalExecutor on the real engine, and a Ctrl-C that arrives as the batch submits its 40th row."""

    def __init__(self, **caps: Any) -> None:
        super().__init__(**caps)
        self.submitted = 0

    def submit(self, *args: Any, **kwargs: Any) -> Any:
        self.submitted += 1
        if self.submitted == 40:
            raise KeyboardInterrupt
        return super().submit(*args, **kwargs)


def test_a_ctrl_c_during_submission_leaves_every_row_with_a_state_and_starts_nothing_more(
        tmp_path: Path, busybox_image: str, docker_client: Any) -> None:
    (tmp_path / "d.txt").write_text("x")
    rows = [Row(i, {"DATA": "d.txt"}, tmp_path, text_cells=False) for i in range(1, 301)]
    executor = _InterruptedWhileSubmitting(parallel=3, cpus=4, mem=4000)
    result = run_batch(busybox_image, rows=rows, template=RunRequest(busybox_image, json_inputs={"PAUSE": 0}),
                       options=RunOptions(manifest=load_manifest(CHECKER)), executor=executor,
                       folder=tmp_path / "out")
    executor.close(cancel=True)
    written = json.loads((tmp_path / "out" / "batch.json").read_text())
    assert result.status == written["status"] == "interrupted" and written["complete"] is False
    assert "pending" not in written["counts"], written["counts"]  # before: 261 rows pending for good
    assert written["counts"]["total"] == 300 and written["counts"]["interrupted"] >= 297
    # Only what had started at the Ctrl-C (3 at most) has a folder: nothing started during the shutdown.
    assert len(list((tmp_path / "out" / "runs").iterdir())) <= 3
    assert docker_client.containers.list(all=True, filters={"label": "io.seed-runner.job=checker",
                                                            "status": "running"}) == []


PER_ROW = {"seedVersion": "1.0.0", "job": {
    "name": "per-row-secret", "jobVersion": "1.0.0", "packageVersion": "1.0.0", "title": "t", "description": "d",
    "maintainer": {"name": "n", "email": "e"}, "timeout": 60,
    "resources": {"scalar": [{"name": "cpus", "value": 0.25}, {"name": "mem", "value": 16}]},
    "interface": {"command": "sh -c 'test \"${TOKEN}\" = \"$(cat ${EXPECTED})\"'",
                  "inputs": {"files": [{"name": "EXPECTED"}]}, "settings": [{"name": "TOKEN", "secret": True}]},
    "errors": [{"code": 1, "name": "wrong-token", "category": "data"}]}}


def test_resume_takes_each_row_s_own_secret_from_the_table_given_again(tmp_path: Path, busybox_image: str) -> None:
    (tmp_path / "job.json").write_text(json.dumps(PER_ROW))
    (tmp_path / "one.txt").write_text("tok-one-71c2")
    (tmp_path / "two.txt").write_text("not yet")
    (tmp_path / "runs.csv").write_text("EXPECTED,TOKEN\none.txt,tok-one-71c2\ntwo.txt,tok-two-5d0e\n")
    home = tmp_path / "home"
    env = {**os.environ, "SEED_HOME": str(home)}
    first = subprocess.run([SEED, "batch", busybox_image, "--manifest", "job.json", "--table", "runs.csv", "-o",
                            "out"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert first.returncode == 1, first.stderr  # row 2's expected token is not there yet
    (tmp_path / "two.txt").write_text("tok-two-5d0e")
    # One value for every row would be row 1's, wrong for row 2: the table gives each row its own.
    wrong = subprocess.run([SEED, "batch", "resume", "out", "-e", "TOKEN=tok-one-71c2"], cwd=tmp_path, env=env,
                           capture_output=True, text=True, timeout=300)
    assert wrong.returncode == 1, wrong.stderr
    resumed = subprocess.run([SEED, "batch", "resume", "out", "--table", "runs.csv"], cwd=tmp_path, env=env,
                             capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    batch = json.loads((tmp_path / "out" / "batch.json").read_text())
    assert batch["counts"] == {"total": 2, "succeeded": 2}
    assert [len(run["attempts"]) for run in batch["runs"]] == [1, 3]  # row 1 never ran again
    for secret in ("tok-one-71c2", "tok-two-5d0e"):
        assert files_holding(tmp_path / "out", [secret]) == [] and files_holding(home, [secret]) == []
