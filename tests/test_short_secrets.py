"""A secret of one or two letters masks values, never the structure seed-runner writes itself: the member names
of result.json, of the crate and of the run store's records, and the ids, paths, hashes and types that tie them
together. (A secret this short is found inside almost any word: what it costs is said in the docs' "Security
and trust".)"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from seed_runner import load_manifest
from seed_runner.runtime.masking import SecretMask
from seed_runner.runtime.plan import RunRequest
from seed_runner.runtime.runner import run
from seed_runner.store import RunStore

from .conftest import check_result

COMMAND = ("sh -c 'echo data > ${OUTPUT_DIR}/result.txt; "
           "echo \"{\\\"identity_note\\\": \\\"the id is ${TOKEN}\\\"}\" > ${OUTPUT_DIR}/seed.outputs.json; "
           "echo token ${TOKEN}'")


def manifest() -> Any:
    return load_manifest({"seedVersion": "1.0.0", "job": {
        "name": "short-secret", "jobVersion": "1.0.0", "packageVersion": "1.0.0", "title": "a short secret",
        "description": "d", "maintainer": {"name": "n", "email": "e"}, "timeout": 60,
        "interface": {
            "command": COMMAND,
            "outputs": {"files": [{"name": "RESULT", "pattern": "result.txt"}],
                        "json": [{"name": "identity_note", "type": "string"}]},
            "settings": [{"name": "TOKEN", "secret": True}]}}})


def own_members(document: dict[str, Any]) -> None:
    """The members seed-runner writes itself are all there, spelled as they are."""
    for member in ("result_version", "status", "outputs", "json_outputs", "warnings", "timings", "environment"):
        assert member in document, member
    for item in document["warnings"] + document["problems"]:
        assert set(item) >= {"severity", "code", "path", "message"}, item
    assert list(document["json_outputs"]) == ["identity_note"]


@pytest.mark.engine
@pytest.mark.parametrize("secret", ["t", "id", "e"])
def test_a_one_or_two_letter_secret_keeps_the_crate_and_the_result_whole(busybox_image: str, tmp_path: Path,
                                                                         monkeypatch: pytest.MonkeyPatch,
                                                                         secret: str) -> None:
    monkeypatch.setenv("SEED_HOME", str(tmp_path / "home"))
    result = run(RunRequest(image=busybox_image, settings={"TOKEN": secret}, run_dir=tmp_path / "run"),
                 manifest=manifest(), cache=True)
    document = check_result(json.loads((tmp_path / "run/result.json").read_text()))
    assert document["status"] == "succeeded", document["message"]
    assert not [w for w in document["warnings"] if w["code"] == "provenance-not-written"], document["warnings"]
    own_members(document)
    assert "****" in document["json_outputs"]["identity_note"]  # the value is masked
    (file,) = document["outputs"]["RESULT"]["files"]
    written = (tmp_path / "run/outputs/result.txt").read_bytes()
    assert file["sha256"] == hashlib.sha256(written).hexdigest() and file["path"] == "result.txt"
    assert document["run_dir"] == str(tmp_path / "run")
    assert (tmp_path / "run/logs/stdout.log").read_text() == "****oken ****\n" if secret == "t" else True

    crate = json.loads((tmp_path / "run/ro-crate-metadata.json").read_text())
    assert set(crate) == {"@context", "@graph"} and crate["@context"] == "https://w3id.org/ro/crate/1.1/context"
    entities = {entity["@id"]: entity for entity in crate["@graph"]}
    assert all("@type" in entity for entity in crate["@graph"])
    output = entities["outputs/result.txt"]
    assert output["@type"] == "File" and output["sha256"] == file["sha256"] and output["contentSize"] == len(written)
    action = next(e for e in crate["@graph"] if e["@type"] == "CreateAction")
    assert action["actionStatus"] == "CompletedActionStatus"
    for ref in action["result"] + entities["./"]["hasPart"]:  # every reference leads to an entity
        assert ref["@id"] in entities, ref
    values = {e["name"]: e["value"] for e in crate["@graph"] if e["@type"] == "PropertyValue"}
    assert values["TOKEN"] == "****" and "****" in values["identity_note"]

    with RunStore.open() as store:  # the store's row: our structure whole, the secret only as ****
        record = store.get(result.document["run_id"])
    assert record["settings"] == {"TOKEN": "****"} and record["request"]["settings"] == {"TOKEN": "****"}
    assert record["cache_record"]["json_outputs"] == document["json_outputs"]
    assert set(record["cache_record"]["files"]) == {"outputs/result.txt", "outputs/seed.outputs.json",
                                                    "logs/stdout.log", "logs/stderr.log"}


def test_value_masking_leaves_member_names_alone_when_asked() -> None:
    mask = SecretMask(["t"])
    document = {"status": "t", "nested": [{"text": "at"}]}
    assert mask.value(document, names=False) == {"status": "****", "nested": [{"text": "a****"}]}
    assert mask.value(document) == {"s****a****us": "****", "nes****ed": [{"****ex****": "a****"}]}


def _names(value: Any) -> list[Any]:
    if isinstance(value, dict):
        return [(key, _names(item)) for key, item in value.items()]
    if isinstance(value, list):
        return [_names(item) for item in value]
    return []


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    items = value.values() if isinstance(value, dict) else value if isinstance(value, list) else ()
    return [leaf for item in items for leaf in _strings(item)]


from hypothesis import given  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

documents = st.recursive(st.none() | st.integers() | st.text(max_size=6),
                         lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner,
                                                                                     max_size=3), max_leaves=15)


@given(documents, st.text(min_size=1, max_size=3))
def test_value_masking_without_names_keeps_every_member_name(document: Any, secret: str) -> None:
    mask = SecretMask([secret])
    masked = mask.value(document, names=False)
    assert _names(masked) == _names(document)
    if "*" not in secret:  # (a secret of asterisks meets the mask's own)
        assert not any(secret in leaf for leaf in _strings(masked))  # every string value is masked
    assert mask.structural().value(document, names=False) == document  # a short secret never touches structure
