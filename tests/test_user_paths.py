"""Files a user names (`seed test --junit`, `seed conformance --junit`, `seed export -o`): a FIFO or a device is
written into, a symbolic link keeps pointing at its target, a regular file is replaced whole."""

from __future__ import annotations

import os
import stat
import threading
from pathlib import Path

from seed_runner.testing.junit import JUnitCase, write_junit


def _case() -> list[JUnitCase]:
    return [JUnitCase("a case", "suite", "passed", 0.5)]


def test_a_junit_report_into_a_fifo_leaves_the_fifo(tmp_path: Path) -> None:
    fifo = tmp_path / "report.fifo"
    os.mkfifo(fifo)
    got: list[bytes] = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_bytes()))
    reader.start()
    write_junit(fifo, _case(), suite="s")
    reader.join(10)
    assert stat.S_ISFIFO(fifo.stat().st_mode)  # not replaced by a regular file
    assert got and got[0].startswith(b"<?xml") and b"a case" in got[0]


def test_a_junit_report_through_a_symlink_keeps_the_link(tmp_path: Path) -> None:
    target, link = tmp_path / "real.xml", tmp_path / "link.xml"
    target.write_text("old")
    link.symlink_to(target)
    write_junit(link, _case(), suite="s")
    assert link.is_symlink() and b"a case" in target.read_bytes()
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
