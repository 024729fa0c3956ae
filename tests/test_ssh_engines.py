"""ssh:// engines: the main engine reached over ssh (a private ``sshd`` on a loopback port, logging in as the
user running the tests with a key made here), as the docker CLI reaches it: `ssh ... docker system dial-stdio`.

scripts/ensure-engine.sh installs the OpenSSH server (sshd) and client; sshd is started here, never as a service.
"""

from __future__ import annotations

import getpass
import os
import shutil
import socket
import subprocess
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import pytest

from .test_remote_engines import (INPUT, WATERMARK, clean_env, free_port, listed, one_line, run_and_check, seed,
                                  short_tmp, write_job)

pytestmark = pytest.mark.engine


@dataclass(frozen=True)
class Sshd:
    port: int
    user: str
    path: str
    """PATH with an `ssh` first that uses this test's key and ignores host keys (ssh reads ~/.ssh/config from
    the passwd entry's home, not $HOME, so options go through a wrapper)."""

    def env(self, **values: str) -> dict[str, str]:
        return clean_env(DOCKER_HOST=f"ssh://{self.user}@127.0.0.1:{self.port}", PATH=self.path, **values)


@pytest.fixture(scope="module")
def sshd() -> Iterator[Sshd]:
    daemon = shutil.which("sshd") or "/usr/sbin/sshd"
    assert os.path.exists(daemon), "sshd is not installed: run scripts/ensure-engine.sh (openssh-server)"
    folder = short_tmp("seed-ssh-test-")
    for key in ("host_key", "client_key"):
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(folder / key)], check=True)
    shutil.copy(folder / "client_key.pub", folder / "authorized_keys")
    port = free_port()
    (folder / "sshd_config").write_text(
        f"ListenAddress 127.0.0.1\nPort {port}\nHostKey {folder}/host_key\nAuthorizedKeysFile {folder}/authorized_keys\n"
        "PasswordAuthentication no\nKbdInteractiveAuthentication no\nPermitRootLogin prohibit-password\n"
        f"StrictModes no\nUsePAM no\nPidFile {folder}/sshd.pid\n")
    (folder / "ssh_config").write_text(
        f"Host *\n  IdentityFile {folder}/client_key\n  IdentitiesOnly yes\n  StrictHostKeyChecking no\n"
        "  UserKnownHostsFile /dev/null\n  LogLevel ERROR\n  BatchMode yes\n")
    (folder / "bin").mkdir()
    wrapper = folder / "bin" / "ssh"
    wrapper.write_text(f'#!/bin/sh\nexec {shutil.which("ssh")} -F {folder}/ssh_config "$@"\n')
    wrapper.chmod(0o755)
    if os.geteuid() == 0:
        os.makedirs("/run/sshd", exist_ok=True)  # sshd's privilege separation folder (made at boot by its service)
    process = subprocess.Popen([daemon, "-D", "-e", "-f", str(folder / "sshd_config")],
                               stdout=subprocess.DEVNULL, stderr=open(folder / "sshd.log", "wb"))
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"sshd did not start: {(folder / 'sshd.log').read_text(errors='replace')[-2000:]}")
                time.sleep(0.1)
        yield Sshd(port, getpass.getuser(), f"{folder}/bin:{os.environ.get('PATH', '')}")
    finally:
        process.terminate()
        process.wait(30)
        shutil.rmtree(folder, ignore_errors=True)


def test_every_command_over_ssh(sshd: Sshd, docker_client: Any, tmp_path: Path) -> None:
    """ssh://USER@127.0.0.1:PORT reaches the main engine through `docker system dial-stdio`."""
    env = sshd.env(DOCKER_CONFIG=str(tmp_path / "config"))
    assert seed("validate", WATERMARK, env=env).returncode == 0
    run_and_check(WATERMARK, env, tmp_path / "run", "-i", INPUT)
    name = f"ssh-probe-{uuid.uuid4().hex[:8]}"
    assert seed("build", str(write_job(tmp_path / "job", name)), env=env).returncode == 0
    image = f"{name}-1.0.0-seed:1.0.0"
    try:
        assert {WATERMARK, image} <= listed(env)
        run_and_check(image, env, tmp_path / "built")
    finally:
        docker_client.images.remove(image, force=True)


def test_an_ssh_host_that_refuses_is_exit_4_with_sshs_words(sshd: Sshd, tmp_path: Path) -> None:
    port = free_port()  # nobody listens there
    env = clean_env(DOCKER_HOST=f"ssh://{sshd.user}@127.0.0.1:{port}", PATH=sshd.path)
    line = one_line(proc := seed("list", env=env))
    assert proc.returncode == 4 and "ssh exited with status 255" in line and "Connection refused" in line, line
    assert f"check that `ssh -p {port} {sshd.user}@127.0.0.1 docker version` works" in line
    proc = seed("run", WATERMARK, "-i", INPUT, "-o", str(tmp_path / "run"), "-q", env=env)
    assert proc.returncode == 4 and "ssh exited with status 255" in proc.stderr
