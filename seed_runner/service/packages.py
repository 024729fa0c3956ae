"""OGC Application Packages (Part 2: Deploy, Replace, Undeploy, draft) whose execution unit is a Docker image:
read, and checked against the image's Seed manifest. Pure.

A package is ``{"executionUnit": {"type": "docker", "image": REF}, "processDescription": {"process": {...}}}``
(``processDescription`` optional). The process description is always derived from the image's manifest; one in
the package may only repeat it: an ``id``, ``version``, or set of input or output names that disagrees is refused.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Mapping

if TYPE_CHECKING:
    from ..manifest.model import Manifest

MEDIA_TYPE = "application/ogcapppkg+json"
_REFERENCE = re.compile(r"^[a-z0-9][a-z0-9._-]*(:[0-9]{1,5})?(/[a-z0-9][a-z0-9._-]*)*(:[A-Za-z0-9_][A-Za-z0-9._-]{0,127})?"
                        r"(@sha256:[0-9a-f]{64})?$")


class BadPackage(ValueError):
    """A package this server cannot deploy (400)."""


@dataclass(frozen=True)
class Package:
    image: str
    document: Mapping[str, Any]


def read_package(body: Any) -> Package:
    if not isinstance(body, Mapping):
        raise BadPackage("an application package is a JSON object with \"executionUnit\"")
    unit = body.get("executionUnit")
    if isinstance(unit, list) and len(unit) == 1:
        unit = unit[0]
    if isinstance(unit, Mapping) and isinstance(unit.get("unit"), Mapping):  # the qualified form
        unit = unit["unit"]
    if not isinstance(unit, Mapping) or unit.get("type") not in ("docker", "oci"):
        raise BadPackage("executionUnit must be {\"type\": \"docker\", \"image\": REFERENCE}: this server deploys "
                         "Seed images only")
    image = unit.get("image")
    if not isinstance(image, str) or len(image) > 255 or not _REFERENCE.match(image) or ".." in image:
        raise BadPackage("executionUnit.image must be an image reference, e.g. registry.example.org/org/"
                         "my-job-1.0.0-seed:1.0.0")
    description = body.get("processDescription")
    if description is not None and (not isinstance(description, Mapping) or
                                    not isinstance(description.get("process"), Mapping)):
        raise BadPackage("processDescription must be {\"process\": {...}}")
    return Package(image, dict(body))


def check_agrees(package: Package, manifest: "Manifest") -> None:
    """Refuse a package whose process description disagrees with the image's manifest."""
    description = package.document.get("processDescription")
    if description is None:
        return
    process = description["process"]
    job = manifest.job
    if "id" in process and process["id"] != job.name:
        raise BadPackage(f"the package names process {str(process['id'])[:80]!r}, but the image's manifest names "
                         f"job {job.name!r}")
    if "version" in process and process["version"] != job.job_version:
        raise BadPackage(f"the package says version {str(process['version'])[:40]!r}, the image's manifest "
                         f"{job.job_version!r}")
    interface = job.interface
    for kind, names in (("inputs", {s.name for s in (*interface.file_inputs, *interface.json_inputs)}),
                        ("outputs", {s.name for s in (*interface.file_outputs, *interface.json_outputs)})):
        given = process.get(kind)
        if isinstance(given, Mapping) and set(given) != names:
            raise BadPackage(f"the package's {kind} ({', '.join(sorted(map(str, given))) or 'none'}) are not the "
                             f"image's ({', '.join(sorted(names)) or 'none'})")
