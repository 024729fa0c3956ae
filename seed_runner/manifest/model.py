"""The typed manifest: immutable dataclasses with the spec's defaults filled in.

``Manifest.from_dict`` expects a document that passed schema validation; use
``seed_runner.load_manifest`` to read and validate in one step.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal, Mapping

from .names import allocated_variable, image_name, normalize_name

JsonType = Literal["array", "boolean", "integer", "number", "object", "string"]


@dataclass(frozen=True, slots=True)
class Maintainer:
    name: str
    email: str
    organization: str | None = None
    url: str | None = None
    phone: str | None = None


@dataclass(frozen=True, slots=True)
class Scalar:
    """A resource request: ``allocation = value + input_multiplier * input MiB``."""

    name: str
    value: float
    input_multiplier: float = 0.0

    @property
    def variable(self) -> str:
        return allocated_variable(self.name)


@dataclass(frozen=True, slots=True)
class FileInput:
    name: str
    required: bool = True
    media_types: tuple[str, ...] = ()
    multiple: bool = False
    partial: bool = False

    @property
    def variable(self) -> str:
        return normalize_name(self.name)


@dataclass(frozen=True, slots=True)
class JsonInput:
    name: str
    type: JsonType
    required: bool = True

    @property
    def variable(self) -> str:
        return normalize_name(self.name)


@dataclass(frozen=True, slots=True)
class FileOutput:
    name: str
    pattern: str
    media_type: str | None = None
    multiple: bool = False
    required: bool = True


@dataclass(frozen=True, slots=True)
class JsonOutput:
    name: str
    type: JsonType
    key: str
    """The member of seed.outputs.json to read: the manifest's ``key``, else ``name``."""
    required: bool = True


@dataclass(frozen=True, slots=True)
class Mount:
    name: str
    path: str
    mode: Literal["ro", "rw"] = "ro"


@dataclass(frozen=True, slots=True)
class Setting:
    name: str
    secret: bool = False

    @property
    def variable(self) -> str:
        return normalize_name(self.name)


@dataclass(frozen=True, slots=True)
class ErrorSpec:
    code: int
    name: str
    title: str | None = None
    description: str | None = None
    category: Literal["job", "data"] = "job"


@dataclass(frozen=True, slots=True)
class Interface:
    command: str | None = None
    file_inputs: tuple[FileInput, ...] = ()
    json_inputs: tuple[JsonInput, ...] = ()
    file_outputs: tuple[FileOutput, ...] = ()
    json_outputs: tuple[JsonOutput, ...] = ()
    mounts: tuple[Mount, ...] = ()
    settings: tuple[Setting, ...] = ()


@dataclass(frozen=True, slots=True)
class Job:
    name: str
    job_version: str
    package_version: str
    title: str
    description: str
    maintainer: Maintainer
    timeout: int
    tags: tuple[str, ...] = ()
    resources: tuple[Scalar, ...] | None = None
    """None when the manifest declares no ``resources`` (the runner's defaults apply)."""
    interface: Interface = field(default_factory=Interface)
    errors: tuple[ErrorSpec, ...] = ()


@dataclass(frozen=True, slots=True)
class Manifest:
    """A valid Seed manifest, typed, with the spec's defaults filled in (``seed_runner.load_manifest`` makes
    one). ``job`` holds the job's members (``job.name``, ``job.interface.inputs``, ``job.errors``...)."""

    seed_version: str
    job: Job
    data: Mapping[str, Any] = field(repr=False, compare=False, default_factory=dict)
    """The document as written (read-only), e.g. to embed it in an image label."""

    @property
    def image_name(self) -> str:
        """``<name>-<jobVersion>-seed:<packageVersion>``."""
        return image_name(self.job.name, self.job.job_version, self.job.package_version)

    def error_for_code(self, code: int) -> ErrorSpec | None:
        """The first declared error for an exit code, or None."""
        return next((e for e in self.job.errors if e.code == code), None)

    @classmethod
    def from_dict(cls, doc: Mapping[str, Any]) -> "Manifest":
        job = doc["job"]
        return cls(seed_version=doc["seedVersion"], job=_job(job), data=MappingProxyType(dict(doc)))


def _job(job: Mapping[str, Any]) -> Job:
    m = job["maintainer"]
    resources = job.get("resources")
    return Job(
        name=job["name"],
        job_version=job["jobVersion"],
        package_version=job["packageVersion"],
        title=job["title"],
        description=job["description"],
        maintainer=Maintainer(m["name"], m["email"], m.get("organization"), m.get("url"), m.get("phone")),
        timeout=job["timeout"],
        tags=tuple(job.get("tags", ())),
        resources=None if resources is None else tuple(
            Scalar(s["name"], s["value"], s.get("inputMultiplier", 0.0)) for s in resources.get("scalar", ())),
        interface=_interface(job.get("interface", {})),
        errors=tuple(
            ErrorSpec(e["code"], e["name"], e.get("title"), e.get("description"), e.get("category", "job"))
            for e in job.get("errors", ())),
    )


def _interface(face: Mapping[str, Any]) -> Interface:
    inputs = face.get("inputs", {})
    outputs = face.get("outputs", {})
    return Interface(
        command=face.get("command"),
        file_inputs=tuple(
            FileInput(f["name"], f.get("required", True), tuple(f.get("mediaTypes", ())),
                      f.get("multiple", False), f.get("partial", False))
            for f in inputs.get("files", ())),
        json_inputs=tuple(JsonInput(j["name"], j["type"], j.get("required", True)) for j in inputs.get("json", ())),
        file_outputs=tuple(
            FileOutput(f["name"], f["pattern"], f.get("mediaType"), f.get("multiple", False), f.get("required", True))
            for f in outputs.get("files", ())),
        # An empty key is taken as absent, as seed-cli does (validation warns about it).
        json_outputs=tuple(
            JsonOutput(j["name"], j["type"], j.get("key") or j["name"], j.get("required", True))
            for j in outputs.get("json", ())),
        mounts=tuple(Mount(m["name"], m["path"], m.get("mode", "ro")) for m in face.get("mounts", ())),
        settings=tuple(Setting(s["name"], s.get("secret", False)) for s in face.get("settings", ())),
    )
