"""Secrets never leak, whatever the job writes: an invalid seed.outputs.json or side-car quoting (a piece of) a
secret, a secret in a member name, on stdout and stderr; and values the engine cannot carry (a NUL, bytes that
are not UTF-8) are refused before anything starts, by name, never by value.

"Leak" here is strict: no 6-character piece of a secret may appear anywhere the runner writes or prints
(result.json, the logs, the CLI's stdout and stderr, --json and human), since a message that clips an
excerpt would show a piece, not the whole secret.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any, Iterator

import pytest

from seed_runner import load_manifest
from seed_runner.outputs.harvesting import harvest
from seed_runner.outputs.json_outputs import WITHHELD
from seed_runner.runtime.logstream import LogSink
from seed_runner.runtime.masking import mask_text
from seed_runner.runtime.plan import PlanError, RunRequest, make_plan
from seed_runner.runtime.runner import harvest_folder, run

from .conftest import check_result

SEED = str(Path(sys.executable).with_name("seed"))
LONG = "Zq8xR2mN7vB4kL9pW3tY6hJ1cF5gD0sAe8XuK4tQ"  # 40 characters; every 6 of them hold a letter past f
SHORT = "Vb7QmP2L"
SECRETS = (LONG, SHORT)


def pieces(secret: str, width: int = 6) -> set[str]:
    """Every run of ``width`` characters of ``secret`` (a longer piece always holds one of them)."""
    return {secret[i:i + width] for i in range(len(secret) - width + 1)}


def assert_no_piece(where: str, blob: bytes | str, secrets: tuple[str, ...] = SECRETS) -> None:
    text = blob.decode("utf-8", "replace") if isinstance(blob, bytes) else blob
    for secret in secrets:
        for piece in pieces(secret):
            assert piece not in text, f"{piece!r} of a secret in {where}:\n{text}"


def strings(value: Any) -> Iterator[str]:
    """Every string of a JSON value, member names included."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings(item)


def assert_document_clean(document: dict[str, Any], secrets: tuple[str, ...] = SECRETS) -> None:
    for text in strings(document):
        assert_no_piece("the result document", text, secrets)


# -- the job: writes templates with the secrets filled in, then prints them ------------------------------------

SCRIPT = """set -e
for f in /seed/inputs/TEMPLATES/*; do
  sed -e "s/@LONG@/$LONG/g" -e "s/@SHORT@/$SHORT/g" "$f" > "$OUTPUT_DIR/$(basename "$f")"
done
for n in a b c; do echo "data $n" > "$OUTPUT_DIR/$n.txt"; done
echo "stdout: $LONG and $SHORT"
echo "stderr: $SHORT then $LONG" >&2
printf 'no newline %s' "$LONG"
"""

SIDECARS = {
    # a bad geometry, and well-known properties whose messages quote the value (clipped at 40 characters)
    "a.txt.metadata.json": '{"type": "Feature", "geometry": {"type": "Point", "coordinates": [500, 0]}, "properties": '
                           '{"note": "@LONG@", "dataStarted": "pad-@LONG@", "dataTypes": "x@SHORT@-@LONG@", '
                           '"dataEnded": "2016-08-06T00:00:00 @SHORT@@LONG@"}}',
    "b.txt.metadata.json": '{"type": "Feature", "geometry": null, "properties": {"k": @LONG@ @SHORT@}}',  # malformed
    "c.txt.metadata.json": '{"type": "@LONG@", "geometry": {"type": "@SHORT@@LONG@", "coordinates": [0, 0]}}',
    # the input-metadata update: a member name that is the secret, at a lone surrogate
    "SCRIPT.metadata.json": '{"type": "Feature", "geometry": null, "properties": {"@LONG@": "\\ud800"}}',
}

OUTPUTS_JSON = {
    "malformed": '{"count": 1, "a": @LONG@, "b": "@SHORT@"}',
    "wrong-type": '{"count": ["@SHORT@", "0123456789abcdefghij@LONG@"]}',
    "secret-key": '{"@LONG@": 1, "@LONG@": 2, "count": {"@LONG@": "@SHORT@"}}',
}

MANIFEST = {"seedVersion": "1.0.0", "job": {
    "name": "leaky", "jobVersion": "1.0.0", "packageVersion": "1.0.0", "title": "t", "description": "d",
    "maintainer": {"name": "n", "email": "e"}, "timeout": 60,
    "interface": {"command": "sh ${SCRIPT}",
                  "inputs": {"files": [{"name": "SCRIPT"}, {"name": "TEMPLATES", "multiple": True}]},
                  "outputs": {"files": [{"name": "DATA", "pattern": "*.txt", "multiple": True}],
                              "json": [{"name": "COUNT", "type": "integer", "key": "count"}]},
                  "settings": [{"name": "LONG", "secret": True}, {"name": "SHORT", "secret": True}]}}}


def job_files(tmp_path: Path, kind: str) -> tuple[Path, Path, Path]:
    """The manifest file, the script and the templates folder for one kind of seed.outputs.json."""
    manifest = tmp_path / "seed.manifest.json"
    manifest.write_text(json.dumps(MANIFEST))
    script = tmp_path / "job.sh"
    script.write_text(SCRIPT)
    templates = tmp_path / "templates"
    templates.mkdir()
    for name, text in {**SIDECARS, "seed.outputs.json": OUTPUTS_JSON[kind]}.items():
        (templates / name).write_text(text)
    return manifest, script, templates


def check_run_folder(run_dir: Path, document: dict[str, Any]) -> None:
    """Nothing the runner wrote holds a piece of a secret; the captured files' hashes are the files'."""
    outputs = run_dir / "outputs"
    assert LONG.encode() in (outputs / "seed.outputs.json").read_bytes()  # the job did write the secrets
    assert SHORT.encode() in (outputs / "a.txt.metadata.json").read_bytes()
    written = [p for p in run_dir.rglob("*") if p.is_file() and outputs not in p.parents]
    assert {"result.json", "stdout.log", "stderr.log"} <= {p.name for p in written}
    for path in written:
        assert_no_piece(str(path), path.read_bytes())
    assert b"****" in (run_dir / "logs/stdout.log").read_bytes() + (run_dir / "logs/stderr.log").read_bytes()
    assert_document_clean(document)
    assert document["status"] == "failed" and document["error"]["name"] == "invalid-outputs-json"
    files = document["outputs"]["DATA"]["files"]
    assert [f["path"] for f in files] == ["a.txt", "b.txt", "c.txt"]
    for file in files:
        data = (outputs / file["path"]).read_bytes()
        assert (file["size"], file["sha256"]) == (len(data), hashlib.sha256(data).hexdigest())
        assert file["metadata_path"] == file["path"] + ".metadata.json" and file["metadata"] is None
    problems = document["capture_failures"] + document["warnings"]
    assert {p["path"] for p in problems if p["code"] == "invalid-metadata"} == {
        "a.txt.metadata.json", "b.txt.metadata.json", "c.txt.metadata.json", "SCRIPT.metadata.json"}
    messages = " ".join(p["message"] for p in problems)
    assert "longitude" in messages and "malformed JSON" in messages and "not a GeoJSON type" in messages


@pytest.mark.engine
@pytest.mark.parametrize("kind", sorted(OUTPUTS_JSON))
def test_what_the_job_writes_never_leaks_a_piece_of_a_secret(busybox_image: str, tmp_path: Path, kind: str) -> None:
    manifest, script, templates = job_files(tmp_path, kind)
    env = {**os.environ, "LONG": LONG}
    common = ["run", busybox_image, "--manifest", str(manifest), "-i", f"SCRIPT={script}",
              "-i", f"TEMPLATES={templates}", "-e", "LONG", "-e", f"SHORT={SHORT}"]
    for mode, extra in (("json", ["--json"]), ("human", ["--strict"])):
        run_dir = tmp_path / mode
        proc = subprocess.run([SEED, *common, *extra, "-o", str(run_dir)], capture_output=True, env=env, timeout=120)
        assert proc.returncode == 1, proc.stderr
        assert b"Traceback" not in proc.stderr
        assert_no_piece(f"{mode} stdout", proc.stdout)
        assert_no_piece(f"{mode} stderr", proc.stderr)
        document = check_result(json.loads((run_dir / "result.json").read_text()))
        if mode == "json":
            assert json.loads(proc.stdout) == document
        else:
            assert b"stdout: **** and ****" in proc.stdout and b"invalid-metadata" in proc.stderr
        check_run_folder(run_dir, document)

    result = run(RunRequest(image=busybox_image, file_inputs={"SCRIPT": [script], "TEMPLATES": [templates]},
                            settings={"LONG": LONG, "SHORT": SHORT}, run_dir=tmp_path / "library"),
                 manifest=load_manifest(manifest))
    check_result(result.document)
    check_run_folder(tmp_path / "library", result.document)


@pytest.mark.engine
def test_a_nul_in_a_secret_is_refused_before_anything_starts(busybox_image: str, tmp_path: Path) -> None:
    manifest, script, templates = job_files(tmp_path, "malformed")
    secret_file = tmp_path / "long.secret"
    secret_file.write_text(LONG[:20] + "\0" + LONG[20:])
    run_dir = tmp_path / "run"
    proc = subprocess.run([SEED, "run", busybox_image, "--manifest", str(manifest), "-i", f"SCRIPT={script}",
                           "-i", f"TEMPLATES={templates}", "--secret", f"LONG={secret_file}", "-e", f"SHORT={SHORT}",
                           "-o", str(run_dir), "--json"], capture_output=True, timeout=120)
    assert proc.returncode == 2, proc.stderr
    document = check_result(json.loads(proc.stdout))
    assert_refused(document, run_dir, proc, {"$.settings.LONG"})
    assert "NUL" in document["message"]


@pytest.mark.engine
def test_a_setting_that_is_not_utf8_is_refused_before_anything_starts(busybox_image: str, tmp_path: Path) -> None:
    manifest, script, templates = job_files(tmp_path, "malformed")
    env = dict(os.environb)
    env[b"LONG"] = LONG[:16].encode() + b"\xff" + LONG[16:].encode()  # -e LONG takes it as it is
    run_dir = tmp_path / "run"
    proc = subprocess.run([SEED.encode(), b"run", busybox_image.encode(), b"--manifest", bytes(manifest),
                           b"-i", b"SCRIPT=" + bytes(script), b"-i", b"TEMPLATES=" + bytes(templates),
                           b"-e", b"LONG", b"-e", b"SHORT=" + SHORT[:4].encode() + b"\xfe" + SHORT[4:].encode(),
                           b"-o", bytes(run_dir), b"--json"], capture_output=True, env=env, timeout=120)
    assert proc.returncode == 2, proc.stderr
    document = check_result(json.loads(proc.stdout))
    assert_refused(document, run_dir, proc, {"$.settings.LONG", "$.settings.SHORT"},
                   secrets=(LONG[:16], LONG[16:]))
    assert "not UTF-8" in document["message"]
    for setting in (b"LONG", b"SHORT"):
        assert b"setting " + setting + b": the value is not UTF-8" in proc.stderr


def assert_refused(document: dict[str, Any], run_dir: Path, proc: subprocess.CompletedProcess[bytes],
                   paths: set[str], secrets: tuple[str, ...] = (LONG[:20], LONG[20:])) -> None:
    """Refused by name, before staging or any container; no piece of the value anywhere."""
    assert document["status"] == "rejected" and document["error"]["name"] == "invalid-request"
    assert {(p["code"], p["path"]) for p in document["problems"]} == {("invalid-setting", p) for p in paths}
    assert document["container_id"] is None and document["timings"] is None
    assert not run_dir.exists()  # nothing staged, no folder left
    assert b"seed: running" not in proc.stderr
    for where, blob in (("stdout", proc.stdout), ("stderr", proc.stderr)):
        assert_no_piece(where, blob, secrets)


# -- without an engine -------------------------------------------------------------------------------------------


def test_the_plan_names_a_value_it_cannot_carry_but_never_shows_it(tmp_path: Path) -> None:
    manifest = load_manifest(MANIFEST)
    script = tmp_path / "job.sh"
    script.write_text("true")
    values = {"LONG": LONG[:10] + "\udcff" + LONG[10:], "SHORT": SHORT[:3] + "\0" + SHORT[3:]}
    with pytest.raises(PlanError) as caught:
        make_plan(manifest, RunRequest(image="leaky-1.0.0-seed:1.0.0", run_dir=tmp_path / "run", settings=values,
                                       file_inputs={"SCRIPT": [script], "TEMPLATES": [tmp_path]}))
    problems = {(p.code, p.path): p.message for p in caught.value.problems}
    assert set(problems) == {("invalid-setting", "$.settings.LONG"), ("invalid-setting", "$.settings.SHORT")}
    assert "not UTF-8" in problems[("invalid-setting", "$.settings.LONG")]
    assert "NUL" in problems[("invalid-setting", "$.settings.SHORT")]
    assert_no_piece("the plan's problems", str(caught.value), (LONG[:10], LONG[10:]))


SPECIAL = 'Pä"ss\\wörd/Zq8xR2mN7v'  # a quote, a backslash, a slash and letters JSON may escape


def harvest_manifest() -> Any:
    return load_manifest({"seedVersion": "1.0.0", "job": {
        "name": "h", "jobVersion": "1.0.0", "packageVersion": "1.0.0", "title": "t", "description": "d",
        "maintainer": {"name": "n", "email": "e"}, "timeout": 5, "interface": {"command": "true", "outputs": {
            "files": [{"name": "F", "pattern": "*.txt", "multiple": True}],
            "json": [{"name": "COUNT", "type": "integer", "key": "count"},
                     {"name": "OBJ", "type": "object", "key": "obj", "required": False}]}}}})


@pytest.mark.parametrize("spelling", ["ascii", "utf8", "slashes", "all-escaped"])
def test_a_secret_escaped_in_json_is_masked_too(tmp_path: Path, spelling: str) -> None:
    written = {"ascii": json.dumps(SPECIAL), "utf8": json.dumps(SPECIAL, ensure_ascii=False),
               "slashes": json.dumps(SPECIAL).replace("/", "\\/"),
               "all-escaped": '"' + "".join(f"\\u{ord(c):04x}" for c in SPECIAL) + '"'}[spelling]
    out = tmp_path / "out"
    out.mkdir()
    (out / "seed.outputs.json").write_text(f'{{"count": {{"0123456789abcdefghij": {written}}}, '
                                           f'"obj": {{{written}: {written}}}}}', encoding="utf-8")
    (out / "a.txt").write_text("a")
    (out / "a.txt.metadata.json").write_text(f'{{"type": {written}}}', encoding="utf-8")
    (out / "b.txt").write_text("b")
    (out / "b.txt.metadata.json").write_text(
        f'{{"type": "Feature", "geometry": null, "properties": {{{written}: {written}}}}}', encoding="utf-8")
    document = harvest(harvest_manifest(), out, secrets={SPECIAL}).to_dict()
    assert_document_clean(document, (SPECIAL,))
    assert_no_piece("the harvest as JSON", json.dumps(document), (SPECIAL,))
    assert document["json_outputs"] == {"OBJ": {"****": "****"}}
    (failure,) = document["failures"]
    assert failure["code"] == "invalid-outputs-json" and '"0123456789abcdefghij": "****"' in failure["message"]
    a, b = document["outputs"]["F"]["files"]
    assert a["metadata"] is None and b["metadata"]["properties"] == {"****": "****"}
    assert (a["size"], a["sha256"]) == (1, hashlib.sha256(b"a").hexdigest())


def test_verdicts_come_from_the_files_as_written(tmp_path: Path) -> None:
    """A short secret (a digit, a letter) masks the values, but a valid file stays valid."""
    out = tmp_path / "out"
    out.mkdir()
    (out / "seed.outputs.json").write_text('{"count": 12, "obj": {"name": "Feature 1"}}')
    (out / "a.txt").write_text("a")
    (out / "a.txt.metadata.json").write_text(json.dumps({
        "type": "Feature", "geometry": {"type": "Point", "coordinates": [12.5, 1.0]},
        "properties": {"dataStarted": "2016-08-06T00:00:00Z", "sourceSensor": "cam 1"}}))
    harvested = harvest(harvest_manifest(), out, secrets={"1", "e"})
    assert not harvested.failures and not harvested.warnings
    assert harvested.json == {"COUNT": 12, "OBJ": {"nam****": "F****atur**** ****"}}  # numbers are not masked
    (file,) = harvested.files["F"]
    assert file.metadata is not None and file.metadata.bbox == (12.5, 1.0, 12.5, 1.0)
    assert file.metadata.source_sensor == "cam ****" and file.metadata.data_started.year == 2016


def test_a_valid_sidecar_is_masked_but_its_coordinates_are_not_walked() -> None:
    from seed_runner.outputs.sidecar import parse_sidecar

    cloud = [[i / 1000, i / 2000] for i in range(2000)]
    document = {"type": "GeometryCollection", "note": f"by {LONG}", "coordinates": [LONG],  # foreign members
                "geometries": [{"type": "MultiPoint", "coordinates": cloud}]}
    sidecar, problems = parse_sidecar(json.dumps(document).encode(), secrets={LONG})
    assert not problems
    shown = sidecar.to_dict()
    assert_document_clean(shown, (LONG,))
    assert shown["geometry"]["note"] == "by ****" and shown["geometry"]["coordinates"] == ["****"]
    assert shown["geometry"]["geometries"][0]["coordinates"] == cloud


def test_when_the_masked_file_reads_otherwise_the_details_are_withheld(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "seed.outputs.json").write_text('{"count": "x", "n": 77}')  # masked, 77 is no JSON at all
    (out / "a.txt").write_text("a")
    (out / "a.txt.metadata.json").write_text('{"type": "Feature", "geometry": null, "properties": {"n": 77}, '
                                             '"bbox": "x"}')
    harvested = harvest(harvest_manifest(), out, secrets={"77"})
    (failure,) = harvested.failures
    assert (failure.code, failure.message) == ("invalid-outputs-json", WITHHELD)
    (warning,) = harvested.warnings
    assert warning.code == "invalid-metadata" and "the details are not shown" in warning.message


def test_harvest_folder_masks_with_the_secrets_given(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "seed.outputs.json").write_text(json.dumps({"count": "0123456789abcdefghij" + LONG}))
    (out / "a.txt").write_text("a")
    result = harvest_folder(harvest_manifest(), out, secrets=frozenset({LONG}), result_file=tmp_path / "r.json")
    assert result.exit_status == 1 and result.document["error"]["name"] == "invalid-outputs-json"
    assert "****" in result.document["message"]
    assert_no_piece("result", (tmp_path / "r.json").read_bytes(), (LONG,))


def test_masking_catches_the_escaped_spellings_of_a_secret() -> None:
    for spelling in (SPECIAL, json.dumps(SPECIAL)[1:-1], json.dumps(SPECIAL, ensure_ascii=False)[1:-1],
                     repr(SPECIAL)[1:-1], json.dumps(SPECIAL)[1:-1].replace("\\u00e4", "\\u00E4").replace(
                         "\\u00f6", "\\u00F6")):
        assert mask_text(f"engine: bad value {spelling!s} here", {SPECIAL}) == "engine: bad value **** here"
    file = io.BytesIO()
    sink = LogSink(file, [SPECIAL])
    for chunk in json.dumps({"pw": SPECIAL}).encode().partition(b"ss"):
        sink.write(chunk)
    sink.close()
    assert file.getvalue() == b'{"pw": "****"}'
