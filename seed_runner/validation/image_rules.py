"""Rule 17: a Seed image carries a parseable label and is named after its manifest."""

from __future__ import annotations

from typing import Any, Iterator

from ..problems import Finding, error
from ..manifest.image import ImageInfo
from ..manifest.label import decode_label
from ..manifest.names import LABEL, image_name, image_repository, split_reference


def image_document(image: ImageInfo) -> tuple[Any, list[Finding]]:
    """The manifest document in the image's label, or findings saying why there is none."""
    label = image.manifest_label
    if label is None:
        return None, [error("missing-label", "$",
                            f"image {image.reference!r} has no {LABEL} label, so it is not a Seed image; "
                            "build it with `seed build` or add the label")]
    return decode_label(label)


def _is_id(reference: str) -> bool:
    ref = reference.removeprefix("sha256:")
    return len(ref) >= 12 and all(c in "0123456789abcdef" for c in ref) and ":" not in reference[7:]


def image_name_findings(image: ImageInfo, doc: Any) -> Iterator[Finding]:
    """Check the reference the user named, or, for an image id, every tag the image has."""
    job = doc.get("job") if isinstance(doc, dict) else None
    fields = [job.get(k) if isinstance(job, dict) else None for k in ("name", "jobVersion", "packageVersion")]
    names = list(image.repo_tags) if _is_id(image.reference) else [image.reference]
    if not names:
        yield error("image-name-mismatch", "$", f"image {image.reference!r} has no name; tag it "
                    + (repr(image_name(*fields)) if all(isinstance(f, str) for f in fields) else "<name>-<jobVersion>-seed:<packageVersion>"))
        return
    results = [_check_name(name, fields) for name in names]
    if any(not problems for problems in results):
        return
    yield from results[0]


def _check_name(reference: str, fields: list[Any]) -> list[Finding]:
    repository, tag, _digest = split_reference(reference)
    problems = []
    if not repository.endswith("-seed"):
        problems.append(error("image-repository-suffix", "$",
                              f"repository {repository!r} does not end in '-seed', so registries cannot find it as "
                              "a Seed image; tag it <name>-<jobVersion>-seed:<packageVersion>"))
    if all(isinstance(f, str) for f in fields):
        expected_repo = image_repository(fields[0], fields[1])
        tag = tag or "latest"
        # Docker names are lower-case; rule 13 warns about upper-case job names separately.
        if repository not in (expected_repo, expected_repo.lower()) or tag != fields[2]:
            problems.append(error("image-name-mismatch", "$",
                                  f"image {repository}:{tag} does not match its manifest, which names it "
                                  f"{image_name(*fields)!r}; retag it (docker tag) or fix the manifest's name and "
                                  "versions"))
    return problems
