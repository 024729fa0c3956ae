"""The test case `seed init` scaffolds beside a new job: ``tests/example/case.json`` and its input files, a case
that `seed test` passes as soon as the job is built (``seed init`` -> ``seed build`` -> ``seed test``).

It expects what the scaffolded script (``run.sh`` or ``run.py``, ``scaffold_templates``) does with these inputs:
a success; every file output captures the files the script writes for it, which name the job and never show a
secret; every JSON output has the value the script computes from the inputs' sizes. Pure: the files' texts.
"""

from __future__ import annotations

import json
from typing import Any

from ..outputs.patterns import pattern_matches
from .scaffold_templates import ScriptContext

__all__ = ["CASE_FOLDER", "case_files", "EXAMPLE_INPUT", "EXAMPLE_JSON", "EXAMPLE_SECRET"]

CASE_FOLDER = "tests/example"
EXAMPLE_INPUT = "hello from seed init\n"
EXAMPLE_JSON: dict[str, Any] = {"string": "hello world", "integer": 42, "number": 2.5, "boolean": True,
                                "object": {"a": [1, 2]}, "array": ["x", 1]}
EXAMPLE_SECRET = "example-secret-value"
"""The secret settings' value in the case: a test value (a real secret would come from {"env": VARIABLE})."""


def case_files(ctx: ScriptContext) -> dict[str, str]:
    """``{path relative to the job folder: text}`` of the example case."""
    inputs = {variable: f"{variable.lower().replace('_', '-')}.txt" for variable in ctx.file_vars}
    size = len(EXAMPLE_INPUT.encode("utf-8"))
    sizes = [size] * len(inputs)
    written = [output.file for output in ctx.outputs]
    outputs = {}
    for output in ctx.outputs:
        names = sorted(file for file in written if pattern_matches(output.pattern, file))
        checks: dict[str, Any] = {"count": len(names), "names": names, "contains": [ctx.job]}
        if ctx.secrets:
            checks["not_contains"] = [EXAMPLE_SECRET]
        outputs[output.variable] = checks
    # What both scripts compute (run.sh with awk's %.3f, run.py with round(..., 3)): the same values.
    values = {"integer": sum(sizes), "number": round(sum(sizes) / 1024, 3), "string": ctx.job, "boolean": True,
              "array": sizes, "object": {"files": len(sizes), "bytes": sum(sizes)}}
    json_outputs: dict[str, Any] = {}
    for variable, json_type in ctx.json_outputs:
        json_outputs[variable] = {"equals": values[json_type]}
        if json_type == "number":
            json_outputs[variable]["tolerance"] = 0.001
    request: dict[str, Any] = {}
    if inputs:
        request["inputs"] = inputs
    if ctx.json_vars:
        request["json"] = {variable: EXAMPLE_JSON[json_type] for variable, json_type in ctx.json_vars}
    if ctx.settings or ctx.secrets:
        request["settings"] = {**{v: "example value" for v in ctx.settings}, **{v: EXAMPLE_SECRET for v in ctx.secrets}}
    expect: dict[str, Any] = {"status": "succeeded", "max_seconds": 60}
    if outputs:
        expect["outputs"] = outputs
    if json_outputs:
        expect["json_outputs"] = json_outputs
    expect["stdout"] = {"contains": [f"{ctx.job}: wrote"]}
    if ctx.secrets:
        expect["stdout"]["not_contains"] = [EXAMPLE_SECRET]
    case = {
        "description": "The scaffolded job succeeds on example inputs; change the request and the expectations as "
                       "the job learns its real work (`seed schema test-case` has the format).",
        "request": request,
        "expect": expect,
    }
    files = {f"{CASE_FOLDER}/case.json": json.dumps(case, indent=2, ensure_ascii=False) + "\n"}
    files.update({f"{CASE_FOLDER}/{name}": EXAMPLE_INPUT for name in inputs.values()})
    return files
