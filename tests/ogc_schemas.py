"""The official OGC API - Processes schemas (../shared/ogcapi-processes, YAML with relative $refs) as validators:
the oracles every response body of `seed serve` is checked against."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

import jsonschema
import yaml
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT7

ROOT = Path(__file__).resolve().parents[1].parent / "shared" / "ogcapi-processes"
PART1 = ROOT / "part1-1.0" / "openapi" / "schemas"


def _retrieve(uri: str) -> Resource:
    path = Path(uri.removeprefix("file://"))
    return Resource.from_contents(yaml.safe_load(path.read_text()), default_specification=DRAFT7)


@lru_cache(maxsize=None)
def validator(name: str, folder: Path = PART1) -> jsonschema.Validator:
    path = folder / f"{name}.yaml"
    registry = Registry(retrieve=_retrieve)
    return jsonschema.Draft7Validator({"allOf": [{"$ref": path.as_uri()}]}, registry=registry)


def check(name: str, document: Any) -> Any:
    """Fail unless ``document`` is valid against the 1.0 schema ``name`` (e.g. statusInfo); returns it."""
    validator(name).validate(document)
    return document
