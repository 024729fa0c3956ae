"""seed-runner: validate and run Seed jobs.

The package is a library first; the ``seed`` command is a thin skin over it::

    import seed_runner

    result = seed_runner.validate("path/to/seed.manifest.json")
    for finding in result.findings:
        print(finding.severity, finding.code, finding.path, finding.message)

    manifest = seed_runner.load_manifest("path/to/job")   # typed, defaults filled, raises if invalid

Names are imported lazily so that ``import seed_runner`` (and so the CLI) starts fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS = {
    "load_manifest": "seed_runner.loading",
    "validate": "seed_runner.validation",
    "validate_all": "seed_runner.validation",
    "validate_document": "seed_runner.validation",
    "ValidationResult": "seed_runner.validation",
    "Finding": "seed_runner.findings",
    "Severity": "seed_runner.findings",
    "Manifest": "seed_runner.model",
    "normalize_name": "seed_runner.names",
    "parse_command": "seed_runner.command",
    "expand_command": "seed_runner.command",
    "run": "seed_runner.runner",
    "harvest_folder": "seed_runner.runner",
    "RunRequest": "seed_runner.plan",
    "make_plan": "seed_runner.plan",
    "harvest": "seed_runner.harvesting",
    "Harvest": "seed_runner.harvesting",
    "read_sidecar": "seed_runner.sidecar",
    "Sidecar": "seed_runner.sidecar",
    "search": "seed_runner.publishing",
    "pull": "seed_runner.publishing",
    "publish": "seed_runner.publishing",
    "SeedRunnerError": "seed_runner.errors",
    "InvalidManifestError": "seed_runner.errors",
    "schema_path": "seed_runner.schemas",
    "load_schema": "seed_runner.schemas",
}

__all__ = [*_EXPORTS, "__version__"]

if TYPE_CHECKING:  # pragma: no cover
    from .command import expand_command, parse_command
    from .errors import InvalidManifestError, SeedRunnerError
    from .findings import Finding, Severity
    from .harvesting import Harvest, harvest
    from .plan import RunRequest, make_plan
    from .publishing import publish, pull, search
    from .runner import harvest_folder, run
    from .sidecar import Sidecar, read_sidecar
    from .loading import load_manifest
    from .model import Manifest
    from .names import normalize_name
    from .schemas import load_schema, schema_path
    from .validation import ValidationResult, validate, validate_all, validate_document


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'seed_runner' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
