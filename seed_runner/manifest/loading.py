"""Read, validate and type a manifest text in one call (``seed_runner.load_manifest`` builds on it).

It lives in the manifest wing, not in ``validation``, so that a run of a known label imports no validator at all
(importing a module of the validation package would import the package, and with it every rule).

Validation verdicts are remembered: a manifest text that passed once (same bytes, same seed-runner
version) is not validated again, so `seed run` of an image it has run before does not pay for the
validator (a cache of empty marker files under ``$XDG_CACHE_HOME/seed-runner/valid-manifests``; delete it
freely). Only passing verdicts are cached; a manifest with errors is checked, and reported, every time.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any, Iterable

from .. import __version__
from ..errors import InvalidManifestError
from ..problems import Finding, has_errors
from .jsontext import parse_json_text
from .model import Manifest


def manifest_from_text(text: str | bytes, *, source: str, image_env: Iterable[str] = (),
                       decode: Any = parse_json_text) -> Manifest:
    """Parse, validate (unless this exact text passed before) and type a manifest.

    ``decode`` turns the text into a document with findings (``label.decode_label`` for image labels).
    """
    # surrogatepass: a str built in Python may hold a lone surrogate; the reader reports it, the hash must not fail.
    raw = text.encode("utf-8", "surrogatepass") if isinstance(text, str) else text
    marker = _cache_dir() / hashlib.sha256(__version__.encode() + b"\0" + raw).hexdigest()
    document, findings = decode(text)
    if document is not None and not has_errors(findings) and marker.exists():
        return Manifest.from_dict(document)
    if document is not None or not findings:  # JSON null is a document too, and no manifest
        from ..validation import validate_document  # only on a first sight: a known text costs no validator

        findings = [*findings, *validate_document(document, image_env=image_env)]
    _raise_on_errors(source, findings)
    try:
        marker.parent.mkdir(parents=True, exist_ok=True)
        marker.touch()
    except OSError:  # no writable cache: validate every time
        pass
    return Manifest.from_dict(document)


def _raise_on_errors(source: str, findings: list[Finding]) -> None:
    if has_errors(findings):
        raise InvalidManifestError(source, findings)


def _cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "seed-runner" / "valid-manifests"
