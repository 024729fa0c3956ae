"""Harvest (seed_runner.outputs.harvesting): real output folders in tmp_path, no engine.

Every rule of DECISIONS.md "Outputs" and "Metadata sidecars" with a folder that passes and one that fails;
the spec's complete example; hostile folders (links out, pipes, loops, unreadable files); 10,000 files; a
100 MB sidecar; and glob(7) matching held to Python's glob module on random patterns and trees.
"""

from __future__ import annotations

import glob
import hashlib
import json
import os
import random
import shutil
import tempfile
from pathlib import Path
from typing import Any, Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from seed_runner.outputs.harvesting import (
    FAILURE_ORDER,
    CapturedFile,
    Harvest,
    HarvestError,
    HarvestProblem,
    guess_media_type,
    harvest,
    pattern_components,
)
from seed_runner.manifest.model import Manifest

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
COMPLETE = SHARED / "seed-spec/examples/complete"
POINT_SIDECAR = {"type": "Feature", "geometry": {"type": "Point", "coordinates": [12.5, 41.9]},
                 "properties": {"dataStarted": "2024-05-01T10:00:00-04:00"}}


def make_manifest(files: list[dict[str, Any]] | None = None, json_outputs: list[dict[str, Any]] | None = None,
                  inputs: list[dict[str, Any]] | None = None) -> Manifest:
    outputs: dict[str, Any] = {}
    if files:
        outputs["files"] = files
    if json_outputs:
        outputs["json"] = json_outputs
    interface: dict[str, Any] = {"outputs": outputs}
    if inputs:
        interface["inputs"] = {"files": inputs}
    return Manifest.from_dict({"seedVersion": "1.0.0", "job": {
        "name": "harvest-test", "jobVersion": "1.0.0", "packageVersion": "1.0.0", "title": "T", "description": "D",
        "maintainer": {"name": "M", "email": "m@example.com"}, "timeout": 10, "interface": interface}})


def one_output(pattern: str, **flags: Any) -> Manifest:
    return make_manifest([{"name": "OUT", "pattern": pattern, **flags}])


def write(root: Path, *paths: str, content: bytes = b"x") -> None:
    for path in paths:
        target = root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)


def write_json(path: Path, value: Any) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(value))
    return path


def paths(result: Harvest, output: str = "OUT") -> list[str]:
    return [f.path for f in result.files[output]]


def codes(problems: tuple[HarvestProblem, ...]) -> list[str]:
    return [p.code for p in problems]


def serializable(result: Harvest) -> dict[str, Any]:
    doc = result.to_dict()
    assert json.loads(json.dumps(doc, allow_nan=False)) == doc
    for problem in (*result.warnings, *result.failures):
        assert "\n" not in problem.message and problem.message
    return doc


# ------------------------------------------------------------------------------------- 1. file outputs


def test_pattern_matches_regular_files_sorted_not_recursively(tmp_path: Path) -> None:
    write(tmp_path, "b.txt", "a.txt", "c.TXT", "sub/d.txt", "a.txt.bak")
    (tmp_path / "dir.txt").mkdir()  # a directory that matches is ignored
    result = harvest(one_output("*.txt", multiple=True), tmp_path)
    assert paths(result) == ["a.txt", "b.txt"]
    assert result.failure is None and result.warnings == ()


def test_double_star_is_a_single_star(tmp_path: Path) -> None:
    write(tmp_path, "top.txt", "sub/a.txt", "sub/deeper/b.txt", "other/c.txt")
    assert paths(harvest(one_output("**/*.txt", multiple=True), tmp_path)) == ["other/c.txt", "sub/a.txt"]
    assert paths(harvest(one_output("**.txt", multiple=True), tmp_path)) == ["top.txt"]


def test_subdirectory_patterns(tmp_path: Path) -> None:
    write(tmp_path, "base/sub-1/a.ext", "base/sub-2/b.ext", "base/sub-2/c.txt", "base/other/d.ext",
          "base/sub-3/deep/e.ext", "base/sub-x.ext")
    result = harvest(one_output("base/sub-*/*.ext", multiple=True), tmp_path)
    assert paths(result) == ["base/sub-1/a.ext", "base/sub-2/b.ext"]
    assert paths(harvest(one_output("base/sub-?/[ab].ext", multiple=True), tmp_path)) == \
        ["base/sub-1/a.ext", "base/sub-2/b.ext"]
    assert paths(harvest(one_output("base/sub-[!1]/*", multiple=True), tmp_path)) == \
        ["base/sub-2/b.ext", "base/sub-2/c.txt"]
    assert paths(harvest(one_output("./base/./sub-1/a.ext"), tmp_path)) == ["base/sub-1/a.ext"]


def test_leading_dot_must_be_matched_explicitly(tmp_path: Path) -> None:
    write(tmp_path, ".hidden.txt", "shown.txt", ".cache/in.txt", "d/.also.txt")
    assert paths(harvest(one_output("*", multiple=True), tmp_path)) == ["shown.txt"]
    assert paths(harvest(one_output("?hidden.txt", required=False), tmp_path)) == []
    assert paths(harvest(one_output("[.]hidden.txt", required=False), tmp_path)) == []
    assert paths(harvest(one_output(".*", multiple=True), tmp_path)) == [".hidden.txt"]
    assert paths(harvest(one_output("*/*.txt", multiple=True, required=False), tmp_path)) == []
    assert paths(harvest(one_output(".cache/*", multiple=True), tmp_path)) == [".cache/in.txt"]
    assert paths(harvest(one_output("d/.*", multiple=True), tmp_path)) == ["d/.also.txt"]


def test_sidecars_and_outputs_json_are_never_captured_unless_named(tmp_path: Path) -> None:
    write(tmp_path, "a.json", "a.json.metadata.json", "seed.outputs.json", "sub/seed.outputs.json")
    assert paths(harvest(one_output("*", multiple=True), tmp_path)) == ["a.json"]
    assert paths(harvest(one_output("*.json", multiple=True), tmp_path)) == ["a.json"]
    assert paths(harvest(one_output("*.metadata.json", multiple=True), tmp_path)) == ["a.json.metadata.json"]
    assert paths(harvest(one_output("seed.outputs.json"), tmp_path)) == ["seed.outputs.json"]
    assert paths(harvest(one_output("*/seed.outputs.json"), tmp_path)) == ["sub/seed.outputs.json"]
    assert paths(harvest(one_output("seed.outputs.js[o]n", required=False), tmp_path)) == []


def test_required_output_with_no_match_fails(tmp_path: Path) -> None:
    write(tmp_path, "other.csv")
    result = harvest(one_output("*.txt"), tmp_path)
    assert result.failure.code == "missing-required-output"
    assert "OUT" in result.failure.message and "'*.txt'" in result.failure.message
    assert result.files["OUT"] == ()
    optional = harvest(one_output("*.txt", required=False), tmp_path)
    assert optional.failure is None and optional.failures == () and optional.files["OUT"] == ()


def test_single_output_with_many_matches_fails(tmp_path: Path) -> None:
    write(tmp_path, "a.txt", "b.txt")
    result = harvest(one_output("*.txt"), tmp_path)
    assert result.failure.code == "unexpected-multiple-outputs"
    assert "a.txt, b.txt" in result.failure.message
    assert paths(result) == ["a.txt", "b.txt"]  # still reported
    assert harvest(one_output("*.txt", multiple=True), tmp_path).failure is None


def test_file_names_that_are_not_utf8_are_not_captured(tmp_path: Path) -> None:
    root = os.fsencode(tmp_path)
    with open(os.path.join(root, b"n\xff.txt"), "wb") as handle:
        handle.write(b"x")
    os.mkdir(os.path.join(root, b"d\xfe"))
    with open(os.path.join(root, b"d\xfe", b"in.txt"), "wb") as handle:
        handle.write(b"x")
    result = harvest(one_output("*.txt"), tmp_path)
    assert result.files["OUT"] == ()
    assert result.failure.code == "missing-required-output"  # counts as no match
    assert [(w.code, w.path) for w in result.warnings] == [("unreadable-output", "n\ufffd.txt")]
    assert "file name is not UTF-8: n\ufffd.txt; rename it" in result.warnings[0].message
    doc = serializable(result)
    json.dumps(doc, ensure_ascii=False).encode("utf-8")  # no lone surrogates anywhere
    nested = harvest(one_output("*/*.txt", required=False), tmp_path)
    assert nested.files["OUT"] == () and nested.failure is None
    assert [(w.code, w.path) for w in nested.warnings] == [("unreadable-output", "d\ufffd/in.txt")]
    json.dumps(serializable(nested), ensure_ascii=False).encode("utf-8")
    write(tmp_path, "ok.txt")  # another match is captured as usual
    mixed = harvest(one_output("*.txt"), tmp_path)
    assert paths(mixed) == ["ok.txt"] and mixed.failure is None and codes(mixed.warnings) == ["unreadable-output"]


def test_multiple_output_with_zero_or_one_match(tmp_path: Path) -> None:
    write(tmp_path, "a.txt")
    assert harvest(one_output("*.txt", multiple=True), tmp_path).failure is None  # unlike seed-cli: 1 is fine
    assert harvest(one_output("*.csv", multiple=True, required=False), tmp_path).failure is None
    assert harvest(one_output("*.csv", multiple=True), tmp_path).failure.code == "missing-required-output"


def test_two_outputs_may_capture_the_same_file_with_a_warning(tmp_path: Path) -> None:
    write(tmp_path, "a.txt", "b.txt")
    manifest = make_manifest([{"name": "ONE", "pattern": "a.*"}, {"name": "ALL", "pattern": "*.txt", "multiple": True}])
    result = harvest(manifest, tmp_path)
    assert paths(result, "ONE") == ["a.txt"] and paths(result, "ALL") == ["a.txt", "b.txt"]
    assert result.files["ONE"][0].sha256 == result.files["ALL"][0].sha256
    assert codes(result.warnings) == ["shared-output-file"]
    assert result.warnings[0].path == "a.txt" and "ONE, ALL" in result.warnings[0].message
    assert result.failure is None


def test_captured_file_facts(tmp_path: Path) -> None:
    big = os.urandom(3 * 1024 * 1024 + 17)  # more than the hash buffer
    write(tmp_path, "big.bin", content=big)
    write(tmp_path, "empty.bin", content=b"")
    result = harvest(one_output("*.bin", multiple=True), tmp_path)
    by_path = {f.path: f for f in result.files["OUT"]}
    assert by_path["big.bin"] == CapturedFile("OUT", "big.bin", len(big), hashlib.sha256(big).hexdigest(),
                                              "application/octet-stream")
    assert by_path["empty.bin"].size == 0
    assert by_path["empty.bin"].sha256 == hashlib.sha256(b"").hexdigest()


def test_media_types(tmp_path: Path) -> None:
    write(tmp_path, "a.png", "b.csv", "c.tar.gz", "d.geojson", "e.unknownext", "f.h5", "noext")
    manifest = make_manifest([{"name": "DECLARED", "pattern": "a.png", "mediaType": "image/x-special"},
                              {"name": "GUESSED", "pattern": "*", "multiple": True}])
    result = harvest(manifest, tmp_path)
    assert result.files["DECLARED"][0].media_type == "image/x-special"
    assert {f.path: f.media_type for f in result.files["GUESSED"]} == {
        "a.png": "image/png", "b.csv": "text/csv", "c.tar.gz": "application/gzip",
        "d.geojson": "application/geo+json", "e.unknownext": "application/octet-stream",
        "f.h5": "application/x-hdf5", "noext": "application/octet-stream"}
    assert guess_media_type("X.PNG") == "image/png"


def test_pattern_components() -> None:
    assert pattern_components("a/*/b") == ["a", "*", "b"]
    assert pattern_components("./a//b") == ["a", "b"]
    assert pattern_components("") == [] and pattern_components("dir/") == []
    assert pattern_components("/etc/*") is None and pattern_components("a/../../b") is None


def test_patterns_that_leave_the_folder_match_nothing(tmp_path: Path) -> None:
    out = tmp_path / "out"
    write(tmp_path, "secret.txt", "out/x.txt")
    for pattern in ("../*.txt", "/etc/passwd", f"{tmp_path}/secret.txt", "sub/../../secret.txt"):
        result = harvest(one_output(pattern), out)
        assert result.files["OUT"] == ()
        assert codes(result.warnings) == ["invalid-pattern"] and codes(result.failures) == ["missing-required-output"]


def test_directory_pattern_with_trailing_slash_matches_nothing(tmp_path: Path) -> None:
    (tmp_path / "d").mkdir()
    assert harvest(one_output("d/"), tmp_path).failure.code == "missing-required-output"


# ------------------------------------------------------------------------------------- 2. JSON outputs


def complete_manifest() -> Manifest:
    return Manifest.from_dict(json.loads((COMPLETE / "seed.manifest.json").read_text()))


@pytest.mark.parametrize("example, expected", [
    ("seed.outputs.json", {"cell_count": 3, "dummy": 1}),
    ("seed.outputs2.json", {"cell_count": 3}),
])
def test_spec_complete_example(tmp_path: Path, example: str, expected: dict[str, int]) -> None:
    shutil.copy(COMPLETE / example, tmp_path / "seed.outputs.json")
    write(tmp_path, "outfile1.png", "outfile2.png", "outfile.csv")
    shutil.copy(COMPLETE / "outfile.csv.metadata.json", tmp_path)
    result = harvest(complete_manifest(), tmp_path)
    assert dict(result.json) == expected
    assert result.failure is None and result.warnings == ()
    assert paths(result, "output_file_pngs") == ["outfile1.png", "outfile2.png"]
    assert [f.media_type for f in result.files["output_file_pngs"]] == ["image/png", "image/png"]
    (csv,) = result.files["output_file_csv"]
    assert csv.metadata_path == "outfile.csv.metadata.json"
    assert csv.metadata.bbox == (100.0, 0.0, 101.0, 1.0) and csv.metadata.center == (100.5, 0.5)
    doc = serializable(result)
    assert doc["json_outputs"] == expected
    assert doc["outputs"]["output_file_csv"]["files"][0]["metadata"]["bbox"] == [100.0, 0.0, 101.0, 1.0]


def json_manifest(*outputs: dict[str, Any]) -> Manifest:
    return make_manifest(json_outputs=list(outputs))


COUNT = {"name": "cell_count", "key": "cellCount", "type": "integer"}
NOTE = {"name": "note", "type": "string", "required": False}


def test_json_outputs_read_by_key_stored_by_name_extras_ignored(tmp_path: Path) -> None:
    write_json(tmp_path / "seed.outputs.json", {"cellCount": 7, "note": "hi", "cell_count": "ignored", "x": [1]})
    result = harvest(json_manifest(COUNT, NOTE), tmp_path)
    assert dict(result.json) == {"cell_count": 7, "note": "hi"}
    assert result.failures == () and result.warnings == ()


@pytest.mark.parametrize("output_type, good, bad", [
    ("integer", 3, True),
    ("integer", -4, 3.0),
    ("number", 2.5, "2.5"),
    ("number", 2, False),
    ("boolean", False, 0),
    ("string", "", None),
    ("array", [1, "a"], {"a": 1}),
    ("object", {"a": [1]}, [1]),
])
def test_json_output_types(tmp_path: Path, output_type: str, good: Any, bad: Any) -> None:
    manifest = json_manifest({"name": "value", "type": output_type})
    write_json(tmp_path / "seed.outputs.json", {"value": good})
    assert dict(harvest(manifest, tmp_path).json) == {"value": good}
    write_json(tmp_path / "seed.outputs.json", {"value": bad})
    result = harvest(manifest, tmp_path)
    assert dict(result.json) == {}
    assert result.failure.code == "invalid-outputs-json"
    assert f"must be a JSON {output_type}" in result.failure.message and "'value'" in result.failure.message


def test_optional_json_output_of_the_wrong_type_is_a_warning_and_not_stored(tmp_path: Path) -> None:
    write_json(tmp_path / "seed.outputs.json", {"cellCount": 1, "note": 5})
    result = harvest(json_manifest(COUNT, NOTE), tmp_path)
    assert dict(result.json) == {"cell_count": 1}
    assert result.failures == () and codes(result.warnings) == ["invalid-outputs-json"]
    assert "'note'" in result.warnings[0].message and "left out" in result.warnings[0].message


def test_missing_required_member_fails_missing_optional_member_is_silent(tmp_path: Path) -> None:
    write_json(tmp_path / "seed.outputs.json", {"other": 1})
    result = harvest(json_manifest(COUNT, NOTE), tmp_path)
    assert codes(result.failures) == ["invalid-outputs-json"] and result.warnings == ()
    assert "'cellCount' (JSON output cell_count) is required but missing" in result.failure.message


def test_missing_outputs_json(tmp_path: Path) -> None:
    required = harvest(json_manifest(COUNT, NOTE), tmp_path)
    assert required.failure.code == "invalid-outputs-json" and "is missing" in required.failure.message
    assert "cell_count" in required.failure.message
    optional_only = harvest(json_manifest(NOTE), tmp_path)
    assert optional_only.failures == () and codes(optional_only.warnings) == ["invalid-outputs-json"]
    assert dict(optional_only.json) == {}


def test_no_json_outputs_declared_means_the_file_is_not_read(tmp_path: Path) -> None:
    (tmp_path / "seed.outputs.json").write_text("{not json")
    result = harvest(make_manifest(), tmp_path)
    assert result.failures == () and result.warnings == () and dict(result.json) == {}


@pytest.mark.parametrize("text, expected", [
    ('{"cellCount": 3,}', "line 1, column 17"),
    ('{\n  "cellCount": 3\n  "note": "x"\n}', "line 3, column 3"),
    ("", "is empty"),
    ("[1, 2]", "must hold a JSON object, got an array"),
    ('"text"', "must hold a JSON object, got a string"),
    ('{"cellCount": NaN}', "NaN"),
])
def test_unusable_outputs_json(tmp_path: Path, text: str, expected: str) -> None:
    (tmp_path / "seed.outputs.json").write_text(text)
    result = harvest(json_manifest(COUNT), tmp_path)
    assert result.failure.code == "invalid-outputs-json" and result.failure.path == "seed.outputs.json"
    assert expected in result.failure.message
    assert "\n" not in result.failure.message
    # With only optional outputs the same file is a warning.
    lenient = harvest(json_manifest(NOTE), tmp_path)
    assert lenient.failures == () and codes(lenient.warnings) == ["invalid-outputs-json"]


def test_infinite_numbers_are_refused(tmp_path: Path) -> None:
    (tmp_path / "seed.outputs.json").write_text('{"cellCount": 1e999}')
    assert "must be a JSON integer" in harvest(json_manifest(COUNT), tmp_path).failure.message
    (tmp_path / "seed.outputs.json").write_text('{"values": [1, 2e999]}')
    result = harvest(json_manifest({"name": "values", "type": "array"}), tmp_path)
    assert result.failure.code == "invalid-outputs-json" and "too large" in result.failure.message
    serializable(result)


def test_duplicate_keys_in_outputs_json_warn(tmp_path: Path) -> None:
    (tmp_path / "seed.outputs.json").write_text('{"cellCount": 1, "cellCount": 2}')
    result = harvest(json_manifest(COUNT), tmp_path)
    assert dict(result.json) == {"cell_count": 2}
    assert codes(result.warnings) == ["invalid-outputs-json"] and "more than once" in result.warnings[0].message


def test_outputs_json_that_is_not_a_readable_file(tmp_path: Path) -> None:
    (tmp_path / "seed.outputs.json").mkdir()
    result = harvest(json_manifest(COUNT), tmp_path)
    assert result.failure.code == "invalid-outputs-json" and "is a folder" in result.failure.message


def test_outputs_json_linking_outside_is_not_read(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    write_json(tmp_path / "elsewhere.json", {"cellCount": 3})
    (out / "seed.outputs.json").symlink_to(tmp_path / "elsewhere.json")
    result = harvest(json_manifest(COUNT), out)
    assert dict(result.json) == {} and result.failure.code == "invalid-outputs-json"
    assert "outside the output folder" in result.failure.message
    # A link to a file inside the folder is fine.
    write_json(out / "real.json", {"cellCount": 4})
    (out / "seed.outputs.json").unlink()
    (out / "seed.outputs.json").symlink_to("real.json")
    assert dict(harvest(json_manifest(COUNT), out).json) == {"cell_count": 4}


def test_oversized_outputs_json(tmp_path: Path) -> None:
    (tmp_path / "seed.outputs.json").write_text('{"cellCount": 1, "pad": "' + "x" * (11 * 1024 * 1024) + '"}')
    result = harvest(json_manifest(COUNT), tmp_path)
    assert result.failure.code == "invalid-outputs-json" and "MiB" in result.failure.message


# ------------------------------------------------------------------------------------------ 3. sidecars


def test_valid_sidecar_is_attached(tmp_path: Path) -> None:
    write(tmp_path, "sub/tile.tif")
    write_json(tmp_path / "sub/tile.tif.metadata.json", POINT_SIDECAR)
    result = harvest(one_output("sub/*.tif"), tmp_path)
    (tile,) = result.files["OUT"]
    assert tile.metadata_path == "sub/tile.tif.metadata.json"
    assert tile.metadata.bbox == (12.5, 41.9, 12.5, 41.9) and tile.metadata.center == (12.5, 41.9)
    entry = serializable(result)["outputs"]["OUT"]["files"][0]
    assert entry["metadata"]["data_started"] == "2024-05-01T14:00:00Z"
    assert entry["metadata_path"] == "sub/tile.tif.metadata.json"
    assert result.warnings == ()


def test_file_without_sidecar_has_no_metadata(tmp_path: Path) -> None:
    write(tmp_path, "a.tif", "b.tif.metadata.json")  # an orphan sidecar is not a's
    (a,) = harvest(one_output("*.tif"), tmp_path).files["OUT"]
    assert a.metadata is None and a.metadata_path is None


def test_invalid_sidecar_keeps_the_file_and_warns(tmp_path: Path) -> None:
    write(tmp_path, "a.tif")
    write_json(tmp_path / "a.tif.metadata.json",
               {"type": "Feature", "geometry": {"type": "Point", "coordinates": [200, 0]}, "properties": {}})
    result = harvest(one_output("*.tif"), tmp_path)
    (a,) = result.files["OUT"]
    assert a.metadata is None and a.metadata_path == "a.tif.metadata.json" and a.size == 1
    assert result.failures == ()  # not fatal, unlike a strict run
    (warning,) = result.warnings
    assert warning.code == "invalid-metadata" and warning.path == "a.tif.metadata.json"
    assert warning.message.startswith("a.tif.metadata.json: invalid metadata sidecar of a.tif")
    assert "$.geometry.coordinates: [200, 0] has a longitude outside [-180, 180]" in warning.message
    strict = harvest(one_output("*.tif"), tmp_path, strict=True)
    assert codes(strict.failures) == ["invalid-metadata"] and strict.warnings == ()
    assert strict.failure.message == warning.message
    assert paths(strict) == ["a.tif"]


@pytest.mark.parametrize("content, reason", [
    (b"{", "malformed JSON at line 1, column 2"),
    (b"", "is empty"),
    (json.dumps({"type": "FeatureCollection", "features": [5]}).encode(), "$.features[0]: must be a Feature"),
])
def test_unparseable_sidecar_warns(tmp_path: Path, content: bytes, reason: str) -> None:
    write(tmp_path, "a.tif")
    write(tmp_path, "a.tif.metadata.json", content=content)
    result = harvest(one_output("*.tif"), tmp_path)
    assert codes(result.warnings) == ["invalid-metadata"] and reason in result.warnings[0].message


def test_sidecar_features_scale_rejected_are_fine(tmp_path: Path) -> None:
    write(tmp_path, "a.tif", "b.tif")
    write_json(tmp_path / "a.tif.metadata.json", {"type": "FeatureCollection", "features": [POINT_SIDECAR]})
    write_json(tmp_path / "b.tif.metadata.json", {"type": "GeometryCollection", "geometries": [
        {"type": "Point", "coordinates": [1, 2]}]})
    result = harvest(one_output("*.tif", multiple=True), tmp_path)
    assert result.warnings == ()
    a, b = result.files["OUT"]
    assert a.metadata.type == "FeatureCollection" and a.metadata.data_started.hour == 14
    assert b.metadata.type == "GeometryCollection" and b.metadata.bbox == (1.0, 2.0, 1.0, 2.0)


def test_sidecar_linking_outside_is_not_read(tmp_path: Path) -> None:
    out = tmp_path / "out"
    write(out, "a.tif")
    write_json(tmp_path / "outside.json", POINT_SIDECAR)
    (out / "a.tif.metadata.json").symlink_to(tmp_path / "outside.json")
    result = harvest(one_output("*.tif"), out)
    assert result.files["OUT"][0].metadata is None
    assert codes(result.warnings) == ["invalid-metadata"] and "outside the output folder" in result.warnings[0].message


def test_sidecar_that_is_a_folder_or_a_pipe(tmp_path: Path) -> None:
    write(tmp_path, "a.tif", "b.tif")
    (tmp_path / "a.tif.metadata.json").mkdir()
    os.mkfifo(tmp_path / "b.tif.metadata.json")
    result = harvest(one_output("*.tif", multiple=True), tmp_path)
    assert paths(result) == ["a.tif", "b.tif"]
    assert codes(result.warnings) == ["invalid-metadata", "invalid-metadata"]
    assert "is a folder" in result.warnings[0].message and "named pipe" in result.warnings[1].message


def test_linked_file_gets_the_sidecar_beside_the_link(tmp_path: Path) -> None:
    write(tmp_path, "real/data.bin")
    write_json(tmp_path / "real/data.bin.metadata.json",
               {"type": "Point", "coordinates": [0, 0]})
    (tmp_path / "link.bin").symlink_to("real/data.bin")
    write_json(tmp_path / "link.bin.metadata.json", {"type": "Point", "coordinates": [5, 5]})
    (link,) = harvest(one_output("*.bin"), tmp_path).files["OUT"]
    assert link.path == "link.bin" and link.metadata.center == (5.0, 5.0)


# ------------------------------------------------------------------------------------ 4. input metadata


INPUTS = [{"name": "INPUT_FILE"}, {"name": "many", "multiple": True}, {"name": "Image-A", "required": False}]


def test_input_metadata_update_is_reported_under_the_input(tmp_path: Path) -> None:
    write(tmp_path, "result.txt")
    write_json(tmp_path / "INPUT_FILE.metadata.json", POINT_SIDECAR)
    write_json(tmp_path / "Image-A.metadata.json", {"type": "Point", "coordinates": [1, 1]})
    write_json(tmp_path / "input_file.metadata.json", {"type": "Point", "coordinates": [9, 9]})  # wrong case
    manifest = make_manifest([{"name": "OUT", "pattern": "*", "multiple": True}], inputs=INPUTS)
    result = harvest(manifest, tmp_path)
    assert sorted(result.input_metadata) == ["INPUT_FILE", "Image-A"]
    assert result.input_metadata["INPUT_FILE"].center == (12.5, 41.9)
    assert paths(result) == ["result.txt"]  # never captured as an output
    doc = serializable(result)
    assert doc["input_metadata"]["INPUT_FILE"]["data_started"] == "2024-05-01T14:00:00Z"
    assert result.warnings == ()


def test_invalid_input_metadata_and_multiple_inputs(tmp_path: Path) -> None:
    write_json(tmp_path / "INPUT_FILE.metadata.json", {"type": "Feature", "geometry": None})
    write_json(tmp_path / "many.metadata.json", POINT_SIDECAR)
    result = harvest(make_manifest(inputs=INPUTS), tmp_path)
    assert dict(result.input_metadata) == {}
    assert codes(result.warnings) == ["invalid-metadata", "ignored-input-metadata"]
    assert "metadata update of input INPUT_FILE" in result.warnings[0].message
    assert "member 'properties' is missing" in result.warnings[0].message
    strict = harvest(make_manifest(inputs=INPUTS), tmp_path, strict=True)
    assert codes(strict.failures) == ["invalid-metadata"]


# ------------------------------------------------------------------------------------ 5. hostile folders


def test_symlink_out_of_the_folder_is_rejected_and_counts_as_no_match(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    write(tmp_path, "secret.txt", content=b"secret")
    (out / "result.txt").symlink_to(tmp_path / "secret.txt")
    (out / "relative.txt").symlink_to("../secret.txt")
    result = harvest(one_output("*.txt", multiple=True), out)
    assert result.files["OUT"] == ()
    assert codes(result.warnings) == ["symlink-outside-output-dir"] * 2
    assert [w.path for w in result.warnings] == ["relative.txt", "result.txt"]
    assert result.failure.code == "missing-required-output" and "rejected" in result.failure.message
    assert harvest(one_output("*.txt", multiple=True, required=False), out).failures == ()


def test_symlink_to_a_file_inside_is_captured_under_the_link_path(tmp_path: Path) -> None:
    write(tmp_path, "data/real.txt", content=b"inside")
    (tmp_path / "link.txt").symlink_to("data/real.txt")
    (link,) = harvest(one_output("*.txt"), tmp_path).files["OUT"]
    assert link.path == "link.txt" and link.sha256 == hashlib.sha256(b"inside").hexdigest() and link.size == 6


def test_symlinked_directories_on_the_way_down(tmp_path: Path) -> None:
    out = tmp_path / "out"
    write(tmp_path, "elsewhere/leak.txt", "out/real/in.txt")
    (out / "sub-out").symlink_to(tmp_path / "elsewhere")
    (out / "sub-in").symlink_to("real")
    result = harvest(one_output("sub-*/*.txt", multiple=True), out)
    assert paths(result) == ["sub-in/in.txt"]
    assert [(w.code, w.path) for w in result.warnings] == [("symlink-outside-output-dir", "sub-out")]


def test_the_output_folder_may_itself_be_a_link(tmp_path: Path) -> None:
    write(tmp_path, "real/a.txt")
    (tmp_path / "alias").symlink_to("real")
    assert paths(harvest(one_output("*.txt"), tmp_path / "alias")) == ["a.txt"]


def test_nothing_outside_the_folder_is_opened_or_listed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "out"
    write(tmp_path, "outside/x.txt", "outside/x.txt.metadata.json", "out/in.txt")
    (out / "a.txt").symlink_to(tmp_path / "outside/x.txt")
    (out / "dir").symlink_to(tmp_path / "outside")
    (out / "in.txt.metadata.json").symlink_to(tmp_path / "outside/x.txt.metadata.json")
    (out / "seed.outputs.json").symlink_to(tmp_path / "outside/x.txt")
    (out / "INPUT_FILE.metadata.json").symlink_to(tmp_path / "outside/x.txt.metadata.json")
    touched: list[str] = []
    real_open, real_scandir = os.open, os.scandir

    def spy_open(path: Any, *args: Any, **kwargs: Any) -> int:
        touched.append(os.path.realpath(path))
        return real_open(path, *args, **kwargs)

    def spy_scandir(path: Any = ".") -> Any:
        touched.append(os.path.realpath(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "open", spy_open)
    monkeypatch.setattr(os, "scandir", spy_scandir)
    manifest = make_manifest([{"name": "OUT", "pattern": "*.txt", "multiple": True},
                              {"name": "DEEP", "pattern": "dir/*", "required": False}],
                             [COUNT], inputs=[{"name": "INPUT_FILE"}])
    result = harvest(manifest, out, disk_mib=1)
    monkeypatch.undo()
    root = os.path.realpath(out)
    assert touched and all(p == root or p.startswith(root + os.sep) for p in touched), touched
    assert paths(result) == ["in.txt"]


def test_pipes_broken_links_and_loops_are_reported_not_opened(tmp_path: Path) -> None:
    write(tmp_path, "good.txt")
    os.mkfifo(tmp_path / "pipe.txt")  # opening it for reading would block forever
    (tmp_path / "broken.txt").symlink_to("missing.txt")
    (tmp_path / "loop.txt").symlink_to("loop.txt")
    (tmp_path / "folder.txt").mkdir()  # a directory named like a file: ignored
    result = harvest(one_output("*.txt", multiple=True), tmp_path)
    assert paths(result) == ["good.txt"]
    assert [(w.code, w.path) for w in result.warnings] == [
        ("unreadable-output", "broken.txt"), ("unreadable-output", "loop.txt"), ("unreadable-output", "pipe.txt")]
    assert "does not exist" in result.warnings[0].message and "loops" in result.warnings[1].message
    assert "named pipe" in result.warnings[2].message
    # A required single output whose only match is a pipe is missing.
    assert harvest(one_output("pipe.txt"), tmp_path).failure.code == "missing-required-output"


def test_socket_is_not_a_regular_file(tmp_path: Path) -> None:
    import socket

    server = socket.socket(socket.AF_UNIX)
    try:
        server.bind(str(tmp_path / "s.sock"))
        result = harvest(one_output("*.sock", required=False), tmp_path)
    finally:
        server.close()
    assert codes(result.warnings) == ["unreadable-output"] and "socket" in result.warnings[0].message


PERMISSION_PROBE = """
import json, sys
from seed_runner.outputs.harvesting import harvest
from seed_runner.manifest.model import Manifest
manifest = Manifest.from_dict(json.loads(sys.argv[1]))
print(json.dumps(harvest(manifest, sys.argv[2]).to_dict()))
"""


def harvest_without_read_override(manifest: Manifest, folder: Path) -> dict[str, Any]:
    """Harvest in a child process that cannot bypass file modes (root drops CAP_DAC_*; others need nothing)."""
    import subprocess
    import sys

    command = [sys.executable, "-c", PERMISSION_PROBE, json.dumps(dict(manifest.data)), str(folder)]
    if os.geteuid() == 0:
        if not shutil.which("setpriv"):
            pytest.skip("root reads files whatever their mode, and setpriv is not here to drop that power")
        command = ["setpriv", "--bounding-set=-dac_override,-dac_read_search",
                   "--inh-caps=-dac_override,-dac_read_search", *command]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    if done.returncode != 0 and "setpriv" in done.stderr:
        pytest.skip(f"cannot drop capabilities here: {done.stderr.strip()}")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_file_without_read_permission_is_reported(tmp_path: Path) -> None:
    write(tmp_path, "locked.txt", "open.txt", "closed/x.txt")
    (tmp_path / "locked.txt").chmod(0)
    (tmp_path / "closed").chmod(0)
    try:
        doc = harvest_without_read_override(make_manifest([
            {"name": "OUT", "pattern": "*.txt", "multiple": True},
            {"name": "DEEP", "pattern": "closed/*.txt", "required": False}]), tmp_path)
    finally:
        (tmp_path / "closed").chmod(0o755)
    assert [f["path"] for f in doc["outputs"]["OUT"]["files"]] == ["open.txt"]
    assert [(w["code"], w["path"]) for w in doc["warnings"]] == [("unreadable-output", "locked.txt"),
                                                                 ("unreadable-output", "closed")]
    assert "Permission denied" in doc["warnings"][0]["message"] and "cannot be listed" in doc["warnings"][1]["message"]
    assert doc["failures"] == []


def test_file_that_fails_to_read_is_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Root can read anything, so simulate the I/O error a bad disk or a revoked permission would give.
    write(tmp_path, "a.txt", "b.txt")
    real_open = os.open

    def failing_open(path: Any, flags: int, *args: Any) -> int:
        if str(path).endswith("a.txt"):
            raise PermissionError(13, "Permission denied", str(path))
        return real_open(path, flags, *args)

    monkeypatch.setattr(os, "open", failing_open)
    result = harvest(one_output("*.txt", multiple=True), tmp_path)
    assert paths(result) == ["b.txt"]
    assert [(w.code, w.path) for w in result.warnings] == [("unreadable-output", "a.txt")]
    assert "Permission denied" in result.warnings[0].message


def test_disk_allocation_warning(tmp_path: Path) -> None:
    write(tmp_path, "a.bin", content=b"\0" * 700_000)
    write(tmp_path, "sub/b.bin", content=b"\0" * 700_000)
    (tmp_path / "link.bin").symlink_to("a.bin")  # links are not counted twice
    manifest = one_output("*.bin", multiple=True)
    assert harvest(manifest, tmp_path, disk_mib=2).warnings == ()
    over = harvest(manifest, tmp_path, disk_mib=1)
    assert codes(over.warnings) == ["disk-allocation-exceeded"] and over.failures == ()
    assert "1.3 MiB" in over.warnings[0].message and "1.0 MiB" in over.warnings[0].message


def test_missing_output_folder_raises(tmp_path: Path) -> None:
    with pytest.raises(HarvestError, match="does not exist"):
        harvest(one_output("*"), tmp_path / "absent")
    write(tmp_path, "file")
    with pytest.raises(HarvestError):
        harvest(one_output("*"), tmp_path / "file")


def test_ten_thousand_files(tmp_path: Path) -> None:
    for i in range(10_000):
        (tmp_path / f"f{i:05d}.dat").write_bytes(i.to_bytes(4, "big"))
    for i in range(0, 10_000, 10):
        (tmp_path / f"f{i:05d}.dat.metadata.json").write_text(
            json.dumps({"type": "Point", "coordinates": [i / 100 - 50, 10]}))
    result = harvest(one_output("f*.dat", multiple=True), tmp_path)  # its speed: bench/harvest.py
    captured = result.files["OUT"]
    assert len(captured) == 10_000 and result.warnings == () and result.failures == ()
    assert captured[0].path == "f00000.dat" and captured[-1].path == "f09999.dat"
    assert sum(f.metadata is not None for f in captured) == 1_000
    assert captured[1234].sha256 == hashlib.sha256((1234).to_bytes(4, "big")).hexdigest()
    serializable(result)


def test_sidecar_over_100_mb(tmp_path: Path) -> None:
    """A ~105 MB MultiPoint point cloud: parsed, checked and reduced, not refused (its speed, against json.load of
    the same file, is measured in bench/harvest.py, not here)."""
    rng = random.Random(5)
    chunk = [[rng.uniform(-179, 179), rng.uniform(-89, 89)] for _ in range(1000)]
    chunk[0] = [-179.5, 12.0]  # the extremes, so the bbox is known
    chunk[1] = [179.25, -89.5]
    chunk_text = ",".join(json.dumps(p) for p in chunk)
    repeats = 105_000_000 // len(chunk_text) + 1
    path = tmp_path / "cloud.laz.metadata.json"
    with open(path, "w") as handle:
        handle.write('{"type": "MultiPoint", "coordinates": [')
        handle.write(",".join([chunk_text] * repeats))
        handle.write("]}")
    assert path.stat().st_size > 100_000_000
    write(tmp_path, "cloud.laz")
    result = harvest(one_output("*.laz"), tmp_path)
    (cloud,) = result.files["OUT"]
    assert result.warnings == () and cloud.metadata is not None
    assert cloud.metadata.bbox == (-179.5, -89.5, 179.25, max(p[1] for p in chunk))
    assert list(cloud.metadata.center) in chunk


# ------------------------------------------------------------------------------------ failures, shape


def test_failures_are_ordered_and_failure_is_the_first(tmp_path: Path) -> None:
    write(tmp_path, "a.txt", "b.txt", "a.txt.metadata.json", content=b"{")
    manifest = make_manifest([{"name": "MANY", "pattern": "*.txt"}, {"name": "NONE", "pattern": "*.csv"}], [COUNT])
    result = harvest(manifest, tmp_path, strict=True)
    assert codes(result.failures) == list(FAILURE_ORDER)
    assert result.failure.code == "missing-required-output"
    doc = serializable(result)
    assert set(doc) == {"outputs", "json_outputs", "input_metadata", "warnings", "failures"}
    assert doc["failures"][0] == {"severity": "error", "code": "missing-required-output", "path": None,
                                  "message": result.failure.message}
    assert set(doc["outputs"]["MANY"]["files"][0]) == {"path", "size", "sha256", "media_type", "metadata_path",
                                                       "metadata"}


def test_harvest_is_immutable(tmp_path: Path) -> None:
    write(tmp_path, "a.txt")
    result = harvest(one_output("*.txt"), tmp_path)
    with pytest.raises(TypeError):
        result.files["X"] = ()  # type: ignore[index]
    with pytest.raises(AttributeError):
        result.failures = ()  # type: ignore[misc]


# ----------------------------------------------------------------------- glob(7) against Python's glob

NAMES = ["a", "b", "ab", "ba", "a.x", "b.x", ".a", ".x", "-a", "a-b", "[a]", "x.metadata.json", "seed.outputs.json"]
DIRS = ["d", "da", ".h", "sub-1", "sub-2"]


def reference(root: str, pattern: str) -> list[str]:
    """glob.glob filtered to regular files, with the sidecar/outputs exclusion rule."""
    last = pattern.split("/")[-1]
    found = []
    for match in glob.glob(os.path.join(glob.escape(root), pattern)):
        name = os.path.basename(match)
        if not os.path.isfile(match):
            continue
        if name.endswith(".metadata.json") and not last.endswith(".metadata.json"):
            continue
        if name == "seed.outputs.json" and last != "seed.outputs.json":
            continue
        found.append(os.path.relpath(match, root).replace(os.sep, "/"))
    return sorted(found)


@pytest.fixture(scope="module")
def rich_tree(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    root = tmp_path_factory.mktemp("tree")
    for name in NAMES:
        write(root, name)
    for directory in DIRS:
        for name in NAMES:
            write(root, f"{directory}/{name}")
        for inner in DIRS[:2]:
            for name in NAMES[:5]:
                write(root, f"{directory}/{inner}/{name}")
    yield str(root)


_token = st.sampled_from(["*", "?", "a", "b", ".", "x", "-", "**", "[ab]", "[!a]", "[.]", "[", "]", "d", "sub-",
                          "h", "metadata.json", "seed.outputs.json", "[a-b]", "[!.]"])
_component = st.lists(_token, min_size=1, max_size=4).map("".join).filter(lambda c: c not in (".", ".."))
_pattern = st.lists(_component, min_size=1, max_size=3).map("/".join)


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(pattern=_pattern)
def test_matching_agrees_with_python_glob(rich_tree: str, pattern: str) -> None:
    result = harvest(one_output(pattern, multiple=True, required=False), rich_tree)
    assert paths(result) == reference(rich_tree, pattern)
    assert result.warnings == ()


_tree = st.lists(st.lists(st.sampled_from(["a", "b", ".c", "d.x", "e-1", "[f]"]), min_size=1, max_size=3),
                 max_size=12)


@settings(max_examples=150, deadline=None)
@given(tree=_tree, pattern=_pattern)
def test_matching_agrees_with_python_glob_on_random_trees(tree: list[list[str]], pattern: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        for parts in tree:
            try:
                write(Path(tmp), "/".join(parts))
            except (IsADirectoryError, NotADirectoryError, FileExistsError):
                pass  # a name wanted both as a file and as a folder: keep the first
        result = harvest(one_output(pattern, multiple=True, required=False), tmp)
        assert paths(result) == reference(tmp, pattern)


@pytest.mark.parametrize("pattern,path,expected", [
    ("*.txt", "a.txt", True), ("*.txt", ".a.txt", False), (".*.txt", ".a.txt", True),
    ("sub/*.txt", "sub/a.txt", True), ("sub/*.txt", "a.txt", False), ("*/*.txt", "x/a.txt", True),
    ("**", "a/b", False), ("[!a]*", "b1", True), ("[!a]*", "a1", False), ("/abs", "abs", False),
    ("../x", "x", False), ("dir/", "dir", False), ("./a.txt", "a.txt", True),
])
def test_pattern_matches_answers_like_a_harvest(tmp_path: Path, pattern: str, path: str, expected: bool) -> None:
    """pattern_matches (used by `seed init`) agrees with what a harvest of a real folder captures."""
    from seed_runner.outputs.harvesting import pattern_matches

    assert pattern_matches(pattern, path) is expected
    target = tmp_path / "out" / path
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text("x")
    manifest = Manifest.from_dict({"seedVersion": "1.0.0", "job": {  # unvalidated: odd patterns on purpose
        "name": "m", "jobVersion": "1.0.0", "packageVersion": "1.0.0", "title": "t", "description": "d",
        "maintainer": {"name": "n", "email": "e"}, "timeout": 1,
        "interface": {"outputs": {"files": [{"name": "O", "pattern": pattern, "required": False,
                                             "multiple": True}]}}}})
    captured = [f.path for f in harvest(manifest, tmp_path / "out").files["O"]]
    assert (path in captured) is expected
