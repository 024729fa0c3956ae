"""The processes a server offers: the Seed images on the engine whose references match its patterns (every Seed
image by default), one process per job name (the newest job version; ``version=`` picks another). Read from the
engine at most every ``ttl`` seconds; an image whose label is not a valid manifest is left out. Deployed processes
(Part 2, ``deployments``) come first.

Pipelines (``seed serve --pipeline FILE``, ``pipeline_processes``) are processes too, offered before everything
else: a ``Process`` with a ``pipeline`` is run by ``pipeline_jobs`` (the pipelines twin of ``seed_runner.run``)
instead of the executor; its ``manifest`` is a stand-in from which the description is derived."""

from __future__ import annotations

import fnmatch
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable

if TYPE_CHECKING:
    from ..manifest.model import Manifest


class NoSuchProcess(LookupError):
    pass


@dataclass(frozen=True)
class Process:
    id: str
    version: str
    image: str
    """The image reference a job of this process runs."""
    manifest: "Manifest"
    pipeline: Any = None
    """A pipeline process's ``pipelines.Pipeline`` (None: a Seed image's process)."""


def _version_key(version: str) -> tuple[Any, ...]:
    parts = []
    for part in version.replace("-", ".").split("."):
        parts.append((0, int(part), "") if part.isdigit() else (1, 0, part))
    return tuple(parts)


class Catalog:
    def __init__(self, patterns: tuple[str, ...] = (), *, ttl: float = 10.0,
                 list_images: Callable[[], list[Any]] | None = None,
                 read_manifest: Callable[[str], "Manifest"] | None = None, deployments: Any = None,
                 pipelines: dict[str, Process] | None = None) -> None:
        self.patterns = patterns
        self.ttl = ttl
        self._list_images = list_images or _seed_images
        self._read_manifest = read_manifest or _manifest_of
        self._lock = threading.Lock()
        self._read_at = -1e9
        self._processes: dict[str, list[Process]] = {}
        self._manifests: dict[str, "Manifest | None"] = {}  # by image id: a label never changes under an id
        self.deployments = deployments
        """Deployed processes (Part 2), offered before the images matched: ``deployments.Deployments``."""
        self.pipelines = dict(pipelines or {})
        """The pipelines given at start, by id: offered before anything else (``pipeline_processes``)."""

    def _deployed(self, process_id: str) -> "Process | None":
        if self.deployments is None:
            return None
        manifest = self.deployments.manifest(process_id)
        if manifest is None:
            return None
        image = self.deployments.package(process_id)["executionUnit"]["image"]
        return Process(process_id, manifest.job.job_version, image, manifest)

    def offered(self, process_id: str) -> bool:
        """Whether ``--images`` offers a process of this id (deploying one of the same id is a conflict)."""
        self.refresh(force=True)
        return process_id in self._processes or process_id in self.pipelines

    def _matches(self, reference: str) -> bool:
        return not self.patterns or any(fnmatch.fnmatchcase(reference, p) for p in self.patterns)

    def refresh(self, force: bool = False) -> None:
        with self._lock:
            if not force and time.monotonic() - self._read_at < self.ttl:
                return
            found: dict[str, list[Process]] = {}
            for image in self._list_images():
                if not getattr(image, "labeled", True):
                    continue
                references = [r for r in image.references if self._matches(r)]
                if not references:
                    continue
                if image.id not in self._manifests:
                    try:
                        self._manifests[image.id] = self._read_manifest(references[0])
                    except Exception:  # noqa: BLE001 - an invalid label: not a process (seed validate says why)
                        self._manifests[image.id] = None
                manifest = self._manifests[image.id]
                if manifest is None:
                    continue
                job = manifest.job
                found.setdefault(job.name, []).append(Process(job.name, job.job_version, references[0], manifest))
            for versions in found.values():
                versions.sort(key=lambda p: _version_key(p.version), reverse=True)
            self._processes = found
            self._read_at = time.monotonic()

    def processes(self) -> list[Process]:
        self.refresh()
        found = {name: versions[0] for name, versions in self._processes.items()}
        for process_id in (self.deployments.ids() if self.deployments is not None else ()):
            deployed = self._deployed(process_id)
            if deployed is not None:
                found[process_id] = deployed
        found.update(self.pipelines)
        return [found[name] for name in sorted(found)]

    def get(self, process_id: str, version: str | None = None) -> Process:
        piped = self.pipelines.get(process_id)
        if piped is not None:
            if version not in (None, piped.version):
                raise NoSuchProcess(f"pipeline {process_id!r} has no version {version!r} (it has {piped.version})")
            return piped
        deployed = self._deployed(process_id)
        if deployed is not None and version in (None, deployed.version):
            return deployed
        self.refresh()
        versions = self._processes.get(process_id)
        if versions is None:
            self.refresh(force=True)  # an image built a moment ago
            versions = self._processes.get(process_id)
        if not versions:
            raise NoSuchProcess(f"no process {process_id!r} on this server")
        if version is None:
            return versions[0]
        for process in versions:
            if process.version == version:
                return process
        raise NoSuchProcess(f"process {process_id!r} has no version {version!r} "
                            f"(it has {', '.join(p.version for p in versions)})")


def _seed_images() -> list[Any]:
    from ..authoring.describe import list_seed_images

    return list_seed_images()


def _manifest_of(reference: str) -> "Manifest":
    from ..api import load_manifest

    return load_manifest(reference)
