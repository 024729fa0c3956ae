"""`seed conformance` as a library: build the probes, run them through an executor, judge every test.

    from seed_runner.conformance import run_suite

    report = run_suite()                                  # the LocalExecutor, every test
    report = run_suite(executor=MyExecutor(), select=["env.json-*", "timeout"])
    print(report.summary_line()); report.write_junit("conformance.xml")

Any object with the executor interface (``seed_runner.executors.base.Executor``: ``submit(request, options)``
giving a ``concurrent.futures.Future`` whose result has the result document as ``.document``, ``as_completed``,
``close``) can be measured: that is how a scheduler proves its own executor honours the runtime contract. The
suite waits on the futures itself (``concurrent.futures.wait``), so an executor's faults, even hanging, end as
failed tests.
"""

from __future__ import annotations

import concurrent.futures
import shutil
import tempfile
import threading
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping

from ..testing.selection import patterns_of
from .catalog import ConformanceTest, runs_of, select as select_tests
from .images import DEFAULT_BASE, ConformanceError, ensure_images
from .judges import JUDGES, duration, run_summary
from .report import ConformanceReport, TestOutcome
from .tap import parse_tap, verdict

DEFAULT_TIMEOUT = 900.0
"""Seconds the whole suite may take before the runs still going are cancelled and their tests fail."""
TAP_FILE = "conformance.tap"


def executor_name(executor: Any) -> str:
    kind = type(executor)
    return f"{kind.__module__}:{kind.__qualname__}"


def check_executor(executor: Any) -> None:
    """Refuse (exit 2) an object without the executor interface's methods."""
    missing = [m for m in ("submit", "as_completed", "close") if not callable(getattr(executor, m, None))]
    if missing:
        raise ConformanceError(f"{executor_name(executor)} is not an executor: it has no {', '.join(missing)} "
                               "(see seed_runner.executors.base.Executor)", exit_status=2)


def run_suite(executor: Any = None, *, select: Iterable[str] | str | None = None, base: str = DEFAULT_BASE,
              work_dir: str | Path | None = None, timeout: float = DEFAULT_TIMEOUT,
              on_start: Callable[[list[ConformanceTest], Mapping[str, str]], None] | None = None,
              on_test: Callable[[TestOutcome], None] | None = None,
              progress: Callable[[str], None] | None = None, docker_client: Any = None) -> ConformanceReport:
    """Run the selected tests (``select``: patterns, see ``catalog.select``; default all) against ``executor``
    (default: a new ``LocalExecutor``, closed at the end; one given is left open) and return the report.

    ``work_dir``: where a folder of the probe runs' files is made, kept (default: a temporary folder, removed when
    every test passed). ``on_start`` gets the tests and the probe images before the runs start, ``on_test`` each
    outcome as it is decided, ``progress`` a line about each probe image built. Raises ConformanceError: exit
    status 2 when no test matches, ``timeout`` is not a number of seconds a clock can wait, or the executor is
    not one; 4 when the machine fails the suite: the engine does not answer, the base image is missing, a probe
    cannot be built, the work folder cannot hold the runs' files. What the executor does wrong is never raised:
    a run it fails to start (``submit`` raising), loses (its future raising) or does not finish within
    ``timeout`` (the suite waits on the futures itself, with ``concurrent.futures.wait``, and cancels those still
    going) fails the tests of that run, with what happened as their message.
    """
    if not 0 < timeout <= threading.TIMEOUT_MAX:  # NaN too: no clock waits for it
        raise ConformanceError(f"--timeout {timeout:g}: give a positive number of seconds, at most "
                               f"{threading.TIMEOUT_MAX:.0f}", exit_status=2)
    patterns = patterns_of(select)
    tests = list(select_tests(patterns))
    if not tests:
        raise ConformanceError(f"no conformance test matches {', '.join(patterns)}; `seed conformance --list` "
                               "shows the ids", exit_status=2)
    if executor is not None:
        check_executor(executor)
    runs = runs_of(tests)
    images = ensure_images(sorted({probe for probe, _ in runs}), base=base, docker_client=docker_client,
                           progress=progress)
    own = executor is None
    if own:
        from ..executors.local import LocalExecutor

        executor = LocalExecutor()
    started = datetime.now(timezone.utc)
    clock = time.monotonic()
    try:
        if work_dir is not None:
            Path(work_dir).mkdir(parents=True, exist_ok=True)
        folder = Path(tempfile.mkdtemp(prefix="seed-conformance-", dir=work_dir))
    except OSError as exc:
        raise ConformanceError(f"cannot make the probe runs' folder in {work_dir or tempfile.gettempdir()} "
                               f"({exc.strerror}); give another --work-dir", exit_status=2) from None
    report = ConformanceReport(executor=executor_name(executor), base=base, images=images,
                               started=started.isoformat(timespec="seconds").replace("+00:00", "Z"),
                               work_dir=str(folder))
    if on_start:
        on_start(tests, images)
    try:
        outcomes = _run(executor, tests, runs, images, folder, timeout, on_test)
    except BaseException as exc:
        if own:
            executor.close(cancel=True, reason="interrupted" if isinstance(exc, KeyboardInterrupt) else "cancelled")
        if isinstance(exc, ConformanceError) and work_dir is None:  # nothing ran: nothing to look at
            shutil.rmtree(folder, ignore_errors=True)
        raise
    if own:
        executor.close(cancel=True)  # what is still going, the suite gave up on (its timeout)
    report.outcomes = sorted(outcomes, key=lambda o: tests.index(o.test))
    report.seconds = time.monotonic() - clock
    if report.ok and work_dir is None:
        shutil.rmtree(folder, ignore_errors=True)
        report.work_dir = None
    return report


def _run(executor: Any, tests: list[ConformanceTest], runs: list[tuple[str, str]], images: Mapping[str, str],
         folder: Path, timeout: float, on_test: Callable[[TestOutcome], None] | None) -> list[TestOutcome]:
    """Submit every run, wait for them until ``timeout`` and judge each test. Whatever the executor does wrong
    (submit raising, a future that is not one, a future raising, no result in time) fails the tests of that run
    with what it did as the message: the suite measures the executor, so its faults are verdicts, never an
    exception. Only the work folder failing raises (ConformanceError, exit 4: the machine's)."""
    from ..executors.base import RunOptions
    from .recipes import make_request

    outcomes: list[TestOutcome] = []

    def decide(run: tuple[str, str], document: Mapping[str, Any] | None, seconds: float, why: str = "") -> None:
        for test in (t for t in tests if (t.probe, t.run) == run):
            outcome = judge(test, document, seconds, why)
            outcomes.append(outcome)
            if on_test:
                on_test(outcome)

    requests: dict[tuple[str, str], Any] = {}
    # The timeout probe runs longest: it goes first, so that the others run beside it.
    for run in sorted(runs, key=lambda r: r[0] != "timeout"):
        try:  # every run's files before the first run starts: a failure here leaves nothing running
            requests[run] = make_request(run[0], run[1], images[run[0]], folder / f"{run[0]}-{run[1]}")
        except OSError as exc:
            raise ConformanceError(f"cannot make the files of the probe run {run[0]}-{run[1]} in {folder} "
                                   f"({exc.strerror})") from None
    deadline = time.monotonic() + timeout
    pending: dict[concurrent.futures.Future[Any], tuple[tuple[str, str], float]] = {}
    for run, request in requests.items():
        try:
            future = executor.submit(request, RunOptions())
        except KeyboardInterrupt:  # Ctrl-C, or SIGTERM made one by the CLI: the user's, not the executor's
            raise
        except BaseException as exc:  # noqa: BLE001 - the executor failing to start a run is its verdict on it
            decide(run, None, 0.0, f"the executor failed to start the run: {_raised(exc)}")
            continue
        if not isinstance(future, concurrent.futures.Future):
            decide(run, None, 0.0, f"the executor's submit gave a {type(future).__name__}, not a "
                                   "concurrent.futures.Future")
            continue
        pending[future] = (run, time.monotonic())
    # The suite waits on the futures itself: an executor's own as_completed may not honour its timeout, and a
    # suite that hangs on a broken executor can never report it.
    while pending and (left := deadline - time.monotonic()) > 0:
        done, _ = concurrent.futures.wait(pending, timeout=left, return_when=concurrent.futures.FIRST_COMPLETED)
        for future in sorted(done, key=lambda f: pending[f][1]):
            run, submitted = pending.pop(future)
            decide(run, *_settled(future, time.monotonic() - submitted))
    for future, (run, submitted) in pending.items():
        try:
            future.cancel()
        except KeyboardInterrupt:
            raise
        except BaseException:  # noqa: BLE001 - closing the executor with cancel=True is the last word on it
            pass
        decide(run, None, time.monotonic() - submitted, f"no result within the suite's {timeout:g} s")
    return outcomes


def _settled(future: concurrent.futures.Future[Any], wall: float) -> tuple[Mapping[str, Any] | None, float, str]:
    """(the result document or None, seconds, why there is none) of a future that is done."""
    try:  # a future is done: what it raises is the executor's (a BaseException too: SystemExit, its own)
        result = future.result(timeout=0)
        document = getattr(result, "document", result)
    except BaseException as exc:  # noqa: BLE001 - a broken executor fails its tests, not the suite
        return None, wall, f"the run's future raised {_raised(exc)}"
    if not isinstance(document, Mapping):
        return None, wall, f"the run's result has no result document (got {type(result).__name__})"
    return document, _seconds(document, wall), ""


def _raised(exc: BaseException) -> str:
    """``Type: message`` on one line, whatever the exception holds (a verdict is one line)."""
    from ..problems import one_line

    try:
        text = str(exc)
    except BaseException:  # noqa: BLE001 - an exception whose __str__ raises still has a type
        text = "(its message cannot be shown)"
    text = one_line(text)
    return f"{type(exc).__name__}: {text if len(text) <= 300 else text[:297] + '...'}"


def _seconds(document: Mapping[str, Any], wall: float) -> float:
    ran = duration(document)
    return wall if ran is None else ran


def judge(test: ConformanceTest, document: Mapping[str, Any] | None, seconds: float = 0.0,
          why: str = "") -> TestOutcome:
    """One test's verdict on its run's result document (None: the run gave none, ``why`` says why)."""
    if document is None:
        return TestOutcome(test, False, why or "the run gave no result", seconds)
    run_id, run_dir = (str(v) if v is not None else None for v in (document.get("run_id"), document.get("run_dir")))
    if test.judge is not None:
        try:
            passed, message = JUDGES[test.judge](document)
        except (AttributeError, KeyError, TypeError, ValueError) as exc:  # a document of another shape
            passed, message = False, f"the result document is not what a run's is ({type(exc).__name__}: {exc})"
        return TestOutcome(test, passed, message, seconds, run_id, run_dir)
    lines = parse_tap(tap_text(document)).get(test.id, [])
    if not lines:
        return TestOutcome(test, False, f"the probe reported nothing for {test.id}: its run ended "
                                        f"{run_summary(document)}", seconds, run_id, run_dir)
    passed, message = verdict(lines)
    return TestOutcome(test, passed, message, seconds, run_id, run_dir)


def tap_text(document: Mapping[str, Any]) -> str:
    """The probe's TAP lines: its JSON output ``TAP``, else its ``conformance.tap`` when the host can read the
    output folder (a run whose seed.outputs.json was not captured)."""
    outputs = document.get("json_outputs")
    value = outputs.get("TAP") if isinstance(outputs, Mapping) else None
    if isinstance(value, str):
        return value
    outputs_dir = document.get("outputs_dir")
    if isinstance(outputs_dir, str):
        try:
            return (Path(outputs_dir) / TAP_FILE).read_text(encoding="utf-8", errors="replace")
        except OSError:
            pass
    return ""
