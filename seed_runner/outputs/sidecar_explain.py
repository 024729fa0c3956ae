"""Why a metadata sidecar fails the bundled metadata schema, and where.

The schema (``schemas/seed.metadata.schema.json``) is a ``oneOf`` of four GeoJSON shapes, so a validator
only gives a verdict ("not valid under any of the given schemas"). ``explain_schema_failure`` walks the
document the way the schema would, following its ``type``, and names the member at fault and the reason.
``seed_runner.outputs.sidecar`` calls it only for a document the schema has refused.
"""

from __future__ import annotations

import math
from typing import Any, Callable

from ..problems import json_path
from ..manifest.jsontext import json_excerpt, json_kind
from .geojson_types import GEOJSON_TYPES, GEOMETRY_TYPES, MAX_PROBLEMS

Say = Callable[[tuple, str], None]
"""Records one problem: the path of the member at fault and the reason."""


class _Enough(Exception):
    """Raised inside the walk once MAX_PROBLEMS are found."""


def explain_schema_failure(document: Any) -> list[str]:
    """Why the metadata schema refuses ``document``, as ``"$.path: reason"`` lines (at most MAX_PROBLEMS).

    When the walk finds nothing (it and the schema disagree), the schema's own best message is given.
    """
    problems: list[str] = []

    def say(path: tuple, reason: str) -> None:
        problems.append(f"{json_path(path)}: {reason}")
        if len(problems) >= MAX_PROBLEMS:
            raise _Enough

    try:
        _explain_root(document, say)
    except _Enough:
        pass
    if not problems:  # the walk and the schema disagree: fall back to the schema's own best message
        from ..manifest.schemas import BUILD_LOCK, detailed_validator

        validator = detailed_validator("metadata")  # imports jsonschema under the lock
        with BUILD_LOCK:
            from jsonschema.exceptions import best_match
        error = best_match(validator.iter_errors(document))
        if error is None:
            problems.append("$: the metadata schema refuses the document")
        else:
            problems.append(f"{json_path(list(error.absolute_path))}: {error.message[:200]}")
    return problems


def _explain_root(doc: Any, say: Say) -> None:
    if not isinstance(doc, dict):
        say((), f"a metadata sidecar must be a GeoJSON object, got {json_kind(doc)}")
        return
    if "type" not in doc:
        say((), "member 'type' is missing; GeoJSON objects say what they are, e.g. \"type\": \"Feature\"")
        return
    if "bbox" in doc:
        box = doc["bbox"]
        if not (isinstance(box, list) and len(box) >= 4 and all(_is_number(v) for v in box)):
            say(("bbox",), "must be an array of at least 4 numbers (west, south, east, north)")
    kind = doc["type"]
    if kind in GEOMETRY_TYPES:
        _explain_geometry(doc, (), say)
    elif kind == "GeometryCollection":
        _explain_collection(doc, (), "geometries", _explain_geometry, say)
    elif kind == "Feature":
        _explain_feature(doc, (), say)
    elif kind == "FeatureCollection":
        _explain_collection(doc, (), "features", _explain_feature, say)
    else:
        say(("type",), f"{json_excerpt(kind)} is not a GeoJSON type; use one of {', '.join(GEOJSON_TYPES)}")


def _explain_collection(doc: dict, path: tuple, member: str, explain_item: Any, say: Say) -> None:
    if member not in doc:
        say(path, f"member '{member}' is missing")
    elif not isinstance(doc[member], list):
        say((*path, member), f"must be an array, got {json_kind(doc[member])}")
    else:
        for index, item in enumerate(doc[member]):
            explain_item(item, (*path, member, index), say)


def _explain_feature(feature: Any, path: tuple, say: Say) -> None:
    if not isinstance(feature, dict):
        return  # the schema's feature has no "type": "object"; geojson_problems reports it
    if feature.get("type", "Feature") != "Feature":
        say((*path, "type"), f"must be \"Feature\", got {json_excerpt(feature['type'])}")
    if "geometry" not in feature:
        say(path, "member 'geometry' is missing (use null for a feature without geometry)")
    elif feature["geometry"] is not None:
        _explain_geometry(feature["geometry"], (*path, "geometry"), say)
    if "properties" not in feature:
        say(path, "member 'properties' is missing (use {} or null when there are none)")
    elif not (feature["properties"] is None or isinstance(feature["properties"], dict)):
        say((*path, "properties"), f"must be an object or null, got {json_kind(feature['properties'])}")
    if "id" in feature and not (isinstance(feature["id"], str) or _is_number(feature["id"])):
        say((*path, "id"), f"must be a string or a number, got {json_kind(feature['id'])}")


def _explain_geometry(geometry: Any, path: tuple, say: Say) -> None:
    if not isinstance(geometry, dict):
        say(path, f"must be a geometry object, got {json_kind(geometry)}")
        return
    kind = geometry.get("type")
    if kind not in GEOMETRY_TYPES:
        if "type" not in geometry:
            say(path, "member 'type' is missing from the geometry")
        else:
            say((*path, "type"),
                f"{json_excerpt(kind)} is not a geometry type; use one of {', '.join(GEOMETRY_TYPES)}")
        return
    extra = sorted(set(geometry) - {"type", "coordinates"})
    if extra:
        names = ", ".join(f"'{name}'" for name in extra)
        say(path, f"member {names} is not allowed in a geometry (the metadata schema allows only 'type' and "
                  f"'coordinates')")
    if "coordinates" not in geometry:
        say(path, f"member 'coordinates' is missing from the {kind}")
        return
    _COORDINATE_CHECKS[kind](geometry["coordinates"], (*path, "coordinates"), say)


def _explain_position(value: Any, path: tuple, say: Say) -> None:
    if not isinstance(value, list):
        say(path, f"a position must be an array of 2 or 3 numbers, got {json_kind(value)}")
    elif not 2 <= len(value) <= 3:
        say(path, f"a position must have 2 or 3 numbers (longitude, latitude[, height]), got {len(value)}")
    else:
        for index, number in enumerate(value):
            if not _is_number(number):
                say((*path, index), f"must be a number, got {json_kind(number)}")


def _explain_positions(value: Any, path: tuple, say: Say, *, at_least: int = 0, what: str = "") -> None:
    if not isinstance(value, list):
        say(path, f"must be an array of positions, got {json_kind(value)}")
        return
    if len(value) < at_least:
        say(path, f"{what} needs at least {at_least} positions, got {len(value)}")
    for index, position in enumerate(value):
        _explain_position(position, (*path, index), say)


def _explain_line(value: Any, path: tuple, say: Say) -> None:
    _explain_positions(value, path, say, at_least=2, what="a line string")


def _explain_polygon(value: Any, path: tuple, say: Say) -> None:
    _explain_array_of(value, path, say, "linear rings",
                      lambda ring, p, s: _explain_positions(ring, p, s, at_least=4, what="a linear ring"))


def _explain_array_of(value: Any, path: tuple, say: Say, what: str, explain_item: Any) -> None:
    if not isinstance(value, list):
        say(path, f"must be an array of {what}, got {json_kind(value)}")
        return
    for index, item in enumerate(value):
        explain_item(item, (*path, index), say)


_COORDINATE_CHECKS = {
    "Point": _explain_position,
    "MultiPoint": _explain_positions,
    "LineString": _explain_line,
    "MultiLineString": lambda v, p, s: _explain_array_of(v, p, s, "line strings", _explain_line),
    "Polygon": _explain_polygon,
    "MultiPolygon": lambda v, p, s: _explain_array_of(v, p, s, "polygons", _explain_polygon),
}


def _is_number(value: Any) -> bool:
    """A JSON number as JSON Schema sees it: not a boolean, and representable (no infinity)."""
    if isinstance(value, float):
        return math.isfinite(value)
    return isinstance(value, int) and not isinstance(value, bool)
