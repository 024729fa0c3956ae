"""ssh:// engines, the docker CLI's way: ``ssh [-l USER] [-p PORT] -- HOST docker system dial-stdio`` (with
``--host unix://PATH`` for an address with a socket path), whose stdin and stdout are the connection.

Why this and not the docker SDK's ssh support: the SDK imports paramiko for every ssh:// address (also when
told to shell out to ssh), a dependency seed-runner does not have, and `seed run` talks through our own client
anyway. One command serves both clients: ours gets one end of a socket pair per call (``dial``); the docker SDK,
which wants an address, gets a private Unix socket whose every connection is handed to such an ssh
(``relay``). ssh runs as the docker CLI runs it: the user's keys, agent, ``~/.ssh/config`` and known hosts
apply; ``ControlMaster``/``ControlPersist`` there saves the handshake of each call. ssh runs in a process group
of its own, so that Ctrl-C reaches the runner (which stops the job through a new connection), not ssh.
"""

from __future__ import annotations

import atexit
import os
import shlex
import shutil
import socket
import subprocess
import tempfile
import threading
from typing import IO, Any

from ..errors import EngineUnavailableError
from .endpoint import Endpoint

__all__ = ["command", "dial", "relay"]

SSH_OPTIONS = ("-o", "ConnectTimeout=30", "-T")  # as the docker CLI adds them

_lock = threading.Lock()
_running: list[subprocess.Popen[bytes]] = []
_relays: dict[Endpoint, "Relay"] = {}


def command(endpoint: Endpoint) -> list[str]:
    """The ssh command line whose stdin and stdout reach the engine of ``endpoint``."""
    args = ["ssh", *SSH_OPTIONS]
    if endpoint.user:
        args += ["-l", endpoint.user]
    if endpoint.port is not None:
        args += ["-p", str(endpoint.port)]
    args += ["--", endpoint.host, "docker"]
    if endpoint.path:
        args += ["--host", shlex.quote(f"unix://{endpoint.path}")]  # ssh hands the words to the remote shell
    return args + ["system", "dial-stdio"]


class SshSocket(socket.socket):
    """Our end of a socket pair whose other end is the stdin and stdout of an ssh process."""

    process: "subprocess.Popen[bytes] | None" = None
    errors: IO[bytes] | None = None

    def failure_detail(self) -> str:
        """ssh's last words on stderr and its exit status, once it has ended (waits up to 1 s: it ends right after
        the connection does), or '' while it still runs."""
        process, errors = self.process, self.errors
        if process is None or errors is None:
            return ""
        try:
            status = process.wait(1)
        except subprocess.TimeoutExpired:
            return ""
        try:
            errors.seek(0)
            lines = [line.strip() for line in errors.read(65536).decode(errors="replace").splitlines()]
        except (OSError, ValueError):
            lines = []
        said = "; ".join(line for line in lines if line)[-300:]
        return f"ssh exited with status {status}" + (f": {said}" if said else "")

    def close(self) -> None:
        super().close()
        if self.errors is not None:
            self.errors.close()
        if self.process is not None:
            _retire(self.process)
            self.process = None


def dial(endpoint: Endpoint, timeout: float | None) -> socket.socket:
    """A new connection to the engine of an ssh:// endpoint (its own ssh process)."""
    _retire(None)
    ours, theirs = socket.socketpair()
    errors = tempfile.TemporaryFile()
    try:
        process = _start(endpoint, theirs, errors)
    except BaseException:
        ours.close()
        errors.close()
        raise
    finally:
        theirs.close()
    sock = SshSocket(ours.family, ours.type, ours.proto, fileno=ours.detach())
    sock.process, sock.errors = process, errors
    sock.settimeout(timeout)
    return sock


def relay(endpoint: Endpoint) -> str:
    """The path of a private Unix socket that reaches the engine of ``endpoint`` (one per endpoint and process,
    removed at exit), for clients that want an address (the docker SDK)."""
    with _lock:
        if endpoint not in _relays:
            _relays[endpoint] = Relay(endpoint)
        return _relays[endpoint].path


class Relay:
    """Accepts connections on a Unix socket in a private folder and hands each to its own ssh process."""

    def __init__(self, endpoint: Endpoint):
        self.endpoint = endpoint
        self.directory = tempfile.mkdtemp(prefix="seed-ssh-")  # mode 0700: the socket is the user's alone
        self.path = os.path.join(self.directory, "engine.sock")
        self.server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.server.bind(self.path)
        self.server.listen(64)
        threading.Thread(target=self._serve, name="seed-ssh-relay", daemon=True).start()
        atexit.register(self.close)

    def _serve(self) -> None:
        while True:
            try:
                connection, _ = self.server.accept()
            except OSError:  # closed
                return
            with connection:
                try:
                    _retire(_start(self.endpoint, connection, subprocess.DEVNULL))
                except EngineUnavailableError:
                    pass  # the client sees the connection close; connect_docker then asks our client why

    def close(self) -> None:
        try:
            self.server.shutdown(socket.SHUT_RDWR)  # wakes the accept()
        except OSError:
            pass
        self.server.close()
        shutil.rmtree(self.directory, ignore_errors=True)


def _start(endpoint: Endpoint, connection: socket.socket, errors: Any) -> "subprocess.Popen[bytes]":
    try:
        return subprocess.Popen(command(endpoint), stdin=connection, stdout=connection, stderr=errors,
                                process_group=0)
    except OSError as exc:
        raise EngineUnavailableError(f"cannot start ssh to reach {endpoint.described} ({exc.strerror or exc}); "
                                     "install the OpenSSH client") from None


def _retire(process: "subprocess.Popen[bytes] | None") -> None:
    """Reap the ssh processes that have ended; ``process`` (closed on our side) ends once ssh sees the end of
    its input, and is reaped by a later call."""
    with _lock:
        if process is not None:
            _running.append(process)
        _running[:] = [p for p in _running if p.poll() is None]
