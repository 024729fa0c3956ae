"""`seed conformance`: a conformance suite for Seed runners, shipped in the package.

Probe jobs (``probes/<probe>/``: a manifest and a busybox shell script each, built locally on the busybox base)
check the runtime contract from inside the container and report TAP lines; the host judges the rest from each
run's result document. The suite runs against any executor (``seed_runner.executors``): the local one by default,
Dask, or a scheduler's own class.

- ``catalog``: the tests (id, description, rule, probe, judge) and ``-k`` selection (pure);
- ``recipes``: what each probe run is given (its files are made in the suite's work folder);
- ``tap`` and ``judges``: the verdicts, from the probes' TAP lines or from the result document (pure);
- ``images``: the probes' images, tagged by a hash of their files and built once;
- ``suite``: ``run_suite``, the Python twin of `seed conformance`; ``report``: its outcome, JSON and JUnit.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__all__ = ["run_suite", "ConformanceReport", "TestOutcome", "ConformanceError", "ConformanceTest", "TESTS"]

_EXPORTS = {"run_suite": "suite", "ConformanceReport": "report", "TestOutcome": "report",
            "ConformanceError": "images", "ConformanceTest": "catalog", "TESTS": "catalog"}

if TYPE_CHECKING:  # pragma: no cover
    from .catalog import TESTS, ConformanceTest
    from .images import ConformanceError
    from .report import ConformanceReport, TestOutcome
    from .suite import run_suite


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'seed_runner.conformance' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value
