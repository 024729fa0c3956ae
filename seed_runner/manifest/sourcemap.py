"""Where a JSON path is in the text of a document: the line and column a finding points at.

Findings name the member they are about by a JSON path (``$.job.interface.inputs.files[0].name``); an editor, a
code-scanning UI or a CI annotation wants a line and a column. ``locate`` reads the JSON text once with a small
tokenizer of its own and gives, for each path asked for, the position of its member's key (``"name"``), of its
array element's first character, or of the document itself for ``$``. A path that is not in the document (a
missing required member) gets the position of its nearest existing parent, marked not ``exact``.

Why not the ``json`` module: it gives no positions. Why not a source-map package (json-source-map on PyPI):
it recurses once a level (deep nesting raises RecursionError), keeps member names as written (``"\\u00e9"`` is
not decoded, so its pointer does not name the member) and takes any run of characters for a number or literal;
this one is iterative (any depth), never converts a number (400 digits are fine) and decodes member names with
``json.loads`` itself, so that escapes and surrogates read exactly as the parser read them. It accepts exactly
the text that ``json.loads`` accepts (NaN and Infinity included; the validator refuses those itself), which a
hypothesis test checks against ``json`` on generated and mutated documents; other text raises SourceMapError.

Only the members on the way to the paths asked for are walked here: every other value (a sibling of a member on
the way, or the value of a path's last member) is skipped whole by json's own C scanner, which reads it exactly as
``json.loads`` would and refuses what it refuses. A manifest with three findings thus costs a few dozen Python
steps, not one per token (profiled: the token-by-token walk was 60% of `seed validate` on such a manifest). A value
nested past the interpreter's recursion limit cannot be skipped by the C scanner (it raises RecursionError); it is
then walked here, iteratively, so any depth still works.
"""

from __future__ import annotations

import json
import re
from json.decoder import scanstring as _scanstring
from dataclasses import dataclass
from typing import Iterable, Sequence

from ..problems import Finding

__all__ = ["Position", "SourceMapError", "locate", "parse_json_path", "place_findings"]

PathParts = tuple[str | int, ...]

# JSON's whitespace; a string (unrolled: runs of plain characters between escapes, linear on any input); a
# number (ASCII digits only, as json's C scanner reads them); the literals json.loads accepts.
_SPACE = re.compile(r"[ \t\n\r]*")
_STRING = re.compile(r'"[^"\\\x00-\x1f]*(?:\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4})[^"\\\x00-\x1f]*)*"')
_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?")
# A member name without escapes, its colon and the whitespace around it: the name is its text as written.
_PLAIN_MEMBER = re.compile(r'"([^"\\\x00-\x1f]*)"[ \t\n\r]*:[ \t\n\r]*')
_LITERALS = ("true", "false", "null", "NaN", "Infinity", "-Infinity")
_CLOSING = {"{": "}", "[": "]"}


def _discard(_: object) -> None:
    return None


# json's own scanner (C when available), used to skip a value no path asked for. It converts no number (a
# 400-digit integer would pass Python's int limit) and keeps no object (each object's pairs become None).
_SKIPPER = json.JSONDecoder(parse_int=_discard, parse_float=_discard, parse_constant=_discard,
                            object_pairs_hook=_discard).scan_once


class SourceMapError(ValueError):
    """The text is not JSON that ``json.loads`` accepts."""


@dataclass(frozen=True, slots=True)
class Position:
    """A place in the text: ``offset`` counts characters from 0; ``line`` and ``column`` count from 1 (a column
    counts characters, as ``json.JSONDecodeError.colno`` does). ``exact``: False when the path itself is not in
    the document and this is its nearest existing parent."""

    offset: int
    line: int
    column: int
    exact: bool = True


class _Node:
    """A step of a path asked for: its children by key or index, and where it was found (None: not yet)."""

    __slots__ = ("children", "offset")

    def __init__(self) -> None:
        self.children: dict[str | int, _Node] = {}
        self.offset: int | None = None

    def forget(self) -> None:
        """A later duplicate of a member replaces its value: what was found below the earlier one is gone."""
        stack = [self]
        while stack:
            node = stack.pop()
            node.offset = None
            stack.extend(node.children.values())


def locate(text: str, paths: Iterable[Sequence[str | int]]) -> dict[PathParts, Position | None]:
    """The position of each path (its parts: member names and array indexes) in the JSON ``text``.

    A path not in the document maps to its nearest existing parent's position (``exact`` False); None only
    when not even ``$`` is there (never, for text that parses). Raises SourceMapError when ``text`` is not
    JSON (``json.loads`` would raise).
    """
    wanted = [tuple(p) for p in paths]
    root = _Node()
    for parts in wanted:
        node = root
        for part in parts:
            node = node.children.setdefault(part, _Node())
    _scan(text, root)
    found = {parts: _offset(root, parts) for parts in wanted}
    lines = _lines_and_columns(text, {offset for offset, _ in filter(None, found.values())})
    return {parts: None if where is None else Position(where[0], *lines[where[0]], where[1])
            for parts, where in found.items()}


def _scan(text: str, root: _Node) -> None:
    """One pass over ``text``; records the offsets of the nodes of the tree below ``root``.

    ``kinds`` holds the bracket of every open container, one list slot a level (a 5-million-deep document
    costs 40 MB here, and nothing on the call stack); ``followed`` the tree node and next index of each open
    container that is on a path asked for, which are always the outermost ones.
    """
    end = len(text)
    kinds: list[str] = []
    followed: list[list] = []  # [node, next array index]
    pos = _SPACE.match(text, 0).end()
    node: _Node | None = root  # the tree node of the value about to be read (None: not followed)
    root.offset = pos
    walk_below: int | None = None  # a skip ran out of recursion at this depth: walk everything deeper
    while True:
        # A value starts at pos.
        char = text[pos] if pos < end else ""
        skipped = None
        if walk_below is None and (node is None or not node.children):  # nothing asked for inside it
            skipped = _skip(text, pos)
            if skipped is None:
                walk_below = len(kinds)
        if skipped is not None:
            pos = skipped
        elif char in _CLOSING:
            pos = _SPACE.match(text, pos + 1).end()
            if pos < end and text[pos] == _CLOSING[char]:
                pos += 1  # {} or []: nothing inside
            else:
                if node is not None and len(followed) == len(kinds):
                    followed.append([node, 1])
                kinds.append(char)
                node, pos = _first_child(text, pos, char, followed, len(kinds))
                continue
        elif char == '"':
            pos = _string_end(text, pos)
        else:
            pos = _scalar_end(text, pos)
        # A value ended at pos: close containers, or move to the next member or element.
        while True:
            pos = _SPACE.match(text, pos).end()
            if not kinds:
                if pos != end:
                    raise SourceMapError(f"extra data at offset {pos}")
                return
            char = text[pos] if pos < end else ""
            if char == ",":
                pos = _SPACE.match(text, pos + 1).end()
                node, pos = _next_child(text, pos, kinds[-1], followed, len(kinds))
                break
            if char != _CLOSING[kinds[-1]]:
                raise SourceMapError(f"expected ',' or {_CLOSING[kinds[-1]]!r} at offset {pos}")
            if len(followed) == len(kinds):
                followed.pop()
            kinds.pop()
            if walk_below == len(kinds):  # the value too deep to skip is closed
                walk_below = None
            pos += 1


def _first_child(text: str, pos: int, kind: str, followed: list[list], depth: int) -> tuple[_Node | None, int]:
    """The first member or element of a container just opened (pos: after its bracket and whitespace)."""
    if kind == "[":
        parent = followed[-1][0] if len(followed) == depth else None
        return _found(parent, 0, pos), pos
    return _member(text, pos, followed, depth)


def _next_child(text: str, pos: int, kind: str, followed: list[list], depth: int) -> tuple[_Node | None, int]:
    """The member or element after a comma (pos: after the comma and whitespace)."""
    if kind == "[":
        if len(followed) != depth:
            return None, pos
        entry = followed[-1]
        entry[1] += 1
        return _found(entry[0], entry[1] - 1, pos), pos
    return _member(text, pos, followed, depth)


def _member(text: str, pos: int, followed: list[list], depth: int) -> tuple[_Node | None, int]:
    """A member's name, its colon and the whitespace after: (its tree node, where its value starts)."""
    plain = _PLAIN_MEMBER.match(text, pos)
    if plain is not None:  # the common case, in one step: a name without escapes reads as written
        parent = followed[-1][0] if len(followed) == depth else None
        node = _found(parent, plain.group(1), pos) if parent is not None and parent.children else None
        return node, plain.end()
    if not text.startswith('"', pos):
        raise SourceMapError(f"expected a member name in double quotes at offset {pos}")
    start, node = pos, None
    parent = followed[-1][0] if len(followed) == depth else None
    if parent is not None and parent.children:  # decoded by json itself: escapes and surrogates as it reads them
        try:
            key, pos = _scanstring(text, start + 1, True)
        except json.JSONDecodeError as exc:
            raise SourceMapError(f"{exc.msg} at offset {exc.pos}") from None
        node = _found(parent, key, start)
    else:
        pos = _string_end(text, pos)
    pos = _SPACE.match(text, pos).end()
    if not text.startswith(":", pos):
        raise SourceMapError(f"expected ':' at offset {pos}")
    return node, _SPACE.match(text, pos + 1).end()


def _found(parent: _Node | None, key: str | int, offset: int) -> _Node | None:
    node = parent.children.get(key) if parent is not None else None
    if node is not None:
        if node.offset is not None:
            node.forget()
        node.offset = offset
    return node


def _skip(text: str, pos: int) -> int | None:
    """The end of the value at ``pos``, read by json's scanner; None when it is nested too deep for it."""
    try:
        return _SKIPPER(text, pos)[1]
    except StopIteration:
        raise SourceMapError(f"expected a value at offset {pos}") from None
    except json.JSONDecodeError as exc:
        raise SourceMapError(f"{exc.msg} at offset {exc.pos}") from None
    except RecursionError:
        return None


def _string_end(text: str, pos: int) -> int:
    match = _STRING.match(text, pos)
    if match is None:
        raise SourceMapError(f"invalid string at offset {pos}")
    return match.end()


def _scalar_end(text: str, pos: int) -> int:
    for literal in _LITERALS:
        if text.startswith(literal, pos):
            return pos + len(literal)
    match = _NUMBER.match(text, pos)
    if match is None:
        raise SourceMapError(f"expected a value at offset {pos}")
    return match.end()


def _offset(root: _Node, parts: PathParts) -> tuple[int, bool] | None:
    """(offset of the path or of its nearest existing parent, whether it is the path itself)."""
    node, found = root, root.offset
    for part in parts:
        node = node.children[part]
        if node.offset is None:
            return None if found is None else (found, False)
        found = node.offset
    return None if found is None else (found, True)


def _lines_and_columns(text: str, offsets: set[int]) -> dict[int, tuple[int, int]]:
    """Line and column of each offset, counting the text's newlines once (in order), not once an offset."""
    out: dict[int, tuple[int, int]] = {}
    line, line_start, previous = 1, 0, 0
    for offset in sorted(offsets):
        newlines = text.count("\n", previous, offset)
        if newlines:
            line += newlines
            line_start = text.rfind("\n", previous, offset) + 1
        out[offset] = (line, offset - line_start + 1)
        previous = offset
    return out


# ---------------------------------------------------------------------------------------- JSON paths


_STEP = re.compile(r"\.([^.\[]+)|\[(\d+)\]|\['((?:[^'\\]|\\.)*)'\]", re.S)


def parse_json_path(path: str) -> PathParts | None:
    """The parts of a path ``seed_runner.problems.json_path`` wrote (``$.job.errors[0]['a b']``), or None when
    ``path`` is not one (a file path of a harvest problem, say)."""
    if not path.startswith("$"):
        return None
    parts: list[str | int] = []
    pos = 1
    while pos < len(path):
        match = _STEP.match(path, pos)
        if match is None:
            return None
        name, index, quoted = match.groups()
        if index is not None:
            parts.append(int(index))
        elif quoted is not None:
            parts.append(re.sub(r"\\(.)", r"\1", quoted, flags=re.S))
        else:
            parts.append(name)
        pos = match.end()
    return tuple(parts)


# ------------------------------------------------------------------------------------------ findings


def place_findings(findings: Sequence[Finding], text: str) -> list[Finding]:
    """``findings`` about the JSON ``text``, each placed (line, column) at its path or its nearest existing
    parent. A finding already placed (a syntax error) is kept as it is; all are kept unplaced when ``text`` is
    not JSON (a finding about the bytes, such as an encoding error, says where itself)."""
    paths = {f: parse_json_path(f.path) for f in findings if f.line is None and f.path}
    paths = {f: parts for f, parts in paths.items() if parts is not None}
    if not paths:
        return list(findings)
    try:
        positions = locate(text, set(paths.values()))
    except SourceMapError:
        return list(findings)
    placed = []
    for finding in findings:
        where = positions.get(paths[finding]) if finding in paths else None
        placed.append(finding if where is None else finding.at(where.line, where.column))
    return placed
