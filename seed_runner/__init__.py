"""seed-runner: validate and run Seed jobs.

The package is a library first; the ``seed`` command is a thin skin over it::

    import seed_runner

    result = seed_runner.validate("path/to/seed.manifest.json")
    for finding in result.findings:
        print(finding.severity, finding.code, finding.path, finding.message)

    manifest = seed_runner.load_manifest("path/to/job")   # typed, defaults filled, raises if invalid

    result = seed_runner.run(seed_runner.RunRequest("image-watermark-0.1.0-seed:0.1.0",
                                                    file_inputs={"INPUT_IMAGE": ["input.png"]}))
    result.exit_status                  # 0, as `seed run` would exit
    result.output_paths("OUTPUT_IMAGE") # the output's files, absolute paths (the document's are relative)

``dir(seed_runner)`` lists every public name (``__all__``), though each is imported on first use.

Names are imported lazily so that ``import seed_runner`` (and so the CLI) starts fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS = {
    "load_manifest": "seed_runner.api",
    "validate": "seed_runner.api",
    "validate_all": "seed_runner.api",
    "validate_document": "seed_runner.validation",
    "ValidationResult": "seed_runner.validation",
    "Problem": "seed_runner.problems",
    "Finding": "seed_runner.problems",
    "Severity": "seed_runner.problems",
    "Manifest": "seed_runner.manifest.model",
    "normalize_name": "seed_runner.manifest.names",
    "parse_command": "seed_runner.runtime.command",
    "expand_command": "seed_runner.runtime.command",
    "run": "seed_runner.runtime.runner",
    "harvest_folder": "seed_runner.runtime.runner",
    "RunRequest": "seed_runner.runtime.plan",
    "make_plan": "seed_runner.runtime.plan",
    "harvest": "seed_runner.outputs.harvesting",
    "Harvest": "seed_runner.outputs.harvesting",
    "read_sidecar": "seed_runner.outputs.sidecar",
    "Sidecar": "seed_runner.outputs.sidecar",
    "search": "seed_runner.registry.publishing",
    "pull": "seed_runner.registry.publishing",
    "publish": "seed_runner.registry.publishing",
    "SeedRunnerError": "seed_runner.errors",
    "InvalidManifestError": "seed_runner.errors",
    "schema_path": "seed_runner.manifest.schemas",
    "load_schema": "seed_runner.manifest.schemas",
    "RunStore": "seed_runner.store",
    "runs": "seed_runner.store.history",
    "batch": "seed_runner.batches.start",
    "resume_batch": "seed_runner.batches.start",
    "BatchResult": "seed_runner.batches.running",
    "test_job": "seed_runner.testing.suite",
    "TestReport": "seed_runner.testing.report",
    "RunResult": "seed_runner.runtime.run_result",
    "Outcome": "seed_runner.runtime.outcome",
    "RunError": "seed_runner.runtime.outcome",
    "PlanError": "seed_runner.runtime.plan",
    "check_pipeline": "seed_runner.pipelines.checking",
    "load_pipeline": "seed_runner.pipelines.loading",
    "run_pipeline": "seed_runner.pipelines.start",
    "resume_pipeline": "seed_runner.pipelines.start",
    "PipelineResult": "seed_runner.pipelines.running",
}

__all__ = [*_EXPORTS, "__version__"]

if TYPE_CHECKING:  # pragma: no cover
    from .runtime.command import expand_command, parse_command
    from .errors import InvalidManifestError, SeedRunnerError
    from .problems import Finding, Problem, Severity
    from .outputs.harvesting import Harvest, harvest
    from .runtime.plan import RunRequest, make_plan
    from .registry.publishing import publish, pull, search
    from .runtime.runner import harvest_folder, run
    from .outputs.sidecar import Sidecar, read_sidecar
    from .api import load_manifest, validate, validate_all
    from .manifest.model import Manifest
    from .manifest.names import normalize_name
    from .manifest.schemas import load_schema, schema_path
    from .validation import ValidationResult, validate_document
    from .store import RunStore
    from .store.history import runs
    from .batches.start import batch, resume_batch
    from .batches.running import BatchResult
    from .testing.report import TestReport
    from .testing.suite import test_job
    from .runtime.run_result import RunResult
    from .runtime.outcome import Outcome, RunError
    from .runtime.plan import PlanError


def __dir__() -> list[str]:
    """The public names too, though they are imported on first use: ``dir(seed_runner)`` and IDEs list them."""
    return sorted({*globals(), *__all__})


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'seed_runner' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
