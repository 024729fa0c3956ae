"""What a test case's `geometry` check compares (rough edge 8 of issue 17): `type` is the GeoJSON type of the
side-car's *geometry* (a Feature's geometry, a FeatureCollection's geometries gathered in a GeometryCollection,
a bare geometry itself), never the side-car document's own `type`; `bbox` is the box seed-runner computes from
the coordinates, never a `bbox` member the side-car writes. docs/reference/test-case.md says so; these hold the
code to it, through the real side-car reader."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from seed_runner.manifest.schemas import load_schema
from seed_runner.outputs.sidecar import parse_sidecar
from seed_runner.testing.cases import Expectations
from seed_runner.testing.expectations import compare

SQUARE = {"type": "Polygon", "coordinates": [[[0, 0], [2, 0], [2, 1], [0, 1], [0, 0]]]}
FEATURE = {"type": "Feature", "geometry": SQUARE, "properties": {}, "bbox": [-50, -50, 50, 50]}
COLLECTION = {"type": "FeatureCollection", "features": [FEATURE, {**FEATURE, "geometry": {
    "type": "Point", "coordinates": [5, 5]}}]}


def _document(tmp_path: Path, side_car: dict[str, Any]) -> dict[str, Any]:
    sidecar, problems = parse_sidecar(json.dumps(side_car).encode())
    assert sidecar is not None, problems
    (tmp_path / "outputs").mkdir(exist_ok=True)
    (tmp_path / "outputs" / "a.dat").write_text("x")
    return {"status": "succeeded", "exit_code": 0, "error": None, "message": None, "run_dir": str(tmp_path),
            "outputs_dir": str(tmp_path / "outputs"), "timings": {"duration_seconds": 0.1}, "json_outputs": {},
            "outputs": {"OUT": {"files": [{"path": "a.dat", "size": 1, "sha256": "0" * 64, "media_type": None,
                                           "metadata_path": "a.dat.metadata.json", "metadata": sidecar.to_dict()}]}}}


def _mismatches(tmp_path: Path, side_car: dict[str, Any], geometry: dict[str, Any]) -> list[str]:
    return [m.message for m in compare(Expectations(outputs={"OUT": {"geometry": geometry}}),
                                       _document(tmp_path, side_car))]


def test_type_is_the_feature_s_geometry_type_not_the_feature(tmp_path: Path) -> None:
    assert _mismatches(tmp_path, FEATURE, {"type": "Polygon"}) == []
    assert _mismatches(tmp_path, FEATURE, {"type": "Point"}) == ["a.dat: side-car geometry Polygon, expected Point"]


def test_the_side_car_s_own_type_is_not_a_geometry_type_a_case_may_name() -> None:
    case = {"expect": {"outputs": {"OUT": {"geometry": {"type": "Feature"}}}}}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft202012Validator(load_schema("test-case")).validate(case)


def test_a_feature_collection_s_geometry_is_a_geometry_collection(tmp_path: Path) -> None:
    assert _mismatches(tmp_path, COLLECTION, {"type": "GeometryCollection"}) == []


def test_bbox_is_computed_from_the_coordinates_not_read_from_the_side_car(tmp_path: Path) -> None:
    assert _mismatches(tmp_path, FEATURE, {"bbox": [0, 0, 2, 1]}) == []
    assert _mismatches(tmp_path, FEATURE, {"bbox": [-50, -50, 50, 50]}) != []
    assert _mismatches(tmp_path, COLLECTION, {"bbox": [0, 0, 5, 5], "tolerance": 0}) == []


def test_a_bare_geometry_side_car_is_its_own_geometry(tmp_path: Path) -> None:
    assert _mismatches(tmp_path, SQUARE, {"type": "Polygon", "bbox": [0, 0, 2, 1]}) == []
