"""``-k PATTERN``, the same for `seed test` (case names) and `seed conformance` (test ids). Pure.

A pattern with a glob character (``*``, ``?``, ``[``) is a glob of the whole name (``env.json-*``); any other is a
part of the name (``json``), as pytest's simple ``-k``. Either ignores case. A name is selected when any of the
patterns matches it; no pattern (or only empty ones) selects every name.
"""

from __future__ import annotations

import fnmatch
from typing import Callable, Iterable, TypeVar

__all__ = ["matches", "patterns_of", "select_by_name"]

T = TypeVar("T")
_GLOB = frozenset("*?[")


def matches(name: str, pattern: str) -> bool:
    """Whether ``pattern`` selects ``name`` (see the module's doc)."""
    name, pattern = name.casefold(), pattern.casefold()
    if _GLOB.intersection(pattern):
        return fnmatch.fnmatchcase(name, pattern)
    return pattern in name


def patterns_of(select: str | Iterable[str] | None) -> list[str]:
    """``select`` as a list of the patterns given (one text is one pattern; empty ones are dropped)."""
    given = [select] if isinstance(select, str) else list(select or ())
    return [pattern for pattern in given if pattern]


def select_by_name(items: Iterable[T], select: str | Iterable[str] | None, name: Callable[[T], str]) -> list[T]:
    """The items whose ``name(item)`` any pattern of ``select`` matches, in their order (all for no pattern)."""
    patterns = patterns_of(select)
    chosen = list(items)
    if not patterns:
        return chosen
    return [item for item in chosen if any(matches(name(item), p) for p in patterns)]
