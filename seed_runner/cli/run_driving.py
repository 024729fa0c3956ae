"""Driving a batch or a pipeline from the command line (`seed batch`, `seed pipeline`): the call under Ctrl-C and
SIGTERM, the executor always closed, a start that fails or is refused as one line per problem and an exit status."""

from __future__ import annotations

import signal
from typing import Any, Callable, NoReturn

import typer


def drive(call: Callable[[], Any], executor: Any, report: Any) -> Any:
    """The result of ``call`` (a batch's or a pipeline's run or resume), always closing the executor (None: the
    call makes and closes its own); one that cannot start is one line and its exit status (``fail``), Ctrl-C
    before any run began exit 130. ``report`` (its ``stop`` ends a live view) is stopped on the way out."""
    from ..errors import SeedRunnerError

    try:
        return with_signals(call)
    except SeedRunnerError as exc:
        report.stop()
        fail(exc)
    except KeyboardInterrupt:  # before the runs began (the check of the rows or steps): nothing ran
        report.stop()
        typer.echo("seed: interrupted; no run was started", err=True)
        raise typer.Exit(130) from None
    finally:
        if executor is not None:
            executor.close(cancel=True)


def fail(exc: Exception) -> NoReturn:
    """One line and the exit status of what went wrong: 2 a batch that cannot start as given (its table, its
    folder, a run that never fits), 1 an invalid manifest, 4 the engine, the image or the cluster."""
    from ..errors import EngineUnavailableError, ImageNotFoundError, InvalidManifestError

    status = getattr(exc, "exit_status", None)
    if status is None:
        status = 1 if isinstance(exc, InvalidManifestError) else \
            4 if isinstance(exc, (EngineUnavailableError, ImageNotFoundError)) else 2
    typer.echo(f"seed: error: {exc}", err=True)
    raise typer.Exit(status) from None


def with_signals(call: Callable[[], Any]) -> Any:
    """SIGTERM/SIGHUP/SIGQUIT behave like Ctrl-C: every container of the batch is stopped and removed."""

    def terminate(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    previous = {s: signal.signal(s, terminate) for s in (signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT)}
    try:
        return call()
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


def say_problems(problems: Any) -> None:
    """Each problem (a refusal's, or the warnings of a check) as one plain line on stderr."""
    from .render import problem_line

    for problem in problems:
        typer.echo(f"seed: {problem_line(problem, markup=False)}", err=True)


def refuse(result: Any, what: str) -> NoReturn:
    """A refused start (``what``: ``batch``, ``pipeline``): its problems, the line that nothing ran, its exit
    status."""
    say_problems(result.problems)
    count = len(result.problems)
    typer.echo(f"seed: the {what} was refused ({count} problem{'s' if count != 1 else ''}); nothing ran", err=True)
    raise typer.Exit(result.exit_status)


def counted(counts: dict[str, int], *, leave_out: tuple[str, ...] = ()) -> str:
    """``2 succeeded, 1 failed``: a document's counts, in its order."""
    return ", ".join(f"{n} {k}" for k, n in counts.items() if k not in leave_out)
