"""Hostile manifests: a generated corpus of mutations (lone surrogates, nesting 256 to 1,000 deep and beyond,
numbers past a 64-bit float, NUL, bytes that are not UTF-8, truncation, byte noise) must each get a result
with findings, never a crash, and never take the other sources of the same call down with them."""

from __future__ import annotations

import json
import math
import os
import random
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any, Iterator

import pytest

from seed_runner import InvalidManifestError, load_manifest
from seed_runner.manifest.jsontext import MAX_NESTING, parse_json_text
from seed_runner.manifest.schemas import fast_validator
from seed_runner.validation import validate_document, validate_sources

from .conftest import CLEAN_MANIFEST, SHARED

SEED = str(Path(sys.executable).with_name("seed"))
CORPUS_SIZE = 3_200
MARK = "\x01hostile\x01"

BASES = [CLEAN_MANIFEST, *(json.loads(p.read_text()) for p in sorted(
    (SHARED / "seed-spec" / "examples").glob("*/seed.manifest.json")))]


def _deep(rng: random.Random, depth: int) -> str:
    kind = rng.choice(("array", "object", "mixed"))
    if kind == "array":
        return "[" * depth + "]" * depth
    if kind == "object":
        return '{"a": ' * depth + "1" + "}" * depth
    opens = [rng.choice(("[", '{"k": ')) for _ in range(depth)]
    return "".join(opens) + "0" + "".join("]" if o == "[" else "}" for o in reversed(opens))


SURROGATES = ('"\\ud800"', '"abc\\udfff"', '"\\udc00\\ud800"', '"x\\uD83D"', '"\\ude00tail"',
              '"\\ud83d\\ude00 a pair is fine"')
HUGE_NUMBERS = ("1e400", "-1e400", "1E+309", "9" * 400, "-" + "9" * 400, "9" * 5000, "1e300", "1e-400",
                "0." + "0" * 400 + "1", "123456789012345678901234567890", "1" + "0" * 308 + ".0")
NUL_VALUES = ('"a\\u0000b"', '"\\u0000"', '"caf\\u00e9 na\u00efve"')
PLAIN_VALUES = ("null", "true", "[]", "{}", '""', "0", "-0", "1.5", '"x"', '{"name": "y"}')


def _hostile_value(rng: random.Random, category: str) -> str:
    if category == "surrogate":
        return rng.choice(SURROGATES)
    if category == "deep":
        return _deep(rng, rng.randint(256, 1000) if rng.random() < 0.8 else rng.randint(1001, 3000))
    if category == "number":
        return rng.choice(HUGE_NUMBERS)
    if category == "nul":
        return rng.choice(NUL_VALUES)
    return rng.choice(PLAIN_VALUES)


def _paths(value: Any, path: tuple = ()) -> Iterator[tuple]:
    yield path
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, child in items:
        yield from _paths(child, (*path, key))


def _with_value(doc: Any, path: tuple, marker: str) -> Any:
    if not path:
        return marker
    parent = doc
    for key in path[:-1]:
        parent = parent[key]
    parent[path[-1]] = marker
    return doc


BASE_PATHS = [list(_paths(base)) for base in BASES]


def _structural(rng: random.Random, index: int, category: str) -> str:
    """A base with one value (or member name) replaced by raw hostile JSON text."""
    doc = json.loads(json.dumps(BASES[index]))
    if category == "surrogate" and rng.random() < 0.3:  # a member name
        path = rng.choice([p for p in BASE_PATHS[index] if p and isinstance(p[-1], str)])
        parent = doc
        for key in path[:-1]:
            parent = parent[key]
        parent[MARK] = parent.pop(path[-1])
        return json.dumps(doc).replace(json.dumps(MARK), rng.choice(SURROGATES))
    doc = _with_value(doc, rng.choice(BASE_PATHS[index]), MARK)
    return json.dumps(doc).replace(json.dumps(MARK), _hostile_value(rng, category))


def _bytewise(rng: random.Random, data: bytes, category: str) -> bytes:
    at = rng.randrange(len(data) + 1)
    if category == "utf8":
        junk = rng.choice((b"\xff", b"\xc3", b"\xed\xa0\x80", b"\xf8\x88\x80\x80\x80", b"\x80\x80", b"\xe9"))
        return data[:at] + junk + data[at:]
    if category == "raw-nul":
        return data[:at] + b"\x00" + data[at:]
    if category == "truncate":
        return data[:at]
    if category == "utf16":
        return data.decode("utf-8").encode(rng.choice(("utf-16", "utf-32")))
    noise = bytes(rng.randrange(256) for _ in range(rng.randint(1, 8)))  # "noise"
    return data[:at] + noise + data[at + rng.randint(0, 8):]


TEXTS = [(json.dumps(base).encode(), json.dumps(base, indent=2).encode()) for base in BASES]
STRUCTURAL = ("surrogate", "deep", "number", "nul", "plain")
BYTEWISE = ("utf8", "raw-nul", "truncate", "utf16", "noise")


def corpus(size: int = CORPUS_SIZE, seed: int = 20240601) -> list[bytes]:
    """``size`` mutated manifests, the same on every run; every category appears hundreds of times."""
    rng = random.Random(seed)
    out = []
    categories = STRUCTURAL + BYTEWISE
    for i in range(size):
        index = rng.randrange(len(BASES))
        first = categories[i % len(categories)]
        if first in STRUCTURAL:
            data = _structural(rng, index, first).encode()
        else:
            data = _bytewise(rng, TEXTS[index][rng.randrange(2)], first)
        if rng.random() < 0.25:  # a second mutation on top
            second = rng.choice(BYTEWISE[:3] + ("noise",))
            data = _bytewise(rng, data, second)
        if i % 97 == 0:  # the whole document hostile
            data = _hostile_value(rng, rng.choice(STRUCTURAL[:4])).encode()
        out.append(data)
    return out


READER_CODES = {"invalid-string", "number-too-large", "too-deeply-nested", "invalid-json", "invalid-encoding",
                "empty-document"}


def _readable(data: bytes) -> bool:
    """An independent verdict: strict JSON whose values every JSON reader can hold."""
    try:
        value = json.loads(data.decode("utf-8-sig"), parse_constant=lambda name: 1 / 0)
    except (ValueError, RecursionError, ZeroDivisionError):
        return False
    stack = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_NESTING:
            return False
        if isinstance(node, dict):
            stack.extend((k, depth) for k in node)
            stack.extend((v, depth + 1) for v in node.values())
        elif isinstance(node, list):
            stack.extend((v, depth + 1) for v in node)
        elif isinstance(node, str) and any(0xD800 <= ord(c) <= 0xDFFF for c in node):
            return False
        elif isinstance(node, float) and math.isinf(node):
            return False
        elif isinstance(node, int) and not isinstance(node, bool) and node.bit_length() > 1024:
            return False
    return True


def _must_be_invalid(data: bytes) -> bool:
    """Unreadable, or a schema failure (what the validator adds on top may only make more documents invalid)."""
    if not _readable(data):
        return True
    value = json.loads(data.decode("utf-8-sig"))
    return not isinstance(value, dict) or not fast_validator("manifest").is_valid(value)


@pytest.fixture(scope="module")
def hostile_files(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[tuple[Path, bytes]]]:
    # On tmpfs when there is one: creating 3,200 files on a disk-backed /tmp can take seconds.
    shm = Path("/dev/shm")
    folder = Path(tempfile.mkdtemp(prefix="seed-fuzz-", dir=shm)) if os.access(shm, os.W_OK) \
        else tmp_path_factory.mktemp("hostile")
    files = []
    for i, data in enumerate(corpus()):
        path = folder / f"m{i:04d}.json"
        path.write_bytes(data)
        files.append((path, data))
    yield files
    shutil.rmtree(folder, ignore_errors=True)


def test_the_corpus_holds_every_kind_of_hostile_input(hostile_files: list[tuple[Path, bytes]]) -> None:
    blobs = [data for _, data in hostile_files]
    assert len(blobs) >= 3_000
    assert sum(b"\\ud8" in b or b"\\udc" in b or b"\\udf" in b or b"\\uD8" in b for b in blobs) > 200
    assert sum(b"[" * 256 in b or b'{"a": ' * 256 in b for b in blobs) > 150
    assert sum(b"9" * 400 in b or b"e400" in b or b"E+309" in b for b in blobs) > 100
    assert sum(b"\\u0000" in b or b"\x00" in b for b in blobs) > 200
    assert sum(b"\xff" in b or b"\xed\xa0\x80" in b or b"\xc3" in b for b in blobs) > 200


def test_every_mutation_gets_a_result_with_findings_and_none_crashes(
        hostile_files: list[tuple[Path, bytes]]) -> None:
    results = validate_sources([path for path, _ in hostile_files])
    assert [r.source for r in results] == [str(path) for path, _ in hostile_files]
    for (path, data), result in zip(hostile_files, results):
        codes = [f.code for f in result.findings]
        assert "internal-error" not in codes, (path, result.findings)
        if _must_be_invalid(data):
            assert not result.valid and result.errors, (path, data[:200])
        if _readable(data):  # no reader-level finding for what every reader holds (a valid surrogate pair...)
            assert not READER_CODES & set(codes), (path, result.findings)
        # Whatever the bytes, the result can be written as UTF-8 JSON (no lone surrogate in a path or message).
        json.dumps(result.to_dict(), ensure_ascii=False).encode("utf-8")


def test_load_manifest_refuses_every_invalid_mutation_cleanly(hostile_files: list[tuple[Path, bytes]],
                                                                monkeypatch: pytest.MonkeyPatch,
                                                                tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    for path, data in hostile_files[::4]:
        try:
            load_manifest(path)
        except InvalidManifestError as exc:
            assert exc.findings
            str(exc).encode("utf-8")
        else:
            assert not _must_be_invalid(data), path


@pytest.mark.parametrize("value,code,path", [
    ('"\\ud800"', "invalid-string", "$.job.title"),
    ('"abc\\udfff"', "invalid-string", "$.job.title"),
    ("1e400", "number-too-large", "$.job.title"),
    ("-" + "9" * 400, "number-too-large", "$.job.title"),
    ("9" * 5000, "number-too-large", "$.job.title"),
    ("[" * 256 + "]" * 256, "too-deeply-nested", None),
    ('{"a": ' * 600 + "1" + "}" * 600, "too-deeply-nested", None),
    ("[" * 1000 + "]" * 1000, "too-deeply-nested", None),
])
def test_the_reader_names_what_no_json_reader_can_hold(value: str, code: str, path: str | None) -> None:
    text = json.dumps(CLEAN_MANIFEST).replace('"Clean job"', value)
    document, findings = parse_json_text(text, refuse_huge_numbers=True)
    assert document is None and [f.code for f in findings] == [code]
    if path is None:  # too deep: where it starts is in the message, the path is the document
        assert findings[0].path == "$"
        assert "below $.job.title" in findings[0].message or "line 1, column" in findings[0].message
    else:
        assert findings[0].path == path
    assert "\n" not in findings[0].message
    if code == "number-too-large":  # by default it reads as infinity, for readers that judge values one by one
        document, findings = parse_json_text(text)
        assert findings == [] and math.isinf(document["job"]["title"])


def test_a_lone_surrogate_in_a_member_name_is_named_printably() -> None:
    text = json.dumps(CLEAN_MANIFEST).replace('"tags"', '"\\udc00"')
    _, findings = parse_json_text(text)
    (finding,) = findings
    assert finding.code == "invalid-string" and "surrogate" in finding.message
    (finding.path + finding.message).encode("utf-8")
    assert "\\udc00" in finding.path


@pytest.mark.parametrize("hostile", ["\ud800", float("inf"), float("nan"), 10 ** 400, {"x": {1, 2}}, {1: "a"}],
                         ids=["surrogate", "inf", "nan", "huge-int", "set", "int-key"])
def test_validate_document_is_total(hostile: Any) -> None:
    document = json.loads(json.dumps(CLEAN_MANIFEST))
    document["job"]["title"] = hostile
    findings = validate_document(document)
    assert findings and all(f.severity == "error" for f in findings)
    nested: Any = "x"
    for _ in range(900):
        nested = [nested]
    document["job"]["title"] = nested
    assert [f.code for f in validate_document(document)] == ["too-deeply-nested"]


def test_load_manifest_of_hostile_text() -> None:
    for text in (json.dumps(CLEAN_MANIFEST).replace('"Clean job"', '"\ud800"'),  # a raw lone surrogate
                 json.dumps(CLEAN_MANIFEST).replace('"Clean job"', '"\\ud800"'),
                 json.dumps(CLEAN_MANIFEST).replace('"Clean job"', "[" * 300 + "]" * 300)):
        with pytest.raises(InvalidManifestError):
            load_manifest(text)


def test_one_cli_call_over_100_hostile_files_reports_100_results(hostile_files: list[tuple[Path, bytes]],
                                                                 tmp_path: Path) -> None:
    chosen = [path for path, data in hostile_files if _must_be_invalid(data)][:100]
    assert len(chosen) == 100
    proc = subprocess.run([SEED, "validate", "--json", *map(str, chosen)], capture_output=True, timeout=120,
                          env={**os.environ, "XDG_CACHE_HOME": str(tmp_path)})
    assert proc.returncode == 1 and b"internal error" not in proc.stderr, proc.stderr
    document = json.loads(proc.stdout)
    assert [r["source"] for r in document["results"]] == [str(p) for p in chosen]
    assert all(r["findings"] and not r["valid"] for r in document["results"])
    plain = subprocess.run([SEED, "validate", *map(str, chosen)], capture_output=True, timeout=120,
                           env={**os.environ, "XDG_CACHE_HOME": str(tmp_path)})
    assert plain.returncode == 1 and b"internal error" not in plain.stderr, plain.stderr
    assert plain.stdout.count(b"\n") >= 100


@pytest.mark.parametrize("name,value", [("surrogate", '"\\ud800"'), ("deep", "[" * 400 + "]" * 400),
                                        ("huge", "1e400")])
def test_seed_run_refuses_a_hostile_manifest(tmp_path: Path, name: str, value: str) -> None:
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps(CLEAN_MANIFEST).replace('"Clean job"', value))
    proc = subprocess.run([SEED, "run", "image-watermark-0.1.0-seed:0.1.0", "--manifest", str(path), "-o",
                           str(tmp_path / "run")], capture_output=True, timeout=60,
                          env={**os.environ, "XDG_CACHE_HOME": str(tmp_path), "COLUMNS": "1000"})
    assert proc.returncode == 2, proc.stderr
    assert b"internal error" not in proc.stderr and b"Traceback" not in proc.stderr
    assert b"$.job.title" in proc.stderr


def test_a_failure_of_the_validator_is_a_finding_of_that_source_alone(tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    import seed_runner.validation as validation

    good, bad = tmp_path / "good.json", tmp_path / "bad.json"
    good.write_text(json.dumps(CLEAN_MANIFEST))
    bad.write_text(json.dumps(CLEAN_MANIFEST))
    real = validation.read_file

    def fragile(path: Path, name: str) -> Any:
        if path == bad:
            raise RuntimeError("a bug")
        return real(path, name)

    monkeypatch.setattr(validation, "read_file", fragile)
    results = validate_sources([bad, good])
    assert [f.code for f in results[0].findings] == ["internal-error"]
    assert "RuntimeError" in results[0].errors[0].message
    assert results[1].valid


def test_a_sidecar_with_a_lone_surrogate_is_refused() -> None:
    from seed_runner.manifest.jsontext import parse_json_document

    document, problems = parse_json_document(b'{"properties": {"a": "\\ud800"}}', what="metadata sidecar")
    assert document is None and "surrogate" in problems[0] and "$.properties.a" in problems[0]
    assert parse_json_document(b'{"a": "\\ud83d\\ude00"}', what="metadata sidecar") == ({"a": "\U0001F600"}, [])


@pytest.mark.parametrize("text", [
    '{"x": 1, "x": ' + "[" * 500 + "]" * 500 + "}",   # a duplicated member hid the nesting from the check
    '{"x": 1, "x": "\\ud800"}',                          # ... and a lone surrogate
    '{"a": {"b": 1, "b": ' + "[" * 300 + "]" * 300 + "}}",
])
def test_duplicated_members_never_hide_what_lies_below_them(text: str, tmp_path: Path) -> None:
    from seed_runner import InvalidManifestError, load_manifest
    from seed_runner.manifest.jsontext import parse_json_text
    from seed_runner.outputs.harvesting import harvest

    document, findings = parse_json_text(text)
    assert document is None and {f.code for f in findings} <= {"too-deeply-nested", "invalid-string"}
    with pytest.raises(InvalidManifestError):
        load_manifest(text)
    # The same bytes written by a job as seed.outputs.json: a capture problem, never an exception.
    (tmp_path / "seed.outputs.json").write_text(text)
    manifest = load_manifest({"seedVersion": "1.0.0", "job": {
        "name": "j", "jobVersion": "1.0.0", "packageVersion": "1.0.0", "title": "t", "description": "d",
        "maintainer": {"name": "n", "email": "e@x"}, "timeout": 10,
        "interface": {"outputs": {"json": [{"name": "x", "type": "array"}]}}}})
    captured = harvest(manifest, tmp_path)
    assert captured.failure is not None and captured.failure.code == "invalid-outputs-json"
