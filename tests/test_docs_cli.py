"""The command-line reference: every option of every command has help, and docs/reference/cli.md is what the
CLI itself generates (`make cli-docs`), so the two never drift."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any, Iterator

REPO = Path(__file__).resolve().parents[1]
CLI_MD = REPO / "docs/reference/cli.md"
SEED = str(Path(sys.executable).with_name("seed"))
TYPER = str(Path(sys.executable).with_name("typer"))


def _commands() -> Iterator[tuple[str, Any]]:
    """Every command and group of `seed`, with its path (`seed batch resume`)."""
    import typer

    from seed_runner.cli.app import app

    def walk(command: Any, path: str) -> Iterator[tuple[str, Any]]:
        yield path, command
        for name, sub in sorted(getattr(command, "commands", {}).items()):
            yield from walk(sub, f"{path} {name}")

    yield from walk(typer.main.get_command(app), "seed")


def test_every_command_and_every_option_has_help() -> None:
    missing = []
    for path, command in _commands():
        if not (command.help or command.short_help):
            missing.append(path)
        missing += [f"{path} {'/'.join(param.opts)}" for param in command.params
                    if not (getattr(param, "help", None) or "").strip()]
    assert not missing, f"no help text: {missing}"


def test_the_walk_reaches_the_subcommands() -> None:
    paths = {path for path, _ in _commands()}
    assert {"seed run", "seed batch run", "seed batch resume", "seed runs show", "seed cache prune"} <= paths


def test_seed_batch_help_shows_the_options_of_its_default_command() -> None:
    env = {**os.environ, "COLUMNS": "200", "TERM": "dumb", "NO_COLOR": "1"}
    proc = subprocess.run([SEED, "batch", "--help"], capture_output=True, text=True, env=env, timeout=60)
    assert proc.returncode == 0, proc.stderr
    for option in ("--table", "--each", "--parallel", "--retries", "resume"):
        assert option in proc.stdout, option


def _generated(tmp_path: Path) -> str:
    out = tmp_path / "cli.md"
    proc = subprocess.run([TYPER, "seed_runner.cli.app", "utils", "docs", "--name", "seed", "--title",
                           "Command-line reference", "--output", str(out)], cwd=REPO, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    return out.read_text()


def test_the_cli_reference_is_what_the_cli_generates(tmp_path: Path) -> None:
    assert CLI_MD.read_text() == _generated(tmp_path), (
        "docs/reference/cli.md is out of date with the CLI: regenerate it with `make cli-docs` and commit it")


def test_the_cli_reference_documents_every_command_and_has_no_markup_leaks() -> None:
    text = CLI_MD.read_text()
    for path, _ in _commands():
        if path != "seed":
            assert f"## `{path}`" in text, path
    assert "--install-completion" in text  # shell completion is documented with the options
    assert not re.search(r"\[/?(bold|red|green|yellow|dim|italic|cyan|magenta|blue)\b", text), "Rich markup leaked"
