"""`seed` on a real terminal (a pty), for the tests of what it shows there (progress bars, live views) rather
than on a pipe."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

SEED = str(Path(sys.executable).with_name("seed"))


def on_a_terminal(args: list[str], cwd: Path, timeout: float = 120) -> tuple[int, str]:
    """Run ``seed ARGS`` with a pty as its terminal; its exit status and everything it wrote there."""
    import pty

    leader, follower = pty.openpty()
    proc = subprocess.Popen([SEED, *args], cwd=cwd, stdin=follower, stdout=follower, stderr=follower,
                            env={**os.environ, "COLUMNS": "120", "TERM": "xterm"})
    os.close(follower)
    seen = b""
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        seen += chunk
    os.close(leader)
    return proc.wait(timeout), seen.decode("utf-8", "replace")
