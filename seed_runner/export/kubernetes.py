"""A Seed run as a Kubernetes ``batch/v1`` Job that keeps the Seed runtime contract (``seed export kubernetes``).

One run, its request fixed at export time like ``seed run``'s: the command is expanded here with the runner's own
expander against the container-side values, and the environment follows the contract (inputs, settings,
``OUTPUT_DIR``, ``INPUT_METADATA``, ``ALLOCATED_*``). What the cluster must do itself:

- **inputs**: a URL is downloaded by an init container (``stage``) into an ``emptyDir`` mounted read-only at
  ``/seed/inputs``; a path inside a PersistentVolumeClaim (``input_claim``) is mounted read-only by ``subPath`` at
  the same place. The init container also writes ``/seed/input-metadata.json`` with the files' sizes.
- **secret settings**: a ``secretKeyRef`` to a Secret (``settings_secret``, key = the setting's name), never a
  value; a secret the command reads is passed as ``$(NAME)``, which the kubelet expands from the environment.
- **outputs**: a volume at ``/seed/outputs``: a claim (``output_claim``) to keep them, else an ``emptyDir``.
- **limits**: ``activeDeadlineSeconds`` is the timeout, ``backoffLimit: 0``, ``restartPolicy: Never``; cpus, mem
  and gpus are requests and limits, disk an ``ephemeral-storage`` request, ``sharedMem`` an in-memory
  ``emptyDir`` at ``/dev/shm``; a ``podFailurePolicy`` has one ``FailJob`` rule per declared exit code, so the
  Job's failure condition names the rule (and so the Seed error) that ended it.
Pure: documents in, documents out; nothing is contacted.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import shlex
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence
from urllib.parse import urlsplit

from ..manifest.media_types import guess_media_type
from ..manifest.model import Manifest
from ..runtime import layout
from ..runtime.command import expand_command
from ..runtime.json_inputs import encode_json_input
from ..runtime.resources import DOCKER_MIN_MEMORY_MIB, format_allocation
from .kubernetes_checks import (file_name_problem, kubelet_escape, mount_path_problems, request_problems,
                                subpath_problem, url_problem)
from .stage_shell import MEDIA_TYPE_FUNCTION, claim_folder_records

__all__ = ["KubernetesRequest", "ExportProblem", "kubernetes_job"]

DEFAULT_STAGER_IMAGE = "curlimages/curl:8.11.1"
CONTAINER = "job"
# curl where the image has it (https), else BusyBox's wget
_FETCH = ('fetch() { if command -v curl >/dev/null 2>&1; then curl -fsSL --retry 3 -o "$2" "$1"; '
          'else wget -q -O "$2" "$1"; fi; }')
_META = "/seed/meta"  # where the init container writes input-metadata.json (the job sees it at INPUT_METADATA)


class ExportProblem(ValueError):
    """The request cannot be exported; ``str(exc)`` lists every reason, one a line."""


@dataclass(frozen=True)
class KubernetesRequest:
    """What ``seed export kubernetes`` was asked for (names as in the manifest, or normalized)."""

    image: str
    file_inputs: Mapping[str, Sequence[str]] = field(default_factory=dict)
    """``https://...``/``http://...`` URLs, or paths inside ``input_claim``."""
    json_inputs: Mapping[str, Any] = field(default_factory=dict)
    settings: Mapping[str, str] = field(default_factory=dict)
    """Values of settings that are not secret (a secret's value is refused: it would be written in the YAML)."""
    mounts: Mapping[str, str] = field(default_factory=dict)
    """``CLAIM`` or ``CLAIM:SUBPATH`` for each declared mount."""
    name: str | None = None
    namespace: str | None = None
    input_claim: str | None = None
    output_claim: str | None = None
    output_subpath: str | None = None
    settings_secret: str | None = None
    stager_image: str = DEFAULT_STAGER_IMAGE


def _dns_name(text: str, limit: int = 63) -> str:
    name = re.sub(r"[^a-z0-9-]+", "-", text.lower()).strip("-")
    return (name or "seed-job")[:limit].rstrip("-")


def _by_variable(values: Mapping[str, Any]) -> dict[str, tuple[str, Any]]:
    from ..manifest.names import normalize_name

    return {normalize_name(k): (k, v) for k, v in values.items()}


def kubernetes_job(manifest: Manifest, request: KubernetesRequest) -> dict[str, Any]:
    """The ``batch/v1`` Job of one run of ``manifest`` (raises ExportProblem with every reason)."""
    job, face = manifest.job, manifest.job.interface
    problems: list[str] = []
    files, jsons = _by_variable(request.file_inputs), _by_variable(request.json_inputs)
    settings, mounts_given = _by_variable(request.settings), _by_variable(request.mounts)
    known = {s.variable for s in (*face.file_inputs, *face.json_inputs, *face.settings)}
    for variable, (name, _) in mounts_given.items():
        if variable not in {_by_variable({m.name: 0}).popitem()[0] for m in face.mounts}:
            problems.append(f"{_printable(name)}: the manifest declares no such mount")
    for variable, (name, _) in {**files, **jsons, **settings}.items():
        if variable not in known:
            problems.append(f"{_printable(name)}: the manifest declares no such input or setting")
    problems += request_problems(request)

    env: dict[str, str] = {}
    volume_mounts: list[dict[str, Any]] = []
    volumes: list[dict[str, Any]] = [{"name": "seed-inputs", "emptyDir": {}}, {"name": "seed-meta", "emptyDir": {}}]
    stage_lines = ["set -eu", _FETCH, MEDIA_TYPE_FUNCTION, f"mkdir -p {layout.INPUTS_ROOT}"]
    metadata_parts: list[str] = []  # shell words printing the JOB members
    for spec in face.file_inputs:
        _, sources = files.get(spec.variable, (None, ()))
        if not sources:
            if spec.required:
                problems.append(f"input {spec.name} is required: give it with -i {spec.name}=URL|CLAIM_PATH")
            continue
        if len(sources) > 1 and not spec.multiple:
            problems.append(f"input {spec.name} takes one file, {len(sources)} were given")
            continue
        folder = f"{layout.INPUTS_ROOT}/{spec.variable}"
        stage_lines.append(f"mkdir -p {folder}")
        records = []
        bases: set[str] = set()
        for source in sources:
            base = _file_name(source)
            target = f"{folder}/{base}"
            if why := (file_name_problem(f"input {spec.name}: {_shown(source)!r}", base) or (
                    url_problem(f"input {spec.name}", source) if _is_url(source) else
                    subpath_problem(f"input {spec.name}: the path", _shown(source).strip("/")))):
                problems.append(why)
                continue
            if base in bases:
                problems.append(f"input {spec.name}: two files are named {base!r}; the job sees them in one folder, "
                                "so give each a different name")
                continue
            bases.add(base)
            if _is_url(source):
                parts = urlsplit(source)
                if parts.username or parts.password or parts.query:
                    problems.append(f"input {spec.name}: a URL with credentials or a query would be written into "
                                    "the Job; put the file in a claim (--input-claim) instead")
                    continue
                stage_lines.append(f"fetch {shlex.quote(source)} {shlex.quote(target)}")
            elif request.input_claim:
                volume_mounts.append({"name": "seed-input-claim", "mountPath": target if not spec.multiple or len(
                    sources) > 1 else folder, "subPath": source.strip("/"), "readOnly": True})
                if spec.multiple and len(sources) == 1:
                    target = None  # a folder of the claim: its files are listed at run time
            else:
                problems.append(f"input {spec.name}: {_printable(_shown(source))} is not an http(s) URL; give a URL, "
                                "or name the claim that holds it with --input-claim")
                continue
            records.append((base, target))
        env[spec.variable] = folder if spec.multiple else f"{folder}/{_file_name(sources[0])}"
        metadata_parts.append(_metadata_shell(spec.name, folder, records))
    for spec in face.json_inputs:
        if spec.variable not in jsons:
            if spec.required:
                problems.append(f"input {spec.name} is required: give it with -j {spec.name}=VALUE")
            continue
        value = jsons[spec.variable][1]
        env[spec.variable] = encode_json_input(value, spec.type)
        metadata_parts.append(f"printf '%s' {shlex.quote(json.dumps(spec.name) + ':' + json.dumps(value))}")

    secret_name = request.settings_secret or f"{_dns_name(job.name)}-settings"
    env_list: list[dict[str, Any]] = []
    placeholders: dict[str, str] = {}
    for setting in face.settings:
        if setting.secret:
            if setting.variable in settings:
                problems.append(f"setting {setting.name} is secret: its value never goes in the Job; put it in "
                                f"the Secret {secret_name} under the key {setting.name}")
            token = "\x00" + hashlib.sha256(setting.variable.encode()).hexdigest() + "\x00"
            placeholders[token] = f"$({setting.variable})"
            env[setting.variable] = token
            continue
        if setting.variable not in settings:
            problems.append(f"setting {setting.name} has no value: give it with -e {setting.name}=VALUE")
            continue
        env[setting.variable] = settings[setting.variable][1]

    env["OUTPUT_DIR"] = layout.OUTPUT_DIR
    env["INPUT_METADATA"] = layout.INPUT_METADATA_FILE
    allocations = {s.name: s.value for s in job.resources or ()}  # input MiB is not known here (URLs)
    for scalar in job.resources or ():  # inputMultiplier needs the inputs' sizes, not known before they are fetched
        value = max(scalar.value, DOCKER_MIN_MEMORY_MIB) if scalar.name == "mem" else scalar.value
        env[scalar.variable] = format_allocation(scalar.name, value)

    volumes_by_mount = _mount_volumes(manifest, mounts_given, problems)
    problems += _secret_use_problems(manifest)
    if problems:
        raise ExportProblem("\n".join(problems))

    argv = _arguments(manifest, env, placeholders)
    for variable, value in env.items():
        if value in placeholders:
            env_list.append({"name": variable, "valueFrom": {"secretKeyRef": {
                "name": secret_name, "key": next(s.name for s in face.settings if s.variable == variable)}}})
        else:  # the kubelet expands $(NAME) in env values too
            env_list.append({"name": variable, "value": kubelet_escape(value)})

    volume_mounts = [{"name": "seed-inputs", "mountPath": layout.INPUTS_ROOT, "readOnly": True},
                     {"name": "seed-meta", "mountPath": layout.INPUT_METADATA_FILE,
                      "subPath": "input-metadata.json", "readOnly": True},
                     *volume_mounts,
                     {"name": "seed-outputs", "mountPath": layout.OUTPUT_DIR}]
    outputs: dict[str, Any] = ({"persistentVolumeClaim": {"claimName": request.output_claim}}
                               if request.output_claim else {"emptyDir": {}})
    volumes.append({"name": "seed-outputs", **outputs})
    if request.output_claim and request.output_subpath:
        volume_mounts[-1]["subPath"] = request.output_subpath
    if request.input_claim:
        volumes.append({"name": "seed-input-claim",
                        "persistentVolumeClaim": {"claimName": request.input_claim, "readOnly": True}})
    if "sharedMem" in allocations:
        volumes.append({"name": "seed-shm", "emptyDir": {
            "medium": "Memory", "sizeLimit": f"{math.ceil(allocations['sharedMem'])}Mi"}})
        volume_mounts.append({"name": "seed-shm", "mountPath": "/dev/shm"})
    for name, (volume, mount) in volumes_by_mount.items():
        volumes.append(volume)
        volume_mounts.append(mount)
    if found := mount_path_problems(volume_mounts):
        raise ExportProblem("\n".join(found))

    stage_lines.append(f"{{ printf '{{\"JOB\":{{'; {_joined(metadata_parts)}; printf '}}}}'; }} "
                       f"> {_META}/input-metadata.json")
    container: dict[str, Any] = {"name": CONTAINER, "image": request.image, "env": env_list,
                                 "volumeMounts": volume_mounts}
    if argv is not None:
        container["args"] = argv
    container.update(_resources(allocations))
    stager_mounts = [{"name": "seed-inputs", "mountPath": layout.INPUTS_ROOT}, {"name": "seed-meta", "mountPath": _META}]
    stager_mounts += [m for m in volume_mounts if m["name"] == "seed-input-claim"]
    # the kubelet expands $(NAME) and reduces $$ in an init container's command too: the script is escaped whole
    stager = {"name": "stage", "image": request.stager_image,
              "command": ["/bin/sh", "-c", kubelet_escape("\n".join(stage_lines))],
              "volumeMounts": stager_mounts}

    name = request.name or _dns_name(f"{job.name}-{job.job_version}")
    codes = sorted({e.code for e in job.errors if e.code != 0})
    spec: dict[str, Any] = {
        "backoffLimit": 0,
        "template": {
            "metadata": {"labels": _labels(manifest)},
            "spec": {"restartPolicy": "Never", "initContainers": [stager], "containers": [container],
                     "volumes": volumes}},
    }
    if job.timeout:
        spec["activeDeadlineSeconds"] = job.timeout
    if codes:
        spec["podFailurePolicy"] = {"rules": [
            {"action": "FailJob", "onExitCodes": {"containerName": CONTAINER, "operator": "In", "values": [code]}}
            for code in codes]}
    metadata: dict[str, Any] = {"name": _dns_name(name), "labels": _labels(manifest),
                                "annotations": _annotations(manifest)}
    if request.namespace:
        metadata["namespace"] = request.namespace
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": metadata, "spec": spec}


_ANNOTATIONS_LIMIT = 256 * 1024  # the API server's limit on a object's annotations, keys and values together


def _annotations(manifest: Manifest) -> dict[str, str]:
    """The errors by code, and the manifest (by its SHA-256 when it would pass the API server's limit)."""
    found = {"seed-runner.io/errors": json.dumps({str(e.code): e.name for e in manifest.job.errors},
                                                 separators=(",", ":")),
             "seed-runner.io/manifest": json.dumps(dict(manifest.data), separators=(",", ":"))}
    if sum(len(k.encode()) + len(v.encode()) for k, v in found.items()) > _ANNOTATIONS_LIMIT:
        text = found.pop("seed-runner.io/manifest")
        found["seed-runner.io/manifest-sha256"] = hashlib.sha256(text.encode()).hexdigest()
    return found


def _printable(text: str) -> str:
    """``text`` for a one-line message: quoted and escaped when it holds a line break or a control character."""
    return text if text.isprintable() else repr(text)


def _shown(source: str) -> str:
    """``source`` for a message: a URL's user and password left out."""
    if "://" not in source or "@" not in source:
        return source
    scheme, _, rest = source.partition("://")
    authority, slash, path = rest.partition("/")
    return f"{scheme}://{authority.rpartition('@')[2]}{slash}{path}"


def _is_url(source: str) -> bool:
    return source.startswith(("https://", "http://"))


def _file_name(source: str) -> str:
    path = urlsplit(source).path if _is_url(source) else source
    if _is_url(source):
        return path.rstrip("/").rpartition("/")[2] or "input"
    return path.rstrip("/").rpartition("/")[2]  # a claim path names its file (or folder) itself


def _metadata_shell(name: str, folder: str, records: list[tuple[str, str | None]]) -> str:
    """Shell printing ``"NAME":[{file records}]`` with the staged files' sizes (a claim folder: its files)."""
    quoted_name = shlex.quote(json.dumps(name) + ":[")
    if records and records[0][1] is None:  # a claim's folder, listed when the pod starts
        return f"printf '%s' {quoted_name}; {claim_folder_records(folder)}; printf ']'"
    items = []
    for base, target in records:
        record = shlex.quote(f'{{"file_name":{json.dumps(base)},"path":{json.dumps(target)},'
                             f'"media_type":{json.dumps(guess_media_type(base))},"file_size":')
        items.append(f"printf '%s%s}}' {record} \"$(wc -c < {shlex.quote(str(target))})\"")
    return f"printf '%s' {quoted_name}; " + "; printf ','; ".join(items) + "; printf ']'"


def _joined(parts: list[str]) -> str:
    return "; printf ','; ".join(parts) if parts else ":"


def _arguments(manifest: Manifest, env: Mapping[str, str], placeholders: Mapping[str, str]) -> list[str] | None:
    """The expanded command, escaped for the kubelet (which expands ``$(NAME)`` and reduces ``$$``); a secret
    becomes ``$(NAME)``, which the kubelet fills in, so an operator on a secret's value cannot be exported."""
    command = manifest.job.interface.command
    if command is None:
        return None
    words = []
    for word in expand_command(command, env):
        word = kubelet_escape(word)
        for token, reference in placeholders.items():
            word = word.replace(token, reference)
        words.append(word)
    return words


def _secret_use_problems(manifest: Manifest) -> list[str]:
    """An operator that reads a secret's value (length, pattern, substitution) would be applied to a placeholder:
    the kubelet can only pass the value whole (``${NAME}``, or tested by ``:-``, ``-``, ``:+``, ``+``)."""
    from ..runtime.command import parse_command

    command = manifest.job.interface.command
    secret = {s.variable: s.name for s in manifest.job.interface.settings if s.secret}
    if command is None or not secret:
        return []
    found = {}
    for ref in parse_command(command).references:
        if ref.name in secret and ref.operator not in (None, ":-", "-", ":+", "+"):
            found[ref.name] = (f"the command applies {ref.operator!r} to the secret setting {secret[ref.name]}, "
                               "whose value the cluster fills in whole: pass it as ${" + ref.name + "}")
    return list(found.values())


def _resources(allocations: Mapping[str, float]) -> dict[str, Any]:
    requests: dict[str, str] = {}
    limits: dict[str, str] = {}
    if allocations.get("cpus"):
        requests["cpu"] = limits["cpu"] = f"{math.ceil(allocations['cpus'] * 1000)}m"
    if "mem" in allocations:
        requests["memory"] = limits["memory"] = f"{max(math.ceil(allocations['mem']), DOCKER_MIN_MEMORY_MIB)}Mi"
    if allocations.get("gpus"):
        limits["nvidia.com/gpu"] = str(math.ceil(allocations["gpus"]))
    if allocations.get("disk"):
        requests["ephemeral-storage"] = f"{math.ceil(allocations['disk'])}Mi"
    return {"resources": {k: v for k, v in (("requests", requests), ("limits", limits)) if v}} if (
        requests or limits) else {}


def _labels(manifest: Manifest) -> dict[str, str]:
    job = manifest.job
    return {"app.kubernetes.io/name": _dns_name(job.name), "app.kubernetes.io/version": _label_value(job.job_version),
            "app.kubernetes.io/managed-by": "seed-runner"}


def _label_value(text: str) -> str:
    value = re.sub(r"[^A-Za-z0-9._-]+", "-", text)[:63].strip("-._")
    return value or "unknown"


def _mount_volumes(manifest: Manifest, given: Mapping[str, tuple[str, str]], problems: list[str]
                   ) -> dict[str, tuple[dict[str, Any], dict[str, Any]]]:
    out = {}
    for index, mount in enumerate(manifest.job.interface.mounts):
        found = given.get(next(iter(_by_variable({mount.name: 0}))))
        if found is None:
            problems.append(f"mount {mount.name} has no claim: give it with -m {mount.name}=CLAIM[:SUBPATH]")
            continue
        claim, _, subpath = found[1].partition(":")
        volume = {"name": f"seed-mount-{index}", "persistentVolumeClaim": {
            "claimName": claim, "readOnly": mount.mode == "ro"}}
        mounted = {"name": volume["name"], "mountPath": mount.path, "readOnly": mount.mode == "ro"}
        if subpath:
            mounted["subPath"] = subpath
        out[mount.name] = (volume, mounted)
    return out
