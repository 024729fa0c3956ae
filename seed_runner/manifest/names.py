"""Names the Seed spec derives from a manifest: environment variables and the image reference."""

from __future__ import annotations

import re
from functools import lru_cache

_NOT_VARIABLE_CHAR = re.compile(r"[^A-Z0-9_]")

# Variables the runner injects itself; inputs and settings may not take these names.
OUTPUT_DIR = "OUTPUT_DIR"
INPUT_METADATA = "INPUT_METADATA"
ALLOCATED_PREFIX = "ALLOCATED_"

LABEL = "com.ngageoint.seed.manifest"

# Resources the runner knows how to allocate (DECISIONS.md "Environment injection").
KNOWN_RESOURCES = ("cpus", "mem", "sharedMem", "disk", "gpus")

# Docker's limit on a tag's length.
MAX_TAG_LENGTH = 128

# Docker's reference grammar (github.com/distribution/reference, as vendored by engine 20.10), shared by
# `seed build` (checking the names it is about to create) and the registry client (names a registry sends).
# Go's \w is ASCII: so are these.
PATH_COMPONENT = re.compile(r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*")
REPOSITORY = re.compile(rf"{PATH_COMPONENT.pattern}(?:/{PATH_COMPONENT.pattern})*")
DOMAIN = re.compile(r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
                    r"(?:\.(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]))*(?::[0-9]+)?")
TAG = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")
DIGEST = re.compile(r"[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+")


@lru_cache(maxsize=4096)  # the same few names are normalized by many rules
def normalize_name(name: str) -> str:
    """SEED-RULES 4.1: upper-case, ``-`` to ``_``, anything else outside ``[A-Z0-9_]`` dropped.

    >>> normalize_name("inPut-File")
    'INPUT_FILE'
    """
    return _NOT_VARIABLE_CHAR.sub("", name.upper().replace("-", "_"))


# The Seed schema's name patterns: a job name, and every other name (inputs, outputs, mounts, settings, ...).
JOB_NAME = re.compile(r"[a-zA-Z0-9-]+")
SEED_NAME = re.compile(r"[a-zA-Z0-9_-]+")


def suggested_job_name(text: str, fallback: str = "my-job") -> str:
    """The job name to suggest for ``text``: one that passes every rule a job name meets (the schema's letters,
    digits and '-', rule 13's lower case) and Docker's repository grammar (no '-' first or last), so that two
    findings about one name never suggest two fixes.

    >>> suggested_job_name("Broken_Job")
    'broken-job'
    """
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or fallback


def suggested_variable_name(text: str, fallback: str = "MY_NAME") -> str:
    """The input, output, mount or setting name to suggest for ``text``: in the schema's pattern and already in
    its variable form (rule 8), so that the finding about its characters and the one about its form agree. A
    name in the pattern gets its own variable (``normalize_name``); another has each run of other characters
    turned into one '_'.

    >>> suggested_variable_name("input file"), suggested_variable_name("input-file")
    ('INPUT_FILE', 'INPUT_FILE')
    """
    if SEED_NAME.fullmatch(text):
        return normalize_name(text)
    return re.sub(r"[^A-Z0-9_]+", "_", text.upper().replace("-", "_")).strip("_") or fallback


def allocated_variable(resource_name: str) -> str:
    return ALLOCATED_PREFIX + normalize_name(resource_name)


def image_repository(name: str, job_version: str) -> str:
    """``<name>-<jobVersion>-seed``, the repository part of the image name (SEED-RULES 2)."""
    return f"{name}-{job_version}-seed"


def image_name(name: str, job_version: str, package_version: str) -> str:
    """``<name>-<jobVersion>-seed:<packageVersion>``."""
    return f"{image_repository(name, job_version)}:{package_version}"


def split_reference(reference: str) -> tuple[str, str | None, str | None]:
    """Split an image reference into (path without registry/org, tag, digest).

    ``registry:5000/org/my-job-1.0.0-seed:1.0.0`` -> (``my-job-1.0.0-seed``, ``1.0.0``, None).
    The tag is only looked for after the last ``/`` so that a registry's ``:port`` is not taken for it.
    """
    digest = None
    if "@" in reference:
        reference, digest = reference.split("@", 1)
    last = reference.rsplit("/", 1)[-1]
    tag = None
    if ":" in last:
        last, tag = last.rsplit(":", 1)
    return last, tag, digest


def looks_like_path(text: str) -> bool:
    """Whether a source or image argument is written as a path (then it is never taken for an image name)."""
    return text.startswith(("/", "./", "../", "~", ".\\")) or text.endswith(".json")
