"""Media types guessed from file names, one answer for inputs (INPUT_METADATA, mediaTypes warnings), outputs
(harvest) and scaffolds (`seed init`)."""

from __future__ import annotations

import os
from typing import Any

OCTET_STREAM = "application/octet-stream"

# Media types the built-in table lacks; compressed files are named by their compression, not their content.
_EXTRA_MEDIA_TYPES = {".geojson": "application/geo+json"}
_COMPRESSION_MEDIA_TYPES = {"gzip": "application/gzip", "bzip2": "application/x-bzip2", "xz": "application/x-xz",
                            "compress": "application/x-compress", "br": "application/x-brotli"}
_MIME_TABLE: Any = None


def guess_media_type(name: str) -> str:
    """A media type from a file name: Python's built-in table (not the machine's /etc/mime.types, so the
    answer is the same everywhere), a few additions, else application/octet-stream."""
    global _MIME_TABLE
    if _MIME_TABLE is None:
        import mimetypes

        _MIME_TABLE = mimetypes.MimeTypes()
    kind, encoding = _MIME_TABLE.guess_type(name, strict=False)
    if encoding:
        return _COMPRESSION_MEDIA_TYPES.get(encoding, OCTET_STREAM)
    return kind or _EXTRA_MEDIA_TYPES.get(os.path.splitext(name)[1].lower(), OCTET_STREAM)
