"""The names and patterns a `seed init` request gives, checked and put in the form the job sees, before a
file is written: the job name (lower-case, Docker-friendly), input, output and setting names (their variable
form, ``input-file`` -> ``INPUT_FILE``), JSON types, output patterns and the base image. Anything that cannot
become a valid name is refused with a ``ScaffoldError`` naming the fix.
"""

from __future__ import annotations

import difflib
import fnmatch
import re
from pathlib import Path

from ..errors import SeedRunnerError
from ..manifest.names import ALLOCATED_PREFIX, INPUT_METADATA, OUTPUT_DIR, normalize_name

__all__ = ["ScaffoldError", "JSON_TYPES", "job_name_from", "job_name", "variable_name", "environment_name",
           "split_pair", "json_type_of", "file_for", "check_pattern", "check_base_image"]

JSON_TYPES = ("array", "boolean", "integer", "number", "object", "string")

# Variables a job's runtime depends on: an input or setting by that name would replace them in the container.
_RUNTIME_VARIABLES = {"PATH", "HOME", "IFS", "PWD", "OLDPWD", "SHELL", "HOSTNAME", "LD_PRELOAD", "LD_LIBRARY_PATH",
                      "PYTHONPATH", "PYTHONHOME", "PYTHONUNBUFFERED", "PYTHONDONTWRITEBYTECODE", "PYTHONSAFEPATH"}
_SEED_NAME = re.compile(r"[A-Za-z0-9_-]+")
_JOB_NAME = re.compile(r"[A-Za-z0-9-]+")


class ScaffoldError(SeedRunnerError):
    """A request `seed init` refuses; one line naming the problem and the fix (exit status 2)."""

    exit_status = 2


# -- names ------------------------------------------------------------------------------------------------


def job_name_from(text: str) -> str:
    """A valid, Docker-friendly job name made from any text (a folder's name): lower-case letters, digits and
    single dashes.

    >>> job_name_from("My_Cool Job.v2")
    'my-cool-job-v2'
    """
    name = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return name or "seed-job"


def job_name(name: str | None, directory: Path) -> str:
    if name is None:
        return job_name_from(directory.resolve().name)
    if not _JOB_NAME.fullmatch(name):
        raise ScaffoldError(f"job name {name!r} is not valid: a Seed job name has letters, digits and '-' only; "
                            f"try {job_name_from(name)!r}")
    if name.startswith("-"):
        raise ScaffoldError(f"job name {name!r} starts with '-', which a Docker image name cannot; "
                            f"try {job_name_from(name)!r}")
    return name.lower()  # Docker repository names are lower-case (SEED-RULES 2)


def variable_name(kind: str, text: str) -> str:
    """An input, output or setting name in the variable form the job sees (``input-file`` -> ``INPUT_FILE``)."""
    if not _SEED_NAME.fullmatch(text):
        suggestion = re.sub(r"[^A-Za-z0-9]+", "_", text).strip("_").upper()
        hint = f"; try {suggestion!r}" if suggestion and suggestion[0].isalpha() else ""
        raise ScaffoldError(f"{kind} name {text!r} is not valid: Seed names have letters, digits, '_' and '-' "
                            f"only{hint}")
    variable = normalize_name(text)
    if not variable[0].isalpha():
        raise ScaffoldError(f"{kind} name {text!r} does not start with a letter, so the job cannot read its "
                            f"variable {variable} in a shell; start it with a letter")
    return variable


def environment_name(kind: str, text: str, taken: dict[str, str]) -> str:
    """Inputs and settings become environment variables: refuse reserved, runtime and duplicate ones."""
    variable = variable_name(kind, text)
    if variable in (OUTPUT_DIR, INPUT_METADATA) or variable.startswith(ALLOCATED_PREFIX):
        raise ScaffoldError(f"{kind} name {text!r} becomes {variable}, a variable the runner injects itself; "
                            "choose another name")
    if variable in _RUNTIME_VARIABLES:
        raise ScaffoldError(f"{kind} name {text!r} would replace the container's {variable} variable; choose "
                            "another name")
    if variable in taken:
        raise ScaffoldError(f"{kind} name {text!r} and {taken[variable]} both become the variable {variable}; "
                            "give each its own name")
    taken[variable] = f"{kind} {text!r}"
    return variable


def split_pair(kind: str, item: str | tuple[str, str | None]) -> tuple[str, str | None]:
    if isinstance(item, tuple):
        return item[0], item[1]
    name, sep, rest = item.partition(":")
    if not name:
        raise ScaffoldError(f"{kind} {item!r} has no name; write NAME or NAME:...")
    return name, (rest if sep else None)


def json_type_of(kind: str, name: str, json_type: str | None) -> str:
    json_type = (json_type or "string").strip().lower()
    if json_type not in JSON_TYPES:
        close = difflib.get_close_matches(json_type, JSON_TYPES, n=1, cutoff=0.5)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise ScaffoldError(f"{kind} {name!r}: type {json_type!r} is not a JSON type ({', '.join(JSON_TYPES)})"
                            f"{hint}")
    return json_type


# -- output patterns: the scaffolded job writes one file per output, a name its pattern matches ------------


def _component_for(component: str, stem: str) -> str | None:
    """A file name that the glob ``component`` matches (``*`` becomes ``stem``), or None."""
    out: list[str] = []
    i = 0
    while i < len(component):
        char = component[i]
        if char == "*":
            out.append(stem)
        elif char == "?":
            out.append("x")
        elif char == "[" and (end := component.find("]", i + 2 if component[i + 1:i + 2] in ("!", "^") else i + 1)
                              ) > i:
            expression = component[i:end + 1]
            choice = next((c for c in "xabcdefghijklmnopqrstuvwyz0123456789-_"
                           if fnmatch.fnmatchcase(c, expression)), None)
            if choice is None:
                return None
            out.append(choice)
            i = end
        else:
            out.append(char)
        i += 1
    name = "".join(out)
    return name if fnmatch.fnmatchcase(name, component) else None


def file_for(pattern: str, variable: str) -> str:
    stem = variable.lower().replace("_", "-")
    parts = [p for p in pattern.split("/") if p not in ("", ".")]
    files = [_component_for(part, stem) for part in parts]
    if not parts or any(f is None or (f.startswith(".") and not p.startswith(".")) for f, p in zip(files, parts)):
        raise ScaffoldError(f"output {variable}: cannot make a file name that pattern {pattern!r} matches; give "
                            "a simpler pattern such as '*.txt'")
    return "/".join(f for f in files if f is not None)


def check_pattern(variable: str, pattern: str) -> None:
    if not pattern.strip():
        raise ScaffoldError(f"output {variable}: the pattern is empty; give a glob such as '*.txt'")
    if pattern.startswith("/"):
        raise ScaffoldError(f"output {variable}: pattern {pattern!r} is absolute; patterns are relative to "
                            f"OUTPUT_DIR, write {pattern.lstrip('/')!r}")
    parts = pattern.split("/")
    if ".." in parts:
        raise ScaffoldError(f"output {variable}: pattern {pattern!r} climbs out of OUTPUT_DIR with '..'")
    if "**" in pattern:
        raise ScaffoldError(f"output {variable}: pattern {pattern!r} uses '**', which is not recursive in Seed; "
                            "name the subfolder, e.g. 'sub/*.txt'")
    if parts[-1] == "seed.outputs.json" or parts[-1].endswith(".metadata.json"):
        raise ScaffoldError(f"output {variable}: pattern {pattern!r} names seed.outputs.json or a side-car "
                            "(*.metadata.json), which are not outputs; choose another pattern")


# -- the base image: it goes into the Dockerfile as written -----------------------------------------------


_DIGEST = re.compile(r"[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]{32,}")


def check_base_image(base_image: str) -> None:
    """Refuse a base image that is not an image reference (it goes into the Dockerfile as written)."""
    from .docker_names import reference_problems

    name, at, digest = base_image.partition("@")
    problems = reference_problems(name)
    if at and not _DIGEST.fullmatch(digest):
        problems.append(f"the digest {digest!r} is not one Docker accepts (algorithm:hex, such as sha256:...)")
    if problems:
        raise ScaffoldError(f"the base image {base_image!r} is not an image name: {'; '.join(problems)}")
