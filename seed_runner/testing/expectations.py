"""A run compared with a case's expectations: every difference as a ``Mismatch`` (where, one-line message).

The run is its result document (``result.json``: status, error, exit code, timings, captured outputs with
hashes and side-cars, JSON outputs) plus the files of its run folder (output contents, ``logs/``). Pure: it
reads the run folder, never the engine. A status that differs is the only mismatch reported (the outputs of a
run that failed instead of succeeding say nothing more); everything else is checked and reported together.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Mapping

from ..manifest.jsontext import json_excerpt
from ..outputs.patterns import pattern_matches
from .cases import Expectations
from .regexes import MATCH_SECONDS, PatternTimeout, compile_pattern, search

__all__ = ["Mismatch", "compare", "got_summary", "json_difference"]

MAX_CHECKED_BYTES = 64 * 1024 * 1024
"""Content checks read at most this much of a file or log (a larger one is a mismatch, never a silent pass)."""
DEFAULT_BBOX_TOLERANCE = 1e-6
CASE_MATCH_SECONDS = 2 * MATCH_SECONDS
"""What the regular expressions of one case may take in all (so that Ctrl-C waits for no more than this)."""


@dataclass(frozen=True)
class Mismatch:
    where: str
    """What was compared: ``status``, ``error``, ``outputs.SUMMARY``, ``json_outputs.LABEL``, ``stdout``, ..."""
    message: str

    def line(self) -> str:
        return f"{self.where}: {self.message}"

    def to_dict(self) -> dict[str, str]:
        return {"where": self.where, "message": self.message}


def got_summary(document: Mapping[str, Any]) -> str:
    """How the table shows a run: ``succeeded``, ``failed no-data (exit 3)``, ``rejected invalid-request``."""
    words = [str(document.get("status"))]
    error = document.get("error") or {}
    if error.get("name") and (error["name"], words[0]) != ("timeout", "timed-out"):  # said once is enough
        words.append(str(error["name"]))
    exit_code = document.get("exit_code")
    if exit_code is not None and (exit_code != 0 or document.get("status") != "succeeded"):
        words.append(f"(exit {exit_code})")
    return " ".join(words)


def compare(expect: Expectations, document: Mapping[str, Any], *, seconds: float | None = None) -> list[Mismatch]:
    """Every way the run of ``document`` differs from ``expect``; [] when it is what the case expects.

    ``seconds``: the wall time of the run, used for ``max_seconds`` when the document has no run time.
    """
    if document.get("status") != expect.status:
        why = f": {_clip(document['message'], 160)}" if document.get("message") else ""
        return [Mismatch("status", f"expected {expect.describe()}, got {got_summary(document)}{why}")]
    found: list[Mismatch] = []
    deadline = time.monotonic() + CASE_MATCH_SECONDS
    error = (document.get("error") or {}).get("name")
    if expect.error is not None and error != expect.error:
        found.append(Mismatch("error", f"expected the error {expect.error}, got {error or 'none'}"))
    if expect.exit_code is not None and document.get("exit_code") != expect.exit_code:
        found.append(Mismatch("exit_code", f"expected {expect.exit_code}, got {document.get('exit_code')}"))
    if expect.max_seconds is not None:
        took = (document.get("timings") or {}).get("duration_seconds")
        took = seconds if took is None else took
        if took is not None and took > expect.max_seconds:
            found.append(Mismatch("max_seconds", f"the job ran {took:.2f} s, over {expect.max_seconds:g} s"))
    outputs_dir = Path(document["outputs_dir"]) if document.get("outputs_dir") else None
    for name, checks in expect.outputs.items():
        captured = ((document.get("outputs") or {}).get(name) or {}).get("files")
        where = f"outputs.{name}"
        if captured is None:
            found.append(Mismatch(where, "the result has no such output (is it declared in the manifest?)"))
            continue
        found += (Mismatch(where, message) for message in _output_mismatches(checks, captured, outputs_dir,
                                                                                    deadline))
    values = document.get("json_outputs") or {}
    for name, checks in expect.json_outputs.items():
        if (message := _json_output_mismatch(checks, name in values, values.get(name))) is not None:
            found.append(Mismatch(f"json_outputs.{name}", message))
    run_dir = Path(document["run_dir"]) if document.get("run_dir") else None
    for log, checks in (("stdout", expect.stdout), ("stderr", expect.stderr)):
        if checks:
            data, problem = _read(run_dir / "logs" / f"{log}.log" if run_dir else None, None)
            messages = [problem] if problem else _text_mismatches(checks, data, deadline)
            found += (Mismatch(log, message) for message in messages)
    return found


# -- file outputs ------------------------------------------------------------------------------------------


def _output_mismatches(checks: Mapping[str, Any], files: list[Mapping[str, Any]],
                       outputs_dir: Path | None, deadline: float) -> Iterator[str]:
    paths = sorted(str(f["path"]) for f in files)
    shown = ", ".join(paths) or "none"
    if "count" in checks and len(files) != checks["count"]:
        yield f"expected {_files(checks['count'])}, got {len(files)} ({shown})"
    every = [key for key in _EVERY_FILE if key in checks]
    if isinstance(checks.get("sha256"), dict):  # a hash by path names its file: "not captured" below
        every.remove("sha256")
    if not files and every and checks.get("count", 0) == 0:  # else the count said it; never a vacuous pass
        yield (f"captured no file, so there is no file to check its {', '.join(every)}; expect \"count\": 0 "
               "alone if no file is right")
    if "names" in checks and paths != sorted(checks["names"]):
        yield f"expected the files {', '.join(sorted(checks['names'])) or 'none'}, got {shown}"
    if "glob" in checks:
        for path in paths:
            if not pattern_matches(checks["glob"], path):
                yield f"{path} does not match {checks['glob']!r}"
    if "media_type" in checks:
        for file in files:
            if file.get("media_type") != checks["media_type"]:
                yield f"{file['path']}: media type {file.get('media_type')}, expected {checks['media_type']}"
    sha = checks.get("sha256")
    if isinstance(sha, str):
        for file in files:
            if file.get("sha256") != sha:
                yield f"{file['path']}: sha256 {file.get('sha256')}, expected {sha}"
    elif isinstance(sha, dict):
        by_path = {str(f["path"]): f.get("sha256") for f in files}
        for path, expected in sha.items():
            if path not in by_path:
                yield f"{path}: not captured, so its sha256 cannot be {expected[:12]}..."
            elif by_path[path] != expected:
                yield f"{path}: sha256 {by_path[path]}, expected {expected}"
    if any(key in checks for key in _TEXT_CHECKS):
        for file in files:
            data, problem = _read(outputs_dir / str(file["path"]) if outputs_dir else None, outputs_dir)
            messages = [problem] if problem else _text_mismatches(checks, data, deadline)
            yield from (f"{file['path']}: {message}" for message in messages)
    if "geometry" in checks:
        for file in files:
            if (message := _geometry_mismatch(checks["geometry"], file)) is not None:
                yield f"{file['path']}: {message}"


_EVERY_FILE = ("glob", "media_type", "sha256", "contains", "matches", "geometry")
"""Checks that each captured file must pass (``sha256`` as one hash): with no file captured they would hold of
nothing, so an output that captured none fails them. (A hash by path names its file; not_* hold of no file.)"""


def _files(count: int) -> str:
    return f"{count} file{'s' * (count != 1)}"


def _geometry_mismatch(expected: Mapping[str, Any], file: Mapping[str, Any]) -> str | None:
    metadata = file.get("metadata")
    if metadata is None:
        side_car = file.get("metadata_path") or f"{file['path']}.metadata.json"
        state = "is not valid (see the run's warnings)" if file.get("metadata_path") else "is missing"
        return f"its side-car {side_car} {state}"
    geometry = metadata.get("geometry") or {}
    if "type" in expected and geometry.get("type") != expected["type"]:
        return f"side-car geometry {geometry.get('type') or 'none'}, expected {expected['type']}"
    if "bbox" in expected:
        bbox = metadata.get("bbox")
        tolerance = expected.get("tolerance", DEFAULT_BBOX_TOLERANCE)
        if bbox is None or any(abs(a - b) > tolerance for a, b in zip(bbox, expected["bbox"])):
            return (f"side-car bbox {json_excerpt(bbox)}, expected {json_excerpt(expected['bbox'])} "
                    f"(tolerance {tolerance:g})")
    return None


# -- contents and logs -----------------------------------------------------------------------------------

_TEXT_CHECKS = ("contains", "not_contains", "matches", "not_matches")


def _read(path: Path | None, inside: Path | None) -> tuple[bytes, str | None]:
    """The bytes of a file the run wrote, or why they cannot be checked. A symbolic link is followed only to
    a file inside ``inside`` (the output folder): a job's link never makes a test read the host's files."""
    if path is None:
        return b"", "the run has no folder to read it from"
    try:
        real = path.resolve(strict=True)
        if inside is not None and not real.is_relative_to(inside.resolve()):
            return b"", "is a link out of the output folder; its content is not checked"
        if real.stat().st_size > MAX_CHECKED_BYTES:
            return b"", f"is over {MAX_CHECKED_BYTES >> 20} MiB, too large to check its content"
        with open(real, "rb") as handle:
            return handle.read(MAX_CHECKED_BYTES + 1), None
    except (OSError, RuntimeError) as exc:  # RuntimeError: a link loop
        return b"", f"cannot be read ({getattr(exc, 'strerror', None) or exc})"


def _text_mismatches(checks: Mapping[str, Any], data: bytes, deadline: float) -> list[str]:
    """The text checks that fail; the regular expressions share the case's time (``deadline``), each at most
    ``MATCH_SECONDS``."""
    found = []
    for needle in checks.get("contains", ()):
        if needle.encode("utf-8", "surrogatepass") not in data:
            found.append(f"does not contain {json_excerpt(needle)}")
    for needle in checks.get("not_contains", ()):
        if needle.encode("utf-8", "surrogatepass") in data:
            found.append(f"contains {json_excerpt(needle)}")
    if checks.get("matches") or checks.get("not_matches"):
        text = data.decode("utf-8", "replace")
        for key in ("matches", "not_matches"):
            for pattern in checks.get(key, ()):
                left = min(MATCH_SECONDS, deadline - time.monotonic())
                if left <= 0:
                    found.append(f"/{_clip(pattern, 60)}/ was not checked: the case's {CASE_MATCH_SECONDS:g} s for "
                                 "regular expressions ran out; simplify its patterns")
                    continue
                try:
                    match = search(compile_pattern(pattern), text, left)
                except PatternTimeout as exc:  # never a pass: the check could not be made
                    found.append(f"/{_clip(pattern, 60)}/ {exc} against {len(text)} characters and was stopped; "
                                 "simplify it (nested repeats such as (a+)+ backtrack without end)")
                    continue
                if key == "matches" and match is None:
                    found.append(f"nothing matches /{_clip(pattern, 60)}/")
                elif key == "not_matches" and match is not None:
                    found.append(f"/{_clip(pattern, 60)}/ matches {json_excerpt(match.group(0))}")
    return found


def _clip(text: str, width: int) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= width else text[: width - 3] + "..."


# -- JSON outputs ----------------------------------------------------------------------------------------


def _json_output_mismatch(checks: Mapping[str, Any], present: bool, value: Any) -> str | None:
    if checks.get("absent"):
        return f"expected no value, got {json_excerpt(value)}" if present else None
    if not present:
        return "no value (seed.outputs.json has none, or not of its type)"
    subset = "subset" in checks
    expected = checks["subset"] if subset else checks["equals"]
    return json_difference(expected, value, subset=subset, tolerance=checks.get("tolerance", 0))


def json_difference(expected: Any, got: Any, *, subset: bool = False, tolerance: float = 0.0,
                    where: str = "") -> str | None:
    """Why ``got`` is not ``expected`` (JSON values), or None. ``subset``: an object needs only the expected
    members (recursively); arrays and scalars must be equal. Numbers are equal within ``tolerance``; a boolean
    is never a number; 1 and 1.0 are the same JSON number."""
    at = f" at {where}" if where else ""
    if isinstance(expected, dict) and isinstance(got, dict):
        missing = [key for key in expected if key not in got]
        if missing:
            return f"no member {missing[0]!r}{at}"
        if not subset and set(got) != set(expected):
            extra = sorted(set(got) - set(expected))
            return f"unexpected member {extra[0]!r}{at} (use \"subset\" to allow others)"
        for key, value in expected.items():
            if (difference := json_difference(value, got[key], subset=subset, tolerance=tolerance,
                                              where=f"{where}.{key}")) is not None:
                return difference
        return None
    if isinstance(expected, list) and isinstance(got, list):
        if len(expected) != len(got):
            return f"expected {len(expected)} items{at}, got {len(got)}"
        for index, (want, have) in enumerate(zip(expected, got)):
            if (difference := json_difference(want, have, subset=subset, tolerance=tolerance,
                                              where=f"{where}[{index}]")) is not None:
                return difference
        return None
    if _is_number(expected) and _is_number(got):
        if got == expected or (math.isfinite(got) and abs(got - expected) <= tolerance):
            return None
    elif type(expected) is type(got) and expected == got:  # noqa: E721 - True is not 1 here
        return None
    return f"expected {json_excerpt(expected)}{at}, got {json_excerpt(got)}"


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)
