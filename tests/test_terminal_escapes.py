"""Text from a manifest (an image's title, description, error titles) never reaches the terminal raw: `seed list`,
`seed inspect` and `seed run`'s summary show control characters escaped, so a label can neither clear the
screen, set the window title, nor forge a row. (`seed logs` is left alone: it prints the job's own bytes.)

Each test here failed before its fix (issue 16, item 12)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Callable

import pytest
from hypothesis import given, settings, strategies as st

from seed_runner.manifest.label import encode_label
from seed_runner.problems import one_line

pytestmark = pytest.mark.engine
SEED = str(Path(sys.executable).with_name("seed"))
CLEAR, TITLE = "\x1b[2J", "\x1b]0;pwned\x07"


def seed(*args: str) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run([SEED, *args], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "COLUMNS": "250"})
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc


def _raw(text: str) -> list[str]:
    return [c for c in text if (ord(c) < 0x20 and c not in "\n") or 0x7f <= ord(c) <= 0x9f or c == "\u202e"]


@pytest.fixture
def hostile(build_image: Callable[..., str]) -> str:
    name = f"hostile-{os.urandom(3).hex()}"
    manifest = {"seedVersion": "1.0.0", "job": {
        "name": name, "jobVersion": "1.0.0", "packageVersion": "1.0.0",
        "title": f"Title{CLEAR}{TITLE}\u202eevil", "description": f"Line one{CLEAR}\r\nname\tforged row",
        "maintainer": {"name": f"M{TITLE}", "email": "m@example.com"}, "timeout": 30,
        "interface": {"command": "sh -c 'exit 3'"},
        "errors": [{"code": 3, "name": "bad-data", "title": f"Bad{CLEAR}", "description": f"why{TITLE}\nforged",
                    "category": "data"}]}}
    return build_image(f"{name}-1.0.0-seed:1.0.0", labels={"com.ngageoint.seed.manifest": encode_label(manifest)})


def test_seed_list_shows_a_title_escaped(hostile: str) -> None:
    proc = seed("list")
    assert proc.returncode == 0, proc.stderr
    row = next(line for line in proc.stdout.splitlines() if line.startswith("hostile-"))
    assert _raw(row) == [c for c in row if c == "\t"]  # the columns' tabs only
    assert "Title\\x1b[2J\\x1b]0;pwned\\x07\\u202eevil" in row


def test_seed_inspect_shows_every_manifest_text_escaped(hostile: str) -> None:
    proc = seed("inspect", hostile)
    assert proc.returncode == 0, proc.stderr
    assert _raw(proc.stdout) == [], proc.stdout
    assert "Title\\x1b[2J" in proc.stdout and "Line one\\x1b[2J\\r" in proc.stdout
    assert "name\\tforged row" in proc.stdout  # the tab of the description: escaped, no column forged
    assert "M\\x1b]0;pwned\\x07" in proc.stdout and "why\\x1b]0;pwned\\x07\\nforged" in proc.stdout


def test_seed_run_summary_shows_the_error_escaped(hostile: str, tmp_path: Path) -> None:
    proc = seed("run", hostile, "-o", str(tmp_path / "r"))
    assert proc.returncode == 1, proc.stderr
    assert _raw(proc.stderr) == [], proc.stderr
    assert "Bad\\x1b[2J" in proc.stderr and "why\\x1b]0;pwned\\x07\\nforged" in proc.stderr


@settings(max_examples=300)
@given(st.text())
def test_fuzz_one_line_leaves_no_control_or_reordering_character(text: str) -> None:
    shown = one_line(text)
    assert "\n" not in shown and _raw(shown) == []
    assert not any(c in shown for c in "\u2028\u2029\u202a\u202b\u202c\u202d\u2066\u2067\u2068\u2069")
