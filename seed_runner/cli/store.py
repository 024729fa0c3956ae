"""The run history commands: `seed runs` (list, show, rm, prune), `seed logs` and `seed rerun`.

Only typer and the standard library are imported at the top: `seed` imports this module on every start.

Exit status: 0 done; 1 a rerun's job failed (as `seed run`); 2 usage (no such run, an ambiguous id, a bad
duration, `runs rm` of a run still going without --force); 4 the run store is missing, locked or corrupt (one
line saying which), or a run --force could not stop.
"""

from __future__ import annotations

import json
import re
import sys
import time
from typing import Annotated, Any, NoReturn, Optional

import typer

EXIT_USAGE = 2
EXIT_SYSTEM = 4

runs_app = typer.Typer(name="runs", help="The run history: every `seed run`, newest first.",
                       invoke_without_command=True, add_completion=False)

_DURATION = re.compile(r"^(\d+(?:\.\d+)?)\s*(s|m|h|d|w)$")
_UNIT = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def _seconds(text: str, option: str) -> float:
    match = _DURATION.match(text.strip())
    if not match:
        raise typer.BadParameter(f"{text!r} is not an age like 30m, 12h, 7d or 2w", param_hint=option)
    return float(match.group(1)) * _UNIT[match.group(2)]


def _since(text: str) -> float:
    """``--since``: an age (7d: the last seven days) or a date (2026-11-25, 2026-11-25T08:00)."""
    if _DURATION.match(text.strip()):
        return time.time() - _seconds(text, "--since")
    from datetime import datetime

    try:
        return datetime.fromisoformat(text.strip()).timestamp()
    except ValueError:
        raise typer.BadParameter(f"{text!r} is neither an age (7d, 12h) nor a date (2026-11-25)",
                                 param_hint="--since") from None


def _fail(exc: Exception) -> NoReturn:
    typer.echo(f"seed: error: {exc}", err=True)
    raise typer.Exit(getattr(exc, "exit_status", EXIT_SYSTEM))


def _open(create: bool = False) -> Any:
    from ..store import RunStore, StoreError

    try:
        return RunStore.open(create=create)
    except StoreError as exc:
        _fail(exc)


def _get(store: Any, run_id: str) -> dict[str, Any]:
    from ..store import StoreError

    try:
        return store.get(run_id)
    except StoreError as exc:
        _fail(exc)


def _when(record: dict[str, Any]) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(record["recorded_at"]))


@runs_app.callback()
def runs(
    ctx: typer.Context,
    status: Annotated[Optional[str], typer.Option(help="Only runs of this status (succeeded, cached, failed, running, ...).")] = None,
    job: Annotated[Optional[str], typer.Option(help="Only runs of this job (its name, or its image).")] = None,
    since: Annotated[Optional[str], typer.Option(help="Only runs since an age (7d, 12h) or a date.")] = None,
    batch: Annotated[Optional[str], typer.Option(help="Only the runs of this batch (its id, or a prefix).")
                     ] = None,
    limit: Annotated[Optional[int], typer.Option(help="At most this many runs.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the records as one JSON document.")] = False,
    pipeline: Annotated[Optional[str], typer.Option(help="Only the runs of this pipeline (its id, or a prefix).")
                        ] = None,
) -> None:
    """List the recorded runs, newest first (`seed runs show|rm|prune` for one run or many)."""
    if ctx.invoked_subcommand is not None:
        return
    from ..store import StoreError
    from ..store.history import state

    from ..store import default_path

    cutoff = _since(since) if since else None
    if not default_path().exists():  # nothing recorded yet: not an error
        typer.echo(json.dumps({"store": str(default_path()), "runs": []}) if as_json
                   else f"no runs recorded yet ({default_path()})")
        return
    store = _open()
    if as_json:  # SQLite writes the records: 10,000 in tens of milliseconds (store/listing.py)
        from ..store.listing import write_json

        try:
            with store:
                write_json(store, sys.stdout.buffer, status=status, job=job, since=cutoff, limit=limit,
                           batch=batch, pipeline=pipeline)
        except StoreError as exc:
            _fail(exc)
        return
    try:
        with store:
            records = store.list(status=None if status in ("running", "runner gone") else status, job=job,
                                 since=cutoff, limit=None if status else limit, brief=True, batch=batch,
                                 pipeline=pipeline)
    except StoreError as exc:
        _fail(exc)
    for record in records:
        record["state"] = state(record)
    if status in ("running", "runner gone"):
        records = [r for r in records if r["state"] == status][:limit]
    if not records:
        typer.echo(f"no runs recorded{' that match' if status or job or since or batch or pipeline else ''} "
                   f"({store.path})")
        return
    sys.stdout.write(run_table(records))


def _name(record: dict[str, Any]) -> str:
    """The run's name, and where an executor ran it (``slurm:12_3``, the Slurm job and array task)."""
    where = f"({record['executor_job']})" if record.get("executor_job") else ""
    return " ".join(part for part in (record.get("label") or "", where) if part) or "-"


RUN_COLUMNS = ("RUN", "RECORDED", "STATE", "TIME", "JOB", "NAME", "BATCH", "FOLDER")


def run_table(records: list[dict[str, Any]]) -> str:
    """`seed runs` as aligned columns under a header row. Every cell is one line with its control characters
    escaped (``problems.one_line``): a run name or a job's name holding ESC or a newline can neither drive the
    terminal nor forge a row. The folder comes last, whole."""
    from ..problems import one_line

    rows = [RUN_COLUMNS]
    for r in records:
        job_text = f"{r['job_name'] or r['image'] or '?'} {r['job_version'] or ''}".strip()
        took = "-" if r["duration"] is None else f"{r['duration']:.1f}s"
        rows.append(tuple(one_line(str(cell)) for cell in (
            r["id"][:12], _when(r), r["state"], took, job_text, _name(r),
            (r.get("batch_id") or "-")[:12], r.get("run_dir") or "-")))
    widths = [max(len(row[i]) for row in rows) for i in range(len(RUN_COLUMNS) - 1)]
    right = RUN_COLUMNS.index("TIME")
    return "".join("  ".join(cell.rjust(width) if i == right else cell.ljust(width)
                             for i, (cell, width) in enumerate(zip(row, widths))) + f"  {row[-1]}\n" for row in rows)


@runs_app.command("show")
def show(run_id: Annotated[str, typer.Argument(help="A run id, or a unique prefix of one.")]) -> None:
    """Print a run's result document (its result.json); a run still going (or whose runner died): its record."""
    from ..store.history import container_state, result_document, state

    with _open() as store:
        record = _get(store, run_id)
    document = result_document(record)
    if document is None:
        record["state"] = state(record)
        document = {"run_id": record["id"], "status": record["state"], "record": record,
                    "container": container_state(record["id"]),
                    "message": "no result.json in the run folder" + (
                        ": its runner died before the run ended" if record["state"] == "runner gone" else "")}
    typer.echo(json.dumps(document, indent=2))


@runs_app.command("rm")
def remove(
    run_ids: Annotated[list[str], typer.Argument(help="Run ids, or unique prefixes.")],
    force: Annotated[bool, typer.Option("--force", help="Stop a run that is still going (its container), wait "
                                                        "for its end to be recorded, then remove it.")] = False,
) -> None:
    """Remove runs: their records and their run folders. A run still going is refused (exit 2), unless --force
    stops it first."""
    from ..store import StoreError
    from ..store.stopping import remove_runs

    with _open() as store:
        try:
            remove_runs(store, run_ids, force=force,
                        on_stopped=lambda record, ended: typer.echo(f"stopped {record['id'][:12]} (it ended {ended})"),
                        on_removed=lambda record: typer.echo(f"removed {record['id'][:12]}  {record['run_dir'] or ''}"))
        except (StoreError, OSError) as exc:
            _fail(exc)


@runs_app.command("prune")
def prune(
    older_than: Annotated[str, typer.Option("--older-than", help="Remove runs older than this (7d, 12h, 2w).")],
    keep_failed: Annotated[bool, typer.Option("--keep-failed", help="Keep every run that did not succeed.")
                           ] = False,
) -> None:
    """Remove old runs (records and folders); a run still going is never removed."""
    from ..store import StoreError

    seconds = _seconds(older_than, "--older-than")
    with _open() as store:
        try:
            removed = store.prune(seconds, keep_failed=keep_failed)
        except (StoreError, OSError) as exc:
            _fail(exc)
    typer.echo(f"removed {len(removed)} run{'' if len(removed) == 1 else 's'}")


def logs(
    run_id: Annotated[str, typer.Argument(help="A run id, or a unique prefix of one.")],
    stderr: Annotated[bool, typer.Option("--stderr", help="The job's stderr instead of its stdout.")] = False,
    follow: Annotated[bool, typer.Option("--follow", "-f", help="Keep printing while the run goes on.")] = False,
) -> None:
    """Print a run's output (masked as it was written); --follow a run still going."""
    from ..store import StoreError
    from ..store.history import copy_log

    store = _open()
    with store:
        record = _get(store, run_id)
        try:
            copy_log(record, sys.stdout.buffer, stderr=stderr, follow=follow,
                     refresh=lambda: store.get(record["id"]))
        except StoreError as exc:
            _fail(exc)


def rerun(
    run_id: Annotated[str, typer.Argument(help="A run id, or a unique prefix of one.")],
    settings: Annotated[Optional[list[str]], typer.Option(
        "--setting", "-e", metavar="NAME[=VALUE]", help="A secret setting (never stored); bare: from the "
                                                        "environment.")] = None,
    name: Annotated[Optional[str], typer.Option("--name", help="A name for the new run.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result document on stdout.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Do not echo the job's output.")] = False,
) -> None:
    """Run a recorded request again, as a new run; input files that changed since are reported."""
    import os

    from ..store import StoreError
    from ..store.history import rerun_options, rerun_request

    given: dict[str, str] = {}
    for item in settings or ():
        key, sep, value = item.partition("=")
        if not sep:
            if key not in os.environ:
                raise typer.BadParameter(f"{key} is not set in this environment", param_hint="--setting")
            value = os.environ[key]
        given[key] = value
    with _open() as store:
        record = _get(store, run_id)
    try:
        request, changed = rerun_request(record, settings=given, label=name)
        options = rerun_options(record)
    except StoreError as exc:
        typer.echo(f"seed: error: {exc}", err=True)
        raise typer.Exit(EXIT_USAGE) from None
    for line in changed:
        typer.echo(f"seed: input changed since run {record['id'][:12]}: {line}", err=True)
    repeated = [text for option, text in (("manifest", "--manifest (the manifest it was given, as recorded)"),
                                          ("strict", "--strict"), ("pull", "--pull")) if options[option]]
    if repeated:
        typer.echo(f"seed: rerun of {record['id'][:12]} as it was run: {', '.join(repeated)}", err=True)
    from ..runtime.runner import run as run_job
    from .render import print_run_summary

    result = run_job(request, echo_stdout=None if quiet else (sys.stderr.buffer if as_json else sys.stdout.buffer),
                     echo_stderr=None if quiet else sys.stderr.buffer, **options)
    if as_json:
        typer.echo(json.dumps(result.document, indent=2))
    typer.echo(f"seed: rerun of {record['id'][:12]}: run {result.document['run_id']}", err=True)
    print_run_summary(result, quiet=quiet and not as_json)
    say_not_recorded(result, quiet=quiet and not as_json)
    raise typer.Exit(result.exit_status)


def cache_choice(given: bool | None) -> bool:
    """`--cache` / `--no-cache`, else SEED_CACHE (a value that is no yes or no: exit 2)."""
    if given is not None:
        return given
    import os

    if not os.environ.get("SEED_CACHE"):  # unset: off, without importing the result cache here (the run's store
        return False  # thread does, off the way to the container)
    from ..store.result_cache import default_enabled

    try:
        return default_enabled()
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--cache") from None


def say_cached(result: Any, *, quiet: bool) -> None:
    """A run taken from the result cache says so (its job's output is the origin's: `seed logs ID`)."""
    origin = result.document.get("cached_from")
    if origin and not quiet:
        typer.echo(f"seed: cached: the outputs of run {origin[:12]} (an identical run that succeeded), linked into "
                   f"{result.document['run_dir']}; no container started", err=True)


def say_not_recorded(result: Any, *, quiet: bool) -> None:
    """`seed run -q` of a success prints no summary: the run-not-recorded warning still gets its line."""
    if not quiet or result.document.get("error") is not None:
        return  # the summary printed it
    for warning in result.document.get("warnings") or ():
        if warning.get("code") == "run-not-recorded":
            typer.echo(f"seed: warning: {warning['message']}", err=True)


def register(app: typer.Typer) -> None:
    """Add `runs` (a group), `logs` and `rerun` to the `seed` app."""
    app.add_typer(runs_app, name="runs")
    app.command("logs")(logs)
    app.command("rerun")(rerun)
