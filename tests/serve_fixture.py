"""A real `seed serve` for tests: the CLI in its own process (so it can be killed -9 and started again) on a
free loopback port, with its own SEED_HOME; and a sleeper Seed image built for these tests."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parents[1]
SEED = str(Path(sys.executable).with_name("seed"))
SLEEPER = "serve-test-sleep-1.0.0-seed:1.0.0"
SLEEPER_MANIFEST = {
    "seedVersion": "1.0.0",
    "job": {
        "name": "serve-test-sleep", "jobVersion": "1.0.0", "packageVersion": "1.0.0", "title": "Sleep",
        "description": "Sleeps SECONDS, then writes done.txt (and its INPUT's bytes, when given)",
        "maintainer": {"name": "seed-runner tests", "email": "tests@example.com"}, "timeout": 600,
        "interface": {
            "command": "sh -c 'test ${SECONDS} -ge 0 || exit 3; sleep ${SECONDS}; echo done > ${OUTPUT_DIR}/done.txt; "
                       "test -z \"${INPUT}\" || cat \"${INPUT}\" > ${OUTPUT_DIR}/copy.txt'",
            "inputs": {"files": [{"name": "INPUT", "required": False}],
                       "json": [{"name": "SECONDS", "type": "integer"}]},
            "outputs": {"files": [{"name": "DONE", "pattern": "done.txt", "mediaType": "text/plain"},
                                  {"name": "COPY", "pattern": "copy.txt", "mediaType": "text/plain",
                                   "required": False}]},
        },
    },
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """``seed serve`` ARGS on a free port with SEED_HOME=home; ``url``, ``client``, ``kill``, ``stop``."""

    def __init__(self, home: Path, *args: str, port: int | None = None) -> None:
        self.home = home
        self.args = args
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None
        self.log = home / f"serve-{self.port}.log"

    def start(self, timeout: float = 60.0) -> "Server":
        env = {**os.environ, "SEED_HOME": str(self.home)}
        self.process = subprocess.Popen([SEED, "serve", "--port", str(self.port), *self.args], env=env,
                                        stdout=subprocess.DEVNULL, stderr=open(self.log, "ab"))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"seed serve exited {self.process.returncode}: {self.log.read_text()}")
            try:
                if httpx.get(self.url + "/conformance", timeout=2).status_code in (200, 401):
                    return self
            except httpx.HTTPError:
                time.sleep(0.2)
        raise RuntimeError(f"seed serve did not answer in {timeout} s: {self.log.read_text()}")

    def client(self, **kwargs: Any) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=120, **kwargs)

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(30)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(30)


def wait_for(client: httpx.Client, job_id: str, statuses: tuple[str, ...] = ("successful", "failed", "dismissed"),
             timeout: float = 180.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        info = client.get(f"/jobs/{job_id}").json()
        if info["status"] in statuses or time.monotonic() > deadline:
            return info
        time.sleep(0.2)


def sleeper_label() -> str:
    return json.dumps(SLEEPER_MANIFEST)


def secret_manifest(name: str) -> dict[str, Any]:
    """A job ``name`` that takes a secret setting (API_KEY, echoed to its log and written to its output USED)
    and a plain one (REGION): what the tests of secrets never shown build, each file under a name of its own."""
    return {
        "seedVersion": "1.0.0",
        "job": {
            "name": name, "jobVersion": "1.0.0", "packageVersion": "1.0.0", "title": "Secret",
            "description": "Uses a secret setting", "maintainer": {"name": "t", "email": "t@example.com"},
            "timeout": 60,
            "interface": {"command": "sh -c 'echo key=${API_KEY}; echo ${API_KEY} > ${OUTPUT_DIR}/used.txt'",
                          "settings": [{"name": "API_KEY", "secret": True}, {"name": "REGION"}],
                          "outputs": {"files": [{"name": "USED", "pattern": "used.txt",
                                                 "mediaType": "text/plain"}]}},
        },
    }
