"""The `seed` command: a thin skin over the library (every command has a Python twin).

Exit status (documented in the README):
  0  success / every source valid
  1  a source is invalid (validate)
  2  usage error (bad options or arguments)
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from . import __version__

EXIT_OK = 0
EXIT_INVALID = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130

app = typer.Typer(
    name="seed",
    help="Validate and run Seed jobs: self-describing container jobs (https://ngageoint.github.io/seed/).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,  # tracebacks could show secrets; main() prints one line instead
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"seed-runner {__version__} (Seed 1.0.0)")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[Optional[bool], typer.Option("--version", callback=_version, is_eager=True,
                                                    help="Print the version and exit.")] = None,
) -> None:
    pass


@app.command()
def validate(
    sources: Annotated[list[str], typer.Argument(
        help="Manifest files, job directories (their seed.manifest.json) or local image references.",
        show_default=False)],
    recursive: Annotated[bool, typer.Option("--recursive", "-r",
                                            help="For directories: every seed.manifest.json below them.")] = False,
    strict: Annotated[bool, typer.Option("--strict", "-w", help="Warnings count as errors.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON document (a result per source).")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print nothing; only the exit status tells.")] = False,
) -> None:
    """Check manifests against the Seed 1.0.0 schema and the rules a schema cannot express.

    Exit status: 0 when every source is valid, 1 when any is invalid, 2 for usage errors.
    """
    from .report import print_validation, validation_document
    from .validation import validate_all

    results = validate_all(sources, recursive=recursive)
    if as_json:
        typer.echo(json.dumps(validation_document(results, strict=strict), indent=2, ensure_ascii=False))
    elif not quiet:
        print_validation(results, strict=strict)
    valid = all(r.is_valid(strict=strict) for r in results)
    raise typer.Exit(EXIT_OK if valid else EXIT_INVALID)


@app.command()
def schema(
    kind: Annotated[str, typer.Argument(help="manifest or metadata.")] = "manifest",
    path: Annotated[bool, typer.Option("--path", help="Print the schema file's path instead of its content.")] = False,
) -> None:
    """Print a bundled JSON Schema (for editors and other tools)."""
    from .schemas import SCHEMA_FILES, schema_path

    if kind not in SCHEMA_FILES:
        raise typer.BadParameter(f"{kind!r} is not a schema; choose one of {', '.join(SCHEMA_FILES)}",
                                 param_hint="KIND")
    file = schema_path(kind)
    typer.echo(str(file) if path else file.read_text(encoding="utf-8").rstrip("\n"))


def main() -> None:
    """Console-script entry point: one clear line instead of a traceback for anything a user can cause."""
    from .errors import SeedRunnerError

    try:
        app(prog_name="seed")
    except SeedRunnerError as exc:
        typer.echo(f"seed: error: {exc}", err=True)
        sys.exit(EXIT_INVALID)
    except KeyboardInterrupt:
        typer.echo("seed: interrupted", err=True)
        sys.exit(EXIT_INTERRUPTED)
    except Exception as exc:  # noqa: BLE001 - last resort; no locals, no traceback unless asked for
        if os.environ.get("SEED_DEBUG"):
            raise
        typer.echo(f"seed: internal error: {type(exc).__name__}: {exc} (set SEED_DEBUG=1 for a traceback and "
                   "report it)", err=True)
        sys.exit(70)
