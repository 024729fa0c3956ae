"""Metadata sidecars: ``<file>.metadata.json`` read, checked and reduced to what a scheduler needs.

A sidecar is GeoJSON (RFC 7946). DECISIONS.md "Metadata sidecars" settles what the Seed spec leaves open:

- A bare geometry, a GeometryCollection, a Feature and a FeatureCollection are all accepted (Scale accepted
  only the first and third); a Feature's ``geometry`` may be ``null`` (no geometry).
- The checks run in this order, and a failing step stops the later ones:

  1. strict JSON (UTF-8, no NaN; line and column in the message), read by ``jsontext.parse_json_document``;
  2. the project's bundled metadata schema (``schemas/seed.metadata.schema.json``, compiled once with
     jsonschema-rs, no network); when it refuses, a walk that mirrors the schema says where and why
     (``seed_runner.outputs.sidecar_explain``, imported only then);
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
shapely, numpy and geojson are imported only when a sidecar is actually checked, once, under a lock (steps 3
and 4 are ``seed_runner.outputs.sidecar_geometry``; its docstring says why the lock).
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType
from typing import Any, Iterable, Mapping

from ..problems import json_path
from ..manifest.jsontext import json_excerpt, json_kind, parse_json_document
from ..runtime.masking import NO_SECRETS, SecretMask, as_mask
from .geojson_types import GEOJSON_TYPES, GEOMETRY_TYPES, MAX_PROBLEMS
from .sidecar_geometry import Geometries, geojson_problems, geometries_of, geometry_facts

MAX_SIDECAR_BYTES = 512 * 1024 * 1024
"""Larger sidecars are refused: their parsed coordinates alone would take several GiB of memory."""

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


def read_sidecar(path: str | Path, *, secrets: SecretMask | Iterable[str] = ()) -> tuple[Sidecar | None, list[str]]:
    """Read and check one sidecar file; ``(sidecar, [])`` when valid, else ``(None, problems)``.

    Problems are one-line messages naming the place in the document (a JSON path such as
    ``$.geometry.coordinates[0]``) and the reason. A file that cannot be read is a problem, not an exception.
    ``secrets`` are masked as ``parse_sidecar`` says.
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
    return parse_sidecar(data, secrets=secrets)


def parse_sidecar(data: bytes, *, secrets: SecretMask | Iterable[str] = ()) -> tuple[Sidecar | None, list[str]]:
    """Check a sidecar's bytes (all five steps of the module docstring).

    ``secrets``: the verdict comes from the bytes as written (a short secret cannot change it); a valid
    sidecar's strings and member names are then masked, and an invalid one's problems are those of the same
    checks run on the masked bytes (every form of a secret replaced, then the parsed strings and names), so
    that no excerpt quotes a piece of a secret. When the masked bytes would be judged otherwise, one problem
    says so without details.
    """
    mask = as_mask(secrets)
    parsed, sidecar, problems = _judge(data)
    if not mask:
        return sidecar, problems
    if sidecar is not None:
        return masked_sidecar(sidecar, mask), []
    if len(data) > MAX_SIDECAR_BYTES or not (b"\\" in data or mask.found_in(data)):
        return None, [mask.text(problem) for problem in problems]
    shown_parsed, shown_sidecar, shown = _judge(mask.data(data), mask)
    if shown_sidecar is None and shown_parsed == parsed:
        return None, [mask.text(problem) for problem in shown]
    return None, [WITHHELD]


WITHHELD = "it is not valid; the details are not shown, as they would quote the value of a secret setting it holds"


def _judge(data: bytes, mask: SecretMask = NO_SECRETS) -> tuple[bool, Sidecar | None, list[str]]:
    """(whether the JSON parsed, the sidecar or None, the problems), the parsed strings masked with ``mask``."""
    if len(data) > MAX_SIDECAR_BYTES:
        return False, None, [f"it is over the {MAX_SIDECAR_BYTES // 1048576} MiB limit for a metadata sidecar"]
    document, problems = parse_json_document(data, what="metadata sidecar")
    if problems:
        return False, None, problems
    return (True, *sidecar_from_document(mask.value(document)))


def masked_sidecar(sidecar: Sidecar, secrets: SecretMask) -> Sidecar:
    """The sidecar with every string it took from the document masked (date-times and numbers are kept)."""
    text = secrets.text
    strings = {attribute: None if getattr(sidecar, attribute) is None else text(getattr(sidecar, attribute))
               for attribute in STRING_PROPERTIES.values()}
    return replace(sidecar, type=text(sidecar.type), geometry=_masked_geometry(sidecar.geometry, secrets),
                   properties=MappingProxyType(secrets.value(sidecar.properties)), **strings,
                   data_types=None if sidecar.data_types is None else tuple(map(text, sidecar.data_types)))


def _masked_geometry(geometry: Mapping[str, Any] | None, secrets: SecretMask) -> Any:
    """A valid geometry masked without walking its coordinates: a simple geometry holds only ``type`` and
    ``coordinates`` (numbers, the schema says), so a point cloud of millions of positions is not walked; a
    collection's own members (foreign ones too) are."""
    if geometry is None:
        return None
    if geometry.keys() <= {"type", "coordinates"}:
        return {name: secrets.text(item) if name == "type" else item for name, item in geometry.items()}
    if isinstance(geometry.get("geometries"), list):
        masked = secrets.value({name: item for name, item in geometry.items() if name != "geometries"})
        masked["geometries"] = [_masked_geometry(part, secrets) for part in geometry["geometries"]]
        return masked
    return secrets.value(geometry)


def sidecar_from_document(document: Any) -> tuple[Sidecar | None, list[str]]:
    """Check a parsed sidecar document (steps 2 to 5)."""
    if not _metadata_validator().is_valid(document):
        from .sidecar_explain import explain_schema_failure

        return None, explain_schema_failure(document)
    problems = geojson_problems(document)
    if problems:
        return None, problems
    geometry = _geometry_of(document)
    bbox, center, problems = geometry_facts(list(geometries_of(document)))
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


# ------------------------------------------------------------ the reduction (steps 3 and 4: sidecar_geometry)


def _geometry_of(document: dict[str, Any]) -> dict[str, Any] | None:
    kind = document["type"]
    if kind == "Feature":
        return document["geometry"]
    if kind == "FeatureCollection":
        geometries = [g for g, _ in geometries_of(document)]
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


__all__ = ["Sidecar", "read_sidecar", "parse_sidecar", "sidecar_from_document", "masked_sidecar", "parse_json_document",
           "MAX_SIDECAR_BYTES", "MAX_PROBLEMS", "GEOMETRY_TYPES", "GEOJSON_TYPES", "Geometries", "geojson_problems",
           "geometry_facts"]
