"""What a Dockerfile needs from the engine: the base images it builds from (``FROM``) or copies from
(``COPY --from``), with its ``ARG`` defaults and the build arguments expanded, as Docker's parser reads them.

`seed build` uses it to refuse a base image that is not local before the classic builder would pull it. Pure:
the text is read, no engine is asked.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from typing import Iterable, Mapping

__all__ = ["BaseImage", "base_images"]


@dataclass(frozen=True)
class BaseImage:
    """An image a Dockerfile builds from (``FROM``) or copies from (``COPY --from``)."""

    reference: str
    line: int
    """The Dockerfile line where the instruction starts (1-based)."""
    instruction: str
    """``FROM`` or ``COPY --from``."""
    variables: tuple[str, ...] = ()
    """Build arguments the reference was expanded from (``BASE_IMAGE``), to suggest ``--build-arg``."""


_VARIABLE = re.compile(r"\\\$|\$\{(\w+)(?::([-+])([^}]*))?\}|\$(\w+)")


def _expand(text: str, variables: Mapping[str, str | None]) -> tuple[str, tuple[str, ...]]:
    """Dockerfile variable substitution (``$V``, ``${V}``, ``${V:-word}``, ``${V:+word}``) and the names used."""
    used: list[str] = []

    def replace(match: re.Match[str]) -> str:
        if match.group(0) == "\\$":
            return "$"
        name = match.group(1) or match.group(4)
        used.append(name)
        value = variables.get(name)
        operator, word = match.group(2), match.group(3)
        if operator == "-":
            return value if value else word
        if operator == "+":
            return word if value else ""
        return value or ""

    return _VARIABLE.sub(replace, text), tuple(used)


def _instructions(text: str) -> Iterable[tuple[int, str, str]]:
    """(line, INSTRUCTION, arguments) of each instruction: continuation lines joined, comments dropped."""
    escape = "\\"
    lines = text.splitlines()
    for line in lines:  # parser directives: only at the very top
        directive = re.fullmatch(r"\s*#\s*(\w+)\s*=\s*(\S+)\s*", line)
        if not directive:
            break
        if directive.group(1).lower() == "escape" and directive.group(2) in ("\\", "`"):
            escape = directive.group(2)
    pending: list[str] = []
    start = 0
    for number, line in enumerate(lines, 1):
        stripped = line.strip()
        if stripped.startswith("#") or (not stripped and not pending):
            continue
        if not pending:
            start = number
        if stripped.endswith(escape):
            pending.append(stripped[:-1])
            continue
        pending.append(stripped)
        joined = " ".join(p for p in pending if p)
        pending = []
        word, _, rest = joined.partition(" ")
        yield start, word.upper(), rest.strip()


def _arg_pairs(arguments: str) -> list[tuple[str, str | None]]:
    try:
        words = shlex.split(arguments)
    except ValueError:
        words = arguments.split()
    pairs = []
    for word in words:
        name, sep, value = word.partition("=")
        pairs.append((name, value if sep else None))
    return pairs


def base_images(dockerfile: str, build_args: Mapping[str, str] | None = None) -> list[BaseImage]:
    """The images a Dockerfile needs from the engine: every ``FROM`` that is not ``scratch`` or an earlier
    stage, and every ``COPY --from`` that names an image, with ``ARG`` defaults and ``build_args`` expanded.

    >>> [b.reference for b in base_images("ARG BASE=busybox:1\\nFROM ${BASE} AS b\\nFROM b\\nCOPY --from=x:2 a b")]
    ['busybox:1', 'x:2']
    """
    given = dict(build_args or {})
    global_args: dict[str, str | None] = {}
    stages: set[str] = set()
    found: list[BaseImage] = []
    seen_from = False
    for line, instruction, arguments in _instructions(dockerfile):
        if instruction == "ARG" and not seen_from:
            for name, default in _arg_pairs(arguments):
                global_args[name] = given.get(name, default)  # a build argument counts only for a declared ARG
        elif instruction == "FROM":
            seen_from = True
            words = [w for w in arguments.split() if not w.startswith("--")]
            if not words:
                continue
            reference, used = _expand(words[0], global_args)
            if reference and reference.lower() != "scratch" and reference.lower() not in stages:
                found.append(BaseImage(reference, line, "FROM", used))
            if len(words) >= 3 and words[1].lower() == "as":
                stages.add(words[2].lower())
        elif instruction in ("COPY", "ADD"):
            for word in arguments.split():
                if not word.startswith("--"):
                    break
                source = word[len("--from="):] if word.startswith("--from=") else None
                if source and "$" not in source and not source.isdigit() and source.lower() not in stages:
                    found.append(BaseImage(source, line, "COPY --from"))
    return found
