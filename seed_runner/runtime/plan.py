"""The run plan: everything a container engine needs to run one Seed job, decided without an engine.

``make_plan(manifest, request)`` checks the user's request against the manifest (all problems reported
together) and returns an immutable ``RunPlan``: argv, environment (with a masked view), bind mounts with
modes, resource limits, user, labels, timeout and the files to stage. It reads file sizes and types from
the host (for ``inputMultiplier`` and the pre-flight checks) but writes nothing and never talks to Docker,
so a scheduler can build plans with its own launcher.
"""

from __future__ import annotations

import json
import math
import os
import stat
import threading
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Mapping, Sequence

from . import layout
from .command import CommandSyntaxError, expand_command
from ..errors import SeedRunnerError
from ..manifest.media_types import guess_media_type
from ..manifest.model import FileInput, Manifest
from ..manifest.names import INPUT_METADATA, KNOWN_RESOURCES, OUTPUT_DIR, allocated_variable, normalize_name

# Docker refuses memory limits below 6 MiB.
DOCKER_MIN_MEMORY_MIB = 6
DEFAULT_GRACE_SECONDS = 10.0
LABEL_PREFIX = "io.seed-runner."
MASK = "****"


class PlanError(SeedRunnerError):
    """The request cannot run; ``problems`` lists every reason, one line each."""

    def __init__(self, problems: Sequence[str]):
        self.problems = tuple(problems)
        lines = "\n".join(f"  - {p}" for p in self.problems)
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


@dataclass(frozen=True)
class BindMount:
    source: str
    target: str
    read_only: bool


@dataclass(frozen=True)
class StagedDirectory:
    """A directory the runner builds on the host (hard links, else copies) for a multiple input."""

    directory: str
    files: tuple[str, ...]


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
    warnings: tuple[tuple[str, str], ...] = ()
    """(code, message) pairs: things worth saying that do not stop the run."""

    @property
    def masked_environment(self) -> dict[str, str]:
        """The environment with every secret value replaced, for display and results."""
        return {k: mask_secrets(v, self.secret_values) for k, v in self.environment.items()}


def mask_secrets(text: str, secrets: frozenset[str] | Sequence[str]) -> str:
    for secret in sorted(secrets, key=len, reverse=True):
        if secret:
            text = text.replace(secret, MASK)
    return text


class JsonText(str):
    """A JSON input as typed on a command line: parsed against the input's type by make_plan."""


def parse_json_input(text: str, expected: str) -> Any:
    """A ``-j NAME=VALUE`` value: strict JSON text (no NaN, bounded size and depth), or for a string input
    any text that is not JSON."""
    from ..manifest.jsontext import parse_json_text

    value, findings = parse_json_text(text, what="JSON input")
    errors = [f for f in findings if f.severity == "error"]
    if not errors:
        return value
    if expected == "string":
        return text
    raise ValueError(errors[0].message)


def json_type_problem(value: Any, expected: str) -> str | None:
    """Why ``value`` is not of the manifest's JSON ``type`` (a boolean is not an integer), or None."""
    ok = {
        "string": isinstance(value, str),
        "boolean": isinstance(value, bool),
        "integer": isinstance(value, int) and not isinstance(value, bool),
        "number": isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value),
        "object": isinstance(value, dict),
        "array": isinstance(value, list),
    }[expected]
    if ok:
        return None
    shown = json.dumps(value)
    shown = shown if len(shown) <= 40 else shown[:37] + "..."
    return f"must be a JSON {expected}, got {shown}"


def encode_json_input(value: Any, expected: str) -> str:
    """DECISIONS "Environment injection": strings raw, objects and arrays compact, scalars as JSON literals."""
    if expected == "string":
        return value
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def format_allocation(name: str, value: float) -> str:
    """``mem`` and ``sharedMem`` as integers (ceil), every other scalar with six decimals."""
    if name in ("mem", "sharedMem"):
        return str(math.ceil(value))
    return f"{value:.6f}"


def _by_variable(given: Mapping[str, Any]) -> dict[str, tuple[str, Any]]:
    return {normalize_name(name): (name, value) for name, value in given.items()}


def _container_name(name: str) -> str:
    # File names are kept, except that a name cannot climb or hide in the container's tree.
    return name.replace("/", "_") if name not in ("", ".", "..") else f"_{name}"


def make_plan(manifest: Manifest, request: RunRequest, *, image_env: Mapping[str, str] | None = None,
              image_entrypoint: Sequence[str] | None = None) -> RunPlan:
    """Check ``request`` against ``manifest`` and decide the run; raises PlanError with every problem.

    ``image_env`` and ``image_entrypoint`` are the image's ENV and ENTRYPOINT, when known (the command's
    expansion sees the ENV; a command that expands to nothing runs the ENTRYPOINT alone).
    """
    problems: list[str] = []
    warnings: list[tuple[str, str]] = []
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
    for kind, given, option in (("input", request.file_inputs, "-i"), ("input", request.json_inputs, "-j"),
                                ("setting", request.settings, "-e"), ("mount", request.mounts, "-m")):
        for name in given:
            if normalize_name(name) not in declared[kind]:
                known = ", ".join(sorted(declared[kind])) or "none"
                problems.append(f"{option} {name}: the manifest declares no {kind} of that name (declared: {known})")
    file_given = _by_variable(request.file_inputs)
    json_given = _by_variable(request.json_inputs)
    file_types = {i.variable for i in face.file_inputs}
    for variable, (name, _) in json_given.items():
        if variable in file_types:
            problems.append(f"-j {name}: {variable} is a file input; give it with -i {name}=PATH")
    for variable, (name, _) in file_given.items():
        if variable in {j.variable for j in face.json_inputs}:
            problems.append(f"-i {name}: {variable} is a JSON input; give it with -j {name}=VALUE")

    # -- file inputs ---------------------------------------------------------------------------
    for spec in face.file_inputs:
        _, paths = file_given.get(spec.variable, (None, ()))
        if not paths:
            if spec.required:
                problems.append(f"input {spec.name} is required: give it with -i {spec.name}=PATH")
            continue
        files, size, input_problems, input_warnings = _input_files(spec, [Path(p) for p in paths])
        problems.extend(input_problems)
        warnings.extend(input_warnings)
        if input_problems:
            continue
        total_bytes += size
        warnings.extend(_media_type_warnings(spec, [f for _, f in files]))
        container_dir = f"{layout.INPUTS_ROOT}/{spec.variable}"
        if spec.multiple:
            if len(paths) == 1 and _is_flat_directory(Path(paths[0])):  # mount it as it is, read-only
                mounts.append(BindMount(str(Path(paths[0]).absolute()), container_dir, True))
            else:
                host_dir = run_dir / "work" / "inputs" / spec.variable
                staged.append(StagedDirectory(str(host_dir), tuple(str(f.absolute()) for _, f in files)))
                mounts.append(BindMount(str(host_dir), container_dir, True))
            env[spec.variable] = container_dir
        else:
            (name, host_file), = files
            target = f"{container_dir}/{name}"
            mounts.append(BindMount(str(host_file.absolute()), target, True))
            env[spec.variable] = target
        metadata[spec.name] = [
            {"file_name": name, "path": f"{container_dir}/{name}" if spec.multiple else env[spec.variable],
             "media_type": guess_media_type(name), "file_size": f.stat().st_size}
            for name, f in files]

    # -- JSON inputs ---------------------------------------------------------------------------
    for spec in face.json_inputs:
        if spec.variable not in json_given:
            if spec.required:
                problems.append(f"input {spec.name} is required: give it with -j {spec.name}=VALUE")
            continue
        _, value = json_given[spec.variable]
        if isinstance(value, JsonText):
            try:
                value = parse_json_input(value, spec.type)
            except ValueError as exc:
                problems.append(f"input {spec.name}: {exc}; give a JSON {spec.type}")
                continue
        why = json_type_problem(value, spec.type)
        if why:
            problems.append(f"input {spec.name} {why}")
            continue
        env[spec.variable] = encode_json_input(value, spec.type)
        metadata[spec.name] = value

    # -- settings ------------------------------------------------------------------------------
    settings_given = _by_variable(request.settings)
    secrets: set[str] = set()
    for spec in face.settings:
        if spec.variable not in settings_given:
            hint = f"--secret {spec.name}=FILE or -e {spec.name} (from the environment)" if spec.secret \
                else f"-e {spec.name}=VALUE"
            problems.append(f"setting {spec.name} has no value: give it with {hint}")
            continue
        value = str(settings_given[spec.variable][1])
        env[spec.variable] = value
        if spec.secret and value:
            secrets.add(value)

    # -- mounts --------------------------------------------------------------------------------
    mounts_given = _by_variable(request.mounts)
    for spec in face.mounts:
        key = normalize_name(spec.name)
        if key not in mounts_given:
            problems.append(f"mount {spec.name} ({spec.path}, {spec.mode}) has no host path: give it with "
                            f"-m {spec.name}=HOST_PATH")
            continue
        host = Path(os.path.expanduser(str(mounts_given[key][1]))).absolute()
        if not host.exists():
            problems.append(f"mount {spec.name}: {host} does not exist")
            continue
        mounts.append(BindMount(str(host), spec.path, spec.mode != "rw"))

    # -- resources -----------------------------------------------------------------------------
    allocations, resource_problems = _allocations(manifest, request.resources, total_bytes / 1048576)
    problems.extend(resource_problems)
    for name, value in allocations.items():
        env[allocated_variable(name)] = format_allocation(name, value)
    memory = allocations.get("mem")
    if memory is not None and memory < DOCKER_MIN_MEMORY_MIB:
        warnings.append(("memory-raised",
                         f"mem {memory:g} MiB is below Docker's minimum; the limit is {DOCKER_MIN_MEMORY_MIB} MiB"))
        memory = DOCKER_MIN_MEMORY_MIB
        env[allocated_variable("mem")] = format_allocation("mem", memory)

    # -- command -------------------------------------------------------------------------------
    command: tuple[str, ...] | None = None
    display_command: tuple[str, ...] | None = None
    entrypoint: tuple[str, ...] | None = None
    if face.command is not None:
        expansion_env = {**(image_env or {}), **env}
        try:
            command = tuple(expand_command(face.command, expansion_env))
        except CommandSyntaxError as exc:
            problems.append(f"interface.command: {exc}")
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
                    problems.append("interface.command expands to no words and the image has no ENTRYPOINT: "
                                    "there is nothing to run; give the command or an ENTRYPOINT")

    timeout = float(manifest.job.timeout) if request.timeout is None else float(request.timeout)
    for what, seconds in (("--timeout", request.timeout), ("--grace", request.grace_period)):
        if seconds is not None and not (0 <= float(seconds) <= threading.TIMEOUT_MAX):
            problems.append(f"{what} {seconds:g}: give a number of seconds from 0 to {threading.TIMEOUT_MAX:.0f}"
                            + (" (0: no limit)" if what == "--timeout" else ""))

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
        allocations=MappingProxyType(allocations),
        nano_cpus=int(allocations["cpus"] * 1e9) if allocations.get("cpus") else None,
        memory_bytes=math.ceil(memory) * 1048576 if memory is not None else None,
        shm_bytes=math.ceil(allocations["sharedMem"]) * 1048576 if allocations.get("sharedMem") else None,
        gpus=math.ceil(allocations["gpus"]) if allocations.get("gpus") else None,
        disk_mib=allocations.get("disk"),
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


def _input_files(spec: FileInput, paths: list[Path]
                 ) -> tuple[list[tuple[str, Path]], int, list[str], list[tuple[str, str]]]:
    """(container file name, host file) pairs of an input, their total size, the problems and the warnings."""
    problems: list[str] = []
    warnings: list[tuple[str, str]] = []
    files: list[tuple[str, Path]] = []
    for path in paths:
        try:
            mode = path.stat().st_mode
        except OSError:
            problems.append(f"input {spec.name}: {_shown(path)} does not exist")
            continue
        if stat.S_ISDIR(mode):
            if not spec.multiple:
                problems.append(f"input {spec.name} takes one file, but {_shown(path)} is a directory")
                continue
            skipped = 0
            for child in sorted(path.iterdir()):
                if child.is_file():
                    files.append((child.name, child))
                else:
                    skipped += 1
            if skipped:  # DECISIONS: a multiple input is one flat directory of files
                warnings.append(("input-subfolders-skipped",
                                 f"input {spec.name}: {skipped} entr{'y' if skipped == 1 else 'ies'} of "
                                 f"{_shown(path)} that are not files (subfolders) were left out; a multiple input "
                                 "is one flat directory"))
        elif stat.S_ISREG(mode):
            files.append((path.name, path))
        else:
            problems.append(f"input {spec.name}: {_shown(path)} is not a regular file")
    if not spec.multiple and len(files) > 1:
        problems.append(f"input {spec.name} takes one file, but {len(files)} were given (declare it multiple, or "
                        "give one)")
    names: dict[str, Path] = {}
    total = 0
    for name, file in files:
        if _shown(name) != name:
            problems.append(f"input {spec.name}: the file name {_shown(name)!r} is not valid UTF-8; rename it")
            continue
        if not os.access(file, os.R_OK):
            problems.append(f"input {spec.name}: {_shown(file)} is not readable")
        other = names.setdefault(_container_name(name), file)
        if other != file:
            problems.append(f"input {spec.name}: {_shown(other)} and {_shown(file)} have the same name; the input "
                            "directory is flat, rename one")
        total += file.stat().st_size
    if spec.multiple and not files and not problems:
        problems.append(f"input {spec.name}: no files in {', '.join(_shown(p) for p in paths)}")
    return [(_container_name(n), f) for n, f in files], total, problems, warnings


def _shown(path: str | Path) -> str:
    """A path as text that can always be printed: bytes that are not UTF-8 become U+FFFD."""
    return str(path).encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def _is_flat_directory(path: Path) -> bool:
    """A directory holding only regular files (no subdirectories, links or devices) can be mounted as it is;
    anything else is staged as a flat directory of its regular files (DECISIONS: one flat directory)."""
    if not path.is_dir():
        return False
    with os.scandir(path) as entries:
        return all(entry.is_file(follow_symlinks=False) for entry in entries)


def _media_type_warnings(spec: FileInput, files: list[Path]) -> list[tuple[str, str]]:
    if not spec.media_types:
        return []
    return [("input-media-type", f"input {spec.name}: {f.name} looks like {guess_media_type(f.name)}, not "
             f"{' or '.join(spec.media_types)}") for f in files if guess_media_type(f.name) not in spec.media_types]


def _allocations(manifest: Manifest, overrides: Mapping[str, float], input_mib: float
                 ) -> tuple[dict[str, float], list[str]]:
    problems = []
    result: dict[str, float] = {}
    for scalar in manifest.job.resources or ():
        result[scalar.name] = scalar.value + scalar.input_multiplier * input_mib
    for name, value in overrides.items():
        if not isinstance(value, (int, float)) or isinstance(value, bool) or value < 0 or not math.isfinite(value):
            problems.append(f"--resource {name}={value!r}: give a number of 0 or more")
            continue
        result[name] = float(value)
    for name in result:
        if name not in KNOWN_RESOURCES and name not in overrides:
            problems.append(f"resource {name} is not one seed-runner can allocate ({', '.join(KNOWN_RESOURCES)}); "
                            f"give it explicitly with --resource {name}=VALUE to run anyway")
    return result, problems


def _user(user: str | None) -> str | None:
    if user in (None, "image"):
        return None
    if user == "invoker":
        return f"{os.getuid()}:{os.getgid()}"
    return user
