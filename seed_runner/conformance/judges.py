"""The host's judges: the tests decided from a probe run's result document (pure: a document in, a verdict out).

What they read of the document (the part of the result document an executor must give,
docs/reference/result.md): ``status``, ``exit_code``, ``error`` (``name``, ``title``, ``category``), ``timed_out``,
``oom_killed``, ``timings.duration_seconds``, ``outputs`` (``{NAME: {files: [{path, size, sha256, media_type,
metadata_path, metadata}]}}``), ``json_outputs``, ``warnings`` and ``capture_failures``. The contents they expect
are the probes' (``probes/outputs/probe.sh`` and the others); keep the two in step.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, Callable, Mapping

from .recipes import SECRET

Verdict = tuple[bool, str]
Document = Mapping[str, Any]

TIMEOUT_SECONDS = 2
GRACE_SECONDS = 1.0
TIMEOUT_SLACK = 20.0
"""How long past timeout + grace a run may take to be called stopped (container start and removal)."""


def _error(document: Document) -> Mapping[str, Any]:
    error = document.get("error")
    return error if isinstance(error, Mapping) else {}


def run_summary(document: Document) -> str:
    """How a run ended, in a few words: ``failed (bad-data): exit code 3``."""
    name = f" ({_error(document).get('name')})" if _error(document).get("name") else ""
    message = f": {document['message']}" if document.get("message") else ""
    return f"{document.get('status')}{name}{message}"


def _files(document: Document, output: str) -> list[str]:
    """The paths captured for ``output`` (relative to OUTPUT_DIR), in the document's order."""
    record = (document.get("outputs") or {}).get(output) or {}
    return [str(f.get("path")) for f in record.get("files") or [] if isinstance(f, Mapping)]


def _file(document: Document, output: str, path: str) -> Mapping[str, Any] | None:
    record = (document.get("outputs") or {}).get(output) or {}
    return next((f for f in record.get("files") or [] if isinstance(f, Mapping) and f.get("path") == path), None)


def _check(ok: bool, failure: str) -> Verdict:
    return (True, "") if ok else (False, failure)


# -- the env probe ----------------------------------------------------------------------------------------------

def secret_masked(document: Document) -> Verdict:
    text = json.dumps(document)
    forms = {SECRET, json.dumps(SECRET)[1:-1], SECRET.replace(" ", "\\u0020")}
    leaked = any(form in text for form in forms)
    return _check(not leaked, "the value of the secret setting DB_PASS is in the result document")


# -- limits and the timeout -------------------------------------------------------------------------------------

def out_of_memory(document: Document) -> Verdict:
    error = _error(document)
    return _check(document.get("status") == "failed" and error.get("name") == "out-of-memory"
                  and document.get("oom_killed", True) is True,
                  f"a 64 MiB buffer under a 32 MiB limit ended {run_summary(document)}; expected failed "
                  "(out-of-memory)")


def duration(document: Document) -> float | None:
    """``timings.duration_seconds``, when the document has it."""
    timings = document.get("timings") or {}
    value = timings.get("duration_seconds") if isinstance(timings, Mapping) else None
    return float(value) if isinstance(value, (int, float)) else None


def timed_out(document: Document) -> Verdict:
    error = _error(document)
    if document.get("status") != "timed-out" or not document.get("timed_out") or error.get("name") != "timeout":
        return False, (f"a job running 15 s under a {TIMEOUT_SECONDS} s timeout ended {run_summary(document)} "
                       f"(timed_out {document.get('timed_out')}); expected timed-out (timeout)")
    if error.get("category") != "job":
        return False, f"the timeout's category is {error.get('category')!r}, not 'job'"
    ran = duration(document)
    limit = TIMEOUT_SECONDS + GRACE_SECONDS + TIMEOUT_SLACK
    if ran is not None and ran > limit:
        return False, f"the job ran {ran:.1f} s: it was not stopped within {limit:g} s"
    return True, ""


def sigterm_first(document: Document) -> Verdict:
    return _check(_files(document, "TERMINATED") == ["terminated.txt"],
                  "the job's SIGTERM trap left no terminated.txt among the outputs captured after the timeout "
                  f"(the run ended {run_summary(document)})")


# -- exit codes and errors --------------------------------------------------------------------------------------

def _error_is(document: Document, exit_code: int, name: str, category: str, title: str | None = None) -> Verdict:
    error = _error(document)
    got = (document.get("status"), document.get("exit_code"), error.get("name"), error.get("category"))
    want = ("failed", exit_code, name, category)
    if got != want:
        return False, (f"exit {exit_code} gave status {got[0]}, exit code {got[1]}, error {got[2]} category "
                       f"{got[3]}; expected failed, {exit_code}, {name}, {category}")
    if title is not None and error.get("title") != title:
        return False, f"the error's title is {error.get('title')!r}, not {title!r}"
    return True, ""


def declared_error(document: Document) -> Verdict:
    return _error_is(document, 3, "bad-data", "data", "Bad Data")


def default_category(document: Document) -> Verdict:
    return _error_is(document, 4, "job-broke", "job")


def undeclared_error(document: Document) -> Verdict:
    return _error_is(document, 5, "algorithm-unknown", "job")


def exit_before_capture(document: Document) -> Verdict:
    return _error_is(document, 3, "bad-data", "data")


# -- output capture (the outputs probe) -------------------------------------------------------------------------

REPORT = b"conformance report\n"


def pattern_glob(document: Document) -> Verdict:
    report, logs = _files(document, "REPORT"), _files(document, "LOGS")
    return _check(report == ["report.txt"] and logs == ["run.log"],
                  f"report*.txt captured {report} (expected ['report.txt']), *.log captured {logs} (expected "
                  "['run.log']: .hidden.log starts with a dot)")


def file_records(document: Document) -> Verdict:
    record = _file(document, "REPORT", "report.txt") or {}
    want = {"size": len(REPORT), "sha256": hashlib.sha256(REPORT).hexdigest(), "media_type": "text/plain"}
    got = {key: record.get(key) for key in want}
    return _check(got == want, f"report.txt was recorded as {got}; expected {want}")


def multiple(document: Document) -> Verdict:
    parts = _files(document, "PARTS")
    wanted = ["part-1.dat", "part-2.dat", "part-3.dat"]
    return _check([p for p in parts if p in wanted] == wanted and parts == sorted(parts),
                  f"part-* captured {parts}; expected part-1.dat, part-2.dat, part-3.dat, sorted")


def regular_files_only(document: Document) -> Verdict:
    parts = _files(document, "PARTS")
    return _check("part-dir" not in parts, f"part-* captured the directory part-dir: {parts}")


def sidecars_not_outputs(document: Document) -> Verdict:
    parts = _files(document, "PARTS")
    return _check(not any(p.endswith(".metadata.json") for p in parts),
                  f"part-* captured a side-car as an output file: {parts}")


def not_recursive(document: Document) -> Verdict:
    parts, nested = _files(document, "PARTS"), _files(document, "NESTED")
    return _check("sub/part-4.dat" not in parts and nested == ["sub/part-4.dat"],
                  f"part-* captured {parts} (not sub/part-4.dat expected), sub/*.dat captured {nested} "
                  "(['sub/part-4.dat'] expected)")


def optional_missing(document: Document) -> Verdict:
    optional = _files(document, "OPTIONAL_OUT")
    return _check(document.get("status") == "succeeded" and optional == [],
                  f"with nothing for the optional output the run ended {run_summary(document)}, captured {optional}")


def json_outputs(document: Document) -> Verdict:
    got = document.get("json_outputs")
    want = {"CELL_COUNT": 3, "RATIO": 0.25, "LABEL": "done"}
    ok = isinstance(got, Mapping) and dict(got) == want and type(got.get("CELL_COUNT")) is int
    return _check(ok, f"json_outputs is {got}; expected {want} (CELL_COUNT from the key cellCount; the extra "
                      "member ignored; the optional one absent)")


def sidecar(document: Document) -> Verdict:
    report = _file(document, "REPORT", "report.txt") or {}
    part = _file(document, "PARTS", "part-1.dat") or {}
    problems = []
    for record, name, kind in ((report, "report.txt", "Point"), (part, "part-1.dat", "Point")):
        metadata = record.get("metadata") or {}
        geometry = metadata.get("geometry") or {} if isinstance(metadata, Mapping) else {}
        if record.get("metadata_path") != f"{name}.metadata.json" or geometry.get("type") != kind:
            problems.append(f"{name}: metadata_path {record.get('metadata_path')!r}, geometry {geometry or None}")
    return _check(not problems, "side-cars not attached: " + "; ".join(problems))


def invalid_sidecar(document: Document) -> Verdict:
    bad = _file(document, "BAD", "bad.txt")
    warned = [w for w in document.get("warnings") or [] if "bad.txt.metadata.json" in json.dumps(w)]
    ok = document.get("status") == "succeeded" and bad is not None and not bad.get("metadata") and warned
    return _check(bool(ok), f"with an unparseable bad.txt.metadata.json the run ended {run_summary(document)}, "
                            f"bad.txt {'captured' if bad else 'not captured'}, {len(warned)} warning(s) naming it")


# -- capture failures (the capture probe) -----------------------------------------------------------------------

def _capture_failure(name: str, what: str) -> Callable[[Document], Verdict]:
    def judge(document: Document) -> Verdict:
        error = _error(document)
        ok = (document.get("status") == "failed" and document.get("exit_code") in (0, None)
              and error.get("name") == name and error.get("category") == "job")
        return _check(ok, f"{what}: the run ended {run_summary(document)}; expected failed ({name}, category job)")

    judge.__name__ = name.replace("-", "_")
    return judge


JUDGES: dict[str, Callable[[Document], Verdict]] = {
    judge.__name__: judge for judge in (
        secret_masked, out_of_memory, timed_out, sigterm_first, declared_error, default_category, undeclared_error,
        exit_before_capture, pattern_glob, file_records, multiple, regular_files_only, sidecars_not_outputs,
        not_recursive, optional_missing, json_outputs, sidecar, invalid_sidecar,
        _capture_failure("missing-required-output", "exit 0 without the required output"),
        _capture_failure("unexpected-multiple-outputs", "exit 0 with two files for a single output"),
    )
}
JUDGES["outputs_json_missing"] = _capture_failure("invalid-outputs-json", "exit 0 without seed.outputs.json")
JUDGES["outputs_json_wrong_type"] = _capture_failure("invalid-outputs-json",
                                                     "exit 0 with a string for an integer JSON output")
