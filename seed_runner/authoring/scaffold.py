"""`seed init` as a library: scaffold a Seed job folder that validates, builds offline and runs.

``init_job(directory, ...)`` writes:

- ``seed.manifest.json``: Seed 1.0.0, names in normalized form (``seed validate --strict`` has nothing to say),
  resources ``cpus``/``mem``/``disk``, a command that passes the inputs and OUTPUT_DIR, outputs with patterns,
  two declared errors (2 ``bad-input``, 3 ``write-failed``);
- ``Dockerfile``: ``ARG BASE_IMAGE`` (default: seed-runner's local base for the language, so it builds with
  nothing pulled) and an exec-form ``ENTRYPOINT`` (so the command's arguments reach the script);
- ``run.sh`` (busybox ``sh``) or ``run.py`` (Python 3, standard library only): reads the injected variables,
  checks and measures the inputs, writes a small report for every file output (a file name that matches the
  output's pattern) and the JSON outputs to ``seed.outputs.json``;
- ``README.md`` (how to validate, build and run the job with seed) and ``.dockerignore``.

Names are taken as the user writes them and normalized the way the spec derives variables (``input-file`` is
``INPUT_FILE``; the job name is lower-cased for Docker); anything that cannot become a valid, Docker-friendly
name is refused with a ``ScaffoldError`` before a file is written.
"""

from __future__ import annotations

import difflib
import fnmatch
import getpass
import json
import os
import re
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Literal, Sequence

from ..errors import SeedRunnerError
from ..outputs.harvesting import pattern_matches
from ..manifest.media_types import OCTET_STREAM, guess_media_type
from ..manifest.names import ALLOCATED_PREFIX, INPUT_METADATA, OUTPUT_DIR, normalize_name

__all__ = ["ScaffoldError", "init_job", "scaffold_files", "job_name_from", "BASE_IMAGES", "JSON_TYPES",
           "DEFAULT_INPUT", "DEFAULT_OUTPUT"]

Language = Literal["shell", "python"]

BASE_IMAGES: dict[str, str] = {"shell": "seed-runner/busybox:1", "python": "seed-runner/python:1"}
"""The default ``BASE_IMAGE`` per language: seed-runner's local bases (scripts/build-*base*.sh)."""
PUBLIC_BASES: dict[str, str] = {"shell": "busybox:stable", "python": "python:3.11-slim"}
JSON_TYPES = ("array", "boolean", "integer", "number", "object", "string")
DEFAULT_INPUT = "INPUT_FILE"
DEFAULT_OUTPUT = ("REPORT", "report.txt")
DEFAULT_VERSION = "0.1.0"
ENTRY_SCRIPTS: dict[str, str] = {"shell": "run.sh", "python": "run.py"}

# Variables a job's runtime depends on: an input or setting by that name would replace them in the container.
_RUNTIME_VARIABLES = {"PATH", "HOME", "IFS", "PWD", "OLDPWD", "SHELL", "HOSTNAME", "LD_PRELOAD", "LD_LIBRARY_PATH",
                      "PYTHONPATH", "PYTHONHOME", "PYTHONUNBUFFERED", "PYTHONDONTWRITEBYTECODE", "PYTHONSAFEPATH"}
_RESOURCES = ("cpus", "mem", "disk")
_SEED_NAME = re.compile(r"[A-Za-z0-9_-]+")
_JOB_NAME = re.compile(r"[A-Za-z0-9-]+")
_ERRORS = (
    {"code": 2, "name": "bad-input", "title": "Bad Input",
     "description": "An input is missing, unreadable or not what the job expects.", "category": "data"},
    {"code": 3, "name": "write-failed", "title": "Write Failed",
     "description": "The job could not write its outputs to OUTPUT_DIR.", "category": "job"},
)


class ScaffoldError(SeedRunnerError):
    """A request `seed init` refuses; one line naming the problem and the fix (exit status 2)."""

    exit_status = 2


@dataclass(frozen=True)
class _Output:
    variable: str
    pattern: str
    file: str
    """The file the scaffolded job writes for this output (it matches ``pattern``)."""


# -- names ------------------------------------------------------------------------------------------------


def job_name_from(text: str) -> str:
    """A valid, Docker-friendly job name made from any text (a folder's name): lower-case letters, digits and
    single dashes.

    >>> job_name_from("My_Cool Job.v2")
    'my-cool-job-v2'
    """
    name = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return name or "seed-job"


def _job_name(name: str | None, directory: Path) -> str:
    if name is None:
        return job_name_from(directory.resolve().name)
    if not _JOB_NAME.fullmatch(name):
        raise ScaffoldError(f"job name {name!r} is not valid: a Seed job name has letters, digits and '-' only; "
                            f"try {job_name_from(name)!r}")
    if name.startswith("-"):
        raise ScaffoldError(f"job name {name!r} starts with '-', which a Docker image name cannot; "
                            f"try {job_name_from(name)!r}")
    return name.lower()  # Docker repository names are lower-case (SEED-RULES 2)


def _variable(kind: str, text: str) -> str:
    """An input, output or setting name in the variable form the job sees (``input-file`` -> ``INPUT_FILE``)."""
    if not _SEED_NAME.fullmatch(text):
        suggestion = re.sub(r"[^A-Za-z0-9]+", "_", text).strip("_").upper()
        hint = f"; try {suggestion!r}" if suggestion and suggestion[0].isalpha() else ""
        raise ScaffoldError(f"{kind} name {text!r} is not valid: Seed names have letters, digits, '_' and '-' "
                            f"only{hint}")
    variable = normalize_name(text)
    if not variable[0].isalpha():
        raise ScaffoldError(f"{kind} name {text!r} does not start with a letter, so the job cannot read its "
                            f"variable {variable} in a shell; start it with a letter")
    return variable


def _environment_name(kind: str, text: str, taken: dict[str, str]) -> str:
    """Inputs and settings become environment variables: refuse reserved, runtime and duplicate ones."""
    variable = _variable(kind, text)
    if variable in (OUTPUT_DIR, INPUT_METADATA) or variable.startswith(ALLOCATED_PREFIX):
        raise ScaffoldError(f"{kind} name {text!r} becomes {variable}, a variable the runner injects itself; "
                            "choose another name")
    if variable in _RUNTIME_VARIABLES:
        raise ScaffoldError(f"{kind} name {text!r} would replace the container's {variable} variable; choose "
                            "another name")
    if variable in taken:
        raise ScaffoldError(f"{kind} name {text!r} and {taken[variable]} both become the variable {variable}; "
                            "give each its own name")
    taken[variable] = f"{kind} {text!r}"
    return variable


def _pair(kind: str, item: str | tuple[str, str | None]) -> tuple[str, str | None]:
    if isinstance(item, tuple):
        return item[0], item[1]
    name, sep, rest = item.partition(":")
    if not name:
        raise ScaffoldError(f"{kind} {item!r} has no name; write NAME or NAME:...")
    return name, (rest if sep else None)


def _json_type(kind: str, name: str, json_type: str | None) -> str:
    json_type = (json_type or "string").strip().lower()
    if json_type not in JSON_TYPES:
        close = difflib.get_close_matches(json_type, JSON_TYPES, n=1, cutoff=0.5)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise ScaffoldError(f"{kind} {name!r}: type {json_type!r} is not a JSON type ({', '.join(JSON_TYPES)})"
                            f"{hint}")
    return json_type


# -- output patterns: the scaffolded job writes one file per output, a name its pattern matches ------------


def _component_for(component: str, stem: str) -> str | None:
    """A file name that the glob ``component`` matches (``*`` becomes ``stem``), or None."""
    out: list[str] = []
    i = 0
    while i < len(component):
        char = component[i]
        if char == "*":
            out.append(stem)
        elif char == "?":
            out.append("x")
        elif char == "[" and (end := component.find("]", i + 2 if component[i + 1:i + 2] in ("!", "^") else i + 1)
                              ) > i:
            expression = component[i:end + 1]
            choice = next((c for c in "xabcdefghijklmnopqrstuvwyz0123456789-_"
                           if fnmatch.fnmatchcase(c, expression)), None)
            if choice is None:
                return None
            out.append(choice)
            i = end
        else:
            out.append(char)
        i += 1
    name = "".join(out)
    return name if fnmatch.fnmatchcase(name, component) else None


def _file_for(pattern: str, variable: str) -> str:
    stem = variable.lower().replace("_", "-")
    parts = [p for p in pattern.split("/") if p not in ("", ".")]
    files = [_component_for(part, stem) for part in parts]
    if not parts or any(f is None or (f.startswith(".") and not p.startswith(".")) for f, p in zip(files, parts)):
        raise ScaffoldError(f"output {variable}: cannot make a file name that pattern {pattern!r} matches; give "
                            "a simpler pattern such as '*.txt'")
    return "/".join(f for f in files if f is not None)


def _check_pattern(variable: str, pattern: str) -> None:
    if not pattern.strip():
        raise ScaffoldError(f"output {variable}: the pattern is empty; give a glob such as '*.txt'")
    if pattern.startswith("/"):
        raise ScaffoldError(f"output {variable}: pattern {pattern!r} is absolute; patterns are relative to "
                            f"OUTPUT_DIR, write {pattern.lstrip('/')!r}")
    parts = pattern.split("/")
    if ".." in parts:
        raise ScaffoldError(f"output {variable}: pattern {pattern!r} climbs out of OUTPUT_DIR with '..'")
    if "**" in pattern:
        raise ScaffoldError(f"output {variable}: pattern {pattern!r} uses '**', which is not recursive in Seed; "
                            "name the subfolder, e.g. 'sub/*.txt'")
    if parts[-1] == "seed.outputs.json" or parts[-1].endswith(".metadata.json"):
        raise ScaffoldError(f"output {variable}: pattern {pattern!r} names seed.outputs.json or a side-car "
                            "(*.metadata.json), which are not outputs; choose another pattern")


# -- the manifest -----------------------------------------------------------------------------------------


def _login() -> str:
    try:
        return getpass.getuser()
    except Exception:  # noqa: BLE001 - no USER and no passwd entry (a container): a placeholder will do
        return "maintainer"


def _title_from(name: str) -> str:
    return " ".join(word.capitalize() for word in name.split("-") if word) or name


def _one_line(text: str) -> str:
    return " ".join(text.split())


def scaffold_files(name: str, *, title: str | None = None, description: str | None = None,
                   inputs: Iterable[str] = (), json_inputs: Iterable[str | tuple[str, str]] = (),
                   outputs: Iterable[str | tuple[str, str | None]] = (),
                   json_outputs: Iterable[str | tuple[str, str]] = (), settings: Iterable[str] = (),
                   secrets: Iterable[str] = (), language: Language = "shell", base_image: str | None = None,
                   maintainer_name: str | None = None, maintainer_email: str | None = None,
                   job_version: str = DEFAULT_VERSION, package_version: str = DEFAULT_VERSION) -> dict[str, str]:
    """The files of a scaffolded job, by file name (pure: nothing is written). See ``init_job``."""
    from ..validation import validate_document

    if language not in ENTRY_SCRIPTS:
        raise ScaffoldError(f"language {language!r} is not one seed init knows; choose shell or python")
    name = _job_name(name, Path("."))
    inputs, json_inputs, outputs, json_outputs = list(inputs), list(json_inputs), list(outputs), list(json_outputs)
    if not inputs and not json_inputs:
        inputs = [DEFAULT_INPUT]
    if not outputs and not json_outputs:
        outputs = [DEFAULT_OUTPUT]

    taken: dict[str, str] = {}
    file_vars = [_environment_name("input", text, taken) for text in inputs]
    json_vars = []
    for item in json_inputs:
        text, json_type = _pair("--json-input", item)
        json_vars.append((_environment_name("json input", text, taken), _json_type("json input", text, json_type)))
    setting_vars = [_environment_name("setting", text, taken) for text in settings]
    secret_vars = [_environment_name("secret", text, taken) for text in secrets]

    output_names: dict[str, str] = {}

    def output_variable(kind: str, text: str) -> str:
        variable = _variable(kind, text)
        if variable in output_names:
            raise ScaffoldError(f"{kind} name {text!r} and {output_names[variable]} are the same output "
                                f"{variable}; give each its own name")
        output_names[variable] = f"{kind} {text!r}"
        return variable

    file_outputs: list[_Output] = []
    for output_item in outputs:
        text, pattern = _pair("--output", output_item)
        variable = output_variable("output", text)
        pattern = pattern if pattern is not None else f"{variable.lower().replace('_', '-')}.txt"
        _check_pattern(variable, pattern)
        file_outputs.append(_Output(variable, pattern, _file_for(pattern, variable)))
    json_out = []
    for item in json_outputs:
        text, json_type = _pair("--json-output", item)
        json_out.append((output_variable("json output", text), _json_type("json output", text, json_type)))

    title = _one_line(title) if title and title.strip() else _title_from(name)
    description = _one_line(description) if description and description.strip() else (
        f"{title}: a Seed job scaffolded by seed init. It measures its inputs and writes a report for each output; "
        "say here what it really does, what it reads and what it writes.")
    login = _login()
    document: dict[str, Any] = {
        "seedVersion": "1.0.0",
        "job": {
            "name": name,
            "jobVersion": job_version,
            "packageVersion": package_version,
            "title": title,
            "description": description,
            "tags": [language],
            "maintainer": {"name": maintainer_name or login,
                           "email": maintainer_email or f"{job_name_from(login)}@example.com"},
            "timeout": 300,
            "resources": {"scalar": [
                {"name": "cpus", "value": 1},
                {"name": "mem", "value": 128 if language == "python" else 64},
                {"name": "disk", "value": 64, "inputMultiplier": 1},
            ]},
            "interface": _interface(file_vars, json_vars, file_outputs, json_out, setting_vars, secret_vars),
            "errors": [dict(e) for e in _ERRORS],
        },
    }
    findings = validate_document(document)
    if findings:  # a safety net: the checks above should leave nothing for the validator to say
        first = findings[0]
        raise ScaffoldError(f"the scaffolded manifest would not pass `seed validate --strict`: {first.path}: "
                            f"{first.message}")
    from ..manifest.model import Manifest

    manifest = Manifest.from_dict(document)
    if base_image is not None:
        _check_base_image(base_image)
    base = base_image or BASE_IMAGES[language]
    script = ENTRY_SCRIPTS[language]
    context = _Context(manifest, file_vars, json_vars, setting_vars, secret_vars, file_outputs, json_out)
    return {
        "seed.manifest.json": json.dumps(document, indent=2, ensure_ascii=False) + "\n",
        "Dockerfile": _dockerfile(manifest, language, base),
        script: _shell_script(context) if language == "shell" else _python_script(context),
        "README.md": _readme(manifest, language, base),
        ".dockerignore": "# Kept out of the build context: run folders and documentation.\nseed-runs\nREADME.md\n",
    }


def _interface(file_vars: list[str], json_vars: list[tuple[str, str]], file_outputs: list[_Output],
               json_outputs: list[tuple[str, str]], setting_vars: list[str], secret_vars: list[str]
               ) -> dict[str, Any]:
    # Quoted: a file name with spaces, or a JSON text, stays one argument.
    arguments = [f'"${{{v}}}"' for v in [*file_vars, *(v for v, _ in json_vars), OUTPUT_DIR]]
    face: dict[str, Any] = {"command": " ".join(arguments)}
    inputs: dict[str, Any] = {}
    if file_vars:
        inputs["files"] = [{"name": v} for v in file_vars]
    if json_vars:
        inputs["json"] = [{"name": v, "type": t} for v, t in json_vars]
    if inputs:
        face["inputs"] = inputs
    outputs: dict[str, Any] = {}
    if file_outputs:
        written = [o.file for o in file_outputs]
        files = []
        for output in file_outputs:
            entry: dict[str, Any] = {"name": output.variable, "pattern": output.pattern}
            media_type = guess_media_type(output.file)
            if media_type != OCTET_STREAM:  # a type worth declaring
                entry["mediaType"] = media_type
            # multiple only when this job's own files give the pattern several matches (else capture fails)
            if sum(pattern_matches(output.pattern, f) for f in written) > 1:
                entry["multiple"] = True
            files.append(entry)
        outputs["files"] = files
    if json_outputs:
        outputs["json"] = [{"name": v, "type": t} for v, t in json_outputs]
    if outputs:
        face["outputs"] = outputs
    if setting_vars or secret_vars:
        face["settings"] = [{"name": v} for v in setting_vars] + [{"name": v, "secret": True} for v in secret_vars]
    return face


# -- the other files --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Context:
    manifest: Any
    file_vars: list[str]
    json_vars: list[tuple[str, str]]
    settings: list[str]
    secrets: list[str]
    outputs: list[_Output]
    json_outputs: list[tuple[str, str]]

    @property
    def job(self) -> str:
        return f"{self.manifest.job.name} {self.manifest.job.job_version}"

    def environment_lines(self) -> list[tuple[str, str]]:
        lines = [(v, f"the path of the file given for the input {v}") for v in self.file_vars]
        lines += [(v, f"the JSON input {v} ({t}): " + ("the text itself" if t == "string" else "JSON text"))
                  for v, t in self.json_vars]
        lines += [(v, f"the setting {v}") for v in self.settings]
        lines += [(v, f"the secret setting {v}: never print or write its value") for v in self.secrets]
        lines += [(OUTPUT_DIR, "the folder every output goes to"),
                  ("ALLOCATED_CPUS, ALLOCATED_MEM, ALLOCATED_DISK", "the resources allocated to this run")]
        return lines


_DIGEST = re.compile(r"[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]{32,}")


def _check_base_image(base_image: str) -> None:
    """Refuse a base image that is not an image reference (it goes into the Dockerfile as written)."""
    from .build import reference_problems

    name, at, digest = base_image.partition("@")
    problems = reference_problems(name)
    if at and not _DIGEST.fullmatch(digest):
        problems.append(f"the digest {digest!r} is not one Docker accepts (algorithm:hex, such as sha256:...)")
    if problems:
        raise ScaffoldError(f"the base image {base_image!r} is not an image name: {'; '.join(problems)}")


def _dockerfile(manifest: Any, language: str, base: str) -> str:
    job = manifest.job
    script = ENTRY_SCRIPTS[language]
    tool = "python3" if language == "python" else "a POSIX sh"
    lines = [
        f"# {_one_line(job.title)} ({job.name}): the job's image, built by `seed build` with seed.manifest.json as",
        "# its com.ngageoint.seed.manifest label. The base is a build argument; the default is local, so nothing",
        f"# is pulled. Elsewhere any image with {tool} works:",
        f"#   seed build --build-arg BASE_IMAGE={PUBLIC_BASES[language]} .",
        f"ARG BASE_IMAGE={base}",
        "FROM ${BASE_IMAGE}",
    ]
    if language == "python":
        lines.append("ENV PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1")
    lines.append(f"COPY {script} /app/{script}")
    lines.append("# Exec form, so that the arguments of the manifest's command reach the script (a shell-form "
                 "ENTRYPOINT ignores them).")
    entry = ["python3", f"/app/{script}"] if language == "python" else ["/bin/sh", f"/app/{script}"]
    lines.append(f"ENTRYPOINT {json.dumps(entry)}")
    return "\n".join(lines) + "\n"


def _comment_block(prefix: str, ctx: _Context, what: str) -> list[str]:
    job = ctx.manifest.job
    width = max(len(name) for name, _ in ctx.environment_lines()[:-1])
    lines = [f"{_one_line(job.title)} ({ctx.job}): the entry point of this Seed job, run by a Seed executor "
             "such as `seed run`.", "",
             "The executor injects these environment variables (seed.manifest.json declares them):"]
    *variables, (allocated, meaning) = ctx.environment_lines()
    lines += [f"  {name.ljust(width)}  {meaning}" for name, meaning in variables]
    lines += [f"  {allocated}: {meaning}"]
    lines += ["The manifest's command passes the inputs and OUTPUT_DIR as arguments too; this script reads the",
              f"environment. {what}",
              "Exit status: 0 success, 2 bad-input, 3 write-failed (the errors the manifest declares)."]
    return [f"{prefix}{line}".rstrip() for line in lines]


def _shell_script(ctx: _Context) -> str:
    q = shlex.quote
    out = ["#!/bin/sh"]
    out += _comment_block("# ", ctx, "What it does: it checks and measures its inputs, writes a report for every "
                                     "file\n# output and the JSON outputs to seed.outputs.json. Replace that with "
                                     "the job's real work.")
    out += [
        "set -u",
        "",
        f"JOB={q(ctx.job)}",
        "BAD_INPUT=2",
        "WRITE_FAILED=3",
        "",
        'fail() { status=$1; shift; echo "$JOB: $*" >&2; exit "$status"; }',
        "",
        '[ -n "${OUTPUT_DIR:-}" ] || fail $BAD_INPUT "OUTPUT_DIR is not set: run the job with seed run"',
        '[ -d "$OUTPUT_DIR" ] && [ -w "$OUTPUT_DIR" ] || fail $WRITE_FAILED "OUTPUT_DIR ($OUTPUT_DIR) is not a '
        'writable folder"',
        "",
        "# The inputs: each file input must be a readable file, each JSON input must be set.",
    ]
    sizes = []
    for v in ctx.file_vars:
        low = v.lower()
        out += [f'[ -f "${{{v}:-}}" ] && [ -r "${v}" ] || fail $BAD_INPUT "cannot read the input {v} '
                f'(${{{v}:-not set}})"',
                f'in_{low}_bytes=$(wc -c < "${v}" | tr -d " ")',
                f'in_{low}_lines=$(wc -l < "${v}" | tr -d " ")']
        sizes.append(f"$in_{low}_bytes")
    for v, _t in ctx.json_vars:
        out.append(f'[ -n "${{{v}+set}}" ] || fail $BAD_INPUT "the JSON input {v} is not set"')
    out.append(f"total_bytes=$((0{''.join(' + ' + s[1:] for s in sizes)}))")
    out.append("")

    report = ['printf "%s\\n" "$JOB"',
              'printf "%s\\n" "allocated: cpus ${ALLOCATED_CPUS:-?}, mem ${ALLOCATED_MEM:-?} MiB, '
              'disk ${ALLOCATED_DISK:-?} MiB"']
    for v in ctx.file_vars:
        low = v.lower()
        report.append(f'printf "%s\\n" "{v}: $(basename "${v}"), $in_{low}_bytes bytes, $in_{low}_lines lines"')
    for v, t in ctx.json_vars:
        report.append(f'printf "%s\\n" "{v} ({t}): ${v}"')
    for v in ctx.settings:
        report.append(f'printf "%s\\n" "{v}: ${{{v}:-}}"')
    for v in ctx.secrets:
        report.append(f'if [ -n "${{{v}:-}}" ]; then echo "{v}: set (secret: not shown)"; '
                      f'else echo "{v}: empty (secret)"; fi')
    report.append('printf "%s\\n" "input files: $total_bytes bytes in all"')

    if ctx.outputs:
        first = ctx.outputs[0]
        out.append("# The report: what the job received, written for every file output (each file matches its "
                   "output's pattern).")
        for output in ctx.outputs:
            if "/" in output.file:
                folder = output.file.rsplit("/", 1)[0]
                out.append(f'mkdir -p "$OUTPUT_DIR"/{q(folder)} || fail $WRITE_FAILED '
                           f'{q(f"cannot create {folder} in OUTPUT_DIR")}')
        out.append(f'report="$OUTPUT_DIR"/{q(first.file)}')
        out.append("{")
        out += [f"  {line}" for line in report]
        out.append('} > "$report" || fail $WRITE_FAILED "cannot write $report"')
        for output in ctx.outputs[1:]:
            out.append(f'cp "$report" "$OUTPUT_DIR"/{q(output.file)} || fail $WRITE_FAILED '
                       f'{q(f"cannot write {output.file}")}')
    else:
        out.append("# No file output is declared: the report goes to the job's log.")
        out += report
    if ctx.json_outputs:
        members = []
        for v, t in ctx.json_outputs:
            value = {"integer": "$total_bytes",
                     "number": '$(awk "BEGIN { printf \\"%.3f\\", $total_bytes / 1024 }")',
                     "string": json.dumps(ctx.job), "boolean": "true",
                     "array": "[" + ", ".join(sizes) + "]",
                     "object": '{"files": ' + str(len(sizes)) + ', "bytes": $total_bytes}'}[t]
            members.append(f'"{v}": {value}')
        out += ["",
                "# The JSON outputs, which the executor reads from seed.outputs.json.",
                'cat > "$OUTPUT_DIR/seed.outputs.json" <<EOF || fail $WRITE_FAILED "cannot write seed.outputs.json"',
                "{" + ", ".join(members) + "}",
                "EOF"]
    written = [o.file for o in ctx.outputs] + (["seed.outputs.json"] if ctx.json_outputs else [])
    out += ["", f'echo "$JOB: wrote "{q(", ".join(written) or "nothing")}', ""]
    return "\n".join(out)


def _python_script(ctx: _Context) -> str:
    doc = _comment_block("", ctx, "What it does: it checks and measures its inputs, writes a report for every "
                                  "file\noutput and the JSON outputs to seed.outputs.json. Replace that with the "
                                  "job's real work\n(standard library only here; install packages in the "
                                  "Dockerfile if you need them).")
    constants = [
        f"JOB = {ctx.job!r}",
        f"FILE_INPUTS = {ctx.file_vars!r}",
        f"JSON_INPUTS = {dict(ctx.json_vars)!r}  # name -> JSON type",
        f"SETTINGS = {ctx.settings!r}",
        f"SECRETS = {ctx.secrets!r}  # settings whose values are never printed or written",
        f"FILE_OUTPUTS = {({o.variable: o.file for o in ctx.outputs})!r}  # output -> the file written for it",
        f"JSON_OUTPUTS = {dict(ctx.json_outputs)!r}  # member of seed.outputs.json -> JSON type",
    ]
    # The docstring holds the user's title: keep its backslashes and quotes from ending or bending it.
    docstring = "\n".join(doc).replace("\\", "\\\\").replace('"""', '\\"\\"\\"')
    return _PYTHON_TEMPLATE.replace("@DOC@", docstring).replace("@CONSTANTS@", "\n".join(constants))


_PYTHON_TEMPLATE = '''#!/usr/bin/env python3
"""@DOC@
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

@CONSTANTS@

BAD_INPUT = 2  # the errors declared in seed.manifest.json
WRITE_FAILED = 3


class JobError(Exception):
    """A failure with the exit status of one of the declared errors."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


def is_type(value: Any, json_type: str) -> bool:
    """JSON Schema's types: a boolean is not an integer or a number."""
    if json_type == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if json_type == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    return isinstance(value, {"string": str, "boolean": bool, "object": dict, "array": list}[json_type])


def read_inputs() -> tuple[dict[str, tuple[str, int, int]], dict[str, Any]]:
    """Each file input's name, size and line count; each JSON input's value, checked against its type."""
    files = {}
    for name in FILE_INPUTS:
        path = os.environ.get(name)
        if not path:
            raise JobError(BAD_INPUT, f"the input {name} is not set")
        try:
            data = Path(path).read_bytes()
        except OSError as exc:
            raise JobError(BAD_INPUT, f"cannot read the input {name} ({path}): {exc.strerror}") from None
        files[name] = (Path(path).name, len(data), data.count(b"\\n"))
    values = {}
    for name, json_type in JSON_INPUTS.items():
        if name not in os.environ:
            raise JobError(BAD_INPUT, f"the JSON input {name} is not set")
        text = os.environ[name]
        if json_type == "string":  # strings arrive as the text itself, every other type as JSON text
            values[name] = text
            continue
        try:
            value = json.loads(text)
        except ValueError:
            raise JobError(BAD_INPUT, f"the JSON input {name} is not JSON: {text[:40]!r}") from None
        if not is_type(value, json_type):
            raise JobError(BAD_INPUT, f"the JSON input {name} is not a JSON {json_type}")
        values[name] = value
    return files, values


def report(files: dict[str, tuple[str, int, int]], values: dict[str, Any]) -> str:
    """What the job received (secrets only as set or empty)."""
    def allocated(resource: str) -> str:
        return os.environ.get("ALLOCATED_" + resource, "?")

    lines = [JOB, f"allocated: cpus {allocated('CPUS')}, mem {allocated('MEM')} MiB, disk {allocated('DISK')} MiB"]
    for name, (file_name, size, count) in files.items():
        lines.append(f"{name}: {file_name}, {size} bytes, {count} lines")
    for name, value in values.items():
        shown = value if isinstance(value, str) else json.dumps(value)
        lines.append(f"{name} ({JSON_INPUTS[name]}): {shown}")
    for name in SETTINGS:
        lines.append(f"{name}: {os.environ.get(name, '')}")
    for name in SECRETS:
        lines.append(f"{name}: {'set' if os.environ.get(name) else 'empty'} (secret: not shown)")
    lines.append(f"input files: {sum(size for _, size, _ in files.values())} bytes in all")
    return "\\n".join(lines) + "\\n"


def json_outputs(files: dict[str, tuple[str, int, int]]) -> dict[str, Any]:
    """A value of each JSON output's type, made from the inputs."""
    sizes = [size for _, size, _ in files.values()]
    examples = {"integer": sum(sizes), "number": round(sum(sizes) / 1024, 3), "string": JOB, "boolean": True,
                "array": sizes, "object": {"files": len(sizes), "bytes": sum(sizes)}}
    return {name: examples[json_type] for name, json_type in JSON_OUTPUTS.items()}


def main() -> None:
    output_dir = os.environ.get("OUTPUT_DIR")
    if not output_dir or not os.path.isdir(output_dir):
        raise JobError(WRITE_FAILED, "OUTPUT_DIR is not set to a folder: run the job with seed run")
    files, values = read_inputs()
    text = report(files, values)
    written = []
    try:
        for file_name in FILE_OUTPUTS.values():
            target = Path(output_dir, file_name)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
            written.append(file_name)
        if JSON_OUTPUTS:
            Path(output_dir, "seed.outputs.json").write_text(json.dumps(json_outputs(files)) + "\\n",
                                                             encoding="utf-8")
            written.append("seed.outputs.json")
    except OSError as exc:
        raise JobError(WRITE_FAILED, f"cannot write {exc.filename}: {exc.strerror}") from None
    if not FILE_OUTPUTS:
        print(text, end="")
    print(f"{JOB}: wrote {', '.join(written) or 'nothing'}")


if __name__ == "__main__":
    try:
        main()
    except JobError as exc:
        print(f"{JOB}: {exc}", file=sys.stderr)
        sys.exit(exc.status)
'''


def _readme(manifest: Any, language: str, base: str) -> str:
    from .describe import run_line

    job = manifest.job
    face = job.interface
    script = ENTRY_SCRIPTS[language]
    image = manifest.image_name
    interface = []
    for f in face.file_inputs:
        interface.append(f"- input `{f.name}`: a file")
    for j in face.json_inputs:
        interface.append(f"- input `{j.name}`: JSON ({j.type})")
    for o in face.file_outputs:
        interface.append(f"- output `{o.name}`: files matching `{o.pattern}`")
    for j in face.json_outputs:
        interface.append(f"- output `{j.name}`: the `{j.key}` member of `seed.outputs.json` ({j.type})")
    for s in face.settings:
        interface.append(f"- setting `{s.name}`" + (" (secret)" if s.secret else ""))
    return f"""# {_one_line(job.title)}

{_one_line(job.description)}

A [Seed](https://ngageoint.github.io/seed/) job scaffolded by `seed init` (seed-runner): `seed.manifest.json`
declares its interface, `{script}` does the work, `Dockerfile` packages it.

## Validate, build, run

```sh
seed validate --strict .         # the manifest: no finding at all
seed build .                     # the image {image}, the manifest in its label
seed validate {image}
{run_line(manifest)} -o run1
seed inspect {image}              # what the job takes and gives
```

`seed build` prints the `seed run` line to start from. The image builds on `{base}` (the `BASE_IMAGE` build
argument); where that image does not exist, give another: `seed build --build-arg BASE_IMAGE={PUBLIC_BASES[language]} .`

## Interface

{chr(10).join(interface)}

Exit status: 0 success, 2 `bad-input` (category data), 3 `write-failed` (category job).

## Next steps

- Say what the job does in `description`, and who maintains it in `maintainer`.
- Replace the report in `{script}` with the job's real work; keep writing every output into `OUTPUT_DIR`.
- Change `jobVersion` when the algorithm changes, `packageVersion` when only the packaging or interface does.
"""


# -- writing ----------------------------------------------------------------------------------------------


def init_job(directory: str | Path = ".", *, name: str | None = None, title: str | None = None,
             description: str | None = None, inputs: Sequence[str] = (),
             json_inputs: Sequence[str | tuple[str, str]] = (),
             outputs: Sequence[str | tuple[str, str | None]] = (),
             json_outputs: Sequence[str | tuple[str, str]] = (), settings: Sequence[str] = (),
             secrets: Sequence[str] = (), language: Language = "shell", base_image: str | None = None,
             maintainer_name: str | None = None, maintainer_email: str | None = None,
             job_version: str = DEFAULT_VERSION, package_version: str = DEFAULT_VERSION,
             force: bool = False) -> list[Path]:
    """Scaffold a Seed job in ``directory`` (created if needed) and return the files written.

    ``name``: the job's name (default: the folder's name, made valid; upper-case letters are lowered, as Docker
    needs). ``inputs``: file input names. ``json_inputs``: ``"NAME:TYPE"`` or ``(name, type)`` (type
    default ``string``). ``outputs``: ``"NAME[:PATTERN]"`` or ``(name, pattern)`` (pattern default
    ``name.txt``). ``json_outputs``: ``"NAME:TYPE"``. ``settings``, ``secrets``: setting names (secrets marked
    ``secret``). Without any input the job gets one file input ``INPUT_FILE``; without any output one output
    ``REPORT`` (``report.txt``). Names are normalized to their variable form (``input-file`` -> ``INPUT_FILE``).
    ``language``: ``shell`` (``run.sh``, busybox) or ``python`` (``run.py``); ``base_image``: the Dockerfile's
    default ``BASE_IMAGE``.

    Raises ``ScaffoldError`` (nothing written) for an invalid name or type, and when ``directory`` is not
    empty, unless ``force`` (then the scaffold's files are overwritten and other files are left alone).
    """
    folder = Path(directory)
    if folder.exists() and not folder.is_dir():
        raise ScaffoldError(f"{folder} is a file; name a new or empty folder for the job")
    if folder.is_dir() and not force:
        present = sorted(p.name for p in folder.iterdir())
        if present:
            shown = ", ".join(present[:3]) + (", ..." if len(present) > 3 else "")
            raise ScaffoldError(f"{folder} is not empty ({shown}); choose a new or empty folder, or add --force to "
                                "overwrite the scaffold's files there")
    files = scaffold_files(
        _job_name(name, folder), title=title, description=description, inputs=inputs, json_inputs=json_inputs,
        outputs=outputs, json_outputs=json_outputs, settings=settings, secrets=secrets, language=language,
        base_image=base_image, maintainer_name=maintainer_name, maintainer_email=maintainer_email,
        job_version=job_version, package_version=package_version)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for file_name, content in files.items():
        path = folder / file_name
        # Never write through a link: a symbolic link where a scaffold file goes is replaced, not followed.
        if path.is_symlink():
            path.unlink()
        # Readable by anyone: `seed run` runs the job as the invoking user, not as the image's owner.
        mode = 0o755 if file_name in ENTRY_SCRIPTS.values() else 0o644
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, mode)
        except OSError as exc:
            raise ScaffoldError(f"cannot write {path}: {exc.strerror or exc}") from None
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            os.fchmod(fd, mode)
            handle.write(content)
        written.append(path)
    return written
