"""The GeoJSON type names a metadata sidecar may use, and how many problems one sidecar reports: shared by
the sidecar checks and their schema explanation, which must not import each other."""

from __future__ import annotations

GEOMETRY_TYPES = ("Point", "MultiPoint", "LineString", "MultiLineString", "Polygon", "MultiPolygon")
GEOJSON_TYPES = (*GEOMETRY_TYPES, "GeometryCollection", "Feature", "FeatureCollection")

# How many problems one sidecar reports at most: enough to fix it, short enough for one line.
MAX_PROBLEMS = 3
