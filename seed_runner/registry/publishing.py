"""``seed publish``: a local Seed image pushed to a registry.

Names (SEED-RULES 2): an image is published as ``registry/[org/]<name>-<jobVersion>-seed:<packageVersion>``,
always from the manifest in its label. Nothing is ever tagged as ``latest``: a Seed image's tag is its package
version.

``publish`` refuses to overwrite a tag the registry already has unless ``force``; with ``bump_package`` or
``bump_job`` (seed-cli's "deconfliction") a conflict instead bumps the version in the job folder's
``seed.manifest.json``, rebuilds with ``seed_runner.authoring.build.build_job`` and publishes the new version. Without a
conflict the image is published as it is and the manifest is not touched.

``search`` (``registry.search``), ``pull`` (``registry.pull``), the versions (``registry.versions``) and the
exceptions (``registry.errors``) live in their own modules; they are still importable from here.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from ..errors import EngineUnavailableError, ImageNotFoundError, SeedRunnerError
from ..manifest.names import LABEL, MAX_TAG_LENGTH, image_repository
from .address import RegistryAddress, check_repository, parse_registry
from .auth import Credentials, resolve_credentials
from .client import RegistryClient
# search, pull, the versions and the exceptions: also importable from here.
from .errors import (PublishError, RegistryAuthError, RegistryError, RegistryNotFoundError, RegistryUnavailableError,
                     TagExistsError)
from .pull import PullResult, pull, resolve_image
from .search import SearchHit, search, seed_repositories
from .transfer import Progress, engine_failure, follow_stream
from .versions import BUMP_PARTS, bump_version, bumped_manifest_text, semver_key

__all__ = ["PublishResult", "publish", "PublishError", "TagExistsError", "Progress", "BUMP_PARTS",
           "semver_key", "bump_version", "SearchHit", "search", "seed_repositories", "PullResult", "pull",
           "resolve_image", "RegistryError", "RegistryAuthError", "RegistryNotFoundError",
           "RegistryUnavailableError"]


@dataclass(frozen=True, slots=True)
class PublishResult:
    reference: str
    """The published reference ``registry/[org/]<name>-<jobVersion>-seed:<packageVersion>``."""
    digest: str | None
    image: str
    """The local image that was pushed (after a bump: the rebuilt one)."""
    image_id: str
    job: dict[str, str]
    overwrote: str | None = None
    """The digest of the manifest that --force replaced, if any."""
    bumped: dict[str, list[str]] | None = None
    """After a bump: {"packageVersion": [old, new]} and/or {"jobVersion": [old, new]}."""
    manifest_file: str | None = None
    """The seed.manifest.json a bump rewrote."""
    warnings: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        doc = asdict(self)
        doc["warnings"] = list(self.warnings)
        return doc


def _job_info(manifest: Any) -> dict[str, str]:
    job = manifest.job
    return {"name": job.name, "jobVersion": job.job_version, "packageVersion": job.package_version,
            "title": job.title}


def _local_seed_image(engine: Any, image: str) -> tuple[Any, Any]:
    """(docker Image, typed Manifest from its label); raises for a missing image, label or bad manifest."""
    import docker.errors

    from ..manifest.label import decode_label
    from ..manifest.loading import manifest_from_text

    try:
        found = engine.images.get(image)
    except docker.errors.ImageNotFound:
        raise ImageNotFoundError(f"image {image!r} is not on the local engine; build it first (seed build)"
                                 ) from None
    except docker.errors.APIError as exc:
        raise EngineUnavailableError(f"the engine could not inspect {image!r}: {exc.explanation}") from None
    label = ((found.attrs.get("Config") or {}).get("Labels") or {}).get(LABEL)
    if label is None:
        raise PublishError(f"image {image!r} has no {LABEL} label: it is not a Seed image; build it with "
                           "seed build (which embeds seed.manifest.json)")
    return found, manifest_from_text(label, source=f"the label of {image}", decode=decode_label)


def _check_docker_name(repository: str, tag: str) -> None:
    if repository != repository.lower() or "+" in repository + tag or len(tag) > MAX_TAG_LENGTH:
        raise PublishError(f"{repository}:{tag} cannot be a Docker image name (uppercase, '+' or a tag over "
                           f"{MAX_TAG_LENGTH} characters); fix the job's name or versions in the manifest")


def publish(image: str | None, registry: str | RegistryAddress, *, org: str | None = None, force: bool = False,
            bump_package: str | None = None, bump_job: str | None = None, directory: str | Path = ".",
            credentials: Credentials | tuple[str, str] | None = None, progress: Progress | None = None,
            docker_client: Any = None, build_args: dict[str, str] | None = None) -> PublishResult:
    """Tag a local Seed image ``registry/[org/]<name>-<jobVersion>-seed:<packageVersion>`` (from its label)
    and push it; ``image`` None means the one ``directory/seed.manifest.json`` names.

    An existing tag in the registry is refused (TagExistsError) unless ``force`` (overwrite) or a bump
    (``bump_package`` / ``bump_job``: ``major``, ``minor`` or ``patch``), which rewrites the versions in
    ``directory/seed.manifest.json``, rebuilds with ``build_job(directory, build_args=build_args)`` and
    publishes the new version (the file is restored if the build fails). The rebuild uses exactly
    ``build_args`` (the Dockerfile's ``ARG`` defaults for any not given), not the arguments the original
    image was built with, which the image does not record: pass the same ones, or the bumped version may be
    a different image (another base, say). The temporary registry tag is removed from the local engine
    afterwards. Raises ValueError for bad arguments, and ImageNotFoundError, InvalidManifestError,
    TagExistsError, PublishError, RegistryAuthError, RegistryUnavailableError, EngineUnavailableError.
    """
    for part in (bump_package, bump_job):
        if part is not None and part not in BUMP_PARTS:
            raise ValueError(f"{part!r} is not one of {', '.join(BUMP_PARTS)}")
    if force and (bump_package or bump_job):
        raise ValueError("--force overwrites the existing tag and a bump publishes a new one: choose one")
    address = parse_registry(registry) if isinstance(registry, str) else registry
    org = org.strip("/") or None if org else None
    if org:
        check_repository(org)
    creds = resolve_credentials(address, credentials)
    directory = Path(directory)
    from ..authoring.build import connect_docker

    engine = connect_docker(docker_client)
    if image is None:
        from ..api import load_manifest

        if not (directory / "seed.manifest.json").is_file():
            raise PublishError(f"no IMAGE given and {directory} has no seed.manifest.json to name it; give the "
                               "image, or the job folder with --dir")
        image = load_manifest(directory / "seed.manifest.json").image_name
    local, manifest = _local_seed_image(engine, image)
    job = manifest.job
    prefix = f"{org}/" if org else ""
    repository, tag = prefix + image_repository(job.name, job.job_version), job.package_version
    _check_docker_name(repository, tag)

    with RegistryClient(address, creds) as client:
        client.ping()
        existing = client.manifest_digest(repository, tag)
        bumped = manifest_file = None
        if existing is not None and not force:
            if not (bump_package or bump_job):
                raise TagExistsError(
                    f"{address.host}/{repository}:{tag} already exists in the registry ({existing}); use --force to "
                    "overwrite it, or --bump-package/--bump-job major|minor|patch to publish a new version")
            local, manifest, bumped, manifest_file = _bump_and_build(
                engine, client, directory, job.name, prefix, bump_package, bump_job, progress, build_args)
            job = manifest.job
            repository, tag = prefix + image_repository(job.name, job.job_version), job.package_version
            _check_docker_name(repository, tag)
            image = next(iter(local.tags), local.id)

        target = f"{address.host}/{repository}"
        had_tag = f"{target}:{tag}" in (local.tags or ())
        import docker.errors

        try:
            local.tag(target, tag)
            if progress:
                progress(f"pushing {target}:{tag}")
            error, digest = follow_stream(engine.api.push(target, tag=tag, stream=True, decode=True,
                                                    auth_config=creds.auth_config() if creds else None), progress)
        except docker.errors.APIError as exc:
            raise engine_failure(str(exc.explanation or exc), f"pushing {target}:{tag}", address, creds) from None
        finally:
            if not had_tag:
                _untag(engine, local.id, f"{target}:{tag}")
        if error:
            raise engine_failure(error, f"pushing {target}:{tag}", address, creds)
        return PublishResult(reference=f"{target}:{tag}", digest=digest or client.manifest_digest(repository, tag),
                             image=image, image_id=local.id, job=_job_info(manifest),
                             overwrote=existing if force else None, bumped=bumped,
                             manifest_file=str(manifest_file) if manifest_file else None)


def _untag(engine: Any, image_id: str, reference: str) -> None:
    """Remove the tag ``reference`` made for the push, unless it is the image's only name."""
    import docker.errors

    try:
        if any(t != reference for t in engine.images.get(image_id).tags):
            engine.images.remove(reference)
    except docker.errors.DockerException:
        pass


def _bump_and_build(engine: Any, client: RegistryClient, directory: Path, job_name: str, prefix: str,
                    bump_package: str | None, bump_job: str | None, progress: Progress | None,
                    build_args: dict[str, str] | None = None) -> tuple[Any, Any, dict[str, list[str]], Path]:
    file = directory / "seed.manifest.json"
    try:
        text = file.read_text(encoding="utf-8")
        document = json.loads(text)
        versions = {k: document["job"][k] for k in ("jobVersion", "packageVersion")}
        name = document["job"]["name"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "it is not a Seed manifest"
        raise PublishError(f"cannot bump the version in {file}: {reason}; --dir must be the image's job folder"
                           ) from None
    if name != job_name:
        raise PublishError(f"{file} is the manifest of job {name!r}, not {job_name!r}: --dir must be the "
                           "image's job folder")
    changes = {}
    try:
        if bump_job:
            changes["jobVersion"] = bump_version(versions["jobVersion"], bump_job)
        if bump_package:
            changes["packageVersion"] = bump_version(versions["packageVersion"], bump_package)
    except ValueError as exc:
        raise PublishError(f"cannot bump the version in {file}: {exc}") from None
    new = {**versions, **changes}
    repository = prefix + image_repository(name, new["jobVersion"])
    existing = client.manifest_digest(repository, new["packageVersion"])
    if existing is not None:
        raise TagExistsError(f"{client.address.host}/{repository}:{new['packageVersion']}, the bumped version, "
                             f"also exists in the registry ({existing}); bump another part, or use --force")
    file.write_text(bumped_manifest_text(text, document, changes), encoding="utf-8")
    if progress:
        progress(f"{file}: " + ", ".join(f"{k} {versions[k]} -> {v}" for k, v in changes.items()))
    try:
        from ..authoring.build import BuildError, build_job
    except ImportError:
        file.write_text(text, encoding="utf-8")
        raise PublishError("rebuilding after a bump needs seed build (seed_runner.authoring.build), which this "
                           "installation lacks; the manifest was left unchanged") from None
    import docker.errors

    try:
        built = build_job(str(directory), build_args=build_args or None, progress=progress, docker_client=engine)
    except (BuildError, SeedRunnerError, docker.errors.DockerException) as exc:
        file.write_text(text, encoding="utf-8")
        if getattr(exc, "exit_status", None) == 4:  # the engine stopped answering
            raise EngineUnavailableError(f"rebuilding {directory} after the bump failed: {exc}; {file} was "
                                         "restored") from None
        raise PublishError(f"rebuilding {directory} after the bump failed: {exc}; {file} was restored") from None
    except BaseException:
        file.write_text(text, encoding="utf-8")
        raise
    local, manifest = _local_seed_image(engine, built.image)
    return local, manifest, {k: [versions[k], v] for k, v in changes.items()}, file
