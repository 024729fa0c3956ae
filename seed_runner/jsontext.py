"""Strict JSON reading with findings instead of exceptions.

Manifests come from files, directories and image labels; whatever the bytes are (empty, huge,
not UTF-8, NaN, nested 10,000 deep, duplicated keys) the reader answers with findings that say
where the problem is, never with a traceback.
"""

from __future__ import annotations

import json
from typing import Any

from .findings import Finding, error, json_path, warning

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


def parse_json_text(data: bytes | str, *, what: str = "manifest") -> tuple[Any, list[Finding]]:
    """Parse ``data`` as one strict JSON document.

    Returns ``(value, findings)``; ``value`` is None when the findings hold an error.
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
            line, column = _line_column(data[: exc.start].decode("utf-8", "replace"), exc.start)
            return None, [error("invalid-encoding", "$",
                                f"byte 0x{data[exc.start]:02x} at line {line}, column {column} is not valid UTF-8; "
                                f"save the {what} as UTF-8")]
    else:
        text = data.removeprefix("\ufeff")
    if not text.strip():
        return None, [error("empty-document", "$",
                            f"the {what} is empty; a Seed manifest is a JSON object with 'seedVersion' and 'job'")]
    duplicates_seen = False

    def object_hook(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        nonlocal duplicates_seen
        obj = dict(pairs)
        if len(obj) == len(pairs):
            return obj
        duplicates_seen = True
        return _mark_duplicates(pairs)

    try:
        value = json.loads(text, object_pairs_hook=object_hook, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        hint = ""
        if "double quotes" in exc.msg or "delimiter" in exc.msg or "Expecting value" in exc.msg:
            hint = " (look for a trailing comma, a missing comma or an unclosed bracket)"
        return None, [error("invalid-json", "$",
                            f"malformed JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}{hint}")]
    except ValueError as exc:  # NaN / Infinity
        return None, [error("invalid-json", "$", f"malformed JSON: {exc}; use a number or a string instead")]
    except RecursionError:
        return None, [error("too-deeply-nested", "$",
                            f"the {what} nests arrays or objects too deeply to be a manifest; check the file")]
    findings: list[Finding] = []
    if duplicates_seen:
        value = _strip_duplicates(value, (), findings)
    return value, findings


def _strip_duplicates(value: Any, path: tuple, findings: list[Finding]) -> Any:
    """Report duplicated member names with their path and turn marked objects back into plain dicts."""
    if isinstance(value, dict):
        if isinstance(value, _ObjectWithDuplicates):
            for key in value.duplicates:
                findings.append(warning(
                    "duplicate-key", json_path((*path, key)),
                    f"member '{key}' appears more than once; JSON readers keep only the last value, remove the others"))
        return {k: _strip_duplicates(v, (*path, k), findings) for k, v in value.items()}
    if isinstance(value, list):
        return [_strip_duplicates(v, (*path, i), findings) for i, v in enumerate(value)]
    return value
