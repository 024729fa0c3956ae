"""Metadata sidecars: ``<file>.metadata.json`` read, checked and reduced to what a scheduler needs.

A sidecar is GeoJSON (RFC 7946). DECISIONS.md "Metadata sidecars" settles what the Seed spec leaves open:

- A bare geometry, a GeometryCollection, a Feature and a FeatureCollection are all accepted (Scale accepted
  only the first and third); a Feature's ``geometry`` may be ``null`` (no geometry).
- The checks run in this order, and a failing step stops the later ones:

  1. strict JSON (UTF-8, no NaN; line and column in the message), read by ``jsontext.parse_json_document``;
  2. the project's bundled metadata schema (``schemas/seed.metadata.schema.json``, compiled once with
     jsonschema-rs, no network); when it refuses, a walk that mirrors the schema says where and why
     (``seed_runner.sidecar_explain``, imported only then);
  3. GeoJSON rules the schema cannot express, with the ``geojson`` package's own checks: every linear ring
     ends where it started, every member of ``features`` is a Feature object;
  4. geometry, with shapely: each non-point geometry is valid (``explain_validity`` in the message), every
     longitude is in [-180, 180], every latitude in [-90, 90], every coordinate finite;
  5. the well-known properties Scale reads, typed when present: ``dataStarted``, ``dataEnded``,
     ``sourceStarted``, ``sourceEnded`` are ISO 8601 date-times with a time zone (``Z`` or any offset,
     negative ones too); ``sourceSensorClass``, ``sourceSensor``, ``sourceCollection``, ``sourceTask`` are
     strings; ``dataTypes`` is a list of strings.

What a valid sidecar gives (``Sidecar``, and ``Sidecar.to_dict()`` for the result document)::

    {
      "type": "Feature",                  # the document's GeoJSON type
      "geometry": {...} | null,           # GeoJSON geometry, see below
      "bbox": [min_lon, min_lat, max_lon, max_lat] | null,   # 2-D, computed (a "bbox" member is not trusted)
      "center": [lon, lat] | null,        # a point inside the geometry (shapely's representative_point)
      "properties": {...},                # as written, see below
      "data_started": "2016-08-06T00:00:00Z" | null,         # the well-known properties, typed and
      "data_ended": ..., "source_started": ..., "source_ended": ...,   # date-times normalized to UTC
      "source_sensor_class": str | null, "source_sensor": str | null,
      "source_collection": str | null, "source_task": str | null,
      "data_types": [str, ...] | null
    }

- ``geometry``: a Feature's geometry; a bare geometry or GeometryCollection itself; for a FeatureCollection, a
  GeometryCollection of its features' non-null geometries, in order (kept as written: no union, which would
  be slow on large collections and would change the shapes). ``null`` when there is no geometry at all.
- ``properties``: a Feature's ``properties`` (``null`` becomes ``{}``); ``{}`` for a bare geometry or a
  GeometryCollection; for a FeatureCollection, the collection's own ``properties`` member when it is an
  object (a foreign member some writers use for file-wide facts), else the properties of its only feature
  when it has exactly one, else ``{}``. The well-known properties are read from these same properties.
- ``center`` of point geometries is the point closest to their centroid (what GEOS's interior point does for
  points), computed with numpy so that a point cloud of millions of positions stays fast.

Sidecars may be large (a 100 MB point cloud is fine; over ``MAX_SIDECAR_BYTES`` is refused with a message).
shapely, numpy and geojson are imported only when a sidecar is actually checked.
"""

from __future__ import annotations

import math
import os
import stat
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType
from typing import Any, Iterator, Mapping

from ..problems import json_path
from ..manifest.jsontext import json_excerpt, json_kind, parse_json_document

MAX_SIDECAR_BYTES = 512 * 1024 * 1024
"""Larger sidecars are refused: their parsed coordinates alone would take several GiB of memory."""

# How many problems one sidecar reports at most: enough to fix it, short enough for one line.
MAX_PROBLEMS = 3

GEOMETRY_TYPES = ("Point", "MultiPoint", "LineString", "MultiLineString", "Polygon", "MultiPolygon")
GEOJSON_TYPES = (*GEOMETRY_TYPES, "GeometryCollection", "Feature", "FeatureCollection")

# The well-known properties (Scale's names) and their attribute and to_dict names.
DATE_TIME_PROPERTIES = {"dataStarted": "data_started", "dataEnded": "data_ended",
                        "sourceStarted": "source_started", "sourceEnded": "source_ended"}
STRING_PROPERTIES = {"sourceSensorClass": "source_sensor_class", "sourceSensor": "source_sensor",
                     "sourceCollection": "source_collection", "sourceTask": "source_task"}
STRING_LIST_PROPERTIES = {"dataTypes": "data_types"}


@dataclass(frozen=True, slots=True)
class Sidecar:
    """A valid sidecar, reduced (see the module docstring for what each field holds)."""

    type: str
    geometry: Mapping[str, Any] | None = field(repr=False)
    bbox: tuple[float, float, float, float] | None
    center: tuple[float, float] | None
    properties: Mapping[str, Any] = field(repr=False)
    data_started: datetime | None = None
    data_ended: datetime | None = None
    source_started: datetime | None = None
    source_ended: datetime | None = None
    source_sensor_class: str | None = None
    source_sensor: str | None = None
    source_collection: str | None = None
    source_task: str | None = None
    data_types: tuple[str, ...] | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-serializable; date-times as UTC ISO 8601 strings ending in ``Z``."""
        out: dict[str, Any] = {
            "type": self.type,
            "geometry": None if self.geometry is None else dict(self.geometry),
            "bbox": None if self.bbox is None else list(self.bbox),
            "center": None if self.center is None else list(self.center),
            "properties": dict(self.properties),
        }
        for attribute in DATE_TIME_PROPERTIES.values():
            value = getattr(self, attribute)
            out[attribute] = None if value is None else utc_text(value)
        for attribute in STRING_PROPERTIES.values():
            out[attribute] = getattr(self, attribute)
        out["data_types"] = None if self.data_types is None else list(self.data_types)
        return out


def utc_text(moment: datetime) -> str:
    """``2016-08-06T05:00:00Z``: the instant in UTC, microseconds only when there are any."""
    return moment.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


def read_sidecar(path: str | Path) -> tuple[Sidecar | None, list[str]]:
    """Read and check one sidecar file; ``(sidecar, [])`` when valid, else ``(None, problems)``.

    Problems are one-line messages naming the place in the document (a JSON path such as
    ``$.geometry.coordinates[0]``) and the reason. A file that cannot be read is a problem, not an exception.
    """
    try:
        # Non-blocking, and only regular files: a named pipe in its place must not hang the reader.
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        return None, [f"cannot read it: {exc.strerror or exc}"]
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None, ["it is not a regular file"]
        with os.fdopen(os.dup(fd), "rb") as handle:
            data = handle.read(MAX_SIDECAR_BYTES + 1)
    except OSError as exc:
        return None, [f"cannot read it: {exc.strerror or exc}"]
    finally:
        os.close(fd)
    return parse_sidecar(data)


def parse_sidecar(data: bytes) -> tuple[Sidecar | None, list[str]]:
    """Check a sidecar's bytes (all five steps of the module docstring)."""
    if len(data) > MAX_SIDECAR_BYTES:
        return None, [f"it is over the {MAX_SIDECAR_BYTES // 1048576} MiB limit for a metadata sidecar"]
    document, problems = parse_json_document(data, what="metadata sidecar")
    if problems:
        return None, problems
    return sidecar_from_document(document)


def sidecar_from_document(document: Any) -> tuple[Sidecar | None, list[str]]:
    """Check a parsed sidecar document (steps 2 to 5)."""
    if not _metadata_validator().is_valid(document):
        from .sidecar_explain import explain_schema_failure

        return None, explain_schema_failure(document)
    problems = geojson_problems(document)
    if problems:
        return None, problems
    geometry = _geometry_of(document)
    bbox, center, problems = geometry_facts(list(_geometries(document)))
    properties, properties_path = _properties_of(document)
    typed, property_problems = well_known_properties(properties, properties_path)
    problems += property_problems
    if problems:
        return None, problems[:MAX_PROBLEMS]
    return Sidecar(type=document["type"], geometry=geometry, bbox=bbox, center=center,
                   properties=MappingProxyType(properties), **typed), []


# ------------------------------------------------------------------------------------- step 2: schema


@lru_cache(maxsize=1)
def _metadata_validator() -> Any:
    import jsonschema_rs

    from ..manifest.schemas import load_schema

    return jsonschema_rs.Draft4Validator(load_schema("metadata"))


# ------------------------------------------------------------------------------------ step 3: GeoJSON


def geojson_problems(document: dict[str, Any]) -> list[str]:
    """GeoJSON rules the schema leaves out, checked with the geojson package where it has the check."""
    from geojson.geometry import check_polygon

    problems: list[str] = []
    if document["type"] == "FeatureCollection":
        for index, feature in enumerate(document["features"]):
            if not isinstance(feature, dict):
                problems.append(f"{json_path(('features', index))}: must be a Feature object, got {json_kind(feature)}")
    for geometry, path in _geometries(document):
        if geometry["type"] == "Polygon":
            polygons = [(geometry["coordinates"], (*path, "coordinates"))]
        elif geometry["type"] == "MultiPolygon":
            polygons = [(rings, (*path, "coordinates", i)) for i, rings in enumerate(geometry["coordinates"])]
        else:
            continue
        for rings, rings_path in polygons:
            error = check_polygon(rings)
            if error:
                problems.append(f"{json_path(rings_path)}: {error[0].lower()}{error[1:]} (GeoJSON linear rings "
                                f"are closed: the last position repeats the first)")
        if len(problems) >= MAX_PROBLEMS:
            break
    return problems[:MAX_PROBLEMS]


def _geometries(document: dict[str, Any]) -> Iterator[tuple[dict[str, Any], tuple]]:
    """Every (non-null) geometry object of a schema-valid document, with its path."""
    kind = document["type"]
    if kind in GEOMETRY_TYPES:
        yield document, ()
    elif kind == "GeometryCollection":
        for index, geometry in enumerate(document["geometries"]):
            yield geometry, ("geometries", index)
    elif kind == "Feature":
        if document["geometry"] is not None:
            yield document["geometry"], ("geometry",)
    else:
        for index, feature in enumerate(document["features"]):
            if isinstance(feature, dict) and feature["geometry"] is not None:
                yield feature["geometry"], ("features", index, "geometry")


def _geometry_of(document: dict[str, Any]) -> dict[str, Any] | None:
    kind = document["type"]
    if kind == "Feature":
        return document["geometry"]
    if kind == "FeatureCollection":
        geometries = [g for g, _ in _geometries(document)]
        return {"type": "GeometryCollection", "geometries": geometries} if geometries else None
    return document


def _properties_of(document: dict[str, Any]) -> tuple[dict[str, Any], tuple]:
    kind = document["type"]
    if kind == "Feature":
        return document["properties"] or {}, ("properties",)
    if kind == "FeatureCollection":
        if isinstance(document.get("properties"), dict):
            return document["properties"], ("properties",)
        if len(document["features"]) == 1:
            return document["features"][0]["properties"] or {}, ("features", 0, "properties")
    return {}, ("properties",)


# ------------------------------------------------------------------------------------ step 4: geometry


Geometries = list[tuple[dict[str, Any], tuple]]
"""Schema-valid geometry objects, each with its JSON path in the document."""


def geometry_facts(geometries: Geometries) -> tuple[tuple[float, float, float, float] | None,
                                                     tuple[float, float] | None, list[str]]:
    """``(bbox, center, problems)`` of the geometries taken together (no geometry: no bbox, no center).

    Points are gathered into numpy arrays (a point cloud of millions of positions takes a second);
    every other geometry becomes a shapely geometry, checked with ``is_valid``.
    """
    if not geometries:
        return None, None, []
    try:
        return _geometry_facts(geometries)
    except OverflowError:  # an integer of hundreds of digits: valid JSON, but no coordinate
        return None, None, [_first_bad_position(geometries, lambda x, y, rest: not all(
            isinstance(v, float) or abs(v) < 2 ** 53 for v in (x, y, *rest)), "has a number too large for a "
            "coordinate")]


def _geometry_facts(geometries: Geometries) -> tuple[tuple[float, float, float, float] | None,
                                                     tuple[float, float] | None, list[str]]:
    if len(geometries) == 1 and geometries[0][0]["type"] == "Point":  # the common sidecar: no numpy, no shapely
        (geometry, path), = geometries
        x, y = geometry["coordinates"][:2]
        problem = _position_problem(geometry["coordinates"])
        if problem:
            shown = json_excerpt(geometry["coordinates"])
            return None, None, [f"{json_path((*path, 'coordinates'))}: {shown} {problem}"]
        return (float(x), float(y), float(x), float(y)), (float(x), float(y)), []
    import numpy as np

    points: list[Any] = []  # arrays of [x, y]
    single_points: list[list[float]] = []
    shapes: list[Any] = []
    problems: list[str] = []
    for part, part_path in _parts(geometries):
        kind = part["type"]
        if kind == "Point":
            single_points.append(part["coordinates"])
        elif kind == "MultiPoint":
            if part["coordinates"]:
                points.append(_xyz(part["coordinates"]))
        else:
            shape, problem = _shapely(part, part_path)
            if problem:
                problems.append(problem)
            elif not shape.is_empty:
                shapes.append(shape)
        if len(problems) >= MAX_PROBLEMS:
            return None, None, problems
    if single_points:
        points.append(_xyz(single_points))
    if problems:
        return None, None, problems
    if shapes:
        import shapely

        # 2-D geometries report their missing heights as NaN, and JSON has no NaN: only infinity is bad
        # (a number such as 1e999 parses as infinity).
        coordinates = shapely.get_coordinates(shapes, include_z=True)
        points_xy = [p[:, :2] for p in points] + [coordinates[:, :2]]
        finite = not bool(np.isinf(coordinates).any())
    else:
        points_xy = [p[:, :2] for p in points]
        finite = True
    finite = finite and not any(bool(np.isinf(p).any()) for p in points)
    if not points_xy or sum(len(p) for p in points_xy) == 0:
        return None, None, []
    xy = np.concatenate(points_xy) if len(points_xy) > 1 else points_xy[0]
    if not finite:
        return None, None, [_first_bad_position(geometries, lambda x, y, rest: not all(
            math.isfinite(v) for v in (x, y, *rest)), "is not a finite number")]
    low, high = xy.min(axis=0), xy.max(axis=0)
    if low[0] < -180 or high[0] > 180:
        problems.append(_first_bad_position(geometries, lambda x, y, rest: not -180 <= x <= 180,
                                            "has a longitude outside [-180, 180]"))
    if low[1] < -90 or high[1] > 90:
        problems.append(_first_bad_position(geometries, lambda x, y, rest: not -90 <= y <= 90,
                                            "has a latitude outside [-90, 90]"))
    if problems:
        return None, None, problems
    bbox = (float(low[0]), float(low[1]), float(high[0]), float(high[1]))
    return bbox, _center(shapes, points), []


def _parts(geometries: Geometries) -> Iterator[tuple[dict[str, Any], tuple]]:
    """The geometries with every GeometryCollection opened up."""
    for geometry, path in geometries:
        if geometry["type"] == "GeometryCollection":
            yield from _parts([(part, (*path, "geometries", index))
                               for index, part in enumerate(geometry["geometries"])])
        else:
            yield geometry, path


def _xyz(positions: list[list[float]]) -> Any:
    """Positions as a float array with two or three columns (2-D and 3-D positions may be mixed)."""
    import numpy as np

    try:
        array = np.asarray(positions, dtype=float)
    except ValueError:  # some positions have a height, some do not
        array = np.array([(p[0], p[1], p[2] if len(p) == 3 else 0.0) for p in positions], dtype=float)
    return array


def _shapely(geometry: dict[str, Any], path: tuple) -> tuple[Any, str | None]:
    from shapely.errors import ShapelyError
    from shapely.geometry import shape
    from shapely.validation import explain_validity

    try:
        built = shape(geometry)
    except (ShapelyError, ValueError, TypeError, OverflowError) as exc:
        return None, f"{json_path(path)}: not a usable {geometry['type']}: {exc}"
    if not built.is_valid:
        return None, f"{json_path(path)}: invalid {geometry['type']}: {explain_validity(built)} (shapely)"
    return built, None


def _center(shapes: list[Any], points: list[Any]) -> tuple[float, float]:
    """A point inside the geometry: GEOS's interior point of the highest-dimension parts."""
    if shapes:
        import shapely

        whole = shapes[0] if len(shapes) == 1 else shapely.GeometryCollection(shapes)
        inside = whole.representative_point()
        return float(inside.x), float(inside.y)
    import numpy as np

    xy = np.concatenate([p[:, :2] for p in points]) if len(points) > 1 else points[0][:, :2]
    nearest = xy[int(np.argmin(((xy - xy.mean(axis=0)) ** 2).sum(axis=1)))]
    return float(nearest[0]), float(nearest[1])


def _position_problem(position: list[float]) -> str | None:
    if any(isinstance(v, float) and math.isinf(v) for v in position):
        return "is not a finite number"
    if not -180 <= position[0] <= 180:
        return "has a longitude outside [-180, 180]"
    if not -90 <= position[1] <= 90:
        return "has a latitude outside [-90, 90]"
    return None


def _first_bad_position(geometries: Geometries, bad: Any, reason: str) -> str:
    """Find the first position for which ``bad(x, y, rest)`` holds (only on the failure path)."""
    for part, part_path in _parts(geometries):
        for position, position_path in _positions(part["coordinates"], (*part_path, "coordinates")):
            if bad(position[0], position[1], position[2:]):
                return f"{json_path(position_path)}: {json_excerpt(position)} {reason}"
    return f"$: a position {reason}"


def _positions(coordinates: Any, path: tuple) -> Iterator[tuple[list[float], tuple]]:
    if coordinates and not isinstance(coordinates[0], list):
        yield coordinates, path
        return
    for index, item in enumerate(coordinates):
        yield from _positions(item, (*path, index))


# -------------------------------------------------------------------------- step 5: well-known properties


def well_known_properties(properties: Mapping[str, Any], path: tuple = ("properties",)
                          ) -> tuple[dict[str, Any], list[str]]:
    """The typed well-known properties (Sidecar field names) and the problems with them."""
    typed: dict[str, Any] = {}
    problems: list[str] = []
    for name, attribute in DATE_TIME_PROPERTIES.items():
        if name in properties:
            moment, problem = parse_date_time(properties[name])
            if problem:
                problems.append(f"{json_path((*path, name))}: {problem}")
            else:
                typed[attribute] = moment
    for name, attribute in STRING_PROPERTIES.items():
        if name in properties:
            if isinstance(properties[name], str):
                typed[attribute] = properties[name]
            else:
                problems.append(f"{json_path((*path, name))}: must be a string, got {json_kind(properties[name])}")
    for name, attribute in STRING_LIST_PROPERTIES.items():
        if name in properties:
            value = properties[name]
            if isinstance(value, list) and all(isinstance(item, str) for item in value):
                typed[attribute] = tuple(value)
            else:
                problems.append(f"{json_path((*path, name))}: must be an array of strings, got {json_excerpt(value)}")
    return typed, problems


def parse_date_time(value: Any) -> tuple[datetime | None, str | None]:
    """An ISO 8601 date-time with a time zone (``Z`` or any offset) as an aware datetime in UTC."""
    if not isinstance(value, str):
        return None, f"must be an ISO 8601 date-time string, got {json_kind(value)}"
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None, f"{json_excerpt(value)} is not an ISO 8601 date-time (e.g. 2016-08-06T00:00:00Z)"
    if moment.tzinfo is None or moment.utcoffset() is None:
        return None, (f"{json_excerpt(value)} has no time zone; add Z for UTC or an offset such as +02:00 or -05:00")
    try:
        return moment.astimezone(timezone.utc), None
    except OverflowError:
        return None, f"{json_excerpt(value)} is out of range once converted to UTC"


__all__ = ["Sidecar", "read_sidecar", "parse_sidecar", "sidecar_from_document", "parse_json_document",
           "MAX_SIDECAR_BYTES"]
