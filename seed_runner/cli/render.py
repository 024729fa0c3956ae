"""Human and machine renderings of validation results (the CLI only prints what these return)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Mapping, Sequence

from .. import __version__
from ..problems import one_line

if TYPE_CHECKING:  # imported for annotations only: `seed run` need not load the validator
    from ..problems import Problem
    from ..validation import ValidationResult


# The shape of `seed validate --json`; bump on an incompatible change.
VALIDATION_REPORT_VERSION = 1


_COLOURS = {"error": "red", "warning": "yellow"}


def help_text(command: Any) -> str:
    """A docstring as help text: the lines of a paragraph joined, so the terminal wraps them, not the source."""
    import inspect

    paragraphs = inspect.cleandoc(command.__doc__ or "").split("\n\n")
    return "\n\n".join(" ".join(line.strip() for line in p.splitlines()) for p in paragraphs)


def problem_line(problem: "Problem | Mapping[str, Any]", *, source: str | None = None, markup: bool = True) -> str:
    """Every problem the CLI shows (a validation finding, a refused request, a capture failure or warning, as a
    ``Problem`` or as its dict in a result document) as one line: ``[source: ]severity code path: message``.

    ``markup``: rich markup (colours, escaped text) for a terminal; else plain text. A source, path or message
    that holds a newline or another control character, or a file name's bytes that are not UTF-8, is shown
    with Python's escapes (``problems.one_line``): one problem is always one line.
    """
    data = problem.to_dict() if hasattr(problem, "to_dict") else problem
    severity = str(data.get("severity") or "error")
    parts = [severity, str(data["code"])] + ([one_line(str(data["path"]))] if data.get("path") else [])
    source = one_line(source) if source else None
    message = one_line(str(data["message"]))
    if not markup:
        return (f"{source}: " if source else "") + " ".join(parts) + f": {message}"
    from rich.markup import escape

    colour = _COLOURS.get(severity, "red")
    where = f" [cyan]{escape(parts[2])}[/]" if len(parts) > 2 else ""
    return ((f"{escape(source)}: " if source else "") + f"[{colour}]{severity}[/] [bold]{escape(parts[1])}[/]{where}: "
            f"{escape(message)}")


def validation_summary(results: Sequence["ValidationResult"], *, strict: bool = False) -> dict[str, int]:
    valid = sum(r.is_valid(strict=strict) for r in results)
    return {"sources": len(results), "valid": valid, "invalid": len(results) - valid,
            "errors": sum(len(r.errors) for r in results), "warnings": sum(len(r.warnings) for r in results)}


def validation_document(results: Sequence["ValidationResult"], *, strict: bool = False) -> dict[str, Any]:
    summary = validation_summary(results, strict=strict)
    return {"reportVersion": VALIDATION_REPORT_VERSION, "seedRunner": __version__, "strict": strict,
            "valid": summary["invalid"] == 0, "summary": summary,
            "results": [r.to_dict(strict=strict) for r in results]}


def print_validation(results: Sequence["ValidationResult"], *, strict: bool = False, console: Any = None,
                     plain: bool | None = None) -> None:
    """Every source and its findings, errors first, then one summary line.

    On a terminal: a mark and the source, then one coloured line per finding. Otherwise (``plain``; default:
    stdout is not a terminal) one plain line per finding, ``source: severity code path: message``, and
    ``source: valid`` for a source without one, never wrapped, so that grep and CI logs read it as it is (a name
    that would break the line is escaped: ``problem_line``).
    """
    import sys

    plain = not sys.stdout.isatty() if plain is None and console is None else bool(plain)
    if plain:
        lines = []
        for result in results:
            if not result.findings:
                # The document's own members: typing the whole manifest just to print three of them costs more
                # than validating it did.
                job = result.document.get("job") if isinstance(result.document, dict) else None
                lines.append(f"{one_line(result.source)}: valid" + (one_line(
                    f" {job['name']} {job['jobVersion']} (package {job['packageVersion']})") if job else ""))
            lines.extend(_plain_line(f, result.source) for f in result.findings)
        lines.append(summary_text(results, strict))
        sys.stdout.write("\n".join(lines) + "\n")
        return
    from rich.console import Console
    from rich.markup import escape

    console = console or Console(highlight=False, soft_wrap=True)
    for result in results:
        mark = "[green]✔[/]" if result.is_valid(strict=strict) else "[red]✘[/]"
        job = result.manifest.job if result.manifest else None
        about = f"  [dim]{shown(job.name)} {shown(job.job_version)} (package {shown(job.package_version)})[/]" \
            if job else ""
        console.print(f"{mark} [bold]{escape(one_line(result.source))}[/]{about}")
        for finding in result.findings:
            console.print(f"  {problem_line(finding)}")
    colour = "green" if all(r.is_valid(strict=strict) for r in results) else "red"
    console.print(f"[{colour}]{escape(summary_text(results, strict))}[/]")


def _plain_line(finding: "Problem", source: str) -> str:
    """``problem_line(finding, source=source, markup=False)``, built at once when no part needs an escape (the
    common case: one check of the whole line instead of one of each part)."""
    where = f" {finding.path}" if finding.path else ""
    line = f"{source}: {finding.severity.value} {finding.code}{where}: {finding.message}"
    if source and one_line(line) == line:
        return line
    return problem_line(finding, source=source, markup=False)


def summary_text(results: Sequence["ValidationResult"], strict: bool) -> str:
    s = validation_summary(results, strict=strict)
    plural = "" if s["sources"] == 1 else "s"
    return (f"{s['sources']} source{plural} checked: {s['valid']} valid, {s['invalid']} invalid "
            f"({s['errors']} error{'s' * (s['errors'] != 1)}, {s['warnings']} warning{'s' * (s['warnings'] != 1)})"
            + (" (--strict: warnings count as errors)" if strict else ""))


def print_run_summary(result: Any, *, quiet: bool = False) -> None:
    """A few lines on stderr: the status, the error's title and description, where things are."""
    doc = result.document
    error = doc.get("error")
    if quiet and error is None:
        return
    from rich.console import Console

    console = Console(stderr=True, highlight=False, soft_wrap=True)
    job = doc.get("job") or {}
    who = shown(f"{job.get('name') or (doc.get('image') or {}).get('reference', '?')} "
                f"{job.get('jobVersion', '')}".strip())
    timings = doc.get("timings") or {}
    duration = timings.get("duration_seconds")
    took = f" in {duration:.1f} s" if duration is not None else ""
    if error is None:
        console.print(f"[green]✔[/] {who} succeeded{took} (exit 0)")
    else:
        colour = "yellow" if doc["status"] == "timed-out" else "red"
        console.print(f"[{colour}]✘[/] {who} {doc['status']}{took}: [bold]{shown(error['title'])}[/] "
                      f"({shown(error['name'])}, category {shown(error['category'])})")
        if error.get("description"):
            console.print(f"  {shown(error['description'])}")
        if doc.get("message") and not doc.get("problems"):  # else the problems below say it, one per line
            console.print(f"  {shown(doc['message'])}")
    for problem in doc.get("problems") or ():
        console.print(f"  {problem_line(problem)}")
    if doc.get("outputs") and not quiet:
        console.print(_outputs_table(doc))
    for failure in doc.get("capture_failures") or ():
        if failure["message"] == doc.get("message"):
            continue  # already said above
        console.print(f"  {problem_line(failure)}")
    for warning in doc.get("warnings") or ():
        console.print(f"  {problem_line(warning)}")
    if doc.get("run_dir") and not quiet:
        console.print(f"  [dim]outputs: {shown(doc.get('outputs_dir') or '-')}  result: "
                      f"{shown(doc['run_dir'])}/result.json[/]")
    elif doc.get("outputs_dir") and not quiet:
        console.print(f"  [dim]outputs: {shown(doc['outputs_dir'])}[/]")


def _outputs_table(doc: dict[str, Any]) -> Any:
    """Output, files, size, geometry (from side-cars), and the JSON outputs, as one rich table."""
    from rich.table import Table

    table = Table(box=None, padding=(0, 2), show_edge=False, pad_edge=True)
    for column in ("output", "files", "size", "geometry"):
        table.add_column(column, justify="right" if column in ("files", "size") else "left")
    for name, output in doc["outputs"].items():
        files = output["files"]
        size = sum(f["size"] for f in files)
        geometry = sum(1 for f in files if f.get("metadata") and f["metadata"].get("geometry"))
        table.add_row(shown(name), str(len(files)), _human_size(size) if files else "-",
                      f"{geometry} of {len(files)}" if geometry else "no")
    for name, value in (doc.get("json_outputs") or {}).items():
        text = json.dumps(value)
        table.add_row(shown(name), "json", shown(text if len(text) <= 40 else text[:37] + "..."), "")
    return table


def shown(text: Any) -> str:
    """Text from a manifest, a run record or a job as rich markup that shows it as it is: markup escaped, control
    characters (ESC, a newline, ...) as Python escapes (``problems.one_line``): it can neither drive the
    terminal nor forge a line."""
    from rich.markup import escape

    return escape(one_line(str(text)))


def _human_size(size: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size} B"
