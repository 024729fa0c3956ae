"""JSON outputs: the members of ``OUTPUT_DIR/seed.outputs.json`` a manifest's JSON outputs name, read and
type-checked (the rules are in ``seed_runner.outputs.harvesting``)."""

from __future__ import annotations

import math
from typing import Any, Sequence

from ..manifest.model import JsonOutput
from ..problems import Problem, error, warning
from .output_folder import OutputFolder
from .patterns import OUTPUTS_JSON


def read_json_outputs(folder: OutputFolder, outputs: Sequence[JsonOutput]) -> tuple[dict[str, Any], list[Problem]]:
    """The well-typed values by output name, and the problems: errors (failures) where a required output is
    concerned, warnings where only optional ones are."""
    problems: list[Problem] = []
    if not outputs:
        return {}, problems

    def report(fatal: bool, message: str) -> None:
        problems.append((error if fatal else warning)("invalid-outputs-json", OUTPUTS_JSON, message))

    required = [o.name for o in outputs if o.required]

    def whole_file(reason: str) -> tuple[dict[str, Any], list[Problem]]:
        if required:
            report(True, f"{OUTPUTS_JSON} {reason}; the required JSON output(s) {', '.join(required)} cannot be read")
        else:
            report(False, f"{OUTPUTS_JSON} {reason}; the optional JSON output(s) "
                          f"{', '.join(o.name for o in outputs)} are left out")
        return {}, problems

    from ..manifest.jsontext import MAX_DOCUMENT_BYTES, json_kind, parse_json_text

    # A small object: one byte over parse_json_text's limit is enough to refuse a larger file.
    data, reason = folder.read_entry(folder.root, OUTPUTS_JSON, MAX_DOCUMENT_BYTES + 1)
    if data is None:
        return whole_file(reason or "is missing")
    document, findings = parse_json_text(data, what=OUTPUTS_JSON)
    errors = [f for f in findings if f.severity == "error"]
    if errors:
        return whole_file("is unusable: " + errors[0].message)
    for finding in findings:
        report(False, f"{OUTPUTS_JSON}: {finding.path}: {finding.message}")
    if not isinstance(document, dict):
        return whole_file(f"must hold a JSON object, got {json_kind(document)}")
    from ..runtime.json_inputs import json_type_problem

    values: dict[str, Any] = {}
    for output in outputs:
        about = f"member '{output.key}' (JSON output {output.name})"
        if output.key not in document:
            if output.required:
                report(True, f"{OUTPUTS_JSON}: {about} is required but missing")
            continue
        value = document[output.key]
        problem = json_type_problem(value, output.type) or _infinity_problem(value)
        if problem:
            left = "" if output.required else "; the optional output is left out"
            report(output.required, f"{OUTPUTS_JSON}: {about} {problem}{left}")
        else:
            values[output.name] = value
    return values, problems


def _infinity_problem(value: Any) -> str | None:
    """JSON outputs go into the result document: a number such as 1e999 (infinity) could not."""
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, float) and math.isinf(item):
            return "holds a number too large for a 64-bit float (such as 1e999)"
        if isinstance(item, dict):
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return None
