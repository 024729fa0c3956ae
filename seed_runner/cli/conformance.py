"""`seed conformance`: the conformance suite of Seed runners, against an executor (the twin:
``seed_runner.conformance.run_suite``).

Only typer and the standard library are imported at the top: `seed` imports this module on every start.

Exit status: 0 every selected test passed; 1 a test failed, also every test of a run the executor failed to
start or finish (or --junit cannot be written); 2 usage (-k selects nothing, a bad --executor-option, an
--executor-class that cannot be imported or is not a class or not an executor, the dask extra missing); 4 the
machine: the probes cannot be built (no engine, no base image, a build failing) or the executor cannot be made
(a scheduler that does not answer); 130 interrupted. The reports (--json, --junit) are written whenever tests ran.
"""

from __future__ import annotations

import json
import signal
import sys
from pathlib import Path
from typing import Annotated, Any, NoReturn, Optional

import typer

EXIT_USAGE = 2
EXIT_SYSTEM = 4


def conformance(
    executor: Annotated[str, typer.Option(
        "--executor", metavar="local|dask|slurm",
        help="seed-runner's executor to test: local (default), dask or slurm (its options: --executor-option "
             "partition=NAME, account=, qos=, python=).")
    ] = "local",
    scheduler: Annotated[Optional[str], typer.Option(
        "--scheduler", metavar="ADDRESS", help="The Dask scheduler (tcp://HOST:PORT), for --executor dask.")
    ] = None,
    shared_dir: Annotated[Optional[Path], typer.Option(
        "--shared-dir", metavar="DIR", help="For --executor dask or slurm: the folder every worker (node) sees "
                                            "(the runs' files go there too unless --work-dir says otherwise).")
    ] = None,
    executor_class: Annotated[Optional[str], typer.Option(
        "--executor-class", metavar="MODULE:CLASS",
        help="Test your own executor class instead (imported from the current folder or the installed packages).")
    ] = None,
    executor_options: Annotated[Optional[list[str]], typer.Option(
        "--executor-option", metavar="KEY=VALUE",
        help="A keyword argument of the executor's constructor (repeat it); VALUE is read as JSON when it is "
             "JSON (2, true, \"text\"), else as text.")] = None,
    select: Annotated[Optional[list[str]], typer.Option(
        "-k", metavar="PATTERN", help="Only the tests whose id holds PATTERN, or matches it as a glob "
                                      "(env.json-*); any case; repeat it for more.")] = None,
    list_tests: Annotated[bool, typer.Option("--list", help="List the tests (id, where judged, rule) and exit.")
                          ] = False,
    junit: Annotated[Optional[Path], typer.Option("--junit", metavar="FILE", help="Write a JUnit XML report.")
                     ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as one JSON document.")] = False,
    base: Annotated[str, typer.Option(
        "--base", metavar="IMAGE", help="The local image the probes are built on (never pulled).")
    ] = "seed-runner/busybox:1",
    work_dir: Annotated[Optional[Path], typer.Option(
        "--work-dir", metavar="DIR", help="Where the probe runs' files and run folders go, kept (default: a "
                                          "temporary folder, removed when every test passed).")] = None,
    timeout: Annotated[float, typer.Option(
        "--timeout", min=1, metavar="SECONDS", help="Give up on the runs still going after this long.")] = 900.0,
) -> None:
    """Run the conformance suite of Seed runners against an executor: does it honour the runtime contract?

    Probe jobs, built once on the local busybox base, check from inside the container what the job sees
    (variables and their encoding, read-only inputs, mounts, ALLOCATED_* and the engine's limits); the result
    documents show the rest (timeout, exit codes and errors, output capture, side-cars). One line per test,
    then a summary. `seed conformance --list` shows every test and the rule it comes from.

    Exit status: 0 every selected test passed, 1 a test failed (a run the executor failed to start fails its
    tests too), 2 usage (-k selects nothing, an executor class that cannot be imported or is not an executor,
    the dask extra missing), 4 the machine: the probes cannot be built (no engine, no base image) or the
    executor cannot be made (the scheduler does not answer), 130 interrupted.
    """
    from ..conformance.catalog import select as select_tests

    if list_tests:
        chosen = select_tests(select or ())
        if not chosen:  # a usage error, as for a run (not the whole list, which -k would not run)
            typer.echo(f"seed: error: no conformance test matches {', '.join(select or ())}; `seed conformance "
                       "--list` shows the ids", err=True)
            raise typer.Exit(EXIT_USAGE)
        _list(chosen, as_json)
        return
    options = _parse_options(executor_options or [])
    made = _make_executor(executor, scheduler, shared_dir, executor_class, options)
    if work_dir is None and executor in ("dask", "slurm") and shared_dir is not None:
        work_dir = shared_dir
    report = _run(made, select or [], base, work_dir, timeout, as_json)
    if as_json:
        typer.echo(json.dumps(report.to_dict(), indent=2))
    typer.echo(report.summary_line(), err=as_json)
    if report.work_dir:
        typer.echo(f"seed: the probe runs' folders are in {report.work_dir}", err=True)
    from .testing import write_junit_report

    raise typer.Exit(write_junit_report(report, junit))


def _run(executor: Any, select: list[str], base: str, work_dir: Path | None, timeout: float, as_json: bool) -> Any:
    from ..conformance.images import ConformanceError
    from ..conformance.suite import run_suite

    def start(tests: list[Any], images: Any) -> None:
        typer.echo(f"seed conformance: {len(tests)} test{'s' * (len(tests) != 1)} against "
                   f"{type(executor).__module__}:{type(executor).__qualname__}", err=True)

    def stop(signum: int, frame: Any) -> None:  # as `seed run`: stop the runs, then report interrupted
        raise KeyboardInterrupt

    previous = {signum: signal.signal(signum, stop) for signum in (signal.SIGTERM, signal.SIGHUP)}
    closed = False
    try:
        report = run_suite(executor, select=select, base=base, work_dir=work_dir, timeout=timeout, on_start=start,
                           on_test=lambda outcome: _print_outcome(outcome, as_json),
                           progress=lambda line: typer.echo(f"seed: {line}", err=True))
        # cancel: what is still going is a run the suite gave up on (its --timeout); waiting for it could be forever
        executor.close(cancel=True)
        closed = True
        return report
    except ConformanceError as exc:
        typer.echo(f"seed: error: {exc}", err=True)
        raise typer.Exit(exc.exit_status) from None
    finally:
        if not closed:
            executor.close(cancel=True, reason="interrupted")
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _print_outcome(outcome: Any, to_stderr: bool) -> None:
    """One line a test, as cwltest prints them (on stderr when stdout carries the JSON document)."""
    test = outcome.test
    word = "ok" if outcome.passed else "FAIL"
    typer.echo(f"{word:<4}  {test.id:<36}  {test.description}  ({outcome.seconds:.2f} s)", err=to_stderr)
    if not outcome.passed:
        from ..problems import one_line  # it may quote what a job wrote

        typer.echo(f"      {one_line(str(outcome.message))}", err=to_stderr)


def _list(tests: Any, as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps([{"id": t.id, "description": t.description, "rule": t.rule, "judged": t.where,
                                "probe": t.probe, "run": t.run} for t in tests], indent=2))
        return
    for t in tests:
        typer.echo(f"{t.id:<36}  {t.where:<9}  {t.rule:<48}  {t.description}")


def _parse_options(items: list[str]) -> dict[str, Any]:
    """``KEY=VALUE`` pairs as keyword arguments: VALUE as JSON when it is JSON, else the text."""
    options: dict[str, Any] = {}
    for item in items:
        key, sep, text = item.partition("=")
        if not sep or not key.isidentifier():
            raise typer.BadParameter(f"{item!r} is not KEY=VALUE with KEY a Python name",
                                     param_hint="--executor-option")
        try:
            options[key] = json.loads(text)
        except ValueError:
            options[key] = text
    return options


def _make_executor(kind: str, scheduler: str | None, shared_dir: Path | None, class_path: str | None,
                   options: dict[str, Any]) -> Any:
    """The executor to test, built as the options say; usage errors exit 2, an executor that cannot start 4."""
    if class_path is not None and kind != "local":
        raise typer.BadParameter("give either --executor or --executor-class", param_hint="--executor-class")
    if kind not in ("local", "dask", "slurm"):
        raise typer.BadParameter(f"{kind!r} is not an executor of seed-runner: local, dask or slurm (or give your "
                                 "own with --executor-class MODULE:CLASS)", param_hint="--executor")
    if scheduler is not None and kind != "dask":
        raise typer.BadParameter("--scheduler and the other Dask options go with --executor dask",
                                 param_hint="--scheduler")
    if shared_dir is not None and kind not in ("dask", "slurm"):
        raise typer.BadParameter("--shared-dir and --scheduler go with --executor dask; --shared-dir with "
                                 "--executor slurm too", param_hint="--shared-dir")
    if class_path is not None:
        factory, args = _import_class(class_path), ()
    elif kind == "dask":
        if scheduler is None:
            raise typer.BadParameter("--executor dask needs --scheduler tcp://HOST:PORT", param_hint="--scheduler")
        try:
            from ..executors.dask import DaskExecutor
        except ImportError as exc:
            _needs_dask(exc)
        factory, args = DaskExecutor, (scheduler,)
        if shared_dir is not None:
            options = {"shared_dir": str(shared_dir), **options}
    elif kind == "slurm":
        from ..executors.slurm import SlurmExecutor

        factory, args = SlurmExecutor, ()
        if shared_dir is not None:
            options = {"shared_dir": str(shared_dir), **options}
    else:
        from ..executors.local import LocalExecutor

        factory, args = LocalExecutor, ()
    name = getattr(factory, "__qualname__", str(factory))
    try:
        made = factory(*args, **options)
    except TypeError as exc:
        if not options:  # no --executor-option to blame: the class needs arguments it cannot be given
            raise typer.BadParameter(f"{name} cannot be made without arguments: {exc}; give them with "
                                     "--executor-option KEY=VALUE", param_hint="--executor-class") from None
        raise typer.BadParameter(f"{name} does not take these options: {exc}", param_hint="--executor-option") \
            from None
    except ImportError as exc:  # distributed is imported as the executor connects
        if kind == "dask":
            _needs_dask(exc)
        raise typer.BadParameter(f"{name} needs a module that is not installed: {exc}",
                                 param_hint="--executor-class") from None
    except Exception as exc:  # noqa: BLE001 - a scheduler that does not answer, say: the machine's problem
        typer.echo(f"seed: error: {name} could not be started: {exc}", err=True)
        raise typer.Exit(getattr(exc, "exit_status", EXIT_SYSTEM)) from None
    from ..conformance.images import ConformanceError
    from ..conformance.suite import check_executor

    try:
        check_executor(made)
    except ConformanceError as exc:
        raise typer.BadParameter(str(exc), param_hint="--executor-class") from None
    return made


def _needs_dask(exc: ImportError) -> NoReturn:
    typer.echo(f"seed: error: --executor dask needs Dask ({exc}): pip install 'seed-runner[dask]'", err=True)
    raise typer.Exit(EXIT_USAGE) from None


def _import_class(path: str) -> Any:
    """``module:Class`` (``Class`` may be dotted), imported with the current folder first on the path, as
    uvicorn and gunicorn find an app."""
    import importlib
    import os

    module_name, sep, attribute = path.partition(":")
    if not sep or not module_name or not attribute:
        raise typer.BadParameter(f"{path!r} is not MODULE:CLASS (e.g. my_scheduler.seed:MyExecutor)",
                                 param_hint="--executor-class")
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        target: Any = importlib.import_module(module_name)
    except Exception as exc:  # noqa: BLE001 - ImportError, or the module failing as it loads
        raise typer.BadParameter(f"cannot import {module_name}: {type(exc).__name__}: {exc}",
                                 param_hint="--executor-class") from None
    for part in attribute.split("."):
        if not hasattr(target, part):
            raise typer.BadParameter(f"{module_name} has no {attribute}", param_hint="--executor-class")
        target = getattr(target, part)
    if not isinstance(target, type):  # a function would be called as one and blamed on the options
        raise typer.BadParameter(f"{path} is not a class (it is a {type(target).__name__}); give the executor's "
                                 "class, MODULE:CLASS", param_hint="--executor-class")
    return target


def register(app: typer.Typer) -> None:
    """Add `conformance` to the `seed` app."""
    app.command("conformance")(conformance)
