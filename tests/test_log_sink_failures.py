"""A log sink that fails or stalls never stops a run: an echo (terminal, pipe, caller's stream) is dropped, a
log file that fails is reported and the output read on, and the runner never waits unbounded for either."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

import seed_runner
from seed_runner.engine import logs
from seed_runner.runtime.logstream import LogSink
from seed_runner.runtime.plan import RunRequest

from .conftest import check_result

SEED = str(Path(sys.executable).with_name("seed"))
LINES = 700_000  # `seq 1 700000`: 4.8 MB
BIG = b"".join(b"%d\n" % i for i in range(1, LINES + 1)) + b"done\n"
SMALL = b"".join(b"line %d\n" % i for i in range(1, 2001)) + b"done\n"  # 20 KB


def manifest(script: str, timeout: int = 120) -> dict[str, Any]:
    return {"seedVersion": "1.0.0", "job": {
        "name": "log-sinks", "jobVersion": "1.0.0", "packageVersion": "1.0.0", "title": "t", "description": "d",
        "maintainer": {"name": "n", "email": "e"}, "timeout": timeout,
        "interface": {"command": f"sh -c '{script}'"}}}


BIG_SCRIPT = f"seq 1 {LINES}; echo done"
SMALL_SCRIPT = "i=1; while [ $i -le 2000 ]; do echo line $i; i=$((i+1)); done; echo done"


def run(image: str, tmp_path: Path, script: str, **kwargs: Any) -> Any:
    result = seed_runner.run(RunRequest(image=image, run_dir=tmp_path / "run"),
                             manifest=seed_runner.load_manifest(manifest(script)), **kwargs)
    check_result(result.document)
    return result


def stdout_log(result: Any) -> bytes:
    return (Path(result.run_dir) / "logs" / "stdout.log").read_bytes()


def containers_of(docker_client: Any, run_id: str) -> list[Any]:
    return docker_client.containers.list(all=True, filters={"name": f"seed-{run_id}-"})


# -- on the real engine --------------------------------------------------------------------------------------


@pytest.mark.engine
def test_a_closed_stdout_pipe_does_not_fail_the_run(busybox_image: str, tmp_path: Path) -> None:
    """`seed run IMG | head -c 100`: the job prints 5 MB, the reader goes away after 100 bytes."""
    (tmp_path / "seed.manifest.json").write_text(json.dumps(manifest(BIG_SCRIPT)))
    started = time.monotonic()
    proc = subprocess.Popen([SEED, "run", busybox_image, "--manifest", str(tmp_path / "seed.manifest.json"),
                             "-o", str(tmp_path / "run")], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None
    head = proc.stdout.read(100)
    proc.stdout.close()
    _, err = proc.communicate(timeout=120)
    assert time.monotonic() - started < 60, "the run stalled"
    assert head == BIG[:100]
    document = json.loads((tmp_path / "run" / "result.json").read_text())
    assert document["status"] == "succeeded", (document, err)
    assert (tmp_path / "run" / "logs" / "stdout.log").read_bytes() == BIG
    assert b"Traceback" not in err


@pytest.mark.engine
def test_an_echo_stream_closed_after_its_first_write_drops_out(busybox_image: str, tmp_path: Path) -> None:
    class ClosesAfterOneWrite(io.BytesIO):
        def write(self, data: Any) -> int:
            taken = super().write(data)
            self.first = self.getvalue()
            self.close()
            return taken

    echo = ClosesAfterOneWrite()
    result = run(busybox_image, tmp_path, BIG_SCRIPT, echo_stdout=echo)
    assert result.outcome.status == "succeeded", result.document
    assert stdout_log(result) == BIG
    assert BIG.startswith(echo.first) and echo.first
    assert result.document["warnings"] == []


@pytest.mark.engine
def test_an_echo_whose_write_blocks_does_not_hold_the_run(busybox_image: str, tmp_path: Path,
                                                          docker_client: Any) -> None:
    release = threading.Event()

    class Sleeper(io.RawIOBase):
        def writable(self) -> bool:
            return True

        def write(self, data: Any) -> int:
            release.wait(120)  # a pager nobody scrolls
            return len(data)

    started = time.monotonic()
    try:
        result = run(busybox_image, tmp_path, SMALL_SCRIPT, echo_stdout=Sleeper())
        took = time.monotonic() - started
    finally:
        release.set()
    assert result.outcome.status == "succeeded", result.document
    # The run ends the stall bound after the job (plus the engine's own steps), not when the write returns.
    assert took < result.document["timings"]["duration_seconds"] + logs.ECHO_STALL_SECONDS + 8, took
    assert stdout_log(result) == SMALL
    assert [w["code"] for w in result.document["warnings"]] == [logs.ECHO_STOPPED]
    assert containers_of(docker_client, result.document["run_id"]) == []


@pytest.mark.engine
def test_a_pipe_nobody_reads_does_not_stall_the_job(busybox_image: str, tmp_path: Path, docker_client: Any) -> None:
    """More output than the pipe and the echo's buffer hold: the pump waits a few seconds, then gives up."""
    script = "seq 1 2000000; echo done"  # 15 MB, beyond ECHO_BUFFER_BYTES
    expected = b"".join(b"%d\n" % i for i in range(1, 2_000_001)) + b"done\n"
    read_end, write_end = os.pipe()
    echo = open(write_end, "wb")
    started = time.monotonic()
    try:
        result = run(busybox_image, tmp_path, script, echo_stdout=echo)
        took = time.monotonic() - started
    finally:
        os.close(read_end)  # the abandoned echo thread gets EPIPE and ends
    assert result.outcome.status == "succeeded", result.document
    assert took < 2 * logs.ECHO_STALL_SECONDS + 25, took
    assert stdout_log(result) == expected
    assert [w["code"] for w in result.document["warnings"]] == [logs.ECHO_STOPPED]
    assert containers_of(docker_client, result.document["run_id"]) == []


@pytest.mark.engine
def test_a_full_disk_is_a_warning_and_the_job_is_never_blocked(busybox_image: str, tmp_path: Path) -> None:
    """stdout.log on a device that is always full (/dev/full): the run succeeds, the warning names the file."""

    def full_disk(plan: Any) -> None:
        (Path(plan.run_dir) / "logs").mkdir(parents=True, exist_ok=True)
        (Path(plan.run_dir) / "logs" / "stdout.log").symlink_to("/dev/full")

    echo = io.BytesIO()
    result = run(busybox_image, tmp_path, BIG_SCRIPT + "; echo to-stderr >&2", on_plan=full_disk, echo_stdout=echo)
    assert result.outcome.status == "succeeded", result.document
    warnings = result.document["warnings"]
    assert [w["code"] for w in warnings] == [logs.LOG_WRITE_FAILED], warnings
    assert "stdout.log" in warnings[0]["message"] and "No space left on device" in warnings[0]["message"]
    assert echo.getvalue() == BIG  # the echo goes on without the file
    assert (Path(result.run_dir) / "logs" / "stderr.log").read_bytes() == b"to-stderr\n"


# -- the sinks and the echo alone -------------------------------------------------------------------------------


def test_a_sink_never_raises_and_gives_up_a_failing_file() -> None:
    class Full(io.BytesIO):
        def write(self, data: Any) -> int:
            if self.tell() >= 5:
                raise OSError(28, "No space left on device")
            return super().write(data)

    class Broken(io.BytesIO):
        def write(self, data: Any) -> int:
            raise BrokenPipeError(32, "Broken pipe")

    file, echo = Full(), Broken()
    sink = LogSink(file, ["pa55word"], echo)
    for chunk in (b"abcde", b"pa55", b"word!", b"more"):
        sink.write(chunk)
    sink.close()
    assert sink.failure == "No space left on device" and sink.bytes_written == 5 and file.closed
    assert sink.echo is None and sink.echo_failure == "Broken pipe"


def test_an_echo_keeps_order_and_survives_a_failing_stream() -> None:
    out = io.BytesIO()
    echo = logs.Echo(out, "stdout")
    pieces = [os.urandom(n) for n in (1, 70_000, 3, 200_000)]
    for piece in pieces:
        echo.write(piece)
    echo.close(5, 10)
    assert out.getvalue() == b"".join(pieces) and echo.failure is None

    closed = io.BytesIO()
    closed.close()
    echo = logs.Echo(closed, "stderr")
    echo.write(b"x")
    echo.close(idle=1, total=2)
    assert echo.failure and not echo.stalled


def test_finish_does_not_wait_for_a_stalled_echo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No lock is held across echo I/O: a write that never returns costs ``finish`` the stall bound, no more."""
    monkeypatch.setattr(logs, "ECHO_STALL_SECONDS", 0.5)
    release = threading.Event()

    class Stuck(io.RawIOBase):
        def writable(self) -> bool:
            return True

        def write(self, data: Any) -> int:
            release.wait(30)
            return len(data)

    class Stream:
        def __iter__(self) -> Any:
            yield from ((1, b"a" * 50_000) for _ in range(10))

        def close(self) -> None:
            pass

    out = open(tmp_path / "out", "wb")
    pump = logs.LogPump((LogSink(out, [], Stuck()), LogSink(io.BytesIO(), [])))
    try:
        pump.start(Stream())  # type: ignore[arg-type]
        started = time.monotonic()
        pump._thread.join(5)  # type: ignore[union-attr]
        assert not pump._thread.is_alive()  # type: ignore[union-attr]  # the pump read it all
        pump.finish()
        monkeypatch.undo()
        assert time.monotonic() - started < 5
    finally:
        release.set()
    out.close()
    assert (tmp_path / "out").read_bytes() == b"a" * 500_000
    assert [w.code for w in pump.warnings] == [logs.ECHO_STOPPED]
