"""Every code ``seed pipeline check`` can report, with its severity and a one-line description.

The descriptions are the rules of a SARIF report; docs/reference/pipeline-yaml.md lists the same codes, and
a test holds the two to each other and to the codes the checker's source emits.
"""

from __future__ import annotations

from typing import NamedTuple


class Code(NamedTuple):
    severity: str
    description: str


CODES: dict[str, Code] = {
    # Reading the file.
    "unreadable-file": Code("error", "The pipeline file cannot be read."),
    "invalid-yaml": Code("error", "The file is not well-formed YAML (or JSON)."),
    "invalid-encoding": Code("error", "The file is not UTF-8 text."),
    "empty-document": Code("error", "The file holds no document."),
    "document-too-large": Code("error", "The file is larger than the limit (4 MiB)."),
    "too-deeply-nested": Code("error", "Lists or mappings are nested more than 64 levels deep."),
    "too-many-nodes": Code("error", "The document expands to more than 200,000 values (aliases repeated too often)."),
    "number-too-large": Code("error", "A number does not fit in 64 bits."),
    "invalid-number": Code("error", "A number is infinite or NaN, which JSON cannot hold."),
    "unsupported-tag": Code("error", "A YAML tag other than the plain ones (!!python/..., !!binary, a custom tag)."),
    "invalid-key": Code("error", "A mapping key is a list or a mapping."),
    "invalid-merge": Code("error", "A `<<` merge key merges something other than mappings."),
    "duplicate-key": Code("error", "A key appears twice in one mapping."),
    "schema": Code("error", "The document does not match the pipeline schema (seed schema pipeline)."),
    # Scale recipes.
    "scale-version": Code("error", "The recipe definition's version is not 6 or 7."),
    "scale-sub-recipe": Code("error", "A recipe node (a sub-recipe): not supported; inline its jobs."),
    "scale-invalid": Code("error", "A recipe definition's member is missing or of the wrong type."),
    "unmapped-job-type": Code("error", "A Scale job type has no image: map it with --job-type NAME:VERSION=IMAGE."),
    # The steps' manifests.
    "manifest-unavailable": Code("error", "A step's manifest could not be read (file, image or label)."),
    "engine-unavailable": Code("error", "The engine does not answer, so an image's manifest could not be read."),
    # The graph.
    "unknown-step": Code("error", "A connection, condition or `after` names a step the pipeline does not have."),
    "unknown-input": Code("error", "An input that neither the step's manifest nor the pipeline declares."),
    "unknown-output": Code("error", "An output the producing step's manifest does not declare."),
    "unknown-setting": Code("error", "A setting the step's manifest does not declare."),
    "unknown-mount": Code("error", "A mount the step's manifest does not declare."),
    "secret-in-file": Code("error", "A value for a secret setting is written in the file; give it at run time."),
    "required-input-unconnected": Code("error", "A required input of a step is connected to nothing."),
    "cycle": Code("error", "Steps need each other in a cycle."),
    "kind-mismatch": Code("error", "A file feeds a JSON input, or a JSON value feeds a file input."),
    "type-mismatch": Code("error", "A JSON value's type cannot match the JSON input's type."),
    "media-type-mismatch": Code("warning", "No media type the source gives is one the input accepts."),
    "several-files": Code("error", "Several files feed an input that takes one (add forEach, or make it multiple)."),
    "item-outside-foreach": Code("error", "`item` is used by a step that has no forEach (or by an output)."),
    "foreach-not-iterable": Code("error", "forEach is over something that is neither files nor a JSON array."),
    "conditional-input": Code("warning", "An input is fed by a step with a condition: when that step is skipped, "
                                         "so is this one."),
    "filter-type-mismatch": Code("error", "A filter's type does not fit what it tests (a file or a JSON type)."),
    "invalid-condition": Code("error", "A filter's condition is not one its type allows."),
    "filter-values": Code("error", "A filter has too few values for its condition, or fields and values differ."),
    "unused-input": Code("warning", "A pipeline input no step or output reads."),
}


def describe(code: str) -> Code:
    return CODES.get(code) or Code("error", f"seed-runner pipeline problem {code}.")
