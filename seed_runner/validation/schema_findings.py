"""Schema validation, with each failure turned into a finding a person can act on.

jsonschema-rs answers yes/no in microseconds; for a failing document its errors carry the keyword,
the schema path (which leads to the sub-schema, for hints and allowed members) and the instance.
python-jsonschema validates the same schema in the tests as a second opinion.
"""

from __future__ import annotations

import difflib
from typing import Any, Iterator

from ..problems import Finding, error, json_path
from ..manifest.names import suggested_job_name, suggested_variable_name
from ..manifest.schemas import fast_validator, load_schema

SUPPORTED_SEED_VERSIONS = ("1.0.0",)

_JSON_TYPE_NAMES = {dict: "an object", list: "an array", str: "a string", bool: "a boolean",
                    int: "an integer", float: "a number", type(None): "null"}

_EXPECTED = {"object": "an object", "array": "an array", "string": "a string", "boolean": "true or false",
             "integer": "an integer", "number": "a number"}


def schema_findings(document: Any, kind: str = "manifest") -> list[Finding]:
    validator = fast_validator(kind)
    if validator.is_valid(document):
        return []
    schema = load_schema(kind)
    findings: list[Finding] = []
    for err in validator.iter_errors(document):
        findings.extend(_explain(err, _subschema(schema, list(err.schema_path)[:-1])))
    if not findings:  # an error kind _explain does not know: never call an invalid document valid
        findings.append(error("schema", "$", "the document does not match the Seed schema"))
    findings.sort(key=lambda f: f.path)
    return findings


def _describe(value: Any) -> str:
    kind = _JSON_TYPE_NAMES.get(type(value), type(value).__name__)
    text = repr(value) if not isinstance(value, (dict, list)) else ""
    if len(text) > 40:
        text = text[:37] + "..."
    return f"{kind} {text}".strip()


def _field_hint(subschema: dict, member: str) -> str:
    description = subschema.get("properties", {}).get(member, {}).get("description")
    # Short descriptions make good hints; long ones belong in `seed schema`, not in a one-line message.
    return f" ({description.rstrip('.')})" if description and len(description) <= 80 else ""


def _subschema(schema: Any, path: list[str | int]) -> dict:
    for key in path:
        schema = schema[key]
    return schema


def _explain(err: Any, subschema: dict) -> Iterator[Finding]:
    parts = list(err.instance_path)
    path = json_path(parts)
    keyword = err.kind.name
    detail = err.kind.as_dict()
    instance = err.instance
    last = parts[-1] if parts else None

    if keyword == "required":
        member = detail["property"]
        yield error("missing-member", json_path([*parts, member]),
                    f"required member '{member}' is missing{_field_hint(subschema, member)}; add it")
    elif keyword == "additionalProperties":
        allowed = list(subschema.get("properties", {}))
        for member in detail["unexpected"]:
            close = difflib.get_close_matches(member, allowed, n=1, cutoff=0.6) or [
                a for a in allowed if a.lower() == member.lower()]
            hint = f"did you mean '{close[0]}'?" if close else f"allowed here: {', '.join(allowed)}"
            yield error("unknown-member", json_path([*parts, member]),
                        f"unknown member '{member}'; {hint} (remove it or fix its spelling)")
    elif keyword == "type":
        expected = " or ".join(detail["types"])
        if expected == "integer" and isinstance(instance, float) and instance.is_integer():
            msg = f"must be a whole number written without a decimal point ({int(instance)}, not {instance!r})"
        else:
            msg = f"must be {_EXPECTED.get(expected, expected)}, not {_describe(instance)}"
        yield error("wrong-type", path, msg)
    elif keyword == "pattern":
        yield _pattern_finding(parts, path, instance, last)
    elif keyword == "enum":
        choices = ", ".join(repr(c) for c in detail["options"])
        yield error("invalid-value", path, f"{_describe(instance)} is not allowed; use one of {choices}")
    else:  # keywords the manifest schema does not use today; keep jsonschema's own words
        yield error("schema", path, err.message)


def _pattern_finding(parts: list, path: str, value: str, last: Any) -> Finding:
    if parts == ["seedVersion"]:
        supported = ", ".join(SUPPORTED_SEED_VERSIONS)
        return error("unsupported-seed-version", path,
                     f"seedVersion {value!r} is not supported; seed-runner implements Seed {supported}: "
                     f"set \"seedVersion\": \"1.0.0\" and update the manifest to that version of the spec")
    if last in ("jobVersion", "packageVersion"):
        return error("invalid-version", path,
                     f"{last} {value!r} is not a SemVer 2.0 version; write MAJOR.MINOR.PATCH such as 1.0.0")
    if parts == ["job", "name"]:
        return error("invalid-name", path,
                     f"job name {value!r} may hold only letters, digits and '-' (no '_', spaces or dots); "
                     f"for example {suggested_job_name(value)!r}")
    # The suggestion passes the other rules about the name too: an input's is in its variable form (rule 8).
    suggestion = suggested_variable_name(value) if _is_variable_name(parts) else _suggest_name(value, "_")
    return error("invalid-name", path,
                 f"name {value!r} may hold only letters, digits, '_' and '-'; for example {suggestion!r}")


# Where rule 8 wants names in their variable form (rules.names_not_normalized): inputs, outputs, mounts, settings.
_VARIABLE_NAME_GROUPS = (["inputs", "files"], ["inputs", "json"], ["outputs", "files"], ["outputs", "json"],
                         ["mounts"], ["settings"])


def _is_variable_name(parts: list) -> bool:
    """Whether ``parts`` is ``job.interface.<group>[i].name`` of a group whose names rule 8 normalizes."""
    return (parts[:2] == ["job", "interface"] and parts[-1:] == ["name"]
            and any(parts[2:-2] == group for group in _VARIABLE_NAME_GROUPS))


def _suggest_name(value: str, separator: str) -> str:
    out = []
    for ch in value:
        if ch.isascii() and ch.isalnum() or ch == "-" or (ch == "_" and separator == "_"):
            out.append(ch)
        elif out and out[-1] != separator:
            out.append(separator)
    return "".join(out).strip(separator) or "my-job"
