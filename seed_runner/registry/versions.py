"""Seed versions: SemVer 2.0.0 precedence (``semver_key``), bumping a version (``bump_version``) and writing
bumped versions into a ``seed.manifest.json`` text (``bumped_manifest_text``)."""

from __future__ import annotations

import json
import re
from typing import Any

__all__ = ["BUMP_PARTS", "semver_key", "bump_version", "bumped_manifest_text"]

_SEMVER = re.compile(r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
                     r"(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?"
                     r"(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$")
BUMP_PARTS = ("major", "minor", "patch")


def semver_key(version: str) -> tuple | None:
    """A sort key by SemVer 2.0.0 precedence (a pre-release sorts before its release); None if not SemVer."""
    match = _SEMVER.match(version)
    if not match:
        return None
    major, minor, patch, pre = int(match[1]), int(match[2]), int(match[3]), match[4]
    if pre is None:
        return (major, minor, patch, 1, ())
    ids = tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in pre.split("."))
    return (major, minor, patch, 0, ids)


def bump_version(version: str, part: str) -> str:
    """``1.2.3-rc.1`` bumped: major ``2.0.0``, minor ``1.3.0``, patch ``1.2.4`` (pre-release and build dropped)."""
    match = _SEMVER.match(version)
    if not match:
        raise ValueError(f"{version!r} is not a SemVer version (MAJOR.MINOR.PATCH)")
    if part not in BUMP_PARTS:
        raise ValueError(f"{part!r} is not one of {', '.join(BUMP_PARTS)}")
    major, minor, patch = int(match[1]), int(match[2]), int(match[3])
    if part == "major":
        return f"{major + 1}.0.0"
    if part == "minor":
        return f"{major}.{minor + 1}.0"
    return f"{major}.{minor}.{patch + 1}"


def bumped_manifest_text(text: str, document: dict[str, Any], changes: dict[str, str]) -> str:
    """The manifest text with new versions: the value edited in place when it occurs once (formatting kept),
    else the document written anew."""
    new_text = text
    for key, new in changes.items():
        pattern = re.compile(r'("%s"\s*:\s*")%s(")' % (key, re.escape(document["job"][key])))
        if len(pattern.findall(new_text)) != 1:
            new_text = None
            break
        new_text = pattern.sub(lambda m: m.group(1) + new + m.group(2), new_text)
    if new_text is not None:
        try:
            check = json.loads(new_text)["job"]
            if all(check.get(k) == v for k, v in changes.items()):
                return new_text
        except (ValueError, KeyError, TypeError):
            pass
    rewritten = json.loads(text)
    rewritten["job"].update(changes)
    return json.dumps(rewritten, indent=2, ensure_ascii=False) + "\n"
