"""Every code `seed validate` can report, with its severity and a one-line description.

The descriptions are the rules of a SARIF report (a code-scanning UI shows them above each alert); the
"Finding codes" table of docs/reference/validate.md lists the same codes, and a test holds the three (this
table, that page and the codes the validator's source emits) to each other.
"""

from __future__ import annotations

from typing import NamedTuple


class Code(NamedTuple):
    severity: str
    description: str


def _codes(severity: str, **descriptions: str) -> dict[str, Code]:
    return {name.replace("_", "-"): Code(severity, text) for name, text in descriptions.items()}


CODES: dict[str, Code] = {
    # The source and its bytes.
    **_codes(
        "error",
        source_not_found="The path does not exist.",
        unreadable_source="The path is not a readable regular file.",
        missing_manifest="The directory has no seed.manifest.json.",
        image_not_found="The image is not on the local engine (it is never pulled).",
        engine_unavailable="The engine does not answer, so the image could not be checked.",
        internal_error="seed-runner itself failed on this source (a bug: please report it).",
        invalid_json="The manifest is not well-formed JSON.",
        invalid_encoding="The manifest is not UTF-8 text.",
        empty_document="The manifest file is empty.",
        document_too_large="The manifest is larger than 10 MiB.",
        too_deeply_nested="Arrays or objects are nested more than 128 levels deep.",
        not_an_object="The manifest is not a JSON object.",
        invalid_string="A string holds a lone surrogate escape, which UTF-8 cannot encode.",
        number_too_large="A number is too large for a 64-bit float.",
        invalid_number="NaN is not a JSON number.",
        not_json_value="A value of a Python mapping is of no JSON type.",
    ),
    **_codes("warning", duplicate_key="A member name appears more than once in one object (the last value wins)."),
    # The schema.
    **_codes(
        "error",
        missing_member="A required member is missing.",
        unknown_member="A member the Seed schema does not allow here.",
        wrong_type="A value is of the wrong JSON type.",
        invalid_value="A value is not one of those allowed.",
        invalid_name="A name holds characters the Seed schema does not allow.",
        invalid_version="A version is not a SemVer 2.0 version.",
        unsupported_seed_version="seedVersion is not a version seed-runner implements (1.0.0).",
        schema="The manifest does not match the Seed schema.",
    ),
    # The rules of SEED-RULES section 10 the schema cannot express.
    **_codes(
        "error",
        missing_scalar="resources has no scalar array (rule 2).",
        mount_path_not_absolute="A mount path is not absolute (rule 3).",
        reserved_name="An input or setting would become a variable the runner sets itself (rule 4).",
        name_collision="Two inputs or settings become the same environment variable (rule 5).",
        duplicate_name="Outputs, mounts, errors or resources share a name (rule 6).",
        output_pattern_absolute="An output pattern is an absolute path (rule 14).",
        output_pattern_parent="An output pattern leaves the output directory with '..' (rule 14).",
        output_pattern_empty="An output pattern is empty (rule 14).",
    ),
    **_codes(
        "warning",
        duplicate_mount_path="Two mounts share a container path (rule 3).",
        mount_path_system="A mount covers a system directory of the container (rule 3).",
        mount_path_reserved="A mount path is under /seed, where the runner puts inputs and outputs (rule 3).",
        missing_resources="The job declares no resources (rule 7).",
        missing_recommended_resource="The job does not declare cpus, mem or disk (rule 7).",
        name_not_normalized="A name is not in its environment-variable form (rule 8).",
        unknown_resource="A resource the runner cannot allocate (rule 9).",
        duplicate_error_code="Two errors share an exit code (rule 10).",
        error_code_zero="An error is mapped to exit code 0, which means success (rule 10).",
        error_code_out_of_range="An error code is outside 0-255, so no exit status can carry it (rule 10).",
        timeout_not_positive="The timeout is 0 or negative, which means no limit (rule 11).",
        negative_resource="A resource value is negative (rule 11).",
        image_name_uppercase="The job name has upper-case letters, which Docker image names cannot (rule 13).",
        image_name_plus="A version holds build metadata ('+'), which Docker names and tags cannot hold (rule 13).",
        image_tag_too_long="packageVersion is longer than a Docker tag may be (rule 13).",
        output_pattern_recursive="An output pattern uses '**', which is not recursive here (rule 14).",
        output_pattern_reserved="An output pattern matches side-car or seed.outputs.json files (rule 14).",
        empty_output_key="A JSON output has an empty key, taken as absent (rule 15).",
        duplicate_output_key="Two JSON outputs read the same key (rule 15).",
        partial_multiple="A multiple input is also partial (rule 16).",
        empty_media_types="An input's mediaTypes is empty (rule 16).",
    ),
    # The command (rule 12, DECISIONS "Command").
    **_codes(
        "error",
        command_substitution="The command uses command substitution, which the runner does not expand.",
        command_arithmetic_expansion="The command uses arithmetic expansion, which the runner does not expand.",
        command_process_substitution="The command uses process substitution, which the runner does not expand.",
        command_shell_operator="The command uses a shell operator; it is not run by a shell.",
        command_special_parameter="The command uses a special parameter ($@, $1, ...), which nothing sets.",
        command_bad_substitution="The command has a malformed ${...}.",
        command_unterminated_quote="The command has an unclosed quote.",
        command_unsupported_expansion="The command uses an expansion the runner does not support.",
    ),
    **_codes(
        "warning",
        command_unknown_variable="The command uses a variable that nothing injects.",
        command_optional_input_bare="The command uses an optional input bare, without making its argument "
                                    "conditional.",
    ),
    # Images (rule 17).
    **_codes(
        "error",
        missing_label="The image has no com.ngageoint.seed.manifest label.",
        invalid_label="The image's manifest label cannot be parsed.",
        image_repository_suffix="The image's repository does not end in -seed.",
        image_name_mismatch="The image's name does not match its manifest's name and versions.",
    ),
}


def describe(code: str) -> Code:
    """The code's entry; a code not in the table (none today) still gets one."""
    return CODES.get(code) or Code("error", f"seed-runner finding {code}.")
