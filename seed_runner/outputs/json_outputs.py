"""JSON outputs: the members of ``OUTPUT_DIR/seed.outputs.json`` a manifest's JSON outputs name, read and
type-checked (the rules are in ``seed_runner.outputs.harvesting``).

Secrets: the verdict (which outputs are taken, which problems there are) comes from the file as written, so a
short secret cannot change it; the values are then masked, and when there are problems, their messages are
those of the same checks run on the masked file (secrets replaced in the bytes, in every escaped form, and in
the parsed strings and member names), so that no excerpt quotes a piece of a secret. Line and column numbers
then count in the masked file. When the masked file would be judged differently, the messages say so without
details.
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any, Sequence

from ..manifest.model import JsonOutput
from ..problems import Problem, error, warning
from ..runtime.masking import NO_SECRETS, SecretMask
from .output_folder import OutputFolder
from .patterns import OUTPUTS_JSON

WITHHELD = (f"{OUTPUTS_JSON} is not usable as written; the details are not shown, as they would quote the value "
            "of a secret setting that the file holds")


def read_json_outputs(folder: OutputFolder, outputs: Sequence[JsonOutput], secrets: SecretMask = NO_SECRETS
                      ) -> tuple[dict[str, Any], list[Problem]]:
    """The well-typed values by output name, and the problems: errors (failures) where a required output is
    concerned, warnings where only optional ones are. Values and messages are masked with ``secrets``."""
    if not outputs:
        return {}, []
    from ..manifest.jsontext import MAX_DOCUMENT_BYTES

    # A small object: one byte over parse_json_text's limit is enough to refuse a larger file.
    data, reason = folder.read_entry(folder.root, OUTPUTS_JSON, MAX_DOCUMENT_BYTES + 1)
    if data is None:
        values, problems, _ = _Judgement(outputs).whole_file(reason or "is missing")
        return values, problems
    values, problems, parsed = _Judgement(outputs).judge(data)
    if secrets and problems and (b"\\" in data or secrets.found_in(data)):
        _, shown, shown_parsed = _Judgement(outputs, secrets).judge(secrets.data(data))
        if shown_parsed == parsed and [(p.severity, p.code) for p in shown] == [(p.severity, p.code) for p in problems]:
            problems = shown
        else:
            problems = [replace(p, message=WITHHELD) for p in problems]
    # the output names are the manifest's (our structure); their values are the job's, its member names too
    return {name: secrets.value(value) for name, value in values.items()}, problems


class _Judgement:
    """One reading of the file's bytes: the values and the problems (and whether the JSON parsed)."""

    def __init__(self, outputs: Sequence[JsonOutput], secrets: SecretMask = NO_SECRETS):
        self.outputs = outputs
        self.secrets = secrets
        self.problems: list[Problem] = []
        self.required = [o.name for o in outputs if o.required]

    def report(self, fatal: bool, message: str) -> None:
        self.problems.append((error if fatal else warning)("invalid-outputs-json", OUTPUTS_JSON, message))

    def whole_file(self, reason: str, parsed: bool = False) -> tuple[dict[str, Any], list[Problem], bool]:
        if self.required:
            self.report(True, f"{OUTPUTS_JSON} {reason}; the required JSON output(s) {', '.join(self.required)} "
                              "cannot be read")
        else:
            self.report(False, f"{OUTPUTS_JSON} {reason}; the optional JSON output(s) "
                               f"{', '.join(o.name for o in self.outputs)} are left out")
        return {}, self.problems, parsed

    def judge(self, data: bytes) -> tuple[dict[str, Any], list[Problem], bool]:
        from ..manifest.jsontext import json_kind, parse_json_text
        from ..runtime.json_inputs import json_type_problem

        document, findings = parse_json_text(data, what=OUTPUTS_JSON)
        errors = [f for f in findings if f.severity == "error"]
        if errors:
            return self.whole_file("is unusable: " + errors[0].message)
        document = self.secrets.value(document)  # a secret spelled with escapes the bytes did not show
        for finding in findings:
            self.report(False, f"{OUTPUTS_JSON}: {finding.path}: {finding.message}")
        if not isinstance(document, dict):
            return self.whole_file(f"must hold a JSON object, got {json_kind(document)}", parsed=True)
        values: dict[str, Any] = {}
        for output in self.outputs:
            about = f"member '{output.key}' (JSON output {output.name})"
            if output.key not in document:
                if output.required:
                    self.report(True, f"{OUTPUTS_JSON}: {about} is required but missing")
                continue
            value = document[output.key]
            problem = json_type_problem(value, output.type) or _infinity_problem(value)
            if problem:
                left = "" if output.required else "; the optional output is left out"
                self.report(output.required, f"{OUTPUTS_JSON}: {about} {problem}{left}")
            else:
                values[output.name] = value
        return values, self.problems, True


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
