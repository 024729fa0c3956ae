"""The `seed` command's help: paragraphs reflowed by the terminal, not broken where the source breaks them,
and shell completion switched on."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

SEED = str(Path(sys.executable).with_name("seed"))
COMMANDS = ("validate", "schema", "run", "harvest", "cleanup", "init", "build", "list", "inspect", "publish", "pull",
            "search", "test")


def _help(*args: str, columns: int = 400) -> str:
    env = {**os.environ, "COLUMNS": str(columns), "TERM": "dumb", "NO_COLOR": "1"}
    proc = subprocess.run([SEED, *args, "--help"], capture_output=True, text=True, env=env, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


@pytest.mark.parametrize("command", COMMANDS)
def test_every_paragraph_of_a_command_help_is_one_line_on_a_wide_terminal(command: str) -> None:
    from seed_runner.cli.app import app

    callback = next(info.callback for info in app.registered_commands
                    if (info.name or info.callback.__name__.replace("_", "-")) == command)
    text = _help(command)
    for paragraph in (callback.__doc__ or "").strip().split("\n\n"):
        words = " ".join(paragraph.split())
        if words:
            # The first 100 characters of the paragraph stand on one line of the help (rich may trim the rest).
            assert any(words[:100] in " ".join(line.split()) for line in text.splitlines()), (command, words[:80])


def test_the_publish_help_no_longer_breaks_mid_sentence() -> None:
    assert any("repeat them, or the bumped version may be a different image" in line
               for line in _help("publish").splitlines())


def test_shell_completion_is_offered() -> None:
    text = _help()
    assert "--install-completion" in text and "--show-completion" in text
