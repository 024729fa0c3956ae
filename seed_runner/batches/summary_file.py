"""Reading ``batch.json`` back, bounded and strict: what ``seed batch resume`` trusts of a file anyone may have
edited, truncated or replaced (a FIFO, a link to ``/dev/zero``, 600 MB of brackets).

The bytes come through ``read_regular_file`` (never more than MAX_BATCH_BYTES + 1, nothing from a file that is not
a regular one), the text through the project's strict JSON reader (``parse_json_document``: UTF-8, no NaN, a
bound on nesting and on the memory a parse may take), and the value through ``check_summary``: every member
resume reads, of the type it reads it as. Whatever fails is a ``SummaryError`` of one line.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

MAX_BATCH_BYTES = 256 * 1048576
"""About 300,000 runs. A batch.json larger than this is not read (the table is split instead)."""


class SummaryError(ValueError):
    """A batch.json that cannot be trusted: one line naming the file and what is wrong with it."""


def read_summary(path: Path) -> dict[str, Any]:
    """The checked document of ``path``; SummaryError (FileNotFoundError when there is none)."""
    from ..manifest.jsontext import parse_json_document
    from ..manifest.sources import NotARegularFile, read_regular_file

    try:
        if path.stat().st_size > MAX_BATCH_BYTES:  # refused before a byte is read (the read is bounded too)
            raise SummaryError(f"{path} is larger than {MAX_BATCH_BYTES // 1048576} MiB: no batch.json this "
                               "seed-runner writes is; run the batch again in a new folder (split its table)")
        data = read_regular_file(path, MAX_BATCH_BYTES)
    except NotARegularFile:
        raise SummaryError(f"{path} is not a regular file; a batch folder's batch.json is one") from None
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise SummaryError(f"cannot read {path} ({exc.strerror or exc})") from None
    if len(data) > MAX_BATCH_BYTES:
        raise SummaryError(f"{path} is larger than {MAX_BATCH_BYTES // 1048576} MiB: no batch.json this "
                           "seed-runner writes is; run the batch again in a new folder (split its table)")
    document, problems = parse_json_document(data, what="batch.json")
    if problems:
        raise SummaryError(f"{path} is damaged: {problems[0]}; run the batch again in a new folder")
    return check_summary(document, path)


def check_summary(document: Any, path: Path | str = "batch.json") -> dict[str, Any]:
    """``document`` when it holds every member resume reads, of the right type; SummaryError naming the first
    member that does not."""
    why = _why_not(document)
    if why is not None:
        raise SummaryError(f"{path} is damaged ({why}); run the batch again in a new folder")
    return document


_BATCH_VERSION = 1


def _why_not(document: Any) -> str | None:
    if not isinstance(document, dict):
        return "it is not a JSON object"
    if document.get("batch_version") != _BATCH_VERSION or isinstance(document.get("batch_version"), bool):
        return f"batch_version is not {_BATCH_VERSION}: not a batch summary this seed-runner reads"
    for name in ("batch_id", "image"):
        if not isinstance(document.get(name), str) or not document[name]:
            return f"its {name} is missing or not text"
    options = document.get("options", {})
    if not isinstance(options, dict):
        return "its options are not an object"
    why = _options_why_not(options)
    if why is not None:
        return f"options: {why}"
    runs = document.get("runs")
    if not isinstance(runs, list):
        return "its runs are missing or not a list"
    rows: set[int] = set()
    for index, run in enumerate(runs):
        why = _run_why_not(run)
        if why is None and run["row"] in rows:
            why = f"row {run['row']} is listed twice"
        if why is not None:
            return f"runs[{index}]: {why}"
        rows.add(run["row"])
    return None


def _number(value: Any, *, none: bool = True) -> bool:
    if value is None:
        return none
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) and value >= 0


def _text(value: Any, *, none: bool = True) -> bool:
    return (none and value is None) or isinstance(value, str)


def _options_why_not(options: dict[str, Any]) -> str | None:
    for name in ("pull", "strict", "cache"):
        if name in options and not isinstance(options[name], bool):
            return f"{name} is not true or false"
    if "retries" in options and not (isinstance(options["retries"], int) and not isinstance(options["retries"], bool)
                                     and 0 <= options["retries"] <= 1000):
        return "retries is not a whole number from 0 to 1000"
    if "backoff" in options and not _number(options["backoff"], none=False):
        return "backoff is not a number of seconds"
    if options.get("manifest") is not None and not isinstance(options["manifest"], dict):
        return "manifest is not an object"
    executor = options.get("executor")
    if executor is not None:
        if not isinstance(executor, dict) or executor.get("kind") not in ("local", "dask", "slurm"):
            return "executor is not an object whose kind is local, dask or slurm"
        for name in ("scheduler", "shared_dir", "outputs_to", "partition", "account", "qos", "python"):
            if not _text(executor.get(name)):
                return f"executor.{name} is not text"
        for name in ("parallel", "cpus", "mem", "gpus"):
            if not _number(executor.get(name)):
                return f"executor.{name} is not a number"
        extra = executor.get("sbatch_options")
        if extra is not None and not (isinstance(extra, list) and all(isinstance(o, str) for o in extra)):
            return "executor.sbatch_options is not a list of text"
    return None


def _run_why_not(run: Any) -> str | None:
    if not isinstance(run, dict):
        return "not an object"
    if not isinstance(run.get("row"), int) or isinstance(run["row"], bool) or run["row"] < 0:
        return "its row is not a whole number"
    attempts = run.get("attempts")
    if not isinstance(attempts, list) or not all(isinstance(a, dict) for a in attempts):
        return "its attempts are not a list of objects"
    for attempt in attempts:
        for name in ("run_id", "status", "run_dir", "error", "message"):
            if not _text(attempt.get(name)):
                return f"an attempt's {name} is not text"
    return _request_why_not(run.get("request"))


_REQUEST_MEMBERS = ("image", "file_inputs", "json_inputs", "settings", "mounts", "resources", "timeout",
                    "grace_period", "user", "network")
"""Every member ``request_record`` writes, and resume reads."""


def _request_why_not(request: Any) -> str | None:
    if not isinstance(request, dict):
        return "its request is missing or not an object"
    missing = [name for name in _REQUEST_MEMBERS if name not in request]
    if missing:
        return f"its request lacks {missing[0]}"
    if not isinstance(request.get("image"), str):
        return "its request's image is not text"
    file_inputs = request.get("file_inputs", {})
    if not isinstance(file_inputs, dict) or not all(
            isinstance(v, list) and all(isinstance(p, str) for p in v) for v in file_inputs.values()):
        return "its request's file_inputs are not lists of paths"
    json_inputs = request.get("json_inputs", {})
    if not isinstance(json_inputs, dict) or not all(
            isinstance(v, dict) and (isinstance(v.get("text"), str) or "value" in v) for v in json_inputs.values()):
        return "its request's json_inputs are not {text} or {value} objects"
    for name in ("settings", "mounts"):
        group = request.get(name, {})
        if not isinstance(group, dict) or not all(isinstance(v, str) for v in group.values()):
            return f"its request's {name} are not text"
    resources = request.get("resources", {})
    if not isinstance(resources, dict) or not all(_number(v, none=False) for v in resources.values()):
        return "its request's resources are not numbers"
    for name in ("timeout", "grace_period"):
        if not _number(request.get(name)):
            return f"its request's {name} is not a number of seconds"
    for name in ("user", "network"):
        if not _text(request.get(name)):
            return f"its request's {name} is not text"
    secrets = request.get("url_secrets", [])
    if not isinstance(secrets, list) or not all(isinstance(s, str) for s in secrets):
        return "its request's url_secrets are not a list of names"
    return None
