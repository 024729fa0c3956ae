"""Docker's naming rules for the images `seed build` tags: the Seed image name and any image reference.

``docker_name_problems`` says why Docker cannot hold the Seed name ``<name>-<jobVersion>-seed:<packageVersion>``,
``reference_problems`` why a reference breaks Docker's grammar; each problem names the fix. Pure: no engine.
"""

from __future__ import annotations

from ..manifest.names import DOMAIN, MAX_TAG_LENGTH, PATH_COMPONENT, TAG, image_name

__all__ = ["docker_name_problems", "reference_problems", "MAX_NAME_LENGTH"]

MAX_NAME_LENGTH = 255  # a whole name, domain included


def docker_name_problems(name: str, job_version: str, package_version: str) -> list[str]:
    """Why Docker cannot hold the Seed image name ``<name>-<jobVersion>-seed:<packageVersion>`` (SEED-RULES 2).

    Each problem names the manifest member at fault and the fix; an empty list means the name is fine.

    >>> docker_name_problems("my-job", "1.0.0", "1.0.0")
    []
    """
    problems = []
    if name != name.lower():
        problems.append(f"job.name {name!r} has upper-case letters, which a Docker repository name cannot hold; "
                        f"rename the job {name.lower()!r}")
    if "+" in job_version:
        problems.append(f"job.jobVersion {job_version!r} has build metadata ('+...'), which a Docker repository "
                        "name cannot hold; drop the '+...' part")
    if "+" in package_version:
        problems.append(f"job.packageVersion {package_version!r} has build metadata ('+...'), which a Docker tag "
                        "cannot hold; drop the '+...' part")
    if len(package_version) > MAX_TAG_LENGTH:
        problems.append(f"job.packageVersion is {len(package_version)} characters and becomes the image's tag, "
                        f"which Docker limits to {MAX_TAG_LENGTH}; shorten it")
    if problems:
        return problems
    # Anything else the grammar refuses (a job name starting with '-', say): say so in Docker's terms.
    return [p.replace("the repository", "the repository (job.name-jobVersion-seed)")
            for p in reference_problems(image_name(name, job_version, package_version))]


def reference_problems(reference: str) -> list[str]:
    """Why ``reference`` is not a name Docker can tag an image with (its reference grammar), or [].

    >>> reference_problems("registry.example:5000/org/my-job-1.0.0-seed:1.0.0")
    []
    >>> reference_problems("My-Job:1")
    ["the repository 'My-Job' has upper-case letters; Docker repository names are lower-case"]
    """
    if not reference:
        return ["it is empty"]
    if "@" in reference:
        return ["a digest (@sha256:...) names an existing image; give a name and a tag to build"]
    name, tag = reference, None
    last_slash = reference.rfind("/")
    colon = reference.rfind(":")
    if colon > last_slash:
        name, tag = reference[:colon], reference[colon + 1:]
    problems = []
    domain, path = _split_domain(name)
    if domain is not None and not DOMAIN.fullmatch(domain):
        problems.append(f"the registry part {domain!r} is not a host name (with an optional :port)")
    components = path.split("/")
    if path != path.lower():
        problems.append(f"the repository {path!r} has upper-case letters; Docker repository names are lower-case")
    elif "+" in path:
        problems.append(f"the repository {path!r} has a '+', which Docker repository names cannot hold")
    elif not all(PATH_COMPONENT.fullmatch(c) for c in components):
        problems.append(f"the repository {path!r} is not one Docker accepts: each '/'-separated part is lower-case "
                        "letters and digits, separated by '.', '_', '__' or dashes, and starts and ends with a "
                        "letter or digit")
    if len(name) > MAX_NAME_LENGTH:
        problems.append(f"the name is {len(name)} characters; Docker allows at most {MAX_NAME_LENGTH}")
    if tag is not None:
        if len(tag) > MAX_TAG_LENGTH:
            problems.append(f"the tag is {len(tag)} characters; Docker allows at most {MAX_TAG_LENGTH}")
        elif "+" in tag:
            problems.append(f"the tag {tag!r} has a '+', which Docker tags cannot hold")
        elif not TAG.fullmatch(tag):
            problems.append(f"the tag {tag!r} is not one Docker accepts: letters, digits, '_', '.' and '-', "
                            "not starting with '.' or '-'")
    return problems


def _split_domain(name: str) -> tuple[str | None, str]:
    """Docker's rule: the first part is a registry when it has a '.' or ':', is 'localhost', or has capitals."""
    first, sep, rest = name.partition("/")
    if sep and (any(c in first for c in ".:") or first == "localhost" or first != first.lower()):
        return first, rest
    return None, name
