"""What a harvest returns: the captured files, the JSON output values, the input-metadata updates and the
problems (``Harvest`` and ``Harvest.to_dict()``, the result-document fragment described in
``seed_runner.outputs.harvesting``), and the one error a harvest raises."""

from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Mapping

from ..errors import SeedRunnerError
from ..problems import Problem

if TYPE_CHECKING:  # names for annotations only; the sidecar module is imported when a sidecar is read
    from .sidecar import Sidecar

FAILURE_ORDER = ("missing-required-output", "unexpected-multiple-outputs", "invalid-outputs-json",
                 "invalid-metadata")
"""Failure codes from the most basic to the least: ``Harvest.failures`` is sorted this way."""

HarvestProblem = Problem
"""The name harvest problems had before every layer shared ``seed_runner.problems.Problem`` (kept for
compatibility): warnings have severity warning, failures severity error."""


class HarvestError(SeedRunnerError):
    """The output folder itself cannot be harvested (missing, not a folder, not listable)."""


@dataclass(frozen=True, slots=True)
class CapturedFile:
    output: str
    """The name of the file output that captured it."""
    path: str
    """POSIX path relative to the output folder (for a symbolic link, the link's path)."""
    size: int
    sha256: str
    media_type: str
    metadata: Sidecar | None = None
    """The valid sidecar beside the file, if there is one."""
    metadata_path: str | None = None
    """The sidecar's path when there is one, valid or not."""

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "size": self.size, "sha256": self.sha256, "media_type": self.media_type,
                "metadata_path": self.metadata_path,
                "metadata": None if self.metadata is None else self.metadata.to_dict()}


@dataclass(frozen=True)
class Harvest:
    """What an output folder holds for a manifest (see ``seed_runner.outputs.harvesting`` for every rule)."""

    files: Mapping[str, tuple[CapturedFile, ...]]
    """By output name, every file output of the manifest (an empty tuple when nothing was captured)."""
    json: Mapping[str, Any]
    """JSON output values by output name; absent or ill-typed ones are left out."""
    input_metadata: Mapping[str, Sidecar] = field(default_factory=lambda: MappingProxyType({}))
    warnings: tuple[Problem, ...] = ()
    """Problems of severity warning."""
    failures: tuple[Problem, ...] = ()
    """Problems of severity error, in ``FAILURE_ORDER``."""

    @property
    def failure(self) -> Problem | None:
        """The failure that decides the run's outcome (its ``code`` is the error name), or None."""
        return self.failures[0] if self.failures else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "outputs": {name: {"files": [f.to_dict() for f in captured]} for name, captured in self.files.items()},
            "json_outputs": dict(self.json),
            "input_metadata": {name: sidecar.to_dict() for name, sidecar in self.input_metadata.items()},
            "warnings": [w.to_dict() for w in self.warnings],
            "failures": [f.to_dict() for f in self.failures],
        }
