"""`seed test`: a job's test cases run on the engine, a table of what each expected and got, JUnit XML and JSON
(the twin: ``seed_runner.testing.test_job``).

Only typer and the standard library are imported at the top: `seed` imports this module on every start.

Exit status: 0 every case passed (or was skipped); 1 a case failed, or could not run for its own reasons (an
invalid case file, a missing input, a request the manifest refuses), or the folder's manifest is invalid, or
--junit cannot be written; 2 usage (no cases, -k selects none, an image without --cases, the test folder not
empty); 4 the engine does not answer or the image is not on it; 130 interrupted.
"""

from __future__ import annotations

import json
import signal
import sys
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

EXIT_INVALID = 1


def test(
    target: Annotated[Optional[str], typer.Argument(
        help="A job folder (its tests/ and the image `seed build` makes of it; default: this folder) or an image.",
        metavar="[DIR|IMAGE]", show_default=False)] = None,
    image: Annotated[Optional[str], typer.Option(
        "--image", help="Test this image instead of the one the folder's manifest names.")] = None,
    cases: Annotated[Optional[Path], typer.Option(
        "--cases", help="The cases folder (default: the job folder's tests/); required for an image.")] = None,
    output: Annotated[Optional[Path], typer.Option(
        "--output", "-o", help="The test folder, new or empty: a run folder per case and report.json "
                               "(default: a new folder under ./seed-tests).")] = None,
    select: Annotated[Optional[list[str]], typer.Option(
        "-k", metavar="PATTERN", help="Only the cases whose name holds PATTERN, or matches it as a glob (png*); "
                                      "any case; repeat it for more.")] = None,
    parallel: Annotated[int, typer.Option("--parallel", min=1, metavar="N",
                                          help="Run N cases side by side.")] = 1,
    junit: Annotated[Optional[Path], typer.Option("--junit", metavar="FILE", help="Write a JUnit XML report.")
                     ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as one JSON document.")] = False,
    trust_mounts: Annotated[bool, typer.Option(
        "--trust-mounts", help="For cases you trust: a case's host mounts may lie outside the job folder and get "
                               "the mode the manifest declares (rw too). Without it they must be inside the job "
                               "folder and are mounted read-only.")] = False,
) -> None:
    """Run a job's test cases (tests/<case>/case.json) and compare each run with what the case expects.

    Each case runs exactly as `seed run` would, into its own run folder; a table shows what each case expected
    and got. A case whose file is invalid, whose input is missing or whose request the manifest refuses is an
    error, never a pass. `seed schema test-case` prints the case format. Every path a case names must lie inside
    the job folder (links followed), and its host mounts are read-only unless --trust-mounts.

    Exit status: 0 every case passed, 1 a case failed or could not run (or the manifest is invalid), 2 usage
    (no cases, -k selects none, an image without --cases), 4 the engine does not answer or the image is not
    on it, 130 interrupted.
    """
    from ..testing.suite import SuiteError, test_job

    if target is None and (image is None or Path("seed.manifest.json").is_file()):
        target = "."  # this folder, with --image as its image when given
    terminal = sys.stderr.isatty()
    progress = _Progress(terminal and not as_json)

    def stop(signum: int, frame: Any) -> None:  # as `seed run`: stop the containers, then report interrupted
        raise KeyboardInterrupt

    previous = {signum: signal.signal(signum, stop) for signum in (signal.SIGTERM, signal.SIGHUP)}
    try:
        report = test_job(target, image=image, cases=cases, output_dir=output, select=select, parallel=parallel,
                          on_start=progress.start, on_case=progress.case_done, trust_mounts=trust_mounts)
    except SuiteError as exc:
        progress.close()
        _say_suite_error(exc)
        raise typer.Exit(exc.exit_status) from None
    finally:
        progress.close()
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    if as_json:
        typer.echo(json.dumps(report.to_dict(), indent=2))
    elif sys.stdout.isatty():
        _print_rich(report)
    else:
        sys.stdout.write("\n".join(plain_lines(report)) + "\n")
    raise typer.Exit(write_junit_report(report, junit))


def write_junit_report(report: Any, junit: Path | None) -> int:
    """``--junit FILE``: write the report's JUnit XML (``report.write_junit``) and say so; the exit status is the
    report's, made 1 when the file cannot be written (a pipeline must not read a report that is not there)."""
    status = report.exit_status
    if junit is not None:
        try:
            report.write_junit(junit)
            typer.echo(f"seed: wrote the JUnit report {junit}", err=True)
        except OSError as exc:
            typer.echo(f"seed: error: cannot write the JUnit report {junit} ({exc.strerror}); give another "
                       "--junit FILE", err=True)
            status = status or EXIT_INVALID
    return status


def _say_suite_error(exc: Any) -> None:
    from .render import problem_line

    typer.echo(f"seed: error: {exc}", err=True)
    for finding in exc.findings:  # an invalid manifest: every other finding, one line each
        if finding.message not in str(exc):
            typer.echo(f"  {problem_line(finding, markup=False)}", err=True)


class _Progress:
    """What `seed test` says while it runs, on stderr: where it runs (always) and, on a terminal, a live
    count of the cases done."""

    def __init__(self, live: bool):
        self.live = live
        self.status: Any = None
        self.total = self.done = 0

    def start(self, plan: Any) -> None:
        self.total = len(plan.case_files)
        count = f"{self.total} case{'s' * (self.total != 1)}"
        typer.echo(f"seed: testing {plan.image} with {count} from {plan.cases_dir}; run folders in "
                   f"{plan.output_dir}", err=True)
        for warning in plan.warnings:
            typer.echo(f"seed: warning: {warning}", err=True)
        if self.live:
            from rich.console import Console

            self.status = Console(stderr=True).status(self._text())
            self.status.start()

    def case_done(self, outcome: Any) -> None:  # from the case's thread; rich's status is thread-safe
        self.done += 1
        if self.status is not None:
            self.status.update(self._text())

    def _text(self) -> str:
        return f"running the cases: {self.done} of {self.total} done"

    def close(self) -> None:
        if self.status is not None:
            self.status.stop()
            self.status = None


_WORD = {"passed": "PASS", "failed": "FAIL", "error": "ERROR", "skipped": "SKIP"}
_COLOUR = {"passed": "green", "failed": "red", "error": "red", "skipped": "yellow"}


def plain_lines(report: Any) -> list[str]:
    """The table as plain aligned lines (for logs and pipes), then one line per reason, then the summary."""
    from ..problems import one_line

    rows = [("RESULT", "CASE", "EXPECTED", "GOT", "TIME")]
    rows += [(_WORD[o.status], one_line(o.name), one_line(o.expected), one_line(o.got or "-"), f"{o.seconds:.2f} s")
             for o in report.outcomes]
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths)) + "  " + row[4] for row in rows]
    lines += [f"{head}{reason}" for _, head, reason in _reasons(report)]
    lines.append(report.summary_line())
    return lines


def _reasons(report: Any) -> list[tuple[str | None, str, str]]:
    """(status, "FAIL case: ", reason) for every reason a case did not pass, and (None, "", "  run folder: ...")."""
    from ..problems import one_line

    lines: list[tuple[str | None, str, str]] = []
    for outcome in report.outcomes:
        if outcome.status in ("passed", "skipped"):
            continue
        # A reason may quote a file name or text the job wrote: never raw on the terminal.
        lines += [(outcome.status, f"{_WORD[outcome.status]} {one_line(outcome.name)}: ", one_line(r))
                  for r in outcome.reasons()]
        if outcome.run_dir:
            lines.append((None, "", f"  run folder: {one_line(outcome.run_dir)}"))
    return lines


def _print_rich(report: Any) -> None:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    from ..problems import one_line

    console = Console(highlight=False, soft_wrap=True)
    table = Table(show_edge=False, pad_edge=False, box=None)
    for column in ("", "case", "expected", "got"):
        table.add_column(column)
    table.add_column("time", justify="right")
    for o in report.outcomes:
        colour = _COLOUR[o.status]
        table.add_row(f"[{colour}]{_WORD[o.status]}[/]", escape(one_line(o.name)), escape(one_line(o.expected)),
                      escape(one_line(o.got or "-")),
                      f"{o.seconds:.2f} s")
    console.print(table)
    for status, head, reason in _reasons(report):
        console.print((f"[{_COLOUR[status]}]{escape(head)}[/]" if status else "") + escape(reason))
    colour = "green" if report.passed else "red"
    console.print(f"[{colour}]{escape(report.summary_line())}[/]")


def register(app: typer.Typer) -> None:
    """Add `test` to the `seed` app."""
    app.command("test")(test)
