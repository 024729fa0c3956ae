"""The case format of `seed test`: ``tests/<case>/case.json`` beside the case's input files, read strictly.

A case holds the request (paths relative to the case's folder) and what to expect; its JSON Schema is
``schemas/seed-runner.test-case.schema.json`` (`seed schema test-case`). Whatever the bytes of a case file are,
``load_case`` returns a ``Case`` or raises a ``CaseError`` whose message is one line naming the file, the place
(line and column, else the JSON path) and the problem: a case that cannot be read is an error, never a pass.
Pure: it reads the case folder (the files it names must exist) but never runs anything.
"""

from __future__ import annotations

import os
import re
import threading
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Mapping

from ..errors import SeedRunnerError
from ..manifest.jsontext import json_excerpt, json_kind, parse_json_text
from ..manifest.sources import NotARegularFile, read_regular_file
from ..problems import json_path

__all__ = ["CASE_FILE", "Case", "CaseError", "CaseRequest", "Expectations", "discover", "load_case", "parse_case",
           "manifest_problems", "showable", "RUNNER_ERRORS"]

CASE_FILE = "case.json"
MAX_CASE_BYTES = 1024 * 1024  # a case is a few hundred bytes; a larger file is not one
_LOCK = threading.Lock()

RUNNER_ERRORS = ("algorithm-unknown", "out-of-memory", "missing-required-output", "unexpected-multiple-outputs",
                 "invalid-outputs-json", "invalid-metadata")
"""The error names seed-runner itself gives a failed run (besides the manifest's declared ones)."""


class CaseError(SeedRunnerError):
    """A case that cannot be read or run as written; the message is one line: file, place, problem."""


@dataclass(frozen=True)
class CaseRequest:
    inputs: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    """File inputs by name, as written (relative to the case's folder)."""
    json: Mapping[str, Any] = field(default_factory=dict)
    settings: Mapping[str, str | Mapping[str, str]] = field(default_factory=dict)
    """A value, or ``{"env": VARIABLE}`` (read when the case runs)."""
    mounts: Mapping[str, str | None] = field(default_factory=dict)
    """A folder relative to the case's folder, or None for a new empty folder."""
    resources: Mapping[str, float] = field(default_factory=dict)
    timeout: float | None = None


@dataclass(frozen=True)
class Expectations:
    status: str = "succeeded"
    exit_code: int | None = None
    error: str | None = None
    max_seconds: float | None = None
    outputs: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    json_outputs: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    stdout: Mapping[str, Any] | None = None
    stderr: Mapping[str, Any] | None = None

    def describe(self) -> str:
        """What the table shows as expected: ``succeeded``, ``failed no-data (exit 3)``, ``timed-out``."""
        words = [self.status]
        if self.error:
            words.append(self.error)
        if self.exit_code is not None and (self.exit_code != 0 or self.status != "succeeded"):
            words.append(f"(exit {self.exit_code})")
        return " ".join(words)


@dataclass(frozen=True)
class Case:
    name: str
    file: Path
    description: str | None = None
    skip: str | None = None
    request: CaseRequest = field(default_factory=CaseRequest)
    expect: Expectations = field(default_factory=Expectations)

    @property
    def folder(self) -> Path:
        return self.file.parent

    def path(self, relative: str) -> Path:
        return self.folder / relative


def discover(cases_dir: str | Path) -> list[Path]:
    """The case files of a folder: ``<dir>/<case>/case.json`` for each case folder (hidden folders and folders
    without a case.json are left out, so that shared data can sit beside the cases), sorted by name; a folder
    that holds a case.json itself is that one case."""
    folder = Path(cases_dir)
    if (folder / CASE_FILE).is_file():
        return [folder / CASE_FILE]
    found = [child / CASE_FILE for child in folder.iterdir()
             if not child.name.startswith(".") and child.is_dir() and (child / CASE_FILE).exists()]
    return sorted(found, key=lambda path: path.parent.name)


_UNSHOWABLE = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff]")


def showable(text: str) -> str:
    """``text`` as a table, a JSON document and JUnit can all carry it: control characters (a newline, a
    terminal's escape sequence) and the bytes of a file name that were not UTF-8 (Python's surrogate escapes)
    become U+FFFD."""
    return _UNSHOWABLE.sub("\ufffd", text)


def load_case(file: str | Path, name: str | None = None) -> Case:
    """Read and check one case file; its name is its folder's unless given. Raises CaseError (one line)."""
    file = Path(file)
    try:  # never a plain open(): a FIFO named case.json would block it for good
        data = read_regular_file(file, MAX_CASE_BYTES)
    except NotARegularFile:
        raise CaseError(f"{file}: not a regular file (a FIFO, a device or a folder); a case is a JSON file") from None
    except OSError as exc:
        raise CaseError(f"{file}: cannot read the case ({exc.strerror}); check the file") from None
    if len(data) > MAX_CASE_BYTES:
        raise CaseError(f"{file}: the case is over {MAX_CASE_BYTES // 1024} KiB, too large for a case file; "
                        "keep data in files beside it")
    return parse_case(data, file=file, name=name)


def parse_case(data: bytes | str, *, file: Path, name: str | None = None) -> Case:
    """A case from the bytes of ``file`` (whose folder the paths are relative to). Raises CaseError."""
    document, findings = parse_json_text(data, what=CASE_FILE, refuse_huge_numbers=True)
    errors = [f for f in findings if f.is_error]
    if document is None or errors:
        first = errors[0] if errors else None
        where = "" if first is None or first.path in (None, "$") else f"{first.path}: "
        raise CaseError(f"{file}: {where}{first.message if first else 'not a JSON document'}")
    if findings:  # a duplicated member: the reader kept the last one, which a test must not guess about
        raise CaseError(f"{file}: {findings[0].path}: {findings[0].message}")
    problem = _schema_problem(document)
    case = None
    if problem is None:
        case = _typed(document, file, name or file.parent.name)
        problem = _case_problem(case)
    if problem is not None:
        parts, message = problem
        raise CaseError(f"{_place(file, data, parts)}: {json_path(parts)}: {message}")
    assert case is not None
    return case


def _place(file: Path, data: bytes | str, parts: tuple[str | int, ...]) -> str:
    """``file:line:column`` of the member a problem is about (its key), else ``file``."""
    from ..manifest.sourcemap import SourceMapError, locate

    text = data.decode("utf-8-sig") if isinstance(data, bytes) else data.removeprefix("\ufeff")
    try:
        position = locate(text, [parts]).get(parts)
    except (SourceMapError, RecursionError):
        position = None
    return f"{file}:{position.line}:{position.column}" if position else str(file)


# -- the schema ------------------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _validator() -> Any:
    import jsonschema

    from ..manifest.schemas import load_schema

    schema = load_schema("test-case")
    return jsonschema.Draft202012Validator(schema)


def _schema_problem(document: Any) -> tuple[tuple[str | int, ...], str] | None:
    """The most relevant schema error as (its path's parts, one-line message), or None."""
    with _LOCK:  # python-jsonschema's validators are built (and its modules imported) once, in one thread
        from jsonschema.exceptions import best_match

        validator = _validator()
    error = best_match(validator.iter_errors(document))
    if error is None:
        return None
    return tuple(error.absolute_path), _schema_message(error)


def _schema_message(error: Any) -> str:
    keyword, instance, schema = error.validator, error.instance, error.schema
    if keyword in ("additionalProperties", "unevaluatedProperties") and isinstance(instance, dict):
        known = sorted(_known_members(schema))
        unknown = sorted(set(instance) - set(known))
        shown = ", ".join(repr(key) for key in unknown[:3])
        return (f"unknown member {shown}" + (f"; known here: {', '.join(known)}" if known else "")
                + " (see `seed schema test-case`)")
    if keyword == "required":
        missing = [key for key in error.validator_value if key not in instance]
        return f"missing member {missing[0]!r}" if missing else error.message
    if keyword == "type":
        return f"expected {_kinds(error.validator_value)}, got {json_kind(instance)} {json_excerpt(instance)}"
    if keyword == "enum":
        return f"{json_excerpt(instance)} is not one of {', '.join(json_excerpt(c) for c in error.validator_value)}"
    if keyword == "const":
        return f"must be {json_excerpt(error.validator_value)}, not {json_excerpt(instance)}"
    if keyword == "oneOf":
        return f"{json_kind(instance)} {json_excerpt(instance)} is not {_one_of(schema)}"
    if keyword == "pattern" and error.validator_value.endswith("{64}$"):
        return f"{json_excerpt(instance)} is not a SHA-256 (64 hexadecimal digits)"
    return error.message if len(error.message) <= 200 else error.message[:197] + "..."


def _known_members(schema: Mapping[str, Any]) -> set[str]:
    names = set(schema.get("properties", {}))
    if "$ref" in schema:  # `output` and `log` take text_checks' members by reference
        names |= set(_validator().schema["$defs"]["text_checks"]["properties"])
    return names


def _kinds(value: Any) -> str:
    names = {"object": "an object", "array": "an array", "string": "a string", "number": "a number",
             "integer": "an integer", "boolean": "a boolean", "null": "null"}
    values = value if isinstance(value, list) else [value]
    return " or ".join(names.get(v, v) for v in values)


def _one_of(schema: Mapping[str, Any]) -> str:
    """How the alternatives of a oneOf read: 'a string or an array of strings', '{"equals": ...} or ...'."""
    parts = []
    for alternative in schema.get("oneOf", []):
        if "required" in alternative:
            parts.append("{" + f'"{alternative["required"][0]}": ...' + "}")
        elif alternative.get("type") == "array" or "$ref" in alternative:
            parts.append("an array of paths" if alternative.get("type") == "array" else "a string")
        else:
            parts.append(_kinds(alternative.get("type", "value")))
    return " or ".join(parts) or "valid here"


# -- typed, and the checks a schema cannot make ----------------------------------------------------------


def _typed(document: dict[str, Any], file: Path, name: str) -> Case:
    request = document.get("request", {})
    expect = document.get("expect", {})
    inputs = {key: (value,) if isinstance(value, str) else tuple(value)
              for key, value in request.get("inputs", {}).items()}
    mounts = {key: value if isinstance(value, str) else None for key, value in request.get("mounts", {}).items()}
    exit_code = expect.get("exit_code")
    default_status = "failed" if expect.get("error") or (exit_code is not None and exit_code != 0) else "succeeded"
    outputs = {key: _lower_hashes(value) for key, value in expect.get("outputs", {}).items()}
    expectations = Expectations(
        status=expect.get("status", default_status), exit_code=exit_code, error=expect.get("error"),
        max_seconds=expect.get("max_seconds"), outputs=outputs, json_outputs=expect.get("json_outputs", {}),
        stdout=expect.get("stdout"), stderr=expect.get("stderr"))
    return Case(name=name, file=file, description=document.get("description"), skip=document.get("skip"),
                request=CaseRequest(inputs=inputs, json=request.get("json", {}), settings=request.get("settings", {}),
                                    mounts=mounts, resources=request.get("resources", {}),
                                    timeout=request.get("timeout")),
                expect=expectations)


def _lower_hashes(checks: Mapping[str, Any]) -> dict[str, Any]:
    checks = dict(checks)
    sha = checks.get("sha256")
    if isinstance(sha, str):
        checks["sha256"] = sha.lower()
    elif isinstance(sha, dict):
        checks["sha256"] = {path: value.lower() for path, value in sha.items()}
    return checks


def _case_problem(case: Case) -> tuple[tuple[str | int, ...], str] | None:
    """What the schema cannot say: contradictions, regular expressions, and the files the request names; as
    (the path's parts, one-line message)."""
    expect = case.expect
    if expect.status != "failed" and expect.error:
        return ("expect", "error"), f"an error ({expect.error!r}) with status {expect.status!r}; a run with an " \
                                    "error failed"
    if expect.status == "succeeded" and expect.exit_code not in (None, 0):
        return ("expect", "exit_code"), f"exit code {expect.exit_code} with status 'succeeded'; a success exits 0"
    checked = [(("expect", "outputs", name), checks) for name, checks in expect.outputs.items()]
    checked += [(("expect", log), checks) for log, checks in (("stdout", expect.stdout), ("stderr", expect.stderr))
                if checks]
    for where, checks in checked:
        for key in ("matches", "not_matches"):
            for index, pattern in enumerate(checks.get(key, ())):
                from .regexes import PatternError, PatternTimeout, compile_pattern, search

                try:
                    compiled = compile_pattern(pattern)
                    empty = search(compiled, "", seconds=1.0)
                except (PatternError, OverflowError, RecursionError, ValueError) as exc:
                    return (*where, key, index), f"{json_excerpt(pattern)} is not a valid regular expression ({exc})"
                except PatternTimeout:
                    return (*where, key, index), f"{json_excerpt(pattern)} takes over 1 s against the empty text"
                if empty is not None:  # found in any text at all: it would check nothing
                    verdict = "passes" if key == "matches" else "fails"
                    return (*where, key, index), (f"{json_excerpt(pattern)} matches the empty text, so it {verdict} "
                                                  "on any text; make it need a character (x+, not x*)")
    for name, paths in case.request.inputs.items():
        for index, relative in enumerate(paths):
            if (problem := _path_problem(case, relative, folder=False)) is not None:
                return ("request", "inputs", name) + ((index,) if len(paths) > 1 else ()), problem
    for name, relative in case.request.mounts.items():
        if relative is not None and (problem := _path_problem(case, relative, folder=True)) is not None:
            return ("request", "mounts", name), problem
    return None


def _path_problem(case: Case, relative: str, *, folder: bool) -> str | None:
    if "\0" in relative:
        return "a path holds a NUL byte, which no path can"
    if os.path.isabs(relative):
        return f"{relative!r} is absolute; give a path relative to the case's folder {case.folder}"
    path = case.path(relative)
    try:
        exists = path.exists()
    except (OSError, ValueError):
        exists = False
    if not exists:
        return f"{relative} does not exist in the case's folder {case.folder}; add it, or fix the path"
    if folder and not path.is_dir():
        return f"{relative} is not a folder; a mount is a folder"
    return None


def manifest_problems(case: Case, manifest: Any) -> list[str]:
    """Expectations that name what the manifest does not declare (a typo would only ever fail): outputs, JSON
    outputs, error names. Each a one-line message with its JSON path."""
    face = manifest.job.interface
    problems = []
    declared = {output.name for output in face.file_outputs}
    for name in case.expect.outputs:
        if name not in declared:
            problems.append(f"{json_path(('expect', 'outputs', name))}: the manifest declares no file output "
                            f"{name!r} (declared: {', '.join(sorted(declared)) or 'none'})")
    declared_json = {output.name for output in face.json_outputs}
    for name in case.expect.json_outputs:
        if name not in declared_json:
            problems.append(f"{json_path(('expect', 'json_outputs', name))}: the manifest declares no JSON output "
                            f"{name!r} (declared: {', '.join(sorted(declared_json)) or 'none'})")
    errors = {error.name for error in manifest.job.errors}
    if case.expect.error and case.expect.error not in errors | set(RUNNER_ERRORS):
        problems.append(f"$.expect.error: the manifest declares no error {case.expect.error!r} (declared: "
                        f"{', '.join(sorted(errors)) or 'none'}; seed-runner's: {', '.join(RUNNER_ERRORS)})")
    return problems
