"""Deployed processes (Part 2): the packages a deploy token gave, kept in ``deployments.json`` beside the jobs
folder (written whole and atomically), each image pulled onto the engine and its label validated at deploy time.
A deployed process is offered beside (and before) the images ``--images`` matches."""

from __future__ import annotations

import json
import os
import tempfile
import threading
from pathlib import Path
from typing import Any, Callable

from .packages import BadPackage, Package, check_agrees


class Deployments:
    def __init__(self, path: Path, *, pull: Callable[[str], None] | None = None,
                 read_manifest: Callable[[str], Any] | None = None) -> None:
        self.path = path
        self._pull = pull or _pull
        self._read_manifest = read_manifest or _manifest_of
        self._lock = threading.Lock()
        try:
            self._packages: dict[str, dict[str, Any]] = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            self._packages = {}
        self._manifests: dict[str, Any] = {}

    def _save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(dir=self.path.parent, prefix=".deployments-")
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(self._packages, out)
        os.replace(temp, self.path)

    def manifest(self, process_id: str) -> Any:
        """The manifest of a deployed process (read from its image once), None when it is not deployed."""
        entry = self._packages.get(process_id)
        if entry is None:
            return None
        if process_id not in self._manifests:
            try:
                self._manifests[process_id] = self._read_manifest(entry["executionUnit"]["image"])
            except Exception:  # noqa: BLE001 - the image was removed from the engine: not offered until redeployed
                return None
        return self._manifests[process_id]

    def ids(self) -> list[str]:
        return sorted(self._packages)

    def package(self, process_id: str) -> dict[str, Any] | None:
        return self._packages.get(process_id)

    def deploy(self, package: Package, *, replace: str | None = None, taken: Callable[[str], bool]) -> Any:
        """Pull the image, read and validate its label, check the package agrees; keep it. Returns the
        manifest. ``replace``: the id being replaced (the image's job must keep it)."""
        from ..errors import InvalidManifestError, SeedRunnerError

        try:
            self._pull(package.image)
            manifest = self._read_manifest(package.image)
        except InvalidManifestError as exc:
            raise BadPackage(f"the image's Seed manifest is not valid: {exc}") from None
        except SeedRunnerError as exc:
            raise BadPackage(f"the image cannot be used: {exc}") from None
        check_agrees(package, manifest)
        process_id = manifest.job.name
        with self._lock:
            if replace is not None and process_id != replace:
                raise BadPackage(f"the image's job is {process_id!r}, not {replace!r}: deploy it as a new process")
            if replace is None and (process_id in self._packages or taken(process_id)):
                raise Conflict(f"process {process_id!r} exists; replace it with PUT /processes/{process_id}")
            self._packages[process_id] = {**package.document, "executionUnit": {"type": "docker",
                                                                                 "image": package.image}}
            self._manifests[process_id] = manifest
            self._save()
        return manifest

    def undeploy(self, process_id: str) -> bool:
        with self._lock:
            if self._packages.pop(process_id, None) is None:
                return False
            self._manifests.pop(process_id, None)
            self._save()
        return True


class Conflict(ValueError):
    """A deploy of a process id that exists (409)."""


def _pull(reference: str) -> None:
    from ..engine.images import connect

    engine = connect(timeout=600)
    try:
        engine.pull(reference)  # always: a replace of the same tag takes the registry's newer image
    except Exception as exc:  # noqa: BLE001 - the registry's or engine's refusal, as one line
        try:
            engine.inspect_image(reference)  # an image only this engine has (built here): deployable as it is
        except Exception:  # noqa: BLE001
            from ..errors import SeedRunnerError

            raise SeedRunnerError(f"pull of {reference} failed: {exc}") from None


def _manifest_of(reference: str) -> Any:
    from ..api import load_manifest

    return load_manifest(reference)
