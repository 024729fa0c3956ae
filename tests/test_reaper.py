"""Leftover containers on an engine shared by many runners and users: a live run is never removed.

The real cases run real runners: one in another pid namespace (``unshare --pid``, same host name), one
SIGKILLed. The judging rules are held with containers created through the Docker SDK with the labels of
runners that are dead, alive, elsewhere or someone else's.
"""

from __future__ import annotations

import fcntl
import json
import os
import signal
import subprocess
import time
import uuid
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

from seed_runner.engine import reaper
from seed_runner.engine.reaper import (BOOT_LABEL, IN_DOUBT, LOCK_LABEL, OLD_RUNNER, OTHER_MACHINE, OTHER_PIDNS,
                                       OTHER_USER, PID_LABEL, PIDNS_LABEL, RUN_LABEL, START_LABEL, TIMENS_LABEL,
                                       UID_LABEL)
from seed_runner.runtime.plan import RunRequest
from seed_runner.runtime.runner import run

from .conftest import check_result
from .test_run_engine import SEED, manifest, write_manifest_file

pytestmark = pytest.mark.engine

TEST_LABEL = "io.seed-runner.test"


def seed(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([SEED, *args], capture_output=True, text=True, timeout=120)


def line_of(output: str, container_id: str) -> str:
    """The line of `seed cleanup`'s output naming the container, and the section it is in."""
    section = ""
    for line in output.splitlines():
        if not line.startswith(" "):
            section = line.split(" container")[0]
        elif line.split()[0] == container_id[:12]:
            return f"{section}: {line.strip()}"
    return ""


def quick_run(busybox_image: str, tmp_path: Path, name: str) -> None:
    """A normal run in this pid namespace: it reaps before it starts."""
    result = run(RunRequest(image=busybox_image, run_dir=tmp_path / name, network="none"), manifest=manifest("true"))
    check_result(result.document)
    assert result.outcome.status == "succeeded", result.document


def runner_container(docker_client: Any, **labels: str) -> Any:
    """The one container whose labels include these (a runner started it; wait for it to exist)."""
    filters = {"label": [f"{k}={v}" for k, v in labels.items()]}
    for _ in range(100):
        found = docker_client.containers.list(all=True, filters=filters)
        if found:
            assert len(found) == 1
            return found[0]
        time.sleep(0.1)
    raise AssertionError(f"no container with {labels}")


@pytest.fixture
def fake(docker_client: Any, busybox_image: str) -> Iterator[Callable[..., Any]]:
    """Create (never start) a container with the labels of a runner: this process's, with overrides."""
    tag = uuid.uuid4().hex
    made: list[Any] = []

    def create(legacy: bool = False, **overrides: str) -> Any:
        labels = {} if legacy else reaper.here().labels()
        labels.update({RUN_LABEL: uuid.uuid4().hex[:12], TEST_LABEL: tag}, **overrides)
        made.append(docker_client.containers.create(busybox_image, ["true"], labels=labels))
        return made[-1]

    create.tag = tag  # type: ignore[attr-defined]
    yield create
    for container in made:
        try:
            container.remove(force=True)
        except Exception:  # noqa: BLE001 - already gone
            pass


def free_pid(lowest: int = 20000) -> int:
    """A pid no process has here (the runner in the new namespace gets it: the host has nothing there)."""
    highest = int(Path("/proc/sys/kernel/pid_max").read_text()) - 10
    for pid in range(max(lowest, highest - 5000), highest):
        if not any(Path(f"/proc/{p}").exists() for p in range(pid - 2, pid + 3)):
            return pid
    raise AssertionError("no free pid")


@pytest.mark.parametrize("lock", ["shared-lock", "private-lock"])
def test_a_runner_in_another_pid_namespace_with_the_same_host_name_is_never_reaped(
        busybox_image: str, tmp_path: Path, docker_client: Any, lock: str) -> None:
    doc = write_manifest_file(tmp_path, "sh -c 'echo started; sleep 15; echo done'", timeout=120)
    pid = free_pid()
    private = tmp_path / "private"
    private.mkdir()
    # The runner is not the namespace's pid 1 but `pid`, a pid that no host process has: a reaper judging by
    # host name and pid would find it dead. With private-lock its lock file is in a tmpfs only it sees.
    hide = f"mount -t tmpfs tmpfs {private} && export XDG_RUNTIME_DIR={private}; " if lock == "private-lock" else ""
    script = (f"{hide}echo {pid - 1} > /proc/sys/kernel/ns_last_pid; "
              f"{SEED} run {busybox_image} --manifest {doc} --network none -o {tmp_path / 'run'}; exit $?")
    proc = subprocess.Popen(["unshare", "--pid", "--fork", "--mount-proc", "sh", "-c", script],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert proc.stdout.readline() == b"started\n", proc.stderr.read1().decode()  # type: ignore[union-attr]
        container = runner_container(docker_client, **{PID_LABEL: str(pid), "io.seed-runner.job": "cli-job"})
        assert container.labels[PIDNS_LABEL] != reaper.here().pidns
        assert container.labels[reaper.HOST_LABEL] == reaper.here().host
        assert Path(container.labels[LOCK_LABEL]).exists() == (lock == "shared-lock")  # hidden in its tmpfs

        cleanup = seed("cleanup")
        quick_run(busybox_image, tmp_path, "host-run")
        again = seed("cleanup", "--all-users")

        assert cleanup.returncode == 0 and again.returncode == 0, cleanup.stderr + again.stderr
        for output in (cleanup.stdout, again.stdout):
            line = line_of(output, container.id)
            assert line.startswith("left"), output
            expected = "its runner is alive (it holds its lock)" if lock == "shared-lock" else OTHER_PIDNS
            assert expected in line and "`seed cleanup --all` removes it" in line, line
        container.reload()
        assert container.status == "running"
        assert proc.wait(timeout=60) == 0, proc.stderr.read().decode()  # type: ignore[union-attr]
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    result = check_result(json.loads((tmp_path / "run" / "result.json").read_text()))
    assert result["status"] == "succeeded"
    assert (tmp_path / "run" / "logs" / "stdout.log").read_bytes() == b"started\ndone\n"


@pytest.mark.parametrize("reaped_by", ["cleanup", "next-run"])
def test_a_sigkilled_runner_leaves_a_container_that_is_reaped(busybox_image: str, tmp_path: Path,
                                                             docker_client: Any, reaped_by: str) -> None:
    doc = write_manifest_file(tmp_path, "sh -c 'echo started; sleep 300'")
    proc = subprocess.Popen([SEED, "run", busybox_image, "--manifest", str(doc), "--network", "none",
                             "-o", str(tmp_path / "run")], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert proc.stdout.readline() == b"started\n", proc.stderr.read1().decode()  # type: ignore[union-attr]
        container = runner_container(docker_client, **{PID_LABEL: str(proc.pid),
                                                       PIDNS_LABEL: reaper.here().pidns})
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    lock = Path(container.labels[LOCK_LABEL])
    assert lock.exists()
    container.reload()
    assert container.status == "running"  # the runner is gone, its job is not
    if reaped_by == "cleanup":
        proc_cleanup = seed("cleanup")
        assert proc_cleanup.returncode == 0, proc_cleanup.stderr
        line = line_of(proc_cleanup.stdout, container.id)
        # Another test session's run may reap it first: then it is simply gone.
        assert line == "" or (line.startswith("removed") and "its runner is gone" in line), proc_cleanup.stdout
    else:
        quick_run(busybox_image, tmp_path, "next")
    assert docker_client.containers.list(all=True, filters={"id": container.id}) == []
    assert not lock.exists()  # the dead runner's lock file goes with its container


def test_another_users_leftover_is_left_unless_all_users(fake: Callable[..., Any], docker_client: Any) -> None:
    container = fake(**{PID_LABEL: "999999999", START_LABEL: "1", UID_LABEL: "4242"})  # dead, but not ours
    proc = seed("cleanup")
    assert proc.returncode == 0
    line = line_of(proc.stdout, container.id)
    assert line.startswith("left") and OTHER_USER in line and "uid 4242" in line, proc.stdout
    assert "`seed cleanup --all-users` removes it" in line
    assert docker_client.containers.list(all=True, filters={"id": container.id}), "uid 4242's container is gone"
    proc = seed("cleanup", "--all-users")
    assert proc.returncode == 0
    assert line_of(proc.stdout, container.id).startswith("removed"), proc.stdout
    assert docker_client.containers.list(all=True, filters={"id": container.id}) == []


def test_the_rule(fake: Callable[..., Any], docker_client: Any, tmp_path: Path) -> None:
    me = reaper.here()
    held = tmp_path / "runner-held.lock"
    free = tmp_path / "runner-free.lock"
    dead = {PID_LABEL: "999999999", START_LABEL: "1"}
    for path, pidns in ((held, me.pidns), (free, "1")):  # the content a runner writes: its identity
        path.write_text(reaper.Identity("", "", me.boot_id, pidns, "999999999", "1").stamp() + "\n")
    descriptor = os.open(held, os.O_RDONLY)
    fcntl.flock(descriptor, fcntl.LOCK_EX)  # a live holder (this process, another open file)
    try:
        gone = [fake(**dead),                                         # no such pid here
                fake(**{START_LABEL: "1"}),                           # this pid, another start time: reused
                fake(**dead, **{PIDNS_LABEL: "1", LOCK_LABEL: str(free)})]  # elsewhere, but its lock is free
        left = {fake().id: "its runner is alive",                     # this very process
                fake(**dead, **{LOCK_LABEL: str(held)}).id: "its runner is alive (it holds its lock)",
                fake(**dead, **{PIDNS_LABEL: "1"}).id: OTHER_PIDNS,
                fake(**dead, **{BOOT_LABEL: "another-boot"}).id: OTHER_MACHINE,
                fake(**dead, **{TIMENS_LABEL: "1"}).id: IN_DOUBT,  # start times of another clock: no proof
                fake(**dead, **{UID_LABEL: "4242"}).id: OTHER_USER,
                fake(legacy=True, **{PID_LABEL: "999999999", reaper.HOST_LABEL: me.host}).id: OLD_RUNNER}
        report = reaper.reap(label=f"{TEST_LABEL}={fake.tag}")  # type: ignore[attr-defined]
    finally:
        os.close(descriptor)
    assert {item.id: item.reason for item in report.left} == left
    assert {item.id for item in report.removed} <= {c.id for c in gone} and not report.failed
    remaining = {c.id for c in docker_client.containers.list(all=True, filters={"label": f"{TEST_LABEL}={fake.tag}"})}
    assert remaining == set(left)
    assert held.exists() and not free.exists()  # the lock of a runner proven dead is deleted

    # --all: the user's own, whatever their runner; --all --all-users: everything, older runners too.
    report = reaper.reap(include_live=True, label=f"{TEST_LABEL}={fake.tag}")  # type: ignore[attr-defined]
    assert {item.reason for item in report.left} == {OTHER_USER, OLD_RUNNER}
    report = reaper.reap(include_live=True, all_users=True, label=f"{TEST_LABEL}={fake.tag}")  # type: ignore
    assert not report.left and len(report.removed) == 2


def test_the_check_before_each_run_is_one_filtered_list_call() -> None:
    calls: list[tuple[str, str]] = []

    class Engine:
        def list_containers(self, label: str) -> list[dict[str, Any]]:
            calls.append(("list", label))
            return [{"Id": "a" * 64, "State": "running", "Labels": {RUN_LABEL: "r", **reaper.here().labels()}}]

        def __getattr__(self, name: str) -> Any:
            calls.append((name, ""))
            raise AssertionError(name)

    assert reaper.cleanup_leftovers(Engine()) == []  # type: ignore[arg-type]
    assert calls == [("list", f"{UID_LABEL}={os.getuid()}")]


def test_a_runner_holds_its_lock_for_its_life_and_labels_say_who_it_is() -> None:
    from seed_runner.engine import containers

    assert containers.cleanup_leftovers is reaper.cleanup_leftovers
    labels = reaper.runner_labels()
    me = reaper.here()
    assert {k: labels[k] for k in me.labels()} == me.labels()
    assert labels[PID_LABEL] == str(os.getpid()) and labels[UID_LABEL] == str(os.getuid())
    lock = Path(labels[LOCK_LABEL])
    assert lock.parent == reaper.runtime_dir() and lock.stat().st_mode & 0o077 == 0
    assert lock.read_text().strip() == me.stamp()
    assert reaper.runner_labels()[LOCK_LABEL] == str(lock)  # one lock for the process's life
    descriptor = os.open(lock, os.O_RDONLY)
    try:
        with pytest.raises(BlockingIOError):
            fcntl.flock(descriptor, fcntl.LOCK_SH | fcntl.LOCK_NB)
    finally:
        os.close(descriptor)
