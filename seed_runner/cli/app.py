"""The `seed` command: a thin skin over the library (every command has a Python twin).

Exit status (documented in docs/reference/exit-status.md):
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

from .. import __version__
from .reports import ReportFormat

EXIT_OK = 0
EXIT_INVALID = 1
EXIT_USAGE = 2
EXIT_SYSTEM = 4  # the engine, a registry or the machine failed: not the job's fault
EXIT_INTERRUPTED = 130

app = typer.Typer(
    name="seed",
    help="Validate and run Seed jobs: self-describing container jobs (https://ngageoint.github.io/seed/).",
    no_args_is_help=True,
    add_completion=True,  # seed --install-completion / --show-completion (bash, zsh, fish, PowerShell)
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
    fmt: Annotated[Optional[ReportFormat], typer.Option(
        "--format", "-f", help="text (default), json, sarif (code scanning) or github (workflow annotations).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="The same as --format json.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print no text; only the exit status tells.")] = False,
) -> None:
    """Check manifests against the Seed 1.0.0 schema and the rules a schema cannot express.

    Exit status: 0 when every source is valid, 1 when any is invalid, 2 for usage errors, 4 when an image could
    not be checked because the engine did not answer (the verdict is incomplete: a broken pipeline, not a
    broken job).
    """
    from .reports import exit_status, print_report, report_format
    from ..api import validate_all

    fmt = report_format(fmt, as_json)
    import gc

    # Every result is kept until the report is printed, and none holds a reference cycle: the collector's
    # frequent passes over them (a tenth of the time on 3,000 manifests) would find nothing. It still runs.
    # Put back after: a process running this command in-process (a test) keeps its own collector.
    thresholds = gc.get_threshold()
    gc.set_threshold(100_000, 20, 20)
    try:
        # The text format shows no line and column: placing findings would be most of the work on a manifest
        # with some.
        results = validate_all(sources, recursive=recursive, positions=fmt is not ReportFormat.text)
        print_report(results, fmt, strict=strict, quiet=quiet)
    finally:
        gc.set_threshold(*thresholds)
    raise typer.Exit(exit_status(results, strict=strict))


@app.command()
def schema(
    kind: Annotated[str, typer.Argument(help="manifest, metadata, result (seed run's result), test-case (seed test), "
                                              "pipeline (seed pipeline).")
                    ] = "manifest",
    path: Annotated[bool, typer.Option("--path", help="Print the schema file's path instead of its content.")] = False,
) -> None:
    """Print a bundled JSON Schema (for editors and other tools)."""
    from ..manifest.schemas import SCHEMA_FILES, schema_path

    if kind not in SCHEMA_FILES:
        raise typer.BadParameter(f"{kind!r} is not a schema; choose one of {', '.join(SCHEMA_FILES)}",
                                 param_hint="KIND")
    file = schema_path(kind)
    typer.echo(str(file) if path else file.read_text(encoding="utf-8").rstrip("\n"))


@app.command()
def run(
    image: Annotated[str, typer.Argument(help="The job's image (its manifest is read from the label).",
                                         show_default=False)],
    inputs: Annotated[Optional[list[str]], typer.Option(
        "--input", "-i", metavar="NAME=PATH",
        help="A file input (a path, or a URL: https://, file://, s3://...); repeat for a multiple input.")] = None,
    json_inputs: Annotated[Optional[list[str]], typer.Option(
        "--json-input", "-j", metavar="NAME=VALUE",
        help="A JSON input: JSON text, NAME=@file.json, or (string inputs) plain text.")] = None,
    settings: Annotated[Optional[list[str]], typer.Option(
        "--setting", "-e", metavar="NAME=VALUE",
        help="A setting; a bare NAME takes the value from this environment (keeps secrets out of history).")] = None,
    secret_files: Annotated[Optional[list[str]], typer.Option(
        "--secret", metavar="NAME=FILE", help="A setting whose value is the content of FILE.")] = None,
    mounts: Annotated[Optional[list[str]], typer.Option(
        "--mount", "-m", metavar="NAME=HOST_PATH", help="A host directory for a declared mount.")] = None,
    output: Annotated[Optional[Path], typer.Option(
        "--output", "-o", help="The run folder (must be new or empty); default: a new folder under ./seed-runs.")
    ] = None,
    resources: Annotated[Optional[list[str]], typer.Option(
        "--resource", metavar="NAME=VALUE", help="Override a resource allocation (also allows custom ones).")] = None,
    timeout: Annotated[Optional[float], typer.Option(help="Seconds (0: no limit); default: the manifest's.")] = None,
    grace: Annotated[float, typer.Option(help="Seconds between SIGTERM and SIGKILL on timeout.")] = 10.0,
    user: Annotated[str, typer.Option(help="invoker (your uid:gid), image (the image's user), or UID[:GID].")
                    ] = "invoker",
    network: Annotated[Optional[str], typer.Option(help="Docker network, e.g. none.")] = None,
    pull: Annotated[bool, typer.Option("--pull", help="Pull the image first (never done otherwise).")] = False,
    manifest_file: Annotated[Optional[Path], typer.Option(
        "--manifest", help="Use this manifest instead of the image label (while developing).")] = None,
    strict: Annotated[bool, typer.Option("--strict", help="An invalid metadata side-car fails the run.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result document on stdout.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Do not echo the job's output.")] = False,
    label: Annotated[Optional[str], typer.Option("--name", help="A name for this run in the run history.")] = None,
    max_download: Annotated[Optional[str], typer.Option(
        "--max-download", metavar="SIZE", help="Size limit of a URL input (e.g. 500M, 10G; SEED_MAX_DOWNLOAD).")
    ] = None,
    cache: Annotated[Optional[bool], typer.Option(
        "--cache/--no-cache", help="Reuse the outputs of an earlier identical success, starting no container "
                                   "(default: SEED_CACHE=1 or not).")] = None,
) -> None:
    """Run a Seed job on the local Docker engine, exactly as its manifest says.

    Exit status: 0 succeeded, 1 the job failed, 2 the run was refused (bad options or inputs),
    3 timed out, 4 system error (engine, image, container), 130 interrupted.
    """
    import signal

    from ..runtime.plan import RunRequest
    from ..runtime.runner import run as run_job

    from .cache import apply_max_download

    apply_max_download(max_download)
    from .request_options import request_parts

    parts = request_parts(inputs, json_inputs, settings, secret_files, mounts, resources)
    from .store import cache_choice, say_cached, say_not_recorded
    cache = cache_choice(cache)
    manifest = None
    if manifest_file is not None:
        from ..errors import SeedRunnerError
        from ..api import load_manifest

        try:
            manifest = load_manifest(manifest_file)
        except SeedRunnerError as exc:
            raise typer.BadParameter(str(exc), param_hint="--manifest") from None

    request = RunRequest(image=image, file_inputs=parts.file_inputs, json_inputs=parts.json_inputs,
                         settings=parts.settings, mounts=parts.mounts, resources=parts.resources,
                         run_dir=output or "", timeout=timeout, grace_period=grace, user=user, network=network,
                         label=label)
    echo_out = None if quiet else (sys.stderr.buffer if as_json else sys.stdout.buffer)
    echo_err = None if quiet else sys.stderr.buffer

    def announce(plan) -> None:
        if not quiet:
            typer.echo(f"seed: running {plan.manifest.job.name} {plan.manifest.job.job_version} in {plan.run_dir}",
                       err=True)

    def terminate(signum, frame) -> None:  # behave like Ctrl-C: stop and remove the container, write the result
        raise KeyboardInterrupt

    # SIGHUP: the terminal or SSH session went away; the job must not keep running unseen.
    stops = (signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT)
    previous = {signum: signal.signal(signum, terminate) for signum in stops}
    try:
        result = run_job(request, manifest=manifest, pull=pull, strict=strict, echo_stdout=echo_out,
                         echo_stderr=echo_err, on_plan=announce, cache=cache)
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    if as_json:
        typer.echo(json.dumps(result.document, indent=2))
    from .render import print_run_summary

    say_cached(result, quiet=quiet)
    print_run_summary(result, quiet=quiet and not as_json)
    say_not_recorded(result, quiet=quiet and not as_json)
    if result.write_error:
        typer.echo(f"seed: warning: {result.write_error}", err=True)
    raise typer.Exit(result.exit_status)


@app.command()
def harvest(
    source: Annotated[str, typer.Argument(help="The job's manifest file or directory, or its image.",
                                          show_default=False)],
    output_dir: Annotated[Path, typer.Argument(help="The folder the job wrote (its OUTPUT_DIR).",
                                               show_default=False)],
    strict: Annotated[bool, typer.Option("--strict", help="An invalid metadata side-car is a failure.")] = False,
    disk: Annotated[Optional[float], typer.Option(help="Warn when the folder is larger than this many MiB.")
                    ] = None,
    result_file: Annotated[Optional[Path], typer.Option("--result", help="Also write the result document here.")
                           ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result document on stdout.")] = False,
) -> None:
    """Capture a job's outputs from a folder produced elsewhere, by the rules of its manifest.

    Exit status: 0 every output captured, 1 a capture failure (a required output missing, several files
    for a single output, a bad seed.outputs.json, with --strict an invalid side-car; --result cannot be
    written), 2 usage errors, 4 an image SOURCE cannot be read (the engine does not answer, no such image).
    """
    from ..api import load_manifest
    from ..errors import EngineUnavailableError, ImageNotFoundError, SeedRunnerError
    from ..runtime.runner import harvest_folder
    from .render import print_run_summary

    try:
        manifest = load_manifest(source)
    except (EngineUnavailableError, ImageNotFoundError) as exc:  # the machine's problem: exit 4, as everywhere
        typer.echo(f"seed: error: {exc}", err=True)
        raise typer.Exit(EXIT_SYSTEM) from None
    except SeedRunnerError as exc:
        raise typer.BadParameter(str(exc), param_hint="SOURCE") from None
    try:
        result = harvest_folder(manifest, output_dir, strict=strict, disk_mib=disk, result_file=result_file)
    except SeedRunnerError as exc:
        raise typer.BadParameter(str(exc), param_hint="OUTPUT_DIR") from None
    except OSError as exc:  # --result could not be written
        typer.echo(f"seed: error: cannot write {exc.filename or result_file} ({exc.strerror})", err=True)
        raise typer.Exit(EXIT_INVALID) from None
    if as_json:
        typer.echo(json.dumps(result.document, indent=2))
    print_run_summary(result)
    raise typer.Exit(result.exit_status)


@app.command()
def cleanup(
    all_runs: Annotated[bool, typer.Option(
        "--all", help="Also remove your runs still in progress, and those whose runner cannot be judged.")] = False,
    all_users: Annotated[bool, typer.Option(
        "--all-users", help="Also other users' runs (with --all: every seed-runner container on the engine).")
    ] = False,
) -> None:
    """Remove containers left behind by seed-runner processes that were killed, and say what was left and why.

    A container is removed only when its runner is proven dead (its lock is free, or its pid is gone in
    this pid namespace); by default only your own runs. Exit status: 0, 1 when a removal failed, 4 when the
    engine does not answer or fails.
    """
    from ..engine.client import EngineError
    from ..engine.reaper import reap
    from ..errors import EngineUnavailableError

    try:
        report = reap(include_live=all_runs, all_users=all_users)
    except (EngineUnavailableError, EngineError) as exc:  # any engine failure is the system's: exit 4
        typer.echo(f"seed: error: {exc}", err=True)
        raise typer.Exit(4) from None

    def listing(verb: str, items: list, hints: bool = False) -> None:
        typer.echo(f"{verb} {len(items)} container{'s' * (len(items) != 1)}{':' if items else ''}")
        for item in items:
            why = item.reason + (f"; {item.hint}" if hints and item.hint else "")
            typer.echo(f"  {item.id[:12]}  run {item.run_id}  {item.state or '?'}  ({item.runner}): {why}")

    listing("removed", report.removed)
    if report.left:
        listing("left", report.left, hints=True)
    if report.failed:
        listing("could not remove", report.failed)
    raise typer.Exit(1 if report.failed else 0)


def _register_command_groups() -> None:
    """The authoring and registry commands live in their own modules to keep this one short."""
    from . import authoring, registry

    authoring.register(app)
    registry.register(app)
    from . import store
    store.register(app)  # seed runs, logs, rerun: the run history
    from . import cache

    cache.register(app)  # seed cache ls|prune: the download cache of URL inputs
    from . import batch
    batch.register(app)  # seed batch, seed batch resume
    from . import testing
    testing.register(app)  # seed test: a job's test cases
    from . import conformance
    conformance.register(app)  # seed conformance: the runners' suite
    from . import export
    export.register(app)  # seed export cwl|kubernetes: a job for other engines
    from . import pipeline_check
    pipeline_check.register(app)  # seed pipeline check|convert|graph (run and resume join it below)
    from . import pipeline_run
    pipeline_run.register(app)  # seed pipeline run|resume, seed pipelines [show]
    from . import serve
    serve.register(app)  # seed serve: OGC API - Processes
    from .render import help_text

    for info in app.registered_commands:  # the source's line breaks are not the terminal's
        info.help = info.help or help_text(info.callback)


_register_command_groups()


def _app_for(argv: list[str]) -> typer.Typer:
    """The app with only the command being invoked, when there is one.

    typer turns every registered command's signature into click parameters on each start (about 1 ms a
    command); a command line names one, so only that one is built. `seed --help` still gets them all.
    """
    name = next((arg for arg in argv if not arg.startswith("-")), None)
    chosen = [info for info in app.registered_commands
              if (info.name or info.callback.__name__.replace("_", "-")) == name]
    if not chosen:
        return app
    single = typer.Typer(**{k: getattr(app.info, k) for k in ("name", "help", "no_args_is_help")},
                         add_completion=False, pretty_exceptions_enable=False,
                         context_settings={"help_option_names": ["-h", "--help"]})
    single.registered_callback = app.registered_callback
    single.registered_commands = chosen
    return single


def main() -> None:
    """Console-script entry point: one clear line instead of a traceback for anything a user can cause."""
    from ..errors import SeedRunnerError

    try:
        _app_for(sys.argv[1:])(prog_name="seed")
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
