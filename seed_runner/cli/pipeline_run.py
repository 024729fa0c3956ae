"""`seed pipeline run FILE`, `seed pipeline resume DIR|ID`, `seed pipelines [show ID]`: running pipelines.

A thin skin over ``seed_runner.pipelines.start`` (``run_pipeline`` / ``resume_pipeline``). Exit status: 0 every
step succeeded or was skipped, 1 a run failed, 2 refused (nothing started: every problem is listed), 4 a system
error, 130 interrupted (Ctrl-C, SIGTERM: every container stopped and removed; ``seed pipeline resume`` goes on).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from .batch import _executor
from .run_driving import counted, drive, fail, refuse, say_problems
from .run_options import Parallel, PipelineExecutor, PipelineJson, PipelineSharedDir, Quiet, Scheduler

pipelines_app = typer.Typer(name="pipelines", no_args_is_help=False, add_completion=False,
                            invoke_without_command=True, help="List pipeline runs (`seed pipelines show ID`).")


def _pipeline_app() -> tuple[typer.Typer, bool]:
    """`seed pipeline` (cli/pipeline_check.py's group), and whether it is new here (then registered here)."""
    try:
        from .pipeline_check import pipeline_app

        return pipeline_app, False
    except ImportError:
        return typer.Typer(name="pipeline", no_args_is_help=True, add_completion=False,
                           help="Run pipelines of Seed jobs."), True


class _Report:
    """One line per run on a pipe; a live view of every step (rich) on a terminal."""

    def __init__(self, quiet: bool) -> None:
        self.quiet = quiet
        self.live = not quiet and sys.stderr.isatty()
        self.bar: Any = None
        self.tasks: dict[str, Any] = {}

    def start(self, folder: Path, pipeline_id: str) -> None:
        if not self.quiet:
            typer.echo(f"seed: pipeline {pipeline_id} in {folder}", err=True)
        if self.live:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

            self.bar = Progress(TextColumn("{task.description:<16}"), BarColumn(), MofNCompleteColumn(),
                                TextColumn("{task.fields[state]}"), transient=False)
            self.bar.start()

    def event(self, event: Any) -> None:
        if self.quiet:
            return
        if self.bar is not None:
            self._live(event)
            return
        if event.kind == "started":
            return
        where = f"[{event.index}]" if event.kind == "ended" else ""
        what = f" {event.message}" if event.message else ""
        folder = f" ({event.run_dir})" if event.kind == "ended" else ""
        typer.echo(f"seed: {event.step}{where} {event.status}{what}{folder}", err=True)

    def _live(self, event: Any) -> None:
        """A bar a step: its runs ended of those started, and how many are in each state (the last run's status
        alone would say ``succeeded`` for a step whose other run failed)."""
        if event.step not in self.tasks:
            self.tasks[event.step] = [self.bar.add_task(event.step, total=0, state=""), 0, {}]
        task = self.tasks[event.step]
        counts: dict[str, int] = task[2]
        if event.kind == "started":
            task[1] += 1
            counts["running"] = counts.get("running", 0) + 1
            self.bar.update(task[0], total=task[1], state=_counted(counts))
        elif event.kind == "ended":
            counts["running"] = counts.get("running", 1) - 1
            counts[event.status] = counts.get(event.status, 0) + 1
            self.bar.update(task[0], advance=1, state=_counted(counts))
        else:
            self.bar.update(task[0], state=event.status)

    def stop(self) -> None:
        if self.bar is not None:
            self.bar.stop()
            self.bar = None


def _counted(counts: dict[str, int]) -> str:
    """``1 running, 2 succeeded, 1 failed``: the states of a step's runs, running first."""
    order = sorted(counts, key=lambda k: (k != "running", k != "succeeded", k))
    return ", ".join(f"{counts[k]} {k}" for k in order if counts[k] > 0)


def _finish(result: Any, report: _Report, as_json: bool) -> None:
    report.stop()
    if result.status == "refused":
        refuse(result, "pipeline")
    say_problems(result.problems)  # the check's warnings
    document = result.document or {}
    if as_json:
        typer.echo(json.dumps(document, indent=2))
    for name, step in (document.get("steps") or {}).items():
        if step["state"] == "failed" and step.get("reason"):  # the first cause; the rest were said as they came
            typer.echo(f"seed: {name} {step['state']}: {step['reason']}", err=True)
    typer.echo(f"seed: pipeline {result.pipeline_id} {result.status}: {counted(document.get('counts', {}))}; "
               f"{result.folder}", err=True)
    if result.status != "succeeded":
        typer.echo(f"seed: resume it with: seed pipeline resume {result.folder}", err=True)
    raise typer.Exit(result.exit_status)


def run_command(
    file: Annotated[Path, typer.Argument(help="The pipeline file (YAML or JSON), or a Scale recipe definition.",
                                         show_default=False)],
    inputs: Annotated[Optional[list[str]], typer.Option("--input", "-i", metavar="NAME=PATH|URL",
                                                        help="A file input of the pipeline.")] = None,
    json_inputs: Annotated[Optional[list[str]], typer.Option("--json-input", "-j", metavar="NAME=VALUE",
                                                             help="A JSON input of the pipeline.")] = None,
    settings: Annotated[Optional[list[str]], typer.Option(
        "--setting", "-e", metavar="[STEP.]NAME=VALUE",
        help="A setting a step leaves open (bare NAME: from the environment).")] = None,
    secret_files: Annotated[Optional[list[str]], typer.Option("--secret", metavar="[STEP.]NAME=FILE",
                                                              help="A setting read from FILE.")] = None,
    job_types: Annotated[Optional[list[str]], typer.Option(
        "--job-type", metavar="NAME:VERSION=IMAGE", help="A Scale recipe's job type, run as this image.")] = None,
    output: Annotated[Optional[Path], typer.Option(
        "--output", "-o", help="The pipeline folder (new or empty); default: a new folder under ./seed-runs.")
    ] = None,
    parallel: Parallel = None,
    keep_going: Annotated[bool, typer.Option("--keep-going", help="After a failure, finish the other branches.")
                          ] = False,
    no_cache: Annotated[bool, typer.Option("--no-cache", help="Run every step, taking nothing from the cache.")
                        ] = False,
    retries: Annotated[int, typer.Option(min=0, help="Retries of a run that failed for a system reason.")] = 0,
    max_items: Annotated[int, typer.Option(min=1, help="The most runs one forEach may make (a larger fan-out is "
                                                       "refused).")] = 10_000,
    executor: PipelineExecutor = "local",
    scheduler: Scheduler = None,
    shared_dir: PipelineSharedDir = None,
    as_json: PipelineJson = False,
    quiet: Quiet = False,
) -> None:
    """Run a pipeline: each run starts as soon as the runs it needs have ended; unchanged runs come from the cache.

    Exit status: 0 every step succeeded or was skipped, 1 a run failed, 2 refused (nothing ran), 4 a system
    error, 130 interrupted (resume with `seed pipeline resume DIR`).
    """
    from ..pipelines.start import run_pipeline
    from .request_options import pairs, request_parts

    parts = request_parts(inputs, json_inputs, None, None, None, None)
    given = _settings(settings, secret_files)
    mapping = {name: image or "" for name, image in pairs(job_types, "--job-type")}
    chosen = _executor(executor, scheduler, shared_dir if executor == "dask" else None, None, parallel,
                       None, None, None)
    if output is None and executor == "dask" and shared_dir is not None:  # every worker must see the run folders
        import os

        from ..pipelines.state import default_folder

        output = shared_dir / default_folder(file.stem, os.urandom(6).hex()).name
    report = _Report(quiet)
    result = drive(lambda: run_pipeline(
        file, inputs=dict(parts.file_inputs), json_inputs=dict(parts.json_inputs), settings=given,
        folder=output, executor=chosen, keep_going=keep_going, cache=not no_cache, retries=retries,
        job_types=mapping, on_start=report.start, on_event=report.event, max_items=max_items), chosen, report)
    _finish(result, report, as_json)


def _settings(settings: list[str] | None, secret_files: list[str] | None) -> dict[str, str]:
    """``[STEP.]NAME=VALUE`` pairs (a bare NAME: from the environment, by its last part)."""
    from .request_options import pairs, secret_from_file, setting_from_environment

    given: dict[str, str] = {}
    for name, value in pairs(settings, "--setting", allow_bare=True):
        given[name] = value if value is not None else setting_from_environment(name.rpartition(".")[2])
    for name, path in pairs(secret_files, "--secret"):
        given[name] = secret_from_file(name, path or "")
    return given


def resume_command(
    pipeline: Annotated[str, typer.Argument(help="The pipeline folder (with its pipeline.json), or its id.",
                                            show_default=False)],
    settings: Annotated[Optional[list[str]], typer.Option(
        "--setting", "-e", metavar="[STEP.]NAME=VALUE", help="A secret setting again (bare NAME: from the "
                                                             "environment).")] = None,
    secret_files: Annotated[Optional[list[str]], typer.Option(
        "--secret", metavar="[STEP.]NAME=FILE", help="A secret setting again, read from FILE.")] = None,
    parallel: Parallel = None,
    keep_going: Annotated[Optional[bool], typer.Option("--keep-going/--stop-at-failure",
                                                       help="Default: as the pipeline was run.")] = None,
    retries: Annotated[Optional[int], typer.Option(min=0, help="Default: the pipeline's.")] = None,
    max_items: Annotated[Optional[int], typer.Option(min=1, help="The most runs one forEach may make; default: "
                                                                 "the pipeline's.")] = None,
    executor: PipelineExecutor = "local",
    scheduler: Scheduler = None,
    shared_dir: PipelineSharedDir = None,
    as_json: PipelineJson = False,
    quiet: Quiet = False,
) -> None:
    """Go on with a pipeline stopped by Ctrl-C, SIGTERM, a crash or a lost worker: no run that succeeded is
    repeated.

    Secret settings were never written down: give them again with -e NAME or --secret NAME=FILE.
    """
    from ..pipelines.start import resume_pipeline

    given = _settings(settings, secret_files)
    chosen = _executor(executor, scheduler, shared_dir if executor == "dask" else None, None, parallel,
                       None, None, None)
    report = _Report(quiet)
    result = drive(lambda: resume_pipeline(
        pipeline, settings=given, executor=chosen, keep_going=keep_going, retries=retries,
        on_start=report.start, on_event=report.event, max_items=max_items), chosen, report)
    _finish(result, report, as_json)


@pipelines_app.callback()
def pipelines(
    ctx: typer.Context,
    limit: Annotated[Optional[int], typer.Option(help="At most this many pipeline runs.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the records as one JSON document.")] = False,
) -> None:
    """List the pipeline runs, newest first (`seed pipelines show ID` for one; `seed runs --pipeline ID` its
    runs)."""
    if ctx.invoked_subcommand is not None:
        return
    records = _records(None, limit)
    if as_json:
        typer.echo(json.dumps({"pipelines": records}, indent=2))
        return
    if not records:
        typer.echo("no pipeline runs recorded yet")
        return
    for r in records:
        counts = counted(r.get("counts") or {})
        typer.echo(f"{r['id']}  {r['created'] or '':<24}  {r['status']:<11}  {r['name']}  ({counts})  {r['folder']}")


@pipelines_app.command("show")
def show(pipeline_id: Annotated[str, typer.Argument(help="A pipeline id (or a unique prefix), or its folder.")]
         ) -> None:
    """Print a pipeline run's pipeline.json (its steps, their runs and states)."""
    from ..errors import SeedRunnerError
    from ..pipelines import state as st
    from ..pipelines.start import find_pipeline

    try:
        folder = find_pipeline(pipeline_id)
        document = st.load(folder).to_dict()
    except st.PipelineFolderError as exc:
        fail(SeedRunnerError(str(exc)))
    except SeedRunnerError as exc:
        fail(exc)
    document.pop("definition", None)
    typer.echo(json.dumps(document, indent=2))


def _records(prefix: str | None, limit: int | None) -> list[dict[str, Any]]:
    from ..store import default_path
    from ..store.runstore import RunStore, StoreError

    if not default_path().exists():
        return []
    try:
        with RunStore.open(create=False) as store:
            return store.pipelines(prefix, limit)
    except StoreError as exc:
        fail(exc)
        return []


def register(app: typer.Typer) -> None:
    from .render import help_text

    group, _ = _pipeline_app()
    group.command("run", help=help_text(run_command))(run_command)
    group.command("resume", help=help_text(resume_command))(resume_command)
    for info in pipelines_app.registered_commands:
        info.help = info.help or help_text(info.callback)
    if not any(info.typer_instance is group for info in app.registered_groups):  # whoever comes first adds it
        app.add_typer(group, name="pipeline")
    app.add_typer(pipelines_app, name="pipelines")
