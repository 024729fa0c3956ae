"""The bundled JSON Schemas (``schemas/`` in the source tree, ``seed_runner/schemas`` when installed).

Nothing here touches the network: every ``$ref`` resolves inside the bundled files.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

SCHEMA_FILES = {
    "manifest": "seed.manifest.schema.json",
    "metadata": "seed.metadata.schema.json",
}


def schema_dir() -> Path:
    """Where the schemas are: inside the installed package, else the source checkout's ``schemas/``."""
    here = Path(__file__).resolve().parent
    for candidate in (here / "schemas", here.parent / "schemas"):
        if (candidate / SCHEMA_FILES["manifest"]).is_file():
            return candidate
    raise FileNotFoundError(f"seed-runner's schemas are missing (looked in {here / 'schemas'} and "
                            f"{here.parent / 'schemas'}); reinstall the package")


def schema_path(kind: str) -> Path:
    try:
        return schema_dir() / SCHEMA_FILES[kind]
    except KeyError:
        raise ValueError(f"unknown schema {kind!r}; choose one of {', '.join(SCHEMA_FILES)}") from None


@lru_cache(maxsize=None)
def load_schema(kind: str) -> dict[str, Any]:
    with open(schema_path(kind), encoding="utf-8") as fh:
        return json.load(fh)


@lru_cache(maxsize=None)
def fast_validator(kind: str) -> Any:
    """A compiled jsonschema-rs validator for yes/no answers, or None when the package is unavailable."""
    try:
        import jsonschema_rs
    except ImportError:  # pragma: no cover - optional speed-up
        return None
    return jsonschema_rs.Draft4Validator(load_schema(kind))


@lru_cache(maxsize=None)
def detailed_validator(kind: str) -> Any:
    """A python-jsonschema Draft 4 validator, which explains failures (imported only when needed)."""
    import jsonschema

    schema = load_schema(kind)
    jsonschema.Draft4Validator.check_schema(schema)
    return jsonschema.Draft4Validator(schema)


def is_schema_valid(kind: str, document: Any) -> bool:
    """The schema-level verdict alone."""
    fast = fast_validator(kind)
    if fast is not None:
        return bool(fast.is_valid(document))
    return detailed_validator(kind).is_valid(document)
