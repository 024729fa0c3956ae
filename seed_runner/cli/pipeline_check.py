"""`seed pipeline check|convert|graph`: a pipeline file (or a Scale recipe) checked, converted, drawn.

A thin skin over ``seed_runner.pipelines`` (``check_pipeline`` is the twin of ``check``). Exit status: 0 no
error, 1 the file has errors (or warnings, with --strict), 2 a bad option, 4 the engine did not answer (some
manifests could not be read: the verdict is incomplete). ``run`` and ``resume`` join this group from
cli/pipeline_run.py.
"""

from __future__ import annotations

import json
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Optional

import typer

from .reports import ReportFormat

if TYPE_CHECKING:  # pragma: no cover
    from ..pipelines.checking import PipelineCheck

EXIT_OK, EXIT_INVALID, EXIT_USAGE, EXIT_SYSTEM = 0, 1, 2, 4

pipeline_app = typer.Typer(name="pipeline", no_args_is_help=True, add_completion=False,
                           help="Pipelines of Seed jobs: check, convert (Scale recipes), graph, run, resume.")

_JOB_TYPE_HELP = ("A Scale recipe's job type mapped to an image: NAME:VERSION=IMAGE, or NAME:VERSION=manifest:PATH "
                  "(a manifest file, to check while developing); repeat for each job type.")
JobTypes = Annotated[Optional[list[str]], typer.Option("--job-type", "-t", metavar="NAME:VERSION=IMAGE",
                                                       help=_JOB_TYPE_HELP)]


class GraphFormat(str, Enum):
    mermaid = "mermaid"
    dot = "dot"
    svg = "svg"


def _job_types(items: list[str] | None) -> dict[str, str]:
    from ..pipelines.scale import parse_job_types

    try:
        return parse_job_types(items or ())
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--job-type") from None


@pipeline_app.command("check")
def check_command(
    file: Annotated[Path, typer.Argument(help="A pipeline file (YAML or JSON) or a Scale recipe definition.",
                                         show_default=False)],
    job_types: JobTypes = None,
    strict: Annotated[bool, typer.Option("--strict", "-w", help="Warnings count as errors.")] = False,
    fmt: Annotated[ReportFormat, typer.Option("--format", "-f", help="text, json, sarif (code scanning) or "
                                              "github (workflow annotations).")] = ReportFormat.text,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Text format: print nothing, only exit.")] = False,
) -> None:
    """Check a pipeline before anything runs: every step's manifest is read (from its image's label, no container;
    or its manifest file), and every problem is listed at once, each as FILE:LINE:COLUMN.

    Exit 0 no error, 1 errors (or warnings with --strict), 2 a bad option, 4 the engine did not answer."""
    from ..pipelines.checking import check_pipeline

    result = check_pipeline(file, job_types=_job_types(job_types))
    print_check(result, fmt, strict=strict, quiet=quiet)
    raise typer.Exit(check_status(result, strict=strict))


def check_status(result: "PipelineCheck", *, strict: bool) -> int:
    if result.engine_unavailable:
        return EXIT_SYSTEM
    return EXIT_OK if result.is_valid(strict=strict) else EXIT_INVALID


def print_check(result: "PipelineCheck", fmt: ReportFormat, *, strict: bool = False, quiet: bool = False) -> None:
    from ..validation import ValidationResult

    report = ValidationResult(result.file, result.kind, tuple(result.problems), file=result.file)
    if fmt is ReportFormat.json:
        typer.echo(json.dumps(check_document(result, strict=strict), indent=2))
    elif fmt is ReportFormat.sarif:
        typer.echo(json.dumps(_sarif(report), indent=2))
    elif fmt is ReportFormat.github:
        from ..validation.reports import github_commands

        typer.echo("\n".join([*github_commands([report]), summary(result)]))
    elif not quiet:
        for line in text_lines(result):
            typer.echo(line)


def text_lines(result: "PipelineCheck") -> list[str]:
    """``FILE:LINE:COLUMN: severity code path: message`` a problem, then a summary line."""
    from .render import problem_line

    lines = []
    for problem in result.problems:
        where = result.file + (f":{problem.line}:{problem.column}" if problem.line is not None else "")
        lines.append(problem_line(problem, source=where, markup=False))
    lines.append(summary(result))
    return lines


def summary(result: "PipelineCheck") -> str:
    errors = sum(p.is_error for p in result.problems)
    warnings = len(result.problems) - errors
    steps = len(result.pipeline.steps) if result.pipeline is not None else 0
    verdict = "ok" if not errors else "invalid"
    counts = ", ".join([_count(steps, "step"), _count(errors, "error"), _count(warnings, "warning")])
    return f"{result.file}: {verdict}: {counts}"


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


def check_document(result: "PipelineCheck", *, strict: bool = False) -> dict[str, Any]:
    """The shape of ``seed pipeline check --format json`` (version 1)."""
    return {"version": 1, "file": result.file, "kind": result.kind, "valid": result.is_valid(strict=strict),
            "steps": list(result.pipeline.steps) if result.pipeline is not None else [],
            "problems": [p.to_dict() for p in result.problems]}


def _sarif(report: Any) -> dict[str, Any]:
    """The SARIF log of ``seed validate``, with each rule described from the pipeline's codes."""
    from ..pipelines.codes import describe
    from ..validation.reports import sarif_log

    log = sarif_log([report])
    for rule in log["runs"][0]["tool"]["driver"]["rules"]:
        entry = describe(rule["id"])
        rule["shortDescription"] = {"text": entry.description}
        rule["defaultConfiguration"] = {"level": entry.severity}
    return log


@pipeline_app.command("convert")
def convert_command(
    recipe: Annotated[Path, typer.Argument(help="A Scale recipe definition (version 6 or 7, JSON).",
                                           show_default=False)],
    job_types: JobTypes = None,
    output: Annotated[Optional[Path], typer.Option("--output", "-o", help="Write the pipeline here (default: "
                                                   "standard output).")] = None,
) -> None:
    """Write a Scale recipe definition as a pipeline file (YAML), each job type mapped to an image.

    Exit 1 when the recipe cannot be converted (a sub-recipe, a job type with no mapping: every problem listed)."""
    from ..pipelines.loading import read_pipeline
    from ..pipelines.writing import dump_yaml
    from .render import problem_line

    loaded = read_pipeline(recipe, job_types=_job_types(job_types))
    problems = list(loaded.problems)
    if loaded.kind != "scale" and loaded.pipeline is not None:
        raise typer.BadParameter(f"{recipe} is already a pipeline file, not a Scale recipe", param_hint="RECIPE")
    if loaded.pipeline is not None:
        for step in loaded.pipeline.steps.values():
            if step.image is None and step.manifest is None:
                place = step.position
                from ..problems import error

                missing = error("unmapped-job-type", f"$.nodes.{step.name}", f"node {step.name!r}: the job type "
                                f"{step.job_type} has no image; add --job-type {step.job_type}=IMAGE")
                problems.append(missing.at(place.line, place.column) if place else missing)
    errors = [p for p in problems if p.is_error]
    for problem in problems:
        where = f"{recipe}:{problem.line}:{problem.column}" if problem.line else str(recipe)
        typer.echo(problem_line(problem, source=where, markup=False), err=True)
    if errors or loaded.pipeline is None:
        typer.echo(f"seed: {recipe}: not converted: {len(errors)} errors", err=True)
        raise typer.Exit(EXIT_INVALID)
    try:
        text = dump_yaml(loaded.pipeline, relative_to=(output.parent if output else Path.cwd()))
    except ValueError as exc:
        typer.echo(f"seed: {recipe}: not converted: {exc}", err=True)
        raise typer.Exit(EXIT_INVALID) from None
    header = f"# Converted from the Scale recipe {recipe.name} by `seed pipeline convert`.\n"
    _write(output, header + text)


@pipeline_app.command("graph")
def graph_command(
    file: Annotated[Path, typer.Argument(help="A pipeline file or a Scale recipe definition.", show_default=False)],
    state: Annotated[Optional[Path], typer.Option("--state", "-s", help="A pipeline run's folder (its pipeline.json)"
                                                  ", or a JSON file mapping each step to its state.")] = None,
    fmt: Annotated[GraphFormat, typer.Option("--format", "-f", help="mermaid, dot (Graphviz) or svg.")
                   ] = GraphFormat.mermaid,
    output: Annotated[Optional[Path], typer.Option("--output", "-o", help="Write here (default: standard output)."
                                                   )] = None,
    job_types: JobTypes = None,
) -> None:
    """Draw the pipeline's graph (Mermaid, Graphviz dot, or an SVG that needs no program), with each step's state
    after a run when --state names the run's folder."""
    from ..pipelines import graph
    from ..pipelines.loading import read_pipeline
    from .render import problem_line

    loaded = read_pipeline(file, job_types=_job_types(job_types))
    if loaded.pipeline is None:
        for problem in loaded.problems:
            where = f"{file}:{problem.line}:{problem.column}" if problem.line else str(file)
            typer.echo(problem_line(problem, source=where, markup=False), err=True)
        raise typer.Exit(EXIT_INVALID)
    states, notes = read_states(state) if state is not None else ({}, {})
    draw = {GraphFormat.mermaid: graph.mermaid, GraphFormat.dot: graph.dot, GraphFormat.svg: graph.svg}[fmt]
    _write(output, draw(loaded.pipeline, states, notes))


def read_states(path: Path) -> tuple[dict[str, str], dict[str, str]]:
    """Step -> state, and step -> a note on its runs (``5 runs, 1 failed``, for a step run more than once), from
    a run's folder (``pipeline.json``: ``{"steps": {STEP: {"state": ..., "runs": [{"status": ...}]}}}``) or a
    JSON file of that shape or of ``{STEP: STATE}``."""
    file = path / "pipeline.json" if path.is_dir() else path
    try:
        with open(file, "rb") as fh:
            document = json.loads(fh.read(64 * 1024 * 1024))
    except (OSError, ValueError) as exc:
        raise typer.BadParameter(f"cannot read the states in {file}: {exc}; give a pipeline run's folder or a JSON "
                                 "file of {STEP: STATE}", param_hint="--state") from None
    steps = document.get("steps", document) if isinstance(document, dict) else None
    if not isinstance(steps, dict):
        raise typer.BadParameter(f"{file} holds no steps: expected {{\"steps\": {{STEP: {{\"state\": ...}}}}}} or "
                                 "{STEP: STATE}", param_hint="--state")
    states, notes = {}, {}
    for name, value in steps.items():
        found = value.get("state") if isinstance(value, dict) else value
        if isinstance(found, str):
            states[str(name)] = found
        runs = value.get("runs") if isinstance(value, dict) else None
        if isinstance(runs, list) and len(runs) > 1:
            notes[str(name)] = _runs_note(runs)
    return states, notes


def _runs_note(runs: list[Any]) -> str:
    """``5 runs, 1 failed, 1 running``: the runs of a forEach step, and how many did not succeed."""
    from collections import Counter

    counts = Counter(str(r.get("status", "pending")) if isinstance(r, dict) else "pending" for r in runs)
    others = [f"{n} {status}" for status, n in sorted(counts.items()) if status != "succeeded"]
    return ", ".join([f"{len(runs)} runs", *others])


def _write(output: Path | None, text: str) -> None:
    if output is None:
        typer.echo(text, nl=False)
        return
    from ..runtime.atomic import write_text_atomically

    write_text_atomically(output, text)


def register(app: typer.Typer) -> None:
    from .render import help_text

    for info in pipeline_app.registered_commands:  # the source's line breaks are not the terminal's
        info.help = info.help or help_text(info.callback)
    if not any(group.typer_instance is pipeline_app for group in app.registered_groups):  # once, whoever is first
        app.add_typer(pipeline_app, name="pipeline")
