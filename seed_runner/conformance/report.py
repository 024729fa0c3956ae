"""The outcome of a conformance run: one verdict per test, the summary line, the JSON document and JUnit XML
(through ``seed_runner.testing.junit``, the writer `seed test` uses too). Pure."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .catalog import ConformanceTest

REPORT_VERSION = 1


@dataclass(frozen=True)
class TestOutcome:
    test: ConformanceTest
    passed: bool
    message: str = ""
    """Why it failed (or what was skipped inside a pass)."""
    seconds: float = 0.0
    """The duration of the probe run that decided it."""
    run_id: str | None = None
    run_dir: str | None = None

    __test__ = False  # not a pytest class, whatever its name says

    @property
    def status(self) -> str:
        return "passed" if self.passed else "failed"

    def to_dict(self) -> dict[str, Any]:
        t = self.test
        return {"id": t.id, "description": t.description, "rule": t.rule, "judged": t.where,
                "probe": t.probe, "run": t.run, "status": self.status, "message": self.message,
                "seconds": round(self.seconds, 3), "run_id": self.run_id, "run_dir": self.run_dir}


@dataclass
class ConformanceReport:
    executor: str
    """The executor's class, ``module:Class``."""
    base: str
    images: dict[str, str] = field(default_factory=dict)
    outcomes: list[TestOutcome] = field(default_factory=list)
    started: str = ""
    seconds: float = 0.0
    work_dir: str | None = None
    """Where the probe runs' files are (None once removed)."""

    @property
    def passed(self) -> list[TestOutcome]:
        return [o for o in self.outcomes if o.passed]

    @property
    def failed(self) -> list[TestOutcome]:
        return [o for o in self.outcomes if not o.passed]

    @property
    def ok(self) -> bool:
        return bool(self.outcomes) and not self.failed

    @property
    def exit_status(self) -> int:
        return 0 if self.ok else 1

    def summary_line(self) -> str:
        total = len(self.outcomes)
        verdict = "conforms" if self.ok else "does not conform"
        return (f"{len(self.passed)} passed, {len(self.failed)} failed of {total} test{'s' * (total != 1)} in "
                f"{self.seconds:.1f} s: {self.executor} {verdict}")

    def to_dict(self) -> dict[str, Any]:
        return {"report_version": REPORT_VERSION, "executor": self.executor, "base": self.base,
                "images": dict(self.images), "started": self.started, "seconds": round(self.seconds, 3),
                "work_dir": self.work_dir, "conforms": self.ok,
                "counts": {"tests": len(self.outcomes), "passed": len(self.passed), "failed": len(self.failed)},
                "tests": [o.to_dict() for o in self.outcomes]}

    def junit_cases(self) -> list[Any]:
        from ..testing.junit import JUnitCase

        return [JUnitCase(name=o.test.id, classname=f"seed-conformance.{o.test.probe}", status=o.status,
                          seconds=o.seconds, message=o.message if not o.passed else "",
                          details=_details(o) if not o.passed else "",
                          stdout=o.message if o.passed and o.message else None)
                for o in self.outcomes]

    def write_junit(self, path: str | Path) -> Path:
        from ..testing.junit import write_junit

        return write_junit(path, self.junit_cases(), suite="seed conformance", timestamp=self.started or None,
                           seconds=self.seconds, properties={"executor": self.executor, "base": self.base})


def _details(outcome: TestOutcome) -> str:
    t = outcome.test
    lines = [outcome.message, f"checks: {t.description}", f"rule: {t.rule}", f"probe: {t.probe} (run {t.run}), "
             f"judged in the {t.where}"]
    if outcome.run_dir:
        lines.append(f"run folder: {outcome.run_dir}")
    return "\n".join(lines)
