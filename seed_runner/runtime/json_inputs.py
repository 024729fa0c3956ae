"""JSON inputs: command-line text to values, type checks against the manifest, and the text the job sees."""

from __future__ import annotations

import json
import math
from typing import Any


class JsonText(str):
    """A JSON input as typed on a command line: parsed against the input's type by make_plan."""


def parse_json_input(text: str, expected: str) -> Any:
    """A ``-j NAME=VALUE`` value: strict JSON text (no NaN, bounded size and depth), or for a string input
    any text that is not JSON."""
    from ..manifest.jsontext import parse_json_text

    value, findings = parse_json_text(text, what="JSON input")
    errors = [f for f in findings if f.severity == "error"]
    if not errors:
        return value
    if expected == "string":
        return text
    raise ValueError(errors[0].message)


def json_type_problem(value: Any, expected: str) -> str | None:
    """Why ``value`` is not of the manifest's JSON ``type`` (a boolean is not an integer), or None."""
    ok = {
        "string": isinstance(value, str),
        "boolean": isinstance(value, bool),
        "integer": isinstance(value, int) and not isinstance(value, bool),
        "number": isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value),
        "object": isinstance(value, dict),
        "array": isinstance(value, list),
    }[expected]
    if ok:
        return None
    shown = json.dumps(value)
    shown = shown if len(shown) <= 40 else shown[:37] + "..."
    return f"must be a JSON {expected}, got {shown}"


def encode_json_input(value: Any, expected: str) -> str:
    """DECISIONS "Environment injection": strings raw, objects and arrays compact, scalars as JSON literals."""
    if expected == "string":
        return value
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
