"""JSON inputs: command-line text to values, type checks against the manifest, and the text the job sees."""

from __future__ import annotations

import json
from typing import Any


class JsonText(str):
    """A JSON input as typed on a command line: parsed against the input's type by make_plan."""


# Findings of text that is no JSON at all: for a string input, such text is the value itself.
_NOT_JSON = {"invalid-json", "empty-document"}


def parse_json_input(text: str, expected: str) -> Any:
    """A ``-j NAME=VALUE`` value: strict JSON text (no NaN, bounded size and depth, nothing a JSON reader
    cannot hold), or for a string input any text that is not JSON."""
    from ..manifest.jsontext import parse_json_text

    value, findings = parse_json_text(text, what="JSON input", refuse_huge_numbers=True)
    errors = [f for f in findings if f.severity == "error"]
    if not errors:
        return value
    if expected == "string" and all(f.code in _NOT_JSON for f in errors):
        return text
    raise ValueError(_located(errors[0]))


def _located(finding: Any) -> str:
    return finding.message if finding.path in (None, "$") else f"{finding.message} (at {finding.path})"


def json_type_problem(value: Any, expected: str) -> str | None:
    """Why ``value`` is not of the manifest's JSON ``type`` (a boolean is not an integer), or None.

    A value no JSON reader can hold (a number past a 64-bit float, NaN, a lone surrogate, deep nesting, a
    Python object of no JSON type) is never of any type.
    """
    from ..manifest.json_limits import value_findings

    unfit = value_findings(value, what="JSON input")
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    ok = {
        "string": isinstance(value, str),
        "boolean": isinstance(value, bool),
        "integer": number and isinstance(value, int),
        "number": number,
        "object": isinstance(value, dict),
        "array": isinstance(value, list),
    }[expected] and not (number and unfit)
    if not ok:
        return f"must be a JSON {expected}, got {_shown(value, number and bool(unfit))}"
    if unfit:
        return f"cannot be passed as JSON: {_located(unfit[0])}"
    return None


def _shown(value: Any, unfit_number: bool) -> str:
    if unfit_number:
        return "NaN" if value != value else "a number too large for a 64-bit float (over 1.8e308)"
    try:
        shown = json.dumps(value)
    except (TypeError, ValueError):  # no JSON value at all (a Python object)
        shown = type(value).__name__
    return shown if len(shown) <= 40 else shown[:37] + "..."


def encode_json_input(value: Any, expected: str) -> str:
    """DECISIONS "Environment injection": strings raw, objects and arrays compact, scalars as JSON literals."""
    if expected == "string":
        return value
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
