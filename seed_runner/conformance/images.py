"""The probes' images: built locally from the busybox base, once for each content of a probe.

Each probe is a job folder shipped in the package (``probes/<probe>/seed.manifest.json`` and ``probe.sh``) plus the
shared ``probes/Dockerfile`` and ``probes/lib.sh``. Its image is named by a hash of those files and of the base
image's id, put in the manifest's packageVersion as it is built (``1.0.0-c<hash>``), so that the image has the Seed
name of its label, ``seed-conformance-<probe>-1.0.0-seed:1.0.0-c<hash>``, and any validator accepts it: an image
with that name is reused as it is; a changed probe (or base) gets a new name and is built. Builds go through
``seed build``'s library (``authoring.build.build_job``: the manifest validated, then the label), which never
pulls: a base that is not on the engine is refused with one line that says how to get it.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
from importlib import resources
from pathlib import Path
from typing import Any, Callable, Iterable

from ..errors import EngineUnavailableError, SeedRunnerError

DEFAULT_BASE = "seed-runner/busybox:1"
PROBES_PACKAGE = "seed_runner.conformance"
_SHARED = ("Dockerfile", "lib.sh")
_OWN = ("seed.manifest.json", "probe.sh")


class ConformanceError(SeedRunnerError):
    """The suite cannot run as asked (``exit_status`` 2) or at all (4: no engine, no base, a build failed)."""

    def __init__(self, message: str, exit_status: int = 4):
        super().__init__(message)
        self.exit_status = exit_status


def probes_folder() -> Path:
    """Where the probes are (inside the installed package)."""
    return Path(str(resources.files(PROBES_PACKAGE) / "probes"))


def probe_names() -> list[str]:
    return sorted(p.name for p in probes_folder().iterdir() if (p / "seed.manifest.json").is_file())


def probe_files(probe: str) -> dict[str, bytes]:
    """The build context of one probe: its own files and the shared ones, by name."""
    root = probes_folder()
    return {**{name: (root / name).read_bytes() for name in _SHARED},
            **{name: (root / probe / name).read_bytes() for name in _OWN}}


def package_version(probe: str, base_id: str) -> str:
    """The probe's packageVersion as built: 1.0.0 and a hash of its build context and of its base image."""
    digest = hashlib.sha256(base_id.encode())
    for name, data in sorted(probe_files(probe).items()):
        digest.update(f"\0{name}\0{len(data)}\0".encode())
        digest.update(data)
    return f"1.0.0-c{digest.hexdigest()[:12]}"


def build_context(probe: str, version: str) -> dict[str, bytes]:
    """The files the probe's image is built from, its manifest's packageVersion set to ``version``."""
    files = probe_files(probe)
    manifest = json.loads(files["seed.manifest.json"])
    manifest["job"]["packageVersion"] = version
    files["seed.manifest.json"] = json.dumps(manifest, indent=2).encode()
    return files


def probe_tag(probe: str, base_id: str) -> str:
    """The probe's image reference (the Seed name of its manifest as built)."""
    return f"seed-conformance-{probe}-1.0.0-seed:{package_version(probe, base_id)}"


def missing_base_message(base: str) -> str:
    return (f"the probes' base image {base} is not on the engine, and seed conformance never pulls: build it with "
            "scripts/build-base-images.sh (in a seed-runner checkout), or `docker pull busybox:stable` and give "
            "--base busybox:stable")


def ensure_images(probes: Iterable[str], *, base: str = DEFAULT_BASE, docker_client: Any = None,
                  progress: Callable[[str], None] | None = None) -> dict[str, str]:
    """The image of each probe, built when it is not on the engine yet; raises ConformanceError (exit 4)."""
    from ..authoring.build import BuildError, build_job, connect_docker

    try:
        client = connect_docker(docker_client)
    except EngineUnavailableError as exc:
        raise ConformanceError(str(exc)) from None
    base_id = _image_id(client, base)
    if base_id is None:
        raise ConformanceError(missing_base_message(base))
    images: dict[str, str] = {}
    for probe in probes:
        tag = probe_tag(probe, base_id)
        if _image_id(client, tag) is None:
            if progress:
                progress(f"building the probe {probe} ({tag})")
            with tempfile.TemporaryDirectory(prefix="seed-conformance-build-") as context:
                for name, data in build_context(probe, tag.rpartition(":")[2]).items():
                    (Path(context) / name).write_bytes(data)
                try:
                    built = build_job(context, build_args={"BASE_IMAGE": base}, docker_client=client)
                except BuildError as exc:
                    raise ConformanceError(f"the probe {probe} could not be built: {exc}") from None
            assert built.image == tag, (built.image, tag)
        images[probe] = tag
    return images


def _image_id(client: Any, reference: str) -> str | None:
    from docker.errors import APIError, ImageNotFound
    import requests

    try:
        return str(client.images.get(reference).id)
    except ImageNotFound:
        return None
    except (APIError, requests.exceptions.RequestException) as exc:
        raise ConformanceError(f"the engine failed to inspect {reference} ({exc}); check that it answers "
                               "(docker info)") from None

