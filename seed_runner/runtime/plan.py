"""The run plan: everything a container engine needs to run one Seed job, decided without an engine.

``make_plan(manifest, request)`` checks the user's request against the manifest (all problems reported
together) and returns an immutable ``RunPlan``: argv, environment (with a masked view), bind mounts with
modes, resource limits, user, labels, timeout and the files to stage. It reads file sizes and types from
the host (for ``inputMultiplier`` and the pre-flight checks) but writes nothing and never talks to Docker,
so a scheduler can build plans with its own launcher.
"""

from __future__ import annotations

import math
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Mapping, Sequence

from ..errors import SeedRunnerError
from ..manifest.model import Manifest
from ..manifest.names import INPUT_METADATA, OUTPUT_DIR, normalize_name
from ..problems import Problem, error, json_path
from . import layout
from .command import CommandSyntaxError, expand_command
from .input_files import (env_value_problem, input_files, is_flat_directory, media_type, media_type_warnings,
                          request_path)
from .json_inputs import JsonText, encode_json_input, json_type_problem, parse_json_input
from .masking import MASK, mask_text
from .resources import format_allocation, plan_resources

__all__ = ["BindMount", "JsonText", "PlanError", "RunPlan", "RunRequest", "StagedDirectory", "encode_json_input",
           "format_allocation", "json_type_problem", "make_plan", "mask_secrets", "parse_json_input"]

DEFAULT_GRACE_SECONDS = 10.0
LABEL_PREFIX = "io.seed-runner."


class PlanError(SeedRunnerError):
    """The request cannot run; ``problems`` lists every reason (``Problem``s with a code, the request path
    ``$.file_inputs.NAME``, ``$.settings.NAME``... and one line each)."""

    def __init__(self, problems: Sequence[Problem]):
        self.problems = tuple(problems)
        lines = "\n".join(f"  - {p.message}" for p in self.problems)
        super().__init__(f"cannot run the job ({len(self.problems)} problem{'s' * (len(self.problems) != 1)}):\n"
                         f"{lines}")


@dataclass(frozen=True)
class RunRequest:
    """What the user asks for; names may be written in any case or with '-' (they are normalized)."""

    image: str
    file_inputs: Mapping[str, Sequence[str | Path]] = field(default_factory=dict)
    json_inputs: Mapping[str, Any] = field(default_factory=dict)
    """Parsed JSON values (use ``parse_json_input`` for command-line text)."""
    settings: Mapping[str, str] = field(default_factory=dict)
    mounts: Mapping[str, str | Path] = field(default_factory=dict)
    resources: Mapping[str, float] = field(default_factory=dict)
    """Overrides of the final allocation, by resource name."""
    run_dir: str | Path = "."
    timeout: float | None = None
    """Seconds; None: the manifest's. 0: no limit."""
    grace_period: float = DEFAULT_GRACE_SECONDS
    user: str | None = "invoker"
    """"invoker" (this process's uid:gid), "image" (the image's own user), or "UID[:GID]"."""
    network: str | None = None
    run_id: str | None = None
    label: str | None = None
    """A name given by the user (`seed run --name`), kept in the run store."""
    batch_id: str | None = None
    """The batch this run belongs to (`seed batch`), kept in the run store."""
    pipeline_id: str | None = None
    """The pipeline this run belongs to (`seed pipeline run`), kept in the run store."""
    input_runs: tuple[str, ...] = ()
    """The runs whose outputs this run reads (a pipeline's, or a future's), kept in the run store."""


@dataclass(frozen=True)
class BindMount:
    source: str
    target: str
    read_only: bool


@dataclass(frozen=True)
class StagedDirectory:
    """A directory the runner builds on the host: hard links (else copies) of ``files`` for a multiple input,
    and empty ``placeholders`` that a single input's file is mounted over, so that the input's folder in the
    container is a read-only mount too (a file mounted alone would sit in a folder the job could write to)."""

    directory: str
    files: tuple[str, ...]
    placeholders: tuple[str, ...] = ()


@dataclass(frozen=True)
class RunPlan:
    run_id: str
    image: str
    manifest: Manifest = field(repr=False)
    command: tuple[str, ...] | None
    """argv after expansion; None (no command in the manifest) runs the image's own ENTRYPOINT/CMD; () when
    the command expands to no words, which runs ``entrypoint`` with no arguments."""
    display_command: tuple[str, ...] | None = field(repr=False)
    """The command as shown in results and messages: expanded with every secret replaced by ``****``."""
    environment: Mapping[str, str] = field(repr=False)
    secret_values: frozenset[str] = field(repr=False)
    mounts: tuple[BindMount, ...]
    staged: tuple[StagedDirectory, ...]
    run_dir: str
    output_dir: str
    input_metadata_file: str
    input_metadata: Mapping[str, Any] = field(repr=False)
    allocations: Mapping[str, float]
    nano_cpus: int | None
    memory_bytes: int | None
    shm_bytes: int | None
    gpus: int | None
    disk_mib: float | None
    user: str | None
    network: str | None
    timeout: float | None
    grace_period: float
    labels: Mapping[str, str]
    entrypoint: tuple[str, ...] | None = None
    """The image's ENTRYPOINT, set when ``command`` is () (the engine would otherwise run the image's CMD)."""
    warnings: tuple[Problem, ...] = ()
    """Things worth saying that do not stop the run (severity warning)."""

    @property
    def masked_environment(self) -> dict[str, str]:
        """The environment with every secret value replaced, for display and results."""
        return {k: mask_secrets(v, self.secret_values) for k, v in self.environment.items()}


def mask_secrets(text: str, secrets: frozenset[str] | Sequence[str]) -> str:
    """``text`` with every secret replaced by ``****``, also where it is written escaped (``runtime.masking``)."""
    return mask_text(text, secrets)


def _by_variable(given: Mapping[str, Any]) -> dict[str, tuple[str, Any]]:
    return {normalize_name(name): (name, value) for name, value in given.items()}


def make_plan(manifest: Manifest, request: RunRequest, *, image_env: Mapping[str, str] | None = None,
              image_entrypoint: Sequence[str] | None = None,
              known_media_types: Mapping[str, str] | None = None) -> RunPlan:
    """Check ``request`` against ``manifest`` and decide the run; raises PlanError with every problem.

    ``image_env`` and ``image_entrypoint`` are the image's ENV and ENTRYPOINT, when known (the command's
    expansion sees the ENV; a command that expands to nothing runs the ENTRYPOINT alone).
    ``known_media_types``: file media types known from elsewhere, by host path (a URL input's Content-Type),
    used where the input allows them (``input_files.media_type``); other files' are guessed from their names.
    """
    problems: list[Problem] = []
    warnings: list[Problem] = []
    face = manifest.job.interface
    run_id = request.run_id or os.urandom(6).hex()
    run_dir = Path(request.run_dir).absolute()
    env: dict[str, str] = {OUTPUT_DIR: layout.OUTPUT_DIR, INPUT_METADATA: layout.INPUT_METADATA_FILE}
    mounts: list[BindMount] = []
    staged: list[StagedDirectory] = []
    metadata: dict[str, Any] = {}
    total_bytes = 0

    # -- names the manifest does not declare ---------------------------------------------------
    declared = {
        "input": {i.variable for i in face.file_inputs} | {j.variable for j in face.json_inputs},
        "setting": {s.variable for s in face.settings},
        "mount": {normalize_name(m.name) for m in face.mounts},
    }
    for kind, given, option, member in (("input", request.file_inputs, "-i", "file_inputs"),
                                        ("input", request.json_inputs, "-j", "json_inputs"),
                                        ("setting", request.settings, "-e", "settings"),
                                        ("mount", request.mounts, "-m", "mounts")):
        for name in given:
            if normalize_name(name) not in declared[kind]:
                known = ", ".join(sorted(declared[kind])) or "none"
                problems.append(error(f"unknown-{kind}", request_path(member, name), f"{option} {name}: the manifest "
                                      f"declares no {kind} of that name (declared: {known})"))
    file_given = _by_variable(request.file_inputs)
    json_given = _by_variable(request.json_inputs)
    file_types = {i.variable for i in face.file_inputs}
    for variable, (name, _) in json_given.items():
        if variable in file_types:
            problems.append(error("not-a-json-input", request_path("json_inputs", name),
                                  f"-j {name}: {variable} is a file input; give it with -i {name}=PATH"))
    for variable, (name, _) in file_given.items():
        if variable in {j.variable for j in face.json_inputs}:
            problems.append(error("not-a-file-input", request_path("file_inputs", name),
                                  f"-i {name}: {variable} is a JSON input; give it with -j {name}=VALUE"))

    # -- file inputs ---------------------------------------------------------------------------
    for spec in face.file_inputs:
        _, paths = file_given.get(spec.variable, (None, ()))
        if not paths:
            if spec.required:
                problems.append(error("missing-input", request_path("file_inputs", spec.name),
                                      f"input {spec.name} is required: give it with -i {spec.name}=PATH"))
            continue
        files, size, input_problems, input_warnings = input_files(spec, [Path(p) for p in paths])
        problems.extend(input_problems)
        warnings.extend(input_warnings)
        if input_problems:
            continue
        total_bytes += size
        types = {n: media_type(spec, n, (known_media_types or {}).get(str(f.absolute()))) for n, f in files}
        warnings.extend(media_type_warnings(spec, [f for _, f in files], types))
        container_dir = f"{layout.INPUTS_ROOT}/{spec.variable}"
        if spec.multiple:
            if len(paths) == 1 and is_flat_directory(Path(paths[0])):  # mount it as it is, read-only
                staged.append(StagedDirectory(str(run_dir / "work" / "inputs" / spec.variable), ()))  # mount point
                mounts.append(BindMount(str(Path(paths[0]).absolute()), container_dir, True))
            else:
                host_dir = run_dir / "work" / "inputs" / spec.variable
                staged.append(StagedDirectory(str(host_dir), tuple(str(f.absolute()) for _, f in files)))
                mounts.append(BindMount(str(host_dir), container_dir, True))
            env[spec.variable] = container_dir
        else:
            (name, host_file), = files
            target = f"{container_dir}/{name}"
            host_dir = run_dir / "work" / "inputs" / spec.variable
            staged.append(StagedDirectory(str(host_dir), (), placeholders=(name,)))
            mounts.append(BindMount(str(host_dir), container_dir, True))  # the engine mounts parents first
            mounts.append(BindMount(str(host_file.absolute()), target, True))
            env[spec.variable] = target
        metadata[spec.name] = [
            {"file_name": name, "path": f"{container_dir}/{name}" if spec.multiple else env[spec.variable],
             "media_type": types[name], "file_size": f.stat().st_size}
            for name, f in files]

    if staged:  # /seed/inputs itself is read-only too: the job cannot add an input folder beside the others
        mounts.insert(0, BindMount(str(run_dir / "work" / "inputs"), layout.INPUTS_ROOT, True))

    # -- JSON inputs ---------------------------------------------------------------------------
    for spec in face.json_inputs:
        if spec.variable not in json_given:
            if spec.required:
                problems.append(error("missing-input", request_path("json_inputs", spec.name),
                                      f"input {spec.name} is required: give it with -j {spec.name}=VALUE"))
            continue
        _, value = json_given[spec.variable]
        if isinstance(value, JsonText):
            try:
                value = parse_json_input(value, spec.type)
            except ValueError as exc:
                problems.append(error("invalid-json-input", request_path("json_inputs", spec.name),
                                      f"input {spec.name}: {exc}; give a JSON {spec.type}"))
                continue
        why = json_type_problem(value, spec.type)
        if why:
            problems.append(error("json-input-type", request_path("json_inputs", spec.name), f"input {spec.name} {why}"))
            continue
        env[spec.variable] = encode_json_input(value, spec.type)
        metadata[spec.name] = value
        if why := env_value_problem(env[spec.variable]):
            problems.append(error("invalid-json-input", request_path("json_inputs", spec.name),
                                  f"input {spec.name}: {why}"))

    # -- settings ------------------------------------------------------------------------------
    settings_given = _by_variable(request.settings)
    secrets: set[str] = set()
    for spec in face.settings:
        if spec.variable not in settings_given:
            hint = f"--secret {spec.name}=FILE or -e {spec.name} (from the environment)" if spec.secret \
                else f"-e {spec.name}=VALUE"
            problems.append(error("missing-setting", request_path("settings", spec.name),
                                  f"setting {spec.name} has no value: give it with {hint}"))
            continue
        value = str(settings_given[spec.variable][1])
        env[spec.variable] = value
        if why := env_value_problem(value):  # the name, never the value: it may be a secret
            problems.append(error("invalid-setting", request_path("settings", spec.name),
                                  f"setting {spec.name}: {why}"))
        if spec.secret and value:
            secrets.add(value)

    # -- mounts --------------------------------------------------------------------------------
    mounts_given = _by_variable(request.mounts)
    for spec in face.mounts:
        key = normalize_name(spec.name)
        if key not in mounts_given:
            problems.append(error("missing-mount", request_path("mounts", spec.name),
                                  f"mount {spec.name} ({spec.path}, {spec.mode}) has no host path: give it with "
                                  f"-m {spec.name}=HOST_PATH"))
            continue
        host = Path(os.path.expanduser(str(mounts_given[key][1]))).absolute()
        if not host.exists():
            problems.append(error("mount-not-found", request_path("mounts", spec.name),
                                  f"mount {spec.name}: {host} does not exist"))
            continue
        mounts.append(BindMount(str(host), spec.path, spec.mode != "rw"))

    # -- resources -----------------------------------------------------------------------------
    resources = plan_resources(manifest, request.resources, total_bytes / 1048576)
    problems.extend(resources.problems)
    warnings.extend(resources.warnings)
    env.update(resources.environment)

    # -- command -------------------------------------------------------------------------------
    command: tuple[str, ...] | None = None
    display_command: tuple[str, ...] | None = None
    entrypoint: tuple[str, ...] | None = None
    if face.command is not None:
        expansion_env = {**(image_env or {}), **env}
        try:
            command = tuple(expand_command(face.command, expansion_env))
        except CommandSyntaxError as exc:
            problems.append(error("command-syntax", "$.job.interface.command", f"interface.command: {exc}"))
        else:
            # Expanding again with the secrets masked shows where they go, even when a secret with spaces
            # was split into several words (masking the words one by one would miss it).
            secret_variables = {s.variable for s in face.settings if s.secret}
            shown_env = {k: MASK if k in secret_variables else mask_secrets(v, secrets)
                         for k, v in expansion_env.items()}
            display_command = tuple(expand_command(face.command, shown_env))
            if not command:
                if image_entrypoint:
                    entrypoint = tuple(image_entrypoint)
                elif image_entrypoint is not None:
                    problems.append(error("nothing-to-run", "$.job.interface.command",
                                          "interface.command expands to no words and the image has no ENTRYPOINT: "
                                          "there is nothing to run; give the command or an ENTRYPOINT"))

    timeout = _seconds(manifest.job.timeout if request.timeout is None else request.timeout)
    for what, member, seconds in (("--timeout", "timeout", request.timeout),
                                  ("--grace", "grace_period", request.grace_period)):
        if seconds is not None and not (0 <= _seconds(seconds) <= threading.TIMEOUT_MAX):
            problems.append(error(f"invalid-{member.replace('_', '-')}", json_path((member,)),
                                  f"{what} {_seconds(seconds):g}: give a number of seconds from 0 to "
                                  f"{threading.TIMEOUT_MAX:.0f}" + (" (0: no limit)" if what == "--timeout" else "")))
    if request.timeout is None and timeout > threading.TIMEOUT_MAX:  # a clock cannot wait that long
        problems.append(error("invalid-timeout", "$.job.timeout",
                              f"the manifest's timeout, {timeout:g} s, is more than a runner can wait "
                              f"({threading.TIMEOUT_MAX:.0f} s); lower job.timeout, or give --timeout SECONDS "
                              "(0: no limit)"))

    if problems:
        raise PlanError(problems)

    return RunPlan(
        run_id=run_id,
        image=request.image,
        manifest=manifest,
        command=command,
        display_command=display_command,
        entrypoint=entrypoint,
        environment=MappingProxyType(env),
        secret_values=frozenset(secrets),
        mounts=(*mounts,
                BindMount(str(run_dir / "outputs"), layout.OUTPUT_DIR, False),
                BindMount(str(run_dir / "work" / "input-metadata.json"), layout.INPUT_METADATA_FILE, True)),
        staged=tuple(staged),
        run_dir=str(run_dir),
        output_dir=str(run_dir / "outputs"),
        input_metadata_file=str(run_dir / "work" / "input-metadata.json"),
        input_metadata=MappingProxyType({"JOB": metadata}),
        allocations=MappingProxyType(resources.allocations),
        nano_cpus=resources.nano_cpus,
        memory_bytes=resources.memory_bytes,
        shm_bytes=resources.shm_bytes,
        gpus=resources.gpus,
        disk_mib=resources.allocations.get("disk"),
        user=_user(request.user),
        network=request.network,
        timeout=timeout if timeout > 0 else None,  # a manifest's timeout <= 0 means no limit (validate warns)
        grace_period=request.grace_period,
        labels=MappingProxyType({
            f"{LABEL_PREFIX}run-id": run_id,
            f"{LABEL_PREFIX}job": manifest.job.name,
            f"{LABEL_PREFIX}job-version": manifest.job.job_version,
        }),
        warnings=tuple(warnings),
    )


def _seconds(value: float) -> float:
    """Seconds as a float; an integer too large for one is infinity (refused like any other too-long wait)."""
    try:
        return float(value)
    except OverflowError:
        return math.inf


def _user(user: str | None) -> str | None:
    if user in (None, "image"):
        return None
    if user == "invoker":
        return f"{os.getuid()}:{os.getgid()}"
    return user
