"""The rules a schema cannot express (SEED-RULES.md section 10): one manifest that passes and one that fails each.

Every case starts from CLEAN_MANIFEST (which draws no finding at all), changes one thing, and expects
exactly the finding that change deserves: its code, severity and JSON path.
"""

from __future__ import annotations

from typing import Any, Callable

import pytest

from seed_runner import validate
from seed_runner.problems import Severity

from .conftest import CLEAN_MANIFEST

Mutation = Callable[[dict[str, Any]], None]


def iface(doc: dict) -> dict:
    return doc["job"]["interface"]


def scalars(doc: dict) -> list:
    return doc["job"]["resources"]["scalar"]


def test_the_clean_manifest_has_no_findings() -> None:
    """The baseline every case below starts from: valid, no warnings."""
    result = validate(CLEAN_MANIFEST)
    assert result.findings == ()
    assert result.manifest is not None


# (code, severity, JSON path of the finding, mutation)
CASES: list[tuple[str, Severity, str, Mutation]] = [
    # 1. seedVersion
    ("unsupported-seed-version", Severity.ERROR, "$.seedVersion", lambda d: d.update(seedVersion="0.1.0")),
    # 2. resources without scalar
    ("missing-scalar", Severity.ERROR, "$.job.resources.scalar",
     lambda d: (d["job"].update(resources={}), iface(d).update(command="${INPUT_FILE} ${OUTPUT_DIR}"))),
    # 3. mount paths
    ("mount-path-not-absolute", Severity.ERROR, "$.job.interface.mounts[0].path",
     lambda d: iface(d)["mounts"][0].update(path="reference")),
    ("duplicate-mount-path", Severity.WARNING, "$.job.interface.mounts[1].path",
     lambda d: iface(d)["mounts"].append({"name": "OTHER", "path": "/reference/"})),
    ("mount-path-system", Severity.WARNING, "$.job.interface.mounts[0].path",
     lambda d: iface(d)["mounts"][0].update(path="/etc/app")),
    ("mount-path-system", Severity.WARNING, "$.job.interface.mounts[0].path",
     lambda d: iface(d)["mounts"][0].update(path="/")),
    ("mount-path-reserved", Severity.WARNING, "$.job.interface.mounts[0].path",
     lambda d: iface(d)["mounts"][0].update(path="/seed/outputs")),
    # 4. reserved variable names
    ("reserved-name", Severity.ERROR, "$.job.interface.settings[2].name",
     lambda d: iface(d)["settings"].append({"name": "OUTPUT_DIR"})),
    ("reserved-name", Severity.ERROR, "$.job.interface.settings[0].name",
     lambda d: iface(d)["settings"][0].update(name="ALLOCATED_MEM")),
    ("reserved-name", Severity.ERROR, "$.job.interface.inputs.json[1].name",
     lambda d: iface(d)["inputs"]["json"].append({"name": "INPUT_METADATA", "type": "object"})),
    # 5. inputs and settings share one variable namespace
    ("name-collision", Severity.ERROR, "$.job.interface.settings[0].name",
     lambda d: iface(d)["settings"][0].update(name="input-file")),
    ("name-collision", Severity.ERROR, "$.job.interface.inputs.json[1].name",
     lambda d: iface(d)["inputs"]["json"].append({"name": "optional-file", "type": "string"})),
    # 6. unique names per group
    ("duplicate-name", Severity.ERROR, "$.job.interface.outputs.json[0].name",
     lambda d: iface(d)["outputs"]["json"][0].update(name="RESULT")),
    ("duplicate-name", Severity.ERROR, "$.job.interface.mounts[1].name",
     lambda d: iface(d)["mounts"].append({"name": "REFERENCE", "path": "/other"})),
    ("duplicate-name", Severity.ERROR, "$.job.errors[1].name",
     lambda d: d["job"]["errors"][1].update(name="bad-input")),
    ("duplicate-name", Severity.ERROR, "$.job.resources.scalar[3].name",
     lambda d: scalars(d).append({"name": "cpus", "value": 2})),
    # 7. recommended resources
    ("missing-resources", Severity.WARNING, "$.job.resources",
     lambda d: (d["job"].pop("resources"), iface(d).update(command="${INPUT_FILE} ${OUTPUT_DIR}"))),
    ("missing-recommended-resource", Severity.WARNING, "$.job.resources.scalar", lambda d: scalars(d).pop(2)),
    # 8. names not in normalized form
    ("name-not-normalized", Severity.WARNING, "$.job.interface.outputs.files[0].name",
     lambda d: iface(d)["outputs"]["files"][0].update(name="result")),
    ("name-not-normalized", Severity.WARNING, "$.job.interface.mounts[0].name",
     lambda d: iface(d)["mounts"][0].update(name="reference-data")),
    # 9. resources the runner cannot allocate
    ("unknown-resource", Severity.WARNING, "$.job.resources.scalar[3].name",
     lambda d: scalars(d).append({"name": "licenses", "value": 1})),
    # 10. error codes
    ("duplicate-error-code", Severity.WARNING, "$.job.errors[1].code", lambda d: d["job"]["errors"][1].update(code=1)),
    ("error-code-zero", Severity.WARNING, "$.job.errors[1].code", lambda d: d["job"]["errors"][1].update(code=0)),
    ("error-code-out-of-range", Severity.WARNING, "$.job.errors[1].code",
     lambda d: d["job"]["errors"][1].update(code=256)),
    # 11. timeout and negative resources
    ("timeout-not-positive", Severity.WARNING, "$.job.timeout", lambda d: d["job"].update(timeout=0)),
    ("negative-resource", Severity.WARNING, "$.job.resources.scalar[2].inputMultiplier",
     lambda d: scalars(d)[2].update(inputMultiplier=-1)),
    # 12. the command
    ("command-unknown-variable", Severity.WARNING, "$.job.interface.command",
     lambda d: iface(d).update(command="${INPUT_FILE} ${OUTPUT_DIR} ${VERBOSE}")),
    ("command-unknown-variable", Severity.WARNING, "$.job.interface.command",
     lambda d: iface(d).update(command="${INPUT_FILE} ${REFERENCE}")),
    ("command-optional-input-bare", Severity.WARNING, "$.job.interface.command",
     lambda d: iface(d).update(command="${INPUT_FILE} ${OPTIONAL_FILE}")),
    ("command-substitution", Severity.ERROR, "$.job.interface.command",
     lambda d: iface(d).update(command="${INPUT_FILE} $(cat /etc/passwd)")),
    ("command-substitution", Severity.ERROR, "$.job.interface.command",
     lambda d: iface(d).update(command="run `id`")),
    ("command-unsupported-expansion", Severity.ERROR, "$.job.interface.command",
     lambda d: iface(d).update(command="${INPUT_FILE:=default}")),
    ("command-bad-substitution", Severity.ERROR, "$.job.interface.command",
     lambda d: iface(d).update(command="scale_ingest ${-i :ingest_id}")),
    # 13. names Docker cannot use
    ("image-name-uppercase", Severity.WARNING, "$.job.name", lambda d: d["job"].update(name="Clean-Job")),
    ("image-name-plus", Severity.WARNING, "$.job.packageVersion",
     lambda d: d["job"].update(packageVersion="0.1.0+build.7")),
    ("image-tag-too-long", Severity.WARNING, "$.job.packageVersion",
     lambda d: d["job"].update(packageVersion="1.0.0-" + "a" * 130)),
    # 14. output patterns
    ("output-pattern-absolute", Severity.ERROR, "$.job.interface.outputs.files[0].pattern",
     lambda d: iface(d)["outputs"]["files"][0].update(pattern="/tmp/result*.txt")),
    ("output-pattern-parent", Severity.ERROR, "$.job.interface.outputs.files[0].pattern",
     lambda d: iface(d)["outputs"]["files"][0].update(pattern="../result*.txt")),
    ("output-pattern-recursive", Severity.WARNING, "$.job.interface.outputs.files[0].pattern",
     lambda d: iface(d)["outputs"]["files"][0].update(pattern="**/result*.txt")),
    ("output-pattern-reserved", Severity.WARNING, "$.job.interface.outputs.files[0].pattern",
     lambda d: iface(d)["outputs"]["files"][0].update(pattern="*.metadata.json")),
    ("output-pattern-empty", Severity.ERROR, "$.job.interface.outputs.files[0].pattern",
     lambda d: iface(d)["outputs"]["files"][0].update(pattern="")),
    # 15. json output keys
    ("empty-output-key", Severity.WARNING, "$.job.interface.outputs.json[0].key",
     lambda d: iface(d)["outputs"]["json"][0].update(key="")),
    ("duplicate-output-key", Severity.WARNING, "$.job.interface.outputs.json[1]",
     lambda d: iface(d)["outputs"]["json"].append({"name": "TOTAL", "type": "integer", "key": "count"})),
    # 16. odd input declarations
    ("partial-multiple", Severity.WARNING, "$.job.interface.inputs.files[0].partial",
     lambda d: iface(d)["inputs"]["files"][0].update(partial=True, multiple=True)),
    ("empty-media-types", Severity.WARNING, "$.job.interface.inputs.files[0].mediaTypes",
     lambda d: iface(d)["inputs"]["files"][0].update(mediaTypes=[])),
]


@pytest.mark.parametrize("code,severity,path,mutate", CASES,
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_rule(manifest: dict, code: str, severity: Severity, path: str, mutate: Mutation) -> None:
    mutate(manifest)
    result = validate(manifest)
    matching = [f for f in result.findings if f.code == code]
    assert matching, f"expected {code}, got {[(f.code, f.path) for f in result.findings]}"
    assert matching[0].severity is severity
    assert matching[0].path == path
    assert "\n" not in matching[0].message and len(matching[0].message) > 20
    assert result.valid is (severity is Severity.WARNING and not result.errors)
    # The change draws this finding and nothing unrelated (a name written to collide after normalization is
    # necessarily not in normalized form, so that warning may come along).
    others = {f.code for f in result.findings} - {code, "name-not-normalized"}
    assert not others, [(f.code, f.path, f.message) for f in result.findings]


def test_unknown_variable_from_image_environment_is_known(manifest: dict) -> None:
    """A variable the image's own ENV defines is not reported (validating an image passes its ENV)."""
    from seed_runner.validation import validate_document

    iface(manifest).update(command="${APP_HOME}/run ${INPUT_FILE}")
    assert [f.code for f in validate_document(manifest)] == ["command-unknown-variable"]
    assert validate_document(manifest, image_env={"APP_HOME": "/app"}) == []


def test_collision_message_names_both_elements(manifest: dict) -> None:
    iface(manifest)["settings"][0]["name"] = "input-file"
    (finding,) = validate(manifest).errors
    assert "setting 'input-file'" in finding.message and "input 'INPUT_FILE'" in finding.message
    assert "INPUT_FILE" in finding.message and "rename" in finding.message


def test_all_findings_are_reported_not_only_the_first(manifest: dict) -> None:
    """Schema errors and semantic errors of one manifest come back together."""
    manifest["job"]["timeout"] = "60"
    manifest["job"]["maintainer"]["mail"] = "x"
    iface(manifest)["settings"][0]["name"] = "input-file"
    iface(manifest)["mounts"][0]["path"] = "relative"
    codes = sorted(f.code for f in validate(manifest).findings)
    assert codes == ["mount-path-not-absolute", "name-collision", "name-not-normalized", "unknown-member", "wrong-type"]


def test_warnings_keep_a_manifest_valid_unless_strict(manifest: dict) -> None:
    manifest["job"]["timeout"] = 0
    result = validate(manifest)
    assert result.valid and result.is_valid(strict=False)
    assert not result.is_valid(strict=True)


def test_unknown_variable_message_says_which_mount_or_output_has_that_name(manifest: dict) -> None:
    """A reference to a mount or an output says that it injects nothing (the one declared last, when a mount and
    an output both have that name); another reference says that nothing injects it."""
    iface(manifest)["outputs"]["files"].append({"name": "reference", "pattern": "ref*.txt"})
    iface(manifest).update(command="${INPUT_FILE} ${RESULT} ${REFERENCE} ${VERBOSE} ${RESULT}")
    messages = [f.message for f in validate(manifest).findings if f.code == "command-unknown-variable"]
    assert messages == [
        "${RESULT} at column 15 expands to nothing: it names output 'RESULT' (outputs inject no variable; write "
        "under ${OUTPUT_DIR}); the command is expanded by the runner, not by a shell in the container",
        "${REFERENCE} at column 25 expands to nothing: it names output 'reference' (outputs inject no variable; "
        "write under ${OUTPUT_DIR}); the command is expanded by the runner, not by a shell in the container",
        "${VERBOSE} at column 38 expands to nothing: no input, setting or resource of the manifest injects it; the "
        "command is expanded by the runner, not by a shell in the container",
    ]
    iface(manifest)["outputs"]["files"].pop()
    (finding,) = [f for f in validate(manifest).findings if "REFERENCE" in f.message]
    assert "it names mount 'REFERENCE' (mounts inject no variable; use its container path '/reference')" \
        in finding.message
