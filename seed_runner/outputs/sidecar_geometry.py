"""The GeoJSON and geometry checks of a schema-valid metadata sidecar (steps 3 and 4 of
``seed_runner.outputs.sidecar``): closed linear rings and Feature members (the ``geojson`` package's own
checks), then shapely validity, coordinate ranges and finiteness, and the sidecar's bbox and center.

numpy, shapely and geojson are imported only when a check needs them, once, under a lock
(``_shapely``, ``_check_polygon``): shapely's package imports itself in a cycle, so two threads importing it
at the same moment (four harvests at once) could see a partially initialised module and fail with
``ImportError: cannot import name 'BaseGeometry' from partially initialized module shapely.geometry.base``.
"""

from __future__ import annotations

import math
import threading
from functools import lru_cache
from types import SimpleNamespace
from typing import Any, Callable, Iterator

from ..problems import json_path
from ..manifest.jsontext import json_excerpt, json_kind
from .geojson_types import GEOMETRY_TYPES, MAX_PROBLEMS

_IMPORT_LOCK = threading.Lock()
"""Held while numpy, shapely or geojson is imported for the first time (see the module docstring)."""


@lru_cache(maxsize=1)
def _shapely() -> SimpleNamespace:
    """numpy and the parts of shapely the checks use, imported once under ``_IMPORT_LOCK``."""
    with _IMPORT_LOCK:
        import numpy
        import shapely
        from shapely.errors import ShapelyError
        from shapely.geometry import shape
        from shapely.validation import explain_validity

        return SimpleNamespace(np=numpy, shapely=shapely, ShapelyError=ShapelyError, shape=shape,
                               explain_validity=explain_validity)


@lru_cache(maxsize=1)
def _check_polygon() -> Callable[[Any], str | None]:
    """geojson's linear-ring check, imported once under ``_IMPORT_LOCK`` (no shapely: a lone point stays cheap)."""
    with _IMPORT_LOCK:
        from geojson.geometry import check_polygon

        return check_polygon


# ------------------------------------------------------------------------------------ step 3: GeoJSON


def geojson_problems(document: dict[str, Any]) -> list[str]:
    """GeoJSON rules the schema leaves out, checked with the geojson package where it has the check."""
    check_polygon = _check_polygon()
    problems: list[str] = []
    if document["type"] == "FeatureCollection":
        for index, feature in enumerate(document["features"]):
            if not isinstance(feature, dict):
                problems.append(f"{json_path(('features', index))}: must be a Feature object, got {json_kind(feature)}")
    for geometry, path in geometries_of(document):
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


def geometries_of(document: dict[str, Any]) -> Iterator[tuple[dict[str, Any], tuple]]:
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
    libs = _shapely()
    np = libs.np

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
            shape, problem = _build_shape(part, part_path)
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
        # 2-D geometries report their missing heights as NaN, and JSON has no NaN: only infinity is bad
        # (a number such as 1e999 parses as infinity).
        coordinates = libs.shapely.get_coordinates(shapes, include_z=True)
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
    np = _shapely().np
    try:
        array = np.asarray(positions, dtype=float)
    except ValueError:  # some positions have a height, some do not
        array = np.array([(p[0], p[1], p[2] if len(p) == 3 else 0.0) for p in positions], dtype=float)
    return array


def _build_shape(geometry: dict[str, Any], path: tuple) -> tuple[Any, str | None]:
    libs = _shapely()
    try:
        built = libs.shape(geometry)
    except (libs.ShapelyError, ValueError, TypeError, OverflowError) as exc:
        return None, f"{json_path(path)}: not a usable {geometry['type']}: {exc}"
    if not built.is_valid:
        return None, f"{json_path(path)}: invalid {geometry['type']}: {libs.explain_validity(built)} (shapely)"
    return built, None


def _center(shapes: list[Any], points: list[Any]) -> tuple[float, float]:
    """A point inside the geometry: GEOS's interior point of the highest-dimension parts."""
    libs = _shapely()
    if shapes:
        whole = shapes[0] if len(shapes) == 1 else libs.shapely.GeometryCollection(shapes)
        inside = whole.representative_point()
        return float(inside.x), float(inside.y)
    np = libs.np
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

