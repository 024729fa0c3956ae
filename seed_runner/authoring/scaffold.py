"""`seed init` as a library: scaffold a Seed job folder that validates, builds and runs.

``init_job(directory, ...)`` writes:

- ``seed.manifest.json``: Seed 1.0.0, names in normalized form (``seed validate --strict`` has nothing to say),
  resources ``cpus``/``mem``/``disk``, a command that passes the inputs and OUTPUT_DIR, outputs with patterns,
  two declared errors (2 ``bad-input``, 3 ``write-failed``);
- ``Dockerfile``: ``ARG BASE_IMAGE`` (default: a public image for the language, ``busybox:stable`` or
  ``python:3.12-slim``, which ``seed build --pull`` fetches on any machine that reaches Docker Hub; a machine
  that cannot pull gives a local one) and an exec-form ``ENTRYPOINT`` (so the command's arguments reach the
  script);
- ``run.sh`` (busybox ``sh``) or ``run.py`` (Python 3, standard library only): reads the injected variables,
  checks and measures the inputs, writes a small report for every file output (a file name that matches the
  output's pattern) and the JSON outputs to ``seed.outputs.json``;
- ``README.md`` (how to validate, build, run and test the job with seed) and ``.dockerignore``;
- ``tests/example/case.json`` and its input files: a case `seed test` passes once the job is built
  (``scaffold_case``).

Names are taken as the user writes them and normalized the way the spec derives variables (``input-file`` is
``INPUT_FILE``; the job name is lower-cased for Docker); anything that cannot become a valid, Docker-friendly
name is refused with a ``ScaffoldError`` before a file is written.
"""

from __future__ import annotations

import getpass
import json
import os
from pathlib import Path
from typing import Any, Iterable, Literal, Sequence

from ..outputs.harvesting import pattern_matches
from ..manifest.media_types import OCTET_STREAM, guess_media_type
from ..manifest.names import OUTPUT_DIR
from .scaffold_names import (JSON_TYPES, ScaffoldError, check_base_image, check_pattern, environment_name,
                             file_for, job_name, job_name_from, json_type_of, split_pair, variable_name)
from .scaffold_case import case_files
from .scaffold_templates import (ENTRY_SCRIPTS, LOCAL_BASES, PUBLIC_BASES, ScaffoldOutput, ScriptContext,
                                 dockerfile_text, one_line, python_script, readme_text, shell_script)

__all__ = ["ScaffoldError", "init_job", "scaffold_files", "job_name_from", "BASE_IMAGES", "LOCAL_BASES", "JSON_TYPES",
           "DEFAULT_INPUT", "DEFAULT_OUTPUT"]

Language = Literal["shell", "python"]

BASE_IMAGES: dict[str, str] = dict(PUBLIC_BASES)
"""The default ``BASE_IMAGE`` per language: public images (``LOCAL_BASES`` are seed-runner's own local ones, for a
machine that cannot pull: scripts/build-*base*.sh)."""
DEFAULT_INPUT = "INPUT_FILE"
DEFAULT_OUTPUT = ("REPORT", "report.txt")
DEFAULT_VERSION = "0.1.0"

_RESOURCES = ("cpus", "mem", "disk")
_ERRORS = (
    {"code": 2, "name": "bad-input", "title": "Bad Input",
     "description": "An input is missing, unreadable or not what the job expects.", "category": "data"},
    {"code": 3, "name": "write-failed", "title": "Write Failed",
     "description": "The job could not write its outputs to OUTPUT_DIR.", "category": "job"},
)


# -- the manifest -----------------------------------------------------------------------------------------


def _login() -> str:
    try:
        return getpass.getuser()
    except Exception:  # noqa: BLE001 - no USER and no passwd entry (a container): a placeholder will do
        return "maintainer"


def _title_from(name: str) -> str:
    return " ".join(word.capitalize() for word in name.split("-") if word) or name


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
    name = job_name(name, Path("."))
    inputs, json_inputs, outputs, json_outputs = list(inputs), list(json_inputs), list(outputs), list(json_outputs)
    if not inputs and not json_inputs:
        inputs = [DEFAULT_INPUT]
    if not outputs and not json_outputs:
        outputs = [DEFAULT_OUTPUT]

    taken: dict[str, str] = {}
    file_vars = [environment_name("input", text, taken) for text in inputs]
    json_vars = []
    for item in json_inputs:
        text, json_type = split_pair("--json-input", item)
        json_vars.append((environment_name("json input", text, taken), json_type_of("json input", text, json_type)))
    setting_vars = [environment_name("setting", text, taken) for text in settings]
    secret_vars = [environment_name("secret", text, taken) for text in secrets]

    output_names: dict[str, str] = {}

    def output_variable(kind: str, text: str) -> str:
        variable = variable_name(kind, text)
        if variable in output_names:
            raise ScaffoldError(f"{kind} name {text!r} and {output_names[variable]} are the same output "
                                f"{variable}; give each its own name")
        output_names[variable] = f"{kind} {text!r}"
        return variable

    file_outputs: list[ScaffoldOutput] = []
    for output_item in outputs:
        text, pattern = split_pair("--output", output_item)
        variable = output_variable("output", text)
        pattern = pattern if pattern is not None else f"{variable.lower().replace('_', '-')}.txt"
        check_pattern(variable, pattern)
        file_outputs.append(ScaffoldOutput(variable, pattern, file_for(pattern, variable)))
    json_out = []
    for item in json_outputs:
        text, json_type = split_pair("--json-output", item)
        json_out.append((output_variable("json output", text), json_type_of("json output", text, json_type)))

    title = one_line(title) if title and title.strip() else _title_from(name)
    description = one_line(description) if description and description.strip() else (
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
        check_base_image(base_image)
    base = base_image or BASE_IMAGES[language]
    script = ENTRY_SCRIPTS[language]
    context = ScriptContext(manifest, file_vars, json_vars, setting_vars, secret_vars, file_outputs, json_out)
    return {
        "seed.manifest.json": json.dumps(document, indent=2, ensure_ascii=False) + "\n",
        "Dockerfile": dockerfile_text(manifest, language, base),
        script: shell_script(context) if language == "shell" else python_script(context),
        "README.md": readme_text(manifest, language, base),
        ".dockerignore": "# Kept out of the build context: run folders, test cases and documentation.\n"
                         "seed-runs\nseed-tests\ntests\nREADME.md\n",
        **case_files(context),  # tests/example: the case `seed test` passes once the job is built
    }


def _interface(file_vars: list[str], json_vars: list[tuple[str, str]], file_outputs: list[ScaffoldOutput],
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
        job_name(name, folder), title=title, description=description, inputs=inputs, json_inputs=json_inputs,
        outputs=outputs, json_outputs=json_outputs, settings=settings, secrets=secrets, language=language,
        base_image=base_image, maintainer_name=maintainer_name, maintainer_email=maintainer_email,
        job_version=job_version, package_version=package_version)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    # tests/, tests/example/: real folders of the job's, checked before anything is written
    subfolders = sorted({parent for name in files for parent in Path(name).parents[:-1]}, key=lambda p: len(p.parts))
    for subfolder in subfolders:
        if (folder / subfolder).is_symlink():
            raise ScaffoldError(f"{folder / subfolder} is a symbolic link; the scaffold writes only into real "
                                "folders: remove it or choose another folder")
    for subfolder in subfolders:
        (folder / subfolder).mkdir(exist_ok=True)
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
