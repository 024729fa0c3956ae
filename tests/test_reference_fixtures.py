"""The reference implementations' own fixtures (../shared) as oracles for `seed validate`."""

from __future__ import annotations

import pytest

from seed_runner import validate

from .conftest import SHARED

CLI = SHARED / "seed-cli-examples"

# seed-cli's invalid-* test data: each must be rejected for the reason its name gives
# (SOURCE.md beside the files says what each one holds).
INVALID = {
    "invalid-duplicate-names": [("duplicate-name", "$.job.errors[1].name"),
                                ("name-collision", "$.job.interface.inputs.files[1].name")],
    "invalid-json-comma": [("invalid-json", "$")],
    "invalid-json-parens": [("invalid-json", "$")],
    "invalid-missing-job-interface-inputs-files-name": [("missing-member", "$.job.interface.inputs.files[0].name")],
    "invalid-missing-job": [("missing-member", "$.job")],
    "invalid-mounts": [("duplicate-name", "$.job.interface.mounts[1].name")],
    # Despite its name this is another duplicate-input case (SOURCE.md).
    "invalid-reserved-name": [("name-collision", "$.job.interface.inputs.files[1].name")],
}


@pytest.mark.parametrize("name", sorted(INVALID))
def test_seed_cli_invalid_manifests_are_rejected_for_their_reason(name: str) -> None:
    result = validate(CLI / "testdata" / name)
    assert not result.valid
    found = {(f.code, f.path) for f in result.errors}
    for expected in INVALID[name]:
        assert expected in found, f"{name}: expected {expected}, got {sorted(found)}"


def test_the_json_errors_give_line_and_column() -> None:
    comma = validate(CLI / "testdata" / "invalid-json-comma").errors[0].message
    assert "line 3, column 1" in comma and "trailing comma" in comma


def test_the_old_output_count_member_is_rejected() -> None:
    (finding,) = validate(CLI / "testdata" / "multiple-required-inputs").errors
    assert (finding.code, finding.path) == ("unknown-member", "$.job.interface.outputs.files[0].count")


# seed-cli's verdict "valid, with N normalization warnings" (SOURCE.md), compared with rule 8.
NORMALIZATION_WARNINGS = {
    "examples/addition-job": 5,
    "examples/extractor": 4,
    "examples/multi-addition-job": 3,
    "guide/example": 0,
    "guide/example/jupyter": 0,
    "testdata/stderr-output": 0,
    "testdata/no-inputs": 0,
    "testdata/complete": 4,
    "testdata/complete-denormalized": 9,
}


@pytest.mark.parametrize("name", sorted(NORMALIZATION_WARNINGS))
def test_normalization_warnings_match_seed_cli(name: str) -> None:
    result = validate(CLI / name)
    count = sum(f.code == "name-not-normalized" for f in result.findings)
    assert count == NORMALIZATION_WARNINGS[name]


VALID_FOR_SEED_CLI = ["examples/addition-job", "examples/extractor", "examples/multi-addition-job", "guide/example",
                      "guide/example/jupyter", "testdata/stderr-output", "testdata/no-inputs"]


@pytest.mark.parametrize("name", VALID_FOR_SEED_CLI)
def test_seed_cli_valid_manifests_are_valid(name: str) -> None:
    assert validate(CLI / name).valid


def test_an_empty_json_output_key_is_a_warning_and_taken_as_absent_as_seed_cli_does() -> None:
    """SEED-RULES 10.15: seed-cli takes "key": "" as absent and calls these valid; so do we, with a warning."""
    for name in ("testdata/complete", "testdata/complete-denormalized"):
        result = validate(CLI / name)
        assert result.valid and not result.errors
        assert ("empty-output-key", "$.job.interface.outputs.json[1].key") in [(f.code, f.path) for f in result.warnings]
        output = result.manifest.job.interface.json_outputs[1]
        assert output.key == output.name


@pytest.mark.parametrize("name", ["complete", "watermark", "random-number"])
def test_spec_examples_are_valid(name: str) -> None:
    result = validate(SHARED / "seed-spec" / "examples" / name)
    assert result.valid, result.findings
    assert result.manifest is not None


def test_scale_manifests_are_valid() -> None:
    paths = sorted((SHARED / "scale-examples").rglob("*seed.manifest.json"))
    assert len(paths) == 6
    for path in paths:
        assert validate(path).valid, path


def test_the_legacy_scale_placeholder_is_a_command_error() -> None:
    """Scale's ingest fixture uses `${-i :ingest_id}`, which Bash calls a bad substitution."""
    import json

    fixtures = json.loads((SHARED / "scale-examples/scale/ingest/fixtures/ingest_job_types.json").read_text())
    manifests = [f["fields"]["manifest"] for f in fixtures if "manifest" in f.get("fields", {})]
    legacy = [m for m in manifests if "${-i" in m["job"].get("interface", {}).get("command", "")]
    assert legacy
    for manifest in legacy:
        codes = [f.code for f in validate(manifest).errors]
        assert codes == ["command-bad-substitution"]
