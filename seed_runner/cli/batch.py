"""`seed batch IMAGE --table runs.csv | --each INPUT=PATTERN` and `seed batch resume BATCH`: many runs of one job.

A thin skin over ``seed_runner.batches`` (``seed_runner.batch`` / ``resume_batch``). Exit status: 0 every run
succeeded, 1 some run failed (the job or its data), 2 refused (nothing ran: every problem is listed with its row),
4 some run ended in a system error (after its retries), 130 interrupted.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from typer.core import TyperGroup

from .run_driving import counted, drive, fail, refuse
from .run_options import BatchJson, Cpus, Gpus, Mem, OutputsTo, Parallel, Quiet, Scheduler
from .slurm_options import Account, Partition, Qos, SbatchOptions, SlurmPython


class _BatchGroup(TyperGroup):
    """`seed batch IMAGE ...` is `seed batch run IMAGE ...`: the group's default command."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ("-h", "--help"):
            args = ["run", *args]
        return super().parse_args(ctx, args)

    def format_help(self, ctx: Any, formatter: Any) -> None:
        """`seed batch --help` shows the options too: those of `seed batch run`, the default command."""
        super().format_help(ctx, formatter)
        run = self.commands["run"]
        run.format_help(run.make_context("run", [], parent=ctx, resilient_parsing=True), formatter)


batch_app = typer.Typer(name="batch", cls=_BatchGroup, no_args_is_help=True, add_completion=False,
                        help="Run one job many times: a run per row of a table, or per file matched "
                             "(`seed batch IMAGE ...` is `seed batch run IMAGE ...`).")

_EXECUTORS = ("local", "dask", "slurm")


def _executor(kind: str, scheduler: str | None, shared_dir: Path | None, outputs_to: str | None,
              parallel: int | None, cpus: float | None, mem: float | None, gpus: float | None,
              slurm: tuple[Any, ...] = (None, None, None, None, None)) -> Any:
    if kind not in _EXECUTORS:
        raise typer.BadParameter(f"{kind!r} is not an executor ({', '.join(_EXECUTORS)})", param_hint="--executor")
    from .slurm_options import given, slurm_executor

    if given(*slurm) and kind != "slurm":
        raise typer.BadParameter("--partition, --account, --qos, --sbatch-option and --slurm-python are for "
                                 "--executor slurm", param_hint="--executor")
    if kind == "slurm":
        if scheduler or outputs_to:
            raise typer.BadParameter("--scheduler and --outputs-to are for --executor dask", param_hint="--executor")
        return slurm_executor(shared_dir, *slurm)
    if kind == "local":
        if scheduler or shared_dir or outputs_to:
            raise typer.BadParameter("--scheduler, --shared-dir and --outputs-to are for --executor dask",
                                     param_hint="--executor")
        from ..executors.local import LocalExecutor

        try:
            return LocalExecutor(parallel=parallel, cpus=cpus, mem=mem, gpus=gpus)
        except ValueError as exc:  # a negative or NaN cap
            raise typer.BadParameter(str(exc), param_hint="--cpus, --mem, --gpus") from None
    if not scheduler:
        raise typer.BadParameter("--executor dask needs --scheduler tcp://HOST:8786", param_hint="--scheduler")
    try:
        from ..executors.dask import DaskExecutor
    except ImportError:
        raise typer.BadParameter("--executor dask needs Dask: pip install 'seed-runner[dask]'",
                                 param_hint="--executor") from None
    from ..errors import SeedRunnerError

    try:
        return DaskExecutor(scheduler, shared_dir=shared_dir, outputs_to=outputs_to)
    except SeedRunnerError as exc:  # the scheduler does not answer, no worker sees the shared folder, ...
        fail(exc)


class _Report:
    """A progress bar on a terminal (stderr); one plain line per finished run otherwise."""

    def __init__(self, quiet: bool) -> None:
        self.quiet = quiet
        self.live = not quiet and sys.stderr.isatty()
        self.bar: Any = None
        self.task: Any = None

    def start(self, folder: Path, batch_id: str) -> None:
        if not self.quiet:
            typer.echo(f"seed: batch {batch_id} in {folder}", err=True)
        if self.live:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

            self.bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                TextColumn("[red]{task.fields[failed]} failed[/] {task.fields[running]} running"),
                                TimeRemainingColumn(), transient=False)
            self.bar.start()
            self.task = self.bar.add_task("runs", total=None, failed=0, running=0)

    def finished(self, entry: Any) -> None:
        if self.live or self.quiet:
            return
        last = entry.last or {}
        error = f" {last['error']}" if last.get("error") not in (None, entry.status) else ""
        seconds = last.get("duration_seconds")
        took = f" in {seconds:g} s" if seconds is not None else ""
        typer.echo(f"seed: row {entry.row} {entry.status}{error}{took} ({last.get('run_dir') or 'no folder'})",
                   err=True)

    def progress(self, snapshot: Any) -> None:
        if self.bar is not None:
            self.bar.update(self.task, total=snapshot.total, completed=snapshot.done, failed=snapshot.failed,
                            running=snapshot.running)

    def stop(self) -> None:
        if self.bar is not None:
            self.bar.stop()


def _finish(result: Any, report: _Report, as_json: bool) -> None:
    report.stop()
    if result.status == "refused":
        refuse(result, "batch")
    document = result.document or {}
    if as_json:
        typer.echo(json.dumps(document, indent=2, default=list))  # its runs: a view made run by run
    counts = document.get("counts", {})
    typer.echo(f"seed: batch {result.batch_id} {result.status}: {counts.get('total', 0)} runs "
               f"({counted(counts, leave_out=('total',))}); {result.folder}/batch.json", err=True)
    if result.status == "interrupted" or not document.get("complete", True):
        typer.echo(f"seed: resume it with: seed batch resume {result.folder}", err=True)
    raise typer.Exit(result.exit_status)


@batch_app.command("run")
def run_command(
    image: Annotated[str, typer.Argument(help="The job's image.", show_default=False)],
    table: Annotated[Optional[Path], typer.Option(
        "--table", help="One run per row: runs.csv (header: input, JSON input and setting names) or runs.jsonl.")
    ] = None,
    each: Annotated[Optional[list[str]], typer.Option(
        "--each", metavar="INPUT=PATTERN", help="One run per file matched (a glob); several zip.")] = None,
    product: Annotated[bool, typer.Option("--product", help="Cross the --each patterns instead of zipping.")
                       ] = False,
    inputs: Annotated[Optional[list[str]], typer.Option("--input", "-i", metavar="NAME=PATH",
                                                        help="A file input every run shares.")] = None,
    json_inputs: Annotated[Optional[list[str]], typer.Option("--json-input", "-j", metavar="NAME=VALUE",
                                                             help="A JSON input every run shares.")] = None,
    settings: Annotated[Optional[list[str]], typer.Option(
        "--setting", "-e", metavar="NAME=VALUE", help="A setting every run shares (bare NAME: from the environment).")
    ] = None,
    secret_files: Annotated[Optional[list[str]], typer.Option("--secret", metavar="NAME=FILE",
                                                              help="A setting read from FILE.")] = None,
    mounts: Annotated[Optional[list[str]], typer.Option("--mount", "-m", metavar="NAME=HOST_PATH",
                                                        help="A host directory for a declared mount.")] = None,
    resources: Annotated[Optional[list[str]], typer.Option("--resource", metavar="NAME=VALUE",
                                                           help="Override a resource allocation.")] = None,
    timeout: Annotated[Optional[float], typer.Option(help="Seconds a run may take (0: no limit).")] = None,
    output: Annotated[Optional[Path], typer.Option(
        "--output", "-o", help="The batch folder (new or empty); default: a new folder under ./seed-runs.")] = None,
    batch_id: Annotated[Optional[str], typer.Option(
        "--batch-id", help="Name the batch; the id of the batch already in -o DIR resumes it.")] = None,
    parallel: Parallel = None,
    cpus: Cpus = None,
    mem: Mem = None,
    gpus: Gpus = None,
    retries: Annotated[Optional[int], typer.Option(
        min=0, help="Retries of a run that failed for a system reason (default 0; resuming: the batch's).")] = None,
    cache: Annotated[Optional[bool], typer.Option("--cache/--no-cache", help="Use the result cache (SEED_CACHE).")
                     ] = None,
    pull: Annotated[bool, typer.Option("--pull", help="Pull the image first.")] = False,
    strict: Annotated[bool, typer.Option("--strict", help="An invalid metadata side-car fails a run.")] = False,
    manifest_file: Annotated[Optional[Path], typer.Option("--manifest", help="Use this manifest, not the label.")
                             ] = None,
    executor: Annotated[str, typer.Option(help="local, dask (with --scheduler) or slurm.")] = "local",
    scheduler: Scheduler = None,
    shared_dir: Annotated[Optional[Path], typer.Option(help="Dask, Slurm: a folder every worker (node) sees.")
                          ] = None,
    outputs_to: OutputsTo = None,
    partition: Partition = None,
    account: Account = None,
    qos: Qos = None,
    sbatch_options: SbatchOptions = None,
    slurm_python: SlurmPython = None,
    as_json: BatchJson = False,
    quiet: Quiet = False,
) -> None:
    """Run IMAGE once per row of --table, or per file matched by --each; every row is checked first.

    Exit status: 0 every run succeeded, 1 some failed, 2 refused (nothing ran), 4 a system error, 130 interrupted.
    """
    from ..batches.start import run_batch
    from ..executors.base import RunOptions
    from ..runtime.plan import RunRequest
    from .request_options import pairs, request_parts
    from .store import cache_choice

    if (table is None) == (not each):
        raise typer.BadParameter("give --table FILE or --each INPUT=PATTERN (one of them)", param_hint="--table")
    parts = request_parts(inputs, json_inputs, settings, secret_files, mounts, resources)
    template = RunRequest(image=image, file_inputs=parts.file_inputs, json_inputs=parts.json_inputs,
                          settings=parts.settings, mounts=parts.mounts, resources=parts.resources, timeout=timeout)
    options = RunOptions(manifest=_manifest(manifest_file), pull=pull, strict=strict, cache=cache_choice(cache))
    chosen = _executor(executor, scheduler, shared_dir, outputs_to, parallel, cpus, mem, gpus,
                       (partition, account, qos, sbatch_options, slurm_python))
    report = _Report(quiet)
    result = drive(lambda: run_batch(
        image, table=table, each=[(n, p or "") for n, p in pairs(each, "--each")], product=product,
        template=template, options=options, folder=output, batch_id=batch_id, executor=chosen, retries=retries,
        on_start=report.start, on_finished=report.finished, on_progress=report.progress), chosen, report)
    _finish(result, report, as_json)


@batch_app.command("resume")
def resume_command(
    batch: Annotated[str, typer.Argument(help="The batch folder (with its batch.json), or the batch id.",
                                         show_default=False)],
    settings: Annotated[Optional[list[str]], typer.Option(
        "--setting", "-e", metavar="NAME=VALUE", help="A secret setting again (bare NAME: from the environment).")
    ] = None,
    secret_files: Annotated[Optional[list[str]], typer.Option(
        "--secret", metavar="NAME=FILE", help="A secret setting again, read from FILE.")] = None,
    inputs: Annotated[Optional[list[str]], typer.Option(
        "--input", "-i", metavar="NAME=URL", help="A URL input again, for every row whose URL lost credentials.")
    ] = None,
    parallel: Parallel = None,
    cpus: Cpus = None,
    mem: Mem = None,
    gpus: Gpus = None,
    retries: Annotated[Optional[int], typer.Option(
        min=0, help="Retries of a run that failed for a system reason (default: the batch's).")] = None,
    table: Annotated[Optional[Path], typer.Option(
        "--table", help="The batch's table again: each row's secret settings and URL credentials.")] = None,
    executor: Annotated[Optional[str], typer.Option(
        help="local, dask (with --scheduler) or slurm; default: the batch's own (batch.json keeps it).")] = None,
    scheduler: Scheduler = None,
    shared_dir: Annotated[Optional[Path], typer.Option(help="Dask, Slurm: a folder every worker or node sees.")
                          ] = None,
    outputs_to: OutputsTo = None,
    partition: Partition = None,
    account: Account = None,
    qos: Qos = None,
    sbatch_options: SbatchOptions = None,
    slurm_python: SlurmPython = None,
    as_json: BatchJson = False,
    quiet: Quiet = False,
) -> None:
    """Run again the runs of a batch that did not succeed (the others are kept), on the batch's own executor.

    Secret settings and URL credentials were never written down: give the table again (--table FILE: each row's
    own), or a setting for every row with -e NAME or --secret NAME=FILE, a URL with -i NAME=URL.
    """
    from ..batches.start import resume_batch
    from .request_options import request_parts

    parts = request_parts(inputs, None, settings, secret_files, None, None)
    if executor is None and scheduler is not None:
        executor = "dask"
    slurm = (partition, account, qos, sbatch_options, slurm_python)
    if executor is None and any(value for value in slurm):
        executor = "slurm"
    chosen = None if executor is None else _executor(executor, scheduler, shared_dir, outputs_to, parallel, cpus,
                                                     mem, gpus, slurm)
    report = _Report(quiet)
    result = drive(lambda: resume_batch(  # executor None: the batch's own, made and closed by resume
        batch, settings=parts.settings, executor=chosen, parallel=parallel, cpus=cpus, mem=mem, gpus=gpus,
        retries=retries, on_start=report.start, on_finished=report.finished, on_progress=report.progress,
        table=table, file_inputs={n: [str(v) for v in vs] for n, vs in parts.file_inputs.items()}), chosen, report)
    _finish(result, report, as_json)


def _manifest(path: Path | None) -> Any:
    if path is None:
        return None
    from ..api import load_manifest
    from ..errors import SeedRunnerError

    try:
        return load_manifest(path)
    except SeedRunnerError as exc:
        raise typer.BadParameter(str(exc), param_hint="--manifest") from None


def register(app: typer.Typer) -> None:
    app.add_typer(batch_app, name="batch")
