"""`seed validate --format text|json|sarif|github`: what the validate command prints, and its exit status.

The formats themselves are built elsewhere (the text and the JSON document in cli/render.py, SARIF and the
GitHub workflow commands in seed_runner.validation.reports, usable without the CLI); this module picks one.
"""

from __future__ import annotations

from enum import Enum
from typing import TYPE_CHECKING, Sequence

import typer

if TYPE_CHECKING:  # pragma: no cover
    from ..validation import ValidationResult

# The exit statuses of seed validate (app.py's table: 0 valid, 1 invalid, 4 the engine did not answer).
_EXIT_OK, _EXIT_INVALID, _EXIT_SYSTEM = 0, 1, 4


class ReportFormat(str, Enum):
    text = "text"
    json = "json"
    sarif = "sarif"
    github = "github"


def report_format(chosen: ReportFormat | None, as_json: bool) -> ReportFormat:
    """The format of ``--format``, or of ``--json`` (its older spelling); both at once must agree."""
    if as_json and chosen not in (None, ReportFormat.json):
        raise typer.BadParameter(f"--json asks for the json format and --format for {chosen.value}; give one",
                                 param_hint="--format")
    return ReportFormat.json if as_json else chosen or ReportFormat.text


def print_report(results: Sequence["ValidationResult"], fmt: ReportFormat, *, strict: bool, quiet: bool) -> None:
    """Print ``results`` in ``fmt``; ``quiet`` silences the text format only (a report asked for is printed)."""
    import json

    if fmt is ReportFormat.json:
        from .render import validation_document

        typer.echo(json.dumps(validation_document(results, strict=strict), indent=2))
    elif fmt is ReportFormat.sarif:
        from ..validation.reports import sarif_log

        typer.echo(json.dumps(sarif_log(results), indent=2))
    elif fmt is ReportFormat.github:
        from ..validation.reports import github_commands
        from .render import summary_text

        # The commands, then the summary as a plain log line (the runner shows it as it is).
        typer.echo("\n".join([*github_commands(results), summary_text(results, strict)]))
    elif not quiet:
        from .render import print_validation

        print_validation(results, strict=strict)


def exit_status(results: Sequence["ValidationResult"], *, strict: bool) -> int:
    """4 when an image could not be checked (the verdict is incomplete), else 1 when a source is invalid, else 0."""
    if any(f.code == "engine-unavailable" for r in results for f in r.findings):
        return _EXIT_SYSTEM
    return _EXIT_OK if all(r.is_valid(strict=strict) for r in results) else _EXIT_INVALID
