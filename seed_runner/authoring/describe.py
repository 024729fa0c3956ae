"""What a user of a Seed job needs to know, gathered: `seed inspect` (one job) and `seed list` (the local Seed
images).

``describe(source)`` reads a manifest from a file, a job folder or a local image's label into a
``JobDescription``; ``list_seed_images()`` lists the images on the local engine that carry the Seed label, and
those with a ``-seed`` repository that do not. ``describe_render`` shows them (``print_description``, with the
ready-to-edit `seed run` line ``run_line`` that `seed build` prints too, and ``print_image_list``); the records
and the rendering are re-exported here.

Exit status of a failure (``DescribeError.exit_status``), as `seed inspect` uses them:
  1  the source holds no valid Seed manifest (invalid, or an image without a readable label)
  2  no such file, folder or local image (anything not on disk is taken for an image name), or a folder
     without a seed.manifest.json
  4  the engine does not answer (only asked when the source is an image)
"""

from __future__ import annotations

import re
import shlex
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Sequence

from ..errors import EngineUnavailableError, ImageNotFoundError, SeedRunnerError
from ..problems import Finding, Severity
from .describe_records import JobDescription, SeedImage
from .describe_render import json_example, print_description, print_image_list, run_line

__all__ = ["JobDescription", "DescribeError", "SeedImage", "describe", "run_line", "json_example",
           "print_description", "list_seed_images", "image_list_document", "print_image_list"]

EXIT_INVALID = 1
EXIT_USAGE = 2
EXIT_SYSTEM = 4

# The shape of `seed list --json`; bump on an incompatible change.
LIST_REPORT_VERSION = 1


class DescribeError(SeedRunnerError):
    """A source that cannot be described; one line, with ``exit_status`` (see the module docstring)."""

    def __init__(self, message: str, *, exit_status: int = EXIT_INVALID):
        super().__init__(message)
        self.exit_status = exit_status


# -- seed inspect -----------------------------------------------------------------------------------------


def describe(source: str | Path, *, engine: Any = None) -> JobDescription:
    """Read the job a file, a job folder or a local image (its ``com.ngageoint.seed.manifest`` label) holds.

    A source that exists on disk is a file or folder; anything else is an image reference on the local engine
    (never pulled). The image's name is not checked against the manifest here (``seed validate IMAGE`` does):
    a retagged image is still described. Raises ``DescribeError`` with an ``exit_status``.
    """
    from ..manifest.sources import read_file, resolve
    from ..validation import validate_document

    text = str(source)
    if not text:
        raise DescribeError("the source is empty; name a manifest file, a job folder or a local image",
                            exit_status=EXIT_USAGE)
    located = resolve(text)[0]
    if located.problem is not None:  # a folder without a manifest
        raise DescribeError(located.problem.message, exit_status=EXIT_USAGE)
    if located.kind == "image":
        return _describe_image(text, engine)
    document, findings = read_file(located.path or Path(text), text)
    if document is None and any(f.code == "source-not-found" for f in findings):
        raise DescribeError(f"{text}: no such file or folder; check the path", exit_status=EXIT_USAGE)
    if document is not None:
        findings = [*findings, *validate_document(document)]
    return _description(text, located.kind, document, findings, image=None)


_DIGEST = re.compile(r"[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]{32,}")


def _reference_problems(reference: str) -> list[str]:
    """Why ``reference`` names no image (Docker's reference grammar; a name may end in ``@digest``), or []."""
    from .docker_names import reference_problems

    name, at, digest = reference.partition("@")
    problems = reference_problems(name)
    if at and not _DIGEST.fullmatch(digest):
        problems.append(f"the digest {digest!r} is not algorithm:hex (such as sha256:...)")
    return problems


def _describe_image(reference: str, engine: Any) -> JobDescription:
    from ..engine.images import inspect_image
    from ..validation import validate_document
    from ..validation.image_rules import image_document

    problems = _reference_problems(reference)
    if problems:  # the engine would refuse it as a malformed reference (and seem unavailable)
        raise DescribeError(f"no such file, folder or local image: {reference!r} is not a file or folder and not an "
                            f"image name ({'; '.join(problems)}); check the name", exit_status=EXIT_USAGE)
    try:
        image = inspect_image(engine, reference)
    except ImageNotFoundError:
        raise DescribeError(f"no file, folder or local image named {reference!r}; check the name (`seed list` "
                            "shows the local Seed images) or build or pull the image first",
                            exit_status=EXIT_USAGE) from None
    except EngineUnavailableError as exc:
        raise DescribeError(str(exc), exit_status=EXIT_SYSTEM) from None
    document, findings = image_document(image)
    if document is not None:
        findings = [*findings, *validate_document(document, image_env=image.env)]
    return _description(reference, "image", document, findings, image=reference)


def _description(source: str, kind: str, document: Any, findings: list[Finding], *,
                 image: str | None) -> JobDescription:
    from ..problems import has_errors
    from ..manifest.model import Manifest

    if document is None or has_errors(findings):
        errors = [f for f in findings if f.severity is Severity.ERROR]
        first = errors[0].message if errors and errors[0].path == "$" else \
            f"{errors[0].path}: {errors[0].message}" if errors else "it cannot be read"
        more = f" (and {len(errors) - 1} more; `seed validate {shlex.quote(source)}` lists them)" \
            if len(errors) > 1 else ""
        raise DescribeError(f"{source} holds no valid Seed manifest: {first}{more}")
    manifest = Manifest.from_dict(document)
    warnings = tuple(f for f in findings if f.severity is Severity.WARNING)
    return JobDescription(source, kind, manifest, document, image or manifest.image_name, warnings)


# -- seed list --------------------------------------------------------------------------------------------


def list_seed_images(docker_client: Any = None) -> list[SeedImage]:
    """The Seed images on the local engine, sorted by name and versions.

    An image is listed when it carries the ``com.ngageoint.seed.manifest`` label, or when one of its tags has a
    repository ending in ``-seed`` (then ``labeled`` is False: registries would list it as a Seed image, but
    it is not one). Untagged images (left behind by rebuilds) are not listed. The label is read, not validated
    (``seed validate IMAGE`` does that). Raises EngineUnavailableError when the engine does not answer.
    """
    from ..manifest.image import ImageInfo
    from ..manifest.label import decode_label
    from ..manifest.names import LABEL, split_reference
    from ..validation.image_rules import image_name_findings

    if docker_client is None:  # our client: each call bounded as a whole, as `seed run`'s (the SDK's timeout is
        from ..engine.images import connect  # per read, so an engine that trickles held it for good)

        summaries = connect().list_images()
    else:
        try:
            summaries = docker_client.api.images()
        except Exception as exc:  # noqa: BLE001 - requests' or docker's errors: the engine went away
            raise EngineUnavailableError(f"the Docker engine could not list its images ({exc}); check that it "
                                         "runs") from None
    images = []
    for summary in summaries:
        tags = tuple(sorted(t for t in summary.get("RepoTags") or () if t != "<none>:<none>"))
        if not tags:
            continue
        labels = summary.get("Labels") or {}
        label = labels.get(LABEL)
        seed_named = any(split_reference(t)[0].endswith("-seed") for t in tags)
        if label is None and not seed_named:
            continue
        image_id = str(summary.get("Id", ""))
        image = SeedImage(id=image_id, references=tags, size=int(summary.get("Size") or 0),
                          created=datetime.fromtimestamp(summary.get("Created") or 0, tz=timezone.utc), labeled=True)
        if label is None:  # only its -seed names matter: the others are not Seed names at all
            images.append(replace(image, labeled=False,
                                  references=tuple(t for t in tags if split_reference(t)[0].endswith("-seed")),
                                  problem=f"no {LABEL} label: not a Seed image; rebuild it with `seed build`"))
            continue
        document, findings = decode_label(label)
        job = document.get("job") if isinstance(document, dict) else None
        if not isinstance(job, dict):
            images.append(replace(image, problem=findings[0].message if findings else "the label holds no job"))
            continue

        def text(key: str) -> str | None:
            value = job.get(key)
            return value if isinstance(value, str) else None

        info = ImageInfo(reference=image_id, id=image_id, repo_tags=tags, labels=labels, env={})
        naming = next(iter(image_name_findings(info, document)), None)
        images.append(replace(image, name=text("name"), job_version=text("jobVersion"),
                              package_version=text("packageVersion"), title=text("title"),
                              problem=naming.message if naming else None))
    return sorted(images, key=lambda i: (i.name or i.references[0], i.job_version or "", i.package_version or "",
                                         i.created))


def image_list_document(images: Sequence[SeedImage]) -> dict[str, Any]:
    """`seed list --json`: ``{"reportVersion": 1, "seedRunner": ..., "images": [SeedImage.to_dict(), ...]}``."""
    from .. import __version__

    return {"reportVersion": LIST_REPORT_VERSION, "seedRunner": __version__,
            "images": [image.to_dict() for image in images]}
