"""One problem type for every layer: what validation finds in a manifest, why a plan refuses a request, what
output capture warns about or fails on, and what the result document lists.

A problem is plain data (severity, stable code, path, one-line message) so that it serialises unchanged to
``--json`` and result documents, a scheduler can act on its ``code`` whichever layer produced it, and the CLI
renders every kind with one function (``seed_runner.cli.render.problem_line``).

``path`` says where: a JSON path into the manifest (``$.job.interface.inputs.files[1].name``) for validation;
a JSON path into the run request (``$.file_inputs.INPUT_FILE``) for a refused plan; a file path relative to
the output folder for harvest problems; ``None`` for a problem with no single place. ``line`` and ``column``
(from 1) say where ``path`` is in the manifest file, when the problem came from one (``seed validate`` of a file,
``seed_runner.manifest.sourcemap``); they are left out of ``to_dict`` when unknown, so documents that never
carry them read as they always did.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from enum import Enum
from typing import Any, Iterable, Sequence


class Severity(str, Enum):
    """How bad a problem is: an ``error`` makes a manifest invalid (or a run fail); a ``warning`` does not
    (``seed validate --strict`` counts warnings as errors)."""

    ERROR = "error"
    WARNING = "warning"

    def __str__(self) -> str:  # "error", not "Severity.ERROR", in messages
        return self.value


@dataclass(frozen=True, slots=True)
class Problem:
    """One problem: ``message`` says what is wrong and how to fix it, in one line."""

    severity: Severity
    code: str
    path: str | None
    message: str
    # Where in the file, not what: two problems that differ only in position are the same problem.
    line: int | None = field(default=None, compare=False)
    column: int | None = field(default=None, compare=False)

    @property
    def is_error(self) -> bool:
        return self.severity is Severity.ERROR

    def at(self, line: int | None, column: int | None) -> "Problem":
        """This problem placed at ``line`` and ``column`` of its file."""
        return replace(self, line=line, column=column)

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"severity": self.severity.value, "code": self.code, "path": self.path,
                                "message": self.message}
        if self.line is not None:
            data["line"] = self.line
            data["column"] = self.column
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Problem":
        return cls(Severity(data.get("severity", "error")), str(data["code"]), data.get("path"), str(data["message"]),
                   data.get("line"), data.get("column"))


Finding = Problem
"""The name validation has always used for a problem (kept: ``seed_runner.Finding`` is public API)."""


def error(code: str, path: str | None, message: str) -> Problem:
    return Problem(Severity.ERROR, code, path, message)


def warning(code: str, path: str | None, message: str) -> Problem:
    return Problem(Severity.WARNING, code, path, message)


def has_errors(problems: Iterable[Problem], *, strict: bool = False) -> bool:
    """True when the problems make a thing invalid (``strict``: warnings count as errors)."""
    return any(p.severity is Severity.ERROR or strict for p in problems)


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


# What breaks a line or a terminal: C0 and C1 controls (a newline, ESC, NEL), the Unicode line and paragraph
# separators, the bidirectional overrides and isolates (they reorder what follows them on the line, so a name
# could show as another), and lone surrogates (a file name's bytes that are not UTF-8, as os.listdir gives them).
_NOT_ONE_LINE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]")
_SHORT = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def one_line(text: str) -> str:
    """``text`` shown on one line, readable back: unchanged when it holds nothing that breaks a line; else with
    Python's escapes for those characters (``\\n``, ``\\x1b``, ``\\u2028``; a byte that is not UTF-8 as
    ``\\xff``, the byte itself, as ``repr`` of bytes shows it) and ``\\\\`` for each backslash, so that an escape
    and a backslash of the text itself can be told apart."""
    if not _NOT_ONE_LINE.search(text):
        return text
    return _NOT_ONE_LINE.sub(_escape, text.replace("\\", "\\\\"))


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    code = ord(char)
    if char in _SHORT:
        return _SHORT[char]
    if 0xDC80 <= code <= 0xDCFF:  # surrogateescape's stand-in for the byte code - 0xDC00
        return f"\\x{code - 0xDC00:02x}"
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"
