"""The texts of a scaffolded job's files besides its manifest: the ``Dockerfile``, the entry script (``run.sh``
for busybox ``sh`` or ``run.py`` for Python 3, standard library only) and the ``README.md``. Pure: they are made
from the checked names and the manifest; nothing is written.
"""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass
from typing import Any

from ..manifest.names import OUTPUT_DIR

__all__ = ["PUBLIC_BASES", "LOCAL_BASES", "ENTRY_SCRIPTS", "ScaffoldOutput", "ScriptContext", "one_line",
           "dockerfile_text", "shell_script", "python_script", "readme_text"]

PUBLIC_BASES: dict[str, str] = {"shell": "busybox:stable", "python": "python:3.12-slim"}
"""The scaffold's default ``BASE_IMAGE`` per language: public images, so that the job builds (with
``seed build --pull``) wherever a registry is reachable, a CI runner included."""
LOCAL_BASES: dict[str, str] = {"shell": "seed-runner/busybox:1", "python": "seed-runner/python:1"}
"""seed-runner's own local bases (scripts/build-*base*.sh in its checkout): what a machine that cannot pull
gives as ``--build-arg BASE_IMAGE``."""
ENTRY_SCRIPTS: dict[str, str] = {"shell": "run.sh", "python": "run.py"}


# -- what the texts are made from -------------------------------------------------------------------------


@dataclass(frozen=True)
class ScaffoldOutput:
    variable: str
    pattern: str
    file: str
    """The file the scaffolded job writes for this output (it matches ``pattern``)."""


def one_line(text: str) -> str:
    return " ".join(text.split())


@dataclass(frozen=True)
class ScriptContext:
    manifest: Any
    file_vars: list[str]
    json_vars: list[tuple[str, str]]
    settings: list[str]
    secrets: list[str]
    outputs: list[ScaffoldOutput]
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


# -- the files --------------------------------------------------------------------------------------------


def dockerfile_text(manifest: Any, language: str, base: str) -> str:
    job = manifest.job
    script = ENTRY_SCRIPTS[language]
    tool = "python3" if language == "python" else "a POSIX sh"
    lines = [
        f"# {one_line(job.title)} ({job.name}): the job's image, built by `seed build` with seed.manifest.json as",
        "# its com.ngageoint.seed.manifest label. The base is a build argument; the default is a public image,",
        "# which `seed build --pull .` fetches (seed build never pulls unless asked). Any image with",
        f"# {tool} works; on a machine that cannot pull, give one that is already local (seed-runner's checkout",
        "# builds this one with scripts/build-base-images.sh and scripts/build-python-base.sh):",
        f"#   seed build --build-arg BASE_IMAGE={LOCAL_BASES[language]} .",
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


def _comment_block(prefix: str, ctx: ScriptContext, what: str) -> list[str]:
    job = ctx.manifest.job
    width = max(len(name) for name, _ in ctx.environment_lines()[:-1])
    lines = [f"{one_line(job.title)} ({ctx.job}): the entry point of this Seed job, run by a Seed executor "
             "such as `seed run`.", "",
             "The executor injects these environment variables (seed.manifest.json declares them):"]
    *variables, (allocated, meaning) = ctx.environment_lines()
    lines += [f"  {name.ljust(width)}  {meaning}" for name, meaning in variables]
    lines += [f"  {allocated}: {meaning}"]
    lines += ["The manifest's command passes the inputs and OUTPUT_DIR as arguments too; this script reads the",
              f"environment. {what}",
              "Exit status: 0 success, 2 bad-input, 3 write-failed (the errors the manifest declares)."]
    return [f"{prefix}{line}".rstrip() for line in lines]


def shell_script(ctx: ScriptContext) -> str:
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


def python_script(ctx: ScriptContext) -> str:
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


def readme_text(manifest: Any, language: str, base: str) -> str:
    from .describe_render import run_line

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
    return f"""# {one_line(job.title)}

{one_line(job.description)}

A [Seed](https://ngageoint.github.io/seed/) job scaffolded by `seed init` (seed-runner): `seed.manifest.json`
declares its interface, `{script}` does the work, `Dockerfile` packages it.

## Validate, build, run

```sh
seed validate --strict .         # the manifest: no finding at all
seed build --pull .              # the image {image}, the manifest in its label (--pull: its base too)
seed validate {image}
{run_line(manifest)} -o run1
seed test .                      # the cases in tests/ (tests/example passes as scaffolded)
seed inspect {image}              # what the job takes and gives
```

`seed build` prints the `seed run` line to start from. The image builds on `{base}` (the `BASE_IMAGE` build
argument): `seed build --pull .` fetches it where it is not local yet (seed build never pulls unless asked). On a
machine that cannot pull, give a base that is local, such as seed-runner's own (its checkout's scripts build it):
`seed build --build-arg BASE_IMAGE={LOCAL_BASES[language]} .`

## Interface

{chr(10).join(interface)}

Exit status: 0 success, 2 `bad-input` (category data), 3 `write-failed` (category job).

## Next steps

- Say what the job does in `description`, and who maintains it in `maintainer`.
- Replace the report in `{script}` with the job's real work; keep writing every output into `OUTPUT_DIR`.
- Change `jobVersion` when the algorithm changes, `packageVersion` when only the packaging or interface does.
"""
