"""Metadata sidecars (seed_runner.outputs.sidecar): what is accepted, what is refused and why, what a valid one gives.

Oracles: the spec's and the reference CLI's example sidecars in ../shared, the bundled metadata schema
compiled by two independent validators (jsonschema-rs and python-jsonschema), and shapely.
"""

from __future__ import annotations

import json
import os
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from shapely.geometry import Point, shape

from seed_runner.manifest.schemas import detailed_validator, fast_validator
from seed_runner.outputs.sidecar import (
    MAX_SIDECAR_BYTES,
    Sidecar,
    parse_date_time,
    parse_sidecar,
    read_sidecar,
    sidecar_from_document,
)
from seed_runner.outputs.sidecar_explain import explain_schema_failure

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
SPEC_SIDECAR = SHARED / "seed-spec/examples/complete/outfile.csv.metadata.json"
CLI_SIDECAR = SHARED / "seed-cli-examples/examples/extractor/seed.png.metadata.json"

SQUARE = [[[100.0, 0.0], [101.0, 0.0], [101.0, 1.0], [100.0, 1.0], [100.0, 0.0]]]
# A U shape: its centroid lies in the notch, outside the polygon.
U_SHAPE = [[[0, 0], [3, 0], [3, 3], [2, 3], [2, 1], [1, 1], [1, 3], [0, 3], [0, 0]]]


def feature(geometry: Any, properties: Any = None) -> dict[str, Any]:
    return {"type": "Feature", "geometry": geometry, "properties": {} if properties is None else properties}


def check(document: Any) -> tuple[Sidecar | None, list[str]]:
    """Through the bytes, as harvest does."""
    return parse_sidecar(json.dumps(document).encode())


def valid(document: Any) -> Sidecar:
    sidecar, problems = check(document)
    assert problems == [] and sidecar is not None
    json.dumps(sidecar.to_dict(), allow_nan=False)  # always serializable
    return sidecar


def refused(document: Any) -> str:
    sidecar, problems = check(document) if not isinstance(document, bytes) else parse_sidecar(document)
    assert sidecar is None and problems
    assert all("\n" not in p for p in problems)
    return " | ".join(problems)


# ------------------------------------------------------------------------------- reference examples


@pytest.mark.parametrize("path", [SPEC_SIDECAR, CLI_SIDECAR], ids=["spec-complete", "seed-cli-extractor"])
def test_reference_sidecars_are_valid_with_the_expected_bbox_and_center(path: Path) -> None:
    sidecar, problems = read_sidecar(path)
    assert problems == []
    assert sidecar.type == "Feature"
    assert sidecar.bbox == (100.0, 0.0, 101.0, 1.0)
    assert sidecar.center == (100.5, 0.5)
    assert sidecar.geometry == {"type": "Polygon", "coordinates": SQUARE}
    assert sidecar.properties["time"] == {"start": "2016-08-06T00:00:00.000Z", "end": "2016-08-06T00:00:00.000Z"}
    assert sidecar.data_started is None  # `time.start` is the spec's example, not a well-known property
    doc = sidecar.to_dict()
    assert doc["bbox"] == [100.0, 0.0, 101.0, 1.0] and doc["center"] == [100.5, 0.5]
    assert json.loads(json.dumps(doc)) == doc


# ---------------------------------------------------------------------------------- accepted shapes


@pytest.mark.parametrize("geometry, bbox", [
    ({"type": "Point", "coordinates": [10, 20]}, (10, 20, 10, 20)),
    ({"type": "Point", "coordinates": [-180, -90, 1200.5]}, (-180, -90, -180, -90)),
    ({"type": "MultiPoint", "coordinates": [[1, 2], [3, 4, 5], [-10, 8]]}, (-10, 2, 3, 8)),
    ({"type": "LineString", "coordinates": [[0, 0], [5, 5], [10, 0]]}, (0, 0, 10, 5)),
    ({"type": "MultiLineString", "coordinates": [[[0, 0], [1, 1]], [[5, 5], [6, 7]]]}, (0, 0, 6, 7)),
    ({"type": "Polygon", "coordinates": SQUARE}, (100, 0, 101, 1)),
    ({"type": "Polygon", "coordinates": [[[0, 0], [10, 0], [10, 10], [0, 10], [0, 0]],
                                         [[4, 4], [6, 4], [6, 6], [4, 6], [4, 4]]]}, (0, 0, 10, 10)),
    ({"type": "Polygon", "coordinates": U_SHAPE}, (0, 0, 3, 3)),
    ({"type": "MultiPolygon", "coordinates": [SQUARE, [[[0, 0], [1, 0], [1, 1], [0, 0]]]]}, (0, 0, 101, 1)),
    ({"type": "GeometryCollection", "geometries": [{"type": "Point", "coordinates": [170, 80]},
                                                   {"type": "Polygon", "coordinates": SQUARE}]}, (100, 0, 170, 80)),
], ids=lambda v: v["type"] if isinstance(v, dict) else None)
def test_every_geometry_kind_is_accepted_bare_and_in_a_feature(geometry: dict[str, Any], bbox: tuple) -> None:
    # The Seed schema does not let a Feature hold a GeometryCollection (RFC 7946 would): bare only.
    wrapped = [] if geometry["type"] == "GeometryCollection" else [feature(geometry)]
    for document in (geometry, *wrapped):
        sidecar = valid(document)
        assert sidecar.bbox == tuple(float(v) for v in bbox)
        assert sidecar.geometry == geometry
        # The center lies on or in the geometry, even for the U whose centroid is in the notch.
        assert shape(geometry).distance(Point(sidecar.center)) < 1e-9


def test_u_shape_center_is_inside_not_at_the_centroid() -> None:
    sidecar = valid(feature({"type": "Polygon", "coordinates": U_SHAPE}))
    polygon = shape({"type": "Polygon", "coordinates": U_SHAPE})
    assert not polygon.contains(polygon.centroid)
    assert polygon.contains(Point(sidecar.center))


def test_feature_with_null_geometry_is_valid_and_has_no_bbox() -> None:
    sidecar = valid(feature(None, {"sourceTask": "t1"}))
    assert sidecar.geometry is None and sidecar.bbox is None and sidecar.center is None
    assert sidecar.source_task == "t1"
    assert valid({"type": "Feature", "geometry": None, "properties": None}).properties == {}


def test_feature_collection_is_accepted_unlike_scale() -> None:
    collection = {"type": "FeatureCollection", "features": [
        feature({"type": "Point", "coordinates": [-20, -10]}, {"sourceSensor": "a"}),
        feature(None, {"sourceSensor": "b"}),
        feature({"type": "Polygon", "coordinates": SQUARE}),
    ]}
    sidecar = valid(collection)
    assert sidecar.type == "FeatureCollection"
    assert sidecar.geometry == {"type": "GeometryCollection", "geometries": [
        {"type": "Point", "coordinates": [-20, -10]}, {"type": "Polygon", "coordinates": SQUARE}]}
    assert sidecar.bbox == (-20.0, -10.0, 101.0, 1.0)
    assert shape({"type": "Polygon", "coordinates": SQUARE}).contains(Point(sidecar.center))
    # Several features, no collection-level properties: no properties (per-feature ones are not merged).
    assert sidecar.properties == {} and sidecar.source_sensor is None


def test_feature_collection_properties_rule() -> None:
    one = {"type": "FeatureCollection", "features": [feature(None, {"dataTypes": ["x"]})]}
    assert valid(one).data_types == ("x",)
    own = {"type": "FeatureCollection", "properties": {"sourceCollection": "c"},
           "features": [feature(None, {"dataTypes": ["x"]})]}
    sidecar = valid(own)
    assert sidecar.properties == {"sourceCollection": "c"} and sidecar.data_types is None
    empty = valid({"type": "FeatureCollection", "features": []})
    assert empty.geometry is None and empty.bbox is None and empty.properties == {}
    assert "$.features[0].properties.dataEnded" in refused(
        {"type": "FeatureCollection", "features": [feature(None, {"dataEnded": "yesterday"})]})


def test_points_only_collection_center_is_the_point_nearest_the_centroid() -> None:
    points = [[0, 0], [10, 0], [4, 1], [10, 10], [0, 10]]
    sidecar = valid({"type": "MultiPoint", "coordinates": points})
    assert sidecar.center == (4.0, 1.0)
    geos = shape({"type": "MultiPoint", "coordinates": points}).representative_point()
    assert sidecar.center == (geos.x, geos.y)  # what GEOS picks for points


def test_empty_geometries_have_no_bbox() -> None:
    assert valid({"type": "MultiPoint", "coordinates": []}).bbox is None
    assert valid({"type": "GeometryCollection", "geometries": []}).center is None


# ------------------------------------------------------------------------------ well-known properties


@pytest.mark.parametrize("text, utc", [
    ("2016-08-06T00:00:00Z", "2016-08-06T00:00:00Z"),
    ("2016-08-06T00:00:00.000Z", "2016-08-06T00:00:00Z"),
    ("2016-08-06T00:00:00.250+02:00", "2016-08-05T22:00:00.250000Z"),
    ("2016-08-06T00:00:00-05:00", "2016-08-06T05:00:00Z"),  # negative offsets: Scale refused them
    ("2016-08-06T19:30:00-09:30", "2016-08-07T05:00:00Z"),
    ("2016-12-31T23:00:00-03:00", "2017-01-01T02:00:00Z"),
    ("2016-08-06T00:00:00+14:00", "2016-08-05T10:00:00Z"),
    ("2016-08-06 00:00:00+00:00", "2016-08-06T00:00:00Z"),
])
def test_date_times_with_any_offset_are_normalized_to_utc(text: str, utc: str) -> None:
    sidecar = valid(feature(None, {"dataStarted": text, "dataEnded": text, "sourceStarted": text,
                                   "sourceEnded": text}))
    doc = sidecar.to_dict()
    assert [doc[k] for k in ("data_started", "data_ended", "source_started", "source_ended")] == [utc] * 4
    assert sidecar.data_started.tzinfo == timezone.utc
    assert sidecar.properties["dataStarted"] == text  # properties stay as written


@pytest.mark.parametrize("value, reason", [
    ("2016-08-06T00:00:00", "has no time zone"),
    ("2016-08-06", "has no time zone"),
    ("yesterday", "is not an ISO 8601 date-time"),
    ("2016-13-06T00:00:00Z", "is not an ISO 8601 date-time"),
    (1470441600, "must be an ISO 8601 date-time string, got a number"),
    (None, "got null"),
])
def test_date_times_without_zone_or_not_dates_are_problems(value: Any, reason: str) -> None:
    message = refused(feature(None, {"sourceEnded": value}))
    assert message.startswith("$.properties.sourceEnded: ") and reason in message


def test_string_properties_and_data_types_are_typed() -> None:
    sidecar = valid(feature(None, {"sourceSensorClass": "EO", "sourceSensor": "S2A", "sourceCollection": "L1C",
                                   "sourceTask": "T42", "dataTypes": ["image", "rgb"], "other": 5}))
    assert (sidecar.source_sensor_class, sidecar.source_sensor, sidecar.source_collection, sidecar.source_task) == \
        ("EO", "S2A", "L1C", "T42")
    assert sidecar.data_types == ("image", "rgb")
    assert sidecar.to_dict()["data_types"] == ["image", "rgb"]
    assert sidecar.properties["other"] == 5
    assert "$.properties.sourceSensor: must be a string, got a number" in refused(feature(None, {"sourceSensor": 7}))
    assert "$.properties.dataTypes: must be an array of strings" in refused(feature(None, {"dataTypes": "image"}))
    assert "$.properties.dataTypes" in refused(feature(None, {"dataTypes": ["a", 1]}))


def test_parse_date_time_directly() -> None:
    moment, problem = parse_date_time("2020-02-29T12:00:00-01:00")
    assert problem is None and moment == datetime(2020, 2, 29, 13, tzinfo=timezone.utc)


# ---------------------------------------------------------------------------------- refused documents


@pytest.mark.parametrize("document, expected", [
    ([], "$: a metadata sidecar must be a GeoJSON object, got an array"),
    ({"geometry": None}, "$: member 'type' is missing"),
    ({"type": "Sphere"}, "$.type: \"Sphere\" is not a GeoJSON type"),
    ({"type": "Feature", "geometry": None}, "$: member 'properties' is missing"),
    ({"type": "Feature", "properties": {}}, "$: member 'geometry' is missing"),
    ({"type": "Feature", "geometry": None, "properties": 5}, "$.properties: must be an object or null"),
    ({"type": "Feature", "geometry": None, "properties": {}, "id": True}, "$.id: must be a string or a number"),
    (feature({"type": "Pointy", "coordinates": [0, 0]}), "$.geometry.type: \"Pointy\" is not a geometry type"),
    (feature({"type": "Point", "coordinates": [0]}), "$.geometry.coordinates: a position must have 2 or 3"),
    (feature({"type": "Point", "coordinates": [0, 1, 2, 3]}), "a position must have 2 or 3"),
    (feature({"type": "Point", "coordinates": ["0", 1]}), "$.geometry.coordinates[0]: must be a number, got a string"),
    (feature({"type": "Point", "coordinates": [True, 1]}), "$.geometry.coordinates[0]: must be a number, got a bool"),
    (feature({"type": "Point"}), "member 'coordinates' is missing"),
    ({"type": "Point", "coordinates": [1, 1], "bbox": [1, 1, 1, 1]}, "member 'bbox' is not allowed in a geometry"),
    ({"type": "Feature", "geometry": None, "properties": {}, "bbox": [1, 2]}, "$.bbox: must be an array of at least 4"),
    (feature({"type": "LineString", "coordinates": [[0, 0]]}), "a line string needs at least 2 positions, got 1"),
    (feature({"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [0, 0]]]}),
     "$.geometry.coordinates[0]: a linear ring needs at least 4 positions, got 3"),
    (feature({"type": "MultiPolygon", "coordinates": [SQUARE, 5]}),
     "$.geometry.coordinates[1]: must be an array of linear rings"),
    ({"type": "GeometryCollection", "geometries": [{"type": "Point", "coordinates": [1, 2], "id": 3}]},
     "$.geometries[0]: member 'id' is not allowed"),
    ({"type": "FeatureCollection", "features": [feature(None), {"type": "Point", "coordinates": [1, 2]}]},
     "$.features[1].type: must be \"Feature\""),
    ({"type": "FeatureCollection", "features": [5]}, "$.features[0]: must be a Feature object, got a number"),
    ({"type": "FeatureCollection"}, "$: member 'features' is missing"),
    (feature({"type": "GeometryCollection", "geometries": []}),
     "$.geometry.type: \"GeometryCollection\" is not a geometry type"),
])
def test_schema_and_geojson_problems_name_the_place(document: Any, expected: str) -> None:
    assert expected in refused(document)


@pytest.mark.parametrize("geometry, expected", [
    ({"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 1]]]},
     "$.geometry.coordinates: each linear ring must end where it started"),
    ({"type": "MultiPolygon", "coordinates": [SQUARE, [[[0, 0], [1, 0], [1, 1], [0, 1]]]]},
     "$.geometry.coordinates[1]: each linear ring must end where it started"),
    ({"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]]},
     "$.geometry: invalid Polygon: Self-intersection[0.5 0.5] (shapely)"),
    ({"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 1], [0, 0]],
                                         [[5, 5], [6, 5], [6, 6], [5, 6], [5, 5]]]}, "Hole lies outside shell"),
    ({"type": "Point", "coordinates": [180.5, 0]}, "$.geometry.coordinates: [180.5, 0] has a longitude outside"),
    ({"type": "Point", "coordinates": [0, -90.01]}, "has a latitude outside [-90, 90]"),
    ({"type": "MultiPoint", "coordinates": [[0, 0], [1, 1], [-200, 5]]},
     "$.geometry.coordinates[2]: [-200, 5] has a longitude outside [-180, 180]"),
    ({"type": "LineString", "coordinates": [[0, 0], [1, 95]]}, "$.geometry.coordinates[1]: [1, 95] has a latitude"),
])
def test_geometry_problems(geometry: dict[str, Any], expected: str) -> None:
    assert expected in refused(feature(geometry))


def test_geometry_problems_inside_collections_have_their_path() -> None:
    bad = {"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]]}
    assert "$.geometries[1]: invalid Polygon" in refused(
        {"type": "GeometryCollection", "geometries": [{"type": "Point", "coordinates": [0, 0]}, bad]})
    assert "$.features[1].geometry: invalid Polygon" in refused(
        {"type": "FeatureCollection", "features": [feature(None), feature(bad)]})
    assert "$.features[0].geometry.coordinates[0][2]" in refused(
        {"type": "FeatureCollection", "features": [feature(
            {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 100], [0, 0]]]})]})


@pytest.mark.parametrize("data, expected", [
    (b'{"type": "Feature",\n "geometry": null,,\n "properties": {}}', "malformed JSON at line 2, column 19"),
    (b"", "the metadata sidecar is empty"),
    (b"  \n", "the metadata sidecar is empty"),
    (b'{"type": "Point", "coordinates": [NaN, 1]}', "NaN is not valid JSON"),
    (b'{"type": "Point", "coordinates": [1e999, 1]}', "the number 1e999 is too large"),
    (b'{"type": "Point", "coordinates": [1, 2]} x', "malformed JSON at line 1, column 42"),
    (b'{"type": "Point", "coordinates": [1, 2], "x": "\xff"}', "is not valid UTF-8"),
    (b'[' * 100_000 + b']' * 100_000, "too deeply"),
    (b'{"type": "Point", "coordinates": [1, ' + b"9" * 400 + b']}', "has a latitude outside [-90, 90]"),
    (b'{"type": "MultiPoint", "coordinates": [[1, ' + b"9" * 400 + b']]}', "too large for a coordinate"),
    (b'{"type": "LineString", "coordinates": [[0, 0], [1, ' + b"9" * 400 + b']]}', "not a usable LineString"),
])
def test_unparseable_sidecars_say_where(data: bytes, expected: str) -> None:
    assert expected in refused(data)


def test_malformed_large_sidecar_has_line_and_column(tmp_path: Path) -> None:
    # Over parse_json_text's 10 MiB limit: the message comes from the big-document path.
    body = ",".join(["[1.0,2.0]"] * 1_300_000)
    data = ('{"type": "MultiPoint",\n"coordinates": [' + body + ',]}').encode()
    assert len(data) > 10 * 1024 * 1024
    assert "malformed JSON at line 2, column" in refused(data)


def test_bom_is_accepted() -> None:
    assert parse_sidecar(b"\xef\xbb\xbf" + json.dumps(feature(None)).encode())[1] == []


def test_read_sidecar_reports_unreadable_paths(tmp_path: Path) -> None:
    assert read_sidecar(tmp_path / "absent.metadata.json") == (None, ["cannot read it: No such file or directory"])
    assert read_sidecar(tmp_path) == (None, ["it is not a regular file"])
    os.mkfifo(tmp_path / "pipe.metadata.json")  # must not block
    assert read_sidecar(tmp_path / "pipe.metadata.json") == (None, ["it is not a regular file"])


def test_oversized_sidecar_is_refused_without_parsing() -> None:
    class Huge(bytes):
        def __len__(self) -> int:
            return MAX_SIDECAR_BYTES + 1

    assert "limit" in refused(Huge(b"{}"))


def test_problems_are_capped_at_three() -> None:
    bad = feature({"type": "MultiPoint", "coordinates": [[0], [1], [2], [3], [4]]})
    _, problems = check(bad)
    assert len(problems) == 3


# ------------------------------------------------------------------------ the walk agrees with the schema

_numbers = st.one_of(st.integers(-200, 200), st.floats(-200, 200, allow_nan=False), st.booleans())
_position = st.lists(_numbers, min_size=1, max_size=4)
_coordinates = st.recursive(_position, lambda inner: st.lists(inner, max_size=5), max_leaves=12)
_geometry = st.fixed_dictionaries(
    {"type": st.sampled_from(["Point", "MultiPoint", "LineString", "MultiLineString", "Polygon", "MultiPolygon",
                              "Pointy"]),
     "coordinates": _coordinates},
    optional={"bbox": st.just([0, 0, 1, 1])})
_maybe_geometry = st.one_of(st.none(), _geometry, st.integers())
_feature = st.fixed_dictionaries(
    {"type": st.sampled_from(["Feature", "Feature", "Other"])},
    optional={"geometry": _maybe_geometry, "properties": st.one_of(st.none(), st.just({}), st.integers()),
              "id": st.one_of(st.text(max_size=2), st.integers(), st.booleans())})
_documents = st.one_of(
    _geometry,
    _feature,
    st.fixed_dictionaries({"type": st.just("GeometryCollection")},
                          optional={"geometries": st.one_of(st.lists(_geometry, max_size=3), st.integers())}),
    st.fixed_dictionaries({"type": st.just("FeatureCollection")},
                          optional={"features": st.one_of(st.lists(_feature, max_size=3), st.text(max_size=1))}),
    st.lists(st.integers(), max_size=2),
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_documents)
def test_explanation_exists_exactly_when_the_schema_refuses(document: Any) -> None:
    rs_valid = fast_validator("metadata").is_valid(document)
    assert rs_valid == detailed_validator("metadata").is_valid(document)  # two independent validators agree
    if rs_valid:
        return
    problems = explain_schema_failure(document)
    assert problems and all(p.startswith("$") for p in problems)
    # The walk found a real reason, not the schema's generic fallback.
    assert "not valid under any of the given schemas" not in problems[0]
    assert sidecar_from_document(document)[0] is None


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.floats(-180, 180), st.floats(-90, 90)), min_size=1, max_size=30))
def test_point_clouds_bbox_and_center(points: list[tuple[float, float]]) -> None:
    sidecar = valid({"type": "MultiPoint", "coordinates": [list(p) for p in points]})
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    assert sidecar.bbox == (min(xs), min(ys), max(xs), max(ys))
    assert sidecar.center in [tuple(p) for p in points]


@settings(max_examples=200, deadline=None)
@given(st.floats(-180, 179), st.floats(-90, 89), st.floats(1e-6, 1), st.floats(1e-6, 1))
def test_rectangles_bbox_and_center(x: float, y: float, width: float, height: float) -> None:
    ring = [[x, y], [x + width, y], [x + width, y + height], [x, y + height], [x, y]]
    sidecar = valid(feature({"type": "Polygon", "coordinates": [ring]}))
    assert sidecar.bbox == (x, y, x + width, y + height)
    cx, cy = sidecar.center
    assert x <= cx <= x + width and y <= cy <= y + height


# A fresh interpreter (shapely not imported yet) in which 8 threads read the same Polygon sidecar at once.
THREADED_READ = r"""
import json, sys, threading
from seed_runner.outputs.sidecar import read_sidecar

assert "shapely" not in sys.modules and "geojson" not in sys.modules
start = threading.Barrier(8)
results = [None] * 8

def read(index):
    start.wait()
    try:
        sidecar, problems = read_sidecar(sys.argv[1])
        results[index] = problems if sidecar is None else sidecar.to_dict()["bbox"]
    except BaseException as exc:
        results[index] = repr(exc)

threads = [threading.Thread(target=read, args=(i,)) for i in range(8)]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
print(json.dumps(results))
"""


def test_threads_reading_sidecars_at_once_import_shapely_safely(tmp_path: Path) -> None:
    # shapely imported by several threads at the same moment could show a partially initialised module
    # ("cannot import name 'BaseGeometry' from partially initialized module shapely.geometry.base").
    # The race is timing-dependent (without the lock about one fresh interpreter in four failed), so eight
    # fresh interpreters each race eight readers.
    import subprocess
    import sys

    path = tmp_path / "out.tif.metadata.json"
    path.write_text(json.dumps(feature({"type": "Polygon", "coordinates": SQUARE})))
    for _ in range(8):
        done = subprocess.run([sys.executable, "-c", THREADED_READ, str(path)], capture_output=True, text=True,
                              timeout=120, cwd=Path(__file__).resolve().parents[1])
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout) == [[100.0, 0.0, 101.0, 1.0]] * 8


def test_a_side_car_of_tiny_arrays_is_refused_before_it_is_parsed(tmp_path: Path) -> None:
    """100 MiB of "[]," would take gigabytes and minutes as Python lists: refused from a count of its brackets,
    with the runner's memory within a few times the file's size (measured in a fresh process)."""
    import subprocess
    import sys

    path = tmp_path / "out.txt.metadata.json"
    with open(path, "wb") as handle:
        handle.write(b"[")
        handle.write(b"[]," * (35 * 1024 * 1024))
        handle.write(b"[]]")
    size = path.stat().st_size
    script = ("import json, sys, time\n"
              "from seed_runner.outputs.sidecar import read_sidecar\n"
              "start = time.perf_counter()\n"
              "sidecar, problems = read_sidecar(sys.argv[1])\n"
              # VmHWM, not getrusage's ru_maxrss: Linux carries the parent's (pytest's) peak across fork and exec.
              "hwm = next(int(l.split()[1]) for l in open('/proc/self/status') if l.startswith('VmHWM:'))\n"
              "print(json.dumps({'ok': sidecar is not None, 'problems': problems, 'seconds': time.perf_counter() - start,"
              " 'rss': hwm * 1024}))\n")
    proc = subprocess.run([sys.executable, "-c", script, str(path)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert not report["ok"] and "arrays and objects" in report["problems"][0]
    assert report["seconds"] < 5 and report["rss"] < 4 * size, report  # the bytes read, never their parse
