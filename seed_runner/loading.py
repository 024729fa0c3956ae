"""`load_manifest`: read, validate and type a manifest in one call."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

from .errors import InvalidManifestError
from .findings import has_errors
from .jsontext import parse_json_text
from .model import Manifest
from .validation import validate, validate_document


def load_manifest(source: str | Path | Mapping[str, Any], *, engine: Any = None) -> Manifest:
    """The typed manifest of a file, directory, image reference, JSON text or parsed document.

    Raises InvalidManifestError (with every finding) when the manifest has errors; warnings are
    accepted. Missing members are filled with the spec's defaults (required inputs, ``ro`` mounts,
    ``job`` error category, ...).
    """
    if isinstance(source, str) and source.lstrip().startswith("{"):
        document, findings = parse_json_text(source)
        if document is not None:
            findings += validate_document(document)
        if has_errors(findings):
            raise InvalidManifestError("<text>", findings)
        return Manifest.from_dict(document)
    if isinstance(source, Mapping):
        findings = validate_document(source)
        if has_errors(findings):
            raise InvalidManifestError("<document>", findings)
        return Manifest.from_dict(source)
    result = validate(source, engine=engine)
    if result.manifest is None:
        raise InvalidManifestError(result.source, result.findings)
    return result.manifest
