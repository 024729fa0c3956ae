"""Exceptions a user can cause; each message is one line naming the problem and the fix."""

from __future__ import annotations

from typing import Sequence

from .problems import Finding


class SeedRunnerError(Exception):
    """Base class: anything the CLI reports as one line instead of a traceback."""


class SourceNotFoundError(SeedRunnerError):
    pass


class EngineUnavailableError(SeedRunnerError):
    pass


class ImageNotFoundError(SeedRunnerError):
    pass


class InvalidManifestError(SeedRunnerError):
    """A manifest with errors; ``findings`` holds all of them."""

    def __init__(self, source: str, findings: Sequence[Finding]):
        self.source = source
        self.findings = tuple(findings)
        errors = [f for f in self.findings if f.severity == "error"]
        first = errors[0] if errors else None
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        detail = f"{first.path}: {first.message}" if first else "invalid"
        super().__init__(f"{source} is not a valid Seed manifest: {detail}{more}")
