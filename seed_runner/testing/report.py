"""What `seed test` found: one ``CaseOutcome`` per case and the ``TestReport`` of the suite, as a JSON document
(``--json``, ``report.json`` in the test folder) and as JUnit cases (``--junit``).

A case is ``passed``, ``failed`` (the run is not what the case expects), ``error`` (the case could not run: an
invalid case file, a missing input, a request the manifest refuses, or the engine failing) or ``skipped``.
Exit status: 0 when no case failed or errored, 4 when a case could not run for the machine's reasons (the
engine, the image), else 1. Pure.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from .. import __version__
from .expectations import Mismatch
from .junit import JUnitCase, write_junit

__all__ = ["CaseOutcome", "TestReport", "REPORT_VERSION", "EXIT_PASSED", "EXIT_FAILED", "EXIT_SYSTEM"]

REPORT_VERSION = 1
EXIT_PASSED, EXIT_FAILED, EXIT_SYSTEM = 0, 1, 4
MAX_LOG_IN_REPORT = 64 * 1024
"""The tail of a case's job output that goes into JUnit's system-out/system-err."""

Status = Literal["passed", "failed", "error", "skipped"]


@dataclass(frozen=True)
class CaseOutcome:
    name: str
    status: Status
    expected: str
    """What the case expects, as the table shows it (``succeeded``, ``failed no-data``)."""
    got: str | None
    """What the run did (``failed no-data (exit 3)``); None when it did not run."""
    seconds: float
    message: str | None = None
    """One line: the first mismatch, why the case could not run, or why it was skipped."""
    mismatches: tuple[Mismatch, ...] = ()
    error_kind: Literal["case", "system"] | None = None
    """For an error: the case's own (fix the case or the request) or the machine's (the engine, the image)."""
    case_file: str | None = None
    run_dir: str | None = None
    description: str | None = None

    def reasons(self) -> list[str]:
        """Every line that says why it did not pass."""
        if self.mismatches:
            return [m.line() for m in self.mismatches]
        return [self.message] if self.message else []

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "status": self.status, "expected": self.expected, "got": self.got,
                "seconds": round(self.seconds, 3), "message": self.message,
                "mismatches": [m.to_dict() for m in self.mismatches], "error_kind": self.error_kind,
                "case_file": self.case_file, "run_dir": self.run_dir, "description": self.description}


@dataclass(frozen=True)
class TestReport:
    __test__ = False  # not a pytest test class, whatever its name

    target: str
    """What was tested: the job folder, or the image."""
    image: str
    job: str
    """The job's name (the JUnit suite and classname)."""
    cases_dir: str
    output_dir: str
    outcomes: tuple[CaseOutcome, ...]
    seconds: float
    started: str
    """When the suite started, ISO 8601 UTC."""
    deselected: int = 0
    """Cases that ``-k`` left out."""
    warnings: tuple[str, ...] = field(default_factory=tuple)

    def count(self, status: Status) -> int:
        return sum(1 for outcome in self.outcomes if outcome.status == status)

    @property
    def exit_status(self) -> int:
        if any(o.status == "error" and o.error_kind == "system" for o in self.outcomes):
            return EXIT_SYSTEM
        if any(o.status in ("failed", "error") for o in self.outcomes):
            return EXIT_FAILED
        return EXIT_PASSED

    @property
    def passed(self) -> bool:
        return self.exit_status == EXIT_PASSED

    def summary_line(self) -> str:
        """``3 passed, 1 failed, 0 errors, 1 skipped in 4.20 s``."""
        parts = [f"{self.count('passed')} passed", f"{self.count('failed')} failed",
                 f"{self.count('error')} error{'s' * (self.count('error') != 1)}"]
        if self.count("skipped"):
            parts.append(f"{self.count('skipped')} skipped")
        if self.deselected:
            parts.append(f"{self.deselected} deselected")
        return f"{', '.join(parts)} in {self.seconds:.2f} s"

    def to_dict(self) -> dict[str, Any]:
        return {
            "report_version": REPORT_VERSION, "seed_runner": __version__, "target": self.target,
            "image": self.image, "job": self.job, "cases_dir": self.cases_dir, "output_dir": self.output_dir,
            "started": self.started, "seconds": round(self.seconds, 3),
            "summary": {"total": len(self.outcomes), "passed": self.count("passed"), "failed": self.count("failed"),
                        "errors": self.count("error"), "skipped": self.count("skipped"),
                        "deselected": self.deselected},
            "exit_status": self.exit_status, "warnings": list(self.warnings),
            "cases": [outcome.to_dict() for outcome in self.outcomes],
        }

    def junit_cases(self) -> list[JUnitCase]:
        cases = []
        for outcome in self.outcomes:
            details = "\n".join(outcome.reasons())
            if outcome.run_dir:
                details += f"\nrun folder: {outcome.run_dir}"
            if outcome.case_file:
                details += f"\ncase: {outcome.case_file}"
            kind = {"failed": "expectation", "error": f"{outcome.error_kind or 'case'}-error"}.get(outcome.status)
            cases.append(JUnitCase(outcome.name, self.job, outcome.status, outcome.seconds,
                                   outcome.message or "", details.strip(), _log(outcome.run_dir, "stdout"),
                                   _log(outcome.run_dir, "stderr"), kind))
        return cases

    def write_junit(self, path: str | Path) -> Path:
        return write_junit(path, self.junit_cases(), suite=self.job, timestamp=self.started,
                           properties={"image": self.image, "cases": self.cases_dir, "seed-runner": __version__},
                           seconds=self.seconds)


def _log(run_dir: str | None, name: str) -> str | None:
    """The tail of a run's log (the job's output, secrets already masked by the runner), or None."""
    if not run_dir:
        return None
    try:
        with open(Path(run_dir) / "logs" / f"{name}.log", "rb") as handle:
            size = handle.seek(0, 2)
            handle.seek(max(0, size - MAX_LOG_IN_REPORT))
            data = handle.read()
    except OSError:
        return None
    text = data.decode("utf-8", "replace")
    return text if size <= MAX_LOG_IN_REPORT else f"[... the first {size - len(data)} bytes left out]\n{text}"
