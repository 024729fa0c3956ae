"""The records `seed inspect` and `seed list` report: a described job (``JobDescription``) and a Seed image
on the local engine (``SeedImage``). Data only: ``describe`` gathers them, ``describe_render`` shows them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Mapping

from ..problems import Finding

if TYPE_CHECKING:  # annotations only
    from ..manifest.model import Manifest

__all__ = ["JobDescription", "SeedImage"]


@dataclass(frozen=True)
class JobDescription:
    """A job as `seed inspect` shows it."""

    source: str
    """The source as named: a path or an image reference."""
    kind: str
    """``file``, ``directory`` or ``image``."""
    manifest: "Manifest"
    document: Mapping[str, Any]
    """The manifest document itself: the file's content, or the image label's (what ``--json`` prints)."""
    image: str
    """The image to run: the reference named, or for a file the name ``seed build`` gives it."""
    warnings: tuple[Finding, ...] = ()


@dataclass(frozen=True)
class SeedImage:
    """An image on the local engine that carries the Seed label, or has a ``-seed`` repository without it."""

    id: str
    references: tuple[str, ...]
    """Its tags (``repository:tag``), sorted."""
    size: int
    """Bytes, as the engine reports them."""
    created: datetime
    """When the image was built (UTC)."""
    labeled: bool
    """Whether it carries the ``com.ngageoint.seed.manifest`` label."""
    name: str | None = None
    job_version: str | None = None
    package_version: str | None = None
    title: str | None = None
    problem: str | None = None
    """Why it is not a proper Seed image (no label, a label that does not parse, a name that does not match
    the manifest), or None."""

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "references": list(self.references), "name": self.name,
                "jobVersion": self.job_version, "packageVersion": self.package_version, "title": self.title,
                "size": self.size, "created": self.created.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "labeled": self.labeled, "problem": self.problem}
