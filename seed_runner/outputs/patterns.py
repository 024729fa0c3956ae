"""Output patterns: which names a file output's ``pattern`` matches, by the harvest's glob(7) rules (see
``seed_runner.outputs.harvesting``), with or without an output folder at hand."""

from __future__ import annotations

import fnmatch
import re
from typing import Callable

OUTPUTS_JSON = "seed.outputs.json"
METADATA_SUFFIX = ".metadata.json"

_MAGIC = re.compile(r"[*?[]")


def pattern_components(pattern: str) -> list[str] | None:
    """The path components of a pattern; [] when nothing can match (empty, or ends in ``/`` which only
    directories match), None when it is absolute or climbs with ``..`` (the validator refuses both)."""
    if pattern.startswith("/"):
        return None
    parts = pattern.split("/")
    if ".." in parts:
        return None
    if parts[-1] == "":
        return []
    return [part for part in parts if part not in ("", ".")]


def pattern_matches(pattern: str, path: str) -> bool:
    """Whether an output ``pattern`` captures the file at ``path`` (POSIX, relative to the output folder), by
    the harvest's own rules; for tools that need the answer without a folder (``seed init``)."""
    parts = pattern_components(pattern)
    names = path.split("/")
    if not parts or len(parts) != len(names):
        return False
    for part, name in zip(parts, names):
        matcher = component_matcher(part)
        if not (matcher(name) if matcher else part == name):
            return False
    return True


def component_matcher(component: str) -> Callable[[str], bool] | None:
    """None for a literal component; else glob(7) matching of one name (fnmatch, hidden names only for a
    component that starts with a dot)."""
    if not _MAGIC.search(component):
        return None
    matches = re.compile(fnmatch.translate(component)).match
    if component.startswith("."):
        return lambda name: matches(name) is not None
    return lambda name: not name.startswith(".") and matches(name) is not None
