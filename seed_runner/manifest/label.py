"""The ``com.ngageoint.seed.manifest`` image label: reading both encodings found in the wild, writing one.

SEED-RULES.md section 2: the label holds the manifest as JSON, either as the object itself
(the spec's Dockerfile LABEL route) or as a JSON string literal with ``\\$`` and ``\\/`` escapes
(seed-cli's ``--label`` route).
"""

from __future__ import annotations

import json
from typing import Any, Mapping

from ..problems import Finding, error
from .jsontext import parse_json_text


def encode_label(manifest: Mapping[str, Any]) -> str:
    """What seed-runner writes: the compact JSON object itself."""
    return json.dumps(dict(manifest), separators=(",", ":"), ensure_ascii=False)


def _seed_cli_unescape(value: str) -> str:
    value = value.strip().strip("'")
    if len(value) >= 2 and value[0] == value[-1] == '"':
        value = value[1:-1]
    return value.replace('\\"', '"').replace("\\$", "$").replace("\\/", "/")


def decode_label(value: str) -> tuple[Any, list[Finding]]:
    """Parse a label value into a manifest document; findings say why when it cannot be."""
    document, findings = parse_json_text(value, what="image label")
    if isinstance(document, str):  # a JSON string literal holding the manifest
        document, findings = parse_json_text(document, what="image label")
    if document is not None:
        return document, findings
    unescaped = _seed_cli_unescape(value)
    if unescaped != value:
        retry, retry_findings = parse_json_text(unescaped, what="image label")
        if retry is not None:
            return retry, retry_findings
    reason = findings[0].message if findings else "it is not JSON"
    return None, [error("invalid-label", "$",
                        f"the com.ngageoint.seed.manifest label cannot be parsed: {reason}; rebuild the image "
                        "with the manifest as compact JSON (seed build does this)")]
