"""The library's front door: the calls ``import seed_runner`` offers that read manifests from anywhere,
images on the engine included.

The wings below stay pure (``validation`` checks a document or an ``ImageInfo``; it never connects); this
module wires them to the local engine (``seed_runner.engine.images``) as the default way to read an image,
the way httpx's top-level functions wire its model to a default transport.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Mapping

from .errors import EngineUnavailableError, ImageNotFoundError, InvalidManifestError, SourceNotFoundError
from .problems import has_errors

if TYPE_CHECKING:  # pragma: no cover
    from typing import Callable

    from .engine.client import Engine
    from .manifest.image import ImageInfo
    from .manifest.model import Manifest
    from .validation import ValidationResult

__all__ = ["load_manifest", "validate", "validate_all"]


def validate(source: str | Path | Mapping[str, Any], *, engine: "Engine | None" = None) -> "ValidationResult":
    """Validate one manifest: a path (file or directory), an image reference, or a parsed document.

    >>> validate({"seedVersion": "1.0.0"}).valid
    False
    """
    if isinstance(source, Mapping):
        from .validation import validate_mapping

        return validate_mapping(source)
    return validate_all([str(source)], engine=engine)[0]


def validate_all(sources: Iterable[str | Path], *, recursive: bool = False, engine: "Engine | None" = None,
                 positions: bool = True) -> list["ValidationResult"]:
    """Validate every source; a directory with ``recursive`` stands for every manifest below it.

    Images are read from ``engine`` (default: the engine at DOCKER_HOST, connected to on first need, so a
    call with files only never connects). ``positions``: give each finding of a file its ``line`` and
    ``column`` (False skips that work and leaves them None, for a caller that does not show them).
    """
    from .validation import validate_sources

    return validate_sources(sources, recursive=recursive, read_image=_image_reader(engine), positions=positions)


def _image_reader(engine: "Engine | None") -> "Callable[[str], ImageInfo]":
    """``engine.images.image_reader(engine)``, imported on the first image: a call with files only never loads
    the engine client (a few milliseconds of every `seed validate`'s start)."""
    reader: "Callable[[str], ImageInfo] | None" = None

    def read(reference: str) -> "ImageInfo":
        nonlocal reader
        if reader is None:
            from .engine.images import image_reader

            reader = image_reader(engine)
        return reader(reference)

    return read


def load_manifest(source: str | Path | Mapping[str, Any], *, engine: "Engine | None" = None) -> "Manifest":
    """The typed manifest of a file, directory, image reference, JSON text or parsed document.

    Raises InvalidManifestError (with every finding) when the manifest has errors; warnings are
    accepted. Missing members are filled with the spec's defaults (required inputs, ``ro`` mounts,
    ``job`` error category, ...).
    """
    from .manifest.jsontext import MAX_DOCUMENT_BYTES
    from .manifest.model import Manifest
    from .manifest.loading import manifest_from_text

    if isinstance(source, str) and source.lstrip()[:1] in ("{", "["):
        return manifest_from_text(source, source="<text>")  # JSON text (an array gets its not-an-object finding)
    if isinstance(source, Mapping):
        from .validation import validate_document

        findings = validate_document(source)
        if has_errors(findings):
            raise InvalidManifestError("<document>", findings)
        return Manifest.from_dict(source)
    path = Path(source)
    try:
        is_manifest_file = path.is_file() or (path / "seed.manifest.json").is_file()
    except OSError:  # a name too long for a path, say: not a file, so an image reference (or nothing)
        is_manifest_file = False
    if is_manifest_file:
        file = path if path.is_file() else path / "seed.manifest.json"
        with open(file, "rb") as fh:
            data = fh.read(MAX_DOCUMENT_BYTES + 1)
        return manifest_from_text(data, source=str(source))
    result = validate(source, engine=engine)
    if result.manifest is None:
        codes = {f.code: f.message for f in result.findings}
        if "source-not-found" in codes:
            raise SourceNotFoundError(codes["source-not-found"])
        if "engine-unavailable" in codes:  # the machine's problem, not the manifest's
            raise EngineUnavailableError(codes["engine-unavailable"])
        if "image-not-found" in codes:
            raise ImageNotFoundError(codes["image-not-found"])
        raise InvalidManifestError(result.source, result.findings)
    return result.manifest
