"""Strict JSON reading with findings instead of exceptions.

Manifests come from files, directories and image labels; whatever the bytes are (empty, huge,
not UTF-8, NaN, nested 10,000 deep, duplicated keys) the reader answers with findings that say
where the problem is, never with a traceback.

- ``parse_json_text``: a small document (a manifest, an image label, ``seed.outputs.json``) with findings,
  duplicated member names included;
- ``parse_json_document``: a document of any size (a metadata sidecar), fast, problems as one-line messages;
- ``json_kind`` and ``json_excerpt``: how messages name and show a JSON value.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from ..problems import Finding, Severity, error, json_path, warning
from .json_limits import (MANIFEST_DOCUMENTS, MAX_NESTING, NumberGuard, may_hold_surrogates, may_need_checking,
                          too_deep_message, value_findings)

__all__ = ["MAX_DOCUMENT_BYTES", "MAX_NESTING", "json_excerpt", "json_kind", "parse_json_document",
           "parse_json_text", "value_findings"]

# A manifest is a few KiB; anything this large is not one, and reading it whole would only waste memory.
MAX_DOCUMENT_BYTES = 10 * 1024 * 1024


class _ObjectWithDuplicates(dict):
    """A JSON object in which some member names appeared more than once (the last value won)."""

    duplicates: list[str]


def _mark_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    seen: set[str] = set()
    twice = []
    for key, _ in pairs:
        if key in seen and key not in twice:
            twice.append(key)
        seen.add(key)
    marked = _ObjectWithDuplicates(obj)
    marked.duplicates = twice
    return marked


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not valid JSON")


def _line_column(text: str, offset: int) -> tuple[int, int]:
    line = text.count("\n", 0, offset) + 1
    column = offset - (text.rfind("\n", 0, offset) + 1) + 1
    return line, column


def _empty_message(what: str) -> str:
    if what in MANIFEST_DOCUMENTS:
        return f"the {what} is empty; a Seed manifest is a JSON object with 'seedVersion' and 'job'"
    return f"the {what} is empty; it must hold one JSON object"


def parse_json_text(data: bytes | str, *, what: str = "manifest", refuse_huge_numbers: bool = False
                    ) -> tuple[Any, list[Finding]]:
    """Parse ``data`` as one strict JSON document.

    Returns ``(value, findings)``; ``value`` is None when the findings hold an error. ``what`` names the
    document in messages ("manifest", "image label", "seed.outputs.json", ...). Values that JSON allows but
    no reader can carry are errors at their JSON path: lone surrogate escapes (``invalid-string``) and nesting
    deeper than MAX_NESTING (``too-deeply-nested``). A number past a 64-bit float reads as infinity, for
    readers that judge values one by one (``json_type_problem``); with ``refuse_huge_numbers`` it is an
    error too (``number-too-large``).
    """
    if len(data) > MAX_DOCUMENT_BYTES:
        mib = len(data) / 1048576
        return None, [error("document-too-large", "$",
                            f"the {what} is {mib:.1f} MiB, over the {MAX_DOCUMENT_BYTES // 1048576} MiB limit; "
                            f"a {what} is a small JSON object, check that this is the right file")]
    if isinstance(data, bytes):
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            before = data[: exc.start].decode("utf-8", "replace").removeprefix("\ufeff")
            line, column = _line_column(before, len(before))  # counted in characters, as the text's columns are
            return None, [error("invalid-encoding", "$",
                                f"byte 0x{data[exc.start]:02x} at line {line}, column {column} is not valid UTF-8; "
                                f"save the {what} as UTF-8").at(line, column)]
    else:
        text = data.removeprefix("\ufeff")
    if not text.strip():
        return None, [error("empty-document", "$", _empty_message(what))]
    members = 0

    def count_members(obj: dict[str, Any]) -> dict[str, Any]:
        nonlocal members
        members += len(obj)
        return obj

    numbers = NumberGuard()
    try:
        value = json.loads(text, object_hook=count_members, parse_constant=_reject_constant,
                           parse_int=numbers.parse_int, parse_float=numbers.parse_float)
    except json.JSONDecodeError as exc:
        hint = ""
        if "double quotes" in exc.msg or "delimiter" in exc.msg or "Expecting value" in exc.msg:
            hint = " (look for a trailing comma, a missing comma or an unclosed bracket)"
        return None, [error("invalid-json", "$",
                            f"malformed JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}{hint}"
                            ).at(exc.lineno, exc.colno)]
    except ValueError as exc:  # NaN / Infinity
        return None, [error("invalid-json", "$", f"malformed JSON: {exc}; use a number or a string instead"
                            ).at(*_first_token_at(text, r"-?Infinity|NaN"))]
    except RecursionError:
        return None, [_too_deep(text, what)]
    if (refuse_huge_numbers and numbers.huge) or may_need_checking(text):
        unfit = value_findings(value, what=what, numbers=refuse_huge_numbers)
        if unfit:  # too deep: placed at the bracket that opens one level too many (the other findings by path)
            return None, [f.at(*_too_deep_at(text)) if f.code == "too-deeply-nested" else f for f in unfit]
    findings: list[Finding] = []
    if members != text.count(":") and members != _structural_colons(text):
        # A member name appeared twice in an object (the parsed objects kept fewer members than the text has
        # colons between a name and its value): read again, noting each object's pairs, to say where.
        value = _strip_duplicates(json.loads(text, object_pairs_hook=_pairs_hook, parse_constant=_reject_constant,
                                             parse_int=numbers.parse_int, parse_float=numbers.parse_float),
                                  (), findings)
    return value, findings


# A JSON string token (the text parsed already, so the first quote found opens one).
_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"')


def _structural_colons(text: str) -> int:
    """The colons of JSON ``text`` outside strings: one a member, so the number of members the text holds. (The
    cheaper ``text.count(":")`` also counts colons inside strings: it is exact only when no string holds one.)"""
    return _STRING.sub("", text).count(":")


def _pairs_hook(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    return obj if len(obj) == len(pairs) else _mark_duplicates(pairs)


def _too_deep(text: str, what: str) -> Finding:
    line, column = _too_deep_at(text)
    where = f"at line {line}, column {column}" if line is not None else ""
    return error("too-deeply-nested", "$", too_deep_message(what, where)).at(line, column)


def _first_token_at(text: str, pattern: str) -> tuple[int, int] | tuple[None, None]:
    """Line and column of the first match of ``pattern`` outside strings, or (None, None)."""
    for token in re.finditer(r'"(?:[^"\\]|\\.)*"|' + pattern, text):
        if not token.group().startswith('"'):
            return _line_column(text, token.start())
    return None, None


def _too_deep_at(text: str) -> tuple[int, int] | tuple[None, None]:
    """Line and column of the bracket that opens one level too many (strings skipped), or (None, None)."""
    depth = 0
    for token in re.finditer(r'"(?:[^"\\]|\\.)*"|[\[\]{}]', text):
        if token.group() in "[{":
            depth += 1
            if depth > MAX_NESTING:
                return _line_column(text, token.start())
        elif token.group() in "]}":
            depth -= 1
    return None, None


def _strip_duplicates(value: Any, path: tuple, findings: list[Finding]) -> Any:
    """Report duplicated member names with their path and turn marked objects back into plain dicts.

    Iterative (a stack, not recursion), so that no nesting depth can raise RecursionError here."""
    def plain(node: Any) -> Any:
        return dict(node) if isinstance(node, dict) else list(node) if isinstance(node, list) else node

    root = plain(value)
    stack = [(root, path, value)]
    while stack:
        copy, where, original = stack.pop()
        if isinstance(original, _ObjectWithDuplicates):
            for key in original.duplicates:
                findings.append(warning(
                    "duplicate-key", json_path((*where, key)),
                    f"member '{key}' appears more than once; JSON readers keep only the last value, remove the others"))
        keys = list(copy) if isinstance(copy, dict) else range(len(copy)) if isinstance(copy, list) else ()
        for key in reversed(keys):  # pushed in reverse, popped in document order
            child = copy[key]
            if isinstance(child, (dict, list)):
                copy[key] = plain(child)
                stack.append((copy[key], (*where, key), child))
    return root


# ------------------------------------------------------------------------------- documents of any size


# Python holds a parsed JSON array or object in about 60 bytes or more and every other value in about 30 (a
# float 24, plus the slot that points to it): a file of tiny arrays ("[],[],...", 3 bytes each) would take 30
# times its size, a dense point cloud ("[1.0,2.0],", 10 bytes a point) about 13. A document is read only when its
# estimated size in memory stays within this many times the file's, so that a 100 MiB side-car never takes
# many gigabytes (and minutes) to parse, while real point clouds still are.
MAX_MEMORY_PER_BYTE = 16
_CONTAINER_BYTES, _VALUE_BYTES = 64, 32


def _too_heavy(data: bytes, what: str) -> str | None:
    """Why ``data`` would take too much memory parsed, from a count of its brackets and commas (brackets in
    strings count too: the estimate errs high), or None. Documents under 1 MiB are never refused."""
    if len(data) < 1 << 20:
        return None
    containers = data.count(b"[") + data.count(b"{")
    values = data.count(b",") + containers + 1
    estimate = containers * _CONTAINER_BYTES + values * _VALUE_BYTES
    if estimate <= MAX_MEMORY_PER_BYTE * len(data):
        return None
    return (f"the {what} holds about {containers:,} arrays and objects and {values:,} values in "
            f"{len(data) / 1048576:.0f} MiB: parsed it would take about {estimate / 1048576:,.0f} MiB of memory, more "
            f"than {MAX_MEMORY_PER_BYTE} times its size; write fewer, larger arrays (or split the data)")


def parse_json_document(data: bytes, *, what: str) -> tuple[Any, list[str]]:
    """Strict JSON (UTF-8, no NaN or Infinity) of any size; problems carry line and column.

    The C parser alone reads valid documents (fast, even at 100 MB); ``parse_json_text`` explains the
    invalid ones it can hold, so messages read the same as the manifest validator's. Duplicated member
    names are not reported (the last value wins).
    """
    if (too_heavy := _too_heavy(data, what)) is not None:
        return None, [too_heavy]
    # A number such as 1e999 parses as infinity, which no JSON writer can give back: check floats one by
    # one only when the bytes hold an exponent or a run of digits long enough to overflow.
    parse_float = _finite_float if re.search(_MAYBE_HUGE_NUMBER, data) else None
    try:
        value = json.loads(data.decode("utf-8-sig"), parse_constant=_refuse_constant, parse_float=parse_float)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        failure = exc
    else:
        # A lone surrogate escape reads as a str no UTF-8 writer can write: looked for only when one may be there.
        unfit = value_findings(value, what=what) if may_hold_surrogates(data) else []
        return (None, [f"{f.message} (at {f.path})" for f in unfit]) if unfit else (value, [])
    if isinstance(failure, _HugeNumber):
        return None, [str(failure)]
    if len(data) <= MAX_DOCUMENT_BYTES:
        _, findings = parse_json_text(data, what=what)
        errors = [f.message for f in findings if f.severity is Severity.ERROR]
        if errors:
            return None, errors
    if isinstance(failure, json.JSONDecodeError):
        return None, [f"malformed JSON at line {failure.lineno}, column {failure.colno}: {failure.msg}"]
    if isinstance(failure, UnicodeDecodeError):
        return None, [f"byte 0x{data[failure.start]:02x} at offset {failure.start} is not valid UTF-8; "
                      f"write the {what} as UTF-8"]
    if isinstance(failure, RecursionError):
        return None, [too_deep_message(what)]
    return None, [f"malformed JSON: {failure}"]


def _refuse_constant(name: str) -> None:
    # The whole message: only a document over MAX_DOCUMENT_BYTES shows it (parse_json_text words the others).
    raise ValueError(f"{name} is not valid JSON; use a number or a string instead")


# A pattern, not a compiled one: re compiles it on first use (re's cache), not on every import.
_MAYBE_HUGE_NUMBER = rb"[eE]\+?0*[1-9][0-9]{2}|[0-9]{300}"


class _HugeNumber(ValueError):
    pass


def _finite_float(text: str) -> float:
    value = float(text)
    if math.isinf(value):
        raise _HugeNumber(f"the number {_clipped(text, 20)} is too large for a 64-bit float; "
                          f"write a smaller number")
    return value


# -------------------------------------------------------------------------------------------- messages


def json_kind(value: Any) -> str:
    """'an array', 'a number', ...: how a message names a JSON value's kind."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"


def json_excerpt(value: Any) -> str:
    """The value as JSON, cut to 40 characters: how a message shows it."""
    return _clipped(json.dumps(value), 40)


def _clipped(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 3] + "..."
