"""Validation results in the formats CI systems read natively: SARIF 2.1.0 and GitHub Actions workflow commands.

``seed validate --format sarif|github`` prints these; a pipeline written in Python calls them directly::

    results = seed_runner.validate_all(["jobs/"], recursive=True)
    Path("seed.sarif").write_text(json.dumps(sarif_log(results)))

Both place a finding at the line and column of the member it names in the manifest file (``Problem.line``);
file paths are relative to the working directory (``base``), as code-scanning uploads and annotations expect
them to be relative to the checkout. A finding of an image, or of a file that could not be read, has no line:
SARIF gives it no region (an image's findings have no file at all, only a logical location: code-scanning UIs,
which show alerts on files, leave those out), and a workflow command leaves out ``line``/``col`` (and ``file``
for an image, whose reference starts the message instead).
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Sequence
from urllib.parse import quote

from .. import __version__
from ..manifest.sourcemap import parse_json_path
from .codes import describe

if TYPE_CHECKING:  # pragma: no cover
    from ..problems import Problem
    from . import ValidationResult

__all__ = ["SARIF_SCHEMA", "github_commands", "name_bytes", "relative_path", "sarif_log", "utf8_text"]

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"

_SURROGATE = re.compile(r"[\ud800-\udfff]")

# Findings that say the check itself could not be done (not that the manifest is wrong): the run is then
# reported as not successful, so that a pipeline can tell an incomplete report from a clean one.
_CHECK_FAILED = ("engine-unavailable", "internal-error")


def relative_path(file: str | os.PathLike, base: str | os.PathLike | None = None) -> str:
    """``file`` relative to ``base`` (default: the working directory), with '/' separators."""
    relative = os.path.relpath(os.path.abspath(file), os.path.abspath(base or os.curdir))
    return Path(relative).as_posix()


def sarif_log(results: Sequence["ValidationResult"], *, base: str | os.PathLike | None = None) -> dict[str, Any]:
    """One SARIF 2.1.0 log with one run: seed-runner as the tool, a rule per code found, a result per finding."""
    codes = sorted({f.code for r in results for f in r.findings})
    index = {code: i for i, code in enumerate(codes)}
    return {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {"name": "seed-runner", "version": __version__, "semanticVersion": __version__,
                                "rules": [_rule(code) for code in codes]}},
            # Columns count characters, as Python's (and the JSON reader's) do; SARIF's default is UTF-16 units.
            "columnKind": "unicodeCodePoints",
            "invocations": [{"executionSuccessful": not any(
                f.code in _CHECK_FAILED for r in results for f in r.findings)}],
            "results": [_result(r, f, index[f.code], base) for r in results for f in r.findings],
        }],
    }


def _rule(code: str) -> dict[str, Any]:
    entry = describe(code)
    return {"id": code, "name": "".join(part.capitalize() for part in code.split("-")),
            "shortDescription": {"text": entry.description},
            "defaultConfiguration": {"level": entry.severity}}


def _result(result: "ValidationResult", finding: "Problem", rule_index: int, base: Any) -> dict[str, Any]:
    location: dict[str, Any] = {}
    message = finding.message
    if result.file is not None:
        # surrogateescape: a name's bytes that are not UTF-8 (os.listdir's surrogate escapes) are themselves
        # percent-encoded, as a URI holds them, instead of failing the whole log.
        uri = quote(relative_path(result.file, base), errors="surrogateescape")
        physical: dict[str, Any] = {"artifactLocation": {"uri": uri}}
        if finding.line is not None:
            physical["region"] = {"startLine": finding.line, "startColumn": finding.column or 1}
        location["physicalLocation"] = physical
    else:
        message = f"{result.source}: {message}"
    parts = parse_json_path(finding.path) if finding.path else None
    if parts is not None:  # SARIF's kinds for data: a member ("property"), an array element, the document
        kind = "value" if not parts else "element" if isinstance(parts[-1], int) else "property"
        location["logicalLocations"] = [{"fullyQualifiedName": finding.path, "kind": kind}]
    return {"ruleId": finding.code, "ruleIndex": rule_index, "level": finding.severity.value,
            "message": {"text": message}, "locations": [location]}


# ------------------------------------------------------------------------------ GitHub workflow commands


def github_commands(results: Iterable["ValidationResult"], *, base: str | os.PathLike | None = None) -> list[str]:
    """``::error file=F,line=L,col=C,title=CODE::PATH: message`` (``::warning`` for warnings), one a finding."""
    lines = []
    for result in results:
        for finding in result.findings:
            properties = []
            if result.file is not None:
                properties.append(("file", relative_path(result.file, base)))
                if finding.line is not None:
                    properties += [("line", str(finding.line)), ("col", str(finding.column or 1))]
            properties.append(("title", finding.code))
            where = "" if finding.path in (None, "$") else f"{finding.path}: "
            about = "" if result.file is not None else f"{result.source}: "
            lines.append(f"::{finding.severity.value} "
                         + ",".join(f"{name}={escape_property(value)}" for name, value in properties)
                         + f"::{escape_data(about + where + finding.message)}")
    return lines


def escape_data(text: str) -> str:
    """A workflow command's message: '%', CR and LF are escaped, as the Actions runner unescapes them; a lone
    surrogate (a file name's byte that is not UTF-8) becomes U+FFFD, for the runner reads UTF-8."""
    return utf8_text(text).replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """A workflow command's property value: as a message, and ':' and ',' too (they delimit properties)."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


# ------------------------------------------------------------------------------ names that are not UTF-8


def utf8_text(text: str) -> str:
    """``text`` as UTF-8 can carry it: each lone surrogate (a file name's byte that is not UTF-8, as os.listdir
    gives it back) becomes U+FFFD, so that a strict JSON reader or the Actions runner takes it."""
    return _SURROGATE.sub("\ufffd", text)


def name_bytes(name: str) -> str | None:
    """A file name that is not UTF-8 as its own bytes, percent-encoded as a URI path is (``bad-%FF/x.json``;
    ``urllib.parse.unquote_to_bytes`` gives the bytes back); None for a name UTF-8 can carry as it is."""
    if not _SURROGATE.search(name):
        return None
    return quote(name, safe="/", errors="surrogateescape")
