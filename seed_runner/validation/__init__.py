"""`seed validate` as a library: schema, semantic rules, the command check and, for images, rule 17."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable, Mapping

from ..errors import EngineUnavailableError, ImageNotFoundError
from ..problems import Finding, Severity, error, has_errors
from ..manifest.image import ImageInfo
from ..manifest.json_limits import printable, value_findings
from ..manifest.jsontext import MAX_DOCUMENT_BYTES, json_kind
from ..manifest.names import image_name
from ..manifest.sources import Source, read_file, read_regular_file, resolve
from .command_rules import command_findings
from .image_rules import image_document, image_name_findings
from .reports import name_bytes, utf8_text
from .rules import Document, rule_findings
from .schema_findings import schema_findings

if TYPE_CHECKING:  # pragma: no cover - imported where used: `seed validate`'s text output needs neither
    from ..manifest.model import Manifest

__all__ = ["ImageReader", "ValidationResult", "validate_document", "validate_image_info", "validate_mapping",
           "validate_sources"]


@dataclass(frozen=True)
class ValidationResult:
    """Everything `seed validate` found about one source."""

    source: str
    kind: str
    findings: tuple[Finding, ...]
    document: Any = field(default=None, repr=False, compare=False)
    """The parsed document (None when the source could not be read or parsed)."""
    file: str | None = field(default=None, compare=False)
    """The manifest file that was read (a directory's seed.manifest.json), None for images and documents;
    its findings carry their line and column in it."""

    @cached_property
    def manifest(self) -> "Manifest | None":
        """The typed manifest, when the document has no errors (built on first use)."""
        if self.document is None or not self.valid:
            return None
        from ..manifest.model import Manifest

        return Manifest.from_dict(self.document)

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity is Severity.ERROR]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.severity is Severity.WARNING]

    @property
    def valid(self) -> bool:
        return not has_errors(self.findings)

    def is_valid(self, *, strict: bool = False) -> bool:
        """``strict``: warnings count as errors (`seed validate --strict`)."""
        return not has_errors(self.findings, strict=strict)

    def to_dict(self, *, strict: bool = False) -> dict[str, Any]:
        """The result as `seed validate --json` has it. Every text is valid UTF-8: a name (or a message naming
        it) with bytes that are not UTF-8 shows each as U+FFFD, and ``sourceBytes`` / ``fileBytes`` then hold
        the name's own bytes, percent-encoded (``reports.name_bytes``)."""
        # The document's own members, as the typed manifest has them: building it only to read five costs more
        # than validating did.
        job = self.document["job"] if self.document is not None and self.valid else None
        data: dict[str, Any] = {
            "source": utf8_text(self.source),
            "kind": self.kind,
            "valid": self.is_valid(strict=strict),
            "errors": len(self.errors),
            "warnings": len(self.warnings),
            "job": None if job is None else {
                "name": job["name"], "jobVersion": job["jobVersion"], "packageVersion": job["packageVersion"],
                "title": job["title"], "image": image_name(job["name"], job["jobVersion"], job["packageVersion"])},
            "file": None if self.file is None else utf8_text(self.file),
            "findings": [{k: utf8_text(v) if isinstance(v, str) else v for k, v in f.to_dict().items()}
                         for f in self.findings],
        }
        for member, name in (("sourceBytes", self.source), ("fileBytes", self.file)):
            raw = name_bytes(name) if name is not None else None
            if raw is not None:
                data[member] = raw
        return data


def _ordered(findings: Iterable[Finding]) -> tuple[Finding, ...]:
    # Errors first, then by place in the document; stable within one path.
    return tuple(sorted(findings, key=lambda f: (f.severity is not Severity.ERROR, f.path)))


def validate_document(document: Any, *, image_env: Iterable[str] = ()) -> list[Finding]:
    """All findings for a parsed manifest document (schema, rules 1-16, command); never raises.

    A value no JSON reader can carry (a lone surrogate, a number past a 64-bit float, NaN, nesting deeper
    than MAX_NESTING, a Python object of no JSON type) is an error at its path, and nothing else is checked.
    """
    return value_findings(document) or _validate_parsed(document, image_env=image_env)


def _validate_parsed(document: Any, *, image_env: Iterable[str] = ()) -> list[Finding]:
    """``validate_document`` of a document that ``read_file`` read, which refused every value no JSON reader
    can carry already (a file is not walked twice)."""
    if not isinstance(document, dict):
        return [error("not-an-object", "$",
                      f"the manifest is {json_kind(document)}; a Seed manifest is a JSON object "
                      "{\"seedVersion\": \"1.0.0\", \"job\": {...}}")]
    doc = Document(document)
    return [*schema_findings(document), *rule_findings(doc), *command_findings(doc, image_env)]


def _result(source: Source, document: Any, findings: list[Finding]) -> ValidationResult:
    return ValidationResult(source.name, source.kind, _ordered(findings), document,
                            None if source.path is None else str(source.path))


ImageReader = Callable[[str], ImageInfo]
"""``reference -> ImageInfo``; raises ImageNotFoundError or EngineUnavailableError
(``seed_runner.engine.images.image_reader`` makes one for the local engine)."""


def _validate_source(source: Source, read_image: ImageReader | None, positions: bool = True) -> ValidationResult:
    """The result of one source, whatever its bytes: a failure of seed-runner itself is a finding of that
    source (``internal-error``), never the end of the call that checks the others."""
    try:
        return _checked_source(source, read_image, positions)
    except Exception as exc:  # noqa: BLE001 - the last resort that keeps one source from hiding the others
        return ValidationResult(source.name, source.kind, (error(
            "internal-error", "$", f"seed-runner failed while checking this source ({type(exc).__name__}: "
                                   f"{printable(str(exc))[:200]}); please report it with the file"),))


def _checked_source(source: Source, read_image: ImageReader | None, positions: bool) -> ValidationResult:
    if source.problem is not None:
        return ValidationResult(source.name, source.kind, (source.problem,))
    if source.kind == "image":
        return _validate_image(source, read_image)
    stamp = _stamp(source.path) if positions else None
    document, findings = read_file(source.path, source.name)
    if document is not None or not findings:
        findings += _validate_parsed(document)
    return _result(source, document, _placed(findings, source.path, stamp) if positions else findings)


def _stamp(path: str | Path) -> tuple[int, int, int] | None:
    try:
        info = os.stat(path)
    except OSError:
        return None
    return info.st_ino, info.st_size, info.st_mtime_ns


def _placed(findings: list[Finding], path: str | Path, stamp: tuple[int, int, int] | None) -> list[Finding]:
    """The findings with their line and column in the file. The file is read again only when there are
    findings to place (a valid manifest costs nothing), and its positions are used only when it is still the
    file that was validated (same inode, size and modification time)."""
    if stamp is None or all(f.line is not None or not f.path for f in findings):
        return findings
    try:
        data = read_regular_file(path)
    except OSError:
        return findings
    if len(data) > MAX_DOCUMENT_BYTES or _stamp(path) != stamp:
        return findings
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return findings
    from ..manifest.sourcemap import place_findings

    return place_findings(findings, text)


def _validate_image(source: Source, read_image: ImageReader | None) -> ValidationResult:
    if read_image is None:
        return ValidationResult(source.name, source.kind, (error(
            "engine-unavailable", "$", f"{source.name!r} is not a file or directory, and no engine was given to "
                                       "read it as an image; use seed_runner.validate, which reads images on the "
                                       "local engine"),))
    try:
        image = read_image(source.name)
    except ImageNotFoundError:
        return ValidationResult(source.name, source.kind, (error(
            "image-not-found", "$", f"no file, directory or local image named {source.name!r}; check the path, "
                                    "or build or pull the image first"),))
    except EngineUnavailableError as exc:
        return ValidationResult(source.name, source.kind, (error("engine-unavailable", "$", str(exc)),))
    return validate_image_info(image, kind=source.kind)


def validate_image_info(image: ImageInfo, *, kind: str = "image") -> ValidationResult:
    """Rule 17 and the embedded manifest of an image already inspected (pure: no engine)."""
    document, findings = image_document(image)
    if document is not None:
        findings += validate_document(document, image_env=image.env)
        findings += image_name_findings(image, document)
    return _result(Source(image.reference, kind), document, findings)


def validate_sources(sources: Iterable[str | Path], *, recursive: bool = False,
                     read_image: ImageReader | None = None, positions: bool = True) -> list[ValidationResult]:
    """Validate every source; a directory with ``recursive`` stands for every manifest below it.

    Image references are read with ``read_image``; without one they get an ``engine-unavailable`` finding.
    ``positions``: place each finding of a file at its line and column (False leaves ``line`` None and skips
    the work: `seed validate`'s text output shows no positions, and placing was most of its time on a manifest
    with findings). ``seed_runner.validate_all`` is this with a reader of the local engine.
    """
    return [_validate_source(source, read_image, positions)
            for text in sources for source in resolve(str(text), recursive=recursive)]


def validate_mapping(document: Mapping[str, Any]) -> ValidationResult:
    """Validate a parsed document (``seed_runner.validate`` of a mapping)."""
    return _result(Source("<document>", "document"), dict(document), validate_document(document))
