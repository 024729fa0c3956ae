"""The bundled JSON Schemas (``schemas/`` in the source tree, ``seed_runner/schemas`` when installed).

Nothing here touches the network: every ``$ref`` resolves inside the bundled files.
"""

from __future__ import annotations

import json
import threading
from functools import lru_cache
from pathlib import Path
from typing import Any

SCHEMA_FILES = {
    "manifest": "seed.manifest.schema.json",
    "metadata": "seed.metadata.schema.json",
    "result": "seed-runner.result.schema.json",
    "test-case": "seed-runner.test-case.schema.json",  # seed test's tests/<case>/case.json
    "pipeline": "seed.pipeline.schema.json",  # seed pipeline check|run FILE
}


def schema_dir() -> Path:
    """Where the schemas are: inside the installed package, else the source checkout's ``schemas/``."""
    package = Path(__file__).resolve().parent.parent  # seed_runner/
    for candidate in (package / "schemas", package.parent / "schemas"):
        if (candidate / SCHEMA_FILES["manifest"]).is_file():
            return candidate
    raise FileNotFoundError(f"seed-runner's schemas are missing (looked in {package / 'schemas'} and "
                            f"{package.parent / 'schemas'}); reinstall the package")


def schema_path(kind: str) -> Path:
    """The bundled JSON Schema file of ``kind``: ``manifest``, ``metadata``, ``result`` (`seed run`'s result
    document) or ``test-case``; raises ValueError for another kind (`seed schema KIND --path`)."""
    try:
        return schema_dir() / SCHEMA_FILES[kind]
    except KeyError:
        raise ValueError(f"unknown schema {kind!r}; choose one of {', '.join(SCHEMA_FILES)}") from None


@lru_cache(maxsize=None)
def load_schema(kind: str) -> dict[str, Any]:
    """The bundled JSON Schema of ``kind`` (see ``schema_path``), parsed; read once per process."""
    with open(schema_path(kind), encoding="utf-8") as fh:
        return json.load(fh)


# The validators are built, and their libraries imported, once per process under this lock: threads racing
# for a first import can otherwise see a partially initialised module (as happened with shapely).
BUILD_LOCK = threading.RLock()


def fast_validator(kind: str) -> Any:
    """The compiled jsonschema-rs validator the package validates with (verdicts and error details)."""
    with BUILD_LOCK:
        return _fast_validator(kind)


@lru_cache(maxsize=None)
def _fast_validator(kind: str) -> Any:
    import jsonschema_rs

    return jsonschema_rs.Draft4Validator(load_schema(kind))


def ecma_draft4_validator(schema: dict[str, Any]) -> Any:
    """python-jsonschema's Draft 4 validator with JSON Schema's regular-expression dialect for ``pattern``.

    JSON Schema patterns are ECMA-262, where ``$`` matches only at the very end; Python's ``re.search``
    also lets it match before a final newline, so plain python-jsonschema accepts ``"1.0.0\n"`` as a
    seedVersion where jsonschema-rs (and Ajv, and Go) do not.
    """
    import re

    import jsonschema
    from jsonschema import ValidationError

    def pattern(validator: Any, regex: str, instance: Any, schema: Any) -> Any:
        if validator.is_type(instance, "string") and not re.search(_ecma_end(regex), instance):
            yield ValidationError(f"{instance!r} does not match {regex!r}")

    jsonschema.Draft4Validator.check_schema(schema)
    return jsonschema.validators.extend(jsonschema.Draft4Validator, {"pattern": pattern})(schema)


def _ecma_end(regex: str) -> str:
    """Translate an unescaped ``$`` outside a character class into Python's end-of-string ``\\Z``."""
    out, escaped, in_class = [], False, False
    for ch in regex:
        if escaped:
            escaped = False
        elif ch == "\\":
            escaped = True
        elif ch == "[":
            in_class = True
        elif ch == "]":
            in_class = False
        elif ch == "$" and not in_class:
            out.append(r"\Z")
            continue
        out.append(ch)
    return "".join(out)


def detailed_validator(kind: str) -> Any:
    """A python-jsonschema validator of the same schema: a second, independent implementation
    (the tests hold the two to the same verdicts)."""
    with BUILD_LOCK:
        return _detailed_validator(kind)


@lru_cache(maxsize=None)
def _detailed_validator(kind: str) -> Any:
    return ecma_draft4_validator(load_schema(kind))


def is_schema_valid(kind: str, document: Any) -> bool:
    """The schema-level verdict alone."""
    return bool(fast_validator(kind).is_valid(document))
