"""Real Dask clusters on loopback, for the Dask tests and bench/batch_dask.py: a `dask scheduler` process and
`dask worker` processes (each command in a process group of its own, so that stopping the cluster leaves no
process behind, nannies' children included)."""

from __future__ import annotations

import os
import shlex
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DASK = str(Path(sys.executable).with_name("dask"))


@dataclass(frozen=True)
class WorkerSpec:
    name: str
    nthreads: int = 1
    resources: str | None = None
    """``--resources``, e.g. "CPU=2,MEM=2048"."""
    wrap: tuple[str, ...] = ()
    """A command the worker runs under (``unshare ... sh -c``): its last member gets the worker's command line."""


@dataclass
class Cluster:
    address: str
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def addresses(self, client: Any) -> dict[str, str]:
        """{worker name: its address now} (a worker restarted by its nanny has a new address)."""
        workers = client.sync(client.scheduler.identity, n_workers=-1)["workers"]  # not the racy cache
        return {str(w["name"]): address for address, w in workers.items()}

    def pids(self, client: Any) -> dict[str, int]:
        """{worker name: the pid of the process that runs its tasks}."""
        names = {address: name for name, address in self.addresses(client).items()}
        return {names[address]: pid for address, pid in client.run(os.getpid).items() if address in names}

    def stop(self) -> None:
        for process in self.processes:
            _signal_group(process, signal.SIGTERM)
        deadline = time.monotonic() + 20
        for process in self.processes:
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
        for process in self.processes:  # whatever did not stop (a nanny's worker, a stuck scheduler)
            _signal_group(process, signal.SIGKILL)
            process.wait(timeout=20)
        deadline = time.monotonic() + 15  # killed children of a nanny are reaped by init, a moment later
        while (left := [p.pid for p in self.processes if _group_alive(p.pid)]) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not left, f"processes left in the groups of {left}"


def _signal_group(process: subprocess.Popen[bytes], signum: int) -> None:
    try:
        os.killpg(process.pid, signum)
    except ProcessLookupError:
        pass


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
        return True
    except ProcessLookupError:
        return False


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_cluster(workers: list[WorkerSpec], directory: Path, *, scheduler_env: dict[str, str] | None = None,
                  timeout: float = 60.0) -> Cluster:
    """A scheduler on a free loopback port and the workers, each `--nworkers 1` with a nanny; returns once
    every worker has joined. Logs go to ``directory``."""
    from distributed import Client

    directory.mkdir(parents=True, exist_ok=True)
    port = free_port()
    cluster = Cluster(f"tcp://127.0.0.1:{port}")
    try:
        cluster.processes.append(_start([DASK, "scheduler", "--host", "127.0.0.1", "--port", str(port),
                                         "--no-dashboard", "--idle-timeout", "900"], directory / "scheduler.log",
                                        {**os.environ, **(scheduler_env or {})}))
        for spec in workers:
            cluster.processes.append(_start_worker(cluster, spec, directory))
        with Client(cluster.address, timeout=timeout, set_as_default=False) as client:
            client.wait_for_workers(len(workers), timeout=timeout)
    except BaseException:
        cluster.stop()
        raise
    return cluster


def _start_worker(cluster: Cluster, spec: WorkerSpec, directory: Path) -> subprocess.Popen[bytes]:
    argv = [DASK, "worker", cluster.address, "--name", spec.name, "--nthreads", str(spec.nthreads),
            "--nworkers", "1", "--host", "127.0.0.1", "--no-dashboard", "--death-timeout", "60",
            "--local-directory", str(directory / f"scratch-{spec.name}")]
    if spec.resources:
        argv += ["--resources", spec.resources]
    if spec.wrap:
        argv = [*spec.wrap[:-1], f"{spec.wrap[-1]} {shlex.join(argv)}"]
    return _start(argv, directory / f"worker-{spec.name}.log", dict(os.environ))


def add_worker(cluster: Cluster, spec: WorkerSpec, directory: Path, *, timeout: float = 60.0) -> None:
    """One more worker, joining the running cluster (stopped with it); returns once it has joined."""
    from distributed import Client

    with Client(cluster.address, timeout=timeout, set_as_default=False) as client:
        before = len(client.sync(client.scheduler.identity, n_workers=-1)["workers"])
        cluster.processes.append(_start_worker(cluster, spec, directory))
        client.wait_for_workers(before + 1, timeout=timeout)


def _start(argv: list[str], log: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    with open(log, "ab") as out:
        return subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env,
                                start_new_session=True)
