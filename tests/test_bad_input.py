"""Hostile sources: each gives a finding that names the problem, never a traceback, and does not stop
the other sources of the same call from being checked."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable

import pytest

from seed_runner import validate, validate_all
from seed_runner.manifest.jsontext import MAX_DOCUMENT_BYTES

from .conftest import CLEAN_MANIFEST


def only_error(result) -> Any:
    assert not result.valid
    assert len(result.errors) == 1, result.findings
    return result.errors[0]


@pytest.mark.parametrize("content,code,words", [
    (b"", "empty-document", "empty"),
    (b"   \n\t ", "empty-document", "empty"),
    (b"[]", "not-an-object", "array"),
    (b'"just a string"', "not-an-object", "string"),
    (b"null", "not-an-object", "null"),
    (b"42", "not-an-object", "number"),
    (b'{"seedVersion": "1.0.0",\n  "job": {,}}', "invalid-json", "line 2, column"),
    (b'{"a": NaN}', "invalid-json", "NaN"),
    (b'{"seedVersion": "1.0.0", "job": {"name": "caf\xe9"}}', "invalid-encoding", "line 1, column 46"),
    (b"[" * 10_000 + b"]" * 10_000, "too-deeply-nested", "deeply"),
    (b'{"job": ' * 10_000 + b"{}" + b"}" * 10_000, "too-deeply-nested", "deeply"),
])
def test_malformed_files(write_manifest: Callable, content: bytes, code: str, words: str) -> None:
    finding = only_error(validate(write_manifest(content)))
    assert finding.code == code
    assert words in finding.message
    assert "\n" not in finding.message


def test_a_50_mb_file_is_refused_without_reading_it_all(write_manifest: Callable) -> None:
    path = write_manifest(b'{"pad": "' + b"x" * (50 * 1024 * 1024) + b'"}')
    finding = only_error(validate(path))
    assert finding.code == "document-too-large"
    assert f"{MAX_DOCUMENT_BYTES // 1048576} MiB" in finding.message


def test_a_utf8_byte_order_mark_is_accepted(write_manifest: Callable) -> None:
    path = write_manifest(b"\xef\xbb\xbf" + json.dumps(CLEAN_MANIFEST).encode())
    assert validate(path).findings == ()


def test_duplicate_members_are_reported_with_their_path(write_manifest: Callable) -> None:
    text = json.dumps(CLEAN_MANIFEST).replace('"timeout": 60', '"timeout": 60, "timeout": 61')
    result = validate(write_manifest(text))
    assert [(f.code, f.path) for f in result.findings] == [("duplicate-key", "$.job.timeout")]
    assert result.manifest.job.timeout == 61


def test_missing_paths(tmp_path: Path) -> None:
    finding = only_error(validate(tmp_path / "nope" / "seed.manifest.json"))
    assert finding.code == "source-not-found"
    finding = only_error(validate(tmp_path))  # a directory without a manifest
    assert finding.code == "missing-manifest" and "--recursive" in finding.message


def test_unreadable_sources(tmp_path: Path, write_manifest: Callable) -> None:
    import os

    fifo = tmp_path / "pipe.json"
    os.mkfifo(fifo)  # exists, but is no regular file: never opened (it would block)
    assert only_error(validate(fifo)).code == "unreadable-source"
    if os.geteuid() != 0:  # root reads a mode-000 file anyway
        path = write_manifest(CLEAN_MANIFEST)
        path.chmod(0)
        assert only_error(validate(path)).code == "unreadable-source"


def test_a_link_loop_is_named_as_one_not_as_a_matter_of_permissions(tmp_path: Path) -> None:
    loop = tmp_path / "seed.manifest.json"
    loop.symlink_to(loop.name)  # points at itself
    finding = only_error(validate(loop))
    assert finding.code == "unreadable-source" and "link" in finding.message
    assert "permissions" not in finding.message


def test_recursive_finds_every_manifest_below(tmp_path: Path, write_manifest: Callable) -> None:
    write_manifest(CLEAN_MANIFEST, "a")
    write_manifest(b"[]", "b/deeper")
    write_manifest(CLEAN_MANIFEST, ".git/hooks")  # never searched
    results = validate_all([tmp_path], recursive=True)
    assert [Path(r.source).relative_to(tmp_path).as_posix() for r in results] == [
        "a/seed.manifest.json", "b/deeper/seed.manifest.json"]
    assert [r.valid for r in results] == [True, False]


def test_recursive_follows_no_link_to_a_directory_and_takes_a_link_to_a_file(tmp_path: Path,
                                                                             write_manifest: Callable) -> None:
    # What os.walk finds (the search reads each directory once, without it).
    target = write_manifest(CLEAN_MANIFEST, "jobs/real")
    (tmp_path / "jobs" / "node_modules" / "x").mkdir(parents=True)
    (tmp_path / "jobs" / "node_modules" / "x" / "seed.manifest.json").write_text("{}")
    (tmp_path / "jobs" / "dir" / "seed.manifest.json").mkdir(parents=True)  # a directory of that name
    (tmp_path / "jobs" / "linked").symlink_to(tmp_path / "jobs" / "real", target_is_directory=True)
    (tmp_path / "jobs" / "file").mkdir()
    (tmp_path / "jobs" / "file" / "seed.manifest.json").symlink_to(target)
    results = validate_all([tmp_path / "jobs"], recursive=True)
    assert [Path(r.source).relative_to(tmp_path / "jobs").as_posix() for r in results] == [
        "file/seed.manifest.json", "real/seed.manifest.json"]
    assert all(r.valid for r in results)


def test_recursive_from_the_current_directory_names_files_as_before(tmp_path: Path, write_manifest: Callable,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    # `seed validate -r .` named its manifests "a/seed.manifest.json" (a Path made of each found one), never
    # "./a/seed.manifest.json": the names are in every report format, and CI annotations match on them.
    write_manifest(CLEAN_MANIFEST, "a")
    write_manifest(b"[]", "b/deeper")
    monkeypatch.chdir(tmp_path)
    for root in (".", "./", Path(".")):
        assert [r.source for r in validate_all([root], recursive=True)] == [
            "a/seed.manifest.json", "b/deeper/seed.manifest.json"]


def test_recursive_finds_a_manifest_below_more_folders_than_the_recursion_limit(tmp_path: Path) -> None:
    # os.walk (Python 3.11) recursed once a folder: a tree 1,100 deep was an internal error (exit 70).
    import os

    deepest = str(tmp_path)
    for _ in range(1_100):
        deepest = os.path.join(deepest, "d")
        os.mkdir(deepest)
    Path(deepest, "seed.manifest.json").write_text(json.dumps(CLEAN_MANIFEST))
    try:
        results = validate_all([tmp_path], recursive=True)
        assert [r.source for r in results] == [os.path.join(deepest, "seed.manifest.json")]
        assert results[0].valid
    finally:  # removed here, bottom up: pytest's own clean-up (shutil.rmtree) recurses and fails on this tree
        os.unlink(os.path.join(deepest, "seed.manifest.json"))
        while deepest != str(tmp_path):
            os.rmdir(deepest)
            deepest = os.path.dirname(deepest)


def test_one_bad_source_does_not_stop_the_others(tmp_path: Path, write_manifest: Callable) -> None:
    good = write_manifest(CLEAN_MANIFEST, "good")
    empty = write_manifest(b"", "empty")
    results = validate_all([empty, tmp_path / "missing.json", good])
    assert [r.valid for r in results] == [False, False, True]
