"""Findings: what validation says about a manifest, one problem per finding.

A finding is plain data (severity, stable code, JSON path, one-line message) so that it
serialises to ``--json`` unchanged and a scheduler can act on the ``code``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from enum import Enum
from typing import Iterable, Sequence


class Severity(str, Enum):
    ERROR = "error"
    WARNING = "warning"

    def __str__(self) -> str:  # "error", not "Severity.ERROR", in messages
        return self.value


@dataclass(frozen=True, slots=True)
class Finding:
    """One problem: ``path`` is a JSON path into the manifest (``$.job.interface.inputs.files[1].name``),
    or ``$`` for the document as a whole; ``message`` says what is wrong and how to fix it."""

    severity: Severity
    code: str
    path: str
    message: str

    def to_dict(self) -> dict[str, str]:
        data = asdict(self)
        data["severity"] = self.severity.value
        return data


def error(code: str, path: str, message: str) -> Finding:
    return Finding(Severity.ERROR, code, path, message)


def warning(code: str, path: str, message: str) -> Finding:
    return Finding(Severity.WARNING, code, path, message)


def has_errors(findings: Iterable[Finding], *, strict: bool = False) -> bool:
    """True when the findings make a manifest invalid (``strict``: warnings count as errors)."""
    return any(f.severity is Severity.ERROR or strict for f in findings)


def json_path(parts: Sequence[str | int]) -> str:
    """``("job", "errors", 0, "code")`` -> ``$.job.errors[0].code``; odd keys are bracket-quoted."""
    out = ["$"]
    for part in parts:
        if isinstance(part, int):
            out.append(f"[{part}]")
        elif part.isidentifier():
            out.append(f".{part}")
        else:
            out.append("[" + _quote(part) + "]")
    return "".join(out)


def _quote(key: str) -> str:
    return "'" + key.replace("\\", "\\\\").replace("'", "\\'") + "'"
